"""Exporting work back to the delinquency system: since the last export, recorded, logged."""
import datetime as dt
import io
import zipfile

import sqlalchemy as sa

from intranet.calls import campaigns
from intranet.models import (
    CallAttempt, CallCampaign, CallTarget, CampaignStatus, DataExport, Disposition, Handover,
    HandoverStatus, Role,
)
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login


def test_export_since_the_last_one(testapp, dbsession, password_context, clock, engine):
    c1 = factories.user(dbsession, password_context, Role.collector, login="c1")
    op = factories.user(dbsession, password_context, Role.operator, login="op")
    case = factories.owed_case(dbsession, name="出力 太郎", phone="03-4444-0001")
    campaign = CallCampaign(name="出力", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    target = dbsession.scalars(sa.select(CallTarget)).one()
    dbsession.add(CallAttempt(target_id=target.id, operator_id=op.id, called_at=clock.now(),
                              phone_number="03-4444-0001", disposition=Disposition.consultation,
                              memo="分納の相談"))
    dbsession.add(Handover(case_id=case.id, target_id=target.id, reason="分納の相談", created_by=op.id,
                           created_at=clock.now(), status=HandoverStatus.open))
    dbsession.commit()
    assert c1.id
    login(testapp, "c1")
    clock.advance(minutes=5)
    token = csrf_token(testapp, "/datalink/export")
    mark = log_mark(engine)
    res = testapp.post("/datalink/export", {"csrf_token": token})
    assert res.content_type == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(res.body))
    calls = files.read("call_results.csv").decode("cp932").splitlines()  # CP932 unless chosen otherwise
    assert len(calls) == 2 and case.case_no in calls[1] and "consultation" in calls[1]
    assert "分納の相談" in files.read("handovers.csv").decode("cp932")
    request_entry, event = entries_since(engine, mark)
    assert [c.case_no for c in request_entry.cases] == [case.case_no]
    assert event.event == "datalink.export"
    # the next export starts where this one ended: nothing new
    clock.advance(minutes=5)
    res = testapp.post("/datalink/export", {"csrf_token": csrf_token(testapp, "/datalink/export")})
    calls = zipfile.ZipFile(io.BytesIO(res.body)).read("call_results.csv").decode("cp932").splitlines()
    assert len(calls) == 1
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(DataExport)) == 2
    assert "SHA-256" in testapp.get("/datalink/export").text
    login(testapp, "op")
    testapp.get("/datalink/export", status=403)


def test_formulas_typed_by_outsourced_users_are_exported_as_text(testapp, dbsession, password_context,
                                                                 clock):
    """OWASP "CSV Injection": call memos, hand-over reasons and survey reports
    written by the call centre and the survey contractor reach the delinquency
    system's staff as CSV; text a spreadsheet would run as a formula begins
    with a quote in call_results.csv, handovers.csv and survey_results.csv."""
    import csv

    from intranet.models import (
        BatchState, Contract, SurveyBatch, SurveyReport, SurveyTarget, SurveyTargetState,
    )
    from tests.helpers import FORMULAS, HTML

    factories.user(dbsession, password_context, Role.collector, login="c1")
    op = factories.user(dbsession, password_context, Role.operator, login="op")
    k1 = factories.user(dbsession, password_context, Role.contractor, login="k1")
    case = factories.owed_case(dbsession, name="出力 太郎", phone="03-4444-0001")
    campaign = CallCampaign(name="出力", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    target = dbsession.scalars(sa.select(CallTarget)).one()
    texts = [*FORMULAS, HTML]
    for text in texts:
        dbsession.add(CallAttempt(target_id=target.id, operator_id=op.id, called_at=clock.now(),
                                  phone_number="03-4444-0001", disposition=Disposition.consultation,
                                  memo=text, promise_amount=-5))
        dbsession.add(Handover(case_id=case.id, target_id=target.id, reason=text, created_by=op.id,
                               created_at=clock.now(), status=HandoverStatus.open))
    contract = Contract(organisation_id=k1.organisation_id, name="現地調査", purpose="居住確認",
                        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31), manager_name="責任者",
                        handler_names="k1", protections="", training_required=False, created_by=op.id,
                        created_at=clock.now())
    dbsession.add(contract)
    dbsession.flush()
    batch = SurveyBatch(contract_id=contract.id, name="11月", deadline=dt.date(2026, 12, 25),
                        state=BatchState.open, created_by=op.id, created_at=clock.now())
    dbsession.add(batch)
    dbsession.flush()
    survey_target = SurveyTarget(batch_id=batch.id, case_id=case.id, investigator_id=k1.id, area="東京都",
                                 state=SurveyTargetState.reported)
    dbsession.add(survey_target)
    dbsession.flush()
    hyperlink, plus_formula, plus, minus, at, tab, cr, wide = FORMULAS
    dbsession.add(SurveyReport(target_id=survey_target.id, version=1, submitted_by=k1.id,
                               submitted_at=clock.now(), visited_at=clock.now(), residence="lives",
                               nameplate="present", nameplate_name=hyperlink, tenure="rented",
                               landlord_name=plus_formula, landlord_contact=plus, slip_handed_to=minus,
                               memo=at))
    dbsession.commit()
    login(testapp, "c1")
    clock.advance(minutes=5)
    res = testapp.post("/datalink/export", {"csrf_token": csrf_token(testapp, "/datalink/export"),
                                            "encoding": "utf-8"})
    files = zipfile.ZipFile(io.BytesIO(res.body))

    def read(name):
        return list(csv.DictReader(io.StringIO(files.read(name).decode("utf-8-sig"), newline="")))

    quoted = ["'" + t for t in FORMULAS] + [HTML]
    calls = read("call_results.csv")
    assert [r["memo"] for r in calls] == quoted
    assert {r["promise_amount"] for r in calls} == {"-5"}  # a number: never quoted
    assert {r["phone"] for r in calls} == {"03-4444-0001"}
    assert [r["reason"] for r in read("handovers.csv")] == quoted
    (survey,) = read("survey_results.csv")
    assert [survey[c] for c in ("nameplate_name", "landlord_name", "landlord_contact", "slip_handed_to",
                                "memo")] == ["'" + t for t in (hyperlink, plus_formula, plus, minus, at)]
    assert (survey["version"], survey["photos"]) == ("1", "0")


