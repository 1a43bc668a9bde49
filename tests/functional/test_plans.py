"""Installment plans (分納・納付誓約, issue 20): a collector creates a plan on
the case page; while it is 履行中 the case leaves calls, letters and the
operators' scope; a receipts import without the payment due (after the grace
days, ``intranet.plans.grace_days``) makes it 不履行, puts it first on the
collectors' work list and lets a '分納不履行' campaign choose it."""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.calls import campaigns
from intranet.cases.statuses import Work, available_for
from intranet.models import (
    CallCampaign, CampaignCase, CampaignStatus, Case, PaymentAgreement, PlanPayment, PlanState, Role,
)
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login, with_settings


@pytest.fixture
def people(dbsession, password_context):
    for role, name in ((Role.collector, "c1"), (Role.operator, "op1"), (Role.auditor, "au")):
        factories.user(dbsession, password_context, role, login=name)
    dbsession.commit()


def _post_plan(testapp, case, status=303, **fields):
    path = f"/cases/{case.case_no}/"
    return testapp.post(path + "plan", {"csrf_token": csrf_token(testapp, path), **fields},
                        status=status)


def _plans(dbsession, case):
    dbsession.expire_all()
    return list(dbsession.scalars(sa.select(PaymentAgreement)
                                  .where(PaymentAgreement.case_id == case.id)))


def _chosen(dbsession, today, **flt):
    ids = {c.case_id for c in campaigns.matching_cases(
        dbsession, campaigns.CampaignFilter(**flt), today)}
    dbsession.rollback()
    return ids


def _available(dbsession, work, today):
    ids = set(dbsession.scalars(sa.select(Case.id).where(available_for(work, today))))
    dbsession.rollback()
    return ids


