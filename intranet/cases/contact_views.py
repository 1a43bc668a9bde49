"""The case page's 経過記録 form and 郵便返戻 form (issue 20); see
:mod:`intranet.cases.contacts`."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..audit.events import AuditEvent
from ..models import (
    STAFF_CONTACT_KINDS, ContactRecord, Counterpart, IssuedDocument, ReturnReason, ScreenedRecord,
)
from ..params import whole_number
from ..resources import CaseResource
from ..security.matrix import Facet
from ..screening import flags as screening_flags
from ..security.permissions import Permission
from . import contacts


def contact_context(request, facets, contact_errors=(), contact_values=None,
                    return_errors=(), contact_screening=None) -> dict:
    """What the negotiation facet needs beyond the case: 最終接触日, the
    forms (for those allowed) and the case's documents for 郵便返戻."""
    case = request.context.case
    shown = Facet.negotiation in facets
    can_contact = shown and request.has_permission(Permission.CaseContactRecord, request.context)
    can_return = shown and request.has_permission(Permission.CaseMailReturn, request.context)
    documents = case_documents(request, case) if shown else []
    return {"last_contact": contacts.last_contact(case.contacts) if shown else None,
            "can_contact": can_contact, "contact_kinds": STAFF_CONTACT_KINDS,
            "counterparts": list(Counterpart), "contact_errors": list(contact_errors),
            "contact_values": contact_values or {}, "note_max": contacts.NOTE_MAX,
            "contact_screening": contact_screening,
            "can_return": can_return, "documents": documents,
            "return_reasons": list(ReturnReason), "return_errors": list(return_errors),
            "is_sent": contacts.is_sent}


def case_documents(request, case) -> list[IssuedDocument]:
    from .page_loading import preloaded

    loaded = preloaded(request, "documents")
    if loaded is not None:
        return loaded
    return list(request.dbsession.scalars(
        select(IssuedDocument).where(IssuedDocument.case_id == case.id)
        .options(joinedload(IssuedDocument.batch))
        .order_by(IssuedDocument.issued_at.desc(), IssuedDocument.id.desc())))


def _page_with_errors(request, **errors):
    from .views import case_detail
    request.response.status = 400
    return case_detail(request, **errors)


@view_config(context=CaseResource, name="contact", permission=Permission.CaseContactRecord,
             request_method="POST", renderer="cases/detail.jinja2")
def record_contact(request):
    """Add a 経過記録. Bad input: 400, the case page with the messages and the
    values entered; nothing stored."""
    case = request.context.case
    form = contacts.read_contact(request.POST, request.now)
    # The note is screened for forbidden categories like the contractors'
    # free text (issue 23): a collector confirms why the words are needed.
    screening = screening_flags.screen(request, [("note", "screening.label.note", form.note)])
    if form.errors or screening.refused:
        if screening.refused:
            screening_flags.log_refusal(request, screening, ScreenedRecord.contact_record)
        values = {k: v for k, v in request.POST.items()
                  if k in ("kind", "occurred_at", "counterpart_kind", "counterpart", "place",
                           "note", "conversation") and isinstance(v, str)}
        return _page_with_errors(request, contact_errors=form.errors + screening.errors,
                                 contact_values=values, contact_screening=screening)
    user = request.identity
    record = ContactRecord(case_id=case.id, kind=form.kind, occurred_at=form.occurred_at,
                           place=form.place, counterpart=form.counterpart,
                           counterpart_kind=form.counterpart_kind, conversation=form.conversation,
                           content=form.note, staff_name=user.display_name,
                           recorded_by=user.id, recorded_at=request.now)
    request.dbsession.add(record)
    request.dbsession.flush()
    screening_flags.record(request, screening, ScreenedRecord.contact_record, record.id, case.id)
    # The log names the record, never its content (personal data).
    request.audit.event(AuditEvent.CaseContact, user=user, case=case.case_no, record=record.id,
                        kind=str(form.kind), conversation=form.conversation)
    return HTTPSeeOther(request.resource_path(request.context) + "#facet-negotiation")


@view_config(context=CaseResource, name="mail-return", permission=Permission.CaseMailReturn,
             request_method="POST", renderer="cases/detail.jinja2")
def record_mail_return(request):
    """郵便返戻 on one of the case's letters or slips. Refused (400, nothing
    stored) for a letter whose batch is not sealed yet, a date in the future
    or before it was sent, a document already returned or not this case's."""
    case = request.context.case
    post = request.POST
    doc_id = whole_number(post.get("document"))
    document = request.dbsession.get(IssuedDocument, doc_id) if doc_id is not None else None
    if document is not None and document.case_id != case.id:
        document = None
    try:
        day, reason = contacts.check_return(document, post.get("returned_on"),
                                            post.get("reason"), request.today)
    except contacts.ContactError as exc:
        return _page_with_errors(request, return_errors=[exc.args[0]])
    document.returned_on, document.return_reason = day, reason
    document.returned_by = request.identity.id
    request.audit.event(AuditEvent.MailReturn, user=request.identity, case=case.case_no,
                        document=document.doc_no, returned=day.isoformat(), reason=str(reason))
    return HTTPSeeOther(request.resource_path(request.context) + "#facet-negotiation")
