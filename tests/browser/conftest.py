"""Browser tests: the real app served by waitress on localhost, driven in
headless Chromium (Debian's ``chromium`` and ``chromium-driver``) through
Selenium. Without them the tests skip with the reason, unless
INTRANET_REQUIRE_BROWSER=1 (set by .ci/run, which installs them)."""
from __future__ import annotations

import os
import shutil
import threading

import pytest

from tests.conftest import TEST_SETTINGS, _migrate

REQUIRE_BROWSER = os.environ.get("INTRANET_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("INTRANET_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("INTRANET_CHROMEDRIVER", "/usr/bin/chromedriver")


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (make install-test)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(path) or shutil.which(path)):
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app on http://localhost:<port> over a fresh SQLite database, with
    the production policy for second factors (operators need a key)."""
    problem = _missing()
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(f"INTRANET_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(f"browser tests need Chromium: {problem}; set INTRANET_REQUIRE_BROWSER=1 "
                    "to make this an error")
    from waitress.server import create_server

    import intranet

    path = tmp_path_factory.mktemp("browser") / "browser.sqlite"
    settings = {**TEST_SETTINGS, "sqlalchemy.url": f"sqlite:///{path}"}
    settings.pop("intranet.mfa.required_roles")  # the default: operator contractor
    _migrate(settings)
    app = intranet.main({}, **settings)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    origin = f"http://localhost:{server.effective_port}"
    app.registry.settings["intranet.webauthn.origin"] = origin
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield app, origin
    server.close()
    app.registry["db_engine"].dispose()


@pytest.fixture
def driver(served, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path}/profile"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.implicitly_wait(5)
    yield browser
    browser.quit()