def _active_campaign(dbsession, clock):
    campaign = CallCampaign(name="分納", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2027, 1, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    dbsession.commit()


def test_a_plan_in_good_standing_goes_through_and_defaults_after_an_import_without_the_payment(
        testapp, people, dbsession, clock, engine, monkeypatch, wsgi_app):
    """The collector's scenario of issue 20 (the ward's grace is 3 days here:
    ``intranet.plans.grace_days``)."""
    monkeypatch.setattr(wsgi_app.registry, "app_settings",
                        with_settings(wsgi_app.registry.app_settings, "cases", plan_grace_days=3))
    case = factories.owed_case(dbsession, name="分納 太郎", phone="03-5555-7001", amount=30000,
                               due=dt.date(2026, 6, 30))
    other = factories.owed_case(dbsession, name="他 次郎", phone="03-5555-7002", amount=5000)
    dbsession.commit()
    notice = case.assessments[0].notice_no
    other_notice = other.assessments[0].notice_no
    _active_campaign(dbsession, clock)
    login(testapp, "op1")
    testapp.get(f"/cases/{case.case_no}/", status=200)

    login(testapp, "c1")
    page = testapp.get(f"/cases/{case.case_no}/")
    assert page.html.select_one("#plan-form") is not None
    # the form states the overdue amount of the page's split (computed once, issue 21)
    overdue = page.html.select_one("#owed-overdue").text
    assert overdue.endswith("円") and overdue != "0円"
    assert f"本日現在の滞納額（本税・延滞金・督促手数料）: {overdue}" in page.html.select_one("#plan-form").text
    # 30,000 yen of tax does not cover the late charge: a warning, nothing stored
    plan = {"signed_on": "2026-11-20", "mode": "monthly", "total": "30000", "count": "3",
            "first_due_on": "2026-11-25", "note": "<script>alert(1)</script>"}
    refused = _post_plan(testapp, case, status=400, **plan)
    errors = refused.html.select_one("#plan-errors").text
    assert "30000円" in errors and "理由" in errors
    assert refused.html.select_one("#plan-note").text == plan["note"]  # refilled, escaped
    assert "<script>alert(1)</script>" not in refused.text
    assert _plans(dbsession, case) == []
    # with a reason it is stored: three monthly payments
    mark = log_mark(engine)
    _post_plan(testapp, case, **plan, reason="延滞金は完納後に相談")
    [stored] = _plans(dbsession, case)
    assert stored.state == PlanState.current and stored.agreed_on == dt.date(2026, 11, 20)
    assert [(p.due_on, p.amount) for p in stored.payments] == [
        (dt.date(2026, 11, 25), 10000), (dt.date(2026, 12, 25), 10000), (dt.date(2027, 1, 25), 10000)]
    assert stored.shortfall_reason == "延滞金は完納後に相談"
    events = [e for e in entries_since(engine, mark, "event") if e.event == "plan.created"]
    assert len(events) == 1 and "分納" not in (events[0].detail or "")
    page = testapp.get(f"/cases/{case.case_no}/")
    assert page.html.select_one(".plan[data-state=current] .plan-schedule") is not None
    assert page.html.select_one("#plan-form") is None  # one active plan at a time

    # in good standing: out of calls, letters and survey, and out of the operators' scope
    for work in Work:
        assert _available(dbsession, work, clock.today()) == {other.id}
    login(testapp, "op1")
    testapp.get(f"/cases/{case.case_no}/", status=403)

    # the first payment is made on time (imported), the second is not
    login(testapp, "c1")
    _import(testapp, "receipts.csv",
            "receipt_no,notice_no,period_no,kind,received_on,posted_on,amount\n"
            f"R-1,{notice},1,tax,2026-11-25,2026-11-27,10000\n")
    assert _plans(dbsession, case)[0].state == PlanState.current
    clock.advance(days=34)  # 12/28: 12/25 + 3 grace days not yet over
    _import(testapp, "receipts.csv",
            "receipt_no,notice_no,period_no,kind,received_on,posted_on,amount\n"
            f"R-2,{other_notice},1,tax,2026-12-27,2026-12-28,2000\n")
    assert _plans(dbsession, case)[0].state == PlanState.current
    clock.advance(days=1)  # 12/29: past 12/25 + 3 days
    mark = log_mark(engine)
    _import(testapp, "receipts.csv",
            "receipt_no,notice_no,period_no,kind,received_on,posted_on,amount\n"
            f"R-3,{other_notice},1,tax,2026-12-28,2026-12-29,1000\n")
    [defaulted] = _plans(dbsession, case)
    assert defaulted.state == PlanState.defaulted
    assert defaulted.missed_due_on == dt.date(2026, 12, 25)
    events = [e for e in entries_since(engine, mark, "event") if e.event == "plan.defaulted"]
    assert len(events) == 1 and case.case_no in events[0].detail

    # the collectors' work list: 不履行 first, the name shown to staff
    listing = testapp.get("/cases/plans")
    rows = listing.html.select("#plans tbody tr")
    assert rows[0]["data-case"] == case.case_no and rows[0]["data-state"] == "defaulted"
    assert "分納 太郎" in rows[0].text
    assert [r["data-case"] for r in testapp.get("/cases/plans?state=current").html.select(
        "#plans tbody tr")] == []
    # the case page marks the missed payment
    page = testapp.get(f"/cases/{case.case_no}/")
    assert page.html.select_one(".plan[data-state=defaulted] tr.missed") is not None

    # back in work: a '分納不履行' campaign chooses it, and only plans in default
    today = clock.today()
    assert _available(dbsession, Work.calls, today) == {case.id, other.id}
    dbsession.execute(sa.delete(CampaignCase))  # the first campaign no longer holds them
    dbsession.commit()
    assert _chosen(dbsession, today) == {case.id, other.id}
    assert _chosen(dbsession, today, plan_defaulted=True) == {case.id}

    # auditors read the list and the plan; they cannot create or end one
    login(testapp, "au")
    assert case.case_no in testapp.get("/cases/plans").text
    page = testapp.get(f"/cases/{case.case_no}/")
    assert page.html.select_one(".plan .plan-schedule") is not None
    assert page.html.select_one(".plan-end-form") is None
    path = f"/cases/{case.case_no}/"
    testapp.post(path + "plan-end", {"csrf_token": csrf_token(testapp, path),
                                     "plan": str(defaulted.id)}, status=403)


def _import(testapp, name, text):
    login(testapp, "c1")  # days pass between imports: a new session
    fields = {"csrf_token": csrf_token(testapp, "/datalink/"), "encoding": "utf-8"}
    res = testapp.post("/datalink/", fields, upload_files=[("files", name, text.encode())])
    assert res.status_int == 200, res.text
    return res


@pytest.mark.parametrize("fields,message", [
    ({"total": "0"}, "1円以上"),
    ({"total": "-30000"}, "1円以上"),
    ({"count": "0"}, "回数"),
    ({"first_due_on": "2026-11-01"}, "過去"),
    ({"first_due_on": "2026-02-30"}, "初回納付日"),
    ({"signed_on": "2026-12-01"}, "未来"),
    ({"signed_on": ""}, "誓約日"),
    ({"mode": "rows", "rows": "2026-12-01 0"}, "1円以上"),
    ({"mode": "rows", "rows": "2026-10-01 50000"}, "過去"),
    ({"mode": "rows", "rows": "2026-12-01 50000\n=HYPERLINK(\"x\") 1"}, "2行目"),
    ({"mode": "rows", "rows": ""}, "入力されていません"),
    ({"note": "x" * 1001}, "長すぎる"),
])
def test_bad_plans_are_refused_with_a_message_and_nothing_stored(
        testapp, people, dbsession, fields, message):
    case = factories.owed_case(dbsession, amount=20000)
    dbsession.commit()
    login(testapp, "c1")
    plan = {"signed_on": "2026-11-24", "mode": "monthly", "total": "50000", "count": "5",
            "first_due_on": "2026-12-01", **fields}
    res = _post_plan(testapp, case, status=400, **plan)
    assert message in res.html.select_one("#plan-errors").text
    assert _plans(dbsession, case) == []
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(PlanPayment)) == 0


