"""Writing the data-link files from the database (the same conventions the
import reads): used to hand data back and for round-trip checks."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import String, case, cast, func, literal, select

from ..clock import to_jst
from ..models import (
    Assessment, Case, ContactRecord, Corporation, DirectDebitAccount, ForeignResidentRecord,
    Installment, IssuedDocument, MailingAddress, PaymentAgreement, Phone, PlanPayment, Receipt,
    Representative, StatusPeriod, Taxpayer,
)
from .encoding import encode_files
from .formats import BY_NAME, EMPLOYMENT, RESIDENT_RECORD, VEHICLE


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


def _table(spec, rows) -> tuple[list[str], list[list], tuple[str, ...]]:
    return spec.column_names, [[_value(v) for v in row] for row in rows], spec.key


def dump(dbsession, encoding: str = "utf-8-sig") -> dict[str, bytes]:
    """Every row of every data-link file, in ``encoding`` (``cp932`` or
    ``utf-8``/``utf-8-sig``: UTF-8 with BOM). A value the encoding cannot
    hold raises :class:`intranet.datalink.encoding.UnencodableError` with
    every such place: nothing is replaced."""
    taxpayers = dbsession.execute(select(
        Taxpayer.taxpayer_no, Taxpayer.kind, Taxpayer.name, Taxpayer.name_kana, Taxpayer.postal_code,
        Taxpayer.address, Taxpayer.address_extra, Taxpayer.residency, Taxpayer.birth_date,
        Taxpayer.gender, Taxpayer.household_no, Taxpayer.same_person_as,
        *[Taxpayer.__table__.c[c.name] for c in (*RESIDENT_RECORD, *EMPLOYMENT)])
        .order_by(Taxpayer.taxpayer_no))
    foreign = dbsession.execute(select(
        Taxpayer.taxpayer_no, ForeignResidentRecord.registration_no, ForeignResidentRecord.alias_name,
        ForeignResidentRecord.nationality, ForeignResidentRecord.residence_status,
        ForeignResidentRecord.stay_until)
        .join(Taxpayer, Taxpayer.id == ForeignResidentRecord.taxpayer_id).order_by(Taxpayer.taxpayer_no))
    agreements = dbsession.execute(select(
        Case.case_no, PaymentAgreement.agreed_on, PaymentAgreement.first_due_on,
        PaymentAgreement.instalment_amount, PaymentAgreement.instalment_count,
        case((PaymentAgreement.is_active, literal("active")), else_=literal("ended")),
        PaymentAgreement.note)
        .join(Case, Case.id == PaymentAgreement.case_id)
        .order_by(Case.case_no, PaymentAgreement.agreed_on, PaymentAgreement.id))
    schedule = dbsession.execute(select(
        Case.case_no, PaymentAgreement.agreed_on, PlanPayment.due_on, PlanPayment.amount)
        .join(PaymentAgreement, PaymentAgreement.id == PlanPayment.plan_id)
        .join(Case, Case.id == PaymentAgreement.case_id)
        .order_by(Case.case_no, PaymentAgreement.agreed_on, PlanPayment.due_on, PlanPayment.id))
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
        Assessment.applicable_year, Assessment.annual_amount,
        *[Assessment.__table__.c[c.name] for c in VEHICLE])
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
        DirectDebitAccount.failure_reason, DirectDebitAccount.registered_on)
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
    returns = dbsession.execute(select(
        IssuedDocument.doc_no, Case.case_no, IssuedDocument.returned_on, IssuedDocument.return_reason)
        .join(Case, Case.id == IssuedDocument.case_id)
        .where(IssuedDocument.returned_on.is_not(None)).order_by(IssuedDocument.doc_no))
    data = {"taxpayers": taxpayers, "phones": phones, "mailing_addresses": mailing,
            "foreign_residents": foreign, "corporations": corporations,
            "representatives": representatives, "cases": cases, "assessments": assessments,
            "installments": installments, "receipts": receipts, "payment_agreements": agreements,
            "payment_plan_schedule": schedule,
            "direct_debits": direct_debits, "contact_history": contacts, "case_statuses": statuses,
            "mail_returns": returns}
    return encode_files({BY_NAME[name].filename: _table(BY_NAME[name], rows)
                         for name, rows in data.items()}, encoding)
