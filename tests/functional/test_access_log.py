"""The access log through the real app: one entry per request, every outcome,
every disclosed case, security events, fail-closed writes (SQLite and PostgreSQL)."""
import datetime as dt

import pytest
import sqlalchemy as sa
import webtest
from pyramid.response import Response

import intranet
from intranet.audit.chain import Break
from intranet.audit.verify import verify_database
from intranet.models import AccessLogEntry, Role
from intranet.resources import Root
from intranet.security.matrix import ROLE_FACETS, Facet
from intranet.security.permissions import Permission
from tests import factories
from tests.helpers import csrf_token, drop_log_guards, entries_since, log_mark, log_now, login

KEY = b"test-access-log-key-0123456789abcdef"


@pytest.fixture
def mark(engine):
    return log_mark(engine)


@pytest.fixture
def collector_user(dbsession, password_context):
    user = factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    return user


def requests_since(engine, mark):
    return entries_since(engine, mark, kind="request")


def only(entries):
    assert len(entries) == 1, [(e.method, e.path, e.outcome) for e in entries]
    return entries[0]


def test_allowed_case_page_records_everything_it_disclosed(testapp, engine, dbsession, collector_user):
    case = factories.sentinel_case(dbsession)
    dbsession.commit()
    login(testapp, "c1")
    mark = log_mark(engine)
    res = testapp.get(f"/cases/{case.case_no}/", headers={"User-Agent": "TestBrowser/1.0"})
    entry = only(requests_since(engine, mark))
    assert entry.request_id == res.headers["X-Request-Id"]
    assert (entry.user_id, entry.login, entry.roles, entry.organisation) == (
        collector_user.id, "c1", "collector", collector_user.organisation.code)
    assert entry.session_id is not None
    assert (entry.client_addr, entry.user_agent, entry.method, entry.path) == (
        "10.0.0.1", "TestBrowser/1.0", "GET", f"/cases/{case.case_no}/")
    assert entry.view_name == "intranet.cases.views.case_detail"
    assert (entry.context_type, entry.context_id) == ("CaseResource", case.case_no)
    assert entry.permission == Permission.CaseView
    assert (entry.outcome, entry.status) == ("allowed", 200)
    assert entry.duration_us > 0
    assert set(entry.facets.split()) == {str(f) for f in ROLE_FACETS[Role.collector]}
    assert [(c.case_id, c.case_no) for c in entry.cases] == [(case.id, case.case_no)]
    assert entry.case_count == 1


def test_operator_entry_lists_only_the_facets_it_was_shown(testapp, engine, dbsession, password_context):
    case = factories.sentinel_case(dbsession)
    factories.campaign(dbsession, [case])
    factories.user(dbsession, password_context, Role.operator, login="op")
    dbsession.commit()
    login(testapp, "op")
    mark = log_mark(engine)
    testapp.get(f"/cases/{case.case_no}/")
    entry = only(requests_since(engine, mark))
    assert set(entry.facets.split()) == {str(f) for f in ROLE_FACETS[Role.operator]}
    assert Facet.bank_account not in entry.facets.split()


def test_list_page_records_every_case_it_shows_in_order(testapp, engine, dbsession, collector_user):
    for i in range(55):
        factories.case(dbsession, name=f"山本 {i}")
    dbsession.commit()
    login(testapp, "c1")
    mark = log_mark(engine)
    res = testapp.get("/cases/")
    shown = [a.text for a in res.html.select("table.data td:first-child a")]
    entry = only(requests_since(engine, mark))
    assert len(shown) == 50
    assert [c.case_no for c in entry.cases] == shown
    assert entry.case_count == 50
    assert entry.facets.split() == ["identity", "verification", "payment", "staff"]
    # a search records its results too, and never its terms
    mark = log_mark(engine)
    token = csrf_token(testapp, "/cases/")
    mark = log_mark(engine)
    res = testapp.post("/cases/", {"csrf_token": token, "name": "山本 1"})
    shown = [a.text for a in res.html.select("table.data td:first-child a")]
    entry = only(requests_since(engine, mark))
    assert [c.case_no for c in entry.cases] == shown and 1 <= len(shown) < 50
    assert "山本" not in " ".join(str(v) for v in vars(entry).values())


