"""電話番号調査: numbers operators find for cases with no usable number.

A found number is a :class:`PhoneCandidate` until a collector confirms it;
only then does it become the taxpayer's phone and the case's target join the
queue (the call center never adds numbers to the ward's records by itself)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..models import (
    CallCampaign, CallTarget, CampaignCase, CampaignStatus, Phone, PhoneCandidate,
    PhoneCandidateStatus, PhoneKind, TargetStatus,
)
from ..text import phone_digits


def valid_number(number: str) -> str | None:
    """The digits of a plausible Japanese number (10 or 11 digits from 0), or None."""
    found = phone_digits(number)
    return found if found.startswith("0") and len(found) in (10, 11) else None


def no_phone_targets(dbsession, today: dt.date, limit: int = 200) -> list[CallTarget]:
    return list(dbsession.scalars(
        select(CallTarget).join(CallCampaign, CallCampaign.id == CallTarget.campaign_id)
        .where(CallTarget.status == TargetStatus.no_phone,
               CallCampaign.status == CampaignStatus.active,
               CallCampaign.starts_on <= today, CallCampaign.ends_on >= today)
        .order_by(CallTarget.id).limit(limit)))


def confirm(dbsession, candidate: PhoneCandidate, user, now: dt.datetime) -> Phone:
    case = candidate.case
    phone = Phone(taxpayer_id=case.taxpayer_id, number=candidate.number, digits=candidate.digits,
                  kind=PhoneKind.other, note=f"電話番号調査: {candidate.source}"[:200])
    dbsession.add(phone)
    dbsession.flush()
    candidate.status, candidate.decided_by, candidate.decided_at = (
        PhoneCandidateStatus.confirmed, user.id, now)
    targets = dbsession.scalars(
        select(CallTarget).join(CampaignCase, CampaignCase.target_id == CallTarget.id)
        .join(CallCampaign, CallCampaign.id == CallTarget.campaign_id)
        .where(CampaignCase.case_id == case.id, CallTarget.status == TargetStatus.no_phone,
               CallCampaign.status != CampaignStatus.closed))
    for target in targets:
        target.phone_id, target.status, target.due_at = phone.id, TargetStatus.queued, now
    return phone
