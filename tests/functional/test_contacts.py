"""経過記録 by staff and 郵便返戻 (issue 20).

Collectors record visits, counter visits, their own calls and letters received
on the case page; 最終接触日 is the last *conversation* with the taxpayer or
someone acting for them (代理人, 納税管理人 — 地方税法 §300, 相続人 — §9), not
a slip issued. A 返戻 can be recorded only on a document that was sent (a
letter once its batch is sealed, 封入封緘)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.models import (
    BatchStatus, ContactKind, ContactRecord, Counterpart, DocumentKind, IssuedDocument,
    LetterBatch, Role,
)
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login

HOSTILE = '<script>alert("x")</script>=HYPERLINK("http://evil","x")'


@pytest.fixture
def people(dbsession, password_context):
    for role, name in ((Role.collector, "c1"), (Role.operator, "op1"), (Role.auditor, "au")):
        factories.user(dbsession, password_context, role, login=name)
    dbsession.commit()


def _post(testapp, case, name, status=303, **fields):
    path = f"/cases/{case.case_no}/"
    return testapp.post(path + name, {"csrf_token": csrf_token(testapp, path), **fields},
                        status=status)


def _contacts(dbsession, case):
    dbsession.expire_all()
    return list(dbsession.scalars(sa.select(ContactRecord).where(ContactRecord.case_id == case.id)))


def test_a_collector_records_a_visit_and_it_becomes_the_last_contact(
        testapp, people, dbsession, engine):
    case = factories.owed_case(dbsession)
    # a slip issued today is not a contact
    dbsession.add(ContactRecord(case_id=case.id, kind=ContactKind.document,
                                occurred_at=dt.datetime(2026, 11, 24, 0, 0), content="納付書"))
    dbsession.commit()
    login(testapp, "c1")
    page = testapp.get(f"/cases/{case.case_no}/")
    assert "contact-note-warning" in page.html.select_one("#contact-note").get("aria-describedby")
    assert "思想・信条・宗教" in page.html.select_one("#contact-note-warning").text
    assert "記録なし" in page.html.select_one("#last-contact").text

    mark = log_mark(engine)
    _post(testapp, case, "contact", kind="visit", occurred_at="2026-11-20T14:30",
          counterpart_kind="taxpayer", counterpart="", place="大阪市北区の自宅",
          conversation="1", note="分納の相談。" + HOSTILE)
    records = [r for r in _contacts(dbsession, case) if r.kind == ContactKind.visit]
    assert len(records) == 1
    record = records[0]
    # entered in JST, stored in UTC
    assert record.occurred_at == dt.datetime(2026, 11, 20, 5, 30)
    assert record.conversation and record.counterpart_kind == Counterpart.taxpayer
    assert record.recorded_by is not None
    page = testapp.get(f"/cases/{case.case_no}/")
    assert "2026-11-20 14:30" in page.html.select_one("#last-contact").text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    events = entries_since(engine, mark, "event")
    logged = [e for e in events if e.event == "case.contact"]
    assert len(logged) == 1 and "分納" not in str(logged[0].detail)


def test_a_conversation_with_family_or_without_talk_is_not_the_last_contact(
        testapp, people, dbsession):
    case = factories.owed_case(dbsession)
    dbsession.commit()
    login(testapp, "c1")
    _post(testapp, case, "contact", kind="visit", occurred_at="2026-11-21T10:00",
          counterpart_kind="family", counterpart="妻", conversation="1", note="不在、妻が応対")
    _post(testapp, case, "contact", kind="phone", occurred_at="2026-11-22T10:00",
          counterpart_kind="taxpayer", note="留守電")  # no conversation
    _post(testapp, case, "contact", kind="counter", occurred_at="2026-11-19T10:00",
          counterpart_kind="tax_manager", conversation="1", note="納税管理人が来庁")
    page = testapp.get(f"/cases/{case.case_no}/")
    assert "2026-11-19 10:00" in page.html.select_one("#last-contact").text
    assert len(page.html.select("#contacts tr.is-contact")) == 1


@pytest.mark.parametrize("fields, message", [
    ({"kind": "document"}, "種別を選んでください"),          # not a staff kind
    ({"kind": "<script>"}, "種別を選んでください"),
    ({"occurred_at": "2026-11-24T10:00"}, "未来の日時"),       # 10:00 JST is after 09:30 now
    ({"occurred_at": "2026-02-30T10:00"}, "日時を正しく"),
    ({"occurred_at": "2026-11-20T10:00+09:00"}, "日時を正しく"),
    ({"counterpart_kind": "neighbour"}, "相手方を選んで"),
    ({"counterpart": "a\nb"}, "相手方の詳細"),
    ({"note": "x" * 2001}, "2000文字以内"),
    ({"kind": "letter_received", "conversation": "1"}, "文書受理は会話ではありません"),
    ({"conversation": "yes"}, "会話ありの値"),
])
def test_bad_contact_input_is_refused_with_a_message_and_nothing_stored(
        testapp, people, dbsession, fields, message):
    case = factories.owed_case(dbsession)
    dbsession.commit()
    login(testapp, "c1")
    good = {"kind": "visit", "occurred_at": "2026-11-20T10:00", "counterpart_kind": "taxpayer",
            "counterpart": HOSTILE, "note": HOSTILE}
    res = _post(testapp, case, "contact", status=400, **{**good, **fields})
    assert message in res.html.select_one("#contact-errors").text
    assert "<script>alert" not in res.text  # values kept, escaped
    assert _contacts(dbsession, case) == []


def test_only_collectors_record_contacts(testapp, people, dbsession):
    case = factories.owed_case(dbsession)
    factories.campaign(dbsession, [case])
    dbsession.commit()
    for who in ("op1", "au"):
        login(testapp, who)
        page = testapp.get(f"/cases/{case.case_no}/", status="*")
        assert "contact-form" not in page.text
        _post(testapp, case, "contact", status=403, kind="visit",
              occurred_at="2026-11-20T10:00", counterpart_kind="taxpayer")
    assert _contacts(dbsession, case) == []


def _document(dbsession, case, user_id, kind, batch=None, issued=dt.datetime(2026, 11, 10, 1)):
    n = dbsession.scalar(sa.select(sa.func.count()).select_from(IssuedDocument)) + 1
    doc = IssuedDocument(kind=kind, doc_no=f"D{case.id:05d}{n:04d}", case_id=case.id,
                         batch_id=batch.id if batch else None, issued_by=user_id, issued_at=issued,
                         deadline=dt.date(2026, 12, 1), installments="[]", tax_total=1000,
                         late_charge_total=0)
    dbsession.add(doc)
    dbsession.flush()
    return doc


def _batch(dbsession, user_id, status):
    batch = LetterBatch(created_by=user_id, created_at=dt.datetime(2026, 11, 10, 1),
                        deadline=dt.date(2026, 12, 1), letters=1, status=status, pdf=b"%PDF",
                        sealed_by=user_id if status == BatchStatus.sealed else None,
                        sealed_at=dt.datetime(2026, 11, 11, 1) if status == BatchStatus.sealed else None)
    dbsession.add(batch)
    dbsession.flush()
    return batch


def _collector_id(dbsession):
    from intranet.models import User
    return dbsession.scalar(sa.select(User.id).where(User.login == "c1"))


def test_a_return_on_a_letter_not_yet_sealed_is_refused_and_nothing_stored(
        testapp, people, dbsession):
    case = factories.owed_case(dbsession, phone=None)
    uid = _collector_id(dbsession)
    printed = _document(dbsession, case, uid, DocumentKind.letter,
                        _batch(dbsession, uid, BatchStatus.printed))
    counted_wrong = _document(dbsession, case, uid, DocumentKind.letter,
                              _batch(dbsession, uid, BatchStatus.discrepancy))
    dbsession.commit()
    login(testapp, "c1")
    page = testapp.get(f"/cases/{case.case_no}/")
    assert "未送付" in page.html.select_one(f"#documents tr[data-doc={printed.doc_no}]").text
    for doc in (printed, counted_wrong):
        res = _post(testapp, case, "mail-return", status=400, document=str(doc.id),
                    returned_on="2026-11-20", reason="moved")
        assert "まだ送付されていない" in res.html.select_one("#return-errors").text
    dbsession.expire_all()
    assert dbsession.get(IssuedDocument, printed.id).returned_on is None
    assert dbsession.get(IssuedDocument, counted_wrong.id).returned_on is None


def test_a_return_on_a_sealed_letter_and_on_a_slip_is_recorded(testapp, people, dbsession):
    case = factories.owed_case(dbsession, phone=None)
    other = factories.owed_case(dbsession, phone=None)
    uid = _collector_id(dbsession)
    letter = _document(dbsession, case, uid, DocumentKind.letter,
                       _batch(dbsession, uid, BatchStatus.sealed))
    slip = _document(dbsession, case, uid, DocumentKind.slip)
    foreign = _document(dbsession, other, uid, DocumentKind.slip)
    dbsession.commit()
    login(testapp, "c1")
    for fields, message in (
            ({"returned_on": "2026-11-25", "reason": "moved"}, "未来の日付"),
            ({"returned_on": "2026-11-09", "reason": "moved"}, "送付日より前"),
            ({"returned_on": "2026-11-20", "reason": "lost"}, "返戻理由を選んで"),
            ({"returned_on": "2026-11-31", "reason": "moved"}, "返戻日を正しく")):
        res = _post(testapp, case, "mail-return", status=400, document=str(letter.id), **fields)
        assert message in res.html.select_one("#return-errors").text
    res = _post(testapp, case, "mail-return", status=400, document=str(foreign.id),
                returned_on="2026-11-20", reason="moved")
    assert "この案件の帳票" in res.text
    _post(testapp, case, "mail-return", document=str(letter.id), returned_on="2026-11-20",
          reason="moved")
    _post(testapp, case, "mail-return", document=str(slip.id), returned_on="2026-11-21",
          reason="no_address")
    res = _post(testapp, case, "mail-return", status=400, document=str(slip.id),
                returned_on="2026-11-21", reason="refused")
    assert "記録済み" in res.text
    dbsession.expire_all()
    assert dbsession.get(IssuedDocument, letter.id).returned_on == dt.date(2026, 11, 20)
    assert dbsession.get(IssuedDocument, slip.id).return_reason == "no_address"
    assert dbsession.get(IssuedDocument, foreign.id).returned_on is None
    page = testapp.get(f"/cases/{case.case_no}/")
    assert "転居先不明" in page.html.select_one(f"#documents tr[data-doc={letter.doc_no}]").text


# ---------------------------------------------------------------- mail_returns.csv

def _returns_file(*rows: str) -> dict[str, bytes]:
    header = "doc_no,case_no,returned_on,reason"
    return {"mail_returns.csv": ("\r\n".join((header, *rows)) + "\r\n").encode("cp932")}


def test_imported_returns_are_recorded_and_bad_rows_refuse_the_whole_file(people, dbsession):
    from intranet.datalink import importer
    from intranet.datalink.dump import dump

    today = dt.date(2026, 11, 24)
    case = factories.owed_case(dbsession, phone=None)
    other = factories.owed_case(dbsession, phone=None)
    uid = _collector_id(dbsession)
    sealed = _document(dbsession, case, uid, DocumentKind.letter,
                       _batch(dbsession, uid, BatchStatus.sealed))
    printed = _document(dbsession, case, uid, DocumentKind.letter,
                        _batch(dbsession, uid, BatchStatus.printed))
    slip = _document(dbsession, case, uid, DocumentKind.slip)
    dbsession.commit()
    bad = importer.run(dbsession, _returns_file(
        f"{sealed.doc_no},{case.case_no},2026-11-20,moved",
        f"{printed.doc_no},{case.case_no},2026-11-20,moved",
        f"{slip.doc_no},{other.case_no},2026-11-20,refused",
        f"X999,{case.case_no},2026-11-20,moved",
        f"{sealed.doc_no}9,{case.case_no},2026-11-01,refused"), today)
    problems = {(p.line, p.column, p.key) for p in bad.report.problems}
    assert problems == {(3, "doc_no", "datalink.error.return_not_sent"),
                        (4, "doc_no", "datalink.error.return_document"),
                        (5, "doc_no", "datalink.error.return_document"),
                        (6, "doc_no", "datalink.error.return_document")}
    unreadable = importer.run(dbsession, _returns_file(
        f"{sealed.doc_no},{case.case_no},2026-11-20,lost",
        f"{slip.doc_no},{case.case_no},2026-11-01,refused"), today)
    assert any(p.line == 2 and p.column == "reason" for p in unreadable.report.problems)
    early = importer.run(dbsession, _returns_file(
        f"{slip.doc_no},{case.case_no},2026-11-01,refused"), today)
    assert [(p.line, p.column, p.key) for p in early.report.problems] == [
        (2, "returned_on", "datalink.error.return_before_sent")]
    dbsession.rollback()
    dbsession.expire_all()
    assert dbsession.get(IssuedDocument, sealed.id).returned_on is None

    good = importer.run(dbsession, _returns_file(
        f"{sealed.doc_no},{case.case_no},R8.11.20,moved",
        f"{slip.doc_no},{case.case_no},2026-11-21,no_address"), today)
    assert good.ok, [str(p) for p in good.report.problems]
    assert vars(good.counts["mail_returns"]) == {"added": 2, "changed": 0, "unchanged": 0}
    dbsession.commit()
    dbsession.expire_all()
    doc = dbsession.get(IssuedDocument, sealed.id)
    assert (doc.returned_on, doc.return_reason, doc.returned_by) == (dt.date(2026, 11, 20), "moved", None)
    # what the dump writes imports again as unchanged
    files = dump(dbsession)
    again = importer.run(dbsession, {"mail_returns.csv": files["mail_returns.csv"]}, today)
    assert again.ok and vars(again.counts["mail_returns"]) == {"added": 0, "changed": 0, "unchanged": 2}
