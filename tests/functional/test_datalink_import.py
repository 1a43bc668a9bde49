"""Importing data-link files: all or nothing, idempotent, round trip with the
demo data (SQLite and PostgreSQL)."""
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from intranet.datalink import importer
from intranet.datalink.dump import dump
from intranet.demo.generator import generate
from intranet.datalink.formats import FILES
from intranet.models import (
    Assessment, Case, CaseStatus, ContactRecord, Corporation, DirectDebitAccount, ForeignResidentRecord,
    Installment, MailingAddress, PaymentAgreement, Phone, Receipt, Representative, StatusKind,
    StatusPeriod, Taxpayer,
)
from intranet.taxes.owed import AmountRules
from tests.conftest import _empty_all_tables

TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 24, 0, 30)
MODELS = (Taxpayer, Phone, MailingAddress, ForeignResidentRecord, Corporation, Representative, Case,
          Assessment, Installment, Receipt, PaymentAgreement, DirectDebitAccount, ContactRecord)
#: 資料1 基本情報: 住民記録 and 職業・勤務先 (issue 19)
RESIDENT_FIELDS = ("resident_no", "head_of_household", "relationship_to_head", "ward_address",
                   "previous_address", "became_resident_on", "address_since", "record_change_reason",
                   "record_changed_on", "moved_out_on", "occupation", "employer_name",
                   "employer_address", "employer_phone")
VEHICLE_FIELDS = ("vehicle_id_no", "vehicle_kind", "vehicle_name", "displacement_cc", "garage_address",
                  "plate_no")


def counts(dbsession):
    return {m.__tablename__: dbsession.scalar(sa.select(sa.func.count()).select_from(m)) for m in MODELS}


def snapshot(dbsession, case_no):
    case = dbsession.scalars(sa.select(Case).where(Case.case_no == case_no)).one()
    tp = case.taxpayer
    return {
        "case": (case.case_no, case.status, case.balance, case.opened_on, case.delinquency_category),
        "taxpayer": (tp.taxpayer_no, tp.name, tp.name_kana, tp.postal_code, tp.address,
                     tp.address_extra, tp.residency, tp.birth_date, tp.household_no),
        "phones": sorted(p.digits for p in tp.phones),
        "mailing": (tp.mailing_address.name, tp.mailing_address.address) if tp.mailing_address else None,
        "corporation": (tp.corporation.name, tp.corporation.location, tp.corporation.phone,
                        tp.corporation.designation_no) if tp.corporation else None,
        "representatives": sorted((str(r.kind), r.name, r.address, r.phone, r.registered_on)
                                  for r in tp.representatives),
        "debits": sorted((d.bank_name, d.branch_name, d.account_holder, d.start_fiscal_year,
                          d.start_period_no, d.cancelled_on, d.failure_reason)
                         for d in case.direct_debits),
        "contacts": sorted((str(c.kind), c.occurred_at, c.place, c.counterpart, c.content,
                            c.staff_name) for c in case.contacts),
        "installments": sorted((a.notice_no, i.period_no, i.due_date, i.tax_amount,
                                sorted((str(r.kind), r.received_on, r.amount) for r in i.receipts))
                               for a in case.assessments for i in a.installments),
        "resident_record": tuple(getattr(tp, f) for f in RESIDENT_FIELDS),
        "foreign_resident": (tp.foreign_resident.registration_no, tp.foreign_resident.alias_name,
                             tp.foreign_resident.nationality, tp.foreign_resident.residence_status,
                             tp.foreign_resident.stay_until) if tp.foreign_resident else None,
        "vehicles": sorted((a.notice_no, *(getattr(a, f) for f in VEHICLE_FIELDS))
                           for a in case.assessments),
        "agreements": sorted((g.agreed_on, g.first_due_on, g.instalment_amount, g.instalment_count,
                              g.is_active, g.note) for g in case.agreements),
    }


@pytest.fixture
def demo(dbsession, engine, admin_engine):
    # as the owner: the generator resets sequences (setval), which the
    # application's role may not (docs/audit.md, "Production database roles")
    with Session(admin_engine) as owner:
        generate(owner, cases=60, seed=7, today=TODAY, now=NOW)
        owner.commit()
    files = dump(dbsession)
    before = counts(dbsession)
    samples = [c for c in dbsession.scalars(sa.select(Case.case_no).order_by(Case.case_no))][::7]
    # and every case that has one of the rarer rows
    samples += dbsession.scalars(sa.select(Case.case_no).join(Taxpayer).where(
        Taxpayer.representatives.any() | Taxpayer.corporation.has() | Case.direct_debits.any()
        | Taxpayer.foreign_resident.has() | Case.agreements.any()
        | Case.assessments.any(Assessment.vehicle_id_no.is_not(None))))
    expected = {no: snapshot(dbsession, no) for no in samples}
    dbsession.close()
    _empty_all_tables(engine)
    return files, before, expected


