"""Training plans (研修計画, issue 25): the call center's leader draws up its
organisation's plan and records its operators' completions, never another
organisation's; an operator under a contract requiring training cannot log in
before completing a required course; the ward and auditors read every plan;
the checklist and the inspection package carry them (SQLite and PostgreSQL)."""
import csv
import datetime as dt
import io
import zipfile

import sqlalchemy as sa

from intranet.audit import checklist as cl
from intranet.models import (
    Contract, ContractKind, InspectionChecklist, Organisation, OrganisationKind, Role, TrainingCourse,
    TrainingPlan, TrainingRecord, User,
)
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login, swapped_settings

COURSE = {"title": "個人情報保護・情報セキュリティ研修", "held_on": "2026-11-20", "trainer": "研修 講師",
          "summary": "特記事項の説明と事例", "required": "1"}


def org(dbsession, code):
    row = Organisation(code=code, name=f"{code} 株式会社", kind=OrganisationKind.contractor)
    dbsession.add(row)
    dbsession.flush()
    return row


def world(dbsession, password_context):
    cc, other = org(dbsession, "cc"), org(dbsession, "cc-other")
    boss = factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    leader = factories.user(dbsession, password_context, Role.operator, login="leader", organisation=cc,
                            is_team_leader=True)
    op1 = factories.user(dbsession, password_context, Role.operator, login="op1", organisation=cc,
                         training=False)
    factories.user(dbsession, password_context, Role.operator, login="leader2", organisation=other,
                   is_team_leader=True)
    stranger = factories.user(dbsession, password_context, Role.operator, login="stranger",
                              organisation=other, training=False)
    contract = Contract(organisation_id=cc.id, kind=ContractKind.call_center, name="架電委託",
                        purpose="納付案内", starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31),
                        manager_name="責任 者", handler_names="リーダー\nオペ 一", protections="",
                        training_required=True, created_by=boss.id, created_at=dt.datetime(2026, 4, 1))
    dbsession.add(contract)
    dbsession.flush()
    for user in (leader, op1):
        user.contract_id = contract.id
        user.valid_from, user.valid_until = contract.window()
    dbsession.commit()
    return {"cc": cc.id, "other": other.id, "op1": op1.id, "stranger": stranger.id, "leader": leader.id,
            "contract": contract.id}


def new_plan(testapp, status=303, **form):
    return testapp.post("/training/", {"fiscal_year": "2026", **form,
                                       "csrf_token": csrf_token(testapp, "/training/")}, status=status)


def add_course(testapp, plan_id, status=303, **form):
    path = f"/training/{plan_id}/"
    return testapp.post(path + "course", {**COURSE, **form, "csrf_token": csrf_token(testapp, path)},
                        status=status)


def complete(testapp, plan_id, course_id, user_id, day="2026-11-20", status=303):
    path = f"/training/{plan_id}/"
    return testapp.post(path + "complete", {"course_id": str(course_id), "user_id": str(user_id),
                                            "completed_on": day, "csrf_token": csrf_token(testapp, path)},
                        status=status)


def records(dbsession):
    return dbsession.scalar(sa.select(sa.func.count()).select_from(TrainingRecord))


