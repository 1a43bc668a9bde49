"""Benchmark: importing 22,000 cases of data-link files, against a floor.

Usage::

    .venv/bin/python bench/bench_import.py [--cases 22000] [--backend sqlite|postgresql|both]

Demo data is generated in one throwaway database and written out with the
data-link dump. Then, in a fresh database each: (1) ``intranet.datalink.importer``
(read and check every file, diff against stored rows, bulk upserts, balances);
(2) the floor: the same rows inserted with a bare ``executemany`` per table
(``COPY`` on PostgreSQL), ids assigned in Python, no checks. Reports seconds
and the ratio.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import transaction  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

import intranet  # noqa: E402
from bench_cases import FAST_ARGON, Database, migrate  # noqa: E402
from intranet.datalink import importer  # noqa: E402
from intranet.datalink.dump import dump  # noqa: E402
from intranet.datalink.formats import FILES  # noqa: E402
from intranet.datalink.reader import Report, read  # noqa: E402
from intranet.db import get_session_factory, get_tm_session  # noqa: E402
from intranet.demo.generator import generate  # noqa: E402
from intranet.models import (  # noqa: E402
    Assessment, Case, ContactRecord, Corporation, DirectDebitAccount, ForeignResidentRecord,
    Installment, MailingAddress, PaymentAgreement, Phone, Receipt, Representative, Taxpayer,
)
from intranet.datalink.formats import EMPLOYMENT, RESIDENT_RECORD, VEHICLE  # noqa: E402
from intranet.text import digits, fold  # noqa: E402

TODAY = dt.date(2026, 11, 24)


def app_for(backend, tmpdir):
    db = Database(backend, tmpdir)
    migrate(db.url)
    return db, intranet.main({}, **{"sqlalchemy.url": db.url, **FAST_ARGON})


def bulk(session, model, rows) -> None:
    """The fastest plain load: COPY on PostgreSQL, else one executemany."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(model.__table__), rows)
        return
    columns = list(rows[0])
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
            f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(list(row.values()))