def test_round_trip_gives_the_same_cases_and_a_second_import_is_a_no_op(dbsession, demo, monkeypatch):
    monkeypatch.setattr(importer, "COPY_FROM", 1)  # PostgreSQL: every insert by COPY
    monkeypatch.setattr(importer, "IN_LIST_MAX", 10)  # balances read from whole tables
    files, before, expected = demo
    result = importer.run(dbsession, files, TODAY)
    assert result.ok, [str(p) for p in result.report.problems[:5]]
    dbsession.commit()
    assert counts(dbsession) == before
    for case_no, snap in expected.items():
        got = snapshot(dbsession, case_no)
        # the balance is recomputed: what is overdue on the day of the import
        case = dbsession.scalars(sa.select(Case).where(Case.case_no == case_no)).one()
        assert got["case"][2] == AmountRules().case(case, TODAY).overdue
        assert got["case"][:2] + got["case"][3:] == snap["case"][:2] + snap["case"][3:]
        assert {k: v for k, v in got.items() if k != "case"} == {
            k: v for k, v in snap.items() if k != "case"}
    again = importer.run(dbsession, files, TODAY)
    dbsession.commit()
    assert all(c.added == 0 and c.changed == 0 for c in again.counts.values())
    assert again.closed == again.reopened == 0


def test_a_newer_receipts_file_updates_balances_and_closes_paid_cases(dbsession, demo):
    files, _, _ = demo
    importer.run(dbsession, files, TODAY)
    dbsession.commit()
    case = dbsession.scalars(sa.select(Case).where(Case.status == CaseStatus.open,
                                                   Case.balance > 0)).first()
    lines = ["receipt_no,notice_no,period_no,kind,received_on,posted_on,amount"]
    for a in case.assessments:
        for i in a.installments:
            if i.tax_amount - i.tax_paid > 0:
                lines.append(f"N{i.id}T,{a.notice_no},{i.period_no},tax,R8.11.20,,{i.tax_amount - i.tax_paid}")
            if i.late_charge_amount - i.late_charge_paid > 0:
                lines.append(f"N{i.id}L,{a.notice_no},{i.period_no},late_charge,2026-11-20,,"
                             f"{i.late_charge_amount - i.late_charge_paid}")
    result = importer.run(dbsession, {"receipts.csv": ("\n".join(lines) + "\n").encode("cp932")}, TODAY)
    assert result.ok
    dbsession.commit()
    dbsession.expire_all()
    case = dbsession.get(Case, case.id)
    # 本税 paid late: the fixed 延滞金 is still owed, and the case stays open
    owed = AmountRules().case(case, TODAY)
    if owed.total:
        assert (case.status, case.balance) == (CaseStatus.open, owed.overdue)
        lines = ["receipt_no,notice_no,period_no,kind,received_on,posted_on,amount"]
        for i, o in owed.items:
            if o.late_charge:
                lines.append(f"N{i.id}F,{i.assessment.notice_no},{i.period_no},late_charge,"
                             f"2026-11-21,,{o.late_charge}")
            if o.tax_not_due:
                lines.append(f"N{i.id}D,{i.assessment.notice_no},{i.period_no},tax,"
                             f"2026-11-21,,{o.tax_not_due}")
        result = importer.run(dbsession, {"receipts.csv": ("\n".join(lines) + "\n").encode("cp932")},
                              TODAY)
        dbsession.commit()
        dbsession.expire_all()
        case = dbsession.get(Case, case.id)
    assert result.ok and result.closed == 1
    assert (case.status, case.balance, case.closed_on) == (CaseStatus.closed, 0, TODAY)


def test_a_dry_run_reports_and_changes_nothing(dbsession, demo, monkeypatch):
    monkeypatch.setattr(importer, "COPY_FROM", 1)  # a COPY, too, is rolled back
    files, before, _ = demo
    result = importer.run(dbsession, files, TODAY, dry_run=True)
    dbsession.commit()
    assert result.ok and result.counts["cases"].added == before["cases"]
    assert counts(dbsession) == {name: 0 for name in before}


