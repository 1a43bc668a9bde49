"""Campaign drafts by the call center (issue 25): ``/calls/drafts/``.

The call center's 責任者 creates, changes and submits drafts of its own
organisation and sees counts only; a ward supervisor reviews the cases a
draft would reach and approves (the campaign is created and its build
queued), returns or rejects it. Who may do what is the matrix's
``DRAFT_GRANTS`` (the resources' ACLs); a step the draft's state does not
allow is refused (400) and logged. Events carry ids, states and counts,
never the reason or a comment.
"""
from __future__ import annotations

import json

from pyramid.renderers import render_to_response
from pyramid.view import view_config
from sqlalchemy import case as sql_case, select

from ...audit.events import AuditEvent
from ...models import CampaignDraft, DraftState, Organisation
from ...params import page_number
from ...resources import DraftContainer, DraftResource
from ...screening import flags as screening_flags
from ...security import matrix
from ...security.matrix import Facet
from ...security.permissions import Permission
from .. import drafts as service
from ..forms import CampaignForm
from .common import redirect

#: What the review list shows of each case (each still subject to the matrix).
REVIEW_FACETS = (Facet.identity, Facet.payment)


def _counts(draft) -> dict | None:
    return json.loads(draft.counts) if draft.counts else None


def _screened(request, fields):
    """Free text is screened like the contractors' other text (issue 23); a
    campaign's reason or a review comment never needs such words, so a hit
    is refused outright (400), logged without the text."""
    screening = screening_flags.screen(request, fields)
    if screening.hits:
        request.audit.event(AuditEvent.ScreeningHit, "failure", user=request.identity,
                            record_type="campaign_draft", fields=[h.name for h in screening.hits],
                            categories=screening.categories, confirmed=False)
        return ["drafts.error.screening"]
    return []


def _refuse(request, draft, action: str):
    """A step the draft's state does not allow: 400, nothing changed, logged."""
    request.audit.event(AuditEvent.DraftRefused, "failure", user=request.identity, draft=draft.id,
                        action=action, state=str(draft.state))
    response = render_to_response("calls/draft.jinja2",
                                  draft_page(request, errors=[f"drafts.error.state.{action}"]), request=request)
    response.status = 400
    return response


@view_config(context=DraftContainer, renderer="calls/drafts.jinja2",
             permission=Permission.CampaignDraftsView, request_method="GET")
def draft_list(request):
    """The drafts the user may see (the matrix's rule, in SQL): a leader its
    own organisation's, supervisors and auditors every organisation's once
    submitted (a draft never submitted is the call center's work in
    progress; its page stays readable to them); waiting ones first."""
    reach = matrix.draft_reach(request.principals)
    stmt = (select(CampaignDraft, Organisation.name).join(Organisation, Organisation.id == CampaignDraft.organisation_id)
            .order_by(sql_case((CampaignDraft.state == DraftState.submitted, 0), else_=1),
                      CampaignDraft.id.desc()).limit(200))
    if reach is not None:
        stmt = stmt.where(CampaignDraft.organisation_id.in_(sorted(reach)))
    else:
        stmt = stmt.where(CampaignDraft.submitted_at.is_not(None))
    rows = request.dbsession.execute(stmt).all()
    return {"rows": rows,
            "can_write": request.has_permission(Permission.CampaignDraftsWrite, request.context)}


@view_config(context=DraftContainer, name="new", renderer="calls/draft_form.jinja2",
             permission=Permission.CampaignDraftsWrite, request_method="GET")
def draft_new_form(request, form=None, reason="", errors=None):
    return {"form": form or CampaignForm(), "reason": reason, "errors": errors or [], "draft": None}


@view_config(context=DraftContainer, name="new", renderer="calls/draft_form.jinja2",
             permission=Permission.CampaignDraftsWrite, request_method="POST")
def draft_create(request):
    form, reason, errors = service.parse_draft(request.POST, request.today)
    problems = errors.errors or _screened(request, [("reason", "drafts.field.reason", reason)])
    if problems:
        request.response.status = 400
        return draft_new_form(request, form, reason, problems)
    user = request.identity
    draft = CampaignDraft(organisation_id=user.organisation_id, state=DraftState.draft,
                          created_by=user.id, created_at=request.now, updated_at=request.now)
    service.fill(draft, form, reason)
    request.dbsession.add(draft)
    request.dbsession.flush()
    found = service.recount(request.dbsession, draft, request.today, request.now)
    request.audit.event(AuditEvent.DraftCreated, user=user, draft=draft.id, state=str(draft.state),
                        cases=found["cases"], targets=found["targets"])
    return redirect(request, request.context[str(draft.id)])


@view_config(context=DraftResource, renderer="calls/draft.jinja2",
             permission=Permission.CampaignDraftsView, request_method="GET")
def draft_page(request, errors=None):
    """The draft, its counts (as of the last save) and its review; never a case."""
    draft = request.context.draft
    context = request.context
    return {"draft": draft, "counts": _counts(draft), "filter": service.campaign_filter(draft),
            "bands": service.BANDS, "errors": errors or [],
            "organisation": request.dbsession.get(Organisation, draft.organisation_id),
            "can_write": draft.state.editable and request.has_permission(Permission.CampaignDraftsWrite, context),
            "can_review": draft.state.reviewable and request.has_permission(
                Permission.CampaignDraftsReview, context),
            "can_see_cases": request.has_permission(Permission.CampaignDraftsReview, context),
            "can_open_campaign": request.has_permission(Permission.CampaignsView, request.root)}