def floor(session, files) -> None:
    report = Report()
    rows = {spec.name: read(spec, files[spec.filename], report) for spec in FILES}
    tp_ids = {r["taxpayer_no"]: i for i, r in enumerate(rows["taxpayers"], 1)}
    bulk(session, Taxpayer, [
        {"id": tp_ids[r["taxpayer_no"]], "taxpayer_no": r["taxpayer_no"], "kind": r["kind"],
         "name": r["name"], "name_kana": r["name_kana"] or "", "postal_code": r["postal_code"],
         "address": r["address"], "address_extra": r["address_extra"] or "",
         "residency": r["residency"], "birth_date": r["birth_date"], "gender": r["gender"],
         "household_no": r["household_no"], "search_name": fold(r["name"]),
         "search_kana": fold(r["name_kana"] or ""), "same_person_as": r["same_person_as"],
         **{c.name: r[c.name] for c in (*RESIDENT_RECORD, *EMPLOYMENT)}} for r in rows["taxpayers"]])
    bulk(session, ForeignResidentRecord, [
        {"taxpayer_id": tp_ids[r["taxpayer_no"]], "registration_no": r["registration_no"],
         "alias_name": r["alias_name"], "nationality": r["nationality"],
         "residence_status": r["residence_status"], "stay_until": r["stay_until"]}
        for r in rows["foreign_residents"]])
    bulk(session, Phone, [
        {"taxpayer_id": tp_ids[r["taxpayer_no"]], "number": r["number"], "digits": digits(r["number"]),
         "kind": r["kind"], "note": "", "unusable": False} for r in rows["phones"]])
    bulk(session, MailingAddress, [
        {"taxpayer_id": tp_ids[r["taxpayer_no"]], "name": r["name"],
         "postal_code": r["postal_code"] or "", "address": r["address"]}
        for r in rows["mailing_addresses"]])
    bulk(session, Corporation, [
        {"taxpayer_id": tp_ids[r["taxpayer_no"]], "name": r["name"], "postal_code": r["postal_code"] or "",
         "location": r["location"], "phone": r["phone"], "designation_no": r["designation_no"]}
        for r in rows["corporations"]])
    bulk(session, Representative, [
        {"taxpayer_id": tp_ids[r["taxpayer_no"]], "kind": r["kind"], "name": r["name"],
         "postal_code": r["postal_code"] or "", "address": r["address"] or "", "phone": r["phone"],
         "registered_on": r["registered_on"]} for r in rows["representatives"]])
    case_ids = {r["case_no"]: i for i, r in enumerate(rows["cases"], 1)}
    bulk(session, Case, [
        {"id": case_ids[r["case_no"]], "case_no": r["case_no"], "taxpayer_id": tp_ids[r["taxpayer_no"]],
         "opened_on": r["opened_on"], "delinquency_category": r["delinquency_category"],
         "assigned_staff": r["assigned_staff"], "status": "open", "balance": 0} for r in rows["cases"]])
    a_ids = {r["notice_no"]: i for i, r in enumerate(rows["assessments"], 1)}
    bulk(session, Assessment, [
        {"id": a_ids[r["notice_no"]], "notice_no": r["notice_no"], "case_id": case_ids[r["case_no"]],
         "tax_type": r["tax_type"], "fiscal_year": r["fiscal_year"],
         "applicable_year": r["applicable_year"], "annual_amount": r["annual_amount"],
         **{c.name: r[c.name] for c in VEHICLE}} for r in rows["assessments"]])
    i_ids = {(r["notice_no"], r["period_no"]): i for i, r in enumerate(rows["installments"], 1)}
    bulk(session, Installment, [
        {"id": i_ids[(r["notice_no"], r["period_no"])], "assessment_id": a_ids[r["notice_no"]],
         "period_no": r["period_no"], "due_date": r["due_date"], "tax_amount": r["tax_amount"],
         "late_charge_amount": r["late_charge_amount"] or 0} for r in rows["installments"]])
    bulk(session, Receipt, [
        {"installment_id": i_ids[(r["notice_no"], r["period_no"])], "receipt_no": r["receipt_no"],
         "kind": r["kind"], "received_on": r["received_on"], "posted_on": r["posted_on"],
         "amount": r["amount"]} for r in rows["receipts"]])
    bulk(session, PaymentAgreement, [
        {"case_id": case_ids[r["case_no"]], "agreed_on": r["agreed_on"], "first_due_on": r["first_due_on"],
         "instalment_amount": r["instalment_amount"], "instalment_count": r["instalment_count"],
         "is_active": r["status"] == "active", "note": r["note"] or "", "state": "current",
         "shortfall_reason": ""} for r in rows["payment_agreements"]])
    bulk(session, DirectDebitAccount, [
        {"case_id": case_ids[r["case_no"]], "bank_name": r["bank_name"], "branch_name": r["branch_name"],
         "account_holder": r["account_holder"], "start_fiscal_year": r["start_fiscal_year"],
         "start_period_no": r["start_period_no"], "cancelled_on": r["cancelled_on"],
         "failure_reason": r["failure_reason"]} for r in rows["direct_debits"]])
    bulk(session, ContactRecord, [
        {"record_no": r["record_no"], "case_id": case_ids[r["case_no"]], "kind": r["kind"],
         "occurred_at": r["occurred_at"], "place": r["place"] or "", "counterpart": r["counterpart"] or "",
         "content": r["content"] or "", "staff_name": r["staff_name"] or ""}
        for r in rows["contact_history"]])
    if session.connection().dialect.name == "postgresql":  # ids given: move the sequences on
        for model in (Taxpayer, Case, Assessment, Installment):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{model.__tablename__}', 'id'), "
                                 f"(SELECT max(id) FROM {model.__tablename__}))"))


def timed(app, work) -> float:
    factory = get_session_factory(app.registry["db_engine"])
    started = time.perf_counter()
    with transaction.manager:
        work(get_tm_session(factory, transaction.manager))
    return time.perf_counter() - started


def run(backend: str, cases: int, tmpdir: str) -> None:
    db, app = app_for(backend, tmpdir)
    try:
        timed(app, lambda s: generate(s, cases=cases, seed=2026, today=TODAY,
                                      now=dt.datetime(2026, 11, 24)))
        with get_session_factory(app.registry["db_engine"])() as s:
            files = dump(s, encoding="cp932")
        app.registry["db_engine"].dispose()
    finally:
        db.drop()
    size = sum(len(b) for b in files.values()) / 1024 / 1024
    results = {}
    def checked_import(session):
        result = importer.run(session, files, TODAY)
        if not result.ok:
            raise SystemExit("import refused: " + "; ".join(str(p) for p in result.report.problems[:5]))

    for label, work in (("import", checked_import),
                        ("floor", lambda s: floor(s, files))):
        db, app = app_for(backend, tmpdir)
        try:
            results[label] = timed(app, work)
            app.registry["db_engine"].dispose()
        finally:
            db.drop()
    again_db, app = app_for(backend, tmpdir)
    try:
        timed(app, lambda s: importer.run(s, files, TODAY))
        results["re-import (no-op)"] = timed(app, lambda s: importer.run(s, files, TODAY))
        app.registry["db_engine"].dispose()
    finally:
        again_db.drop()
    print(f"[{backend}] {cases} cases, {size:.1f} MiB of CSV: import {results['import']:.1f} s, "
          f"floor (bare {'COPY' if backend == 'postgresql' else 'executemany'}) {results['floor']:.1f} s, ratio "
          f"{results['import'] / results['floor']:.2f}x; re-import of the same files "
          f"{results['re-import (no-op)']:.1f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=22000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
            run(backend, args.cases, tmpdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
