"""Screening of forbidden categories (issue 23), through the real app on
SQLite and PostgreSQL.

Seed 004 (個人情報取扱特記事項 ５ 収集禁止事項): the servicer must not collect
(1) 思想、信条及び宗教に関する事項, (2) 社会的差別の原因となる事実に関する事項,
(3) 犯罪に関する事項 — the same kind of data the personal-information law calls
要配慮個人情報 (個人情報保護法2条3項). Free text typed by investigators and
operators is screened against the ward's term list on save; a hit is refused
unless the writer confirms why the words are needed, and a confirmed hit is
flagged, left out of exports until a collector reviews it, and counted in the
monthly log review.
"""
import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa

from intranet.datalink import exporter
from intranet.models import CallAttempt, FlagState, Handover, Role, ScreeningFlag, SurveyReport, User
from intranet.screening.flags import MARKER
from tests import factories
from tests.functional import test_calls, test_survey
from tests.functional.test_call_actions import post_call, post_incoming
from tests.functional.test_calls import next_call, target_id
from tests.functional.test_survey import make_batch, report
from tests.helpers import csrf_token, entries_since, log_mark, login

#: The field-survey world of tests/functional/test_survey.py (a collector
#: "boss", investigators k1 and k2, a batch to make).
survey = test_survey.survey

FORBIDDEN_MEMO = "本人は創価学会の会員で生活保護を受けており前科がある"
REASON = "家主が宗教法人のため"


def _target(testapp):
    login(testapp, "k1")
    return testapp.get("/survey/").html.select_one("#my-targets a")["href"]


def _reports(dbsession) -> int:
    return dbsession.scalar(sa.select(sa.func.count()).select_from(SurveyReport))


def _flags(dbsession) -> list[ScreeningFlag]:
    dbsession.expire_all()
    return list(dbsession.scalars(sa.select(ScreeningFlag).order_by(ScreeningFlag.id)))


def _datalink_surveys(dbsession, clock) -> list[dict]:
    export = exporter.build(dbsession, None, clock.now() + dt.timedelta(minutes=1), "utf-8")
    text = export.files["survey_results.csv"].decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_a_memo_naming_religion_welfare_and_a_record_is_refused_and_nothing_stored(
        testapp, survey, dbsession, engine):
    """The tester's memo of the issue: three categories, highlighted, nothing
    stored, the refusal logged without the text."""
    make_batch(testapp, survey)
    href = _target(testapp)
    before = _reports(dbsession)
    mark = log_mark(engine)
    res = report(testapp, href, status=400, memo=FORBIDDEN_MEMO)
    marks = res.html.select("#screening-hits mark.screening-term")
    assert {(m.text, m["data-category"]) for m in marks} == {
        ("創価学会", "religion"), ("生活保護", "welfare"), ("前科", "criminal_record")}
    hits = res.html.select_one("#screening-hits").text
    assert "宗教" in hits and "生活保護等" in hits and "犯罪歴" in hits
    assert "保存していません" in res.html.select_one(".error").text
    # the form keeps what was typed, to be rewritten
    assert res.html.select_one("#memo").text == FORBIDDEN_MEMO
    assert _reports(dbsession) == before and _flags(dbsession) == []
    (event,) = entries_since(engine, mark, kind="event")
    assert (event.event, event.outcome) == ("screening.hit", "failure")
    detail = json.loads(event.detail)
    assert detail["fields"] == ["memo"]
    assert set(detail["categories"]) == {"religion", "welfare", "criminal_record"}
    assert "創価" not in event.detail and "前科" not in event.detail


def test_text_with_none_of_the_terms_saves_at_once(testapp, survey, dbsession):
    make_batch(testapp, survey)
    href = _target(testapp)
    before = _reports(dbsession)
    # innocent look-alikes: 前回 typed in kana holds ぜんか, a network fault holds 障害
    report(testapp, href, memo="ぜんかいの訪問時は不在。通信障害で電話も不通。表札あり",
           landlord_name="梅田管理株式会社")
    assert _reports(dbsession) == before + 1 and _flags(dbsession) == []


