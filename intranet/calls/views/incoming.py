"""受電: recording an incoming call, on a case found by the lookup or without one.

The case page of an incoming call is the case resource itself
(``/cases/<case_no>/incoming``): its ACL comes from the operators' scope
(``Scope.entrusted_cases``), like every case page, and the disclosure gate
shows and logs what the form shows. A call without a case (unknown caller,
wrong number, an enquiry only) is recorded at ``/calls/incoming`` for the
statistics, with no case data at all.
"""
from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import select

from ...audit.events import AuditEvent
from ...models import (
    ActionKind, CallCampaign, CallTarget, CampaignCase, CampaignStatus, ContactResult, IncomingReason,
    ScreenedRecord,
)
from ...resources import CallCenter, CaseResource
from ...security.matrix import Facet
from ...security.permissions import Permission
from .. import results
from ..forms import MEMO_MAX, parse_incoming
from ...screening import flags as screening_flags
from .call import screened_fields
from .common import redirect

#: What the incoming-call form shows of the case: who is calling.
INCOMING_FACETS = (Facet.identity, Facet.verification)


def case_target(request, case) -> CallTarget | None:
    """The case's call target: in a campaign running today if any, else in
    its latest campaign (promises are then still tracked)."""
    rows = request.dbsession.execute(
        select(CampaignCase.target_id, CallCampaign)
        .join(CallCampaign, CallCampaign.id == CampaignCase.campaign_id)
        .where(CampaignCase.case_id == case.id, CampaignCase.target_id.is_not(None),
               CallCampaign.status != CampaignStatus.draft)
        .order_by(CallCampaign.starts_on.desc(), CallCampaign.id.desc())).all()
    running = [t for t, c in rows if c.active_on(request.today)]
    target_id = (running or [t for t, _ in rows] or [None])[0]
    return request.dbsession.get(CallTarget, target_id) if target_id else None


@view_config(context=CaseResource, name="incoming", renderer="calls/incoming.jinja2",
             permission=Permission.CaseIncomingRecord, request_method="GET")
def incoming_case_form(request, errors=None, values=None, screening=None):
    case = request.context.case
    request.disclosure.show([case], INCOMING_FACETS)
    return {"case": case, "errors": errors or [], "values": values or {"result": "reached"},
            "screening": screening,
            "results": [ContactResult.reached, ContactResult.other_person],
            "action_kinds": list(ActionKind), "memo_max": MEMO_MAX, "reasons": []}


@view_config(context=CaseResource, name="incoming", renderer="calls/incoming.jinja2",
             permission=Permission.CaseIncomingRecord, request_method="POST")
def incoming_case_record(request):
    """Record an incoming call on the case: never an outgoing attempt."""
    case = request.context.case
    result, errors = parse_incoming(request.POST, request.today, request.now, with_case=True)
    if result is None:
        request.response.status = 400
        values = {**{k: v for k, v in request.POST.items() if isinstance(v, str)},
                  "actions": request.POST.getall("action")}
        return incoming_case_form(request, errors.errors, values)
    screening = screening_flags.screen(request, screened_fields(result))
    if screening.refused:
        screening_flags.log_refusal(request, screening, ScreenedRecord.call_attempt)
        request.response.status = 400
        values = {**{k: v for k, v in request.POST.items() if isinstance(v, str)},
                  "actions": request.POST.getall("action")}
        return incoming_case_form(request, screening.errors, values, screening)
    target = case_target(request, case)
    attempt = results.record_incoming(request.dbsession, request.identity, result, request.now,
                                      case=case, target=target)
    screening_flags.record(request, screening, ScreenedRecord.call_attempt, attempt.id, case.id)
    request.audit.event(AuditEvent.IncomingRecorded, user=request.identity, attempt=attempt.id,
                        case=case.case_no, result=str(result.result),
                        actions=sorted(str(k) for k in result.kinds))
    return redirect(request, request.root["calls"], "lookup", notice="incoming")


@view_config(context=CallCenter, name="incoming", renderer="calls/incoming.jinja2",
             permission=Permission.CallIncomingRecord, request_method="GET")
def incoming_form(request, errors=None, values=None, screening=None):
    return {"case": None, "errors": errors or [], "values": values or {}, "screening": screening,
            "results": [], "action_kinds": [], "memo_max": MEMO_MAX, "reasons": list(IncomingReason)}


@view_config(context=CallCenter, name="incoming", renderer="calls/incoming.jinja2",
             permission=Permission.CallIncomingRecord, request_method="POST")
def incoming_record(request):
    """An incoming call with no case (unknown caller, wrong number, enquiry
    only), for the statistics."""
    result, errors = parse_incoming(request.POST, request.today, request.now, with_case=False)
    if result is None:
        request.response.status = 400
        values = {k: v for k, v in request.POST.items() if isinstance(v, str)}
        return incoming_form(request, errors.errors, values)
    screening = screening_flags.screen(request, screened_fields(result))
    if screening.refused:
        screening_flags.log_refusal(request, screening, ScreenedRecord.call_attempt)
        request.response.status = 400
        values = {k: v for k, v in request.POST.items() if isinstance(v, str)}
        return incoming_form(request, screening.errors, values, screening)
    attempt = results.record_incoming(request.dbsession, request.identity, result, request.now)
    screening_flags.record(request, screening, ScreenedRecord.call_attempt, attempt.id, None)
    request.audit.event(AuditEvent.IncomingRecorded, user=request.identity, attempt=attempt.id,
                        reason=str(result.incoming_reason))
    return redirect(request, request.context, "lookup", notice="incoming")
