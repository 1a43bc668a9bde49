"""The tax call center through the app: campaigns, the queue, results,
promises, hand-overs (SQLite and PostgreSQL)."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from intranet.models import (
    CallAttempt, CallBlock, CallCampaign, CallRecord, CallTarget, CampaignCase, Handover, Phone,
    Promise, PromiseStatus, QueueClass, Role, TargetStatus,
)
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login, run_jobs

# The tests' clock: Tuesday 2026-11-24 09:30 JST (a weekday, calling hours).


@pytest.fixture
def staff(dbsession, password_context):
    users = {
        "c1": factories.user(dbsession, password_context, Role.collector, login="c1"),
        "op1": factories.user(dbsession, password_context, Role.operator, login="op1"),
        "op2": factories.user(dbsession, password_context, Role.operator, login="op2"),
        "au": factories.user(dbsession, password_context, Role.auditor, login="au"),
    }
    dbsession.commit()
    return users


@pytest.fixture
def owed(dbsession):
    cases = {
        "big": factories.owed_case(dbsession, name="大口 一郎", phone="03-1111-0001", amount=90000),
        "old": factories.owed_case(dbsession, name="古株 二郎", phone="03-1111-0002", amount=20000,
                                   due=dt.date(2024, 5, 31), fiscal_year=2024),
        "small": factories.owed_case(dbsession, name="少額 三郎", phone="03-1111-0003", amount=5000),
        # one household, two taxpayers: two targets (地方税法22条: no call
        # about one adult's arrears reaches another)
        "wife": factories.owed_case(dbsession, name="世帯 花子", phone="090-2222-0001",
                                    amount=15000, household_no="H1"),
        "husband": factories.owed_case(dbsession, name="世帯 太郎", phone=None, amount=25000,
                                       household_no="H1"),
        "nophone": factories.owed_case(dbsession, name="不明 四郎", phone=None, amount=40000),
        "blocked": factories.owed_case(dbsession, name="停止 五郎", phone="03-1111-0005", amount=50000,
                                       call_block=CallBlock.installment),
        "paid": factories.owed_case(dbsession, name="完納 六郎", phone="03-1111-0006", amount=0),
    }
    dbsession.commit()
    return cases


CAMPAIGN_FORM = {
    "name": "11月 現年度 納付案内", "starts_on": "2026-11-24", "ends_on": "2026-12-25",
    "weekday_start": "09:00", "weekday_end": "20:00", "saturday_start": "09:00",
    "saturday_end": "17:00", "max_attempts": "6", "min_interval_minutes": "240",
    "daily_limit": "2", "weekly_limit": "5", "tax_type": "", "fiscal_year": "",
    "delinquency": "any", "category": "", "balance_min": "", "balance_max": "", "phone": "any",
}


def create_campaign(testapp, **overrides):
    token = csrf_token(testapp, "/calls/campaigns/new")
    res = testapp.post("/calls/campaigns/new", {**CAMPAIGN_FORM, **overrides, "csrf_token": token},
                       status=303)
    run_jobs(testapp)  # the build is a background job (issue 21)
    return res.follow()


def activate(testapp, page):
    path = page.request.path.rstrip("/") + "/"
    testapp.post(path + "activate", {"csrf_token": csrf_token(testapp, path)}, status=303)


def counts(page):
    return {td["data-status"]: int(td.text) for td in page.html.select("td[data-status]")}


@pytest.fixture
def campaign(testapp, staff, owed):
    login(testapp, "c1")
    page = create_campaign(testapp)
    activate(testapp, page)
    return page


def next_call(testapp):
    res = testapp.post("/calls/next", {"csrf_token": csrf_token(testapp, "/calls/")}, status=303)
    return res


def target_id(res) -> int | None:
    match = re.search(r"/calls/targets/(\d+)/?$", res.location)
    return int(match.group(1)) if match else None


def record(testapp, tid, status=303, **fields):
    path = f"/calls/targets/{tid}/"
    return testapp.post(path + "result", {"csrf_token": csrf_token(testapp, path), **fields},
                        status=status)


def test_a_collector_creates_a_campaign_grouped_and_filtered(testapp, staff, owed, dbsession):
    login(testapp, "c1")
    page = create_campaign(testapp)
    assert "準備中" in page.text
    # 6 callable cases (blocked and paid are out), one target per person:
    # the husband (no number of his own) goes to letters, not on his wife's call
    assert page.html.select_one("#campaign-cases").text == "6"
    assert counts(page) == {"queued": 4, "promised": 0, "handed_over": 0, "no_phone": 2,
                            "finished": 0}
    campaign = dbsession.scalars(sa.select(CallCampaign)).one()
    members = {t.status: {m.case.case_no for m in t.members} for t in dbsession.scalars(
        sa.select(CallTarget).where(CallTarget.group_key.in_(
            [f"t:{owed[k].taxpayer.taxpayer_no}" for k in ("wife", "husband")])))}
    assert members == {TargetStatus.queued: {owed["wife"].case_no},
                       TargetStatus.no_phone: {owed["husband"].case_no}}
    assert campaign.created_by == staff["c1"].id


def test_campaign_filters(testapp, staff, owed):
    login(testapp, "c1")
    page = create_campaign(testapp, delinquency="past")
    assert page.html.select_one("#campaign-cases").text == "1"  # only the 2024 debt
    page = create_campaign(testapp, name="2", balance_min="10000", balance_max="30000", phone="known")
    # old (2024) is in the first campaign already; in the household only the wife
    # (15,000) has a number of her own, the husband (25,000) has none
    assert page.html.select_one("#campaign-cases").text == "1"


@pytest.mark.parametrize("field,value", [
    ("name", ""), ("starts_on", "2026-13-01"), ("weekday_start", "21:00"), ("max_attempts", "0"),
    ("tax_type", "income"), ("balance_min", "abc"), ("name", "x" * 201),
])
def test_bad_campaign_forms_are_rejected_with_a_message(testapp, staff, owed, field, value, dbsession):
    login(testapp, "c1")
    token = csrf_token(testapp, "/calls/campaigns/new")
    res = testapp.post("/calls/campaigns/new", {**CAMPAIGN_FORM, field: value, "csrf_token": token},
                       status=400)
    assert res.html.select_one(".error li").text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallCampaign)) == 0


def test_operators_see_cases_only_while_the_campaign_is_active(testapp, staff, owed, engine):
    login(testapp, "c1")
    page = create_campaign(testapp)
    login(testapp, "op1")
    mark = log_mark(engine)
    testapp.get(f"/cases/{owed['big'].case_no}/", status=403)
    (entry,) = entries_since(engine, mark, kind="request")
    assert (entry.outcome, entry.login) == ("denied", "op1")
    testapp.get("/calls/campaigns/", status=403)
    login(testapp, "c1")
    activate(testapp, page)
    login(testapp, "op1")
    testapp.get(f"/cases/{owed['big'].case_no}/", status=200)
    testapp.get(f"/cases/{owed['blocked'].case_no}/", status=403)  # flagged: never


def test_next_call_gives_the_priority_order_and_never_the_same_target(testapp, campaign, owed, dbsession):
    login(testapp, "op1")
    first = target_id(next_call(testapp))
    login(testapp, "op2")
    second = target_id(next_call(testapp))
    assert first != second
    targets = {t.id: {m.case.case_no for m in t.members} for t in dbsession.scalars(sa.select(CallTarget))}
    # oldest debt first, then the largest balance
    assert targets[first] == {owed["old"].case_no}
    assert targets[second] == {owed["big"].case_no}
    # asking again resumes the held lease
    assert target_id(next_call(testapp)) == second


def test_the_call_screen_has_the_script_and_the_operators_facets(testapp, campaign, owed):
    login(testapp, "op1")
    res = next_call(testapp).follow()
    assert "03-0000-0000" in res.text and "委託を受けて" in res.text
    assert "古株 二郎" in res.text
    assert res.html.select_one('a[href="tel:0311110002"]') is not None
    assert "memo-warning" in res.text
    assert "住民番号" not in res.text  # resident record is not an operator facet


def test_outside_calling_hours_the_queue_gives_nothing(testapp, campaign, clock):
    clock.advance(hours=11)  # 20:30 JST
    login(testapp, "op1")
    res = next_call(testapp)
    assert res.location.endswith("/calls/?notice=closed")
    assert "架電時間外" in res.follow().text
    clock.advance(days=5, hours=-6)  # Sunday 2026-11-29 14:30 JST
    login(testapp, "op1")
    assert next_call(testapp).location.endswith("notice=closed")


@pytest.mark.parametrize("disposition,fields,status,queue_class", [
    ("no_answer", {}, TargetStatus.queued, QueueClass.normal),
    ("answering_machine", {}, TargetStatus.queued, QueueClass.normal),
    ("busy", {}, TargetStatus.queued, QueueClass.normal),
    ("other_person", {}, TargetStatus.queued, QueueClass.normal),
    ("promise", {"promise_amount": "２０，０００", "promise_on": "2026-11-30"}, TargetStatus.promised, QueueClass.normal),
    # issue 20: an "already paid" claim is recorded as told, not turned into a
    # promise; a refusal is handed over to staff (滞納処分 is theirs to decide).
    ("paid_claimed", {"paid_on": "2026-11-20", "paid_amount": "5000"}, TargetStatus.queued, QueueClass.normal),
    ("refused", {}, TargetStatus.handed_over, QueueClass.normal),
    ("consultation", {"handover_reason": "分納の相談"}, TargetStatus.handed_over, QueueClass.normal),
    ("slip_reissue", {}, TargetStatus.queued, QueueClass.normal),
    ("direct_debit", {}, TargetStatus.queued, QueueClass.normal),
    ("callback", {"callback_on": "2026-11-25", "callback_time": "18:30"}, TargetStatus.queued, QueueClass.callback),
    ("wrong_number", {}, TargetStatus.no_phone, QueueClass.normal),
])
def test_each_disposition(testapp, campaign, dbsession, staff, disposition, fields, status, queue_class, clock):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    res = record(testapp, tid, disposition=disposition, memo="テスト", **fields)
    assert res.location.endswith("/calls/?notice=recorded")
    target = dbsession.get(CallTarget, tid)
    assert (target.status, target.queue_class, target.attempts) == (status, queue_class, 1)
    assert target.leased_by is None
    if status == TargetStatus.queued and queue_class == QueueClass.normal:
        assert target.due_at > clock.now()
    if disposition == "promise":
        promise = dbsession.scalars(sa.select(Promise).where(Promise.target_id == tid)).one()
        assert (promise.amount, promise.due_on, promise.status) == (20000, dt.date(2026, 11, 30),
                                                                   PromiseStatus.open)
    if disposition == "callback":
        assert target.callback_at == dt.datetime(2026, 11, 25, 9, 30)  # 18:30 JST
        assert target.callback_operator_id == staff["op1"].id
    if disposition == "wrong_number":
        assert dbsession.get(Phone, target.phone_id or 0) is None
        assert dbsession.scalars(sa.select(Phone).where(Phone.unusable.is_(True))).one()
    if disposition in ("consultation", "refused"):
        assert dbsession.scalars(sa.select(Handover).where(Handover.target_id == tid)).one()
    if disposition == "paid_claimed":
        assert dbsession.scalars(sa.select(Promise)).all() == []
        assert target.due_at >= clock.now() + dt.timedelta(days=14)
    # the result is on the case's call log
    case_no = target.members[0].case.case_no
    assert "テスト" in testapp.get(f"/cases/{case_no}/").text


@pytest.mark.parametrize("fields,message", [
    ({"disposition": "promise", "promise_amount": "", "promise_on": "2026-11-30"}, "約束金額"),
    ({"disposition": "promise", "promise_amount": "1000", "promise_on": "2027-06-01"}, "約束日"),
    ({"disposition": "callback", "callback_on": "2026-11-25"}, "時刻"),
    ({"disposition": "consultation"}, "引継ぎ理由"),
    ({"disposition": "steal-data"}, "結果を選んで"),
    ({"disposition": "no_answer", "memo": "x" * 2001}, "長すぎ"),
])
def test_bad_results_are_rejected_and_nothing_is_recorded(testapp, campaign, dbsession, fields, message):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    res = record(testapp, tid, status=400, **fields)
    assert message in res.html.select_one(".error").text
    assert dbsession.get(CallTarget, tid).attempts == 0


def test_a_broken_promise_comes_back_first(testapp, campaign, dbsession, clock):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    record(testapp, tid, disposition="promise", promise_amount="20000", promise_on="2026-11-25")
    clock.advance(days=2)  # Thursday: the promised date has passed unpaid
    login(testapp, "op2")
    assert target_id(next_call(testapp)) == tid
    target = dbsession.get(CallTarget, tid)
    assert target.queue_class == QueueClass.broken_promise
    assert dbsession.scalars(sa.select(Promise)).one().status == PromiseStatus.broken


def test_a_kept_promise_closes_itself(testapp, campaign, dbsession, clock, owed):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    record(testapp, tid, disposition="promise", promise_amount="20000", promise_on="2026-11-27")
    target = dbsession.get(CallTarget, tid)
    for member in target.members:  # the payment arrives (data link)
        member.case.balance = 0
    dbsession.commit()
    login(testapp, "op1")
    assert target_id(next_call(testapp)) != tid
    dbsession.expire_all()
    assert dbsession.scalars(sa.select(Promise)).one().status == PromiseStatus.kept
    assert dbsession.get(CallTarget, tid).status == TargetStatus.finished


def test_callbacks_belong_to_their_operator_until_the_grace_period(testapp, campaign, dbsession, clock):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    record(testapp, tid, disposition="callback", callback_on="2026-11-24", callback_time="10:00")
    clock.advance(minutes=31)  # 10:01 JST: due
    login(testapp, "op2")
    assert target_id(next_call(testapp)) != tid
    login(testapp, "op1")
    assert target_id(next_call(testapp)) == tid  # first for its own operator
    record(testapp, tid, disposition="callback", callback_on="2026-11-24", callback_time="11:00")
    clock.advance(hours=1, minutes=31)  # 11:31: past the 30-minute grace
    login(testapp, "op2")
    assert target_id(next_call(testapp)) == tid


def test_a_hand_over_reaches_the_collectors_inbox(testapp, campaign, dbsession, owed):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    record(testapp, tid, disposition="consultation", handover_reason="分納の相談を希望")
    login(testapp, "c1")
    inbox = testapp.get("/calls/handovers/")
    assert "分納の相談を希望" in inbox.text and "古株 二郎" in inbox.text
    page = testapp.get(inbox.html.select_one("#handovers a")["href"])
    form = page.forms["resolve-form"]
    form["content"] = "来庁時に分納誓約を取得（職員メモ）"
    form.submit(status=303)
    assert "分納の相談を希望" not in testapp.get("/calls/handovers/").text
    # the operator sees that it was handed over, not what staff wrote
    login(testapp, "op1")
    screen = testapp.get(f"/calls/targets/{tid}/")
    assert "引き継ぎ済み" in screen.text
    assert "職員メモ" not in screen.text
    assert "職員メモ" not in testapp.get(f"/cases/{owed['old'].case_no}/").text
    login(testapp, "c1")
    assert "職員メモ" in testapp.get(f"/cases/{owed['old'].case_no}/").text


def test_a_leased_target_cannot_be_recorded_by_another_operator(testapp, campaign, dbsession):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    login(testapp, "op2")
    res = record(testapp, tid, status=409, disposition="no_answer")
    assert "他のオペレータが対応中" in res.text


def test_other_roles_cannot_work_the_queue(testapp, campaign):
    login(testapp, "c1")
    testapp.post("/calls/next", {"csrf_token": csrf_token(testapp)}, status=403)
    login(testapp, "au")
    testapp.get("/calls/campaigns/", status=200)
    testapp.get("/calls/campaigns/new", status=403)
    testapp.get("/calls/handovers/", status=200)


@pytest.mark.parametrize("term", ["０３－１１１１－０００２", "+81 3-1111-0002", "0311110002"])
def test_incoming_lookup_finds_the_caller_in_any_phone_format(testapp, campaign, owed, engine, term):
    login(testapp, "op1")
    form = testapp.get("/calls/lookup").forms["lookup-form"]
    form["phone"] = term
    mark = log_mark(engine)
    res = form.submit()
    rows = res.html.select("#lookup-results tbody tr")
    assert [r.select("td")[0].text for r in rows] == [owed["old"].case_no]
    screen = testapp.get(rows[0].select_one("a.button")["href"])
    assert "古株 二郎" in screen.text
    lookup_entry = entries_since(engine, mark, kind="request")[0]
    assert [c.case_no for c in lookup_entry.cases] == [owed["old"].case_no]
    assert "0002" not in (lookup_entry.query or "") + lookup_entry.path


def test_incoming_lookup_by_notice_number_and_kana_stays_inside_campaigns(testapp, campaign, owed):
    login(testapp, "op1")
    notice = owed["big"].assessments[0].notice_no
    res = testapp.post("/calls/lookup", {"csrf_token": csrf_token(testapp, "/calls/lookup"),
                                         "notice_no": notice})
    assert "大口 一郎" in res.text
    res = testapp.post("/calls/lookup", {"csrf_token": csrf_token(testapp, "/calls/lookup"),
                                         "name": "停止"})  # the flagged case: not in any campaign
    assert "停止 五郎" not in res.text and "0件" in res.text


def test_a_collector_flags_a_case_do_not_call_and_it_leaves_the_queue(testapp, campaign, owed, dbsession):
    case_no = owed["old"].case_no  # first in the queue
    page = testapp.get(f"/cases/{case_no}/")
    form = page.forms["call-block-form"]
    form["call_block"] = "consultation"
    form.submit(status=303)
    assert "相談中" in testapp.get(f"/cases/{case_no}/").html.select_one("#call-block").text
    login(testapp, "op1")
    testapp.get(f"/cases/{case_no}/", status=403)
    tid = target_id(next_call(testapp))
    assert {m.case.case_no for m in dbsession.get(CallTarget, tid).members} == {owed["big"].case_no}
    # cleared again: back to operators
    login(testapp, "c1")
    testapp.post(f"/cases/{case_no}/call-block",
                 {"csrf_token": csrf_token(testapp, f"/cases/{case_no}/"), "call_block": ""}, status=303)
    login(testapp, "op1")
    testapp.get(f"/cases/{case_no}/", status=200)


def test_only_collectors_flag_cases_and_bad_values_are_rejected(testapp, campaign, owed):
    case_no = owed["big"].case_no
    token = csrf_token(testapp, f"/cases/{case_no}/")
    testapp.post(f"/cases/{case_no}/call-block", {"csrf_token": token, "call_block": "nonsense"},
                 status=400)
    login(testapp, "op1")
    assert "call-block-form" not in testapp.get(f"/cases/{case_no}/").text
    testapp.post(f"/cases/{case_no}/call-block",
                 {"csrf_token": csrf_token(testapp, f"/cases/{case_no}/"), "call_block": "deceased"},
                 status=403)


def test_a_found_number_joins_the_queue_after_a_collector_confirms_it(testapp, campaign, owed, dbsession):
    case_no = owed["nophone"].case_no
    login(testapp, "op1")
    page = testapp.get("/calls/phones/")
    assert case_no in page.text
    token = csrf_token(testapp, "/calls/phones/")
    res = testapp.post("/calls/phones/", {"csrf_token": token, "case_no": case_no,
                                          "number": "０９０－８８８８－７７７７", "source": "本人からの手紙"},
                       status=303)
    assert "確認待ち" in res.follow().text
    for bad in ({"number": "12345"}, {"source": ""}, {"case_no": owed["blocked"].case_no},
                {"case_no": "2026-999999"}):
        fields = {"csrf_token": token, "case_no": case_no, "number": "03-1234-5678",
                  "source": "x", **bad}
        assert "error" in testapp.post("/calls/phones/", fields, status=400).text
    testapp.get("/calls/phones/pending", status=403)
    login(testapp, "c1")
    pending = testapp.get("/calls/phones/pending")
    assert "本人からの手紙" in pending.text
    (decide,) = [f for f in pending.forms.values() if f.action.endswith("/decide")]
    decide.submit("decision", value="confirm", status=303)
    target = dbsession.scalars(sa.select(CallTarget).join(CallTarget.members).where(
        sa.text("campaign_cases.case_id = :c")).params(c=owed["nophone"].id)).one()
    assert target.status == TargetStatus.queued and target.phone.digits == "09088887777"
    assert "番号の確認" in pending.text


def check(form, name, value):
    """Tick the checkbox ``name`` whose value is ``value``."""
    for field in form.fields[name]:
        if field._value == value:
            field.checked = True
            return
    raise KeyError(value)


def test_a_correction_is_a_new_record_naming_the_old_one(testapp, campaign, dbsession):
    from intranet.models import CallAttempt, CallRecord

    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    record(testapp, tid, disposition="busy", memo="誤入力")
    screen = testapp.get(f"/calls/targets/{tid}/")
    form_page = testapp.get(screen.html.select_one("a.correct")["href"])
    assert "訂正" in form_page.html.select_one("#result-form h2").text
    form = form_page.forms["result-form"]
    form["result"] = "reached"
    check(form, "action", "promise")
    form["promise_amount"] = "10000"
    form["promise_on"] = "2026-11-30"
    form["memo"] = "約束に訂正"
    form.submit(status=303)
    original, correction = dbsession.scalars(sa.select(CallAttempt).order_by(CallAttempt.id)).all()
    assert (original.result, original.disposition, original.memo) == ("busy", "busy", "誤入力")  # kept
    assert (correction.corrects_id, correction.result, correction.kinds) == (
        original.id, "reached", {"promise"})
    target = dbsession.get(CallTarget, tid)
    assert (target.status, target.attempts) == (TargetStatus.promised, 1)  # not a second call
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallRecord)) == 2
    # the corrected record cannot be corrected again, nor someone else's
    res = record(testapp, tid, status=409, disposition="busy", corrects=str(original.id))
    assert "訂正できません" in res.text
    login(testapp, "op2")
    res = record(testapp, tid, status=409, disposition="busy", corrects=str(correction.id))
    assert "訂正できません" in res.text


# -- 名寄せ by person only (issue 18, point 6; 地方税法22条) ----------------------

def _targets(dbsession) -> dict[int, set[str]]:
    return {t.id: {m.case.case_no for m in t.members} for t in dbsession.scalars(sa.select(CallTarget))}


def _call_log(dbsession, case) -> list[str]:
    return list(dbsession.scalars(sa.select(CallRecord.note).where(CallRecord.case_id == case.id)))


def test_household_members_sharing_a_number_are_two_targets(testapp, staff, dbsession):
    manabu = factories.owed_case(dbsession, name="田村 学", phone="03-3333-0153", amount=30000,
                                 household_no="H153")
    naomi = factories.owed_case(dbsession, name="田村 直美", phone="03-3333-0153", amount=20000,
                                household_no="H153")
    dbsession.commit()
    login(testapp, "c1")
    page = create_campaign(testapp)
    assert counts(page)["queued"] == 2
    activate(testapp, page)
    assert sorted(_targets(dbsession).values()) == sorted([{manabu.case_no}, {naomi.case_no}])
    login(testapp, "op1")
    screen = next_call(testapp).follow()
    tid = int(screen.request.path.rstrip("/").rsplit("/", 1)[1])
    assert _targets(dbsession)[tid] == {manabu.case_no}  # the larger balance first
    assert "田村 学" in screen.text and "田村 直美" not in screen.text
    assert naomi.case_no not in screen.text
    record(testapp, tid, disposition="promise", promise_amount="30000", promise_on="2026-11-30",
           memo="本人と話した")
    dbsession.expire_all()
    assert _call_log(dbsession, manabu) == ["本人と話した"]
    assert _call_log(dbsession, naomi) == []
    other = dbsession.scalars(sa.select(CallTarget).where(CallTarget.id != tid)).one()
    assert (other.status, other.attempts) == (TargetStatus.queued, 0)
    login(testapp, "c1")
    assert "本人と話した" not in testapp.get(f"/cases/{naomi.case_no}/").text


def test_one_taxpayers_cases_of_both_tax_types_are_one_target(testapp, staff, dbsession):
    resident = factories.owed_case(dbsession, name="両税 一郎", phone="03-3333-0201", amount=30000)
    vehicle = factories.another_owed_case(dbsession, resident.taxpayer, amount=7200)
    older = factories.another_owed_case(dbsession, resident.taxpayer, amount=9000,
                                        due=dt.date(2025, 5, 31), fiscal_year=2025)
    dbsession.commit()
    login(testapp, "c1")
    activate(testapp, create_campaign(testapp))
    (target,) = dbsession.scalars(sa.select(CallTarget)).all()
    assert {m.case.case_no for m in target.members} == {
        resident.case_no, vehicle.case_no, older.case_no}
    assert target.group_key == f"t:{resident.taxpayer.taxpayer_no}"
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    record(testapp, tid, disposition="no_answer", memo="留守")
    dbsession.expire_all()
    assert [_call_log(dbsession, c) for c in (resident, vehicle, older)] == [["留守"]] * 3


def test_records_declared_the_same_person_are_one_target(testapp, staff, dbsession):
    first = factories.owed_case(dbsession, name="重複 三郎", phone="03-3333-0301", amount=30000)
    second = factories.owed_case(dbsession, name="重複 三郎", phone=None, amount=12000)
    second.taxpayer.same_person_as = first.taxpayer.taxpayer_no
    # a third record of the same person, linked through the second (a chain)
    third = factories.owed_case(dbsession, name="重複 三郎", phone=None, amount=5000)
    third.taxpayer.same_person_as = second.taxpayer.taxpayer_no
    stranger = factories.owed_case(dbsession, name="他人 四郎", phone="03-3333-0301", amount=9000)
    dbsession.commit()
    login(testapp, "c1")
    page = create_campaign(testapp)
    assert counts(page)["queued"] == 2 and counts(page)["no_phone"] == 0
    activate(testapp, page)
    targets = sorted(_targets(dbsession).values(), key=len)
    assert targets == [{stranger.case_no}, {first.case_no, second.case_no, third.case_no}]
    person = dbsession.scalars(sa.select(CallTarget).where(
        CallTarget.group_key == f"t:{first.taxpayer.taxpayer_no}")).one()
    assert person.phone.taxpayer_id == first.taxpayer_id
    login(testapp, "op1")
    assert target_id(next_call(testapp)) == person.id
    record(testapp, person.id, disposition="no_answer", memo="同一人")
    dbsession.expire_all()
    assert [_call_log(dbsession, c) for c in (first, second, third, stranger)] == [
        ["同一人"], ["同一人"], ["同一人"], []]


def test_a_target_mixing_two_people_is_not_recorded(testapp, staff, dbsession, clock):
    """A target built before the rule (one household on one call) is refused."""
    a = factories.owed_case(dbsession, name="旧世帯 一郎", phone="03-3333-0401")
    b = factories.owed_case(dbsession, name="旧世帯 花子", phone="03-3333-0401")
    campaign = factories.campaign(dbsession, [])
    target = CallTarget(campaign_id=campaign.id, group_key="p:0333330401", phone_id=a.taxpayer.phones[0].id,
                        status=TargetStatus.queued, queue_class=int(QueueClass.normal), attempts=0,
                        oldest_due_on=dt.date(2026, 6, 30), balance_key=-60000, due_at=clock.now(),
                        day_count=0, week_count=0)
    dbsession.add(target)
    dbsession.flush()
    dbsession.add_all([CampaignCase(campaign_id=campaign.id, case_id=c.id, target_id=target.id)
                       for c in (a, b)])
    dbsession.commit()
    login(testapp, "op1")
    res = record(testapp, target.id, status=409, disposition="no_answer", memo="x")
    assert "地方税法22条" in res.html.select_one(".error").text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 0
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallRecord)) == 0


def test_campaign_filters_use_the_holiday_shifted_due_date(testapp, staff, dbsession):
    """An installment due on Sunday 2026-11-22 is not overdue on Tuesday
    2026-11-24 (the tests' today): the 納期限 moves to the next business day
    (地方税法20条の5②; 11-23 is 勤労感謝の日, 祝日法), Tuesday 11-24, and it
    is past due only from the day after. So a light-vehicle filter does not
    pick a case whose only light-vehicle installment is that one; it does
    pick one whose light-vehicle installment was due in May."""
    from intranet.models import TaxType
    from intranet.taxes.duedates import next_business_day

    assert next_business_day(dt.date(2026, 11, 22)) == dt.date(2026, 11, 24)
    assert dt.date(2026, 11, 22).weekday() == 6
    shifted = factories.owed_case(dbsession, name="休日 一郎", phone="03-1111-0101", amount=20000,
                                  due=dt.date(2024, 5, 31), fiscal_year=2024)
    factories._owe(dbsession, shifted, 8000, dt.date(2026, 11, 22), 2026, TaxType.light_vehicle)
    overdue = factories.owed_case(dbsession, name="期限 二郎", phone="03-1111-0102", amount=8000,
                                  due=dt.date(2026, 5, 31), fiscal_year=2026,
                                  tax_type=TaxType.light_vehicle)
    dbsession.commit()
    login(testapp, "c1")
    page = create_campaign(testapp, tax_type="light_vehicle")
    assert page.html.select_one("#campaign-cases").text == "1"
    members = {c for (c,) in dbsession.execute(sa.select(CampaignCase.case_id))}
    assert members == {overdue.id}


def _late_charge_90000_from_june_30_to_nov_24() -> int:
    """延滞金 on 90,000 yen due Tuesday 2026-06-30, unpaid, to 2026-11-24 (the
    tests' today), computed here: 地方税法326条 with 附則3条の2 (2026: 2.8%
    the first month, 9.1% after, as in intranet/taxes/rates.py), 365-day
    year, each segment cut to the yen, the sum cut to the 100 yen (20条の4の2⑤).
    First month 07-01..07-31 (31 days, 民法143条), then 08-01..11-24 (116 days)."""
    first = 90_000 * 28 * 31 // (1000 * 365)
    after = 90_000 * 91 * (31 + 30 + 31 + 24) // (1000 * 365)
    assert (first, after) == (214, 2602)
    return (first + after) // 100 * 100


def test_the_call_screen_shows_the_demandable_split_and_not_due_apart(testapp, staff, dbsession):
    """The operator reads out what is demandable today (intranet.taxes.owed);
    tax not yet due is shown apart, never as owed (docs/taxes.md, "Amounts owed")."""
    case = factories.owed_case(dbsession, name="読上 一郎", phone="03-1111-0201", amount=90000,
                               due=dt.date(2026, 6, 30), fiscal_year=2026)
    factories._owe(dbsession, case, 10000, dt.date(2026, 11, 30), 2026, factories.TaxType.resident)
    dbsession.commit()
    login(testapp, "c1")
    activate(testapp, create_campaign(testapp))
    login(testapp, "op1")
    res = next_call(testapp).follow()
    split = res.html.select_one(f"#owed-{case.case_no}")
    charge = _late_charge_90000_from_june_30_to_nov_24()
    assert charge == 2800

    def yen(cls):
        return split.select_one(cls).text.replace(",", "").replace("円", "").replace("¥", "").strip()
    assert yen(".owed-overdue") == str(90000 + charge)
    assert yen(".owed-tax-overdue") == "90000"
    assert yen(".owed-lc-accruing") == str(charge)
    assert yen(".owed-lc-fixed") == "0" and yen(".owed-fee") == "0"
    not_due = split.select_one(".owed-not-due").text
    assert "10,000" in not_due and "読み上げないでください" in not_due
    assert "10,000" not in split.select_one("dl").text  # never among what is owed


def test_the_call_screen_shows_no_amounts_without_the_payment_facet(testapp, campaign, owed,
                                                                   monkeypatch):
    from intranet.calls.views import call
    from intranet.security.matrix import Facet

    monkeypatch.setattr(call, "CALL_SCREEN_FACETS",
                        tuple(f for f in call.CALL_SCREEN_FACETS if f != Facet.payment))
    login(testapp, "op1")
    res = next_call(testapp).follow()
    assert not res.html.select(".owed-split") and "請求できる額" not in res.text


def test_the_campaign_form_says_the_balance_filters_are_the_overdue_amount(testapp, staff):
    login(testapp, "c1")
    form = testapp.get("/calls/campaigns/new").html
    for name in ("balance_min", "balance_max"):
        assert form.select_one(f"#{name}")["aria-describedby"] == "balance-help"
    assert "最後の取込の日時点で納期限を過ぎている" in form.select_one("#balance-help").text
    testapp.set_cookie("lang", "en")
    form = testapp.get("/calls/campaigns/new").html
    assert "as of the day of the last import" in form.select_one("#balance-help").text