@pytest.mark.parametrize("memo,category", [
    ("ｾｲｶﾂﾎｺﾞ受給中とのこと", "welfare"),       # half-width katakana
    ("近所の話ではゼンカがある", "criminal_record"),  # katakana for 前科
    ("シュウキョウの勧誘をしている", "religion"),
    ("せいかつ　ほごを受けている", "welfare"),     # hiragana with a full-width space
    ("ＨＩＶの治療中", "medical"),                # full-width Latin letters
    ("障害者手帳を持っている", "disability"),
    ("同和地区の出身", "social_status"),
    ("刑務所から出てきたばかり", "criminal_record"),
])
def test_width_and_kana_variants_are_caught(testapp, survey, dbsession, memo, category):
    make_batch(testapp, survey)
    href = _target(testapp)
    before = _reports(dbsession)
    res = report(testapp, href, status=400, memo=memo)
    assert category in {m["data-category"] for m in res.html.select("#screening-hits mark")}
    assert _reports(dbsession) == before


def test_a_religious_corporation_as_landlord_is_confirmed_with_a_reason_then_flagged(
        testapp, survey, dbsession, engine):
    """宗教法人 as the landlord's name is legitimate: confirmation, not refusal."""
    make_batch(testapp, survey)
    href = _target(testapp)
    before = _reports(dbsession)
    res = report(testapp, href, status=400, landlord_name="宗教法人〇〇寺")
    assert [m.text for m in res.html.select("#screening-hits mark")] == ["宗教"]
    assert res.html.select_one("#screening-hits li")["data-field"] == "landlord_name"
    assert res.html.select_one("#screening_confirm") is not None
    # ticked without a reason: still refused
    res = report(testapp, href, status=400, landlord_name="宗教法人〇〇寺", screening_confirm="1")
    assert "理由を入力" in res.html.select_one(".error").text
    assert _reports(dbsession) == before
    mark = log_mark(engine)
    report(testapp, href, landlord_name="宗教法人〇〇寺", screening_confirm="1",
           screening_reason=REASON)
    assert _reports(dbsession) == before + 1
    (flag,) = _flags(dbsession)
    stored = dbsession.get(SurveyReport, flag.record_id)
    assert stored.landlord_name == "宗教法人〇〇寺"
    assert (flag.record_type, flag.field, flag.category_list, flag.term_list, flag.reason, flag.state) == (
        "survey_report", "landlord_name", ["religion"], ["宗教"], REASON, FlagState.pending)
    assert flag.flagged_by == survey["k1"].id and flag.case_id == survey["sentinel"].id
    assert flag.organisation_id == survey["k1"].organisation_id
    events = {e.event: e for e in entries_since(engine, mark, kind="event")}
    assert set(events) == {"survey.report", "screening.confirmed"}
    detail = json.loads(events["screening.confirmed"].detail)
    assert (detail["record"], detail["fields"], detail["categories"]) == (
        flag.record_id, ["landlord_name"], ["religion"])
    assert "宗教" not in events["screening.confirmed"].detail


def _flag_forbidden_memo(testapp, survey, dbsession):
    batch_path = make_batch(testapp, survey)
    href = _target(testapp)
    report(testapp, href, memo=FORBIDDEN_MEMO, screening_confirm="1", screening_reason="本人の申告どおり記録")
    (flag,) = _flags(dbsession)
    return batch_path, flag


def test_a_flagged_memo_is_left_out_of_the_exports_until_reviewed(testapp, survey, dbsession, clock):
    batch_path, flag = _flag_forbidden_memo(testapp, survey, dbsession)
    rows = _datalink_surveys(dbsession, clock)
    assert not any("創価" in value for r in rows for value in r.values())
    (row,) = [r for r in rows if r["memo"] == MARKER]
    assert row["case_no"] == survey["sentinel"].case_no and row["landlord_name"] == "梅田管理株式会社"
    login(testapp, "boss")
    batch_csv = testapp.get(batch_path.rstrip("/") + "/export", {"format": "csv"}).body.decode("utf-8-sig")
    assert MARKER in batch_csv and "創価" not in batch_csv
    # a collector keeps it (確認済): the next exports carry the text
    res = testapp.get("/screening/")
    token = res.html.select_one(f"tr[data-flag='{flag.id}'] input[name=csrf_token]")["value"]
    testapp.post("/screening/review", {"csrf_token": token, "flag": str(flag.id), "decision": "keep"},
                 status=303)
    (row,) = [r for r in _datalink_surveys(dbsession, clock) if r["memo"].startswith("本人は")]
    assert row["memo"] == FORBIDDEN_MEMO
    batch_csv = testapp.get(batch_path.rstrip("/") + "/export", {"format": "csv"}).body.decode("utf-8-sig")
    assert FORBIDDEN_MEMO in batch_csv and MARKER not in batch_csv


