"""Importing data-link files: check everything first, then apply every file
in the caller's transaction (all or nothing), matching rows on their natural
keys so that importing the same files again changes nothing.

Rows are compared with what is stored and only new or changed rows are
written, in bulk (one ``executemany`` per table and kind of change, or
``COPY`` on PostgreSQL), so 22,000 cases import in seconds. Phones, receipts
and contact history are only ever added; contact records are never changed
or removed. Afterwards each affected case's balance (what is overdue on the
day of the import: intranet.taxes.owed) is recomputed from its installments
and receipts; a case that owes nothing at all is closed, one that owes again
is reopened.
"""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, insert, select, update

from ..clock import from_jst
from ..models import (
    Assessment, Case, CaseStatus, ContactKind, ContactRecord, Corporation, DirectDebitAccount,
    ForeignResidentRecord, Installment, MailingAddress, PaymentAgreement, Phone, PlanPayment, PlanState, PhoneKind, Receipt,
    ReceiptKind, Representative, RepresentativeKind, Residency, TaxpayerKind, Taxpayer, TaxType,
)
from ..taxes.owed import TAX, AmountRules, owed_for
from ..models.taxpayers import taxpayer_search_address
from ..text import address_key, digits, fold
from . import mail_returns, statuses
from .dump import row_key
from .formats import BY_FILENAME, FILES, VEHICLE
from .reader import Report, check_parents, read


@dataclass
class Counts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0


@dataclass
class ImportResult:
    report: Report
    files: dict[str, dict] = field(default_factory=dict)      # name -> {sha256, rows}
    counts: dict[str, Counts] = field(default_factory=dict)   # entity -> counts
    closed: int = 0
    reopened: int = 0
    # Installment plans whose state the imported receipts changed
    # (intranet.cases.plans.Change); the caller logs them.
    plan_changes: list = field(default_factory=list)
    registrations: list = field(default_factory=list)  # direct-debit applications now 登録済

    @property
    def ok(self) -> bool:
        return self.report.ok


def read_all(raw_files: dict[str, bytes], encoding: str | None = None,
             progress=None) -> tuple[dict, ImportResult]:
    result = ImportResult(Report())
    parsed = {}
    for filename, raw in sorted(raw_files.items()):
        if progress is not None:
            progress(f"reading {filename}")
        spec = BY_FILENAME.get(filename)
        if spec is None:
            result.report.add(filename, 0, "", "datalink.error.unknown_file")
            continue
        result.files[spec.name] = {"sha256": hashlib.sha256(raw).hexdigest(), "rows": 0}
        parsed[spec.name] = read(spec, raw, result.report, encoding)
        result.files[spec.name]["rows"] = len(parsed[spec.name])
    if not raw_files:
        result.report.add("", 0, "", "datalink.error.no_files")
    return parsed, result


def _existing(dbsession, parsed) -> dict[str, set]:
    """Keys already stored, for parents that are not in the files."""
    return {
        "taxpayers": set(dbsession.scalars(select(Taxpayer.taxpayer_no))),
        "cases": set(dbsession.scalars(select(Case.case_no))),
        "assessments": set(dbsession.scalars(select(Assessment.notice_no))),
        "installments": {(n, p) for n, p in dbsession.execute(
            select(Assessment.notice_no, Installment.period_no)
            .join(Installment, Installment.assessment_id == Assessment.id))},
        "payment_agreements": {(n, d) for n, d in dbsession.execute(
            select(Case.case_no, PaymentAgreement.agreed_on)
            .join(PaymentAgreement, PaymentAgreement.case_id == Case.id))}
        if "payment_plan_schedule" in parsed else set(),
    }


