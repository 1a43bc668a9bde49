"""Incident reports (事故報告, issue 25; seed 000 特記事項11, seed 004 特記事項19:
「速やかに甲に対して通知するとともに、その状況について書面をもって報告し、甲の指示に従う」).

A contractor's 責任者 (the team-leader flag, matrix.TEAM_LEADER_ROLES) files a
report naming cases of their own scope only; a ward supervisor acknowledges
it with instructions and closes it; every step is dated, attributed and
logged without text; open reports show on the supervisors' home page; the
monthly log review, the inspection checklist and the inspection package
carry them. SQLite and PostgreSQL."""
import csv
import datetime as dt
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from intranet.documents.service import issue_letters
from intranet.models import (
    CallRecord, Case, Contract, Incident, IncidentCase, IncidentMedium, IncidentState, Medium, MediumState,
    Organisation, OrganisationKind, Role, SurveyBatch, SurveyTarget, SurveyTargetState, BatchState, User,
)
from tests import factories
from tests.helpers import FORMULAS, csrf_token, entries_since, log_mark, login

NEW = "/incidents/new"
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def world(dbsession, password_context, wsgi_app, clock):
    """A call center (a leader, a plain operator) with one case in an active
    campaign and a call record on it; a case outside any campaign; a survey
    servicer (a leader with an assigned target and a lent medium); a
    second call center with its own leader; the ward (a supervisor, a
    plain collector) and an auditor."""
    boss = factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True,
                          display_name="監督 花子")
    factories.user(dbsession, password_context, Role.collector, login="clerk")
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    cc = Organisation(code="cc", name="コールセンター社", kind=OrganisationKind.contractor)
    rival = Organisation(code="cc-rival", name="他社コールセンター", kind=OrganisationKind.contractor)
    servicer = Organisation(code="svc", name="調査会社", kind=OrganisationKind.contractor)
    dbsession.add_all([cc, rival, servicer])
    dbsession.flush()
    lead = factories.user(dbsession, password_context, Role.operator, login="lead", is_team_leader=True,
                          organisation=cc, display_name="丁 責任者")
    op = factories.user(dbsession, password_context, Role.operator, login="op", organisation=cc)
    factories.user(dbsession, password_context, Role.operator, login="rival-lead", is_team_leader=True,
                   organisation=rival)
    inside = factories.owed_case(dbsession, name="架電 一郎")
    outside = factories.owed_case(dbsession, name="対象外 二郎")
    moved = factories.owed_case(dbsession, name="転出 三郎", phone=None)
    factories.campaign(dbsession, [inside])
    call = CallRecord(case_id=inside.id, called_at=dt.datetime(2026, 11, 23, 1, 15), operator_id=op.id,
                      phone_number="03-5555-0001", result="wrong_number", note="")
    dbsession.add(call)
    contract = Contract(organisation_id=servicer.id, name="現地調査", purpose="居住確認",
                        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31), manager_name="調査 責任者",
                        handler_names="k-lead", protections="", training_required=False, created_by=boss.id,
                        created_at=dt.datetime(2026, 11, 1))
    dbsession.add(contract)
    dbsession.flush()
    k_lead = factories.user(dbsession, password_context, Role.contractor, login="k-lead", is_team_leader=True,
                            organisation=servicer, contract_id=contract.id)
    batch = SurveyBatch(contract_id=contract.id, name="11月", deadline=dt.date(2026, 12, 25),
                        state=BatchState.open, created_by=boss.id, created_at=dt.datetime(2026, 11, 2))
    dbsession.add(batch)
    dbsession.flush()
    dbsession.add(SurveyTarget(batch_id=batch.id, case_id=moved.id, area="大阪府", investigator_id=k_lead.id,
                               state=SurveyTargetState.pending))
    usb = Medium(label="USB-7", description="", state=MediumState.lent, contract_id=contract.id)
    other_usb = Medium(label="USB-8", description="", state=MediumState.registered)
    dbsession.add_all([usb, other_usb])
    dbsession.commit()
    return {"inside": inside.case_no, "outside": outside.case_no, "moved": moved.case_no, "call": call.id,
            "cc": cc.id, "servicer": servicer.id, "usb": usb.id, "other_usb": other_usb.id,
            "inside_id": inside.id, "op": op.id, "lead": lead.id}