def test_the_review_page_redacts_the_terms_and_logs_who(testapp, survey, dbsession, engine, clock,
                                                        password_context):
    _, flag = _flag_forbidden_memo(testapp, survey, dbsession)
    factories.user(dbsession, password_context, Role.auditor, login="au")
    dbsession.commit()
    # investigators and operators never see the review
    testapp.get("/screening/", status=403)
    login(testapp, "boss")
    page = testapp.get("/screening/")
    row = page.html.select_one(f"tr[data-flag='{flag.id}']")
    assert {m.text for m in row.select("mark.screening-term")} == {"創価学会", "生活保護", "前科"}
    assert "本人の申告どおり記録" in row.text and "確認待ち" in row.text
    mark = log_mark(engine)
    token = row.select_one("input[name=csrf_token]")["value"]
    res = testapp.post("/screening/review", {"csrf_token": token, "flag": str(flag.id),
                                              "decision": "redact"}, status=303).follow()
    assert "＊＊＊に置き換えました" in res.text
    events = entries_since(engine, mark, kind="event")
    assert [e.event for e in events] == ["screening.redacted"]
    dbsession.expire_all()
    stored = dbsession.get(SurveyReport, flag.record_id)
    assert stored.memo == "本人は＊＊＊の会員で＊＊＊を受けており＊＊＊がある"
    flag = dbsession.get(ScreeningFlag, flag.id)
    boss = dbsession.scalars(sa.select(User).where(User.login == "boss")).one()
    assert (flag.state, flag.reviewed_by, flag.reviewed_at) == (FlagState.redacted, boss.id, clock.now())
    # reviewed once: a second decision is refused
    token = csrf_token(testapp, "/screening/")
    testapp.post("/screening/review", {"csrf_token": token, "flag": str(flag.id), "decision": "keep"},
                 status=409)
    testapp.post("/screening/review", {"csrf_token": token, "flag": "99999", "decision": "keep"},
                 status=400)
    # the exports carry the redacted text
    (row,) = [r for r in _datalink_surveys(dbsession, clock) if r["memo"].startswith("本人は")]
    assert row["memo"] == stored.memo
    # auditors read the page (all flags) but decide nothing
    login(testapp, "au")
    page = testapp.get("/screening/", {"state": "all"})
    assert page.html.select_one(f"tr[data-flag='{flag.id}']") is not None
    assert page.html.select_one(f"tr[data-flag='{flag.id}'] form") is None


# ---------------------------------------------------------------- the call center

staff, owed, campaign = test_calls.staff, test_calls.owed, test_calls.campaign


def _datalink(dbsession, clock, name) -> list[dict]:
    export = exporter.build(dbsession, None, clock.now() + dt.timedelta(minutes=1), "utf-8")
    return list(csv.DictReader(io.StringIO(export.files[name].decode("utf-8-sig"), newline="")))


def test_an_operators_call_memo_is_screened_and_rewritten(testapp, campaign, dbsession, engine):
    """Seed 000's operators hear a lot on the phone: what they type is
    screened like the investigators' memos."""
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    mark = log_mark(engine)
    res = post_call(testapp, tid, status=400, result="reached", memo="本人はうつ病で通院中、ｾｲｶﾂﾎｺﾞを受けている")
    assert {(m.text, m["data-category"]) for m in res.html.select("#screening-hits mark")} == {
        ("うつ病", "medical"), ("通院", "medical"), ("ｾｲｶﾂﾎｺﾞ", "welfare")}
    assert res.html.select_one("#memo").text == "本人はうつ病で通院中、ｾｲｶﾂﾎｺﾞを受けている"
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 0
    assert [e.event for e in entries_since(engine, mark, kind="event")] == ["screening.hit"]
    # rewritten without the words: recorded at once, nothing flagged
    post_call(testapp, tid, result="reached", memo="体調がすぐれないため来週に再度連絡")
    assert dbsession.scalars(sa.select(CallAttempt)).one().memo == "体調がすぐれないため来週に再度連絡"
    assert _flags(dbsession) == []


