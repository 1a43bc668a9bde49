"""A temporary password (set by a supervisor) must be changed before anything
else (issue 19): every page sends the user to /password, scripts get 403
with the reason, and the flag clears once the password is changed."""
import json

import pyotp
import pytest
import sqlalchemy as sa

from intranet.models import AccessLogEntry, Role, User
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login

TEMP = "Temp-Pass-2026"
NEW = "Mine-Only-Secret-9"


@pytest.fixture
def newcomer(dbsession, password_context):
    user = factories.user(dbsession, password_context, Role.collector, login="newcomer",
                          password=TEMP, is_supervisor=True, must_change_password=True)
    factories.user(dbsession, password_context, Role.collector, login="other-boss", is_supervisor=True)
    dbsession.commit()
    return user


def _change(testapp, status=303, **fields):
    token = csrf_token(testapp, "/password")
    return testapp.post("/password", {"csrf_token": token, **fields}, status=status)


@pytest.mark.parametrize("path", ["/", "/cases/", "/sessions/", "/admin/users/", "/two-factor",
                                  "/audit/", "/calls/handovers/", "/late-charge"])
def test_every_page_goes_to_the_password_page(testapp, newcomer, path):
    assert login(testapp, "newcomer", TEMP).status_int == 303
    res = testapp.get(path, status=303)
    assert res.location.split("?")[0].endswith("/password")
    page = res.follow()
    assert page.html.select_one("#password-forced") is not None
    assert page.html.select_one("#password-form") is not None


def test_forms_and_scripts_are_refused_with_the_reason(testapp, newcomer, dbsession):
    login(testapp, "newcomer", TEMP)
    token = csrf_token(testapp, "/password")
    # a form: to the password page; nothing ends
    res = testapp.post("/sessions/end-others", {"csrf_token": token}, status=303)
    assert res.location.endswith("/password")
    # a script (fetch/XHR): 403 JSON saying why, not a redirect
    other = dbsession.scalar(sa.select(User.id).where(User.login == "other-boss"))
    for headers in ({"Accept": "application/json"}, {"X-Requested-With": "XMLHttpRequest"},
                    {"Sec-Fetch-Mode": "cors"}):
        res = testapp.post(f"/admin/keys/{other}/options", {"csrf_token": token}, headers=headers,
                           status=403)
        assert res.content_type == "application/json"
        assert res.json["reason"] == "must_change_password"
        assert "仮パスワード" in res.json["error"]
    # logout, static files and the login page still work
    testapp.get("/static/app.css" if _static_exists(testapp) else "/login", status=200)
    testapp.post("/logout", {"csrf_token": token}, status=303)
    assert "/login" in testapp.get("/", status=303).location


def _static_exists(testapp) -> bool:
    return testapp.get("/static/app.css", expect_errors=True).status_int == 200


def test_the_change_clears_the_flag_and_goes_on(testapp, newcomer, dbsession, engine):
    start = log_mark(engine)
    login(testapp, "newcomer", TEMP)
    res = testapp.get("/cases/", status=303)
    page = res.follow()
    assert page.html.select_one("#password-form input[name=next]")["value"] == "/cases/"
    mark = log_mark(engine)
    # the temporary password again: refused, nothing changes
    refused = _change(testapp, 400, current=TEMP, new=TEMP, again=TEMP, next="/cases/")
    assert "現在と同じパスワード" in refused.html.select_one("#password-errors").text
    assert _change(testapp, 400, current="Wrong-Pass-2026", new=NEW, again=NEW).status_int == 400
    dbsession.expire_all()
    assert dbsession.get(User, newcomer.id).must_change_password
    done = _change(testapp, current=TEMP, new=NEW, again=NEW, next="/cases/")
    assert done.location.endswith("/cases/")
    testapp.get("/cases/", status=200)
    testapp.get("/", status=200)
    dbsession.expire_all()
    assert not dbsession.get(User, newcomer.id).must_change_password
    events = entries_since(engine, mark, kind="event")
    changed = [e for e in events if e.event == "password.changed"]
    assert len(changed) == 1 and json.loads(changed[0].detail)["temporary_replaced"] is True
    assert not any(TEMP in (e.detail or "") or NEW in (e.detail or "") for e in events)
    # the request entries of the redirected pages say why
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(AccessLogEntry).where(
        AccessLogEntry.seq > start, AccessLogEntry.path == "/cases/",
        AccessLogEntry.detail.contains("must_change_password"))) == 1


def test_after_the_second_factor(testapp, dbsession, password_context, clock):
    secret = pyotp.random_base32()
    factories.user(dbsession, password_context, Role.collector, login="two-step", password=TEMP,
                   must_change_password=True, totp_secret=secret)
    dbsession.commit()
    res = login(testapp, "two-step", TEMP)
    assert "/second-factor" in res.location
    form = testapp.get(res.location).forms["second-factor-form"]
    form["code"] = pyotp.TOTP(secret).at(clock.now().replace(tzinfo=__import__("datetime").UTC))
    done = form.submit(status=303)
    assert testapp.get(done.location, status=303).location.split("?")[0].endswith("/password")


def test_users_without_the_flag_are_not_affected(testapp, dbsession, password_context):
    factories.user(dbsession, password_context, Role.operator, login="plain")
    dbsession.commit()
    login(testapp, "plain")
    testapp.get("/", status=200)
    assert testapp.get("/password").html.select_one("#password-forced") is None