def validate(dbsession, parsed, result: ImportResult, rules: AmountRules | None = None) -> None:
    """Orphans: every row's parent must be in the files or already stored;
    a ``same_person_as`` must name another taxpayer, in the files or stored;
    no receipt may pay more than its installment owes (:func:`_check_receipts`)."""
    existing = _existing(dbsession, parsed)
    check_parents(parsed, FILES, result.report, existing)
    taxpayers = parsed.get("taxpayers", [])
    known = existing["taxpayers"] | {r["taxpayer_no"] for r in taxpayers}
    for row in taxpayers:
        other = row.get("same_person_as")
        if other is None:
            continue
        if other == row["taxpayer_no"]:
            result.report.add("taxpayers.csv", row["_line"], "same_person_as",
                              "datalink.error.same_person_self")
        elif other not in known:
            result.report.add("taxpayers.csv", row["_line"], "same_person_as",
                              "datalink.error.same_person_unknown")
    for row in parsed.get("installments", []):
        sent = row.get("dunning_sent_on")
        if sent is not None and sent < row["due_date"]:
            # a 督促状 is sent after the 納期限 (地方税法329条): a wrong date
            result.report.add("installments.csv", row["_line"], "dunning_sent_on",
                              "datalink.error.dunning_before_due")
    for row in parsed.get("payment_plan_schedule", []):
        if row["amount"] <= 0:  # a payment of nothing is a mistake, not a plan
            result.report.add("payment_plan_schedule.csv", row["_line"], "amount",
                              "datalink.error.plan_amount")
    statuses.validate(dbsession, parsed, result.report)
    mail_returns.validate(dbsession, parsed, result.report)
    _check_receipts(dbsession, parsed, result.report, rules or AmountRules())


def _check_receipts(dbsession, parsed, report: Report, rules: AmountRules) -> None:
    """A receipt may not pay more than its installment owes of its kind.

    New receipts (a known ``receipt_no`` is left as stored, so it is not
    counted twice) are taken in file order; each one, with the receipts of
    the same installment and kind already stored or accepted earlier in the
    file, must not exceed:

    * 本税 (``tax``): the installment's ``tax_amount``;
    * 延滞金 (``late_charge``): the late charge owed (intranet.taxes.owed)
      before any late-charge receipt, as of the latest ``received_on`` among
      those receipts, with every 本税 receipt stored or in the file. While the
      本税 is unpaid the charge still grows, so a payment may cover what had
      accrued up to the day it was received, never more; once the 本税 is
      complete the charge is fixed (the 延滞金調定額 when given).

    The installment's amounts and 納期限 are those of installments.csv when
    it has the row, else those stored. A refused receipt is not counted for
    the ones after it."""
    rows = parsed.get("receipts", [])
    if not rows:
        return
    notices = {r["notice_no"] for r in rows}
    installments = {}
    for notice, period, due, tax, late in dbsession.execute(_among(
            select(Assessment.notice_no, Installment.period_no, Installment.due_date,
                   Installment.tax_amount, Installment.late_charge_amount)
            .join(Installment, Installment.assessment_id == Assessment.id),
            Assessment.notice_no, notices)):
        installments[(notice, period)] = (due, tax, late or 0)
    for row in parsed.get("installments", []):
        installments[(row["notice_no"], row["period_no"])] = (
            row["due_date"], row["tax_amount"], row["late_charge_amount"] or 0)
    stored_nos = set()
    paid = defaultdict(list)   # (notice, period) -> [(kind, received_on, amount)]
    for notice, period, receipt_no, receipt_id, kind, on, amount in dbsession.execute(_among(
            select(Assessment.notice_no, Installment.period_no, Receipt.receipt_no, Receipt.id,
                   Receipt.kind, Receipt.received_on, Receipt.amount)
            .join(Installment, Installment.id == Receipt.installment_id)
            .join(Assessment, Assessment.id == Installment.assessment_id),
            Assessment.notice_no, notices)):
        stored_nos.add(receipt_no or f"R{receipt_id}")
        if notice in notices:
            paid[(notice, period)].append((str(kind), on, amount))
    new = [r for r in rows if r["receipt_no"] not in stored_nos
           and (r["notice_no"], r["period_no"]) in installments]
    tax_receipts = defaultdict(list)  # every 本税 receipt, for the late charge
    for key, receipts in paid.items():
        tax_receipts[key] = [r for r in receipts if r[0] == TAX and r[1] is not None]
    for row in new:
        if row["kind"] == TAX:
            tax_receipts[(row["notice_no"], row["period_no"])].append(
                (TAX, row["received_on"], row["amount"]))
    for row in new:
        key = (row["notice_no"], row["period_no"])
        due, tax, late = installments[key]
        same = [r for r in paid[key] if r[0] == row["kind"]]
        total = sum(amount for _, _, amount in same) + row["amount"]
        if row["kind"] == TAX:
            limit = tax
        else:
            as_of = max([on for _, on, _ in same if on is not None] + [row["received_on"]])
            limit = owed_for(installment_id=None, due=due, tax_amount=tax, late_charge_amount=late,
                             receipts=tax_receipts[key], as_of=as_of,
                             floor_segments=rules.floor_segments).late_charge
        if total > limit:
            report.add("receipts.csv", row["_line"], "amount", f"datalink.error.receipt_over_{row['kind']}")
        else:
            paid[key].append((row["kind"], row["received_on"], row["amount"]))


