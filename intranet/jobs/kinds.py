"""The job kinds (register a new one here with :func:`intranet.jobs.job_kind`;
letter batches and the inspection export could follow the campaign build)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select, text

from . import JobError, job_kind


@job_kind("campaign.build")
def build_campaign(ctx, params: dict) -> dict:
    """Build a draft campaign's targets (intranet.calls.campaigns.build) with
    the filter, day and time the collector submitted."""
    from ..calls import campaigns
    from ..models import CallCampaign, CallTarget

    session = ctx.dbsession
    if session.get_bind().dialect.name == "postgresql":
        # one build at a time: "cases in no other open campaign" must see
        # the previous build's members (workers may run side by side)
        session.execute(text("SELECT pg_advisory_xact_lock(2121)"))
    campaign = session.get(CallCampaign, params["campaign"])
    if campaign is None:
        raise JobError("jobs.error.campaign_gone")
    if session.scalar(select(exists().where(CallTarget.campaign_id == campaign.id))):
        raise JobError("jobs.error.campaign_built")
    counts = campaigns.build(session, campaign, campaigns.CampaignFilter(**params["filter"]),
                             dt.date.fromisoformat(params["today"]),
                             dt.datetime.fromisoformat(params["now"]), progress=ctx.progress)
    return {"campaign": campaign.id, **counts}
