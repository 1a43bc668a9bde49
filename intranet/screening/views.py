"""The collectors' review of flagged free text (``/screening/``): each flag
is kept as written (確認済（記録を残す）) or has its terms redacted; auditors
read the page."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..audit.events import AuditEvent
from ..models import FlagState, ScreenedRecord, ScreeningFlag
from ..params import whole_number
from ..resources import ScreeningArea
from ..security.matrix import Facet
from ..security.permissions import Permission
from . import flags, matcher

#: The facet each kind of record's text belongs to.
RECORD_FACETS = {ScreenedRecord.survey_report: Facet.survey,
                 ScreenedRecord.call_attempt: Facet.call_log,
                 ScreenedRecord.contact_record: Facet.negotiation}
LIMIT = 200


@view_config(context=ScreeningArea, renderer="screening/review.jinja2",
             permission=Permission.ScreeningView, request_method="GET")
def review_page(request, errors=None):
    state = request.GET.get("state", "pending")
    state = state if state in ("pending", "all") else "pending"
    stmt = (select(ScreeningFlag).options(joinedload(ScreeningFlag.case),
                                          joinedload(ScreeningFlag.organisation),
                                          joinedload(ScreeningFlag.reviewer))
            .order_by(ScreeningFlag.flagged_at.desc(), ScreeningFlag.id.desc()).limit(LIMIT))
    if state == "pending":
        stmt = stmt.where(ScreeningFlag.state == FlagState.pending)
    rows = request.dbsession.scalars(request.disclosure.scoped(stmt, ScreeningFlag.case_id)).all()
    # The texts are case data: only cases (and facets) the gate lets through.
    with_case = [f for f in rows if f.case is not None]
    shown = request.disclosure.show([f.case for f in with_case],
                                    [Facet.identity] + sorted(set(RECORD_FACETS.values())))
    visible = {case.id for case in shown.cases}
    terms = request.registry.screening_terms
    kept = [flag for flag in rows
            if flag.case is None or (flag.case_id in visible
                                     and RECORD_FACETS[flag.record_type] in shown)]
    texts = flags.flag_texts(request.dbsession, kept)
    items = []
    for flag in kept:
        text = texts.get(flag.id, "")
        items.append({"flag": flag, "segments": matcher.segments(text, terms.find(text))})
    return {"items": items, "state": state, "errors": errors or [],
            "pending": flags.pending_count(request.dbsession),
            "can_review": request.has_permission(Permission.ScreeningReview, request.context)}


@view_config(context=ScreeningArea, name="review", renderer="screening/review.jinja2",
             permission=Permission.ScreeningReview, request_method="POST")
def review_flag(request):
    flag_id = whole_number(request.POST.get("flag", ""))
    flag = request.dbsession.get(ScreeningFlag, flag_id) if flag_id is not None else None
    if flag is None:
        request.response.status = 400
        return review_page(request, ["screening.error.flag"])
    decision = request.POST.get("decision", "")
    try:
        flags.review(request.dbsession, flag, decision, request.registry.screening_terms,
                     request.identity, request.now)
    except flags.ReviewError as error:
        request.response.status = 409 if error.key == "screening.error.reviewed" else 400
        return review_page(request, [error.key])
    event = AuditEvent.ScreeningRedacted if decision == "redact" else AuditEvent.ScreeningKept
    request.audit.event(event, user=request.identity, flag=flag.id,
                        record_type=str(flag.record_type), record=flag.record_id, field=flag.field)
    return HTTPSeeOther(request.resource_path(request.context, query={"notice": decision}))