@dataclass
class _Apply:
    """What the steps of one import share: ids by natural key of the parents
    written so far, and the cases whose balance must be recomputed."""
    dbsession: object
    result: ImportResult
    today: dt.date | None = None
    touched: set[int] = field(default_factory=set)
    taxpayer_ids: dict = field(default_factory=dict)
    case_ids: dict = field(default_factory=dict)
    assessment_ids: dict = field(default_factory=dict)
    assessment_cases: dict = field(default_factory=dict)  # notice_no -> case id
    installment_ids: dict = field(default_factory=dict)


def steps(raw_files) -> int:
    """How many times run() reports progress for these files."""
    return len(raw_files) + 1 + len(STEPS) + 1


def apply(dbsession, parsed, result: ImportResult, today: dt.date, progress=None,
          rules: AmountRules | None = None, plan_grace_days: int | None = None,
          now: dt.datetime | None = None) -> None:
    """Upsert every parsed file, parents first; then recompute balances of
    affected cases, the state of every active installment plan (the
    receipts decide it: intranet.cases.plans) and the direct-debit
    applications the accounts register (intranet.cases.debits)."""
    state = _Apply(dbsession, result, today)
    for name, step in STEPS:
        if progress is not None:
            progress(f"applying {name}")
        step(state, parsed.get(name, []))
    if progress is not None:
        progress("recomputing balances")
    _recompute_balances(dbsession, state.touched, result, today, rules or AmountRules())
    from ..cases import plans

    grace = plans.DEFAULT_GRACE_DAYS if plan_grace_days is None else plan_grace_days
    result.plan_changes = plans.refresh(dbsession, today, grace)
    from ..cases import debits

    result.registrations = debits.match(dbsession, today,
                                      now or dt.datetime.now(dt.UTC).replace(tzinfo=None))


# -- generic steps ------------------------------------------------------------

def _stored(dbsession, model, fields, *key_columns, join=None) -> dict:
    """Stored rows as {natural key: {"id", *fields}}; ``key_columns`` are
    labelled columns (one, or several for a composite key)."""
    query = select(model.id, *[model.__table__.c[f] for f in fields], *key_columns)
    if join is not None:
        query = query.join(*join)
    stored = {}
    for row in dbsession.execute(query):
        values = row._mapping
        key = tuple(str(v) if isinstance(v, enum.Enum) else v
                    for v in (values[c.key] for c in key_columns))
        stored[key[0] if len(key) == 1 else key] = dict(values)
    return stored


def _upsert(state, name, model, rows, stored, key, fields, build) -> None:
    """Insert the rows whose key is new, update those where a field differs."""
    inserts, updates, same = [], [], 0
    for row in rows:
        values = build(row)
        current = stored.get(row[key] if isinstance(key, str) else tuple(row[k] for k in key))
        if current is None:
            inserts.append(values)
        elif any(current[f] != values[f] for f in fields):
            updates.append({**values, "_id": current["id"]})
        else:
            same += 1
    _insert(state.dbsession, model, inserts)
    if updates:
        table = model.__table__
        state.dbsession.execute(update(table).where(table.c.id == bindparam("_id"))
                                .values({f: bindparam(f) for f in fields}), updates)
    state.result.counts[name] = Counts(len(inserts), len(updates), same)


def _add_new(state, name, model, rows, stored_keys: set, key, build) -> None:
    """Insert the rows whose key is new; known keys are left as stored."""
    inserts = []
    for row in rows:
        if row[key] not in stored_keys:
            stored_keys.add(row[key])
            inserts.append(build(row))
    _insert(state.dbsession, model, inserts)
    state.result.counts[name] = Counts(len(inserts), 0, len(rows) - len(inserts))


#: From this many rows, PostgreSQL gets them by COPY (see bench/bench_import.py).
COPY_FROM = 500


def _insert(dbsession, model, rows: list[dict]) -> None:
    """One ``executemany``, or on PostgreSQL a ``COPY`` for many rows, in the
    session's transaction."""
    if not rows:
        return
    table = model.__table__
    connection = dbsession.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        dbsession.execute(insert(table), rows)
        return
    from psycopg import sql

    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([str(v) if isinstance(v, enum.Enum) else v for v in row.values()])


