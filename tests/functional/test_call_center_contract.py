"""The call center under its contract (issue 25): a supervisor records a
call-center contract and names the operators; an operator not named, before
the period or after its end cannot log in (and is told why); the end of the
contract disables the operators; the contract shows in the checklist and the
inspection package (SQLite and PostgreSQL)."""
import csv
import datetime as dt
import io
import zipfile

import sqlalchemy as sa

from intranet.audit.checklist import Scope, organisation_scopes
from intranet.contracts.rules import ContractSettings, Enforce
from intranet.models import (
    BatchStatus, Contract, ContractKind, LetterBatch, LoginSession, Organisation, OrganisationKind, Role, User,
)
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login, swapped_settings, typed_settings

FORM = {"kind": "call_center", "name": "納税コールセンター業務委託 令和8年度",
        "purpose": "初期滞納者に対する納付案内", "manager_name": "コール 責任者",
        "handler_names": "オペ 一\nオペ 二", "protections": "再委託禁止", "training_required": "1",
        "starts_on": "2026-11-01", "ends_on": "2027-03-31"}
PDF = b"%PDF-1.4 certificate"


def setup(dbsession, password_context):
    org = factories.organisation(dbsession, OrganisationKind.contractor)
    factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    op1 = factories.user(dbsession, password_context, Role.operator, login="op1", organisation=org)
    op2 = factories.user(dbsession, password_context, Role.operator, login="op2", organisation=org)
    inv = factories.user(dbsession, password_context, Role.contractor, login="inv", organisation=org)
    dbsession.commit()
    return {"org": org.id, "op1": op1.id, "op2": op2.id, "inv": inv.id}


def create(testapp, org_id, **overrides):
    return testapp.post("/admin/contracts/", {**FORM, "organisation_id": str(org_id), **overrides,
                                              "csrf_token": csrf_token(testapp, "/admin/contracts/")},
                        status="*")


def link(testapp, path, user_id, active="1", status=303):
    return testapp.post(path + "link", {"csrf_token": csrf_token(testapp, path), "user_id": str(user_id),
                                        "active": active}, status=status)


def refused(testapp, who, text):
    res = login(testapp, who)
    assert res.status_code == 200 and text in res.text, res.text[:200]
    assert "login-form" in res.text


def test_supervisor_records_a_call_center_contract_and_names_the_operators(
        testapp, dbsession, password_context, engine):
    ids = setup(dbsession, password_context)
    # before any contract: the call center works as before (default setting)
    login(testapp, "op1", status=303)
    testapp.get("/logout", status="*")
    login(testapp, "boss")
    mark = log_mark(engine)
    page = create(testapp, ids["org"])
    assert page.status_code == 303
    contract = dbsession.scalars(sa.select(Contract)).one()
    assert contract.kind == ContractKind.call_center
    created = [e for e in entries_since(engine, mark, kind="event") if e.event == "contract.created"]
    assert len(created) == 1 and '"kind": "call_center"' in created[0].detail
    path = f"/admin/contracts/{contract.id}/"
    detail = testapp.get(path)
    assert "納税コールセンター" in detail.html.select_one("#contract-kind").text
    # the list names both kinds; the candidates are the organisation's operators only
    options = [o[0] for o in detail.forms["link-form"]["user_id"].options]
    assert str(ids["op1"]) in options and str(ids["inv"]) not in options
    listing = testapp.get("/admin/contracts/")
    assert listing.html.select_one('#contracts tr[data-kind="call_center"]') is not None
    # an investigator cannot be a handler of a call-center contract
    res = link(testapp, path, ids["inv"], status=400)
    assert "オペレータ" in res.text
    assert dbsession.get(User, ids["inv"]).contract_id is None
    link(testapp, path, ids["op1"])
    dbsession.expire_all()
    op1 = dbsession.get(User, ids["op1"])
    assert (op1.contract_id, op1.is_active) == (contract.id, True)
    assert op1.valid_until == contract.window()[1]
    # the contract names its 個人情報取扱責任者 (情報保護対策1): until one handler
    # carries the leader flag, the page says who files incidents and plans
    assert testapp.get(path).html.select_one("#no-leader") is not None
    op1.is_team_leader = True
    dbsession.commit()
    page = testapp.get(path)
    assert page.html.select_one("#no-leader") is None
    assert page.html.select_one('#contract-users tr[data-user="op1"] [data-leader]') is not None

    # named: logs in; not named (its organisation has a contract now): refused, told why
    login(testapp, "op1", status=303)
    mark = log_mark(engine)
    refused(testapp, "op2", "取扱者として登録されていない")
    failures = [e for e in entries_since(engine, mark, kind="event") if e.event == "login.failure"]
    assert '"reason": "contract_not_named"' in failures[-1].detail


