"""The call screen and recording (or correcting) a result."""
from __future__ import annotations


from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...clock import jst_midnight
from ...audit.events import AuditEvent
from ...models import ActionKind, CallAttempt, ContactResult, Handover, ScreenedRecord, TargetStatus
from ...resources import CallTargetResource
from ...screening import flags as screening_flags
from ...security.matrix import FACETS, Facet
from ...security.permissions import Permission
from ...taxes.owed import amount_rules
from .. import results
from ..forms import MEMO_MAX, parse_result
from .common import CALL_SCREEN_FACETS, redirect


def correctable(request, target) -> dict[str, CallAttempt]:
    """This operator's outgoing calls on the target made today (JST) and not
    yet corrected (an incoming call is not corrected from the call screen)."""
    day_start = jst_midnight(request.today)
    mine = request.dbsession.scalars(select(CallAttempt).where(
        CallAttempt.target_id == target.id, CallAttempt.operator_id == request.identity.id,
        CallAttempt.incoming.is_(False),
        CallAttempt.called_at >= day_start)).all()
    replaced = set(request.dbsession.scalars(select(CallAttempt.corrects_id).where(
        CallAttempt.corrects_id.in_([a.id for a in mine]))))
    return {str(a.id): a for a in mine if a.id not in replaced}


def screened_fields(result) -> list[tuple[str, str, str]]:
    """A call's free text, screened for forbidden categories on save."""
    return [("memo", "screening.label.memo", result.memo),
            ("handover_reason", "screening.label.handover_reason", result.handover_reason)]


@view_config(context=CallTargetResource, renderer="calls/call.jinja2",
             permission=Permission.CallTargetView, request_method="GET")
def call_screen(request, errors=None, values=None, screening=None):
    target = request.context.target
    # The target's ACL let the user in; the gate keeps its cases in scope
    # (a household member flagged "do not call" is not shown) and the facets.
    disclosure = request.disclosure.show([m.case for m in target.members], CALL_SCREEN_FACETS)
    shown = [(case, list(disclosure.facets)) for case in disclosure.cases]
    # What the operator may read out: the demandable amount (intranet.taxes.owed),
    # only where the gate granted the payment facet.
    rules = amount_rules(request)
    owed = ({case.id: rules.case(case, request.today) for case in disclosure.cases}
            if Facet.payment in disclosure else {})
    attempts = request.dbsession.scalars(
        select(CallAttempt).where(CallAttempt.target_id == target.id)
        .options(selectinload(CallAttempt.actions))
        .order_by(CallAttempt.called_at.desc(), CallAttempt.id.desc()).limit(30)).all(
    ) if Facet.call_log in disclosure else []
    handovers = request.dbsession.scalars(
        select(Handover).where(Handover.target_id == target.id).order_by(Handover.id)).all()
    calls = request.app_settings.calls
    leased_to_other = (target.leased_by not in (None, request.identity.id)
                       and target.lease_expires_at and target.lease_expires_at > request.now)
    fixable = (correctable(request, target)
               if request.has_permission(Permission.CallTargetRecord, request.context) else {})
    corrects = fixable.get(str((values or request.GET).get("corrects", "")))
    if corrects is not None and not values:
        values = {"result": corrects.result, "memo": corrects.memo,
                  "actions": [str(k) for k in corrects.kinds]}
    elif values is not None and hasattr(values, "getall"):
        values = {**{k: v for k, v in values.items() if isinstance(v, str)},
                  "actions": values.getall("action")}
    return {
        "fixable": fixable, "corrects": corrects,
        "target": target, "shown": shown, "owed_by_case": owed, "attempts": attempts, "handovers": handovers,
        "facet_info": FACETS, "results": list(ContactResult), "action_kinds": list(ActionKind),
        "errors": errors or [], "screening": screening,
        "values": values or {}, "memo_max": MEMO_MAX, "leased_to_other": leased_to_other,
        "can_record": request.has_permission(Permission.CallTargetRecord, request.context),
        "ward_name": calls.ward_name, "callback_number": calls.callback_number,
    }


@view_config(context=CallTargetResource, name="result", renderer="calls/call.jinja2",
             permission=Permission.CallTargetRecord, request_method="POST")
def record_result(request):
    """A new result, or (``corrects``) a correction of one of this operator's
    results of today: a new record that names the one it replaces."""
    target = request.context.target
    corrects = None
    if request.POST.get("corrects"):
        corrects = correctable(request, target).get(str(request.POST.get("corrects")))
        if corrects is None:
            request.response.status = 409
            return call_screen(request, errors=["calls.error.not_correctable"], values=request.POST)
    if target.status == TargetStatus.handed_over or (
            target.status == TargetStatus.finished and corrects is None):
        request.response.status = 409
        return call_screen(request, errors=["calls.error.not_callable"], values=request.POST)
    if (target.leased_by not in (None, request.identity.id)
            and target.lease_expires_at and target.lease_expires_at > request.now):
        request.response.status = 409
        return call_screen(request, errors=["calls.error.leased"], values=request.POST)
    result, errors = parse_result(request.POST, request.today, request.now)
    if result is None:
        request.response.status = 400
        return call_screen(request, errors=errors.errors, values=request.POST)
    # The memo and hand-over reason naming a forbidden category (seed 000/004,
    # 要配慮個人情報) are refused unless the operator confirms why.
    screening = screening_flags.screen(request, screened_fields(result))
    if screening.refused:
        screening_flags.log_refusal(request, screening, ScreenedRecord.call_attempt)
        request.response.status = 400
        return call_screen(request, errors=screening.errors, values=request.POST, screening=screening)
    try:
        attempt = results.record(request.dbsession, target, request.identity, result, request.now,
                                 corrects=corrects)
    except results.MixedTarget:
        request.response.status = 409
        return call_screen(request, errors=["calls.error.mixed_target"], values=request.POST)
    screening_flags.record(request, screening, ScreenedRecord.call_attempt, attempt.id,
                           target.members[0].case_id if target.members else None)
    request.audit.event(AuditEvent.CallRecorded, user=request.identity, target=target.id,
                        attempt=attempt.id, result=str(result.result),
                        actions=sorted(str(k) for k in result.kinds),
                        corrects=corrects.id if corrects else None)
    return redirect(request, request.root["calls"], notice="recorded")