def _present(rows, columns) -> tuple[str, ...]:
    """Of the ``may_be_absent`` columns, those this file has (every row of a
    file has the same keys): only they are written, so a file written before
    them leaves what is stored for them as it is."""
    if not rows:
        return ()
    first = rows[0]
    return tuple(c.name for c in columns if c.name in first)


def _ids(dbsession, *columns) -> dict:
    """{natural key: id} from a select of key column(s) and the id last."""
    return {(r[0] if len(r) == 2 else tuple(r[:-1])): r[-1] for r in dbsession.execute(select(*columns))}


# -- the entities, parents first ----------------------------------------------

TAXPAYER_FIELDS = ("kind", "name", "name_kana", "postal_code", "address", "address_extra",
                   "residency", "birth_date", "gender", "household_no", "search_name", "search_kana",
                   "search_address")


#: The taxpayers.csv columns that may be absent, written only when present:
#: same_person_as, 住民記録 and 職業・勤務先 (stored under the same names).
TAXPAYER_OPTIONAL = tuple(c for c in BY_FILENAME["taxpayers.csv"].columns if c.may_be_absent)


def _taxpayers(state, rows) -> None:
    # A file without some of the later columns leaves what is stored for them alone.
    optional = _present(rows, TAXPAYER_OPTIONAL)
    fields = TAXPAYER_FIELDS + optional

    def build(row):
        return {"taxpayer_no": row["taxpayer_no"], "kind": TaxpayerKind(row["kind"]),
                "name": row["name"], "name_kana": row["name_kana"] or "",
                "postal_code": row["postal_code"], "address": row["address"],
                "address_extra": row["address_extra"] or "", "residency": Residency(row["residency"]),
                "birth_date": row["birth_date"], "gender": row["gender"],
                "household_no": row["household_no"], "search_name": fold(row["name"]),
                "search_kana": fold(row["name_kana"] or ""),
                "search_address": taxpayer_search_address(row["address"], row["address_extra"]),
                **{name: row[name] for name in optional}}

    stored = _stored(state.dbsession, Taxpayer, fields, Taxpayer.taxpayer_no)
    _upsert(state, "taxpayers", Taxpayer, rows, stored, "taxpayer_no", fields, build)
    state.taxpayer_ids = _ids(state.dbsession, Taxpayer.taxpayer_no, Taxpayer.id)


def _phones(state, rows) -> None:
    """Phones are matched on their digits and only ever added."""
    stored = {f"{tp}:{d}" for tp, d in state.dbsession.execute(select(Phone.taxpayer_id, Phone.digits))}

    def build(row):
        return {"taxpayer_id": state.taxpayer_ids[row["taxpayer_no"]], "number": row["number"],
                "digits": digits(row["number"]), "kind": PhoneKind(row["kind"]), "note": "",
                "unusable": False}

    keyed = [{**row, "_key": f"{state.taxpayer_ids[row['taxpayer_no']]}:{digits(row['number'])}"}
             for row in rows]
    _add_new(state, "phones", Phone, keyed, stored, "_key", build)


MAILING_FIELDS = ("name", "postal_code", "address", "search_address")


def _mailing_addresses(state, rows) -> None:
    """送付先: at most one per taxpayer."""
    def build(row):
        return {"taxpayer_id": state.taxpayer_ids[row["taxpayer_no"]], "name": row["name"],
                "postal_code": row["postal_code"] or "", "address": row["address"],
                "search_address": address_key(row["address"])}

    stored = _stored(state.dbsession, MailingAddress, MAILING_FIELDS, Taxpayer.taxpayer_no,
                     join=(Taxpayer, Taxpayer.id == MailingAddress.taxpayer_id))
    _upsert(state, "mailing_addresses", MailingAddress, rows, stored, "taxpayer_no",
            MAILING_FIELDS, build)


FOREIGN_RESIDENT_FIELDS = ("registration_no", "alias_name", "nationality", "residence_status",
                           "stay_until")


