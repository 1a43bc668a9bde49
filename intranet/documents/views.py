"""Slips from a case page; letter batches, their PDF and their sealing."""
from __future__ import annotations

import datetime as dt

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..audit.events import AuditEvent
from ..calls.phones import no_phone_targets
from ..cases.statuses import Work
from ..cases import debits
from ..models import BatchStatus, DirectDebitStep, IssuedDocument, LetterBatch
from ..params import parse_date
from ..resources import CaseResource, LetterBatchResource, LetterContainer
from ..security.matrix import Facet
from ..security.permissions import Permission
from ..taxes.duedates import next_business_day, proposed_deadline
from . import service
from ..taxes.owed import amount_rules

MAX_DEADLINE_DAYS = 60
MAX_BATCH = 5000

#: What a slip or a letter prints of its case: the recipient (the mailing
#: address when there is one: contact), the notice numbers (assessment) and
#: the amounts (payment).
DOCUMENT_FACETS = (Facet.identity, Facet.contact, Facet.assessment, Facet.payment)


def pdf_response(body: bytes, filename: str) -> Response:
    response = Response(body=body, content_type="application/pdf")
    response.content_disposition = f'attachment; filename="{filename}"'
    return response


def _deadline(request, errors) -> dt.date:
    raw = request.params.get("deadline", "")
    if not raw:
        return proposed_deadline(request.today)
    try:
        day = parse_date(raw)
    except ValueError:
        errors.append("documents.error.deadline")
        return proposed_deadline(request.today)
    if not request.today <= day <= request.today + dt.timedelta(days=MAX_DEADLINE_DAYS):
        errors.append("documents.error.deadline")
    return next_business_day(day)


# ---------------------------------------------------------------- payment slips

@view_config(context=CaseResource, name="slip", renderer="documents/slip.jinja2",
             permission=Permission.CaseSlipIssue, request_method="GET")
def slip_form(request, errors=None):
    """Overdue installments are offered checked; installments not yet due are
    offered unchecked, for a taxpayer who asks to pay them too."""
    case = request.context.case
    request.disclosure.show([case], [Facet.identity, Facet.payment])
    overdue, not_due = slip_choices(request, case)
    return {"case": case, "overdue": overdue, "not_due": not_due, "errors": errors or [],
            "deadline": proposed_deadline(request.today)}


def slip_choices(request, case) -> tuple[list, list]:
    """([(installment, owed)] overdue, [(installment, owed)] not yet due), as of today."""
    owed = amount_rules(request).case(case, request.today)
    return owed.overdue_items(), [(i, o) for i, o in owed.not_due_items() if o.overdue == 0]


@view_config(context=CaseResource, name="slip", permission=Permission.CaseSlipIssue,
             request_method="POST")
def slip_issue(request):
    case = request.context.case
    errors = []
    deadline = _deadline(request, errors)
    overdue, not_due = slip_choices(request, case)
    unpaid = {str(i.id): i for i, _ in overdue + not_due}
    chosen = [unpaid[i] for i in request.POST.getall("installment") if i in unpaid]
    if not chosen or len(chosen) != len(request.POST.getall("installment")):
        errors.append("documents.error.installments")
    if errors:
        request.response.status = 400
        return render_form(request, errors)
    issued, pdf = service.issue_slip(request.dbsession, case, chosen, deadline, request.identity,
                                     request.now, request.today, request.app_settings,
                                     request.app_settings.documents.cvs)
    request.disclosure.show([case], DOCUMENT_FACETS)
    request.audit.event(AuditEvent.DocumentSlip, user=request.identity, doc_no=issued.doc_no,
                        case=case.case_no, installments=len(chosen))
    return pdf_response(pdf, f"slip-{issued.doc_no}.pdf")


def render_form(request, errors):
    from pyramid.renderers import render_to_response

    return render_to_response("documents/slip.jinja2", slip_form(request, errors), request=request,
                              response=request.response)


# ---------------------------------------------------------------- dunning letters

def _candidates(request):
    """Cases of active campaigns with no usable number, in this user's scope,
    that a 催告書 may demand something of today (overdue, past the 督促状 by the
    configured days: docs/taxes.md; a fixed number of queries, whatever their
    number)."""
    targets = no_phone_targets(request.dbsession, request.today, limit=MAX_BATCH,
                               scope=request.disclosure, with_amounts=True, work=Work.letters)
    rules = amount_rules(request)
    return [m.case for t in targets for m in t.members
            if service.letter_installments(m.case, rules, request.today)]


@view_config(context=LetterContainer, renderer="documents/letters.jinja2",
             permission=Permission.LettersView, request_method="GET")
