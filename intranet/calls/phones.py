"""電話番号調査: numbers operators find for cases with no usable number.

A found number is a :class:`PhoneCandidate` until a collector confirms it;
only then does it become the taxpayer's phone and the case's target join the
queue (the call center never adds numbers to the ward's records by itself)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import (
    Assessment, Case, Installment, CallCampaign, CallTarget, CampaignCase, CampaignStatus, Phone, PhoneCandidate,
    PhoneCandidateStatus, PhoneKind, TargetStatus,
)
from ..cases.statuses import Work, available_for
from ..text import phone_digits


def valid_number(number: str) -> str | None:
    """The digits of a plausible Japanese number (10 or 11 digits from 0), or None."""
    found = phone_digits(number)
    return found if found.startswith("0") and len(found) in (10, 11) else None


def no_phone_targets(dbsession, today: dt.date, limit: int = 200, *, scope=None,
                     with_amounts: bool = False, work: Work = Work.calls) -> list[CallTarget]:
    """Targets of campaigns active today with no usable number. With
    ``scope`` (the disclosure gate) each target's ``members`` hold only the
    cases in scope, and targets left with none are dropped. Members, cases
    and taxpayers (and, ``with_amounts``, installments and receipts) are
    loaded in a fixed number of queries. Members whose collection status
    keeps them from ``work`` (calls, or letters) are left out."""
    member_cases = select(Case.id).where(available_for(work, today))
    if scope is not None and not scope.reaches_every_case:
        member_cases = member_cases.where(Case.id.in_(scope.case_ids()))
    members = CallTarget.members.and_(CampaignCase.case_id.in_(member_cases))
    load_cases = selectinload(members).selectinload(CampaignCase.case)
    if with_amounts:
        load_cases = load_cases.selectinload(Case.assessments).selectinload(
            Assessment.installments).selectinload(Installment.receipts)
    targets = dbsession.scalars(
        select(CallTarget).join(CallCampaign, CallCampaign.id == CallTarget.campaign_id)
        .where(CallTarget.status == TargetStatus.no_phone, CallCampaign.active_on(today))
        .options(load_cases).order_by(CallTarget.id).limit(limit))
    return [t for t in targets if t.members]


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