def test_denied_case_looks_like_a_missing_one_and_both_are_logged(
        testapp, engine, dbsession, password_context):
    case = factories.sentinel_case(dbsession)  # in no campaign: operators may not see it
    factories.user(dbsession, password_context, Role.operator, login="op")
    dbsession.commit()
    login(testapp, "op")
    mark = log_mark(engine)
    pairs = [(f"/cases/{case.case_no}/", "/cases/2026-999999/"),
             (f"/cases/{case.case_no}/anything", "/cases/2026-999999/anything")]
    for denied_path, missing_path in pairs:
        denied = testapp.get(denied_path, status=403)
        missing = testapp.get(missing_path, status=403)
        # the same page, apart from the requested path echoed in the language form
        assert denied.text.replace(case.case_no, "N") == missing.text.replace("2026-999999", "N")
        assert denied.headers.get("Content-Type") == missing.headers.get("Content-Type")
        assert factories.SENTINELS[Facet.identity] not in denied.text
    first, second, third, fourth = requests_since(engine, mark)
    assert (first.outcome, first.status, first.permission, first.case_count) == (
        "denied", 403, Permission.CaseView, 0)
    assert (first.context_type, first.context_id) == ("CaseResource", case.case_no)
    assert (second.outcome, second.status, second.context_type) == (
        "not_found", 403, "MissingCaseResource")
    assert (third.outcome, third.status) == ("denied", 403)
    # a page below a missing case: the same 403, and the log says what it was
    assert (fourth.outcome, fourth.status, fourth.context_type) == (
        "not_found", 403, "MissingCaseResource")


def test_anonymous_gets_the_same_redirect_for_existing_and_missing_cases(testapp, engine, dbsession):
    case = factories.case(dbsession)
    dbsession.commit()
    mark = log_mark(engine)
    existing = testapp.get(f"/cases/{case.case_no}/", status=303)
    missing = testapp.get("/cases/2026-999999/", status=303)
    assert existing.location.split("?")[0] == missing.location.split("?")[0]
    first, second = requests_since(engine, mark)
    assert (first.outcome, first.status, first.user_id) == ("unauthenticated", 303, None)
    assert (second.outcome, second.status, second.context_type) == (
        "unauthenticated", 303, "MissingCaseResource")


def test_forbidden_page_is_denied(testapp, engine, dbsession, password_context):
    factories.user(dbsession, password_context, Role.collector, login="plain")
    dbsession.commit()
    login(testapp, "plain")
    mark = log_mark(engine)
    testapp.get("/admin/users/", status=403)
    entry = only(requests_since(engine, mark))
    assert (entry.outcome, entry.status, entry.permission) == ("denied", 403, Permission.UsersView)


def test_bad_request_is_logged(testapp, engine, collector_user):
    login(testapp, "c1")
    mark = log_mark(engine)
    testapp.post("/cases/", {"csrf_token": "forged", "name": "x"}, status=400)
    entry = only(requests_since(engine, mark))
    assert (entry.outcome, entry.status, entry.case_count) == ("bad_request", 400, 0)


def test_only_known_safe_query_parameters_keep_their_values(testapp, engine, collector_user):
    login(testapp, "c1")
    mark = log_mark(engine)
    testapp.get("/cases/?page=1&name=%E5%B1%B1%E7%94%B0&token=secret")
    entry = only(requests_since(engine, mark))
    assert entry.query == "page=1&name=*&token=*"


def test_static_assets_are_not_logged(testapp, engine):
    mark = log_mark(engine)
    testapp.get("/static/app.css")
    assert requests_since(engine, mark) == []


@pytest.fixture
def app_with_failing_view(app_settings, clock):
    config = intranet.make_configurator(app_settings)

    def boom(request):
        raise RuntimeError("boom")

    config.add_view(boom, context=Root, name="boom", permission=Permission.HomeView)
    app = config.make_wsgi_app()
    app.registry.clock = clock
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.2"})
    app.registry["db_engine"].dispose()


def test_server_error_is_logged(app_with_failing_view, engine, collector_user):
    testapp = app_with_failing_view
    login(testapp, "c1")
    mark = log_mark(engine)
    res = testapp.get("/boom", status=500)
    assert "boom" not in res.text
    entry = only(requests_since(engine, mark))
    assert (entry.outcome, entry.status, entry.login) == ("error", 500, "c1")
    assert entry.view_name.endswith("boom")


# ------------------------------------------------------------------ security events

def events_since(engine, mark):
    return [(e.event, e.outcome, e.login) for e in entries_since(engine, mark, kind="event")]


