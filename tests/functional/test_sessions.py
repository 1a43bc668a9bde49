"""Session control: one's own sessions (/sessions/), a supervisor's remote
wipe of any user's sessions, and the concurrent-session limit per role.
Each browser is its own webtest.TestApp on the same app."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa
import webtest

import intranet
from intranet.models import LoginSession, Role
from intranet.security import sessions
from intranet.security.sessions import COOKIE_NAME
from tests import factories
from tests.helpers import (
    csrf_token, entries_since, log_mark, login, swapped_settings, typed_settings,
)

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1")


def browser(testapp, addr: str, user_agent: str = CHROME) -> webtest.TestApp:
    return webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": addr,
                                                       "HTTP_USER_AGENT": user_agent})


def users(dbsession, password_context, *specs):
    for role, name, supervisor in specs:
        factories.user(dbsession, password_context, role, login=name, is_supervisor=supervisor)
    dbsession.commit()


def rows(page):
    """{session id: row text} of a sessions table."""
    return {int(tr["data-session"]): tr.text for tr in page.html.select("#sessions tbody tr")}


def open_sessions(dbsession, login_id):
    dbsession.expire_all()
    return dbsession.scalars(
        sa.select(LoginSession).join(LoginSession.user)
        .where(LoginSession.ended_at.is_(None), LoginSession.user.has(login=login_id))
        .order_by(LoginSession.id)).all()


def events(engine, mark):
    return [(e.event, e.login, e.session_id, json.loads(e.detail or "{}"))
            for e in entries_since(engine, mark, kind="event")]


@pytest.fixture
def people(dbsession, password_context):
    users(dbsession, password_context, (Role.collector, "boss", True), (Role.collector, "col", False),
          (Role.operator, "op", False), (Role.contractor, "inv", False), (Role.auditor, "aud", False))


# ---------------------------------------------------------------- own sessions

def test_own_sessions_lists_only_the_users_live_sessions(testapp, people, dbsession, clock):
    desk, tablet, gone = (browser(testapp, "10.1.0.1"), browser(testapp, "10.1.0.2", IPAD),
                          browser(testapp, "10.1.0.3"))
    for b in (desk, tablet, gone):
        login(b, "col")
    gone.post("/logout", {"csrf_token": csrf_token(gone)}, status=303)
    login(browser(testapp, "10.1.0.9"), "boss")  # someone else's session
    # An old session nobody ended: idle for longer than the timeout.
    stale = LoginSession(token_hash="0" * 64, user_id=open_sessions(dbsession, "col")[0].user_id,
                         created_at=clock.now() - dt.timedelta(hours=1),
                         last_seen_at=clock.now() - dt.timedelta(minutes=16), csrf_token="x")
    dbsession.add(stale)
    dbsession.commit()

    page = desk.get("/sessions/")
    mine = open_sessions(dbsession, "col")
    live = {s.id: s for s in mine if s.id != stale.id}
    assert set(rows(page)) == set(live)
    desk_id = next(i for i, s in live.items() if s.client_addr == "10.1.0.1")
    tablet_id = next(i for i, s in live.items() if s.client_addr == "10.1.0.2")
    assert "この端末" in rows(page)[desk_id] and "この端末" not in rows(page)[tablet_id]
    assert "Chrome 131 / Windows" in rows(page)[desk_id] and "Safari 17 / iPad" in rows(page)[tablet_id]
    assert "2026-11-24 09:30" in rows(page)[desk_id]  # JST
    # Never the token or its hash; the current session offers no "end" form.
    for s in mine:
        assert s.token_hash not in page.text
    assert desk.cookies[COOKIE_NAME] not in page.text
    assert {f.get("action") for f in page.html.select("form[method=post]")} >= {
        "/sessions/end", "/sessions/end-others"}
    assert not page.html.select(f'tr[data-session="{desk_id}"] form')


def test_ending_another_own_session_logs_that_browser_out(testapp, people, dbsession, engine):
    desk, tablet = browser(testapp, "10.1.0.1"), browser(testapp, "10.1.0.2", IPAD)
    login(desk, "col")
    login(tablet, "col")
    tablet.get("/", status=200)
    page = desk.get("/sessions/")
    tablet_id = next(i for i, text in rows(page).items() if "iPad" in text)
    mark = log_mark(engine)
    form = page.html.select_one(f'tr[data-session="{tablet_id}"] form')
    res = desk.post(form["action"], {"csrf_token": csrf_token(desk, "/sessions/"),
                                     "session_id": str(tablet_id)}, status=303)
    assert res.location.endswith("/sessions/?ended=1")
    assert "1件のセッションを終了しました" in res.follow().text
    tablet.get("/", status=303)            # logged out at its next request
    desk.get("/", status=200)              # this one goes on
    ended = dbsession.get(LoginSession, tablet_id)
    dbsession.refresh(ended)
    assert ended.end_reason == "revoked"
    assert events(engine, mark) == [("session.revoked", "col", tablet_id, {"by": "col", "sessions": 1})]


def test_ending_all_other_own_sessions_keeps_this_one(testapp, people, dbsession, engine):
    desk, others = browser(testapp, "10.1.0.1"), [browser(testapp, f"10.1.0.{n}") for n in (2, 3)]
    for b in [desk, *others]:
        login(b, "col")
    mark = log_mark(engine)
    res = desk.post("/sessions/end-others", {"csrf_token": csrf_token(desk, "/sessions/")}, status=303)
    assert res.location.endswith("?ended=2")
    for b in others:
        b.get("/", status=303)
    desk.get("/", status=200)
    assert [s.client_addr for s in open_sessions(dbsession, "col")] == ["10.1.0.1"]
    assert events(engine, mark) == [("session.revoked", "col", None, {"by": "col", "sessions": 2})]


def test_a_forged_id_never_ends_someone_elses_session(testapp, people, dbsession, engine):
    mine, theirs = browser(testapp, "10.1.0.1"), browser(testapp, "10.1.0.2")
    login(mine, "col")
    login(theirs, "boss")
    victim = open_sessions(dbsession, "boss")[0].id
    own = open_sessions(dbsession, "col")[0].id
    token = csrf_token(mine, "/sessions/")
    mark = log_mark(engine)
    mine.post("/sessions/end", {"csrf_token": token, "session_id": str(victim)}, status=404)
    mine.post("/sessions/end", {"csrf_token": token, "session_id": "999999999"}, status=404)
    mine.post("/sessions/end", {"csrf_token": token, "session_id": "x"}, status=400)
    mine.post("/sessions/end", {"csrf_token": token, "session_id": str(own)}, status=400)  # log out instead
    mine.post("/sessions/end", {"session_id": str(victim)}, status=400)  # no CSRF token
    assert [s.id for s in open_sessions(dbsession, "boss")] == [victim]
    assert [s.id for s in open_sessions(dbsession, "col")] == [own]
    theirs.get("/", status=200)
    assert events(engine, mark) == []


def test_every_role_has_its_own_sessions_page(testapp, people):
    for name in ("boss", "col", "op", "inv", "aud"):
        b = browser(testapp, "10.1.0.1")
        login(b, name)
        home = b.get("/")
        assert "ログイン中の端末" in [a.text for a in home.html.select("nav.main-nav a")]
        assert len(rows(b.get("/sessions/"))) == 1
    testapp.get("/sessions/", status=303)  # anonymous: to the login page


# ---------------------------------------------------------------- supervisors

def test_supervisor_sees_counts_and_wipes_a_users_sessions(testapp, people, dbsession, engine):
    desk, phone = browser(testapp, "10.2.0.1"), browser(testapp, "10.2.0.2", IPAD)
    login(desk, "col")
    login(phone, "col")
    login(testapp, "boss")
    col_id = open_sessions(dbsession, "col")[0].user_id
    listing = testapp.get("/admin/users/")
    counts = {tr.select("td")[0].text: tr.select_one("td[data-sessions]")["data-sessions"]
              for tr in listing.html.select("tbody tr")}
    assert counts == {"boss": "1", "col": "2", "op": "0", "inv": "0", "aud": "0"}

    path = f"/admin/users/{col_id}/sessions"
    assert listing.html.select_one(f'a[href="{path}"]')
    page = testapp.get(path)
    assert len(rows(page)) == 2 and "この端末" not in page.text  # none of them is the supervisor's
    phone_id = next(i for i, text in rows(page).items() if "iPad" in text)
    mark = log_mark(engine)
    token = csrf_token(testapp, path)
    res = testapp.post(f"/admin/users/{col_id}/revoke", {"csrf_token": token,
                                                         "session_id": str(phone_id)}, status=303)
    assert res.location.endswith(f"{path}?ended=1")
    phone.get("/", status=303)   # the lost tablet is out at once
    desk.get("/", status=200)
    testapp.post(f"/admin/users/{col_id}/revoke-all", {"csrf_token": token}, status=303)
    desk.get("/", status=303)
    assert open_sessions(dbsession, "col") == []
    assert events(engine, mark) == [
        ("session.revoked", "col", phone_id, {"by": "boss", "sessions": 1}),
        ("session.revoked", "col", None, {"by": "boss", "sessions": 1})]
    testapp.get("/", status=200)  # the supervisor's own session is untouched


def test_supervisor_cannot_end_a_session_through_another_users_page(testapp, people, dbsession):
    other = browser(testapp, "10.2.0.1")
    login(other, "op")
    login(testapp, "boss")
    op_session = open_sessions(dbsession, "op")[0].id
    col_id = dbsession.scalar(sa.text("select id from users where login = 'col'"))
    testapp.post(f"/admin/users/{col_id}/revoke",
                 {"csrf_token": csrf_token(testapp), "session_id": str(op_session)}, status=404)
    testapp.post("/admin/users/999999/revoke-all", {"csrf_token": csrf_token(testapp)}, status=404)
    other.get("/", status=200)


@pytest.mark.parametrize("name", ["col", "op", "inv", "aud"])
def test_only_supervisors_see_and_end_other_users_sessions(testapp, people, dbsession, name):
    victim = browser(testapp, "10.2.0.1")
    login(victim, "boss")
    boss = open_sessions(dbsession, "boss")[0]
    login(testapp, name)
    token = csrf_token(testapp)
    testapp.get(f"/admin/users/{boss.user_id}/sessions", status=403)
    testapp.post(f"/admin/users/{boss.user_id}/revoke",
                 {"csrf_token": token, "session_id": str(boss.id)}, status=403)
    testapp.post(f"/admin/users/{boss.user_id}/revoke-all", {"csrf_token": token}, status=403)
    victim.get("/", status=200)
    if name == "aud":  # reads the user list, without the session counts
        assert not testapp.get("/admin/users/").html.select("td[data-sessions]")


# ---------------------------------------------------------------- the limit per role

def test_a_second_operator_login_ends_the_oldest_session(testapp, people, dbsession, engine, clock):
    first, second = browser(testapp, "10.3.0.1"), browser(testapp, "10.3.0.2")
    login(first, "op")
    first.get("/", status=200)
    old = open_sessions(dbsession, "op")[0].id
    clock.advance(minutes=1)
    mark = log_mark(engine)
    assert login(second, "op").status_code == 303   # the new login always succeeds
    second.get("/", status=200)
    first.get("/", status=303)                       # the old desk is logged out
    ended = dbsession.get(LoginSession, old)
    dbsession.refresh(ended)
    assert ended.end_reason == "replaced" and ended.ended_at == clock.now()
    assert [s.client_addr for s in open_sessions(dbsession, "op")] == ["10.3.0.2"]
    assert [e for e in events(engine, mark) if e[0] == "session.ended"] == [
        ("session.ended", "op", old, {"limit": 1, "reason": "replaced"})]
    assert [e[0] for e in events(engine, mark)] == ["login.success", "session.ended"]


def test_an_expired_session_does_not_count_towards_the_limit(testapp, people, dbsession, engine, clock):
    login(browser(testapp, "10.3.0.1"), "inv")
    clock.advance(minutes=6)  # past the investigators' 5-minute idle timeout
    mark = log_mark(engine)
    login(browser(testapp, "10.3.0.2"), "inv")
    assert [e[0] for e in events(engine, mark)] == ["login.success"]


def test_collectors_keep_every_session(testapp, people, dbsession, engine):
    browsers = [browser(testapp, f"10.3.0.{n}") for n in (1, 2, 3)]
    mark = log_mark(engine)
    for b in browsers:
        login(b, "col")
    for b in browsers:
        b.get("/", status=200)
    assert len(open_sessions(dbsession, "col")) == 3
    assert "session.ended" not in [e[0] for e in events(engine, mark)]


# ---------------------------------------------------------------- idle timeout per role

@pytest.fixture
def app_with(app_settings, clock):
    """``app_with(**settings)``: a browser on the same database with other
    session settings, on the test's frozen clock."""
    apps = []

    def make(**settings):
        app = intranet.main({}, **{**app_settings, **settings})
        app.registry.clock = clock
        apps.append(app)
        return browser(webtest.TestApp(app), "10.4.0.1")

    yield make
    for app in apps:
        app.registry["db_engine"].dispose()