def _foreign_residents(state, rows) -> None:
    """外国人住民: at most one record per taxpayer."""
    def build(row):
        return {"taxpayer_id": state.taxpayer_ids[row["taxpayer_no"]],
                **{f: row[f] for f in FOREIGN_RESIDENT_FIELDS}}

    stored = _stored(state.dbsession, ForeignResidentRecord, FOREIGN_RESIDENT_FIELDS,
                     Taxpayer.taxpayer_no,
                     join=(Taxpayer, Taxpayer.id == ForeignResidentRecord.taxpayer_id))
    _upsert(state, "foreign_residents", ForeignResidentRecord, rows, stored, "taxpayer_no",
            FOREIGN_RESIDENT_FIELDS, build)


CORPORATION_FIELDS = ("name", "postal_code", "location", "phone", "designation_no")


def _corporations(state, rows) -> None:
    """法人情報: at most one per taxpayer."""
    def build(row):
        return {"taxpayer_id": state.taxpayer_ids[row["taxpayer_no"]], "name": row["name"],
                "postal_code": row["postal_code"] or "", "location": row["location"],
                "phone": row["phone"], "designation_no": row["designation_no"]}

    stored = _stored(state.dbsession, Corporation, CORPORATION_FIELDS, Taxpayer.taxpayer_no,
                     join=(Taxpayer, Taxpayer.id == Corporation.taxpayer_id))
    _upsert(state, "corporations", Corporation, rows, stored, "taxpayer_no",
            CORPORATION_FIELDS, build)


REPRESENTATIVE_FIELDS = ("postal_code", "address", "phone", "registered_on")


def _representatives(state, rows) -> None:
    """納税管理人・相続人, matched on taxpayer, kind and name."""
    def build(row):
        return {"taxpayer_id": state.taxpayer_ids[row["taxpayer_no"]],
                "kind": RepresentativeKind(row["kind"]), "name": row["name"],
                "postal_code": row["postal_code"] or "", "address": row["address"] or "",
                "phone": row["phone"], "registered_on": row["registered_on"]}

    stored = _stored(state.dbsession, Representative, REPRESENTATIVE_FIELDS, Taxpayer.taxpayer_no,
                     Representative.kind, Representative.name,
                     join=(Taxpayer, Taxpayer.id == Representative.taxpayer_id))
    _upsert(state, "representatives", Representative, rows, stored,
            ("taxpayer_no", "kind", "name"), REPRESENTATIVE_FIELDS, build)


CASE_FIELDS = ("taxpayer_id", "opened_on", "delinquency_category", "assigned_staff")


def _cases(state, rows) -> None:
    def build(row):
        return {"case_no": row["case_no"], "taxpayer_id": state.taxpayer_ids[row["taxpayer_no"]],
                "opened_on": row["opened_on"], "delinquency_category": row["delinquency_category"],
                "assigned_staff": row["assigned_staff"], "status": CaseStatus.open, "balance": 0}

    stored = _stored(state.dbsession, Case, CASE_FIELDS, Case.case_no)
    _upsert(state, "cases", Case, rows, stored, "case_no", CASE_FIELDS, build)
    state.case_ids = _ids(state.dbsession, Case.case_no, Case.id)
    state.touched.update(state.case_ids[r["case_no"]] for r in rows)


ASSESSMENT_FIELDS = ("case_id", "tax_type", "fiscal_year", "applicable_year", "annual_amount")


def _assessments(state, rows) -> None:
    # 軽自動車 columns: a file without some of them leaves the stored vehicle alone
    vehicle = _present(rows, VEHICLE)
    fields = ASSESSMENT_FIELDS + vehicle

    def build(row):
        return {"notice_no": row["notice_no"], "case_id": state.case_ids[row["case_no"]],
                "tax_type": TaxType(row["tax_type"]), "fiscal_year": row["fiscal_year"],
                "applicable_year": row["applicable_year"], "annual_amount": row["annual_amount"],
                **{name: row[name] for name in vehicle}}

    stored = _stored(state.dbsession, Assessment, fields, Assessment.notice_no)
    _upsert(state, "assessments", Assessment, rows, stored, "notice_no", fields, build)
    state.touched.update(state.case_ids[r["case_no"]] for r in rows)
    state.assessment_ids, state.assessment_cases = {}, {}
    for notice_no, assessment_id, case_id in state.dbsession.execute(
            select(Assessment.notice_no, Assessment.id, Assessment.case_id)):
        state.assessment_ids[notice_no] = assessment_id
        state.assessment_cases[notice_no] = case_id


INSTALLMENT_FIELDS = ("due_date", "tax_amount", "late_charge_amount", "dunning_sent_on")