def test_operators_outside_the_period_or_after_the_end_cannot_log_in(
        testapp, dbsession, password_context, clock):
    ids = setup(dbsession, password_context)
    login(testapp, "boss")
    create(testapp, ids["org"], starts_on="2026-12-01")
    contract = dbsession.scalars(sa.select(Contract)).one()
    path = f"/admin/contracts/{contract.id}/"
    link(testapp, path, ids["op1"])
    refused(testapp, "op1", "契約の期間前")  # the period starts next week
    login(testapp, "boss")
    testapp.post(path + "period", {"csrf_token": csrf_token(testapp, path),
                                   "starts_on": "2026-11-01", "ends_on": "2026-11-30"}, status=303)
    login(testapp, "op1", status=303)
    clock.advance(days=7)  # 2026-12-01 09:30 JST: the day after the end date
    refused(testapp, "op1", "期間が終了")


def test_the_end_of_the_contract_disables_the_operators_and_records_what_came_back(
        testapp, dbsession, password_context):
    ids = setup(dbsession, password_context)
    login(testapp, "boss")
    create(testapp, ids["org"])
    contract = dbsession.scalars(sa.select(Contract)).one()
    path = f"/admin/contracts/{contract.id}/"
    link(testapp, path, ids["op1"])
    op_app = factories_app(testapp)
    login(op_app, "op1", status=303)
    # letters the operators printed and never sealed for mailing: to be returned
    dbsession.add_all([LetterBatch(created_by=ids["op1"], created_at=dt.datetime(2026, 11, 20), letters=n,
                                   deadline=dt.date(2026, 12, 10), status=status, pdf=b"%PDF-1.4")
                       for n, status in ((12, BatchStatus.printed), (5, BatchStatus.sealed))])
    dbsession.commit()
    page = testapp.get(path)
    assert "未発送の催告書" in page.text  # the call center's end-of-contract wording
    assert "1件（12通）" in page.html.select_one("#unsealed-letters").text
    form = page.forms["erase-form"]
    form["erased_on"] = "2026-11-24"
    form["method"] = "立会のうえ返還・上書き消去"
    form["witness_name"] = "立会 職員"
    form["items"] = "未発送の催告書 12通、架電リスト 1部"
    form["records_erased"] = "0"
    form["devices"] = "オペレータ用PC 4台"
    form["certificate"] = ("cert.pdf", PDF, "application/pdf")
    form.submit(status=303)
    dbsession.expire_all()
    op1 = dbsession.get(User, ids["op1"])
    assert op1.is_active is False
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(LoginSession).where(
        LoginSession.user_id == op1.id, LoginSession.ended_at.is_(None))) == 0
    op_app.get("/", status=303)  # its session ended
    refused(testapp, "op1", "期間が終了")


def factories_app(testapp):
    import webtest
    return webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.0.0.2"})


def test_the_ward_may_require_a_contract_for_every_operator(
        testapp, dbsession, password_context, wsgi_app):
    setup(dbsession, password_context)
    login(testapp, "op1", status=303)  # no contract anywhere: default lets them work
    with swapped_settings(wsgi_app, "contracts", enforce=Enforce.always):
        refused(testapp, "op1", "取扱者として登録されていない")


def test_a_bad_setting_stops_the_application():
    import pytest

    from intranet.config import SettingsError
    with pytest.raises(SettingsError, match="intranet.contracts.enforce"):
        typed_settings(**{"intranet.contracts.enforce": "sometimes"})
    assert typed_settings().contracts == ContractSettings(Enforce.organisation)


def test_bad_kind_is_refused_and_nothing_stored(testapp, dbsession, password_context):
    ids = setup(dbsession, password_context)
    login(testapp, "boss")
    res = create(testapp, ids["org"], kind="bank")
    assert res.status_code == 400 and "業務の種別" in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Contract)) == 0


def test_checklist_and_package_know_the_call_center_contract(testapp, dbsession, password_context):
    ids = setup(dbsession, password_context)
    # an organisation with only a call-center contract is the call center
    only = Organisation(code="cc-only", name="コール株式会社", kind=OrganisationKind.contractor)
    dbsession.add(only)
    dbsession.flush()
    dbsession.add(Contract(organisation_id=only.id, kind=ContractKind.call_center, name="架電",
                           purpose="p", starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31),
                           manager_name="m", handler_names="h", protections="", training_required=True,
                           created_by=1, created_at=dt.datetime(2026, 4, 1)))
    dbsession.commit()
    assert organisation_scopes(dbsession, only.id) == frozenset({Scope.call_center})
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    dbsession.commit()
    login(testapp, "audit")
    res = testapp.get("/audit/exports", {"organisation": "cc-only", "download": "1",
                                         "date_from": "2026-10-01", "date_to": "2026-10-31"})
    archive = zipfile.ZipFile(io.BytesIO(res.body))
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open("contracts.csv"), encoding="utf-8-sig")))
    assert [(r["契約名"], r["業務の種別"]) for r in rows] == [("架電", "納税コールセンター")]
    assert ids  # the other organisation's data is not in this package
    assert all(r["契約名"] != FORM["name"] for r in rows)
