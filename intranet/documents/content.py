"""What a slip or letter says: the installments owed (intranet.taxes.owed
decides which and how much), their late charges as of the deadline, totals, the recipient (送付先 when there is one) and the
office's details. Pure data, no drawing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..taxes.owed import AmountRules
from .barcode import SlipBarcode

TAX_LABELS = {"resident": "特別区民税・都民税", "light_vehicle": "軽自動車税（種別割）"}


@dataclass
class Line:
    installment_id: int
    fiscal_year: int
    tax_label: str
    period_no: int
    notice_no: str
    due_date: dt.date
    tax: int           # 本税 still owed
    late_charge: int   # as of the deadline


@dataclass
class Office:
    name: str
    address: str
    phone: str
    hours: str
    payment_places: str


@dataclass
class Document:
    doc_no: str
    issue_date: dt.date
    deadline: dt.date
    name: str
    postal_code: str
    address: str
    address_extra: str
    case_no: str
    lines: list[Line] = field(default_factory=list)
    fee: int = 0
    cvs_barcode: SlipBarcode | None = None  # when payable at a convenience store
    # What goes in the envelope with the letter (e.g. 口座振替依頼書): a line
    # each on the letter, with its instruction (render.ENCLOSURE_NOTES).
    enclosures: list[str] = field(default_factory=list)

    @property
    def tax_total(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def late_charge_total(self) -> int:
        return sum(line.late_charge for line in self.lines)

    @property
    def total(self) -> int:
        return self.tax_total + self.late_charge_total + self.fee


def lines_for(installments, deadline: dt.date, rules: AmountRules | None = None) -> list[Line]:
    """One line per installment: 本税 still owed and 延滞金 (accruing to the
    deadline, and fixed), both from intranet.taxes.owed."""
    rules = rules or AmountRules()
    lines = []
    for i in installments:
        a = i.assessment
        owed = rules.installment(i, deadline)
        lines.append(Line(i.id, a.fiscal_year, TAX_LABELS.get(str(a.tax_type), str(a.tax_type)),
                          i.period_no, a.notice_no, i.due_date,
                          owed.tax_overdue + owed.tax_not_due, owed.late_charge))
    return lines


def fee_for(installments, rules: AmountRules, today: dt.date) -> int:
    """The 督促手数料 owed on these installments (where a 督促状 was sent and the
    fee in force that day is not 0); a document never creates one."""
    return sum(rules.installment(i, today).fee for i in installments)


def recipient(case) -> tuple[str, str, str, str]:
    """(name, postal code, address, 方書): the mailing address (送付先) when present."""
    taxpayer = case.taxpayer
    mailing = taxpayer.mailing_address
    if mailing is not None:
        return mailing.name, mailing.postal_code, mailing.address, ""
    return taxpayer.name, taxpayer.postal_code, taxpayer.address, taxpayer.address_extra or ""

