"""The convenience-store barcode of a reissued slip (コンビニ収納用バーコード).

GS1-128 (Code 128 with FNC1 first) carrying the 44 digits of GS1 Japan's
「GS1-128による標準料金代理収納ガイドライン」; docs/taxes.md, section
"Convenience-store barcode", gives each position with its source::

    91 MMMMMM EEEEEEEEEEEEEEEEEEEEE S YYMMDD F PPPPPP C
    AI company free field (21)      | deadline | amount  check digit
                                reissue count  stamp flag

A slip carries one only when the ward has a company code (収納企業コード),
the amount is within the stores' limit (300,000円) and the slip is for a
single notice (納税通知書番号: the free field holds it, the stores' payment
data give it back). Without one the slip does not name convenience stores.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from sqlalchemy import select

from ..models import DocumentKind, IssuedDocument

AI = "91"              # the application identifier the guideline assigns
FREE_FIELD = 21        # 自由使用欄: the notice number, zero-filled on the right
STAMP_FLAG = "0"       # 印紙フラグ: taxes need no revenue stamp
MAX_REISSUE = 9        # 再発行区分 is one digit
MAX_AMOUNT = 999_999   # six digits
DEFAULT_LIMIT = 300_000


@dataclass(frozen=True)
class CvsSettings:
    """``intranet.documents.cvs_*``, parsed once at start-up."""
    company_code: str = ""          # 6 digits; "" = no barcode
    limit: int = DEFAULT_LIMIT      # the largest amount a store accepts
    module_mm: float = 0.191        # X-dimension (narrowest bar) in mm

    @property
    def enabled(self) -> bool:
        return bool(self.company_code)


@dataclass(frozen=True)
class SlipBarcode:
    digits: str          # the 44 digits
    module_mm: float     # how wide to print its narrowest bar

    @property
    def human_readable(self) -> str:
        """What is printed under the bars: the AI in parentheses, then the data."""
        return f"({self.digits[:2]}){self.digits[2:]}"

    @property
    def symbol_value(self) -> str:
        """The value for reportlab's Code128: FNC1 first makes it GS1-128."""
        return "\xf1" + self.digits


def check_digit(digits: str) -> int:
    """Modulus 10, weights 3 and 1 counted from the right: the digit next to
    the check digit weighs 3, the one before 1, and so on (the AI included);
    the check digit brings the sum to a multiple of 10."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return -total % 10


def barcode_digits(company_code: str, notice_no: str, reissue: int, deadline: dt.date,
                   amount: int) -> str:
    """The 44 digits (without FNC1)."""
    if not re.fullmatch(r"[0-9]{6}", company_code):
        raise ValueError("company code: 6 digits")
    if not re.fullmatch(r"[0-9]{1,%d}" % FREE_FIELD, notice_no):
        raise ValueError(f"notice number: 1 to {FREE_FIELD} digits")
    if not 0 < amount <= MAX_AMOUNT:
        raise ValueError("amount: 1 to 999,999 yen")
    body = (f"{AI}{company_code}{notice_no.ljust(FREE_FIELD, '0')}{min(reissue, MAX_REISSUE)}"
            f"{deadline:%y%m%d}{STAMP_FLAG}{amount:06d}")
    return body + str(check_digit(body))


def reissue_count(dbsession, case, notice_no: str, issued: IssuedDocument) -> int:
    """再発行区分: the original slip (mailed with the notice) counts 0, so this
    reissue is 1 plus the slips issued before it for any installment of the
    same notice of the case (9 at most: one digit)."""
    ids = {i.id for a in case.assessments if a.notice_no == notice_no for i in a.installments}
    earlier = dbsession.scalars(select(IssuedDocument.installments).where(
        IssuedDocument.kind == DocumentKind.slip, IssuedDocument.case_id == case.id,
        IssuedDocument.id < issued.id))
    before = sum(1 for raw in earlier if ids & {entry["id"] for entry in json.loads(raw)})
    return min(1 + before, MAX_REISSUE)


def slip_barcode(dbsession, cvs: CvsSettings, case, installments, issued: IssuedDocument,
                 amount: int) -> SlipBarcode | None:
    """The slip's barcode, or None when it cannot be paid at a store."""
    notices = {i.assessment.notice_no for i in installments}
    if not cvs.enabled or not 0 < amount <= cvs.limit or len(notices) != 1:
        return None
    (notice_no,) = notices
    if not re.fullmatch(r"[0-9]{1,%d}" % FREE_FIELD, notice_no or ""):
        return None
    reissue = reissue_count(dbsession, case, notice_no, issued)
    return SlipBarcode(barcode_digits(cvs.company_code, notice_no, reissue, issued.deadline, amount),
                       cvs.module_mm)
