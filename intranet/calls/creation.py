"""Creating a call campaign: the campaign row and its queued build job
(issue 21), as a collector's "new campaign" and the approval of a
call-center draft (issue 25) do. Apart from :mod:`.campaigns` so that the
build, which the job runner imports, does not import the job queue."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from ..jobs import enqueue
from ..models import CallCampaign, CampaignStatus


def create(dbsession, form, *, created_by: int, now: dt.datetime, today: dt.date):
    """A draft campaign from ``form`` (:class:`intranet.calls.forms.CampaignForm`)
    and its queued build job (issue 21): what a collector's "new campaign"
    does, and what approving a call-center draft does (issue 25). The filter,
    day and time are those of the request. Returns (campaign, job)."""
    campaign = CallCampaign(
        name=form.name, status=CampaignStatus.draft, starts_on=form.starts_on,
        ends_on=form.ends_on, created_at=now, created_by=created_by,
        weekday_start=form.weekday_start, weekday_end=form.weekday_end,
        saturday_start=form.saturday_start, saturday_end=form.saturday_end,
        max_attempts=form.max_attempts, min_interval_minutes=form.min_interval_minutes,
        daily_limit=form.daily_limit, weekly_limit=form.weekly_limit)
    dbsession.add(campaign)
    dbsession.flush()
    campaign.criteria = form.filter.to_json()
    job = enqueue(dbsession, "campaign.build", {
        "campaign": campaign.id, "filter": asdict(form.filter),
        "today": today.isoformat(), "now": now.isoformat()},
        now=now, created_by=created_by, subject=campaign_subject(campaign))
    return campaign, job


def campaign_subject(campaign) -> str:
    """How jobs name the campaign they build (``latest_job`` finds them by it)."""
    return f"campaign:{campaign.id}"