@pytest.mark.parametrize("damage", ["orphan", "bad_date", "unknown_file", "truncated"])
def test_one_bad_file_changes_nothing_at_all(dbsession, demo, damage):
    files, _, _ = demo
    importer.run(dbsession, files, TODAY)
    dbsession.commit()
    stored = counts(dbsession)
    bad = dict(files)
    text = bad["installments.csv"].decode("utf-8-sig")
    if damage == "orphan":
        bad["installments.csv"] = (text + "999999999999,1,2026-06-30,1000,0\r\n").encode("utf-8")
    elif damage == "bad_date":
        bad["installments.csv"] = text.replace(",2026-", ",2026-13-", 1).encode("utf-8")
    elif damage == "unknown_file":
        bad["payments.csv"] = b"a,b\n1,2\n"
    else:
        bad["installments.csv"] = text.rstrip("\r\n").encode("utf-8")
    bad["taxpayers.csv"] = bad["taxpayers.csv"].decode("utf-8-sig").replace(
        "\r\n", "\r\nT99999999,individual,新規 太郎,,160-0022,東京都新宿区,,ward,,,\r\n", 1).encode("utf-8")
    result = importer.run(dbsession, bad, TODAY)
    dbsession.commit()
    assert not result.ok
    assert counts(dbsession) == stored


def test_the_documented_samples_import_cleanly(dbsession):
    import pathlib

    samples = pathlib.Path(__file__).resolve().parents[2] / "docs" / "samples"
    files = {p.name: p.read_bytes() for p in samples.glob("*.csv")}
    assert set(files) == {spec.filename for spec in FILES}
    result = importer.run(dbsession, files, TODAY)
    assert result.ok, [str(p) for p in result.report.problems]
    assert {name: c.added for name, c in result.counts.items()} == {
        "taxpayers": 6, "phones": 4, "mailing_addresses": 1, "foreign_residents": 1, "corporations": 1,
        "representatives": 1, "cases": 4, "assessments": 5, "installments": 17, "receipts": 1,
        "payment_agreements": 2, "payment_plan_schedule": 10, "direct_debits": 1, "contact_history": 2,
        "case_statuses": 3,
        "mail_returns": 0}
    dbsession.flush()
    # 資料1 住民記録 (a mover-out, 和暦 dates) and 職業・勤務先
    moved = dbsession.scalars(sa.select(Taxpayer).where(Taxpayer.taxpayer_no == "0000000019")).one()
    assert (moved.resident_no, moved.ward_address, moved.record_change_reason, moved.record_changed_on,
            moved.moved_out_on) == ("5000000019", "東京都新宿区西早稲田2丁目3番4号", "転出",
                                    dt.date(2026, 3, 31), dt.date(2026, 3, 31))
    worker = dbsession.scalars(sa.select(Taxpayer).where(Taxpayer.taxpayer_no == "0000000028")).one()
    assert (worker.occupation, worker.employer_name, worker.employer_phone) == (
        "会社員", "株式会社サンプル工業", "03-5555-0101")
    # 外国人住民 and 軽自動車 and 分割納付約束
    foreign = dbsession.scalars(sa.select(ForeignResidentRecord)).one()
    assert (foreign.taxpayer.taxpayer_no, foreign.nationality, foreign.stay_until) == (
        "0000000037", "中国", dt.date(2028, 3, 31))
    vehicle = dbsession.scalars(sa.select(Assessment).where(Assessment.notice_no == "262000000044")).one()
    assert (vehicle.vehicle_kind, vehicle.displacement_cc, vehicle.plate_no) == (
        "軽四輪乗用", 658, "練馬 580 あ 12-34")
    agreements = dbsession.execute(sa.select(Case.case_no, PaymentAgreement.instalment_amount,
                                             PaymentAgreement.is_active)
                                   .join(Case, Case.id == PaymentAgreement.case_id)
                                   .order_by(Case.case_no)).all()
    assert agreements == [("2026-000001", 20000, False), ("2026-000004", 50000, True)]
    # 分納予定 (issue 20): the file's schedule for one plan; the other's from its summary
    schedules = {no: [(p.due_on, p.amount) for p in g.payments] for no, g in dbsession.execute(
        sa.select(Case.case_no, PaymentAgreement).join(Case, Case.id == PaymentAgreement.case_id))}
    assert schedules["2026-000004"][:2] == [(dt.date(2026, 11, 30), 30000), (dt.date(2026, 12, 31), 50000)]
    assert len(schedules["2026-000004"]) == 10 and sum(a for _, a in schedules["2026-000004"]) == 480000
    assert schedules["2026-000001"] == [(dt.date(2026, 9, 30), 20000), (dt.date(2026, 10, 30), 20000),
                                        (dt.date(2026, 11, 30), 20000), (dt.date(2026, 12, 30), 20000),
                                        (dt.date(2027, 1, 30), 20000), (dt.date(2027, 2, 28), 20000)]
    note = dbsession.scalars(sa.select(ContactRecord).where(ContactRecord.record_no == "K2026-0002")).one()
    assert note.content == "来庁。分納の相談あり。\n収入状況の資料を次回持参。"
    assert note.occurred_at == dt.datetime(2026, 10, 5, 5, 30)  # 14:30 JST, stored UTC
    debit = dbsession.scalars(sa.select(DirectDebitAccount)).one()
    assert (debit.cancelled_on, debit.failure_reason) == (dt.date(2026, 9, 1), "残高不足")
    # the example pair: 0000000064 is 田村 進 recorded a second time
    links = dict(dbsession.execute(sa.select(Taxpayer.taxpayer_no, Taxpayer.same_person_as)).all())
    assert {no: other for no, other in links.items() if other} == {"0000000064": "0000000046"}
    # 徴収状態: a deferral in force, a seizure ended, a bankruptcy (和暦 start) in force
    statuses = dbsession.execute(sa.select(Case.case_no, StatusPeriod.kind, StatusPeriod.starts_on,
                                           StatusPeriod.ends_on, StatusPeriod.recorded_by)
                                 .join(Case, Case.id == StatusPeriod.case_id).order_by(Case.case_no)).all()
    assert statuses == [
        ("2026-000002", StatusKind.deferral, dt.date(2026, 10, 1), dt.date(2027, 3, 31), None),
        ("2026-000003", StatusKind.seizure, dt.date(2026, 8, 1), dt.date(2026, 9, 30), None),
        ("2026-000004", StatusKind.bankruptcy, dt.date(2026, 9, 10), None, None)]


