"""Promises (納付約束) resolve themselves from the balances.

Kept: the target's balance fell by the promised amount (payments arrive
through the data link, which updates case balances). Broken: the promised
date passed first; the target returns to the queue ahead of ordinary calls.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ..models import (
    CampaignCase, Case, Promise, PromiseStatus, QueueClass, TargetStatus,
)


def refresh(dbsession, today: dt.date, now: dt.datetime) -> dict[str, int]:
    """Resolve every open promise that is kept or broken as of ``today``."""
    counts = {"kept": 0, "broken": 0}
    promises = dbsession.scalars(select(Promise).where(Promise.status == PromiseStatus.open)).all()
    if not promises:
        return counts
    balances = dict(dbsession.execute(
        select(CampaignCase.target_id, func.sum(Case.balance))
        .join(Case, Case.id == CampaignCase.case_id)
        .where(CampaignCase.target_id.in_({p.target_id for p in promises}))
        .group_by(CampaignCase.target_id)).all())
    for promise in promises:
        balance = balances.get(promise.target_id, 0) or 0
        target = promise.target
        if balance <= promise.balance_before - promise.amount or balance <= 0:
            promise.status, promise.resolved_on = PromiseStatus.kept, today
            counts["kept"] += 1
            if target.status == TargetStatus.promised:
                if balance <= 0:
                    target.status = TargetStatus.finished
                else:  # partly paid as promised: the rest is called about later
                    target.status, target.queue_class, target.due_at = (
                        TargetStatus.queued, int(QueueClass.normal), now)
        elif promise.due_on < today:
            promise.status, promise.resolved_on = PromiseStatus.broken, today
            counts["broken"] += 1
            if target.status == TargetStatus.promised:
                target.status, target.queue_class, target.due_at = (
                    TargetStatus.queued, int(QueueClass.broken_promise), now)
    return counts
