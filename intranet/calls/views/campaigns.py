"""納付案内計画: creating, activating and closing campaigns."""
from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import func, select

from ...audit.events import AuditEvent
from ...models import CallCampaign, CallTarget, CampaignCase, CampaignStatus, TargetStatus
from ...resources import CampaignContainer, CampaignResource
from ...security.permissions import Permission
from .. import campaigns as campaign_service
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
    campaign = CallCampaign(
        name=form.name, status=CampaignStatus.draft, starts_on=form.starts_on,
        ends_on=form.ends_on, created_at=request.now, created_by=request.identity.id,
        weekday_start=form.weekday_start, weekday_end=form.weekday_end,
        saturday_start=form.saturday_start, saturday_end=form.saturday_end,
        max_attempts=form.max_attempts, min_interval_minutes=form.min_interval_minutes,
        daily_limit=form.daily_limit, weekly_limit=form.weekly_limit)
    request.dbsession.add(campaign)
    request.dbsession.flush()
    counts = campaign_service.build(request.dbsession, campaign, form.filter, request.today,
                                    request.now)
    request.audit.event(AuditEvent.CampaignCreated, user=request.identity, campaign=campaign.id, **counts)
    return redirect(request, request.context[str(campaign.id)])


@view_config(context=CampaignResource, renderer="calls/campaign.jinja2",
             permission=Permission.CampaignsView, request_method="GET")
def campaign_page(request):
    campaign = request.context.campaign
    by_status = dict(request.dbsession.execute(
        select(CallTarget.status, func.count()).where(CallTarget.campaign_id == campaign.id)
        .group_by(CallTarget.status)).all())
    cases = request.dbsession.scalar(select(func.count()).select_from(CampaignCase)
                                     .where(CampaignCase.campaign_id == campaign.id))
    return {"campaign": campaign, "by_status": by_status, "cases": cases,
            "statuses": list(TargetStatus),
            "can_manage": request.has_permission(Permission.CampaignsManage, request.context)}


@view_config(context=CampaignResource, name="activate", permission=Permission.CampaignsManage,
             request_method="POST")
def campaign_activate(request):
    campaign = request.context.campaign
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
