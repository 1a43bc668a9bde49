"""Issue 20: one call, one contact result, any number of actions; incoming
calls (受電) with or without a case, never counted as outgoing attempts; the
operators' entrusted scope (any campaign of the fiscal year); reports with
架電, 受電 and letters (SQLite and PostgreSQL).

Practice: a Japanese 納税コールセンター records per call whom it reached
(本人接触) and everything agreed in it (納付約束, 口座振替勧奨, 納付書再発行,
引継ぎ ...); seed 000 asks for 受電 handling and for daily and monthly reports
of both, plus the dunning letters (催告書) printed.
"""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.cases import debits
from intranet.models import (
    ActionKind, CallAttempt, CallCampaign, CallTarget, CampaignStatus, ContactResult, Handover,
    IncomingReason, Promise, PromiseStatus, TargetStatus,
)
from tests import factories
from tests.functional import test_calls
from tests.functional.test_calls import next_call, target_id
from tests.helpers import csrf_token, entries_since, log_mark, login

# The call-center fixtures of test_calls (users, owed cases, a running campaign).
staff, owed, campaign = test_calls.staff, test_calls.owed, test_calls.campaign

HOSTILE = '<script>alert(1)</script>=HYPERLINK("http://x","y")'


def post_call(testapp, tid, status=303, actions=(), **fields):
    path = f"/calls/targets/{tid}/"
    body = [("csrf_token", csrf_token(testapp, path))] + [("action", a) for a in actions] + list(
        fields.items())
    return testapp.post(path + "result", body, status=status)


def post_incoming(testapp, path, status=303, actions=(), **fields):
    """POST an incoming call to ``path`` (``/cases/<no>/incoming`` or ``/calls/incoming``)."""
    body = [("csrf_token", csrf_token(testapp, path))] + [("action", a) for a in actions] + list(
        fields.items())
    return testapp.post(path, body, status=status)


def lookup(testapp, status=200, **terms):
    return testapp.post("/calls/lookup", {"csrf_token": csrf_token(testapp, "/calls/lookup"), **terms},
                        status=status)


def test_one_call_records_a_promise_and_a_direct_debit_encouragement(
        testapp, campaign, dbsession, monkeypatch):
    hooked = []
    monkeypatch.setattr(debits, "encouraged", lambda db, attempt, cases: hooked.append(
        (attempt.id, sorted(c.case_no for c in cases))))
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    post_call(testapp, tid, result="reached", actions=["promise", "direct_debit"],
              promise_amount="30,000", promise_on="2026-12-10", memo="口座振替の申込書を送付")
    attempt = dbsession.scalars(sa.select(CallAttempt)).one()
    assert attempt.result == ContactResult.reached and not attempt.incoming
    assert sorted((a.kind, a.amount, a.on) for a in attempt.actions) == [
        (ActionKind.direct_debit, None, None), (ActionKind.promise, 30000, dt.date(2026, 12, 10))]
    promise = dbsession.scalars(sa.select(Promise)).one()
    assert (promise.amount, promise.due_on, promise.status) == (30000, dt.date(2026, 12, 10),
                                                               PromiseStatus.open)
    target = dbsession.get(CallTarget, tid)
    assert (target.status, target.attempts, target.day_count) == (TargetStatus.promised, 1, 1)
    assert hooked == [(attempt.id, sorted(m.case.case_no for m in target.members))]
    # the call screen's history shows both actions of the one call
    history = testapp.get(f"/calls/targets/{tid}/").html.select("table.data")[-1].text
    assert "納付約束" in history and "口座振替" in history
    # the daily report counts one call, one promise and one encouragement
    login(testapp, "c1")
    total = testapp.get("/calls/reports/", {"kind": "daily", "date": "2026-11-24"}).html.select_one(
        "#report tr.total")
    cells = {td["data-col"]: td.text for td in total.select("td")}
    assert (cells["attempts"], cells["reached"], cells["promises"], cells["promise_amount"],
            cells["direct_debits"], cells["incoming"]) == ("1", "1", "1", "30,000円", "1", "0")


def test_a_refusal_is_handed_over_to_staff_with_the_other_actions(testapp, campaign, dbsession):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    post_call(testapp, tid, result="reached", actions=["refusal", "slip_reissue"], memo="納得できないとのこと")
    target = dbsession.get(CallTarget, tid)
    assert target.status == TargetStatus.handed_over
    handover = dbsession.scalars(sa.select(Handover).where(Handover.target_id == tid)).one()
    assert handover.reason.startswith("【納付拒否】") and "納得できない" in handover.reason
    assert dbsession.scalars(sa.select(CallAttempt)).one().disposition == "refused"