def _file(testapp, status=303, **fields):
    form = {"csrf_token": csrf_token(testapp, NEW), "kind": "wrong_person",
            "occurred_at": "2026-11-23T10:15", "discovered_at": "2026-11-23T11:00",
            "description": "別人に納付案内をした", "first_actions": "架電を中止し責任者に報告", **fields}
    return testapp.post(NEW, form, status=status)


def _incidents(dbsession):
    dbsession.expire_all()
    return list(dbsession.scalars(sa.select(Incident).order_by(Incident.id)))


def _count(dbsession, model):
    return dbsession.scalar(sa.select(sa.func.count()).select_from(model))


def _events(engine, mark, prefix="incident."):
    return [(e.event, e.outcome, json.loads(e.detail) if e.detail else {})
            for e in entries_since(engine, mark, kind="event") if (e.event or "").startswith(prefix)]


def test_a_leader_files_a_report_on_cases_of_their_scope(testapp, world, dbsession, engine):
    mark = log_mark(engine)
    login(testapp, "lead")
    assert "事故報告" in testapp.get("/").text   # the navigation entry
    res = _file(testapp, case_no=world["inside"]).follow()
    [incident] = _incidents(dbsession)
    assert (incident.state, incident.kind, incident.organisation_id, incident.filed_by) == (
        IncidentState.filed, "wrong_person", world["cc"], world["lead"])
    assert incident.occurred_at == dt.datetime(2026, 11, 23, 1, 15)    # JST 10:15 stored as UTC
    assert incident.filed_at == dt.datetime(2026, 11, 24, 0, 30)
    assert [c.case_id for c in incident.cases] == [world["inside_id"]]
    # The page names the case by number, linked (the leader may open it), and logs it as disclosed.
    link = res.html.select_one(f"#incident-cases a[data-case='{world['inside']}']")
    assert link is not None and link["href"] == f"/cases/{world['inside']}"
    page_entry = entries_since(engine, mark, kind="request")[-1]
    assert [c.case_no for c in page_entry.cases] == [world["inside"]]
    [(name, outcome, detail)] = _events(engine, mark)
    assert (name, outcome) == ("incident.filed", "success")
    assert detail == {"incident": incident.id, "kind": "wrong_person", "cases": 1, "media": 0}
    assert "別人" not in json.dumps(detail, ensure_ascii=False)   # ids and counts, no text
    # A case the leader's scope no longer reaches is counted, not named; the ward sees it.
    dbsession.add(IncidentCase(incident_id=incident.id, case_id=dbsession.scalar(
        sa.select(Case.id).where(Case.case_no == world["outside"]))))
    dbsession.commit()
    page = testapp.get(f"/incidents/{incident.id}/")
    assert world["outside"] not in page.text and "ほか1件は閲覧できる範囲外" in page.text
    login(testapp, "boss")
    page = testapp.get(f"/incidents/{incident.id}/")
    assert [a["data-case"] for a in page.html.select("#incident-cases a")] == sorted(
        [world["inside"], world["outside"]], key=[world["inside"], world["outside"]].index)
    login(testapp, "lead")
    # Their own organisation's list shows it; another call center's leader sees neither.
    assert testapp.get("/incidents/").html.select_one(f"tr[data-incident='{incident.id}']") is not None
    login(testapp, "rival-lead")
    assert testapp.get("/incidents/").html.select_one(f"tr[data-incident='{incident.id}']") is None
    testapp.get(f"/incidents/{incident.id}/", status=403)
    testapp.get("/incidents/999999/", status=403)   # a missing id reads like another's