def idle_for(client, clock, path, minutes, seconds=0):
    """The status of ``path`` after ``minutes`` idle (303: the session expired)."""
    client.get(path, status=200)
    clock.advance(minutes=minutes, seconds=seconds)
    return client.get(path, status="*").status_int


@pytest.mark.parametrize("name,path", [("inv", "/survey/"), ("col", "/")])
def test_a_stricter_global_idle_timeout_applies_to_every_role(app_with, people, clock, name, path):
    client = app_with(**{"intranet.session.idle_timeout": "1"})
    login(client, name, status=303)
    assert idle_for(client, clock, path, minutes=0, seconds=59) == 200
    assert idle_for(client, clock, path, minutes=1) == 303  # not the investigators' 5 minutes


def test_a_role_setting_cannot_lengthen_the_global_idle_timeout(app_with, people, clock, dbsession):
    client = app_with(**{"intranet.session.idle_timeout.collector": "60",
                         "intranet.session.idle_timeout.contractor": "30"})
    login(client, "col", status=303)
    assert idle_for(client, clock, "/", minutes=14) == 200
    assert idle_for(client, clock, "/", minutes=15) == 303
    login(client, "inv", status=303)
    assert idle_for(client, clock, "/survey/", minutes=15) == 303
    assert [s.end_reason for s in dbsession.scalars(
        sa.select(LoginSession).where(LoginSession.ended_at.is_not(None))
        .order_by(LoginSession.id))] == ["idle_timeout", "idle_timeout"]


