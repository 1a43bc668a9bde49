"""受け渡し票 (both sides) and the media ledger (collectors)."""
from __future__ import annotations

import datetime as dt

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config
from sqlalchemy import select

from ...audit.events import AuditEvent
from ...models import Contract, HandoverSlip, Medium, MediumEvent
from ...params import parse_datetime
from ...resources import HandoverSlipContainer, HandoverSlipResource, MediaLedger
from ...security.permissions import Permission
from ...views.forms import posted_int, posted_row
from ..handovers import DIRECTIONS, MEDIUM_EVENTS, SlipError, confirm, media_lent_to, record


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
        handed_at = parse_datetime(post.get("handed_at", "")) - dt.timedelta(hours=9)
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
            errors.append(str(exc))
    if errors:
        request.response.status = 400
        return slip_list(request, errors)
    request.audit.event(AuditEvent.SurveySlip, user=request.identity, slip=slip.id, records=count)
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=HandoverSlipResource, name="confirm", permission=Permission.SlipsUse,
             request_method="POST")
def slip_confirm(request):
    slip = request.context.slip
    if slip.contract not in _visible_contracts(request):
        errors = ["survey.error.slip_receiver"]
    else:
        try:
            confirm(slip, request.identity, request.now)
            errors = []
        except SlipError as exc:
            errors = [str(exc)]
    if errors:
        request.response.status = 400
        return render_to_response("survey/slips.jinja2", slip_list(request, errors),
                                  request=request, response=request.response)
    request.audit.event(AuditEvent.SurveySlipConfirmed, user=request.identity, slip=slip.id)
    return HTTPSeeOther(request.resource_path(request.context.__parent__))


@view_config(context=MediaLedger, renderer="survey/media.jinja2", permission=Permission.MediaView,
             request_method="GET")
def media_ledger(request, errors=None):
    media = request.dbsession.scalars(select(Medium).order_by(Medium.label)).all()
    return {"media": media, "errors": errors or [], "kinds": MEDIUM_EVENTS,
            "can_record": request.has_permission(Permission.MediaManage, request.context)}


@view_config(context=MediaLedger, renderer="survey/media.jinja2", permission=Permission.MediaManage,
             request_method="POST")
def media_record(request):
    post, errors = request.POST, []
    if post.get("label"):
        label = post["label"].strip()[:40]
        if request.dbsession.scalars(select(Medium).where(Medium.label == label)).first():
            errors.append("survey.error.medium_exists")
        else:
            request.dbsession.add(Medium(label=label, description=(post.get("description") or "")[:200]))
    else:
        medium = posted_row(request, Medium, "medium_id")
        if medium is None or post.get("kind") not in ("returned", "wiped"):
            errors.append("survey.error.medium")
        else:
            request.dbsession.add(MediumEvent(medium_id=medium.id, kind=post["kind"], at=request.now,
                                              recorded_by=request.identity.id,
                                              note=(post.get("note") or "")[:200]))
    if errors:
        request.response.status = 400
        return media_ledger(request, errors)
    request.audit.event(AuditEvent.SurveyMedium, user=request.identity)
    return HTTPSeeOther(request.resource_path(request.context))
