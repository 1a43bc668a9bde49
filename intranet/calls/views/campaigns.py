"""納付案内計画: creating, activating and closing campaigns."""
from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import func, select

from ...audit.events import AuditEvent
from ...jobs import latest_job
from ...models import (
    CallCampaign, CallTarget, CampaignCase, CampaignDraft, CampaignStatus, JobState, TargetStatus,
)
from ...resources import CampaignContainer, CampaignResource
from ...security.permissions import Permission
from .. import campaigns as campaign_service
from .. import creation
from ..forms import CampaignForm, parse_campaign
from .common import redirect


@view_config(context=CampaignContainer, renderer="calls/campaigns.jinja2",
             permission=Permission.CampaignsView, request_method="GET")
def campaign_list(request):
    counts = dict(request.dbsession.execute(
        select(CallTarget.campaign_id, func.count()).group_by(CallTarget.campaign_id)).all())
    campaigns = request.dbsession.scalars(
        select(CallCampaign).order_by(CallCampaign.id.desc())).all()
    return {"campaigns": campaigns, "counts": counts,
            "can_manage": request.has_permission(Permission.CampaignsManage, request.context)}


@view_config(context=CampaignContainer, name="new", renderer="calls/campaign_form.jinja2",
             permission=Permission.CampaignsManage, request_method="GET")
def campaign_form(request, form=None, errors=None):
    return {"form": form or CampaignForm(), "errors": errors or []}


@view_config(context=CampaignContainer, name="new", renderer="calls/campaign_form.jinja2",
             permission=Permission.CampaignsManage, request_method="POST")
def campaign_create(request):
    form, errors = parse_campaign(request.POST, request.today)
    if errors.errors:
        request.response.status = 400
        return campaign_form(request, form, errors.errors)
    # the targets are built by the worker (issue 21): the page shows progress
    campaign, job = creation.create(request.dbsession, form, created_by=request.identity.id,
                                            now=request.now, today=request.today)
    request.audit.event(AuditEvent.CampaignCreated, user=request.identity, campaign=campaign.id)
    request.audit.event(AuditEvent.JobQueued, user=request.identity, job=job.id, kind=job.kind,
                        campaign=campaign.id)
    return redirect(request, request.context[str(campaign.id)])


campaign_subject = creation.campaign_subject


def job_status(request, job) -> dict:
    """What the page and its poll show of the campaign's build job (no personal data)."""
    import json

    if job is None:
        return {"state": "none", "finished": True}
    return {"state": str(job.state), "finished": job.finished, "percent": job.percent,
            "done": job.progress_done, "total": job.progress_total,
            "label": request.t(f"jobs.state.{job.state}"),
            "result": json.loads(job.result) if job.result else None,
            "error": request.t(job.error) if job.error else None}


@view_config(context=CampaignResource, renderer="calls/campaign.jinja2",
             permission=Permission.CampaignsView, request_method="GET")
def campaign_page(request, errors=None):
    campaign = request.context.campaign
    by_status = dict(request.dbsession.execute(
        select(CallTarget.status, func.count()).where(CallTarget.campaign_id == campaign.id)
        .group_by(CallTarget.status)).all())
    cases = request.dbsession.scalar(select(func.count()).select_from(CampaignCase)
                                     .where(CampaignCase.campaign_id == campaign.id))
    job = latest_job(request.dbsession, campaign_subject(campaign))
    # a campaign approved from a call-center draft names it (issue 25)
    draft_id = request.dbsession.scalar(select(CampaignDraft.id).where(CampaignDraft.campaign_id == campaign.id))
    return {"campaign": campaign, "by_status": by_status, "cases": cases, "draft_id": draft_id,
            "can_open_draft": draft_id is not None and request.has_permission(
                Permission.CampaignDraftsView, request.root["calls"]["drafts"]),
            "statuses": list(TargetStatus), "job": job,
            "building": job is not None and not job.finished, "errors": errors or [],
            "can_manage": request.has_permission(Permission.CampaignsManage, request.context)}


@view_config(context=CampaignResource, name="job", renderer="json",
             permission=Permission.CampaignsView, request_method="GET")
def campaign_job(request):
    """The build job's state for the page's progress bar (polled by
    static/jobs.js): state, progress, counts or the error message."""
    return job_status(request, latest_job(request.dbsession, campaign_subject(request.context.campaign)))


@view_config(context=CampaignResource, name="activate", permission=Permission.CampaignsManage,
             request_method="POST", renderer="calls/campaign.jinja2")
def campaign_activate(request):
    campaign = request.context.campaign
    job = latest_job(request.dbsession, campaign_subject(campaign))
    if job is not None and job.state != JobState.done:
        # still building, or the build failed: nothing to call yet
        request.response.status = 400
        return campaign_page(request, ["jobs.campaign.not_built"])
    if campaign.status == CampaignStatus.draft:
        campaign.status = CampaignStatus.active
        request.audit.event(AuditEvent.CampaignActivated, user=request.identity, campaign=campaign.id)
    return redirect(request, request.context)


@view_config(context=CampaignResource, name="close", permission=Permission.CampaignsManage,
             request_method="POST")
def campaign_close(request):
    campaign = request.context.campaign
    if campaign.status != CampaignStatus.closed:
        campaign_service.close(request.dbsession, campaign)
        request.audit.event(AuditEvent.CampaignClosed, user=request.identity, campaign=campaign.id)
    return redirect(request, request.context)
