"""A user's own password (issue 19): the current one, the policy, and every
other session of the user ends; refusals change nothing."""
import pytest
import sqlalchemy as sa
import webtest

from intranet.models import AccessLogEntry, LoginSession, Role, User
from tests import factories
from tests.helpers import csrf_token, login

NEW = "Another-Horse-77"


@pytest.fixture
def op(dbsession, password_context):
    user = factories.user(dbsession, password_context, Role.collector, login="pw-user")
    dbsession.commit()
    return user


def _change(testapp, status=200, **fields):
    return testapp.post("/password", {"csrf_token": csrf_token(testapp, "/password"), **fields},
                        status=status)


def test_a_user_changes_the_password_and_other_sessions_end(testapp, wsgi_app, op, dbsession):
    other_device = webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "10.0.0.2"})
    login(other_device, "pw-user")
    other_device.get("/", status=200)
    login(testapp, "pw-user")
    res = _change(testapp, current=factories.PASSWORD, new=NEW, again=NEW)
    assert res.html.select_one("#password-done") is not None
    testapp.get("/", status=200)                      # this session goes on
    assert "/login" in other_device.get("/", status=303).location  # the other one ended
    ended = dbsession.scalars(sa.select(LoginSession.end_reason)
                              .where(LoginSession.ended_at.is_not(None))).all()
    assert ended == ["revoked"]
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(AccessLogEntry)
                            .where(AccessLogEntry.event == "password.changed")) >= 1
    # the new password logs in, the old one no longer does
    fresh = webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "10.0.0.3"})
    assert login(fresh, "pw-user", NEW).status_int == 303
    assert login(fresh, "pw-user", factories.PASSWORD).status_int == 200  # the form again


@pytest.mark.parametrize("fields, message", [
    ({"current": "wrong-Password-1", "new": NEW, "again": NEW}, "現在のパスワードが正しくありません"),
    ({"current": factories.PASSWORD, "new": NEW, "again": NEW + "x"}, "一致しません"),
    ({"current": factories.PASSWORD, "new": factories.PASSWORD, "again": factories.PASSWORD},
     "現在と同じパスワード"),
    ({"current": factories.PASSWORD, "new": "short", "again": "short"}, "12文字以上"),
    ({"current": factories.PASSWORD, "new": "pw-user-Horse-1", "again": "pw-user-Horse-1"},
     "ユーザーIDを含めない"),
])
def test_refusals_say_why_and_change_nothing(testapp, op, dbsession, fields, message):
    before = op.password_hash
    login(testapp, "pw-user")
    res = _change(testapp, status=400, **fields)
    assert message in res.html.select_one("#password-errors").text
    dbsession.expire_all()
    assert dbsession.get(User, op.id).password_hash == before


def test_every_role_has_the_page_and_anonymous_users_go_to_the_login(
        testapp, dbsession, password_context):
    for role in Role:
        factories.user(dbsession, password_context, role, login=f"pw-{role}")
    dbsession.commit()
    assert "/login" in testapp.get("/password", status=303).location
    for role in Role:
        login(testapp, f"pw-{role}")
        assert testapp.get("/password").html.select_one("#password-form") is not None