def test_leader_plans_and_records_completions_and_the_gate_opens(testapp, dbsession, password_context, engine):
    ids = world(dbsession, password_context)
    # without a completed required course the operator cannot log in
    res = login(testapp, "op1")
    assert res.status_code == 200 and "研修" in res.text and "login-form" in res.text
    login(testapp, "leader")
    mark = log_mark(engine)
    # the organisation posted is ignored: a leader plans for its own
    new_plan(testapp, organisation_id=str(ids["other"]))
    plan = dbsession.scalars(sa.select(TrainingPlan)).one()
    assert (plan.organisation_id, plan.fiscal_year) == (ids["cc"], 2026)
    add_course(testapp, plan.id)
    course = dbsession.scalars(sa.select(TrainingCourse)).one()
    assert (course.title, course.held_on, course.required) == (COURSE["title"], dt.date(2026, 11, 20), True)
    page = testapp.get(f"/training/{plan.id}/")
    options = [o[0] for o in page.forms["completion-form"]["user_id"].options]
    assert options == [str(ids["op1"])]  # its own organisation's operators, not itself
    before = records(dbsession)
    complete(testapp, plan.id, course.id, ids["op1"])
    assert records(dbsession) == before + 1
    row = dbsession.scalars(sa.select(TrainingRecord).where(TrainingRecord.course_id == course.id)).one()
    assert (row.user_id, row.trained_on, row.trainer) == (ids["op1"], dt.date(2026, 11, 20), "研修 講師")
    page = testapp.get(f"/training/{plan.id}/")
    assert page.html.select_one(f'#plan-completions tr[data-user="{ids["op1"]}"] td[data-done]') is not None
    events = [(e.event, e.detail) for e in entries_since(engine, mark, kind="event")]
    assert [e for e, _ in events] == ["training.plan.created", "training.course.added", "training.completed"]
    # ids, dates and flags only: never the course's free text
    assert all(COURSE["title"] not in d and COURSE["summary"] not in d for _, d in events)
    # a second completion of the same course is refused
    complete(testapp, plan.id, course.id, ids["op1"], status=400)
    assert records(dbsession) == before + 1
    login(testapp, "op1", status=303)
    testapp.get("/training/", status=403)  # an operator who is not a leader has no plan page
    testapp.get(f"/training/{plan.id}/", status=403)


def test_a_leader_never_reaches_another_organisations_users_or_plans(testapp, dbsession, password_context):
    ids = world(dbsession, password_context)
    login(testapp, "leader")
    new_plan(testapp)
    plan = dbsession.scalars(sa.select(TrainingPlan)).one()
    add_course(testapp, plan.id)
    course = dbsession.scalars(sa.select(TrainingCourse)).one()
    before = records(dbsession)
    res = complete(testapp, plan.id, course.id, ids["stranger"], status=400)
    assert "この委託先の従事者" in res.text
    res = complete(testapp, plan.id, course.id, ids["leader"], status=400)  # itself
    assert "自分の受講" in res.text
    for bad in ("2026-11-19", "2026-11-25", "x"):  # before the course, in the future, not a date
        complete(testapp, plan.id, course.id, ids["op1"], day=bad, status=400)
    complete(testapp, plan.id, 999999, ids["op1"], status=400)
    assert records(dbsession) == before
    # the other organisation's leader: its list is empty, the plan refused (as a missing one)
    login(testapp, "leader2")
    listing = testapp.get("/training/")
    assert not listing.html.select("#training-plans tr[data-plan]")
    testapp.get(f"/training/{plan.id}/", status=403)
    testapp.get("/training/999999/", status=403)
    token = csrf_token(testapp, "/training/")
    testapp.post(f"/training/{plan.id}/course", {**COURSE, "csrf_token": token}, status=403)
    testapp.post(f"/training/{plan.id}/complete", {"course_id": str(course.id), "user_id": str(ids["op1"]),
                                                   "completed_on": "2026-11-20", "csrf_token": token},
                 status=403)
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(TrainingCourse)) == 1
    assert records(dbsession) == before


def test_bad_courses_are_refused_and_nothing_stored(testapp, dbsession, password_context, engine):
    world(dbsession, password_context)
    login(testapp, "leader")
    new_plan(testapp)
    plan = dbsession.scalars(sa.select(TrainingPlan)).one()
    for bad in ({"title": ""}, {"trainer": "x" * 101}, {"held_on": "2027-04-01"}, {"held_on": "x"},
                {"summary": "x" * 2001}, {"title": "a\x00b"}):
        res = add_course(testapp, plan.id, status=400, **bad)
        assert res.html.select_one(".error li")
    mark = log_mark(engine)
    res = add_course(testapp, plan.id, status=400, summary="宗教に関する質問への対応")
    assert "収集禁止事項" in res.text
    assert "宗教" not in "".join(e.detail or "" for e in entries_since(engine, mark))
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(TrainingCourse)) == 0
    # a second plan for the same year, or a year far away
    new_plan(testapp, status=400)
    new_plan(testapp, status=400, fiscal_year="2030")
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(TrainingPlan)) == 1