def test_collectors_upload_a_zip_with_a_dry_run_first(testapp, dbsession, demo, password_context, engine):
    import io
    import zipfile

    from intranet.models import DataImport, Role
    from tests import factories
    from tests.helpers import csrf_token, entries_since, log_mark, login

    files, before, _ = demo
    factories.user(dbsession, password_context, Role.collector, login="c1")
    factories.user(dbsession, password_context, Role.operator, login="op")
    dbsession.commit()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"in/{name}", data)
    login(testapp, "c1")

    def upload(name, data, dry_run, status=200):
        fields = {"csrf_token": csrf_token(testapp, "/datalink/"), "encoding": ""}
        if dry_run:
            fields["dry_run"] = "1"
        return testapp.post("/datalink/", fields, upload_files=[("files", name, data)], status=status)

    mark = log_mark(engine)
    res = upload("2026-11-24.zip", buf.getvalue(), dry_run=True)
    assert "まだ保存していません" in res.text
    assert res.html.select_one('[data-count="cases-added"]').text == str(before["cases"])
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    res = upload("2026-11-24.zip", buf.getvalue(), dry_run=False)
    assert "取込が完了しました" in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Case)) == before["cases"]
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(DataImport)) == 2
    events = [e.event for e in entries_since(engine, mark, kind="event")]
    # besides the imports: the imported installment plans the receipts put
    # into 不履行 or 完了 (intranet.cases.plans), after the real import only
    assert [e for e in events if not e.startswith("plan.")] == ["datalink.import"] * 2
    assert events[0] == "datalink.import" and events[1] == "datalink.import"
    # the history: files, rows and counts as a table, not raw JSON (issue 19)
    history = testapp.get("/datalink/").html.select_one("tr.import-history")
    files_table = {tr.td.text: tr.select("td")[1].text for tr in history.select("table.files tr")}
    assert files_table["cases"] == f"{before['cases']}行" and "{" not in history.text
    assert f"追加 {before['cases']}" in history.select_one("table.counts").text
    # a broken file: the problems, and nothing stored
    res = upload("cases.csv", "case_no,taxpayer_no\n".encode(), dry_run=False, status=400)
    assert "cases.csv:1 [opened_on]" in res.html.select_one("#problems").text
    res = upload("x.zip", b"PK not a zip", dry_run=False, status=400)
    assert "ZIP" in res.text
    login(testapp, "op")
    testapp.get("/datalink/", status=403)