def test_requests_read_the_typed_settings_of_the_running_app(testapp, wsgi_app, people, clock):
    """Requests read ``registry.app_settings`` (intranet.config) each time: a
    test swaps the frozen object instead of writing to ``registry.settings``."""
    client = browser(testapp, "10.4.0.2")
    login(client, "col", status=303)
    with swapped_settings(wsgi_app, "session", idle_timeout=dt.timedelta(minutes=2)):
        assert idle_for(client, clock, "/", minutes=1) == 200
        assert idle_for(client, clock, "/", minutes=2) == 303
    login(client, "col", status=303)
    assert idle_for(client, clock, "/", minutes=14) == 200  # the app's own 15 minutes again


def test_a_role_setting_shortens_the_idle_timeout(app_with, people, clock):
    client = app_with(**{"intranet.session.idle_timeout.collector": "3"})
    login(client, "col", status=303)
    assert idle_for(client, clock, "/", minutes=2) == 200
    assert idle_for(client, clock, "/", minutes=3) == 303


def test_idle_timeouts_per_role():
    minutes = {"intranet.session.idle_timeout": "10", "intranet.session.idle_timeout.operator": "12",
               "intranet.session.idle_timeout.auditor": "4"}
    session = typed_settings(**minutes).session
    idle = {role: session.timeouts(role)[0] // dt.timedelta(minutes=1)
            for role in ("collector", "operator", "auditor", "contractor")}
    assert idle == {"collector": 10, "operator": 10, "auditor": 4, "contractor": 5}
    assert typed_settings(**{"intranet.session.idle_timeout": "2"}).session.timeouts(
        "contractor")[0] == dt.timedelta(minutes=2)


