"""受け渡し票 (both sides) and the media ledger (collectors)."""
from __future__ import annotations


from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...clock import from_jst
from ...audit.events import AuditEvent
from ...models import Contract, HandoverSlip, Medium, MediumEvent, MediumEventKind
from ...params import parse_datetime
from ...resources import HandoverSlipContainer, HandoverSlipResource, MediaLedger, MediumResource
from ...security.permissions import Permission
from ...views.forms import posted_int
from .. import media as ledger
from ..handovers import DIRECTIONS, SlipError, confirm, media_lent_to, record


def refusal(request, exc: ledger.LedgerError):
    """A ledger refusal as a page error: its key and parameters, the state
    named in the user's language."""
    params = dict(exc.params)
    if "state" in params:
        params["state"] = request.t(f"survey.medium_state.{params['state']}")
    return (exc.key, params) if params else exc.key


def _slip_error(request, exc: SlipError):
    return refusal(request, exc.ledger) if exc.ledger is not None else str(exc)


def _sees_all(request) -> bool:
    return bool(request.has_permission(Permission.SlipsViewAll, request.context))


def _visible_contracts(request):
    """Every contract for holders of SlipsViewAll, else the user's own."""
    query = select(Contract).order_by(Contract.id.desc())
    if not _sees_all(request):
        query = query.where(Contract.id == (request.identity.contract_id or 0))
    return request.dbsession.scalars(query).all()


def _offered_media(request):
    """The media a slip may name: every medium for holders of SlipsViewAll,
    else those lent to the user's own contract now. The ledger itself
    (/survey/media/) is the ward's: no contractor sees another's media."""
    if _sees_all(request):
        return request.dbsession.scalars(select(Medium).order_by(Medium.label)).all()
    return media_lent_to(request.dbsession, request.identity.contract_id)


@view_config(context=HandoverSlipContainer, renderer="survey/slips.jinja2",
             permission=Permission.SlipsView, request_method="GET")
def slip_list(request, errors=None):
    contracts = _visible_contracts(request)
    slips = request.dbsession.scalars(
        select(HandoverSlip).where(HandoverSlip.contract_id.in_([c.id for c in contracts]))
        .order_by(HandoverSlip.handed_at.desc())).all()
    return {"slips": slips, "contracts": contracts, "media": _offered_media(request),
            "errors": errors or [], "directions": DIRECTIONS,
            "can_use": request.has_permission(Permission.SlipsUse, request.context)}


@view_config(context=HandoverSlipContainer, renderer="survey/slips.jinja2",
             permission=Permission.SlipsUse, request_method="POST")
def slip_create(request):
    post, errors = request.POST, []
    contract = next((c for c in _visible_contracts(request)
                     if str(c.id) == post.get("contract_id")), None)
    direction = post.get("direction")
    content = (post.get("content") or "").strip()
    try:
        handed_at = from_jst(parse_datetime(post.get("handed_at", "")))
    except ValueError:
        handed_at = None
    count = posted_int(request, "record_count")
    medium, medium_id = None, post.get("medium_id") or ""
    if medium_id:  # only a medium the form offers (no other contract's, none unknown)
        medium = next((m for m in _offered_media(request) if str(m.id) == medium_id), None)
        if medium is None:
            errors.append("survey.error.medium_unknown" if _sees_all(request)
                          else "survey.error.medium_not_own")
    if contract is None:
        errors.append("survey.error.contract")
    if direction not in DIRECTIONS:
        errors.append("survey.error.direction")
    if not content or len(content) > 400:
        errors.append("survey.error.content")
    if handed_at is None or handed_at > request.now:
        errors.append("survey.error.handed_at")
    if count is None:
        errors.append("survey.error.record_count")
    if not errors:
        try:
            slip = record(request.dbsession, contract, request.identity, direction=direction,
                          handed_at=handed_at, content=content, record_count=count, medium=medium)
        except SlipError as exc:
            errors.append(_slip_error(request, exc))
    if errors:
        request.response.status = 400
        return slip_list(request, errors)
    request.audit.event(AuditEvent.SurveySlip, user=request.identity, slip=slip.id, records=count)
    if medium is not None and direction == "to_contractor":
        request.audit.event(AuditEvent.SurveyMedium, user=request.identity, medium=medium.id,
                            kind="lent", contract=contract.id, slip=slip.id)
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=HandoverSlipResource, name="confirm", permission=Permission.SlipsUse,
             request_method="POST")