def test_contact_history_is_only_added_and_direct_debits_are_updated(dbsession, demo):
    files, before, _ = demo
    importer.run(dbsession, files, TODAY)
    dbsession.commit()
    case_no = dbsession.scalars(sa.select(Case.case_no).order_by(Case.case_no)).first()
    contacts = ("record_no,case_no,kind,occurred_at,place,counterpart,content,staff_name\r\n"
                f"K1,{case_no},visit,R8.11.20 10:15,自宅,家族,不在。差置,職員 一\r\n")
    debits = ("case_no,bank_name,branch_name,account_holder,start_fiscal_year,start_period_no,"
              "cancelled_on,failure_reason\r\n"
              f"{case_no},テスト銀行,本店,テスト,2026,1,,\r\n")
    first = importer.run(dbsession, {"contact_history.csv": contacts.encode("cp932"),
                                     "direct_debits.csv": debits.encode("cp932")}, TODAY)
    assert (first.counts["contact_history"].added, first.counts["direct_debits"].added) == (1, 1)
    dbsession.commit()
    # the same record number with other content is not rewritten; the account is cancelled
    changed = importer.run(dbsession, {
        "contact_history.csv": contacts.replace("不在。差置", "書き換え").encode("cp932"),
        "direct_debits.csv": debits.replace(",,\r\n", ",2026-11-01,口座解約\r\n").encode("cp932")}, TODAY)
    dbsession.commit()
    assert vars(changed.counts["contact_history"]) == {"added": 0, "changed": 0, "unchanged": 1}
    assert vars(changed.counts["direct_debits"]) == {"added": 0, "changed": 1, "unchanged": 0}
    record = dbsession.scalars(sa.select(ContactRecord).where(ContactRecord.record_no == "K1")).one()
    assert record.content == "不在。差置"
    assert counts(dbsession)["contact_records"] == before["contact_records"] + 1
    debit = dbsession.scalars(sa.select(DirectDebitAccount).where(
        DirectDebitAccount.bank_name == "テスト銀行")).one()
    assert (debit.cancelled_on, debit.failure_reason) == (dt.date(2026, 11, 1), "口座解約")


def test_a_dump_of_this_database_imported_into_it_changes_nothing(dbsession, demo):
    """Receipts and contact records made here have no number; the dump names
    them by id (R123, C45) and the import recognises them."""
    files, _, _ = demo
    importer.run(dbsession, files, TODAY)
    dbsession.commit()
    case = dbsession.scalars(sa.select(Case).order_by(Case.id)).first()
    dbsession.add(ContactRecord(case_id=case.id, kind="negotiation", occurred_at=NOW,
                                content="引継ぎ（コールセンター）"))
    dbsession.commit()
    again = importer.run(dbsession, dump(dbsession), TODAY)
    assert again.ok
    assert all(c.added == 0 and c.changed == 0 for c in again.counts.values()), again.counts


def test_a_dump_quotes_formulas_and_reads_them_back_unchanged(dbsession):
    """OWASP "CSV Injection": the dump writes text a spreadsheet would take for a
    formula with a leading quote (a text already beginning with a quote before
    such a character gets one more); the import removes it, so importing the
    dump changes nothing."""
    from tests import factories

    case = factories.case(dbsession, name="=1+2", address_extra="'=quoted", phone="+81-3-1234-5678")
    dbsession.add(ContactRecord(case_id=case.id, kind="negotiation", occurred_at=NOW,
                                content='=HYPERLINK("http://x","y")', place="-1", counterpart="＠本人",
                                staff_name="@SUM(A1)"))
    dbsession.commit()
    files = dump(dbsession)
    taxpayers = files["taxpayers.csv"].decode("utf-8-sig")
    assert ",'=1+2," in taxpayers and ",''=quoted," in taxpayers
    assert "'+81-3-1234-5678" in files["phones.csv"].decode("utf-8-sig")
    contacts = files["contact_history.csv"].decode("utf-8-sig").splitlines()[1]
    assert contacts.endswith(',"\'=HYPERLINK(""http://x"",""y"")",\'@SUM(A1)')
    assert ",'-1,'＠本人," in contacts
    again = importer.run(dbsession, files, TODAY)
    assert again.ok, [str(p) for p in again.report.problems]
    assert all(c.added == 0 and c.changed == 0 for c in again.counts.values()), again.counts
    dbsession.commit()
    dbsession.expire_all()
    assert (case.taxpayer.name, case.taxpayer.address_extra) == ("=1+2", "'=quoted")


def test_an_upload_too_big_is_refused_unread(testapp, dbsession, password_context, monkeypatch):
    """A zip member over the limit (a zip bomb, or a 200 MB export) is read only
    to one byte past the limit and reported; nothing is stored."""
    import io
    import zipfile

    from intranet.datalink import reader
    from intranet.models import Role
    from tests import factories
    from tests.helpers import csrf_token, login

    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 4096)
    factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    row = "T{},individual,取込 太郎,,160-0022,東京都新宿区,,ward,,,\r\n"
    text = ("taxpayer_no,kind,name,name_kana,postal_code,address,address_extra,residency,"
            "birth_date,gender,household_no\r\n" + "".join(row.format(i) for i in range(1000)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("taxpayers.csv", text.encode("cp932"))
    login(testapp, "c1")
    res = testapp.post("/datalink/", {"csrf_token": csrf_token(testapp, "/datalink/"), "encoding": ""},
                       upload_files=[("files", "in.zip", buf.getvalue())], status=400)
    assert "taxpayers.csv ファイルが大きすぎます" in res.html.select_one("#problems").text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Taxpayer)) == 0


