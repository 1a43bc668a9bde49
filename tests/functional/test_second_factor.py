"""The second factor: TOTP enrolment, login in two steps, recovery codes,
replay and lockout, the per-role policy."""
import datetime as dt

import pyotp
import pytest
import webtest

import intranet
from intranet.models import LoginSession, RecoveryCode, Role, User
from tests import factories
from tests.conftest import FrozenClock
from tests.helpers import entries_since, log_mark, login


def code_at(secret, clock, offset_steps=0):
    at = clock.now().replace(tzinfo=dt.UTC) + dt.timedelta(seconds=30 * offset_steps)
    return pyotp.TOTP(secret).at(at)


def enrol(testapp, clock):
    """Enrol TOTP for the logged-in user; returns (secret, recovery codes)."""
    page = testapp.get("/two-factor")
    page = page.forms["mfa-start"].submit()
    secret = page.html.select_one("#mfa-secret").text
    form = page.forms["mfa-confirm"]
    form["code"] = code_at(secret, clock)
    done = form.submit()
    codes = [c.text for c in done.html.select("#recovery-codes code")]
    return secret, codes


@pytest.fixture
def staff(dbsession, password_context):
    factories.user(dbsession, password_context, Role.collector, login="tanaka")
    factories.user(dbsession, password_context, Role.operator, login="op1")
    factories.sentinel_case(dbsession)
    dbsession.commit()


def second_step(testapp, code, status=303, url="/second-factor"):
    form = testapp.get(url).forms["second-factor-form"]
    form["code"] = code
    return form.submit(status=status)