# ---------------------------------------------------------------- settings and summaries

def test_limits_come_from_the_settings():
    assert typed_settings().session.max_per_role == {"operator": 1, "contractor": 1}
    assert typed_settings(**{"intranet.session.max_per_role": "operator:2  auditor:3"}
                          ).session.max_per_role == {"operator": 2, "auditor": 3}
    assert typed_settings(**{"intranet.session.max_per_role": ""}).session.max_per_role == {}
    for bad in ("operator", "operator:0", "admin:1", "operator:-1", "operator:x"):
        with pytest.raises(ValueError):
            sessions.parse_limits(bad)


@pytest.mark.parametrize("agent,summary", [
    (CHROME, "Chrome 131 / Windows"),
    (IPAD, "Safari 17 / iPad"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge 131 / Windows"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 / Linux"),
    ("", ""), (None, ""), ("curl/8.5.0", ""),
])
def test_user_agent_summary(agent, summary):
    assert sessions.describe_user_agent(agent) == summary


def test_pages_about_another_user_name_that_user_not_the_viewer(
        testapp, dbsession, password_context):
    """Issue 19: the base layout's ``user`` shadowed the page's, so the
    remote-wipe page said "ログイン中の端末：<the supervisor>"."""
    factories.user(dbsession, password_context, Role.collector, login="boss-viewer",
                   display_name="管理者 見る人", is_supervisor=True)
    other = factories.user(dbsession, password_context, Role.contractor, login="inv-viewed",
                           display_name="調査員 見られる人")
    dbsession.commit()
    login(testapp, "boss-viewer")
    for path in (f"/admin/users/{other.id}/sessions", f"/admin/keys/{other.id}/", f"/admin/users/{other.id}/"):
        page = testapp.get(path)
        main = page.html.select_one("main").text
        assert "inv-viewed" in page.html.select_one("h1").text or "調査員 見られる人" in main, path
        assert "boss-viewer" not in page.html.select_one("h1").text, path
        assert "管理者 見る人" in page.html.select_one(".user-box").text  # the header: the viewer