def test_a_closed_case_keeps_its_closing_date_when_its_balance_is_corrected(dbsession, demo):
    files, _, _ = demo
    importer.run(dbsession, files, TODAY)
    dbsession.commit()
    case = dbsession.scalars(sa.select(Case).where(Case.status == CaseStatus.closed,
                                                   Case.closed_on.is_not(None))).first()
    closed_on = case.closed_on
    case.balance = 500  # a stale balance, corrected by the next import
    dbsession.commit()
    result = importer.run(dbsession, files, TODAY)
    dbsession.commit()
    dbsession.expire_all()
    case = dbsession.get(Case, case.id)
    assert (case.status, case.balance, case.closed_on) == (CaseStatus.closed, 0, closed_on)
    assert result.closed == result.reopened == 0


# -- taxpayers.csv: same_person_as (issue 18, point 6) ------------------------

TAXPAYERS_HEADER = ("taxpayer_no,kind,name,name_kana,postal_code,address,address_extra,residency,"
                    "birth_date,gender,household_no")


def _taxpayers_csv(*rows: str, same_person_column=True) -> dict[str, bytes]:
    header = TAXPAYERS_HEADER + (",same_person_as" if same_person_column else "")
    return {"taxpayers.csv": "\r\n".join([header, *rows, ""]).encode("cp932")}


def _row(no: str, same_as: str | None = "") -> str:
    row = f"{no},individual,同一 太郎,ドウイツ タロウ,160-0022,東京都新宿区新宿1丁目1番1号,,ward,,,"
    return row if same_as is None else f"{row},{same_as}"


def _links(dbsession) -> dict[str, str | None]:
    return dict(dbsession.execute(sa.select(Taxpayer.taxpayer_no, Taxpayer.same_person_as)).all())


def test_same_person_as_links_two_records_and_an_old_file_keeps_the_link(dbsession):
    # the record it names may come later in the file, or full-width
    result = importer.run(dbsession, _taxpayers_csv(_row("P0000002", "Ｐ0000001"), _row("P0000001")),
                          TODAY)
    assert result.ok, [str(p) for p in result.report.problems]
    assert _links(dbsession) == {"P0000001": None, "P0000002": "P0000001"}
    # a later file names a record already stored
    result = importer.run(dbsession, _taxpayers_csv(_row("P0000003", "P0000002")), TODAY)
    assert result.ok and result.counts["taxpayers"].added == 1
    # a file written before the column still imports and leaves the links alone
    old = _taxpayers_csv(_row("P0000002", None), _row("P0000004", None), same_person_column=False)
    result = importer.run(dbsession, old, TODAY)
    assert result.ok, [str(p) for p in result.report.problems]
    assert (result.counts["taxpayers"].added, result.counts["taxpayers"].unchanged) == (1, 1)
    assert _links(dbsession) == {"P0000001": None, "P0000002": "P0000001", "P0000003": "P0000002",
                                 "P0000004": None}
    # an empty value in a file with the column removes the link
    result = importer.run(dbsession, _taxpayers_csv(_row("P0000003", "")), TODAY)
    assert result.ok and result.counts["taxpayers"].changed == 1
    assert _links(dbsession)["P0000003"] is None


@pytest.mark.parametrize("same_as,key,ja,en", [
    ("P9999999", "datalink.error.same_person_unknown", "ファイルにもデータベースにもありません",
     "found neither in the files nor in the database"),
    ("P0000012", "datalink.error.same_person_self", "自分自身", "own taxpayer_no"),
])
def test_a_bad_same_person_as_is_reported_and_nothing_is_stored(dbsession, same_as, key, ja, en):
    from intranet.i18n import translate

    before = counts(dbsession)
    result = importer.run(dbsession, _taxpayers_csv(_row("P0000011"), _row("P0000012", same_as)),
                          TODAY)
    assert [(p.file, p.line, p.column, p.key) for p in result.report.problems] == [
        ("taxpayers.csv", 3, "same_person_as", key)]
    assert ja in translate("ja", key) and en in translate("en", key)
    assert counts(dbsession) == before


def test_a_bad_same_person_as_is_shown_on_the_upload_page(testapp, dbsession, password_context):
    from intranet.models import Role
    from tests import factories
    from tests.helpers import csrf_token, login

    factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    login(testapp, "c1")
    files = _taxpayers_csv(_row("P0000021", "P0000021"))
    res = testapp.post("/datalink/", {"csrf_token": csrf_token(testapp, "/datalink/"), "encoding": ""},
                       upload_files=[("files", "taxpayers.csv", files["taxpayers.csv"])], status=400)
    problems = res.html.select_one("#problems").text
    assert "taxpayers.csv" in problems and "same_person_as" in problems and "自分自身" in problems
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Taxpayer)) == 0