def letter_batches(request, errors=None):
    can_issue = request.has_permission(Permission.LettersIssue, request.context)
    candidates = (request.disclosure.show(_candidates(request), [Facet.identity]).cases
                  if can_issue else [])
    batches = request.dbsession.query(LetterBatch).order_by(LetterBatch.id.desc()).limit(100).all()
    return {"candidates": candidates, "batches": batches, "can_issue": can_issue,
            "deadline": proposed_deadline(request.today, days=14), "errors": errors or [],
            "enclose_debit_form": request.POST.get("enclose_debit_form") == "1"}


@view_config(context=LetterContainer, renderer="documents/letters.jinja2",
             permission=Permission.LettersIssue, request_method="POST")
def letter_batch_create(request):
    errors = []
    deadline = _deadline(request, errors)
    allowed = {c.case_no: c for c in _candidates(request)}
    chosen = request.POST.getall("case_no")
    if not chosen or len(chosen) > MAX_BATCH or any(no not in allowed for no in chosen):
        errors.append("documents.error.cases")
    if errors:
        request.response.status = 400
        return letter_batches(request, errors)
    cases = [allowed[no] for no in chosen]
    # 口座振替依頼書 with the letters of cases whose application waits for one
    # (勧奨済・不備: intranet.cases.debits); only when asked.
    enclose = request.POST.get("enclose_debit_form") == "1"
    awaiting = debits.awaiting_form(request.dbsession, [c.id for c in cases]) if enclose else set()
    batch = service.issue_letters(request.dbsession, cases, deadline,
                                  request.identity, request.now, request.today,
                                  request.app_settings,
                                  {case_id: [debits.LETTER_ENCLOSURE] for case_id in awaiting})
    request.disclosure.show(cases, DOCUMENT_FACETS)
    detail = {}
    if enclose:
        # a case owing nothing today got no letter, so no form either
        lettered = set(request.dbsession.scalars(
            select(IssuedDocument.case_id).where(IssuedDocument.batch_id == batch.id)))
        detail["debit_forms"] = debits.enclose(request.dbsession, batch, awaiting & lettered,
                                               request.identity.id, request.now, request.today)
    request.audit.event(AuditEvent.DocumentLetters, user=request.identity, batch=batch.id,
                        letters=batch.letters, **detail)
    return HTTPSeeOther(request.resource_path(request.context[str(batch.id)]))


@view_config(context=LetterBatchResource, renderer="documents/batch.jinja2",
             permission=Permission.LettersView, request_method="GET")
def letter_batch(request, errors=None):
    """The batch's letters in the user's scope; the others are counted, not
    shown (a case call-blocked after printing leaves the operator's scope)."""
    batch = request.context.batch
    documents = _documents(request, batch)
    shown = request.disclosure.show([d.case for d in documents], [Facet.payment])
    visible = {case.id for case in shown.cases}
    enclosed = request.dbsession.scalar(select(func.count(DirectDebitStep.id)).where(
        DirectDebitStep.batch_id == batch.id))
    return {"batch": batch, "errors": errors or [], "hidden": shown.hidden, "enclosed": enclosed,
            "documents": [d for d in documents if d.case_id in visible],
            "can_print": request.has_permission(Permission.LettersIssue, request.context),
            "can_seal": request.has_permission(Permission.LettersSeal, request.context)
            and batch.status != BatchStatus.sealed}


def _documents(request, batch) -> list[IssuedDocument]:
    return list(request.dbsession.scalars(
        select(IssuedDocument).where(IssuedDocument.batch_id == batch.id)
        .options(joinedload(IssuedDocument.case)).order_by(IssuedDocument.id)))


@view_config(context=LetterBatchResource, name="pdf", permission=Permission.LettersIssue)
def letter_batch_pdf(request):
    """The printed batch, whole: its ACL grants printing only to users whose
    scope reaches every letter (BOUND_GRANTS, ``all_in_scope``)."""
    batch = request.context.batch
    request.disclosure.show([d.case for d in _documents(request, batch)], DOCUMENT_FACETS)
    return pdf_response(batch.pdf, f"letters-{batch.id}.pdf")


@view_config(context=LetterBatchResource, name="seal", renderer="documents/batch.jinja2",
             permission=Permission.LettersSeal, request_method="POST")
def letter_batch_seal(request):
    batch = request.context.batch
    raw = request.POST.get("counted", "")
    try:
        counted = int(raw)
        if not 0 <= counted <= MAX_BATCH:
            raise ValueError
    except (TypeError, ValueError):
        request.response.status = 400
        return letter_batch(request, ["documents.error.counted"])
    if batch.status == BatchStatus.sealed:
        request.response.status = 409
        return letter_batch(request, ["documents.error.sealed"])
    matched = service.seal(request.dbsession, batch, counted, request.identity, request.now)
    request.audit.event(AuditEvent.DocumentSealed, "success" if matched else "failure",
                        user=request.identity, batch=batch.id, printed=batch.letters,
                        counted=counted)
    return HTTPSeeOther(request.resource_path(request.context))
