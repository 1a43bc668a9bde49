"""引継ぎ: the collectors' inbox of cases handed over by the call center."""
from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...models import (
    ContactKind,
    ContactRecord, Handover, HandoverStatus,
)
from ...resources import HandoverContainer, HandoverResource
from ...security.matrix import Facet
from ...security.permissions import Permission
from ..forms import MEMO_MAX
from .common import redirect

#: What a hand-over shows of its case: who, and the operator's reason.
HANDOVER_FACETS = (Facet.identity, Facet.call_log)


@view_config(context=HandoverContainer, renderer="calls/handovers.jinja2",
             permission=Permission.HandoversView)
def handover_inbox(request):
    show = request.GET.get("status", "open")
    status = HandoverStatus.done if show == "done" else HandoverStatus.open
    handovers = request.dbsession.scalars(request.disclosure.scoped(
        select(Handover).where(Handover.status == status)
        .options(joinedload(Handover.case), joinedload(Handover.creator))
        .order_by(Handover.created_at.desc(), Handover.id.desc()).limit(200),
        Handover.case_id)).all()
    # The reason is what the operator said on the call: the call log.
    shown = request.disclosure.show([h.case for h in handovers], HANDOVER_FACETS)
    visible = {case.id for case in shown.cases}
    return {"handovers": [h for h in handovers if h.case_id in visible], "status": status}


@view_config(context=HandoverResource, renderer="calls/handover.jinja2",
             permission=Permission.HandoversView, request_method="GET")
def handover_page(request, errors=None):
    handover = request.context.handover
    note = (request.dbsession.get(ContactRecord, handover.contact_record_id)
            if handover.contact_record_id else None)
    # What staff did is a negotiation record.
    shown = request.disclosure.show([handover.case],
                                    HANDOVER_FACETS + ((Facet.negotiation,) if note else ()))
    if Facet.negotiation not in shown:
        note = None
    return {"handover": handover, "note": note, "errors": errors or [], "memo_max": MEMO_MAX,
            "can_resolve": request.has_permission(Permission.HandoversResolve, request.context)}


@view_config(context=HandoverResource, name="resolve", renderer="calls/handover.jinja2",
             permission=Permission.HandoversResolve, request_method="POST")
def handover_resolve(request):
    handover = request.context.handover
    content = request.POST.get("content", "")
    content = content.strip() if isinstance(content, str) else ""
    if handover.status == HandoverStatus.done:
        request.response.status = 409
        return handover_page(request, ["calls.error.already_done"])
    if not content or len(content) > MEMO_MAX:
        request.response.status = 400
        return handover_page(request, ["calls.error.content"])
    user = request.identity
    record = ContactRecord(case_id=handover.case_id, kind=ContactKind.negotiation,
                           occurred_at=request.now, content=content,
                           counterpart="", place="", staff_name=user.display_name)
    request.dbsession.add(record)
    request.dbsession.flush()
    handover.contact_record_id = record.id
    handover.status, handover.done_by, handover.done_at = HandoverStatus.done, user.id, request.now
    return redirect(request, request.context.__parent__)