def test_a_case_outside_the_leaders_scope_is_refused_and_nothing_stored(testapp, world, dbsession, engine):
    login(testapp, "lead")
    mark = log_mark(engine)
    for fields in ({"case_no": [world["inside"], world["outside"]]},   # one of two out of scope
                   {"more_cases": f"{world['outside']}"},              # typed
                   {"more_cases": "2026-999999"},                      # missing: refused alike
                   {"more_cases": "田中 太郎"}):                         # free text is no case
        res = _file(testapp, status=400, **fields)
        assert "担当範囲にないため選べません" in res.text
    assert _count(dbsession, Incident) == 0 and _count(dbsession, IncidentCase) == 0
    refused = _events(engine, mark)
    assert len(refused) == 4 and all(n == "incident.refused" and o == "failure" for n, o, _ in refused)
    assert refused[0][2]["reasons"] == ["incident.error.case_scope"]
    # Other validation: English too, nothing stored.
    testapp.set_cookie("lang", "en")
    res = _file(testapp, status=400, kind="bogus", occurred_at="2026-11-25T10:00", description="")
    assert "Choose the kind of incident." in res.text and "Describe what happened" in res.text
    res = _file(testapp, status=400, occurred_at="2026-11-23T12:00")   # after its discovery
    assert "cannot occur after it was discovered" in res.text
    res = _file(testapp, status=400, medium_id=str(world["other_usb"]))   # not the leader's contract's
    assert "Choose media of your own contract only." in res.text
    assert _count(dbsession, Incident) == 0


def test_only_leaders_file_reports(testapp, world):
    """An operator without the flag, a collector and an auditor cannot file (403)."""
    for who in ("op", "clerk", "audit", "boss"):
        login(testapp, who)
        testapp.get(NEW, status=403)
        token = csrf_token(testapp, "/")
        testapp.post(NEW, {"csrf_token": token, "kind": "other"}, status=403)
    login(testapp, "op")
    testapp.get("/incidents/", status=403)
    login(testapp, "clerk")
    testapp.get("/incidents/", status=403)


def test_a_survey_leader_reports_a_lost_medium_and_a_target_of_theirs(testapp, world, dbsession):
    """The survey servicer's 取扱責任者 carries the same flag: their own targets
    are offered (case numbers only), their contract's media too."""
    login(testapp, "k-lead")
    form = testapp.get(NEW).html
    assert [i["value"] for i in form.select("input[name=case_no]")] == [world["moved"]]
    assert [i["value"] for i in form.select("input[name=medium_id]")] == [str(world["usb"])]
    assert "転出 三郎" not in str(form)
    _file(testapp, kind="medium", case_no=world["moved"], medium_id=str(world["usb"]))
    [incident] = _incidents(dbsession)
    assert incident.organisation_id == world["servicer"] and incident.contract_id is not None
    assert [m.medium_id for m in incident.media] == [world["usb"]]
    page = testapp.get(f"/incidents/{incident.id}/")
    # Investigators never open case pages: the number is shown, not linked.
    assert page.html.select_one(f"#incident-cases span[data-case='{world['moved']}']") is not None
    assert page.html.select_one("#incident-cases a") is None
    _file(testapp, status=400, case_no=world["inside"])   # the call center's case: not theirs
    assert _count(dbsession, IncidentMedium) == 1


