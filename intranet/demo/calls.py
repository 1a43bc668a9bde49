"""A demo call campaign, so that operators have a queue on first start."""
from __future__ import annotations

import datetime as dt

from ..calls import campaigns
from ..models import CallCampaign, CampaignStatus, User


def create_demo_campaign(dbsession, today: dt.date, now: dt.datetime) -> dict[str, int]:
    """An active campaign over every callable case, running two months from a week ago."""
    creator = dbsession.query(User).filter_by(login="collector1").one_or_none()
    campaign = CallCampaign(
        name="納付案内（デモ）", status=CampaignStatus.active,
        starts_on=today - dt.timedelta(days=7), ends_on=today + dt.timedelta(days=60),
        created_at=now, created_by=creator.id if creator else None)
    dbsession.add(campaign)
    dbsession.flush()
    return campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), today, now)