def test_a_confirmed_hand_over_reason_is_flagged_withheld_and_redacted(testapp, campaign, dbsession,
                                                                        clock):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    fields = {"result": "reached", "memo": "分納の相談希望",
              "handover_reason": "逮捕されて服役していたため収入がない"}
    res = post_call(testapp, tid, status=400, actions=["handover"], **fields)
    assert [h["data-field"] for h in res.html.select("#screening-hits li")] == ["handover_reason"]
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Handover)) == 0
    post_call(testapp, tid, actions=["handover"], screening_confirm="1",
              screening_reason="収入がない理由として本人が説明", **fields)
    (flag,) = _flags(dbsession)
    attempt = dbsession.scalars(sa.select(CallAttempt)).one()
    assert (flag.record_type, flag.record_id, flag.field, flag.category_list) == (
        "call_attempt", attempt.id, "handover_reason", ["criminal_record"])
    assert flag.case_id is not None
    (handover,) = dbsession.scalars(sa.select(Handover)).all()
    assert "逮捕" in handover.reason
    # withheld from the data link until reviewed; the memo has no flag and goes out
    (row,) = _datalink(dbsession, clock, "handovers.csv")
    assert row["reason"] == MARKER
    (call,) = _datalink(dbsession, clock, "call_results.csv")
    assert call["memo"] == "分納の相談希望"
    login(testapp, "c1")
    page = testapp.get("/screening/")
    assert {m.text for m in page.html.select(f"tr[data-flag='{flag.id}'] mark")} == {"逮捕", "服役"}
    testapp.post("/screening/review", {"csrf_token": csrf_token(testapp, "/screening/"),
                                       "flag": str(flag.id), "decision": "redact"}, status=303)
    dbsession.expire_all()
    assert dbsession.get(Handover, handover.id).reason == "【相談希望】＊＊＊されて＊＊＊していたため収入がない"
    (row,) = _datalink(dbsession, clock, "handovers.csv")
    assert row["reason"] == "【相談希望】＊＊＊されて＊＊＊していたため収入がない"


def test_an_incoming_call_memo_without_a_case_is_screened(testapp, staff, dbsession, clock):
    login(testapp, "op1")
    memo = "ｴﾎﾊﾞの証人の勧誘と思われる電話"
    res = post_incoming(testapp, "/calls/incoming", status=400, reason="enquiry_only", memo=memo)
    assert [m["data-category"] for m in res.html.select("#screening-hits mark")] == ["religion"]
    post_incoming(testapp, "/calls/incoming", reason="enquiry_only", memo=memo, screening_confirm="1",
                  screening_reason="用件の記録として必要")
    (flag,) = _flags(dbsession)
    assert (flag.record_type, flag.field, flag.case_id) == ("call_attempt", "memo", None)
    # collectors see it on the review page; keeping it lets it out
    login(testapp, "c1")
    row = testapp.get("/screening/").html.select_one(f"tr[data-flag='{flag.id}']")
    assert row.select_one("mark").text == "ｴﾎﾊﾞ"
    testapp.post("/screening/review", {"csrf_token": csrf_token(testapp, "/screening/"),
                                       "flag": str(flag.id), "decision": "keep"}, status=303)
    dbsession.expire_all()
    assert dbsession.get(ScreeningFlag, flag.id).state == FlagState.kept
    assert dbsession.scalars(sa.select(CallAttempt)).one().memo == memo


def test_the_incoming_call_on_a_case_is_screened(testapp, campaign, owed, dbsession):
    login(testapp, "op1")
    path = f"/cases/{owed['big'].case_no}/incoming"
    res = post_incoming(testapp, path, status=400, result="reached", memo="部落の出身だと話していた")
    assert [m["data-category"] for m in res.html.select("#screening-hits mark")] == ["social_status"]
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 0
    post_incoming(testapp, path, result="reached", memo="納付書の再発行を希望")
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 1


# ---------------------------------------------------------------- the monthly log review