def test_the_dunning_date_is_optional_checked_and_kept_by_older_files(dbsession, demo):
    files, _, _ = demo
    assert importer.run(dbsession, files, TODAY).ok
    dbsession.commit()
    i = dbsession.scalars(sa.select(Installment).where(Installment.due_date < TODAY)).first()
    notice, head = i.assessment.notice_no, "notice_no,period_no,due_date,tax_amount,late_charge_amount"

    def installments(header, row):
        return {"installments.csv": f"{header}\n{row}\n".encode("cp932")}

    row = f"{notice},{i.period_no},{i.due_date},{i.tax_amount},{i.late_charge_amount}"
    bad = importer.run(dbsession, installments(head + ",dunning_sent_on",
                                               row + f",{i.due_date - dt.timedelta(days=1)}"), TODAY)
    assert [(p.file, p.line, p.column, p.key) for p in bad.report.problems] == [
        ("installments.csv", 2, "dunning_sent_on", "datalink.error.dunning_before_due")]
    sent = i.due_date + dt.timedelta(days=20)
    assert importer.run(dbsession, installments(head + ",dunning_sent_on", row + f",{sent}"), TODAY).ok
    assert importer.run(dbsession, installments(head, row), TODAY).ok  # an older file
    dbsession.commit()
    dbsession.expire_all()
    assert dbsession.get(Installment, i.id).dunning_sent_on == sent


# -- receipts larger than what is owed (issue 18) -----------------------------

RECEIPTS_HEADER = "receipt_no,notice_no,period_no,kind,received_on,posted_on,amount"


def _one_installment(tax_amount: int, due: str) -> dict[str, bytes]:
    """A taxpayer, a case, an assessment and one installment (notice N1, 期 1)."""
    def csv(*lines):
        return "\r\n".join([*lines, ""]).encode("cp932")
    return {
        **_taxpayers_csv(_row("P0000031")),
        "cases.csv": csv("case_no,taxpayer_no,opened_on,delinquency_category,assigned_staff",
                         "C0000000031,P0000031,2026-06-01,,"),
        "assessments.csv": csv("notice_no,case_no,tax_type,fiscal_year,applicable_year,annual_amount",
                               f"N1,C0000000031,resident,2026,2026,{tax_amount}"),
        "installments.csv": csv("notice_no,period_no,due_date,tax_amount,late_charge_amount",
                                f"N1,1,{due},{tax_amount},"),
    }


def _receipts_csv(*rows: str) -> dict[str, bytes]:
    return {"receipts.csv": "\r\n".join([RECEIPTS_HEADER, *rows, ""]).encode("cp932")}


def _problems(result):
    return [(p.file, p.line, p.column, p.key) for p in result.report.problems]


def test_a_tax_receipt_larger_than_the_tax_is_refused_and_a_partial_one_imports(dbsession):
    """本税 receipts of an installment may total at most its tax_amount
    (docs/taxes.md, "Receipts: which debt a payment pays")."""
    from intranet.i18n import translate

    assert importer.run(dbsession, _one_installment(100_000, "2026-04-30"), TODAY).ok
    before = counts(dbsession)
    over = importer.run(dbsession, _receipts_csv("T1,N1,1,tax,2026-07-30,,100001"), TODAY)
    assert _problems(over) == [("receipts.csv", 2, "amount", "datalink.error.receipt_over_tax")]
    assert counts(dbsession) == before
    key = "datalink.error.receipt_over_tax"
    assert "本税" in translate("ja", key) and "tax amount" in translate("en", key)
    assert "100001" not in translate("ja", key)  # the message never carries the value

    partial = _receipts_csv("T1,N1,1,tax,2026-07-30,,40000")
    assert importer.run(dbsession, partial, TODAY).ok
    assert importer.run(dbsession, partial, TODAY).ok  # a known receipt is not counted twice
    # 40,000 stored + 30,000 earlier in the file + 30,001 > 100,000: the third line
    over = importer.run(dbsession, _receipts_csv("T2,N1,1,tax,2026-08-03,,30000",
                                                 "T3,N1,1,tax,2026-08-04,,30001"), TODAY)
    assert _problems(over) == [("receipts.csv", 3, "amount", "datalink.error.receipt_over_tax")]
    dbsession.flush()
    assert sorted(dbsession.scalars(sa.select(Receipt.amount))) == [40000]
    assert importer.run(dbsession, _receipts_csv("T2,N1,1,tax,2026-08-03,,30000",
                                                 "T3,N1,1,tax,2026-08-04,,30000"), TODAY).ok
    dbsession.flush()
    assert sorted(dbsession.scalars(sa.select(Receipt.amount))) == [30000, 30000, 40000]
    assert dbsession.scalars(sa.select(Case)).one().balance == 0 + _charge_to_aug_4()