def test_typed_rows_a_second_plan_refused_and_ending_a_plan(testapp, people, dbsession, clock):
    case = factories.owed_case(dbsession, amount=20000, phone=None)
    dbsession.commit()
    login(testapp, "c1")
    testapp.get("/?lang=en")
    _post_plan(testapp, case, signed_on="2026-11-24", mode="rows",
               rows="2026-12-10 30000\n2027-01-10 20,000円")
    [plan] = _plans(dbsession, case)
    assert [(p.due_on, p.amount) for p in plan.payments] == [
        (dt.date(2026, 12, 10), 30000), (dt.date(2027, 1, 10), 20000)]
    assert plan.first_due_on == dt.date(2026, 12, 10) and plan.instalment_count == 2
    # a no-phone case on a plan is no letter candidate
    assert case.case_no not in testapp.get("/letters/").text
    res = _post_plan(testapp, case, status=400, signed_on="2026-11-24", total="50000", count="2",
                     first_due_on="2026-12-01")
    assert "plan-errors" in res.text
    assert len(_plans(dbsession, case)) == 1
    path = f"/cases/{case.case_no}/"
    testapp.post(path + "plan-end", {"csrf_token": csrf_token(testapp, path), "plan": "999999"},
                 status=400)
    testapp.post(path + "plan-end", {"csrf_token": csrf_token(testapp, path), "plan": str(plan.id)},
                 status=303)
    [ended] = _plans(dbsession, case)
    assert not ended.is_active and ended.ended_on == clock.today()
    page = testapp.get(f"/cases/{case.case_no}/")
    assert page.html.select_one(f".plan[data-plan='{ended.id}']")["data-state"] == "ended"
    assert page.html.select_one("#plan-form") is not None  # a new plan may follow
    # an ended plan excludes nothing
    assert case.id in _chosen(dbsession, clock.today())


def test_operators_see_the_schedule_but_no_form(testapp, people, dbsession, clock):
    """The payment facet carries the plan (a defaulted one keeps the case in
    the operators' campaign)."""
    case = factories.owed_case(dbsession, name="架電 分納", phone="03-5555-7101")
    case.agreements.append(factories._plan(note="月末払い"))
    dbsession.commit()
    _active_campaign(dbsession, clock)
    login(testapp, "op1")
    page = testapp.get(f"/cases/{case.case_no}/")
    assert page.html.select_one(".plan[data-state=defaulted] .plan-schedule") is not None
    assert page.html.select_one("#plan-form") is None and page.html.select_one(".plan-end-form") is None
    path = f"/cases/{case.case_no}/"
    _post_plan(testapp, case, status=403, signed_on="2026-11-24", total="1000", count="1",
               first_due_on="2026-12-01")
    testapp.get("/cases/plans", status=403)
    assert path  # the operator never reaches the work list