def slip_confirm(request):
    slip = request.context.slip
    if slip.contract not in _visible_contracts(request):
        errors = ["survey.error.slip_receiver"]
    else:
        try:
            confirm(request.dbsession, slip, request.identity, request.now)
            errors = []
        except SlipError as exc:
            errors = [_slip_error(request, exc)]
    if errors:
        request.response.status = 400
        return render_to_response("survey/slips.jinja2", slip_list(request, errors),
                                  request=request, response=request.response)
    request.audit.event(AuditEvent.SurveySlipConfirmed, user=request.identity, slip=slip.id)
    if slip.direction == "to_ward" and slip.medium_id is not None:
        request.audit.event(AuditEvent.SurveyMedium, user=request.identity, medium=slip.medium_id,
                            kind="returned", contract=slip.contract_id, slip=slip.id)
    return HTTPSeeOther(request.resource_path(request.context.__parent__))


def _ledger_page(request, media, errors=None):
    pending = ledger.pending_returns(request.dbsession)
    contracts = dict(request.dbsession.execute(select(Contract.id, Contract.name)).all())
    return {"media": media, "errors": errors or [], "pending": pending, "contracts": contracts,
            "histories": {m.id: ledger.replay(m.events) for m in media},
            "manual": {m.id: [k for k in ledger.MANUAL_KINDS
                              if m.state in ledger.TRANSITIONS[k][0]] for m in media},
            "can_record": request.has_permission(Permission.MediaManage, request.context)}


@view_config(context=MediaLedger, renderer="survey/media.jinja2", permission=Permission.MediaView,
             request_method="GET")
def media_ledger(request, errors=None):
    """Every medium: its state (返却確認待ち while a return slip awaits the
    ward), its contract and its history."""
    media = request.dbsession.scalars(
        select(Medium).order_by(Medium.label)
        .options(selectinload(Medium.events).selectinload(MediumEvent.recorder))).all()
    return _ledger_page(request, media, errors)


@view_config(context=MediaLedger, renderer="survey/media.jinja2", permission=Permission.MediaManage,
             request_method="POST")
def media_register(request):
    label = (request.POST.get("label") or "").strip()
    description = (request.POST.get("description") or "").strip()
    if not label or len(label) > 40 or len(description) > 200:
        request.response.status = 400
        return media_ledger(request, ["survey.error.medium_label"])
    try:
        medium = ledger.register(request.dbsession, label, description, user=request.identity,
                                 now=request.now)
    except ledger.LedgerError as exc:
        request.response.status = 400
        return media_ledger(request, [refusal(request, exc)])
    request.audit.event(AuditEvent.SurveyMedium, user=request.identity, medium=medium.id,
                        kind="registered")
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=MediumResource, renderer="survey/medium.jinja2", permission=Permission.MediaView,
             request_method="GET")
def medium_page(request, errors=None):
    medium = request.context.medium
    page = _ledger_page(request, [medium], errors)
    page["medium"] = medium
    return page


@view_config(context=MediumResource, name="record", permission=Permission.MediaManage,
             request_method="POST")
def medium_record(request):
    """消去 (with a witness), 廃棄, 紛失 or 発見 (with a report), by ward staff;
    lending and return go by hand-over slips."""
    medium, post = request.context.medium, request.POST
    kind = post.get("kind")
    fields = {name: post.get(name) if isinstance(post.get(name), str) else ""
              for name in ("witness", "note", "report")}
    error = None
    if kind not in {k.value for k in ledger.MANUAL_KINDS}:
        error = "survey.error.medium"
    elif (len(fields["witness"]) > ledger.WITNESS_MAX or len(fields["note"]) > ledger.NOTE_MAX
          or len(fields["report"]) > ledger.REPORT_MAX):
        error = "survey.error.medium_text"
    else:
        try:
            event = ledger.apply(request.dbsession, medium, MediumEventKind(kind),
                                 user=request.identity, at=request.now, **fields)
        except ledger.LedgerError as exc:
            error = refusal(request, exc)
    if error is not None:
        request.response.status = 400
        return render_to_response("survey/medium.jinja2", medium_page(request, [error]),
                                  request=request, response=request.response)
    request.audit.event(AuditEvent.SurveyMedium, user=request.identity, medium=medium.id,
                        kind=kind, contract=event.contract_id)
    return HTTPSeeOther(request.resource_path(request.context))