def test_an_optional_course_does_not_open_the_gate(testapp, dbsession, password_context):
    ids = world(dbsession, password_context)
    login(testapp, "leader")
    new_plan(testapp)
    plan = dbsession.scalars(sa.select(TrainingPlan)).one()
    add_course(testapp, plan.id, title="電話応対スキル", required="")
    course = dbsession.scalars(sa.select(TrainingCourse)).one()
    assert course.required is False
    complete(testapp, plan.id, course.id, ids["op1"])
    res = login(testapp, "op1")
    assert res.status_code == 200 and "login-form" in res.text


def test_a_contract_requiring_training_gates_its_operators_whatever_the_roles_setting(
        testapp, dbsession, password_context, wsgi_app):
    ids = world(dbsession, password_context)
    with swapped_settings(wsgi_app, "training", required_roles=frozenset()) as swapped:
        settings = swapped.training
        res = login(testapp, "op1")  # under the call-center contract requiring training
        assert res.status_code == 200 and "login-form" in res.text
        login(testapp, "stranger", status=303)  # no contract, and the roles need none
    # the users list's "training due" filter follows the same rule
    from intranet.accounts import training
    due = training.due_user_ids(dbsession, dt.date(2026, 11, 24), settings)
    assert ids["op1"] in due and ids["stranger"] not in due


def test_ward_and_auditors_see_every_plan_and_the_inspection_has_it(
        testapp, dbsession, password_context, tmp_path):
    ids = world(dbsession, password_context)
    login(testapp, "leader")
    new_plan(testapp)
    plan = dbsession.scalars(sa.select(TrainingPlan)).one()
    add_course(testapp, plan.id, title='=HYPERLINK("http://x")', summary="<script>alert(1)</script>")
    course = dbsession.scalars(sa.select(TrainingCourse)).one()
    complete(testapp, plan.id, course.id, ids["op1"])
    login(testapp, "boss")  # the supervisor plans for the other organisation
    new_plan(testapp, organisation_id=str(ids["other"]))
    for who in ("boss", "audit"):
        login(testapp, who)
        listing = testapp.get("/training/")
        assert len(listing.html.select("#training-plans tr[data-plan]")) == 2
        page = testapp.get(f"/training/{plan.id}/")
        assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert "completion-form" not in page.text  # auditors read only
    # the checklist's evidence names the plan of the inspection's fiscal year
    checklist = InspectionChecklist(organisation_id=ids["cc"], inspected_on=dt.date(2026, 11, 24),
                                    created_by=ids["leader"], created_at=dt.datetime(2026, 11, 24))
    dbsession.add(checklist)
    dbsession.commit()
    facts = cl.evidence(dbsession, checklist)["training"]
    assert [f.key for f in facts] == ["checklist.evidence.training", "checklist.evidence.training_plan"]
    assert facts[1].params == {"year": 2026, "courses": 1, "held": 1, "completions": 1}
    # the inspection package's training_plans.csv, formula-guarded
    res = testapp.get("/audit/exports", {"organisation": "cc", "download": "1",
                                         "date_from": "2026-11-01", "date_to": "2026-11-30"})
    archive = zipfile.ZipFile(io.BytesIO(res.body))
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open("training_plans.csv"), encoding="utf-8-sig")))
    assert [(r["年度"], r["研修名"], r["受講者"], r["受講日"]) for r in rows] == [
        ("2026", "'=HYPERLINK(\"http://x\")", "op1", "2026-11-20")]
    assert dbsession.get(User, ids["op1"]).organisation_id == ids["cc"]
