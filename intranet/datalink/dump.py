"""Writing the data-link files from the database (the same conventions the
import reads): used to hand data back and for round-trip checks."""
from __future__ import annotations

import csv
import io

from sqlalchemy import String, cast, func, literal, select

from ..models import Assessment, Case, Installment, MailingAddress, Phone, Receipt, Taxpayer
from .formats import BY_NAME


def _value(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _csv(spec, rows, encoding: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(spec.column_names)
    for row in rows:
        writer.writerow([_value(v) for v in row])
    text = out.getvalue()
    return ("\ufeff" + text).encode("utf-8") if encoding == "utf-8-sig" else text.encode(encoding)


def dump(dbsession, encoding: str = "utf-8-sig") -> dict[str, bytes]:
    """Every taxpayer, phone, case, assessment, installment and receipt."""
    taxpayers = dbsession.execute(select(
        Taxpayer.taxpayer_no, Taxpayer.kind, Taxpayer.name, Taxpayer.name_kana, Taxpayer.postal_code,
        Taxpayer.address, Taxpayer.address_extra, Taxpayer.residency, Taxpayer.birth_date,
        Taxpayer.gender, Taxpayer.household_no).order_by(Taxpayer.taxpayer_no))
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
        Installment.late_charge_amount).join(Assessment, Assessment.id == Installment.assessment_id)
        .order_by(Assessment.notice_no, Installment.period_no))
    receipts = dbsession.execute(select(
        func.coalesce(Receipt.receipt_no, literal("R", String) + cast(Receipt.id, String)),
        Assessment.notice_no, Installment.period_no, Receipt.kind, Receipt.received_on,
        Receipt.posted_on, Receipt.amount)
        .join(Installment, Installment.id == Receipt.installment_id)
        .join(Assessment, Assessment.id == Installment.assessment_id)
        .order_by(Assessment.notice_no, Installment.period_no, Receipt.id))
    data = {"taxpayers": taxpayers, "phones": phones, "mailing_addresses": mailing, "cases": cases, "assessments": assessments,
            "installments": installments, "receipts": receipts}
    return {BY_NAME[name].filename: _csv(BY_NAME[name], rows, encoding) for name, rows in data.items()}