def _memo_and_handover(dbsession, password_context, clock, memo, reason):
    """A call (with ``memo``) and a hand-over (with ``reason``) on one case."""
    factories.user(dbsession, password_context, Role.collector, login="c1")
    op = factories.user(dbsession, password_context, Role.operator, login="op")
    case = factories.owed_case(dbsession, name="出力 太郎", phone="03-4444-0001")
    campaign = CallCampaign(name="出力", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    target = dbsession.scalars(sa.select(CallTarget)).one()
    attempt = CallAttempt(target_id=target.id, operator_id=op.id, called_at=clock.now(),
                          phone_number="03-4444-0001", disposition=Disposition.consultation, memo=memo)
    dbsession.add(attempt)
    dbsession.flush()
    handover = Handover(case_id=case.id, target_id=target.id, reason=reason, created_by=op.id,
                        created_at=clock.now(), status=HandoverStatus.open)
    dbsession.add(handover)
    dbsession.commit()
    return case, attempt, handover


def test_characters_cp932_cannot_hold_refuse_the_export_row_by_row(testapp, dbsession, password_context,
                                                                    clock, engine):
    """CP932 is the default; 𠮷 (U+20BB7) and an emoji are never replaced: the
    page lists file, line, key, column and the character as U+XXXX, nothing is
    written or recorded (the next export still starts where the last ended),
    and UTF-8 is offered instead. ① is in CP932 and exports."""
    case, attempt, handover = _memo_and_handover(dbsession, password_context, clock,
                                                 memo="𠮷野さん①に折返し", reason="本人不在😀")
    login(testapp, "c1")
    clock.advance(minutes=5)
    page = testapp.get("/datalink/export")
    assert page.html.select_one("#encoding option[selected]")["value"] == "cp932"
    token = csrf_token(testapp, "/datalink/export")
    mark = log_mark(engine)
    res = testapp.post("/datalink/export", {"csrf_token": token}, status=400)
    rows = [[td.get_text(" ", strip=True) for td in tr.select("td")]
            for tr in res.html.select("#unencodable tr.unencodable")]
    assert rows == [
        ["call_results.csv", "2", f"{attempt.id}/{case.case_no}", "memo", "U+20BB7 𠮷"],
        ["handovers.csv", "2", str(handover.id), "reason", "U+1F600 😀"]]
    assert "CP932で書けない文字" in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(DataExport)) == 0
    request_entry, event = entries_since(engine, mark)
    assert (event.event, event.outcome) == ("datalink.export", "failure")
    assert "𠮷" not in str(event.detail) and [c.case_no for c in request_entry.cases] == [case.case_no]
    # in English too
    testapp.set_cookie("lang", "en")
    res = testapp.post("/datalink/export", {"csrf_token": csrf_token(testapp, "/datalink/export")},
                       status=400)
    assert "cannot be written in CP932" in res.text and "U+20BB7" in res.text
    testapp.set_cookie("lang", "ja")
    # the offered UTF-8 export: the same rows, the characters as they are
    form = res.forms["export-utf8-form"]
    assert form["encoding"].value == "utf-8"
    res = form.submit()
    assert res.content_type == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(res.body))
    assert files.read("call_results.csv").startswith(b"\xef\xbb\xbf")
    assert "𠮷野さん①に折返し" in files.read("call_results.csv").decode("utf-8-sig")
    assert "本人不在😀" in files.read("handovers.csv").decode("utf-8-sig")
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(DataExport)) == 1


def test_cp932_exports_what_it_can_hold_and_an_unknown_encoding_is_refused(testapp, dbsession,
                                                                            password_context, clock):
    """① (U+2460) and 髙 are in CP932 (NEC and IBM extensions): exported as CP932."""
    _memo_and_handover(dbsession, password_context, clock, memo="①髙橋さん", reason="ｶﾅ半角")
    login(testapp, "c1")
    clock.advance(minutes=5)
    token = csrf_token(testapp, "/datalink/export")
    testapp.post("/datalink/export", {"csrf_token": token, "encoding": "latin-1"}, status=400)
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(DataExport)) == 0
    res = testapp.post("/datalink/export", {"csrf_token": token, "encoding": "cp932"})
    files = zipfile.ZipFile(io.BytesIO(res.body))
    assert "①髙橋さん" in files.read("call_results.csv").decode("cp932")
    assert "ｶﾅ半角" in files.read("handovers.csv").decode("cp932")