def _charge_to_jul_30() -> int:
    """延滞金 on 100,000 yen due 2026-04-30 (a Thursday), unpaid, to 2026-07-30,
    computed here independently: 地方税法326条 with 附則3条の2 (2026: 2.8% the
    first month, 9.1% after; the rates of intranet/taxes/rates.py), 365-day
    year, each segment cut to the yen, the sum cut to the 100 yen
    (20条の4の2⑤). First month 2026-05-01..05-31 (31 days, 民法143条), then
    06-01..07-30 (60 days)."""
    first = 100_000 * 28 * 31 // (1000 * 365)      # 237
    after = 100_000 * 91 * 60 // (1000 * 365)      # 1,495
    assert (first, after) == (237, 1495)
    return (first + after) // 100 * 100             # 1,700


def _charge_to_aug_4() -> int:
    """The same installment, 40,000 yen paid on 07-30 (the base falls to 60,000
    from 07-31) and the rest on 08-03 and 08-04 (base 30,000 on 08-04): the
    charge fixed on 08-04."""
    first = 100_000 * 28 * 31 // (1000 * 365)            # 05-01..05-31
    to_jul_30 = 100_000 * 91 * 60 // (1000 * 365)        # 06-01..07-30
    to_aug_3 = 60_000 * 91 * 4 // (1000 * 365)           # 07-31..08-03
    aug_4 = 30_000 * 91 * 1 // (1000 * 365)              # 08-04
    return (first + to_jul_30 + to_aug_3 + aug_4) // 100 * 100


def test_a_late_charge_receipt_larger_than_the_charge_to_its_date_is_refused(dbsession):
    """While the 本税 is unpaid the 延滞金 keeps growing: a late-charge receipt
    may cover at most the charge accrued to the day it was received
    (docs/taxes.md, "Receipts: which debt a payment pays")."""
    from intranet.i18n import translate

    assert importer.run(dbsession, _one_installment(100_000, "2026-04-30"), TODAY).ok
    before = counts(dbsession)
    charge = _charge_to_jul_30()
    over = importer.run(dbsession, _receipts_csv(f"L1,N1,1,late_charge,2026-07-30,,{charge + 1}"),
                        TODAY)
    assert _problems(over) == [("receipts.csv", 2, "amount",
                                "datalink.error.receipt_over_late_charge")]
    assert counts(dbsession) == before
    key = "datalink.error.receipt_over_late_charge"
    assert "延滞金" in translate("ja", key) and "late charge" in translate("en", key)

    # the charge to its date exactly, with a partial 本税 payment: both import
    assert importer.run(dbsession, _receipts_csv(f"L1,N1,1,late_charge,2026-07-30,,{charge}",
                                                 "T1,N1,1,tax,2026-07-30,,40000"), TODAY).ok
    # nothing more on the same day; a later day has accrued more
    over = importer.run(dbsession, _receipts_csv("L2,N1,1,late_charge,2026-07-30,,100"), TODAY)
    assert _problems(over) == [("receipts.csv", 2, "amount",
                                "datalink.error.receipt_over_late_charge")]
    assert importer.run(dbsession, _receipts_csv("L2,N1,1,late_charge,2026-10-30,,100"), TODAY).ok
    dbsession.flush()
    assert sorted(dbsession.scalars(sa.select(Receipt.amount))) == [100, charge, 40000]


def test_an_oversized_receipt_is_shown_on_the_upload_page_without_its_value(
        testapp, dbsession, password_context):
    from intranet.models import Role
    from tests import factories
    from tests.helpers import csrf_token, login

    assert importer.run(dbsession, _one_installment(100_000, "2026-04-30"), TODAY).ok
    factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    login(testapp, "c1")
    files = _receipts_csv("T1,N1,1,tax,2026-07-30,,123457")
    res = testapp.post("/datalink/", {"csrf_token": csrf_token(testapp, "/datalink/"), "encoding": ""},
                       upload_files=[("files", "receipts.csv", files["receipts.csv"])], status=400)
    problems = res.html.select_one("#problems").text
    assert "receipts.csv" in problems and "amount" in problems and "調定額を超えます" in problems
    assert "123457" not in problems and "123,457" not in problems
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Receipt)) == 0