def test_already_paid_is_a_claim_as_told_not_a_promise(testapp, campaign, dbsession, clock):
    """A taxpayer who says they paid is not promising anything: the claim
    (day and amount as told) waits for the receipt through the data link."""
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    post_call(testapp, tid, result="reached", actions=["paid_claimed"], paid_on="2026-11-20",
              paid_amount="12000")
    action = dbsession.scalars(sa.select(CallAttempt)).one().actions[0]
    assert (action.kind, action.amount, action.on) == (ActionKind.paid_claimed, 12000, dt.date(2026, 11, 20))
    assert dbsession.scalars(sa.select(Promise)).all() == []
    target = dbsession.get(CallTarget, tid)
    assert target.status == TargetStatus.queued
    assert target.due_at >= clock.now() + dt.timedelta(days=14)


@pytest.mark.parametrize("fields,actions,message", [
    ({"result": "no_answer"}, ["promise"], "本人と通話した場合"),
    ({"result": "other_person"}, ["promise"], "本人と通話した場合"),
    ({"result": "reached"}, ["steal"], "対応内容の選択"),
    ({"result": "reached", "paid_on": "2026-12-01"}, ["paid_claimed"], "納付したと申出た日"),
    ({"result": "reached"}, ["plan_request"], "引継ぎ理由"),
    ({"result": "reached", "promise_amount": "0", "promise_on": "2026-11-30"}, ["promise"], "約束金額"),
    ({"result": "maybe"}, [], "結果を選んで"),
])
def test_bad_actions_are_refused_and_nothing_is_recorded(testapp, campaign, dbsession, fields, actions,
                                                         message):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    res = post_call(testapp, tid, status=400, actions=actions, **fields)
    assert message in res.html.select_one(".error").text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 0
    assert dbsession.get(CallTarget, tid).attempts == 0


@pytest.fixture
def closed_case(dbsession, staff):
    """A case whose campaign of this fiscal year has closed (a caller with a
    letter in hand): no running campaign, no queue."""
    case = factories.owed_case(dbsession, name="受電 七郎", kana="ジュデン シチロウ", phone="03-4444-0007",
                               amount=18000)
    factories.campaign(dbsession, [case], status=CampaignStatus.closed, starts_on=dt.date(2026, 6, 1),
                       ends_on=dt.date(2026, 7, 31))
    dbsession.commit()
    return case


@pytest.mark.parametrize("terms", [{"phone": "０３（４４４４）０００７"}, {"phone": "+81 3-4444-0007"},
                                   {"name": "ジュデン"}, {"name": "じゅでん　しちろう"}])
def test_the_lookup_finds_a_caller_whose_campaign_closed(testapp, closed_case, terms):
    login(testapp, "op1")
    res = lookup(testapp, **terms)
    cells = [td.text for td in res.html.select("#lookup-results td")]
    assert closed_case.case_no in cells
    links = [a["href"] for a in res.html.select("#lookup-results a.button")]
    assert links == [f"/cases/{closed_case.case_no}/incoming"]  # no call screen: no running campaign
    assert lookup(testapp, case_no=closed_case.case_no).html.select("#lookup-results tbody tr")


def test_a_case_of_last_fiscal_year_or_call_blocked_is_not_found(testapp, staff, dbsession):
    old = factories.owed_case(dbsession, name="前年 八郎", phone="03-4444-0008")
    factories.campaign(dbsession, [old], status=CampaignStatus.closed, starts_on=dt.date(2026, 1, 5),
                       ends_on=dt.date(2026, 3, 31))
    blocked = factories.owed_case(dbsession, name="停止 九郎", phone="03-4444-0009",
                                  call_block="bankruptcy")
    factories.campaign(dbsession, [blocked])
    dbsession.commit()
    login(testapp, "op1")
    for phone in ("0344440008", "0344440009"):
        assert lookup(testapp, phone=phone).html.select("#lookup-results") == []
    for case in (old, blocked):
        testapp.get(f"/cases/{case.case_no}/incoming", status=403)


@pytest.mark.parametrize("terms", [{"name": "ジ"}, {"phone": "0"}, {"notice_no": "1"}, {"case_no": " 2 "}])
def test_a_one_character_lookup_is_too_broad(testapp, closed_case, engine, terms):
    login(testapp, "op1")
    mark = log_mark(engine)
    res = lookup(testapp, status=400, **terms)
    assert "2文字以上" in res.html.select_one("#lookup-error").text
    assert res.html.select("#lookup-results") == []
    assert all(not e.cases for e in entries_since(engine, mark))