SCHEDULE_HEADER = "case_no,agreed_on,due_on,amount\n"
AGREEMENT_HEADER = "case_no,agreed_on,first_due_on,instalment_amount,instalment_count,status,note\n"


def test_plans_through_the_data_link_schedule_file_and_new_terms(dbsession):
    """payment_plan_schedule.csv gives a plan exactly its rows; a plan not named
    gets its summary's schedule, and new terms regenerate it; a payment of 0
    is refused with file, line and column, and nothing is stored."""
    from intranet.datalink import importer

    case = factories.owed_case(dbsession, amount=60000)
    dbsession.commit()
    today = dt.date(2026, 11, 24)
    agreement = f"{case.case_no},2026-11-20,2026-12-25,20000,3,active,\n"
    bad = importer.run(dbsession, {
        "payment_agreements.csv": (AGREEMENT_HEADER + agreement).encode(),
        "payment_plan_schedule.csv": (SCHEDULE_HEADER + f"{case.case_no},2026-11-20,2026-12-25,0\n").encode(),
    }, today)
    assert not bad.ok
    assert [(p.file, p.line, p.column, p.key) for p in bad.report.problems] == [
        ("payment_plan_schedule.csv", 2, "amount", "datalink.error.plan_amount")]
    assert _plans(dbsession, case) == []

    result = importer.run(dbsession, {
        "payment_agreements.csv": (AGREEMENT_HEADER + agreement).encode(),
        "payment_plan_schedule.csv": (SCHEDULE_HEADER + f"{case.case_no},2026-11-20,2026-12-10,10000\n"
                                      f"{case.case_no},2026-11-20,2027-01-10,50000\n").encode(),
    }, today)
    assert result.ok, [str(p) for p in result.report.problems]
    dbsession.commit()
    [plan] = _plans(dbsession, case)
    assert [(p.due_on, p.amount) for p in plan.payments] == [
        (dt.date(2026, 12, 10), 10000), (dt.date(2027, 1, 10), 50000)]
    assert (plan.first_due_on, plan.instalment_count, plan.instalment_amount) == (
        dt.date(2026, 12, 10), 2, 50000)
    assert plan.state == PlanState.current
    # the same files again change nothing
    again = importer.run(dbsession, {
        "payment_plan_schedule.csv": (SCHEDULE_HEADER + f"{case.case_no},2026-11-20,2026-12-10,10000\n"
                                      f"{case.case_no},2026-11-20,2027-01-10,50000\n").encode()}, today)
    assert vars(again.counts["payment_plan_schedule"]) == {"added": 0, "changed": 0, "unchanged": 2}
    # new terms without a schedule file: the summary's schedule
    importer.run(dbsession, {"payment_agreements.csv": (
        AGREEMENT_HEADER + f"{case.case_no},2026-11-20,2026-12-31,15000,4,active,\n").encode()}, today)
    dbsession.commit()
    [plan] = _plans(dbsession, case)
    assert [(p.due_on, p.amount) for p in plan.payments] == [
        (dt.date(2026, 12, 31), 15000), (dt.date(2027, 1, 31), 15000), (dt.date(2027, 2, 28), 15000),
        (dt.date(2027, 3, 31), 15000)]


def test_signing_a_plan_is_an_acknowledgement_that_renews_the_limitation(
        testapp, people, dbsession):
    """承認 (地方税法18条③ → 民法152条①; docs/taxes.md): the tax due
    2021-12-27 would expire on 2026-12-27 and is on the list 時効が近い; the
    誓約 signed on 2026-11-20 renews it (five years from then), so it leaves."""
    case = factories.owed_case(dbsession, amount=8000, due=dt.date(2021, 12, 27), fiscal_year=2021)
    dbsession.commit()
    login(testapp, "c1")
    rows = testapp.get("/cases/limitation").html.select(f"#limitation tr[data-case='{case.case_no}']")
    assert rows and "2026-12-27" in rows[0].text
    _post_plan(testapp, case, signed_on="2026-11-20", total="20000", count="2",
               first_due_on="2026-12-10", reason="延滞金は後日")
    assert not testapp.get("/cases/limitation").html.select(f"#limitation tr[data-case='{case.case_no}']")