def test_enrol_then_log_in_with_the_app(testapp, dbsession, engine, staff, clock):
    login(testapp, "tanaka")
    secret, codes = enrol(testapp, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    user = dbsession.query(User).filter_by(login="tanaka").one()
    assert user.totp_secret == secret
    assert dbsession.query(RecoveryCode).filter_by(user_id=user.id).count() == 10
    assert all(codes[0] not in r.code_hash for r in dbsession.query(RecoveryCode))  # hashed

    testapp.post("/logout", {"csrf_token": testapp.get("/").html.find("input", {"name": "csrf_token"})["value"]})
    clock.advance(minutes=1)
    mark = log_mark(engine)
    res = login(testapp, "tanaka", next_url="/cases/")
    assert res.status_int == 303 and "/second-factor" in res.location
    # Password alone reaches nothing.
    assert "/login" in testapp.get("/cases/", status=303).location
    wrong = second_step(testapp, "000000" if code_at(secret, clock) != "000000" else "111111", status=200)
    assert "コードが正しくありません" in wrong.text
    done = second_step(testapp, code_at(secret, clock), url=res.location)
    assert done.location.endswith("/cases/")
    testapp.get("/cases/", status=200)
    events = [(e.event, e.outcome) for e in entries_since(engine, mark, kind="event")]
    assert events == [("login.password", "success"), ("login.failure", "failure"), ("login.success", "success")]
    sessions = dbsession.query(LoginSession).filter_by(user_id=user.id).order_by(LoginSession.id).all()
    assert sessions[-2].end_reason == "mfa_done" and sessions[-1].second_factor == "totp"
    assert not sessions[-1].pending
    dbsession.refresh(user)
    assert user.failed_logins == 0


def test_a_code_is_accepted_once(testapp, dbsession, staff, clock):
    login(testapp, "tanaka")
    secret, _ = enrol(testapp, clock)
    clock.advance(seconds=40)
    code = code_at(secret, clock)
    for attempt in (1, 2):
        fresh = webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
        login(fresh, "tanaka")
        second_step(fresh, code, status=303 if attempt == 1 else 200)


def test_recovery_codes_work_once(testapp, dbsession, engine, staff, clock):
    login(testapp, "tanaka")
    _, codes = enrol(testapp, clock)
    other = webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
    mark = log_mark(engine)
    login(other, "tanaka")
    second_step(other, codes[3].upper().replace("-", " - "))  # case and spaces do not matter
    (success,) = [e for e in entries_since(engine, mark, kind="event") if e.event == "login.success"]
    assert '"method": "recovery"' in success.detail and '"recovery_codes_left": 9' in success.detail
    again = webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
    login(again, "tanaka")
    second_step(again, codes[3], status=200)


def test_wrong_codes_lock_the_account(testapp, dbsession, staff, clock):
    login(testapp, "tanaka")
    secret, _ = enrol(testapp, clock)
    other = webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
    login(other, "tanaka")
    for _ in range(4):
        second_step(other, "12345x", status=200)
    locked = second_step(other, "12345x")
    assert "locked=1" in locked.location
    user = dbsession.query(User).filter_by(login="tanaka").one()
    assert user.locked_until is not None
    again = login(other, "tanaka", status=200)
    assert "ロック" in again.text
    # A correct password in between does not reset the count of wrong codes.


def test_password_success_does_not_reset_wrong_code_count(testapp, dbsession, staff, clock):
    login(testapp, "tanaka")
    enrol(testapp, clock)
    for _ in range(5):
        other = webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
        login(other, "tanaka")
        second_step(other, "000000x", status=200 if _ < 4 else 303)
    user = dbsession.query(User).filter_by(login="tanaka").one()
    assert user.locked_until is not None


def test_a_pending_session_expires(testapp, staff, clock):
    login(testapp, "tanaka")
    secret, _ = enrol(testapp, clock)
    other = webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
    login(other, "tanaka")
    clock.advance(minutes=6)
    assert "/login" in other.get("/second-factor", status=303).location


def test_disable_needs_a_current_code(testapp, dbsession, staff, clock):
    login(testapp, "tanaka")
    secret, _ = enrol(testapp, clock)
    clock.advance(seconds=60)
    form = testapp.get("/two-factor").forms["mfa-disable"]
    form["code"] = "000000" if code_at(secret, clock) != "000000" else "111111"
    form.submit(status=400)
    form["code"] = code_at(secret, clock)
    form.submit(status=303)
    assert dbsession.query(User).filter_by(login="tanaka").one().totp_secret is None
    assert dbsession.query(RecoveryCode).count() == 0


def test_a_bad_confirmation_code_stores_nothing(testapp, dbsession, staff, clock):
    login(testapp, "tanaka")
    page = testapp.get("/two-factor").forms["mfa-start"].submit()
    form = page.forms["mfa-confirm"]
    form["code"] = "999999" if code_at(form["secret"].value, clock) != "999999" else "888888"
    res = form.submit(status=400)
    assert "コードが正しくありません" in res.text and res.forms["mfa-confirm"]
    forged = res.forms["mfa-confirm"]
    forged["secret"] = "<script>"
    forged.submit(status=400)
    assert dbsession.query(User).filter_by(login="tanaka").one().totp_secret is None


@pytest.fixture
def strict_app(app_settings, wsgi_app):
    """The same database with operators required to pass a second factor."""
    app = intranet.main({}, **{**app_settings, "intranet.mfa.required_roles": "operator",
                               "intranet.mfa.methods.operator": "webauthn totp"})
    app.registry.clock = FrozenClock(dt.datetime(2026, 11, 24, 0, 30))
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
    app.registry["db_engine"].dispose()


def test_a_required_role_without_a_factor_cannot_log_in(strict_app, dbsession, staff):
    res = login(strict_app, "op1", status=200)
    assert "第二要素" in res.text
    assert "/login" in strict_app.get("/calls/", status=303).location
    login(strict_app, "tanaka", status=303)  # collectors are not required


def test_a_required_role_logs_in_with_its_factor_and_cannot_remove_it(strict_app, dbsession, staff):
    user = dbsession.query(User).filter_by(login="op1").one()
    secret = pyotp.random_base32()
    user.totp_secret = secret
    dbsession.commit()
    clock = strict_app.app.registry.clock
    login(strict_app, "op1")
    second_step(strict_app, code_at(secret, clock))
    page = strict_app.get("/two-factor")
    assert "必須" in page.text and "mfa-disable" not in page.forms
    clock.advance(seconds=60)
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    res = strict_app.post("/two-factor", {"csrf_token": token, "action": "disable",
                                          "code": code_at(secret, clock)}, status=400)
    assert "解除できません" in res.text


def test_anonymous_users_cannot_open_the_settings(testapp):
    assert "/login" in testapp.get("/two-factor", status=303).location
