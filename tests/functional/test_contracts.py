"""Contracts: the period is the contractor's validity, training before
activation, remote wipe of sessions (SQLite and PostgreSQL)."""
import datetime as dt

import sqlalchemy as sa
import webtest

from intranet.models import Contract, LoginSession, Organisation, OrganisationKind, Role, User
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login

FORM = {"name": "区外転出者現地調査 令和8年度", "purpose": "区外転出者の居住実態調査",
        "manager_name": "調査 責任者", "handler_names": "調査員 一\n調査員 二",
        "protections": "再委託禁止・複写禁止", "training_required": "1",
        "starts_on": "2026-11-01", "ends_on": "2027-01-31"}


def setup(dbsession, password_context, training=False):
    factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    factories.user(dbsession, password_context, Role.collector, login="plain")
    k = factories.user(dbsession, password_context, Role.contractor, login="k1", training=training)
    dbsession.commit()
    return k


def create(testapp, **overrides):
    page = testapp.get("/admin/contracts/")
    org = page.forms["contract-form"]["organisation_id"].options[0][0]
    return testapp.post("/admin/contracts/", {**FORM, "organisation_id": org, **overrides,
                                              "csrf_token": csrf_token(testapp, "/admin/contracts/")},
                        status="*")


def test_only_supervisors_manage_contracts(testapp, dbsession, password_context):
    setup(dbsession, password_context)
    login(testapp, "plain")
    testapp.get("/admin/contracts/", status=403)
    login(testapp, "k1")
    testapp.get("/admin/contracts/", status=403)


def test_contract_period_is_the_contractors_validity_and_training_comes_first(
        testapp, dbsession, password_context, clock):
    k = setup(dbsession, password_context)
    login(testapp, "boss")
    page = create(testapp).follow()
    path = page.request.path.rstrip("/") + "/"
    token = csrf_token(testapp, path)
    # no training date yet: cannot be activated
    res = testapp.post(path + "link", {"csrf_token": token, "user_id": str(k.id), "active": "1"},
                       status=400)
    assert "従事者教育" in res.text
    testapp.post(path + "link", {"csrf_token": token, "user_id": str(k.id), "active": "1",
                                 "trained_on": "2026-10-20"}, status=303)
    dbsession.expire_all()
    user = dbsession.get(User, k.id)
    assert (user.contract_id is not None, user.is_active) == (True, True)
    login(testapp, "k1", status=303)  # inside the period
    # the contract is shortened to yesterday: the user can no longer log in
    login(testapp, "boss")
    testapp.post(path + "period", {"csrf_token": csrf_token(testapp, path),
                                   "starts_on": "2026-11-01", "ends_on": "2026-11-23"}, status=303)
    res = login(testapp, "k1")
    assert res.status_code == 200 and "利用できません" in res.text


def test_revoking_ends_every_session_of_the_user_at_once(testapp, dbsession, password_context, engine):
    k = setup(dbsession, password_context, training=True)
    contract = Contract(organisation_id=k.organisation_id, name="c", purpose="p",
                        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31),
                        manager_name="m", handler_names="h", protections="",
                        training_required=False, created_by=1, created_at=dt.datetime(2026, 11, 1))
    dbsession.add(contract)
    dbsession.flush()
    k.contract_id = contract.id
    dbsession.commit()
    tablet = webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.9.0.1"})
    login(tablet, "k1")
    tablet.get("/", status=200)
    login(testapp, "boss")
    path = f"/admin/contracts/{contract.id}/"
    mark = log_mark(engine)
    testapp.post(path + "revoke", {"csrf_token": csrf_token(testapp, path), "user_id": str(k.id)},
                 status=303)
    assert [e.event for e in entries_since(engine, mark, kind="event")] == ["session.revoked"]
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(LoginSession).where(
        LoginSession.user_id == k.id, LoginSession.ended_at.is_(None))) == 0
    tablet.get("/", status=303)  # its next request goes to the login page


def test_bad_contract_forms_are_rejected(testapp, dbsession, password_context):
    setup(dbsession, password_context)
    login(testapp, "boss")
    for bad in ({"name": ""}, {"starts_on": "2027-02-01"}, {"ends_on": "tomorrow"},
                {"organisation_id": "999999"}, {"purpose": "x" * 2001}):
        res = create(testapp, **bad)
        assert res.status_code == 400 and res.html.select_one(".error li")
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Contract)) == 0
    ward = dbsession.scalars(sa.select(Organisation).where(
        Organisation.kind == OrganisationKind.ward)).first()
    assert create(testapp, organisation_id=str(ward.id)).status_code == 400
