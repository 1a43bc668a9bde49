"""Importing data-link files: all or nothing, idempotent, round trip with the
demo data (SQLite and PostgreSQL)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.datalink import importer
from intranet.datalink.dump import dump
from intranet.demo.generator import generate
from intranet.models import (
    Assessment, Case, CaseStatus, Installment, MailingAddress, Phone, Receipt, Taxpayer,
)
from tests.conftest import _empty_all_tables

TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 24, 0, 30)
MODELS = (Taxpayer, Phone, MailingAddress, Case, Assessment, Installment, Receipt)


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
        "installments": sorted((a.notice_no, i.period_no, i.due_date, i.tax_amount,
                                sorted((str(r.kind), r.received_on, r.amount) for r in i.receipts))
                               for a in case.assessments for i in a.installments),
    }


@pytest.fixture
def demo(dbsession, engine):
    generate(dbsession, cases=60, seed=7, today=TODAY, now=NOW)
    dbsession.commit()
    files = dump(dbsession)
    before = counts(dbsession)
    samples = [c for c in dbsession.scalars(sa.select(Case.case_no).order_by(Case.case_no))][::7]
    expected = {no: snapshot(dbsession, no) for no in samples}
    dbsession.close()
    _empty_all_tables(engine)
    return files, before, expected


def test_round_trip_gives_the_same_cases_and_a_second_import_is_a_no_op(dbsession, demo):
    files, before, expected = demo
    result = importer.run(dbsession, files, TODAY)
    assert result.ok, [str(p) for p in result.report.problems[:5]]
    dbsession.commit()
    assert counts(dbsession) == before
    for case_no, snap in expected.items():
        assert snapshot(dbsession, case_no) == snap
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
    assert result.ok and result.closed == 1
    dbsession.commit()
    dbsession.expire_all()
    case = dbsession.get(Case, case.id)
    assert (case.status, case.balance, case.closed_on) == (CaseStatus.closed, 0, TODAY)


def test_a_dry_run_reports_and_changes_nothing(dbsession, demo):
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
    assert set(files) == {"taxpayers.csv", "phones.csv", "mailing_addresses.csv", "cases.csv",
                          "assessments.csv", "installments.csv", "receipts.csv"}
    result = importer.run(dbsession, files, TODAY, dry_run=True)
    assert result.ok, [str(p) for p in result.report.problems]
    assert result.counts["cases"].added == 4


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
    assert [e.event for e in entries_since(engine, mark, kind="event")] == ["datalink.import"] * 2
    # a broken file: the problems, and nothing stored
    res = upload("cases.csv", "case_no,taxpayer_no\n".encode(), dry_run=False, status=400)
    assert "cases.csv:1 [opened_on]" in res.html.select_one("#problems").text
    res = upload("x.zip", b"PK not a zip", dry_run=False, status=400)
    assert "ZIP" in res.text
    login(testapp, "op")
    testapp.get("/datalink/", status=403)