def _installments(state, rows) -> None:
    def build(row):
        return {"assessment_id": state.assessment_ids[row["notice_no"]], "period_no": row["period_no"],
                "due_date": row["due_date"], "tax_amount": row["tax_amount"],
                "late_charge_amount": row["late_charge_amount"] or 0,
                "dunning_sent_on": row.get("dunning_sent_on")}

    by_notice = (Assessment, Assessment.id == Installment.assessment_id)
    stored = _stored(state.dbsession, Installment, INSTALLMENT_FIELDS, Assessment.notice_no,
                     Installment.period_no, join=by_notice)
    fields = INSTALLMENT_FIELDS if not rows or "dunning_sent_on" in rows[0] else tuple(
        f for f in INSTALLMENT_FIELDS if f != "dunning_sent_on")  # an older file: keep the dates
    _upsert(state, "installments", Installment, rows, stored, ("notice_no", "period_no"),
            fields, build)
    _touch_by_notice(state, {r["notice_no"] for r in rows})
    state.installment_ids = {(n, p): i for n, p, i in state.dbsession.execute(
        select(Assessment.notice_no, Installment.period_no, Installment.id).join(*by_notice))}


def _receipts(state, rows) -> None:
    """Receipts are only ever added."""
    def build(row):
        return {"installment_id": state.installment_ids[(row["notice_no"], row["period_no"])],
                "receipt_no": row["receipt_no"], "kind": ReceiptKind(row["kind"]),
                "received_on": row["received_on"], "posted_on": row["posted_on"],
                "amount": row["amount"]}

    stored = set(state.dbsession.scalars(select(row_key(Receipt.receipt_no, Receipt.id, "R"))))
    _add_new(state, "receipts", Receipt, rows, stored, "receipt_no", build)
    _touch_by_notice(state, {r["notice_no"] for r in rows})


def _touch_by_notice(state, notices) -> None:
    state.touched.update(state.assessment_cases[n] for n in notices)


DIRECT_DEBIT_FIELDS = ("bank_name", "branch_name", "account_holder", "cancelled_on", "failure_reason",
                       "registered_on")


def _direct_debits(state, rows) -> None:
    """口座振替, matched on the case and the period it starts with. A new
    account is stamped with the import's day (first_seen_on): with the
    optional 口座登録日 it dates the registration of a direct-debit
    application (intranet.cases.debits.match runs after the import)."""
    def build(row):
        return {"case_id": state.case_ids[row["case_no"]], "bank_name": row["bank_name"],
                "branch_name": row["branch_name"], "account_holder": row["account_holder"],
                "start_fiscal_year": row["start_fiscal_year"],
                "start_period_no": row["start_period_no"], "cancelled_on": row["cancelled_on"],
                "failure_reason": row["failure_reason"],
                "registered_on": row.get("registered_on"), "first_seen_on": state.today}

    stored = _stored(state.dbsession, DirectDebitAccount, DIRECT_DEBIT_FIELDS, Case.case_no,
                     DirectDebitAccount.start_fiscal_year, DirectDebitAccount.start_period_no,
                     join=(Case, Case.id == DirectDebitAccount.case_id))
    # An older file without 口座登録日 keeps the dates stored.
    fields = DIRECT_DEBIT_FIELDS if not rows or "registered_on" in rows[0] else tuple(
        f for f in DIRECT_DEBIT_FIELDS if f != "registered_on")
    _upsert(state, "direct_debits", DirectDebitAccount, rows, stored,
            ("case_no", "start_fiscal_year", "start_period_no"), fields, build)


AGREEMENT_FIELDS = ("first_due_on", "instalment_amount", "instalment_count", "is_active", "note")


def _payment_agreements(state, rows) -> None:
    """分割納付約束, matched on the case and the day it was agreed."""
    def build(row):
        return {"case_id": state.case_ids[row["case_no"]], "agreed_on": row["agreed_on"],
                "first_due_on": row["first_due_on"], "instalment_amount": row["instalment_amount"],
                "instalment_count": row["instalment_count"], "is_active": row["status"] == "active",
                "note": row["note"] or "",
                # new plans start 履行中; plans.refresh sets the state after the import
                "state": PlanState.current, "shortfall_reason": ""}

    stored = _stored(state.dbsession, PaymentAgreement, AGREEMENT_FIELDS, Case.case_no,
                     PaymentAgreement.agreed_on, join=(Case, Case.id == PaymentAgreement.case_id))
    # New terms: the schedule follows them (regenerated by plans.refresh
    # unless payment_plan_schedule.csv gives it).
    changed_terms = []
    for row in rows:
        current = stored.get((row["case_no"], row["agreed_on"]))
        if current is not None and any(current[f] != row[f] for f in SCHEDULE_TERMS):
            changed_terms.append(current["id"])
    _upsert(state, "payment_agreements", PaymentAgreement, rows, stored, ("case_no", "agreed_on"),
            AGREEMENT_FIELDS, build)
    if changed_terms:
        state.dbsession.execute(delete(PlanPayment).where(PlanPayment.plan_id.in_(changed_terms)))


