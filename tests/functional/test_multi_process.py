"""Two application processes against one PostgreSQL database (issue 21, "More
than one process").

Two waitress servers, each its own process built from the settings as
``pserve`` builds it (``tests/serve_app.py``), share one fresh, migrated
PostgreSQL database and run as the application's restricted role, as in
production. Client threads log in on one server and then ask both for case
pages with the same session cookie, concurrently. Afterwards:

* every request made got exactly one request entry (matched by the
  ``X-Request-Id`` each response carries), and no entry names a request
  nobody made;
* the log is one unbroken chain (the project's own verifier,
  ``intranet.audit.verify.verify_database``);
* a session made on one server is a session on the other, and logging out on
  one ends it on both.

PostgreSQL only: SQLite is a single file on a single host (two processes can
share it, but a deployment with more than one application process is a
PostgreSQL deployment). Skipped with the reason when no server is reachable,
an error with ``INTRANET_REQUIRE_PG=1`` (tests/conftest.py).
"""
from __future__ import annotations

import collections
import http.client
import json
import os
import re
import selectors
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import intranet
from intranet.audit.verify import verify_database
from intranet.models import AccessLogEntry, LoginSession, Role, User
from tests import factories
from tests.conftest import ROOT, TEST_SETTINGS, _new_database, app_role
from tests.functional.test_access_log import KEY
from tests.serve_app import ENV

pytestmark = pytest.mark.postgresql

SERVERS = 2
CLIENTS_PER_SERVER = 4
REQUESTS = 25          # case pages per client, alternating between the servers
CASES = 10
START_TIMEOUT = 60     # seconds for a server process to build the app and listen
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    """(application settings, owner's URL) of a new migrated PostgreSQL
    database the application reaches through a role of its own."""
    with _new_database("postgresql", tmp_path_factory) as owner:
        with app_role(owner["sqlalchemy.url"], prefix="intranet_mp") as (_, url):
            yield ({**TEST_SETTINGS, "sqlalchemy.url": url,
                    "intranet.audit.require_restricted_role": "true",
                    "intranet.survey.photo_dir": str(tmp_path_factory.mktemp("photos"))},
                   owner["sqlalchemy.url"])


@pytest.fixture(scope="module")
def local_app(pg):
    """The application in this process: for its engine and password hasher."""
    app = intranet.main({}, **pg[0])
    yield app
    app.registry["db_engine"].dispose()


@pytest.fixture(scope="module")
def case_numbers(local_app):
    engine = local_app.registry["db_engine"]
    with Session(engine) as session:
        factories.user(session, local_app.registry.password_context, Role.collector, login="mp1")
        numbers = [factories.case(session, name=f"複数 {i}").case_no for i in range(CASES)]
        session.commit()
    return numbers


class Server:
    """One application process; always ended by the fixture's finalizer."""

    def __init__(self, settings: dict, log_path: str):
        env = {**os.environ, ENV: json.dumps({**settings, "waitress.threads": "4"}),
               "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "tests.serve_app"], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=self._log)
        self.port: int | None = None

    def wait_ready(self, deadline: float) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while self.port is None:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    raise RuntimeError(f"server did not start in {START_TIMEOUT} s: {self.errors()}")
                line = self.process.stdout.readline()
                if not line:
                    raise RuntimeError(f"server exited with {self.process.wait()}: {self.errors()}")
                self.port = int(line)

    def errors(self) -> str:
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process.stdout.close()
        self._log.close()


@pytest.fixture(scope="module")
def servers(pg, case_numbers, tmp_path_factory):
    logs = tmp_path_factory.mktemp("servers")
    started = []
    try:
        for n in range(SERVERS):
            started.append(Server(pg[0], str(logs / f"server{n}.log")))
        deadline = time.monotonic() + START_TIMEOUT
        for server in started:  # both build the app at the same time
            server.wait_ready(deadline)
        yield started
    finally:
        for server in started:
            server.stop()


class Browser:
    """One user's browser: one cookie jar, a keep-alive connection per server,
    and the request id of every answer it got."""

    def __init__(self, servers):
        self.conns = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=30) for s in servers]
        self.cookies: dict[str, str] = {}
        self.request_ids: list[str] = []

    def request(self, server: int, method: str, path: str, form: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = self.conns[server]
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        page = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie, _, rest = value.partition("=")
                value = rest.split(";", 1)[0]
                if "max-age=0" in rest.lower() or not value:
                    self.cookies.pop(cookie.strip(), None)
                else:
                    self.cookies[cookie.strip()] = value
        request_id = response.getheader("X-Request-Id")
        assert request_id, f"{method} {path}: no X-Request-Id ({response.status})"
        self.request_ids.append(request_id)
        return response.status, response.getheader("Location") or "", page

    def login(self, server: int, login: str = "mp1") -> None:
        status, _, page = self.request(server, "GET", "/login")
        assert status == 200
        status, location, _ = self.request(server, "POST", "/login", {
            "csrf_token": CSRF.search(page).group(1), "login": login,
            "password": factories.PASSWORD, "next": ""})
        assert status == 303 and "/login" not in location, (status, location)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


def request_entries(engine, since: int) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(AccessLogEntry.request_id, AccessLogEntry.session_id,
                                      AccessLogEntry.login, AccessLogEntry.outcome,
                                      AccessLogEntry.status)
                            .where(AccessLogEntry.seq > since, AccessLogEntry.kind == "request")
                            .order_by(AccessLogEntry.seq)).all()


