"""確認記録票: auditors and supervisors start, save and complete inspection
checklists; a completed one is final; everyone else is refused; invalid
input changes nothing (SQLite and PostgreSQL)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.audit.checklist import ITEMS, Scope
from intranet.models import (
    CheckResult, Contract, InspectionChecklist, InspectionChecklistItem, Organisation,
    OrganisationKind, Role,
)
from tests import factories
from tests.helpers import csrf_token, login

LIST = "/audit/checklists/"


@pytest.fixture
def people(dbsession, password_context):
    """Both kinds of inspector, the roles that may not, and a contractor with a contract."""
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    boss = factories.user(dbsession, password_context, Role.collector, login="boss",
                          is_supervisor=True, display_name="監督 花子")
    factories.user(dbsession, password_context, Role.collector, login="plain")
    factories.user(dbsession, password_context, Role.operator, login="op")
    factories.user(dbsession, password_context, Role.contractor, login="inv")
    org = factories.organisation(dbsession, OrganisationKind.contractor)
    other = Organisation(code="other-co", name="別の委託先", kind=OrganisationKind.contractor)
    dbsession.add(other)
    dbsession.flush()
    contract = Contract(organisation_id=org.id, name="現地調査委託", purpose="居住確認",
                        starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31),
                        manager_name="責任 太郎", handler_names="取扱 一\n取扱 二",
                        created_by=boss.id, created_at=dt.datetime(2026, 4, 1))
    other_contract = Contract(organisation_id=other.id, name="別契約", purpose="p",
                              starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31),
                              manager_name="m", handler_names="h", created_by=boss.id,
                              created_at=dt.datetime(2026, 4, 1))
    dbsession.add_all([contract, other_contract])
    dbsession.commit()
    return {"org": org.id, "other": other.id, "contract": contract.id,
            "other_contract": other_contract.id, "ward": factories.organisation(
                dbsession, OrganisationKind.ward).id}


def start(testapp, org, day="2026-11-20", contract="", status=303):
    return testapp.post(LIST, {"organisation_id": str(org), "inspected_on": day, "contract_id": str(contract),
                               "csrf_token": csrf_token(testapp, LIST)}, status=status)


def the_checklist(dbsession) -> InspectionChecklist:
    dbsession.expire_all()
    return dbsession.scalars(sa.select(InspectionChecklist)).one()


def fill(form, result="met", skip=()):
    for field in form.fields:
        if field.startswith("result-") and field[7:] not in skip:
            form[field] = result


def snapshot(dbsession):
    dbsession.expire_all()
    return ([(c.id, c.place, c.inspectors, c.overall_note, c.completed_at)
             for c in dbsession.scalars(sa.select(InspectionChecklist))],
            [(i.id, i.result, i.note) for i in dbsession.scalars(sa.select(InspectionChecklistItem))])


@pytest.mark.parametrize("who", ["audit", "boss"])
def test_inspectors_start_save_and_complete_a_checklist(testapp, dbsession, people, who):
    login(testapp, who)
    assert "確認記録票" in testapp.get("/").text  # the navigation entry
    page = testapp.get(LIST)
    form = page.forms["checklist-new"]
    form["organisation_id"] = str(people["org"])
    form["inspected_on"] = "2026-11-20"
    form["contract_id"] = str(people["contract"])
    page = form.submit(status=303).follow()
    checklist = the_checklist(dbsession)
    assert checklist.contract_id == people["contract"] and checklist.completed_at is None
    # The factories put operators and investigators in one organisation: both kinds of item.
    assert [row.code for row in checklist.items] == [item.code for item in ITEMS]
    assert "取扱責任者 責任 太郎、取扱者 2名" in page.text

    form = page.forms["checklist-form"]
    form["place"] = "委託先事務所（新宿区西新宿）"
    form["contractor_attendees"] = "責任 太郎"
    fill(form, "met")
    form["result-entry_log"] = "not_applicable"
    form["result-training"] = "not_met"
    form["note-training"] = "受講記録が1名分ない"
    page = form.submit("action", value="save", status=303).follow()
    checklist = the_checklist(dbsession)
    results = {row.code: row.result for row in checklist.items}
    assert results["training"] == CheckResult.not_met and results["entry_log"] == CheckResult.not_applicable
    assert results["locked_storage"] == CheckResult.met
    assert {row.code: row.note for row in checklist.items}["training"] == "受講記録が1名分ない"
    assert checklist.place == "委託先事務所（新宿区西新宿）" and checklist.completed_at is None
    assert page.forms["checklist-form"]["result-training"].value == "not_met"  # the saved draft

    page = page.forms["checklist-form"].submit("action", value="complete", status=303).follow()
    checklist = the_checklist(dbsession)
    assert checklist.completed_at is not None
    assert checklist.completer.login == who
    assert "checklist-form" not in page.forms and "この記録は編集できません" in page.text
    assert page.html.select_one("tr[data-item=training] .result")["data-result"] == "not_met"
    row = testapp.get(LIST).html.select_one(f"tr[data-checklist='{checklist.id}']")
    assert "完了" in row.text and row.select("td")[-1].text == "1"


def test_a_completed_checklist_refuses_every_change(testapp, dbsession, people):
    login(testapp, "audit")
    page = start(testapp, people["org"]).follow()
    form = page.forms["checklist-form"]
    fill(form)
    form.submit("action", value="complete", status=303)
    before = snapshot(dbsession)
    url = page.request.path
    token = csrf_token(testapp, url)
    for action in ("save", "complete"):
        res = testapp.post(url, {"csrf_token": token, "action": action, "place": "changed",
                                 "result-training": "not_met"}, status=400)
        assert "完了済みのため、変更できません" in res.text
    assert snapshot(dbsession) == before


@pytest.mark.parametrize("who", ["plain", "op", "inv"])
def test_other_roles_are_refused_pages_and_posts(testapp, dbsession, people, who):
    login(testapp, "audit")
    url = start(testapp, people["org"]).headers["Location"]
    before = snapshot(dbsession)
    login(testapp, who)
    testapp.get(LIST, status=403)
    testapp.get(url, status=403)
    token = csrf_token(testapp, "/")
    testapp.post(LIST, {"csrf_token": token, "organisation_id": str(people["org"]),
                        "inspected_on": "2026-11-21"}, status=403)
    testapp.post(url, {"csrf_token": token, "action": "save", "place": "x"}, status=403)
    assert "確認記録票" not in testapp.get("/").text
    assert snapshot(dbsession) == before


def test_starting_a_checklist_is_validated(testapp, dbsession, people):
    login(testapp, "boss")
    for org, day, contract, message in [
        (people["ward"], "2026-11-20", "", "委託先を選んでください"),
        (999999, "2026-11-20", "", "委託先を選んでください"),
        ("x", "2026-11-20", "", "委託先を選んでください"),
        (people["org"], "2026-13-01", "", "実施日を YYYY-MM-DD"),
        (people["org"], "20.11.2026", "", "実施日を YYYY-MM-DD"),
        (people["org"], "2026-11-20", people["other_contract"], "選んだ委託先のもの"),
        (people["org"], "2026-11-20", 999999, "選んだ委託先のもの"),
    ]:
        res = start(testapp, org, day, contract, status=400)
        assert message in res.html.select_one(".error").text, (org, day, contract)
    assert snapshot(dbsession) == ([], [])
    start(testapp, people["org"])
    before = snapshot(dbsession)
    res = start(testapp, people["org"], status=400)
    assert "同じ実施日の確認記録票は既にあります" in res.text
    assert snapshot(dbsession) == before
    start(testapp, people["org"], day="2026-11-21")  # another day is another inspection
    testapp.set_cookie("lang", "en")
    res = start(testapp, people["org"], day="2026-11-21", status=400)
    assert "There is already a checklist for this contractor on that date." in res.text


def test_saving_and_completing_are_validated(testapp, dbsession, people):
    login(testapp, "audit")
    url = start(testapp, people["org"]).headers["Location"]
    form = testapp.get(url).forms["checklist-form"]
    fill(form, skip=("training",))
    form["place"] = "事務所"
    form.submit("action", value="save", status=303)
    before = snapshot(dbsession)
    token = csrf_token(testapp, url)
    base = {"csrf_token": token, "action": "save", "place": "changed", "inspectors": "監査 一"}
    for extra, message in [
        ({"result-training": "maybe"}, "「適合」「不適合」「該当なし」から選んで"),
        ({"note-training": "あ" * 401}, "備考は400文字以内"),
        ({"place": "x" * 201}, "総評は2,000文字以内"),
        ({"result-bogus": "met"}, "この確認記録票にない項目"),
        ({"note-99999": "x"}, "この確認記録票にない項目"),
        ({"action": "publish"}, "「保存」または「完了」"),
        ({"action": "complete"}, "結果が選ばれていない項目があります"),
    ]:
        res = testapp.post(url, {**base, **extra}, status=400)
        assert message in res.html.select_one(".error").text, extra
        assert snapshot(dbsession) == before, extra
    # The refused form keeps what was typed.
    res = testapp.post(url, {**base, "action": "complete"}, status=400)
    assert res.forms["checklist-form"]["place"].value == "changed"
    form = res.forms["checklist-form"]
    form["inspectors"] = ""
    form["result-training"] = "met"
    res = form.submit("action", value="complete", status=400)
    assert "確認者を入力してください" in res.text and snapshot(dbsession) == before
    testapp.set_cookie("lang", "en")
    res = testapp.post(url, {**base, "note-training": "a" * 401}, status=400)
    assert "Notes must be at most 400 characters." in res.text


def test_a_planned_inspection_is_completed_only_from_its_date(testapp, dbsession, people, clock):
    login(testapp, "audit")
    page = start(testapp, people["org"], day="2026-12-01").follow()
    form = page.forms["checklist-form"]
    fill(form)
    res = form.submit("action", value="complete", status=400)
    assert "実施日より前に完了することはできません" in res.text
    assert the_checklist(dbsession).completed_at is None
    clock.advance(days=7)
    login(testapp, "audit")
    form = testapp.get(page.request.path).forms["checklist-form"]
    fill(form)
    form.submit("action", value="complete", status=303)
    assert the_checklist(dbsession).completed_at is not None


def test_the_form_shows_the_items_of_the_organisations_work(testapp, dbsession, people, password_context):
    callcenter = Organisation(code="cc", name="コールセンター株式会社", kind=OrganisationKind.contractor)
    dbsession.add(callcenter)
    dbsession.flush()
    from intranet.models import User

    dbsession.add(User(login="cc-op", display_name="オペ", role=Role.operator, organisation_id=callcenter.id,
                       password_hash="!", failed_logins=0, created_at=dt.datetime(2026, 1, 1)))
    dbsession.commit()
    login(testapp, "audit")
    page = start(testapp, callcenter.id).follow()
    shown = [tr["data-item"] for tr in page.html.select("#checklist-items tbody tr")]
    assert shown == [i.code for i in ITEMS if i.scope in (Scope.common, Scope.call_center)]
    assert "entry_log" in shown and "tablet_locked_bag" not in shown
    assert "委託契約の登録がありません" in page.text


def test_a_concurrent_duplicate_is_refused_by_the_database(testapp, dbsession, people, monkeypatch):
    """Two inspectors starting the same checklist at once: the unique
    constraint decides, the second gets the message, not an error page."""
    from intranet.audit import checklist_views

    def create_without_checking(dbsession, *, organisation, inspected_on, contract, user, now):
        row = InspectionChecklist(organisation_id=organisation.id, inspected_on=inspected_on,
                                  created_by=user.id, created_at=now)
        dbsession.add(row)
        dbsession.flush()
        return row

    login(testapp, "audit")
    start(testapp, people["org"])
    before = snapshot(dbsession)
    monkeypatch.setattr(checklist_views, "create", create_without_checking)
    res = start(testapp, people["org"], status=400)
    assert "同じ実施日の確認記録票は既にあります" in res.text
    assert snapshot(dbsession) == before
