"""Recording a call's result and what it does to the target.

Every result is a new, immutable :class:`CallAttempt` (plus one call-log line
per case it covers). A correction is a new attempt naming the one it
replaces; it does not count as another call.

| disposition        | effect on the target                                             |
|--------------------|------------------------------------------------------------------|
| no_answer, answering_machine, busy, other_person | back in the queue after the minimum interval and the per-person limits |
| wrong_number       | the number is marked unusable; another number of the group, or the letter workflow |
| promise            | an open promise; waits until the day after the promised date     |
| paid_claimed       | treated as a promise of the whole balance within 14 days         |
| refused            | finished: staff take it from here (call log on the case)         |
| consultation       | handed over to staff (one hand-over per case), leaves the queue   |
| slip_reissue       | back in the queue after 10 days (time to pay with the new slip)  |
| direct_debit       | back in the queue after 14 days                                  |
| callback           | a callback for this operator at the agreed time (first in the queue then) |

After ``max_attempts`` calls without any of the above holds, the target is finished.

A result is recorded on one person's cases only (地方税法22条, 守秘義務): a
target holds one taxpayer's cases (see ``campaigns.group``), and ``record``
refuses a target that still mixes people (one built before that rule).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ..models import (
    CallAttempt, CallRecord, CallTarget, Case, CaseStatus, Disposition, Handover, HandoverStatus,
    Phone, Promise, PromiseStatus, QueueClass, TargetStatus,
)
from .calendar import jst_day, next_calling_time, week_start
from .campaigns import same_person_keys
from .queue import release

PAID_CLAIM_DAYS = 14
HOLD_DAYS = {Disposition.slip_reissue: 10, Disposition.direct_debit: 14}
RETRY = {Disposition.no_answer, Disposition.answering_machine, Disposition.busy,
         Disposition.other_person}


@dataclass
class CallResult:
    disposition: Disposition
    memo: str = ""
    promise_amount: int | None = None
    promise_on: dt.date | None = None
    callback_at: dt.datetime | None = None   # UTC
    handover_reason: str = ""
    incoming: bool = False


def callable_cases(dbsession, target: CallTarget) -> list[Case]:
    """The target's cases a call may be about (open, unpaid, not flagged)."""
    return [m.case for m in target.members
            if m.case.status == CaseStatus.open and m.case.balance > 0 and m.case.call_block is None]


class MixedTarget(ValueError):
    """The target's cases belong to more than one person."""


def one_person(dbsession, cases: list[Case]) -> bool:
    """All ``cases`` belong to one taxpayer, or to records the data link
    declares the same person."""
    taxpayers = {c.taxpayer_id: c.taxpayer for c in cases}
    if len(taxpayers) <= 1:
        return True
    keys = same_person_keys(dbsession)
    return len({keys.get(t.taxpayer_no, t.taxpayer_no) for t in taxpayers.values()}) == 1


def record(dbsession, target: CallTarget, operator, result: CallResult, now: dt.datetime,
           corrects: CallAttempt | None = None) -> CallAttempt:
    campaign = target.campaign
    cases = callable_cases(dbsession, target) or [m.case for m in target.members]
    if not one_person(dbsession, [m.case for m in target.members]):
        raise MixedTarget(target.id)
    phone = target.phone
    attempt = CallAttempt(
        target_id=target.id, operator_id=operator.id, called_at=now,
        phone_number=phone.number if phone else "", disposition=result.disposition,
        promise_amount=result.promise_amount, promise_on=result.promise_on,
        callback_at=result.callback_at, memo=result.memo,
        corrects_id=corrects.id if corrects else None, incoming=result.incoming)
    dbsession.add(attempt)
    dbsession.flush()
    for case in cases:
        dbsession.add(CallRecord(case_id=case.id, called_at=now, operator_id=operator.id,
                                 phone_number=attempt.phone_number, result=result.disposition,
                                 note=result.memo, attempt_id=attempt.id))
    if corrects is not None:
        for promise in dbsession.scalars(select(Promise).where(
                Promise.attempt_id == corrects.id, Promise.status == PromiseStatus.open)):
            promise.status = PromiseStatus.superseded
    else:
        _count(target, now)
    release(dbsession, target)
    _apply(dbsession, target, campaign, attempt, result, cases, operator, now)
    return attempt