SCHEDULE_TERMS = ("first_due_on", "instalment_amount", "instalment_count")


def _plan_schedule(state, rows) -> None:
    """分納予定: each plan named gets exactly the file's rows as its schedule
    (its summary columns follow); plans not named are left as they are."""
    if not rows:
        return
    plans = {(case_no, agreed_on): plan_id for plan_id, case_no, agreed_on in state.dbsession.execute(
        select(PaymentAgreement.id, Case.case_no, PaymentAgreement.agreed_on)
        .join(Case, Case.id == PaymentAgreement.case_id))}
    schedules: dict[int, list[tuple]] = {}
    for row in rows:
        schedules.setdefault(plans[(row["case_no"], row["agreed_on"])], []).append(
            (row["due_on"], row["amount"]))
    stored: dict[int, list[tuple]] = {}
    for plan_id, due_on, amount in state.dbsession.execute(
            select(PlanPayment.plan_id, PlanPayment.due_on, PlanPayment.amount)
            .where(PlanPayment.plan_id.in_(list(schedules)))):
        stored.setdefault(plan_id, []).append((due_on, amount))
    changed = [plan_id for plan_id, rows_ in schedules.items()
               if sorted(rows_) != sorted(stored.get(plan_id, []))]
    if changed:
        state.dbsession.execute(delete(PlanPayment).where(PlanPayment.plan_id.in_(changed)))
        _insert(state.dbsession, PlanPayment, [
            {"plan_id": plan_id, "due_on": due_on, "amount": amount}
            for plan_id in changed for due_on, amount in sorted(schedules[plan_id])])
        for plan_id in changed:
            ordered = sorted(schedules[plan_id])
            state.dbsession.execute(update(PaymentAgreement).where(PaymentAgreement.id == plan_id)
                                    .values(first_due_on=ordered[0][0], instalment_count=len(ordered),
                                            instalment_amount=max(a for _, a in ordered)))
    added = sum(len(schedules[p]) for p in changed if p not in stored)
    state.result.counts["payment_plan_schedule"] = Counts(
        added, sum(len(schedules[p]) for p in changed) - added,
        sum(len(schedules[p]) for p in schedules if p not in changed))


def _contact_history(state, rows) -> None:
    """経過記録 are evidence: only ever added, never rewritten or removed."""
    def build(row):
        return {"record_no": row["record_no"], "case_id": state.case_ids[row["case_no"]],
                "kind": ContactKind(row["kind"]), "occurred_at": from_jst(row["occurred_at"]),
                "place": row["place"] or "", "counterpart": row["counterpart"] or "",
                "content": row["content"] or "", "staff_name": row["staff_name"] or ""}

    stored = set(state.dbsession.scalars(select(row_key(ContactRecord.record_no, ContactRecord.id, "C"))))
    _add_new(state, "contact_history", ContactRecord, rows, stored, "record_no", build)


STEPS = (
    ("taxpayers", _taxpayers), ("phones", _phones), ("mailing_addresses", _mailing_addresses),
    ("foreign_residents", _foreign_residents),
    ("corporations", _corporations), ("representatives", _representatives), ("cases", _cases),
    ("assessments", _assessments), ("installments", _installments), ("receipts", _receipts),
    ("payment_agreements", _payment_agreements), ("payment_plan_schedule", _plan_schedule),
    ("direct_debits", _direct_debits), ("contact_history", _contact_history),
    ("case_statuses", statuses.apply), ("mail_returns", mail_returns.apply),
)


#: Longer than this, an IN list costs more than reading the whole table.
IN_LIST_MAX = 2000


def _among(query, column, ids: set):
    """``query`` narrowed to ``ids`` by an IN list when short, else the whole
    table (the caller skips rows of other ids)."""
    return query.where(column.in_(list(ids))) if len(ids) <= IN_LIST_MAX else query