def test_login_success_and_failure_are_events_without_the_password(testapp, engine, collector_user):
    mark = log_mark(engine)
    login(testapp, "c1", password="Wrong-Password-1")
    login(testapp, "nobody", password="Secret-Typed-Here-9")
    login(testapp, "c1")
    assert events_since(engine, mark) == [
        ("login.failure", "failure", "c1"),
        ("login.failure", "failure", None),  # an unknown login id is not stored
        ("login.success", "success", "c1"),
    ]
    everything = " ".join(str(v) for e in entries_since(engine, mark) for v in vars(e).values())
    assert "Wrong-Password-1" not in everything and "Secret-Typed-Here-9" not in everything
    assert "nobody" not in everything
    # each login POST is also one request entry
    posts = [e for e in requests_since(engine, mark) if e.method == "POST"]
    assert len(posts) == 3


def test_lockout_is_an_event(testapp, engine, collector_user):
    mark = log_mark(engine)
    for _ in range(5):
        login(testapp, "c1", password="Wrong-Password-1")
    events = events_since(engine, mark)
    assert events.count(("account.locked", "locked", "c1")) == 1
    assert events.count(("login.failure", "failure", "c1")) == 5


def test_logout_and_session_expiry_are_events(testapp, engine, clock, collector_user):
    login(testapp, "c1")
    mark = log_mark(engine)
    testapp.post("/logout", {"csrf_token": csrf_token(testapp)}, status=303)
    assert events_since(engine, mark) == [("logout", "success", "c1")]

    login(testapp, "c1")
    clock.advance(minutes=16)
    mark = log_mark(engine)
    testapp.get("/cases/", status=303)
    (event,) = entries_since(engine, mark, kind="event")
    assert (event.event, event.outcome, event.login) == ("session.ended", "ended", "c1")
    assert '"idle_timeout"' in event.detail
    request_entry = only(requests_since(engine, mark))
    assert request_entry.outcome == "unauthenticated" and request_entry.request_id == event.request_id


# ------------------------------------------------------------------ fail closed

class FailingWriter:
    def append(self, rows):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))


def test_a_failed_log_write_returns_an_error_and_no_data(wsgi_app, testapp, engine, dbsession, collector_user):
    case = factories.sentinel_case(dbsession)
    dbsession.commit()
    login(testapp, "c1")
    mark = log_mark(engine)
    writer = wsgi_app.registry.access_log
    wsgi_app.registry.access_log = FailingWriter()
    try:
        page = testapp.get(f"/cases/{case.case_no}/", status=503)
        listing = testapp.get("/cases/", status=503)
    finally:
        wsgi_app.registry.access_log = writer
    for res in (page, listing):
        for sentinel in factories.SENTINELS.values():
            assert sentinel not in res.text
        assert case.case_no not in res.text
        assert "アクセス記録" in res.text and "could not be recorded" in res.text
        assert res.headers["Cache-Control"] == "no-store"
    assert requests_since(engine, mark) == []
    testapp.get(f"/cases/{case.case_no}/", status=200)  # and it recovers


def test_a_failed_log_write_at_login_sets_no_session_cookie(wsgi_app, testapp, collector_user):
    form = testapp.get("/login").forms["login-form"]
    form["login"], form["password"] = "c1", factories.PASSWORD
    writer = wsgi_app.registry.access_log
    wsgi_app.registry.access_log = FailingWriter()
    try:
        res = form.submit(status=503)
    finally:
        wsgi_app.registry.access_log = writer
    assert "Set-Cookie" not in res.headers or "intranet_session=" not in res.headers["Set-Cookie"]
    testapp.get("/cases/", status=303)


# ------------------------------------------------------------------ the stored chain

def test_the_log_written_by_the_app_verifies(testapp, engine, collector_user):
    login(testapp, "c1")
    testapp.get("/cases/")
    with engine.connect() as conn:
        result = verify_database(conn, KEY, now=log_now())
    assert result.ok, str(result)
    assert result.last_seq == log_mark(engine)