def _count(target: CallTarget, now: dt.datetime) -> None:
    day = jst_day(now)
    target.attempts += 1
    target.last_attempt_at = now
    if target.day != day:
        target.day, target.day_count = day, 0
    target.day_count += 1
    if target.week != week_start(day):
        target.week, target.week_count = week_start(day), 0
    target.week_count += 1


def next_due(target: CallTarget, campaign, now: dt.datetime) -> dt.datetime:
    """The earliest next call allowed by the interval and per-person limits."""
    due = now + dt.timedelta(minutes=campaign.min_interval_minutes)
    day = jst_day(now)
    if target.day == day and target.day_count >= campaign.daily_limit:
        due = max(due, dt.datetime.combine(day + dt.timedelta(days=1), dt.time()) - dt.timedelta(hours=9))
    if target.week == week_start(day) and target.week_count >= campaign.weekly_limit:
        monday = week_start(day) + dt.timedelta(days=7)
        due = max(due, dt.datetime.combine(monday, dt.time()) - dt.timedelta(hours=9))
    return next_calling_time(campaign, due)


def _requeue(target, campaign, now, *, at=None, queue_class=QueueClass.normal):
    target.status = TargetStatus.queued
    target.queue_class = int(queue_class)
    target.due_at = at or next_due(target, campaign, now)
    if queue_class != QueueClass.callback:
        target.callback_at = target.callback_operator_id = None


def _apply(dbsession, target, campaign, attempt, result, cases, operator, now):
    d = result.disposition
    today = jst_day(now)
    if d in RETRY:
        _requeue(target, campaign, now)
    elif d == Disposition.wrong_number:
        if target.phone is not None:
            target.phone.unusable = True
        other = _other_phone(dbsession, target, cases)
        if other is None:
            target.phone_id, target.status = None, TargetStatus.no_phone
        else:
            target.phone_id = other.id
            _requeue(target, campaign, now, at=now)
    elif d in (Disposition.promise, Disposition.paid_claimed):
        amount = result.promise_amount if d == Disposition.promise else sum(c.balance for c in cases)
        due_on = result.promise_on if d == Disposition.promise else today + dt.timedelta(days=PAID_CLAIM_DAYS)
        dbsession.add(Promise(attempt_id=attempt.id, target_id=target.id, amount=amount,
                              due_on=due_on, balance_before=sum(c.balance for c in cases),
                              status=PromiseStatus.open))
        target.status = TargetStatus.promised
        target.queue_class = int(QueueClass.normal)
        target.due_at = dt.datetime.combine(due_on + dt.timedelta(days=1), dt.time()) - dt.timedelta(hours=9)
    elif d == Disposition.refused:
        target.status = TargetStatus.finished
    elif d == Disposition.consultation:
        for case in cases:
            dbsession.add(Handover(case_id=case.id, target_id=target.id, attempt_id=attempt.id,
                                   reason=result.handover_reason or result.memo,
                                   created_by=operator.id, created_at=now,
                                   status=HandoverStatus.open))
        target.status = TargetStatus.handed_over
    elif d in HOLD_DAYS:
        _requeue(target, campaign, now, at=next_calling_time(
            campaign, now + dt.timedelta(days=HOLD_DAYS[d])))
    elif d == Disposition.callback:
        target.callback_at = result.callback_at
        target.callback_operator_id = operator.id
        _requeue(target, campaign, now, at=result.callback_at, queue_class=QueueClass.callback)
    if (target.status == TargetStatus.queued and target.queue_class != QueueClass.callback
            and target.attempts >= campaign.max_attempts):
        target.status = TargetStatus.finished


def _other_phone(dbsession, target, cases) -> Phone | None:
    taxpayer_ids = {c.taxpayer_id for c in cases}
    return dbsession.scalar(select(Phone).where(
        Phone.taxpayer_id.in_(taxpayer_ids), Phone.unusable.is_(False), Phone.digits != "",
        Phone.id != (target.phone_id or 0)).order_by(Phone.id).limit(1))
