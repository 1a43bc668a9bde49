"""Login, logout, sessions, lockout and CSRF through the whole app."""
import datetime as dt

import pytest
from sqlalchemy import select

from intranet.models import LoginSession, Role, User
from intranet.security.sessions import COOKIE_NAME
from tests import factories
from tests.helpers import csrf_token, login


@pytest.fixture
def collector(dbsession, password_context):
    u = factories.user(dbsession, password_context, Role.collector, login="collector1")
    dbsession.commit()
    return u


def test_anonymous_is_sent_to_login(testapp):
    res = testapp.get("/cases/", status=303)
    assert res.location.endswith("/login?next=%2Fcases%2F")


def test_login_then_home_shows_user_role_and_org(testapp, collector):
    res = login(testapp, "collector1")
    assert res.status_code == 303
    home = res.follow()
    assert "テスト collector1" in home.text
    assert "徴収職員" in home.text
    assert "テスト組織 ward" in home.text


def test_session_cookie_is_httponly_strict_and_stores_only_a_hash(testapp, collector, dbsession):
    res = login(testapp, "collector1")
    cookie = [v for k, v in res.headerlist if k == "Set-Cookie" and v.startswith(COOKIE_NAME)][0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    token = testapp.cookies[COOKIE_NAME]
    stored = dbsession.scalars(select(LoginSession.token_hash)).all()
    assert len(stored) == 1 and stored[0] != token and len(stored[0]) == 64


def test_wrong_password_and_unknown_user_get_the_same_message(testapp, collector):
    wrong = login(testapp, "collector1", "Wrong-password-1")
    unknown = login(testapp, "nobody", "Wrong-password-1")
    message = "ユーザーIDまたはパスワードが正しくありません。"
    assert message in wrong.text and message in unknown.text
    assert COOKIE_NAME not in testapp.cookies


def test_login_redirects_to_next_but_never_off_site(testapp, collector):
    assert login(testapp, "collector1", next_url="/cases/").location.endswith("/cases/")
    testapp.reset()
    res = login(testapp, "collector1", next_url="//evil.example/")
    assert res.location == "http://localhost/"


def test_logout_ends_the_session_row(testapp, collector, dbsession, clock):
    login(testapp, "collector1")
    token = csrf_token(testapp)
    testapp.post("/logout", {"csrf_token": token}, status=303)
    row = dbsession.scalars(select(LoginSession)).one()
    assert row.ended_at == clock.now() and row.end_reason == "logout"
    testapp.get("/", status=303)


def test_forged_csrf_token_is_rejected_with_a_clear_message(testapp, collector):
    testapp.get("/login")
    res = testapp.post("/login", {"login": "collector1", "password": factories.PASSWORD,
                                  "csrf_token": "forged"}, status=400)
    assert "不正な送信" in res.text
    assert COOKIE_NAME not in testapp.cookies


def test_logout_without_csrf_token_is_rejected(testapp, collector):
    login(testapp, "collector1")
    testapp.post("/logout", {}, status=400)
    testapp.get("/", status=200)  # still logged in


def test_idle_timeout_ends_the_session(testapp, collector, clock, dbsession):
    login(testapp, "collector1")
    clock.advance(minutes=14)
    testapp.get("/", status=200)          # activity keeps it alive
    clock.advance(minutes=14)
    testapp.get("/", status=200)
    clock.advance(minutes=15, seconds=1)
    res = testapp.get("/", status=303)
    assert "expired=1" in res.location
    assert "一定時間操作がなかったため" in res.follow().text
    assert dbsession.scalars(select(LoginSession.end_reason)).one() == "idle_timeout"


def test_absolute_timeout_ends_even_an_active_session(testapp, collector, clock, dbsession):
    login(testapp, "collector1")
    for _ in range(59):  # active every 10 minutes for 9 h 50 min
        clock.advance(minutes=10)
        testapp.get("/", status=200)
    clock.advance(minutes=10)
    testapp.get("/", status=303)
    assert dbsession.scalars(select(LoginSession.end_reason)).one() == "absolute_timeout"


def test_hundred_wrong_passwords_never_log_in_and_lock(testapp, collector, dbsession, clock):
    for attempt in range(100):
        res = login(testapp, "collector1", f"Wrong-password-{attempt}")
        assert res.status_code == 200 and COOKIE_NAME not in testapp.cookies
        clock.advance(seconds=30)
    assert "ロックされています" in res.text
    # Locked: even the right password is refused.
    res = login(testapp, "collector1")
    assert "ロックされています" in res.text and COOKIE_NAME not in testapp.cookies
    dbsession.expire_all()
    locked = dbsession.scalars(select(User)).one()
    assert locked.failed_logins >= 100 and locked.locked_until > clock.now()
    # After the lockout period the right password works again.
    clock.advance(minutes=16)
    assert login(testapp, "collector1").status_code == 303


def test_lockout_starts_at_the_configured_failure_count(testapp, collector):
    for _ in range(4):
        assert "正しくありません" in login(testapp, "collector1", "Wrong-password-1").text
    assert "ロックされています" in login(testapp, "collector1", "Wrong-password-1").text


def test_expired_contractor_cannot_log_in_and_its_session_stops(testapp, dbsession, password_context, clock):
    factories.user(dbsession, password_context, Role.contractor, login="contractor1",
                   valid_from=clock.now() - dt.timedelta(days=30),
                   valid_until=clock.now() + dt.timedelta(minutes=4))
    dbsession.commit()
    login(testapp, "contractor1")
    testapp.get("/", status=200)
    clock.advance(minutes=4)      # within the (5-minute) idle timeout, past the contract
    testapp.get("/", status=303)  # the existing session no longer works
    assert dbsession.scalars(select(LoginSession.end_reason)).one() == "account_invalid"
    res = login(testapp, "contractor1")
    assert "有効期間外" in res.text and res.status_code == 200
    testapp.get("/", status=303)


def test_password_hash_is_upgraded_on_login(testapp, dbsession, password_context):
    from passlib.context import CryptContext

    weak = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__time_cost=1,
                        argon2__memory_cost=32, argon2__parallelism=1)
    u = factories.user(dbsession, password_context, Role.collector, login="old")
    u.password_hash = weak.hash(factories.PASSWORD)
    dbsession.commit()
    assert login(testapp, "old").status_code == 303
    dbsession.expire_all()
    new_hash = dbsession.get(User, u.id).password_hash
    assert "m=64," in new_hash and not password_context.needs_update(new_hash)


