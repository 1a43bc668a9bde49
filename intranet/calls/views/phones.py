"""電話番号調査: numbers found for no-phone cases, and their confirmation."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...audit.events import AuditEvent
from ...models import PhoneCandidate, PhoneCandidateStatus
from ...resources import (
    CaseResource,
    PhoneCandidateContainer, PhoneCandidateResource,
)
from ...security.matrix import Facet
from ...security.permissions import Permission
from .. import phones
from .common import redirect


@view_config(context=PhoneCandidateContainer, renderer="calls/phones.jinja2",
             permission=Permission.PhoneCandidatesRegister, request_method="GET")
def phone_research(request, errors=None):
    """Operators: cases of active campaigns with no usable number."""
    targets = phones.no_phone_targets(request.dbsession, request.today, scope=request.disclosure)
    cases = request.disclosure.show([m.case for t in targets for m in t.members],
                                    [Facet.identity, Facet.verification]).cases
    pending = set(request.dbsession.scalars(select(PhoneCandidate.case_id).where(
        PhoneCandidate.status == PhoneCandidateStatus.pending)))
    return {"cases": cases, "pending": pending, "errors": errors or []}


@view_config(context=PhoneCandidateContainer, renderer="calls/phones.jinja2",
             permission=Permission.PhoneCandidatesRegister, request_method="POST")
def phone_register(request):
    case_no = request.POST.get("case_no", "")
    number = request.POST.get("number", "")
    source = request.POST.get("source", "")
    number = number.strip() if isinstance(number, str) else ""
    source = source.strip() if isinstance(source, str) else ""
    try:
        resource = request.root["cases"][case_no if isinstance(case_no, str) else ""]
    except KeyError:
        resource = None
    if not isinstance(resource, CaseResource) or not request.disclosure.in_scope(
            [resource.case.id]):
        request.response.status = 400
        return phone_research(request, ["calls.error.phone_case"])
    found = phones.valid_number(number) if len(number) <= 30 else None
    if found is None or not source or len(source) > 200:
        request.response.status = 400
        return phone_research(request, ["calls.error.phone_number" if found is None
                                        else "calls.error.phone_source"])
    request.dbsession.add(PhoneCandidate(
        case_id=resource.case.id, number=number, digits=found, source=source,
        status=PhoneCandidateStatus.pending, registered_by=request.identity.id,
        registered_at=request.now))
    request.disclosure.show([resource.case], [Facet.contact])
    return redirect(request, request.context, notice="registered")


@view_config(context=PhoneCandidateContainer, name="pending", renderer="calls/phones_pending.jinja2",
             permission=Permission.PhoneCandidatesConfirm, request_method="GET")
def phone_pending(request):
    candidates = request.dbsession.scalars(request.disclosure.scoped(
        select(PhoneCandidate).where(PhoneCandidate.status == PhoneCandidateStatus.pending)
        .options(joinedload(PhoneCandidate.case)).order_by(PhoneCandidate.registered_at),
        PhoneCandidate.case_id)).all()
    shown = request.disclosure.show([c.case for c in candidates], [Facet.identity, Facet.contact])
    return {"candidates": [c for c in candidates if c.case in shown.cases]}


@view_config(context=PhoneCandidateResource, name="decide", permission=Permission.PhoneCandidatesConfirm,
             request_method="POST")
def phone_decide(request):
    candidate = request.context.candidate
    decision = request.POST.get("decision")
    if candidate.status != PhoneCandidateStatus.pending or decision not in ("confirm", "reject"):
        raise HTTPBadRequest()
    if decision == "confirm":
        phones.confirm(request.dbsession, candidate, request.identity, request.now)
    else:
        candidate.status, candidate.decided_by, candidate.decided_at = (
            PhoneCandidateStatus.rejected, request.identity.id, request.now)
    request.audit.event(AuditEvent.PhoneCandidate, user=request.identity, candidate=candidate.id,
                        decision=decision)
    return redirect(request, request.context.__parent__, "pending")