def test_an_incoming_call_on_a_case_never_counts_as_an_attempt(testapp, campaign, owed, dbsession):
    """The caller is in the queue: the promise holds the target, but no
    attempt, daily or weekly count is used up and no lease is taken."""
    login(testapp, "op1")
    case = owed["big"]
    target = dbsession.scalars(sa.select(CallTarget).join(CallTarget.members).where(
        sa.text("campaign_cases.case_id = :c")).params(c=case.id)).one()
    before = (target.attempts, target.day_count, target.week_count, target.leased_by)
    post_incoming(testapp, f"/cases/{case.case_no}/incoming", result="reached",
                  actions=["promise", "slip_reissue"], promise_amount="90000", promise_on="2026-11-30",
                  memo=HOSTILE)
    dbsession.expire_all()
    target = dbsession.get(CallTarget, target.id)
    assert (target.attempts, target.day_count, target.week_count, target.leased_by) == before
    assert target.status == TargetStatus.promised
    call = dbsession.scalars(sa.select(CallAttempt)).one()
    assert (call.incoming, call.case_id, call.target_id, call.result) == (True, case.id, target.id, "reached")
    assert {a.kind for a in call.actions} == {ActionKind.promise, ActionKind.slip_reissue}
    # escaped on the case's call log
    page = testapp.get(f"/cases/{case.case_no}/")
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    login(testapp, "c1")
    total = testapp.get("/calls/reports/", {"kind": "daily", "date": "2026-11-24"}).html.select_one(
        "#report tr.total")
    cells = {td["data-col"]: td.text for td in total.select("td")}
    assert (cells["attempts"], cells["incoming"], cells["incoming_no_case"], cells["promises"]) == (
        "0", "1", "0", "1")


def test_an_incoming_call_on_a_closed_campaigns_case_hands_over(testapp, closed_case, dbsession):
    login(testapp, "op1")
    page = testapp.get(f"/cases/{closed_case.case_no}/incoming")
    assert closed_case.case_no in page.html.select_one("#incoming-case").text
    post_incoming(testapp, f"/cases/{closed_case.case_no}/incoming", result="reached",
                  actions=["plan_request"], handover_reason="月5,000円での分納を希望")
    handover = dbsession.scalars(sa.select(Handover)).one()
    assert handover.case_id == closed_case.id and "分納" in handover.reason
    call = dbsession.scalars(sa.select(CallAttempt)).one()
    assert (call.incoming, call.case_id, handover.attempt_id) == (True, closed_case.id, call.id)


@pytest.mark.parametrize("reason", list(IncomingReason))
def test_an_incoming_call_without_a_case_is_recorded_for_the_statistics(testapp, staff, dbsession, reason):
    login(testapp, "op1")
    res = post_incoming(testapp, "/calls/incoming", reason=str(reason), memo=HOSTILE)
    assert res.location.endswith("/calls/lookup?notice=incoming")
    assert "受電を記録しました" in res.follow().text
    call = dbsession.scalars(sa.select(CallAttempt)).one()
    assert (call.incoming, call.case_id, call.target_id, call.incoming_reason) == (True, None, None, reason)
    login(testapp, "op1")
    row = testapp.get("/calls/reports/", {"kind": "daily", "date": "2026-11-24"}).html.select_one(
        "#report tr.total")
    cells = {td["data-col"]: td.text for td in row.select("td")}
    assert (cells["attempts"], cells["incoming"], cells["incoming_no_case"]) == ("0", "1", "1")
    csv = testapp.get("/calls/reports/", {"kind": "daily", "date": "2026-11-24", "format": "csv"})
    assert "受電数" in csv.body.decode("utf-8-sig")


@pytest.mark.parametrize("path,fields,actions,message", [
    ("/calls/incoming", {}, [], "案件なしの理由"),
    ("/calls/incoming", {"reason": "gossip"}, [], "案件なしの理由"),
    ("/calls/incoming", {"reason": "unknown_caller"}, ["promise"], "案件を特定した受電"),
    ("/calls/incoming", {"reason": "enquiry_only", "memo": "x" * 2001}, [], "長すぎ"),
    ("CASE", {"result": "no_answer"}, [], "受電の接触結果"),
    ("CASE", {"result": "reached"}, ["promise"], "約束金額"),
])
def test_bad_incoming_calls_are_refused_and_nothing_is_stored(testapp, closed_case, dbsession, path, fields,
                                                             actions, message):
    login(testapp, "op1")
    path = f"/cases/{closed_case.case_no}/incoming" if path == "CASE" else path
    res = post_incoming(testapp, path, status=400, actions=actions, **fields)
    assert message in res.html.select_one("#incoming-errors").text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 0


