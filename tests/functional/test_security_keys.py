"""Security keys (WebAuthn): a supervisor registers one for an operator in
person; operators (required by default) log in with password then key; lost
keys are revoked; forged, replayed and foreign assertions are refused."""
import datetime as dt
import json

import pytest
import webtest

import intranet
from intranet.models import SecurityKey, Role, User
from tests import factories
from tests.conftest import FrozenClock
from tests.helpers import entries_since, log_mark, login
from tests.webauthn_device import SoftKey


@pytest.fixture
def app(app_settings, wsgi_app):
    """The same database with the default policy: operators and investigators
    must use a security key."""
    settings = {k: v for k, v in app_settings.items() if k != "intranet.mfa.required_roles"}
    application = intranet.main({}, **settings)
    application.registry.clock = FrozenClock(dt.datetime(2026, 11, 24, 0, 30))
    yield application
    application.registry["db_engine"].dispose()


def browser(app):
    return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})


@pytest.fixture
def people(dbsession, password_context):
    factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    factories.user(dbsession, password_context, Role.collector, login="staff")
    op = factories.user(dbsession, password_context, Role.operator, login="op1")
    dbsession.commit()
    return {"op": op.id}


def token(client, path="/"):
    return client.get(path).html.find("input", {"name": "csrf_token"})["value"]


def register(app, user_id, key, label="KEY-001", supervisor="boss"):
    client = browser(app)
    login(client, supervisor)
    page = f"/admin/keys/{user_id}"
    csrf = token(client, page)
    options = json.loads(client.post(f"{page}/options", {"csrf_token": csrf}).json["options"])
    return client.post(f"{page}/register", {"csrf_token": csrf, "label": label,
                                            "credential": key.create(options)}, status="*")


def key_login(client, key, status=200, **kw):
    csrf = token(client, "/second-factor")
    options = json.loads(client.post("/second-factor-options", {"csrf_token": csrf}).json["options"])
    return client.post("/second-factor-key", {"csrf_token": csrf, "next": "/calls/",
                                              "credential": key.get(options, **kw)}, status=status)


def test_operators_need_a_key_and_log_in_with_it(app, dbsession, engine, people):
    op = browser(app)
    assert "第二要素" in login(op, "op1", status=200).text  # no key yet: refused
    key = SoftKey()
    mark = log_mark(engine)
    res = register(app, people["op"], key)
    assert res.status_int == 200 and res.json["redirect"] == f"/admin/keys/{people['op']}/"
    stored = dbsession.query(SecurityKey).one()
    assert stored.label == "KEY-001" and stored.user_id == people["op"]
    assert "security_key.registered" in [e.event for e in entries_since(engine, mark, kind="event")]

    res = login(op, "op1")
    assert "/second-factor" in res.location
    assert "/login" in op.get("/calls/", status=303).location      # password alone: nothing
    page = op.get("/second-factor")
    assert page.html.select_one("#security-key-form") and not page.html.select_one("#second-factor-form")
    done = key_login(op, key)
    assert done.json == {"redirect": "/calls/"}
    op.get("/calls/", status=200)
    dbsession.refresh(stored)
    assert stored.sign_count == 1 and stored.last_used_at is not None


def test_a_revoked_key_no_longer_opens_the_door(app, dbsession, people):
    key = SoftKey()
    register(app, people["op"], key)
    boss = browser(app)
    login(boss, "boss")
    page = boss.get(f"/admin/keys/{people['op']}")
    form = next(f for f in page.forms.values() if f.action.endswith("/revoke"))
    form.submit(status=303)
    assert dbsession.query(SecurityKey).one().revoked_at is not None
    op = browser(app)
    assert "第二要素" in login(op, "op1", status=200).text  # its only key is gone


def test_forged_replayed_and_foreign_assertions_are_refused(app, dbsession, people):
    key = SoftKey()
    register(app, people["op"], key)
    op = browser(app)
    login(op, "op1")
    other = SoftKey()
    other.credential_id = key.credential_id        # same id, another private key
    assert "error" in key_login(op, other).json
    assert "error" in key_login(op, key, rp_id="evil.example").json
    phishing = SoftKey(origin="https://evil.example")
    phishing.private_key, phishing.credential_id = key.private_key, key.credential_id
    assert "error" in key_login(op, phishing).json
    # A challenge is used once: replaying a good assertion fails.
    csrf = token(op, "/second-factor")
    options = json.loads(op.post("/second-factor-options", {"csrf_token": csrf}).json["options"])
    assertion = key.get(options)
    assert op.post("/second-factor-key", {"csrf_token": csrf, "credential": assertion}).json["redirect"]
    assert dbsession.query(User).filter_by(login="op1").one().failed_logins == 0
    login(op, "op1")
    csrf = token(op, "/second-factor")
    assert "error" in op.post("/second-factor-key", {"csrf_token": csrf, "credential": assertion}).json


def test_wrong_keys_count_towards_the_lockout(app, dbsession, people):
    key = SoftKey()
    register(app, people["op"], key)
    op = browser(app)
    login(op, "op1")
    for _ in range(4):
        assert "error" in key_login(op, SoftKey()).json
    assert "locked=1" in key_login(op, SoftKey()).json["redirect"]
    assert dbsession.query(User).filter_by(login="op1").one().locked_until is not None


def test_only_supervisors_register_or_revoke(app, people):
    staff = browser(app)
    login(staff, "staff")
    staff.get(f"/admin/keys/{people['op']}", status=403)
    staff.post(f"/admin/keys/{people['op']}/options", {"csrf_token": token(staff)}, status=403)
    res = register(app, people["op"], SoftKey(), label="")
    assert res.status_int == 400 and "キー番号" in res.json["error"]
    res = register(app, people["op"], SoftKey(), label="x" * 61)
    assert res.status_int == 400


def test_a_key_cannot_be_registered_twice(app, dbsession, people):
    key = SoftKey()
    register(app, people["op"], key)
    again = register(app, people["op"], key, label="KEY-002")
    assert again.status_int == 400
    assert dbsession.query(SecurityKey).count() == 1