def test_the_supervisor_acknowledges_and_closes_and_wrong_steps_are_refused(testapp, world, dbsession, engine):
    login(testapp, "lead")
    _file(testapp, case_no=world["inside"])
    [incident] = _incidents(dbsession)
    path = f"/incidents/{incident.id}/"
    for who in ("lead", "audit", "clerk"):   # leaders, auditors and plain collectors may not
        login(testapp, who)
        token = csrf_token(testapp, "/")
        testapp.post(path + "acknowledge", {"csrf_token": token, "instructions": "x"}, status=403)
    login(testapp, "boss")
    mark = log_mark(engine)
    home = testapp.get("/")
    assert home.html.select_one(f"#open-incidents li[data-incident='{incident.id}']") is not None
    assert "未完了の事故報告が1件あります" in home.text
    token = csrf_token(testapp, path)
    res = testapp.post(path + "close", {"csrf_token": token, "closing_note": "x"}, status=400)
    assert "完了にできるのは受理・指示済の事故報告だけです" in res.text
    testapp.post(path + "acknowledge", {"csrf_token": token, "instructions": ""}, status=400)
    assert _incidents(dbsession)[0].state == IncidentState.filed
    testapp.post(path + "acknowledge", {"csrf_token": token, "instructions": "対象者へ謝罪し経緯を書面で提出"},
                 status=303)
    testapp.post(path + "acknowledge", {"csrf_token": token, "instructions": "again"}, status=400)
    testapp.post(path + "close", {"csrf_token": token, "closing_note": "書面を受領、再発防止策を確認"}, status=303)
    res = testapp.post(path + "acknowledge", {"csrf_token": token, "instructions": "late"}, status=400)
    assert "受理できるのは報告済（受理待ち）の事故報告だけです" in res.text
    [incident] = _incidents(dbsession)
    assert incident.state == IncidentState.closed
    assert incident.acknowledger.login == "boss" and incident.closer.login == "boss"
    assert incident.instructions == "対象者へ謝罪し経緯を書面で提出"
    assert incident.acknowledged_at == incident.closed_at == dt.datetime(2026, 11, 24, 0, 30)
    events = _events(engine, mark)
    assert [(n, d.get("step"), d.get("state")) for n, _, d in events] == [
        ("incident.refused", "close", "filed"), ("incident.refused", "acknowledge", "filed"),
        ("incident.acknowledged", None, "acknowledged"), ("incident.refused", "acknowledge", "acknowledged"),
        ("incident.closed", None, "closed"), ("incident.refused", "acknowledge", "closed")]
    assert not any("謝罪" in json.dumps(d, ensure_ascii=False) for _, _, d in events)
    assert testapp.get("/").html.select_one("#open-incidents") is None   # none open any more
    # The leader reads the ward's instructions on their report.
    login(testapp, "lead")
    assert "対象者へ謝罪し経緯を書面で提出" in testapp.get(path).text


def test_a_leader_sees_their_own_organisations_open_reports_on_the_home_page(testapp, world, dbsession):
    """The leader follows the ward's instructions (特記事項11 「甲の指示に従う」):
    their organisation's open reports are on their home page until closed;
    another organisation's leader and a plain operator see none of them."""
    login(testapp, "lead")
    _file(testapp, case_no=world["inside"])
    [incident] = _incidents(dbsession)
    home = testapp.get("/")
    assert home.html.select_one(f"#open-incidents li[data-incident='{incident.id}']") is not None
    assert "自社の未完了の事故報告" in home.text
    assert "コールセンター社" not in home.html.select_one("#open-incidents").text
    for other in ("rival-lead", "op"):
        login(testapp, other)
        assert testapp.get("/").html.select_one("#open-incidents") is None
    incident.state = IncidentState.closed
    dbsession.commit()
    login(testapp, "lead")
    assert testapp.get("/").html.select_one("#open-incidents") is None