@pytest.mark.parametrize("who", ["c1", "au"])
def test_only_operators_record_incoming_calls(testapp, closed_case, who):
    login(testapp, who)
    testapp.get("/calls/incoming", status=403)
    testapp.get(f"/cases/{closed_case.case_no}/incoming", status=403)


def test_letters_issued_by_operators_are_in_the_reports(testapp, staff, dbsession):
    from intranet.models import DocumentKind, IssuedDocument

    case = factories.owed_case(dbsession, name="催告 十郎", phone=None)
    for i, who in enumerate(("op1", "op1", "c1")):
        dbsession.add(IssuedDocument(
            kind=DocumentKind.letter, doc_no=f"L-TEST-{i}", case_id=case.id, issued_by=staff[who].id,
            issued_at=dt.datetime(2026, 11, 24, 1, 0), deadline=dt.date(2026, 12, 10), installments="[]",
            tax_total=1000, late_charge_total=0))
    dbsession.commit()
    login(testapp, "c1")
    res = testapp.get("/calls/reports/", {"kind": "monthly", "month": "2026-11"})
    rows = {tr.th.text.strip(): {td["data-col"]: td.text for td in tr.select("td")}
            for tr in res.html.select("#report tbody tr")}
    assert rows["センター合計"]["letters"] == "2"  # the collector's own letter is not the center's work
    assert staff["op1"].display_name in rows and rows[staff["op1"].display_name]["letters"] == "2"


def test_the_campaign_progress_and_effect_ignore_incoming_calls(testapp, campaign, owed, dbsession):
    login(testapp, "op1")
    post_incoming(testapp, f"/cases/{owed['small'].case_no}/incoming", result="reached",
                  actions=["slip_reissue"])
    from intranet.calls import reports

    report = reports.monthly(dbsession, 2026, 11, dt.date(2026, 11, 24))
    assert report.effect["reached"].cases == 0 and report.rows[-1].figures.incoming == 1
    assert dbsession.scalars(sa.select(CallCampaign)).one().status == CampaignStatus.active


def test_the_call_results_export_keeps_its_columns_for_incoming_calls(testapp, closed_case, dbsession, clock):
    """call_results.csv (the delinquency system's file) keeps its columns: an
    incoming call on a case is a line of that case marked incoming; one
    without a case names no case and is not exported."""
    import csv
    import io
    import zipfile

    login(testapp, "op1")
    post_incoming(testapp, f"/cases/{closed_case.case_no}/incoming", result="reached",
                  actions=["paid_claimed"], paid_on="2026-11-20")
    post_incoming(testapp, "/calls/incoming", reason="wrong_number")
    clock.advance(minutes=5)
    login(testapp, "c1")
    res = testapp.post("/datalink/export", {"csrf_token": csrf_token(testapp, "/datalink/export"),
                                            "since": "2026-11-01T00:00"})
    text = zipfile.ZipFile(io.BytesIO(res.body)).read("call_results.csv").decode("cp932")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["attempt_id", "case_no", "called_at", "operator", "phone", "disposition",
                       "promise_amount", "promise_on", "callback_at", "memo", "corrects", "incoming"]
    assert [(r[1], r[5], r[11]) for r in rows[1:]] == [(closed_case.case_no, "paid_claimed", "1")]


def test_an_incoming_slip_request_leaves_an_open_promise_waiting(testapp, campaign, dbsession):
    """The taxpayer promised on our call, then calls for a new slip to pay
    with: the target keeps waiting for the promised date."""
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    post_call(testapp, tid, result="reached", actions=["promise"], promise_amount="10000",
              promise_on="2026-12-01")
    target = dbsession.get(CallTarget, tid)
    case_no, due_at = target.members[0].case.case_no, target.due_at
    post_incoming(testapp, f"/cases/{case_no}/incoming", result="reached", actions=["slip_reissue"])
    dbsession.expire_all()
    target = dbsession.get(CallTarget, tid)
    assert (target.status, target.due_at, target.attempts) == (TargetStatus.promised, due_at, 1)
    assert dbsession.scalars(sa.select(Promise)).one().status == PromiseStatus.open