@pytest.mark.parametrize("field", ["login", "password"])
def test_overlong_login_fields_get_a_clear_400(testapp, collector, field):
    page = testapp.get("/login")
    form = page.forms["login-form"]
    form["login"] = "collector1"
    form["password"] = factories.PASSWORD
    form[field] = "x" * 5000
    res = form.submit(status=400)
    assert "入力が長すぎる" in res.text


def test_empty_login_form_asks_for_both_fields(testapp):
    page = testapp.get("/login")
    res = page.forms["login-form"].submit(status=400)
    assert "ユーザーIDとパスワードを入力してください" in res.text


def test_security_headers_on_every_page(testapp, collector):
    for res in (testapp.get("/login"), login(testapp, "collector1").follow()):
        assert "script-src 'self'" in res.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in res.headers["Content-Security-Policy"]
        assert res.headers["X-Frame-Options"] == "DENY"
        assert res.headers["Referrer-Policy"] == "no-referrer"
        assert res.headers["Cache-Control"] == "no-store"


def test_language_switch_to_english(testapp, collector):
    login(testapp, "collector1")
    token = csrf_token(testapp)
    testapp.post("/lang", {"lang": "en", "next": "/", "csrf_token": token}, status=303)
    assert "Welcome, テスト collector1." in testapp.get("/").text