def test_a_report_straight_from_a_call_record_and_a_letter(testapp, world, dbsession, wsgi_app, clock):
    login(testapp, "op")   # operators without the flag see no link
    assert "incident-link" not in testapp.get(f"/cases/{world['inside']}/").text
    login(testapp, "lead")
    case_page = testapp.get(f"/cases/{world['inside']}/")
    link = case_page.html.select_one("a.incident-link")
    assert link["href"] == f"/incidents/new?call={world['call']}"
    form = testapp.get(link["href"]).forms["incident-form"]
    assert form["kind"].value == "wrong_person"
    assert form["occurred_at"].value == "2026-11-23T10:15"
    assert [i["value"] for i in form.html.select("input[name=case_no][checked]")] == [world["inside"]]
    form["discovered_at"] = "2026-11-23T11:00"
    form["description"] = "別人に案内"
    form["first_actions"] = "中止"
    form.submit(status=303)
    [incident] = _incidents(dbsession)
    assert [c.case_id for c in incident.cases] == [world["inside_id"]]
    # A letter printed for the case: the batch page links its documents.
    operator = dbsession.get(User, world["op"])
    batch = issue_letters(dbsession, [dbsession.get(Case, world["inside_id"])], dt.date(2026, 12, 8),
                          operator, clock.now(), clock.today(), wsgi_app.registry.app_settings)
    dbsession.commit()
    page = testapp.get(f"/letters/{batch.id}/")
    href = page.html.select_one("a.incident-link")["href"]
    form = testapp.get(href).forms["incident-form"]
    assert form["kind"].value == "missent_letter"
    assert [i["value"] for i in form.html.select("input[name=case_no][checked]")] == [world["inside"]]
    # A record of a case out of the user's scope prefills nothing.
    other = CallRecord(case_id=dbsession.scalar(sa.select(Case.id).where(
        Case.case_no == world["outside"])), called_at=dt.datetime(2026, 11, 23, 1), result="x")
    dbsession.add(other)
    dbsession.commit()
    page = testapp.get(f"{NEW}?call={other.id}")
    assert world["outside"] not in page.text and page.forms["incident-form"]["kind"].value == ""