def test_the_monthly_log_review_counts_confirmed_hits_per_organisation(
        testapp, survey, dbsession, clock, password_context):
    """The month's confirmed hits of each contractor, and what became of
    them, are figures of the monthly log review (ログの定期分析) and are kept
    with its sign-off."""
    make_batch(testapp, survey)
    href = _target(testapp)
    report(testapp, href, memo=FORBIDDEN_MEMO, landlord_name="宗教法人〇〇寺", screening_confirm="1",
           screening_reason=REASON)
    memo_flag, landlord_flag = sorted(_flags(dbsession), key=lambda f: f.field != "memo")
    assert (memo_flag.field, landlord_flag.field) == ("memo", "landlord_name")
    login(testapp, "boss")
    testapp.post("/screening/review", {"csrf_token": csrf_token(testapp, "/screening/"),
                                       "flag": str(memo_flag.id), "decision": "redact"}, status=303)
    factories.user(dbsession, password_context, Role.auditor, login="au")
    dbsession.commit()
    code = survey["k1"].organisation.code
    login(testapp, "au")

    def figures(page):
        table = page.html.select_one(f"#screening-table-{code}")
        return {td["data-key"]: td.text for td in table.select("td")}

    assert figures(testapp.get("/audit/reviews/2026-11")) == {
        "screening_confirmed": "2", "screening_kept": "0", "screening_redacted": "1",
        "screening_pending": "1"}
    # the next month counts nothing; the sign-off keeps the figures the reviewer saw
    clock.advance(days=8)
    login(testapp, "au")
    assert figures(testapp.get("/audit/reviews/2026-12"))["screening_confirmed"] == "0"
    testapp.post("/audit/reviews/2026-11", {"csrf_token": csrf_token(testapp, "/audit/reviews/"),
                                            "finding": "理由付き保存2件を確認（1件は伏せ字済み）"}, status=303)
    signed = testapp.get("/audit/reviews/2026-11").html.select_one("#signed-counts")
    row = {td["data-key"]: td.text for td in signed.select("tr td")}
    assert (row["screening_confirmed"], row["screening_redacted"], row["screening_pending"]) == ("2", "1", "1")


# ---------------------------------------------------------------- collectors' contact records

def test_a_collectors_contact_note_is_screened_too(testapp, staff, dbsession):
    """経過記録 are the ward's own records, but the same categories must not be
    collected; a confirmed note waits for review like the others."""
    case = factories.owed_case(dbsession, name="経過 記録")
    dbsession.commit()
    login(testapp, "c1")
    path = f"/cases/{case.case_no}/"
    fields = {"kind": "visit", "occurred_at": "2026-11-20T14:30", "counterpart_kind": "taxpayer",
              "counterpart": "", "place": "自宅", "note": "本人は精神疾患で入院していたとのこと"}
    res = testapp.post(path + "contact", {"csrf_token": csrf_token(testapp, path), **fields}, status=400)
    assert {m.text for m in res.html.select("#screening-hits mark")} == {"精神疾患", "入院"}
    assert res.html.select_one("#contact-note").text == fields["note"]
    testapp.post(path + "contact", {"csrf_token": csrf_token(testapp, path), **fields,
                                    "screening_confirm": "1", "screening_reason": "納付困難の事情として必要"},
                 status=303)
    (flag,) = _flags(dbsession)
    assert (flag.record_type, flag.field, flag.case_id) == ("contact_record", "note", case.id)
    row = testapp.get("/screening/").html.select_one(f"tr[data-flag='{flag.id}']")
    assert {m.text for m in row.select("mark")} == {"精神疾患", "入院"}


@pytest.mark.parametrize("extra,message", [
    ({"screening_confirm": "1", "screening_reason": "理" * 201}, "200字以内"),
    ({"screening_confirm": "1", "screening_reason": "   "}, "理由を入力"),
    ({"screening_reason": "理由だけ"}, "保存していません"),
])
def test_a_confirmation_needs_the_box_and_a_short_reason(testapp, survey, dbsession, extra, message):
    make_batch(testapp, survey)
    href = _target(testapp)
    before = _reports(dbsession)
    res = report(testapp, href, status=400, landlord_name="宗教法人〇〇寺", **extra)
    assert message in res.html.select_one(".error").text
    assert _reports(dbsession) == before and _flags(dbsession) == []


def test_hostile_text_around_a_term_is_shown_escaped(testapp, survey, dbsession):
    make_batch(testapp, survey)
    href = _target(testapp)
    res = report(testapp, href, status=400, memo='<script>alert(1)</script>宗教=HYPERLINK("http://x")')
    assert "<script>alert(1)</script>" not in res.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in res.html.select_one("#screening-hits").decode_contents()
