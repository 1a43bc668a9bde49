"""Issuing documents: build their content, record them on each case
(帳票発行記録), render the PDF; letter batches and their sealing (封入封緘)."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.orm import selectinload

from ..models import (
    Assessment, BatchStatus, Case, ContactKind, ContactRecord, DocumentKind, Installment,
    IssuedDocument, LetterBatch, Taxpayer,
)
from ..taxes.owed import AmountRules
from .barcode import CvsSettings, slip_barcode
from .content import Document, fee_for, lines_for, recipient
from .render import draw_letter, draw_slip, render

PREFIX = {DocumentKind.slip: "S", DocumentKind.letter: "L"}
LABEL = {DocumentKind.slip: "納付書（再発行）", DocumentKind.letter: "催告書"}


def _fields(kind, case, lines, deadline, user, now, fee=0, batch=None) -> dict:
    """An issued document's columns (its ``doc_no`` a unique placeholder until it has an id)."""
    return dict(
        kind=kind, doc_no=uuid.uuid4().hex[:20], case_id=case.id, batch_id=batch.id if batch else None,
        issued_by=user.id, issued_at=now, deadline=deadline,
        installments=json.dumps([{"id": ln.installment_id, "period": ln.period_no, "tax": ln.tax,
                                  "late_charge": ln.late_charge} for ln in lines]),
        tax_total=sum(ln.tax for ln in lines), late_charge_total=sum(ln.late_charge for ln in lines),
        fee=fee)


def _doc_no(kind, now: dt.datetime, document_id: int) -> str:
    return f"{PREFIX[kind]}{now.year}-{document_id:06d}"


def _contact(kind, case_id: int, doc_no: str, lines, deadline, total: int, user, now) -> dict:
    """The 帳票発行記録 of a document on its case."""
    return dict(case_id=case_id, kind=ContactKind.document, occurred_at=now,
                content=f"{LABEL[kind]} {doc_no} 発行（指定期限 {deadline.isoformat()}、"
                        f"{len(lines)}期分、合計 {total:,}円）",
                staff_name=user.display_name)


def _record(dbsession, kind, case, lines, deadline, user, now, fee=0, batch=None) -> IssuedDocument:
    issued = IssuedDocument(**_fields(kind, case, lines, deadline, user, now, fee, batch))
    dbsession.add(issued)
    dbsession.flush()
    issued.doc_no = _doc_no(kind, now, issued.id)
    total = issued.tax_total + issued.late_charge_total + fee
    dbsession.add(ContactRecord(**_contact(kind, case.id, issued.doc_no, lines, deadline, total,
                                           user, now)))
    return issued


def preload(dbsession, cases) -> None:
    """Load what letters print of ``cases`` (taxpayer, 送付先, assessments,
    installments, receipts) in a fixed number of queries, whatever their
    number, so that computing and drawing the letters runs no query per case
    (issue 21). Already loaded relationships are kept as they are."""
    ids = [case.id for case in cases]
    for start in range(0, len(ids), 1000):  # bound the IN lists
        dbsession.scalars(
            select(Case).where(Case.id.in_(ids[start:start + 1000])).options(
                selectinload(Case.taxpayer).selectinload(Taxpayer.mailing_address),
                selectinload(Case.assessments).selectinload(Assessment.installments)
                .selectinload(Installment.receipts))).all()


def _document(issued: IssuedDocument, case, lines, today: dt.date) -> Document:
    name, postal, address, extra = recipient(case)
    return Document(issued.doc_no, today, issued.deadline, name, postal, address, extra,
                    case.case_no, lines, issued.fee)


def issue_slip(dbsession, case, installments, deadline: dt.date, user, now: dt.datetime,
               today: dt.date, app_settings, cvs: CvsSettings | None = None) -> tuple[IssuedDocument, bytes]:
    rules = app_settings.cases.amount_rules
    lines = lines_for(installments, deadline, rules)
    issued = _record(dbsession, DocumentKind.slip, case, lines, deadline, user, now,
                     fee_for(installments, rules, today))
    document = _document(issued, case, lines, today)
    if cvs is not None:
        document.cvs_barcode = slip_barcode(dbsession, cvs, case, installments, issued, document.total)
    pdf = render([document], app_settings.documents.office, draw_slip)
    return issued, pdf


def issue_letters(dbsession, cases, deadline: dt.date, user, now: dt.datetime, today: dt.date,
                  app_settings, enclosures: Mapping[int, Sequence[str]] | None = None) -> LetterBatch:
    """One batch, one letter per case: what is overdue today and past its
    督促状 by the configured days (docs/taxes.md); amounts as of the deadline
    (``app_settings``: :class:`intranet.config.AppSettings`).
    The 督促手数料 appears only as owed where a 督促状 was sent: a letter
    never creates one. ``enclosures``: case id -> what goes in that case's
    envelope (a line each on its letter); a case that gets no letter gets
    no enclosure either."""
    rules = app_settings.cases.amount_rules
    batch = LetterBatch(created_by=user.id, created_at=now, deadline=deadline, letters=0,
                        status=BatchStatus.printed, pdf=b"")
    dbsession.add(batch)
    dbsession.flush()
    preload(dbsession, cases)
    letters = []  # (case, lines, columns of its issued document)
    for case in cases:
        chosen = letter_installments(case, rules, today)
        if not chosen:
            continue
        lines = lines_for(chosen, deadline, rules)
        letters.append((case, lines, _fields(DocumentKind.letter, case, lines, deadline, user, now,
                                             fee_for(chosen, rules, today), batch)))
    # The documents in one executemany, their ids read back by their unique
    # placeholder numbers, then numbered and recorded on their cases, each
    # in one statement too (issue 21: no statement per letter).
    documents = []
    if letters:
        rows = [fields for _, _, fields in letters]
        dbsession.execute(insert(IssuedDocument), rows)
        ids = dict(dbsession.execute(select(IssuedDocument.doc_no, IssuedDocument.id)
                                     .where(IssuedDocument.batch_id == batch.id)).all())
        numbers, contacts = [], []
        for case, lines, fields in letters:
            doc_no = _doc_no(DocumentKind.letter, now, ids[fields["doc_no"]])
            numbers.append({"id": ids[fields["doc_no"]], "doc_no": doc_no})
            total = fields["tax_total"] + fields["late_charge_total"] + fields["fee"]
            contacts.append(_contact(DocumentKind.letter, case.id, doc_no, lines, deadline, total,
                                     user, now))
            name, postal, address, extra = recipient(case)
            documents.append(Document(doc_no, today, deadline, name, postal, address, extra,
                                      case.case_no, lines, fields["fee"],
                                      enclosures=list((enclosures or {}).get(case.id, ()))))
        dbsession.execute(update(IssuedDocument), numbers)
        dbsession.execute(insert(ContactRecord), contacts)
    batch.letters = len(documents)
    batch.pdf = render(documents, app_settings.documents.office, draw_letter)
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