def head_seq(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT seq FROM access_log_head"))


def test_two_processes_log_every_request_once_in_one_chain_and_share_sessions(
        servers, local_app, case_numbers):
    engine = local_app.registry["db_engine"]
    mark = head_seq(engine)
    browsers = [Browser(servers) for _ in range(SERVERS * CLIENTS_PER_SERVER)]
    start = threading.Barrier(len(browsers))
    statuses: list[collections.Counter] = [collections.Counter() for _ in browsers]
    failures: list[str] = []

    def work(n: int) -> None:
        browser, home = browsers[n], n % SERVERS
        try:
            start.wait(timeout=30)
            browser.login(home)  # a session made on the home server...
            for i in range(REQUESTS):
                server = (home + i) % SERVERS  # ...used on both, alternately
                status, _, _ = browser.request(
                    server, "GET", f"/cases/{case_numbers[(n + i) % CASES]}/")
                statuses[n][(server, status)] += 1
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(f"client {n}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(len(browsers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for browser in browsers:
        browser.close()
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    assert failures == []
    both = sum(statuses, collections.Counter())
    per_server = REQUESTS * len(browsers) // SERVERS
    assert both == {(s, 200): per_server for s in range(SERVERS)}, both

    # every request made has exactly one request entry, and there is no other
    made = [rid for b in browsers for rid in b.request_ids]
    assert len(made) == len(browsers) * (REQUESTS + 2) == len(set(made))
    entries = request_entries(engine, mark)
    logged = collections.Counter(e.request_id for e in entries)
    assert [rid for rid, count in logged.items() if count != 1] == []
    assert set(logged) == set(made)
    # the case pages were served to the logged-in user, on both servers
    pages = [e for e in entries if e.status == 200 and e.login == "mp1"]
    assert len(pages) == len(browsers) * REQUESTS
    assert len({e.session_id for e in pages}) == len(browsers)

    with engine.connect() as conn:
        report = verify_database(conn, KEY)
    assert report.ok, str(report)
    assert head_seq(engine) > mark + len(made)  # the logins' events are in the chain too


def test_a_session_made_on_one_process_is_valid_on_the_other_and_logout_ends_it_on_both(
        servers, local_app, case_numbers):
    engine = local_app.registry["db_engine"]
    mark = head_seq(engine)
    case_page = f"/cases/{case_numbers[0]}/"
    browser = Browser(servers)
    try:
        browser.login(0)
        assert browser.request(1, "GET", case_page)[0] == 200
        status, _, page = browser.request(1, "GET", "/")
        assert status == 200
        token = CSRF.search(page).group(1)  # the session's token, made on server B
        cookie = dict(browser.cookies)
        status, location, _ = browser.request(0, "POST", "/logout", {"csrf_token": token})
        assert status == 303 and location.endswith("/login")
        browser.cookies = cookie  # the same cookie again: the session has ended everywhere
        for server in range(SERVERS):
            status, location, _ = browser.request(server, "GET", case_page)
            assert status in (302, 303) and "/login" in location, (server, status, location)
    finally:
        browser.close()
    entries = request_entries(engine, mark)
    assert [(e.login, e.outcome) for e in entries] == [
        (None, "allowed"), (None, "allowed"),           # GET /login, POST /login (server A)
        ("mp1", "allowed"), ("mp1", "allowed"),         # case page, home page (server B)
        ("mp1", "allowed"),                              # POST /logout (server A)
        (None, "unauthenticated"), (None, "unauthenticated")]  # the old cookie, A and B
    # one session row throughout: the one the login on server A made, ended by the logout
    with engine.connect() as conn:
        made_on_a = conn.execute(sa.select(LoginSession.id, LoginSession.end_reason)
                                 .join(User).where(User.login == "mp1")
                                 .order_by(LoginSession.id.desc()).limit(1)).one()
        assert made_on_a.end_reason == "logout"
        assert {e.session_id for e in entries[2:5]} == {made_on_a.id}
        assert verify_database(conn, KEY).ok
