"""Writing the data-link files from the database (the same conventions the
import reads): used to hand data back and for round-trip checks."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import String, cast, func, literal, select

from .. import tabular
from ..clock import to_jst
from ..models import (
    Assessment, Case, ContactRecord, Corporation, DirectDebitAccount, Installment, MailingAddress,
    Phone, Receipt, Representative, StatusPeriod, Taxpayer,
)
from .formats import BY_NAME


def row_key(number_column, id_column, prefix: str):
    """The data-link key of a stored row: its number in the delinquency system,
    or for a row made here (no number) the prefix and its id, ``R123``."""
    return func.coalesce(number_column, literal(prefix, String) + cast(id_column, String))


def _value(value):
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)):
        return value  # a number: written as it is, never quoted as text
    if isinstance(value, dt.datetime):
        return to_jst(value).strftime("%Y-%m-%d %H:%M:%S")  # stored UTC, written JST
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _csv(spec, rows, encoding: str) -> bytes:
    return tabular.csv_bytes([spec.column_names, *([_value(v) for v in row] for row in rows)], encoding)


def dump(dbsession, encoding: str = "utf-8-sig") -> dict[str, bytes]:
    """Every row of every data-link file."""
    taxpayers = dbsession.execute(select(
        Taxpayer.taxpayer_no, Taxpayer.kind, Taxpayer.name, Taxpayer.name_kana, Taxpayer.postal_code,
        Taxpayer.address, Taxpayer.address_extra, Taxpayer.residency, Taxpayer.birth_date,
        Taxpayer.gender, Taxpayer.household_no, Taxpayer.same_person_as).order_by(Taxpayer.taxpayer_no))
    phones = dbsession.execute(select(Taxpayer.taxpayer_no, Phone.number, Phone.kind)
                               .join(Taxpayer, Taxpayer.id == Phone.taxpayer_id)
                               .order_by(Taxpayer.taxpayer_no, Phone.id))
    mailing = dbsession.execute(select(Taxpayer.taxpayer_no, MailingAddress.name,
                                       MailingAddress.postal_code, MailingAddress.address)
                                .join(Taxpayer, Taxpayer.id == MailingAddress.taxpayer_id)
                                .order_by(Taxpayer.taxpayer_no))
    cases = dbsession.execute(select(Case.case_no, Taxpayer.taxpayer_no, Case.opened_on,
                                     Case.delinquency_category, Case.assigned_staff)
                              .join(Taxpayer, Taxpayer.id == Case.taxpayer_id).order_by(Case.case_no))
    assessments = dbsession.execute(select(
        Assessment.notice_no, Case.case_no, Assessment.tax_type, Assessment.fiscal_year,
        Assessment.applicable_year, Assessment.annual_amount)
        .join(Case, Case.id == Assessment.case_id).order_by(Assessment.notice_no))
    installments = dbsession.execute(select(
        Assessment.notice_no, Installment.period_no, Installment.due_date, Installment.tax_amount,
        Installment.late_charge_amount, Installment.dunning_sent_on)
        .join(Assessment, Assessment.id == Installment.assessment_id)
        .order_by(Assessment.notice_no, Installment.period_no))
    receipts = dbsession.execute(select(
        row_key(Receipt.receipt_no, Receipt.id, "R"),
        Assessment.notice_no, Installment.period_no, Receipt.kind, Receipt.received_on,
        Receipt.posted_on, Receipt.amount)
        .join(Installment, Installment.id == Receipt.installment_id)
        .join(Assessment, Assessment.id == Installment.assessment_id)
        .order_by(Assessment.notice_no, Installment.period_no, Receipt.id))
    corporations = dbsession.execute(select(
        Taxpayer.taxpayer_no, Corporation.name, Corporation.postal_code, Corporation.location,
        Corporation.phone, Corporation.designation_no)
        .join(Taxpayer, Taxpayer.id == Corporation.taxpayer_id).order_by(Taxpayer.taxpayer_no))
    representatives = dbsession.execute(select(
        Taxpayer.taxpayer_no, Representative.kind, Representative.name, Representative.postal_code,
        Representative.address, Representative.phone, Representative.registered_on)
        .join(Taxpayer, Taxpayer.id == Representative.taxpayer_id)
        .order_by(Taxpayer.taxpayer_no, Representative.id))
    direct_debits = dbsession.execute(select(
        Case.case_no, DirectDebitAccount.bank_name, DirectDebitAccount.branch_name,
        DirectDebitAccount.account_holder, DirectDebitAccount.start_fiscal_year,
        DirectDebitAccount.start_period_no, DirectDebitAccount.cancelled_on,
        DirectDebitAccount.failure_reason)
        .join(Case, Case.id == DirectDebitAccount.case_id).order_by(Case.case_no, DirectDebitAccount.id))
    contacts = dbsession.execute(select(
        row_key(ContactRecord.record_no, ContactRecord.id, "C"), Case.case_no, ContactRecord.kind,
        ContactRecord.occurred_at, ContactRecord.place, ContactRecord.counterpart,
        ContactRecord.content, ContactRecord.staff_name)
        .join(Case, Case.id == ContactRecord.case_id).order_by(Case.case_no, ContactRecord.id))
    statuses = dbsession.execute(select(
        Case.case_no, StatusPeriod.kind, StatusPeriod.starts_on, StatusPeriod.ends_on,
        StatusPeriod.reason)
        .join(Case, Case.id == StatusPeriod.case_id)
        .order_by(Case.case_no, StatusPeriod.kind, StatusPeriod.starts_on))
    data = {"taxpayers": taxpayers, "phones": phones, "mailing_addresses": mailing,
            "corporations": corporations, "representatives": representatives, "cases": cases,
            "assessments": assessments, "installments": installments, "receipts": receipts,
            "direct_debits": direct_debits, "contact_history": contacts, "case_statuses": statuses}
    return {BY_NAME[name].filename: _csv(BY_NAME[name], rows, encoding) for name, rows in data.items()}
