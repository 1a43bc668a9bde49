"""End-to-end tests in a real browser: the app served by waitress on a free
loopback port over a fresh SQLite database, driven by Playwright in Debian's
headless Chromium (no browser download: ``/usr/bin/chromium``). Without
Chromium or Playwright the tests skip with the reason, unless
INTRANET_REQUIRE_BROWSER=1 (set by .ci/run, which installs Chromium).

Screenshots of the key screens go to ``test-output/screenshots/<test>/``.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_SETTINGS, FrozenClock, _migrate
from tests.helpers import with_settings

REQUIRE_BROWSER = os.environ.get("INTRANET_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("INTRANET_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("INTRANET_TEST_OUTPUT", "test-output")) / "screenshots"
#: The machine has no outside network: keep Chromium from trying.
CHROMIUM_ARGS = ["--lang=ja-JP", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}


def _missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (make install-test)"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def chromium():
    """One browser per test module (not per session): nothing a module leaves
    in the browser (virtual authenticators, caches, workers) reaches the next;
    the security-key module failed only after the others in fresh CI runs."""
    problem = _missing()
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(f"INTRANET_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(f"end-to-end tests need Chromium: {problem}; set INTRANET_REQUIRE_BROWSER=1 "
                    "to make this an error")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        # The first Japanese text a fresh machine renders builds the font
        # caches (seconds): do it before any test's timeouts run.
        warm = browser.new_page()
        warm.set_content("<p>納税課 収納管理イントラネット</p>")
        warm.screenshot()
        warm.close()
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served(chromium, tmp_path_factory):
    """The app on http://localhost:<port> over a fresh SQLite database, with
    the production policy for second factors (operators need a key)."""
    from waitress.server import create_server

    import intranet

    path = tmp_path_factory.mktemp("e2e") / "e2e.sqlite"
    settings = {**TEST_SETTINGS, "sqlalchemy.url": f"sqlite:///{path}"}
    settings.pop("intranet.mfa.required_roles")  # the default: operator contractor
    _migrate(settings)
    app = intranet.main({}, **settings)
    # A Tuesday, 10:00 JST: calling hours, an office day.
    app.registry.clock = FrozenClock(dt.datetime(2026, 11, 24, 1, 0))
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    origin = f"http://localhost:{server.effective_port}"
    # the port is known only now: the typed settings are frozen, replace them
    app.registry.app_settings = with_settings(app.registry.app_settings, "webauthn", origin=origin)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # the background-job worker (issue 21), as ``make run`` starts it beside the server
    stop = threading.Event()
    worker = threading.Thread(target=_work, args=(app, stop), daemon=True, name="e2e-worker")
    worker.start()
    yield app, origin
    stop.set()
    worker.join()
    server.close()
    app.registry["db_engine"].dispose()


def _work(app, stop: threading.Event) -> None:
    from intranet.jobs import Runner

    runner = Runner(app.registry["dbsession_factory"], access_log=app.registry.access_log,
                    clock=app.registry.clock)
    while not stop.wait(0.2):
        runner.run_pending()


def wait_for_jobs(app, timeout: float = 30) -> None:
    """Until the worker thread has run every queued job."""
    import time

    from sqlalchemy import func, select

    from intranet.models import Job, JobState

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.registry["dbsession_factory"]() as session:
            if not session.scalar(select(func.count()).select_from(Job).where(
                    Job.state.in_([JobState.queued, JobState.running]))):
                return
        time.sleep(0.1)
    raise AssertionError("background jobs still pending")


@pytest.fixture
def context(chromium, request):
    """A fresh browser profile per test (1280×800 unless the test says otherwise)."""
    marker = request.node.get_closest_marker("viewport")
    ctx = chromium.new_context(viewport=marker.args[0] if marker else DESKTOP, locale="ja-JP",
                               accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


@pytest.fixture
def shot(request):
    """``shot(page, "name")`` saves a full-page screenshot of a key screen."""
    folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, origin: str, login: str, password: str) -> None:
    """Log in afresh: no session of the previous user, then the login form.

    Chromium applies ``clear_cookies`` and the answers of requests still in
    flight from the previous page in no guaranteed order: on a loaded CI
    machine the login form was once sent without its CSRF cookie (400
    「フォームの有効期限が切れたか…」, a correct refusal), and once a cookie
    was back in the jar right after clearing it. So clear and open the form
    until the jar holds no session and the CSRF cookie the form carries."""
    for _ in range(5):
        page.context.clear_cookies()
        page.goto(f"{origin}/login")
        token = page.input_value("#login-form input[name=csrf_token]")
        if _jar_settles(page, lambda jar: jar.get("intranet_csrf") == token and "intranet_session" not in jar):
            break
    else:
        raise AssertionError(f"no fresh login form; cookies: {sorted(_jar(page))}")
    page.fill("#login", login)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


def _jar(page) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies()}


def _jar_settles(page, condition, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition(_jar(page)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def usb_key(page) -> None:
    """Plug a (virtual) FIDO2 USB key into this browser (Chromium's DevTools
    WebAuthn domain); it answers by itself, as if touched."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": False,
        "hasUserVerification": False, "automaticPresenceSimulation": True}})


def register_key(page, origin: str, supervisor: str, password: str, user_id: int, label: str) -> None:
    """A supervisor registers the key plugged into this browser for ``user_id``."""
    log_in(page, origin, supervisor, password)
    page.goto(f"{origin}/admin/keys/{user_id}/")
    page.fill("#key-label", label)
    page.click("#key-register-button")
    page.wait_for_selector(f"#key-list tr[data-key] >> text={label}")


def log_in_with_key(page, origin: str, login: str, password: str) -> None:
    log_in(page, origin, login, password)
    page.wait_for_url("**/second-factor**")
    page.click("#security-key-button")
    page.wait_for_url(lambda url: "/second-factor" not in url)


def violations(page) -> list[str]:
    """Serious and critical axe-core findings on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