def test_hostile_text_is_escaped_on_pages_and_guarded_in_the_package(testapp, world, dbsession, tmp_path):
    login(testapp, "lead")
    _file(testapp, case_no=world["inside"], description=f"{HOSTILE}\n{FORMULAS[0]}",
          first_actions=FORMULAS[1])
    [incident] = _incidents(dbsession)
    login(testapp, "boss")
    path = f"/incidents/{incident.id}/"
    testapp.post(path + "acknowledge", {"csrf_token": csrf_token(testapp, path), "instructions": FORMULAS[2]},
                 status=303)
    page = testapp.get(path)
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
    assert page.html.select_one("#incident-description").text.startswith(HOSTILE)
    login(testapp, "audit")
    res = testapp.get("/audit/exports", {"organisation": "cc", "download": "1",
                                         "date_from": "2026-11-01", "date_to": "2026-11-30"})
    archive = zipfile.ZipFile(io.BytesIO(res.body))
    raw = archive.read("incidents.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(raw)))
    [row] = rows
    assert row["番号"] == str(incident.id) and row["種別"] == "誤架電・本人以外への案内"
    assert row["状態"] == "受理・指示済" and row["報告者"] == "lead" and row["受理者"] == "boss"
    assert row["対象案件"] == world["inside"]
    assert row["初動対応"] == "'" + FORMULAS[1] and row["区の指示"] == "'" + FORMULAS[2]
    assert row["事故の状況"] == f"{HOSTILE}\n{FORMULAS[0]}"   # starts with "<": no formula
    # Another organisation's package does not hold it.
    res = testapp.get("/audit/exports", {"organisation": "svc", "download": "1",
                                         "date_from": "2026-11-01", "date_to": "2026-11-30"})
    archive = zipfile.ZipFile(io.BytesIO(res.body))
    assert len(list(csv.DictReader(io.StringIO(archive.read("incidents.csv").decode("utf-8-sig"))))) == 0


def test_screened_words_are_refused_in_a_report(testapp, world, dbsession):
    login(testapp, "lead")
    res = _file(testapp, status=400, description="相手の宗教について話した")
    assert "収集禁止事項に当たる語句" in res.text and res.html.select_one("#screening-hits") is not None
    assert _count(dbsession, Incident) == 0


def test_reports_in_the_monthly_review_and_the_checklist(testapp, world, dbsession, clock):
    login(testapp, "lead")
    _file(testapp, case_no=world["inside"])
    _file(testapp, kind="other", discovered_at="2026-11-20T09:00", occurred_at="2026-11-19T09:00")
    login(testapp, "boss")
    [first, second] = _incidents(dbsession)
    path = f"/incidents/{first.id}/"
    token = csrf_token(testapp, path)
    testapp.post(path + "acknowledge", {"csrf_token": token, "instructions": "指示"}, status=303)
    testapp.post(path + "close", {"csrf_token": token, "closing_note": "確認"}, status=303)
    review = testapp.get("/audit/reviews/2026-11").html
    cells = {td["data-key"]: td.text for td in review.select("#incidents-table-cc td")}
    assert cells == {"incidents_filed": "2", "incidents_closed": "1", "incidents_open": "1"}
    # The month's review is signed with the figures once it has ended.
    clock.advance(days=8)
    login(testapp, "audit")
    token = csrf_token(testapp, "/audit/reviews/2026-11")
    testapp.post("/audit/reviews/2026-11", {"csrf_token": token, "finding": "事故報告2件を確認"}, status=303)
    signed = testapp.get("/audit/reviews/2026-11").html
    row = {td["data-key"]: td.text for td in signed.select("#signed-counts tbody tr") [0].select("td")}
    assert (row["incidents_filed"], row["incidents_closed"], row["incidents_open"]) == ("2", "1", "1")
    # The checklist of the call center: an item with the system's evidence.
    clock.advance(days=-8)
    testapp.post("/audit/checklists/", {"organisation_id": str(world["cc"]), "inspected_on": "2026-11-24",
                                        "contract_id": "", "csrf_token": csrf_token(testapp, "/audit/checklists/")},
                 status=303)
    checklist = testapp.get("/audit/checklists/").html.select_one("tr[data-checklist] a")["href"]
    page = testapp.get(checklist)
    item = page.html.select_one("tr[data-item=incident_reports]")
    assert item is not None
    assert "事故報告 2件（受理待ち 1件、対応中 0件、完了 1件）" in item.text
    assert "発見から報告まで3日以上かかったもの 1件" in item.text


def _plant(dbsession, world, n):
    """``n`` reports of the call center, each naming the in-scope case."""
    for _ in range(n):
        incident = Incident(organisation_id=world["cc"], kind="other", state=IncidentState.filed,
                            occurred_at=dt.datetime(2026, 11, 20), discovered_at=dt.datetime(2026, 11, 20),
                            description="d", first_actions="f", filed_by=world["lead"],
                            filed_at=dt.datetime(2026, 11, 20), instructions="", closing_note="")
        incident.cases = [IncidentCase(case_id=world["inside_id"])]
        dbsession.add(incident)
    dbsession.commit()


@pytest.mark.parametrize("who,path", [("boss", "/"), ("boss", "/incidents/"), ("lead", "/incidents/")])
def test_the_list_and_the_home_page_run_as_many_statements_for_thirty_reports_as_for_one(
        testapp, world, dbsession, engine, who, path):
    """Statement counts, not timings: the pages load reports, organisations,
    reporters and case counts in a fixed number of queries."""
    from tests.helpers import counting

    login(testapp, who)
    counts = []
    for n in (1, 29):
        _plant(dbsession, world, n)
        testapp.get(path)   # warm the per-process caches
        with counting(engine) as statements:
            res = testapp.get(path)
        counts.append(len(statements))
    assert counts[0] == counts[1]
    # The home page lists the oldest 20 open reports and counts them all.
    assert len(res.html.select("[data-incident]")) == (20 if path == "/" else 30)
    if path == "/":
        assert "未完了の事故報告が30件あります" in res.text