def test_update_delete_and_truncate_are_rejected_by_the_database(
        testapp, engine, admin_engine, collector_user):
    """Even for the owner (the application's own role may not even try: the
    grants refuse it first on PostgreSQL)."""
    login(testapp, "c1")
    seq = log_mark(engine)
    table = AccessLogEntry.__table__
    statements = [sa.update(table).where(table.c.seq == seq).values(outcome="allowed"),
                  sa.delete(table).where(table.c.seq == seq)]
    if engine.dialect.name == "postgresql":
        statements.append(sa.text("TRUNCATE access_log CASCADE"))
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with admin_engine.begin() as conn:
                conn.execute(statement)
        if engine.dialect.name == "postgresql":
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with engine.begin() as conn:
                    conn.execute(statement)
    assert log_mark(engine) == seq


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap"])
def test_tampering_is_found_at_its_sequence_number(testapp, engine, admin_engine, collector_user,
                                                   tamper):
    """Triggers dropped (a DBA can), rows changed, all inside a rolled-back transaction."""
    login(testapp, "c1")
    for _ in range(3):
        testapp.get("/cases/")
    last = log_mark(engine)
    target = last - 2
    table = AccessLogEntry.__table__
    with admin_engine.connect() as conn:
        trans = conn.begin()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # pysqlite would run the DDL outside any transaction
        try:
            _drop_guards(conn)
            if tamper == "edit":
                conn.execute(sa.update(table).where(table.c.seq == target).values(client_addr="10.9.9.9"))
            elif tamper == "delete":
                conn.execute(sa.text("DELETE FROM access_log_cases WHERE entry_seq = :s"), {"s": target})
                conn.execute(sa.delete(table).where(table.c.seq == target))
            else:  # swap the contents of two entries, keeping their sequence numbers
                rows = {r.seq: dict(r._mapping) for r in conn.execute(
                    sa.select(table).where(table.c.seq.in_([target, target + 1])))}
                for seq, other in ((target, target + 1), (target + 1, target)):
                    values = {k: v for k, v in rows[other].items() if k != "seq"}
                    conn.execute(sa.update(table).where(table.c.seq == seq).values(**values))
            result = verify_database(conn, KEY, now=log_now())
        finally:
            trans.rollback()
    expected = {"edit": [(Break.Mismatch, target)], "delete": [(Break.Gap, target)],
                "swap": [(Break.Mismatch, target), (Break.Mismatch, target + 1)]}[tamper]
    assert result.kinds() == expected, str(result)
    assert result.last_seq == last  # the walk went on to the end


def _drop_guards(conn):
    drop_log_guards(conn, "access_log", "access_log_cases")


# ------------------------------------------------------------------ placement, retries, checkpoints

def test_tween_order_puts_the_log_outside_the_transaction(wsgi_app):
    from pyramid.interfaces import ITweens

    names = [name for name, _ in wsgi_app.registry.queryUtility(ITweens).implicit()]
    order = ["intranet.tweens.security_headers_tween_factory",
             "intranet.audit.tweens.access_log_tween_factory",
             "pyramid_tm.tm_tween_factory",
             "intranet.audit.tweens.access_capture_tween_factory",
             "pyramid.tweens.excview_tween_factory"]
    assert [n for n in names if n in order] == order


def test_a_retried_request_is_logged_once(app_settings, clock, engine, dbsession, collector_user):
    from pyramid_retry import mark_error_retryable

    class Conflict(Exception):
        pass

    mark_error_retryable(Conflict)
    attempts = []
    config = intranet.make_configurator({**app_settings, "retry.attempts": "3"})

    def flaky(request):
        attempts.append(1)
        if len(attempts) == 1:
            raise Conflict()
        return Response("done")

    config.add_view(flaky, context=Root, name="flaky", permission=Permission.HomeView)
    app = config.make_wsgi_app()
    app.registry.clock = clock
    testapp = webtest.TestApp(app)
    login(testapp, "c1")
    mark = log_mark(engine)
    testapp.get("/flaky", status=200)
    assert len(attempts) == 2
    entry = only(requests_since(engine, mark))
    assert (entry.outcome, entry.status) == ("allowed", 200)
    app.registry["db_engine"].dispose()


def test_the_app_writes_a_checkpoint_when_the_last_is_old(fresh_database, tmp_path):
    from intranet.models import AccessLogCheckpoint
    from tests.conftest import FrozenClock

    path = tmp_path / "checkpoints.jsonl"
    app = intranet.main({}, **fresh_database, **{"intranet.audit.checkpoint_file": str(path),
                                                 "intranet.audit.checkpoint_minutes": "15"})
    clock = app.registry.clock = FrozenClock(dt.datetime(2026, 11, 24, 0, 30))
    testapp = webtest.TestApp(app)
    engine = app.registry["db_engine"]
    testapp.get("/login")  # the first entry: no checkpoint yet, so one now
    clock.advance(minutes=10)
    testapp.get("/login")  # not due
    clock.advance(minutes=6)
    testapp.get("/login")  # 16 minutes after the first: due
    with engine.connect() as conn:
        rows = conn.execute(sa.select(AccessLogCheckpoint.seq, AccessLogCheckpoint.chain,
                                      AccessLogCheckpoint.created_at)
                            .order_by(AccessLogCheckpoint.id)).all()
    engine.dispose()
    assert [(seq, at) for seq, _, at in rows] == [
        (1, dt.datetime(2026, 11, 24, 0, 30)), (3, dt.datetime(2026, 11, 24, 0, 46))]
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and '"seq": 3' in lines[1] and rows[1].chain in lines[1]