def _recompute_balances(dbsession, case_ids, result, today, rules: AmountRules) -> None:
    """Balance = what is overdue today (intranet.taxes.owed: 本税 past its 納期限,
    延滞金 accrued and fixed, 督促手数料), per installment. A case is closed
    only when nothing at all is owed (not yet due included), so a case with
    only 延滞金 left stays open."""
    if not case_ids:
        return
    owed = defaultdict(int)
    still_owed = set()
    has_installments = set()
    receipts = defaultdict(list)
    for case_id, installment_id, kind, on, amount in dbsession.execute(_among(
            select(Assessment.case_id, Receipt.installment_id, Receipt.kind, Receipt.received_on,
                   Receipt.amount)
            .join(Installment, Installment.id == Receipt.installment_id)
            .join(Assessment, Assessment.id == Installment.assessment_id),
            Assessment.case_id, case_ids)):
        if case_id in case_ids:
            receipts[installment_id].append((str(kind), on, amount))
    for case_id, installment_id, due, tax, late, dunning in dbsession.execute(_among(
            select(Assessment.case_id, Installment.id, Installment.due_date, Installment.tax_amount,
                   Installment.late_charge_amount, Installment.dunning_sent_on)
            .join(Installment, Installment.assessment_id == Assessment.id),
            Assessment.case_id, case_ids)):
        if case_id in case_ids:
            has_installments.add(case_id)
            amounts = owed_for(installment_id=installment_id, due=due, tax_amount=tax,
                               late_charge_amount=late, receipts=receipts[installment_id],
                               as_of=today, dunning_sent_on=dunning, fee_on=rules.fee_on,
                               floor_segments=rules.floor_segments)
            owed[case_id] += amounts.overdue
            if amounts.total > 0:
                still_owed.add(case_id)
    updates = []
    for case_id, status, balance, closed_on in dbsession.execute(_among(
            select(Case.id, Case.status, Case.balance, Case.closed_on), Case.id, case_ids)):
        if case_id not in case_ids:
            continue
        new_balance = owed.get(case_id, 0)
        new_status, new_closed_on = status, closed_on
        if case_id in has_installments and case_id not in still_owed and status == CaseStatus.open:
            new_status, new_closed_on = CaseStatus.closed, today
            result.closed += 1
        elif case_id in still_owed and status == CaseStatus.closed:
            new_status, new_closed_on = CaseStatus.open, None
            result.reopened += 1
        if new_balance != balance or new_status != status:
            updates.append({"_id": case_id, "balance": new_balance, "status": new_status,
                            "closed_on": new_closed_on})
    if updates:
        table = Case.__table__
        dbsession.execute(update(table).where(table.c.id == bindparam("_id")).values(
            balance=bindparam("balance"), status=bindparam("status"),
            closed_on=bindparam("closed_on")), updates)


def run(dbsession, raw_files: dict[str, bytes], today: dt.date, *, encoding: str | None = None,
        dry_run: bool = False, progress=None, rules: AmountRules | None = None,
        plan_grace_days: int | None = None, now: dt.datetime | None = None) -> ImportResult:
    """Read, check and (unless there is any problem) apply. With ``dry_run``
    the changes are made inside a savepoint that is rolled back.
    ``progress(label)`` is told of each of the ``steps(raw_files)`` steps as
    it starts (the command line shows a bar)."""
    parsed, result = read_all(raw_files, encoding, progress)
    if result.ok:
        if progress is not None:
            progress("checking keys and parents")
        validate(dbsession, parsed, result, rules)
    if not result.ok:
        return result
    savepoint = dbsession.begin_nested()
    try:
        apply(dbsession, parsed, result, today, progress, rules, plan_grace_days, now)
    except Exception:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return result


def record(dbsession, result: ImportResult, *, user=None, os_user: str = "", now: dt.datetime,
           dry_run: bool = False):
    """Keep a record of a successful import (or dry run)."""
    import json

    from ..models import DataImport

    entry = DataImport(
        user_id=user.id if user else None, os_user=os_user, created_at=now, dry_run=dry_run,
        files=json.dumps(result.files, sort_keys=True),
        counts=json.dumps({k: vars(v) for k, v in result.counts.items()}, sort_keys=True),
        closed=result.closed, reopened=result.reopened)
    dbsession.add(entry)
    dbsession.flush()
    return entry