@view_config(context=DraftResource, name="edit", renderer="calls/draft_form.jinja2",
             permission=Permission.CampaignDraftsWrite, request_method="GET")
def draft_edit_form(request, form=None, reason=None, errors=None):
    draft = request.context.draft
    if not draft.state.editable:
        return _refuse(request, draft, "edit")
    return {"form": form or service.to_form(draft), "reason": draft.reason if reason is None else reason,
            "errors": errors or [], "draft": draft}


@view_config(context=DraftResource, name="edit", renderer="calls/draft_form.jinja2",
             permission=Permission.CampaignDraftsWrite, request_method="POST")
def draft_edit(request):
    draft = request.context.draft
    if not draft.state.editable:
        return _refuse(request, draft, "edit")
    form, reason, errors = service.parse_draft(request.POST, request.today)
    problems = errors.errors or _screened(request, [("reason", "drafts.field.reason", reason)])
    if problems:
        request.response.status = 400
        return draft_edit_form(request, form, reason, problems)
    service.fill(draft, form, reason)
    draft.updated_at = request.now
    found = service.recount(request.dbsession, draft, request.today, request.now)
    request.audit.event(AuditEvent.DraftChanged, user=request.identity, draft=draft.id,
                        state=str(draft.state), cases=found["cases"], targets=found["targets"])
    return redirect(request, request.context)


@view_config(context=DraftResource, name="submit", renderer="calls/draft.jinja2",
             permission=Permission.CampaignDraftsWrite, request_method="POST")
def draft_submit(request):
    draft = request.context.draft
    if not draft.state.editable:
        return _refuse(request, draft, "submit")
    if draft.ends_on < request.today:
        request.response.status = 400
        return draft_page(request, errors=["drafts.error.expired"])
    found = service.recount(request.dbsession, draft, request.today, request.now)
    draft.state, draft.submitted_at, draft.updated_at = DraftState.submitted, request.now, request.now
    request.audit.event(AuditEvent.DraftSubmitted, user=request.identity, draft=draft.id,
                        state=str(draft.state), cases=found["cases"], targets=found["targets"])
    return redirect(request, request.context)


@view_config(context=DraftResource, name="cases", renderer="calls/draft_cases.jinja2",
             permission=Permission.CampaignDraftsReview, request_method="GET")
def draft_cases(request):
    """The cases the draft would reach today, within the reviewer's scope
    (through the disclosure gate), a page at a time, linked to the case pages."""
    draft = request.context.draft
    page = page_number(request.GET.get("page"))
    found, total = service.cases_page(request, service.campaign_filter(draft), page)
    shown = request.disclosure.show(found, REVIEW_FACETS)
    return {"draft": draft, "cases": shown.cases, "facets": shown.facets, "total": total, "page": page,
            "pages": max(1, -(-total // service.PAGE_SIZE)),
            "counts": service.counts(request.dbsession, service.campaign_filter(draft), request.today)}


def _review(request, action: str, state: DraftState, event: AuditEvent):
    draft = request.context.draft
    if not draft.state.reviewable:
        return _refuse(request, draft, action)
    comment, errors = service.parse_comment(request.POST, required=True)
    problems = errors.errors or _screened(request, [("comment", "drafts.field.comment", comment)])
    if problems:
        request.response.status = 400
        return draft_page(request, errors=problems)
    draft.state, draft.review_comment = state, comment
    draft.reviewed_by, draft.reviewed_at, draft.updated_at = request.identity.id, request.now, request.now
    request.audit.event(event, user=request.identity, draft=draft.id, state=str(draft.state))
    return redirect(request, request.context)


@view_config(context=DraftResource, name="return", renderer="calls/draft.jinja2",
             permission=Permission.CampaignDraftsReview, request_method="POST")
def draft_return(request):
    return _review(request, "return", DraftState.returned, AuditEvent.DraftReturned)


@view_config(context=DraftResource, name="reject", renderer="calls/draft.jinja2",
             permission=Permission.CampaignDraftsReview, request_method="POST")
def draft_reject(request):
    return _review(request, "reject", DraftState.rejected, AuditEvent.DraftRejected)


@view_config(context=DraftResource, name="approve", renderer="calls/draft.jinja2",
             permission=Permission.CampaignDraftsReview, request_method="POST")
def draft_approve(request):
    """Only a submitted draft becomes a campaign: created and its build
    queued as a collector's campaign is, by the approving supervisor."""
    draft = request.context.draft
    if not draft.state.reviewable:
        return _refuse(request, draft, "approve")
    if draft.ends_on < request.today:
        request.response.status = 400
        return draft_page(request, errors=["drafts.error.expired"])
    comment, errors = service.parse_comment(request.POST, required=False)
    problems = errors.errors or _screened(request, [("comment", "drafts.field.comment", comment)])
    if problems:
        request.response.status = 400
        return draft_page(request, errors=problems)
    user = request.identity
    found = service.counts(request.dbsession, service.campaign_filter(draft), request.today)
    campaign, job = service.approve(request.dbsession, draft, reviewer_id=user.id, comment=comment,
                                    now=request.now, today=request.today)
    request.audit.event(AuditEvent.DraftApproved, user=user, draft=draft.id, state=str(draft.state),
                        campaign=campaign.id, job=job.id, cases=found["cases"], targets=found["targets"])
    request.audit.event(AuditEvent.CampaignCreated, user=user, campaign=campaign.id, draft=draft.id)
    request.audit.event(AuditEvent.JobQueued, user=user, job=job.id, kind=job.kind, campaign=campaign.id)
    return redirect(request, request.root["calls"]["campaigns"][str(campaign.id)])
