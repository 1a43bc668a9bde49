"""Issuing documents: build their content, record them on each case
(帳票発行記録), render the PDF; letter batches and their sealing (封入封緘)."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import update

from ..models import (
    BatchStatus, ContactKind, ContactRecord, DocumentKind, IssuedDocument, LetterBatch,
)
from ..taxes.owed import AmountRules
from .barcode import CvsSettings, slip_barcode
from .content import Document, Office, fee_for, lines_for, recipient
from .render import draw_letter, draw_slip, render

PREFIX = {DocumentKind.slip: "S", DocumentKind.letter: "L"}
LABEL = {DocumentKind.slip: "納付書（再発行）", DocumentKind.letter: "催告書"}


def _record(dbsession, kind, case, lines, deadline, user, now, fee=0, batch=None) -> IssuedDocument:
    issued = IssuedDocument(
        kind=kind, doc_no=uuid.uuid4().hex[:20], case_id=case.id, batch_id=batch.id if batch else None,
        issued_by=user.id, issued_at=now, deadline=deadline,
        installments=json.dumps([{"id": ln.installment_id, "period": ln.period_no, "tax": ln.tax,
                                  "late_charge": ln.late_charge} for ln in lines]),
        tax_total=sum(ln.tax for ln in lines), late_charge_total=sum(ln.late_charge for ln in lines),
        fee=fee)
    dbsession.add(issued)
    dbsession.flush()
    issued.doc_no = f"{PREFIX[kind]}{now.year}-{issued.id:06d}"
    total = issued.tax_total + issued.late_charge_total + fee
    dbsession.add(ContactRecord(
        case_id=case.id, kind=ContactKind.document, occurred_at=now,
        content=f"{LABEL[kind]} {issued.doc_no} 発行（指定期限 {deadline.isoformat()}、"
                f"{len(lines)}期分、合計 {total:,}円）",
        staff_name=user.display_name))
    return issued


def _document(issued: IssuedDocument, case, lines, today: dt.date) -> Document:
    name, postal, address, extra = recipient(case)
    return Document(issued.doc_no, today, issued.deadline, name, postal, address, extra,
                    case.case_no, lines, issued.fee)


def issue_slip(dbsession, case, installments, deadline: dt.date, user, now: dt.datetime,
               today: dt.date, settings, cvs: CvsSettings | None = None) -> tuple[IssuedDocument, bytes]:
    rules = AmountRules.from_settings(settings)
    lines = lines_for(installments, deadline, rules)
    issued = _record(dbsession, DocumentKind.slip, case, lines, deadline, user, now,
                     fee_for(installments, rules, today))
    document = _document(issued, case, lines, today)
    if cvs is not None:
        document.cvs_barcode = slip_barcode(dbsession, cvs, case, installments, issued, document.total)
    pdf = render([document], Office.from_settings(settings), draw_slip)
    return issued, pdf


def issue_letters(dbsession, cases, deadline: dt.date, user, now: dt.datetime, today: dt.date,
                  settings, enclosures: Mapping[int, Sequence[str]] | None = None) -> LetterBatch:
    """One batch, one letter per case: what is overdue today and past its
    督促状 by the configured days (docs/taxes.md); amounts as of the deadline.
    The 督促手数料 appears only as owed where a 督促状 was sent: a letter
    never creates one. ``enclosures``: case id -> what goes in that case's
    envelope (a line each on its letter); a case that gets no letter gets
    no enclosure either."""
    rules = AmountRules.from_settings(settings)
    batch = LetterBatch(created_by=user.id, created_at=now, deadline=deadline, letters=0,
                        status=BatchStatus.printed, pdf=b"")
    dbsession.add(batch)
    dbsession.flush()
    documents = []
    for case in cases:
        chosen = letter_installments(case, rules, today)
        if not chosen:
            continue
        lines = lines_for(chosen, deadline, rules)
        fee = fee_for(chosen, rules, today)
        issued = _record(dbsession, DocumentKind.letter, case, lines, deadline, user, now, fee, batch)
        document = _document(issued, case, lines, today)
        document.enclosures = list((enclosures or {}).get(case.id, ()))
        documents.append(document)
    batch.letters = len(documents)
    batch.pdf = render(documents, Office.from_settings(settings), draw_letter)
    return batch


def letter_installments(case, rules: AmountRules, today: dt.date) -> list:
    """The installments a 催告書 may demand today (overdue, and past the
    督促状 by ``rules.letter_after_dunning_days`` when its date is known)."""
    return [i for i, _ in rules.case(case, today).letter_items(rules.letter_after_dunning_days)]


def seal(dbsession, batch: LetterBatch, counted: int, user, now: dt.datetime) -> bool:
    """Record the envelopes counted at enclosure; sealed only if they match the letters printed."""
    matched = counted == batch.letters
    dbsession.execute(update(LetterBatch).where(LetterBatch.id == batch.id).values(
        counted=counted, sealed_by=user.id, sealed_at=now,
        status=BatchStatus.sealed if matched else BatchStatus.discrepancy))
    dbsession.refresh(batch)
    return matched
