"""Recording a call: one contact result and any number of actions.

Every call is a new, immutable :class:`CallAttempt` with its
:class:`CallAction` rows (plus one call-log line per case it covers). A
correction is a new record naming the one it replaces; it does not count as
another call.

Contact result (one per call) and its effect on the target:

| result             | effect on the target                                             |
|--------------------|------------------------------------------------------------------|
| no_answer, answering_machine, busy, other_person | back in the queue after the minimum interval and the per-person limits |
| wrong_number       | the number is marked unusable; another number of the group, or the letter workflow |
| reached            | back in the queue after the interval, unless an action says otherwise |

Actions (only when the taxpayer was reached; a callback also when someone
else answered), weightiest first:

| action             | effect                                                            |
|--------------------|-------------------------------------------------------------------|
| refusal            | a hand-over to staff (納付拒否: staff decide on 滞納処分), leaves the queue |
| handover           | a hand-over to staff (相談希望), leaves the queue                  |
| plan_request       | the request is recorded and handed over to staff (分納は職員が判断) |
| promise            | an open promise (amount, date); waits until the day after the date |
| callback           | a callback for this operator at the agreed time                    |
| paid_claimed       | the claim is recorded (amount and day paid, as told), no promise; rests 14 days for the payment to arrive through the data link |
| slip_reissue       | rests 10 days (time to pay with the new slip)                      |
| direct_debit       | rests 14 days; opens or updates the direct-debit application        |

Several actions combine: every promise is kept as a promise, every hand-over
action makes one hand-over per case, and the target takes the weightiest
state (hand-over, promise, callback, then the longest rest).

After ``max_attempts`` calls the target is finished unless a hold applies.

An incoming call (受電, :func:`record_incoming`) is not an outgoing attempt:
it never counts towards the attempts or the daily and weekly limits, and never
takes or releases a lease. Linked to a case, its actions act on that person's
target as above while the target is queued or waiting for a promise.

A result is recorded on one person's cases only (地方税法22条, 守秘義務): a
target holds one taxpayer's cases (see ``campaigns.build``), and ``record``
refuses a target that still mixes people (one built before that rule).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from ..clock import jst_midnight
from ..models import (
    HANDOVER_ACTIONS, ActionKind, CallAction, CallAttempt, CallRecord, CallTarget, Case,
    CaseStatus, ContactResult, Disposition, Handover, HandoverStatus, IncomingReason, Phone,
    Promise, PromiseStatus, QueueClass, TargetStatus, legacy_split, summary,
)
from ..cases import debits
from .calendar import jst_day, next_calling_time, week_start
from .campaigns import same_person_keys
from .queue import release

PAID_CLAIM_DAYS = 14
HOLD_DAYS = {ActionKind.slip_reissue: 10, ActionKind.direct_debit: 14,
             ActionKind.paid_claimed: PAID_CLAIM_DAYS}
RETRY = {ContactResult.no_answer, ContactResult.answering_machine, ContactResult.busy,
         ContactResult.other_person}
#: What staff read first on a hand-over made by each action.
HANDOVER_LABELS = {ActionKind.refusal: "納付拒否", ActionKind.plan_request: "分納の相談希望",
                   ActionKind.handover: "相談希望"}


@dataclass
class Action:
    kind: ActionKind
    amount: int | None = None
    on: dt.date | None = None
    at: dt.datetime | None = None   # UTC (callback)


@dataclass
class CallResult:
    result: ContactResult
    actions: list[Action] = field(default_factory=list)
    memo: str = ""
    handover_reason: str = ""
    incoming: bool = False
    incoming_reason: IncomingReason | None = None

    @property
    def kinds(self) -> set[ActionKind]:
        return {a.kind for a in self.actions}

    def action(self, kind: ActionKind) -> Action | None:
        return next((a for a in self.actions if a.kind == kind), None)

    @property
    def disposition(self) -> Disposition | None:
        return summary(self.result, self.kinds)

    @classmethod
    def legacy(cls, disposition: Disposition, memo: str = "", promise_amount=None, promise_on=None,
               callback_at=None, handover_reason="", incoming=False) -> CallResult:
        """A result given as one old disposition."""
        result, kind = legacy_split(disposition)
        actions = [] if kind is None else [Action(
            kind, amount=promise_amount if kind == ActionKind.promise else None,
            on=promise_on if kind == ActionKind.promise else None,
            at=callback_at if kind == ActionKind.callback else None)]
        return cls(result, actions, memo=memo, handover_reason=handover_reason, incoming=incoming)


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


def _attempt(dbsession, result: CallResult, operator, now, *, target=None, case=None,
             phone_number="", corrects=None) -> CallAttempt:
    promise = result.action(ActionKind.promise)
    callback = result.action(ActionKind.callback)
    attempt = CallAttempt(
        target_id=target.id if target else None, case_id=case.id if case else None,
        operator_id=operator.id, called_at=now, phone_number=phone_number,
        result=result.result, disposition=result.disposition,
        promise_amount=promise.amount if promise else None,
        promise_on=promise.on if promise else None,
        callback_at=callback.at if callback else None, memo=result.memo,
        corrects_id=corrects.id if corrects else None, incoming=result.incoming,
        incoming_reason=result.incoming_reason,
        actions=[CallAction(kind=a.kind, amount=a.amount, on=a.on, at=a.at, note="")
                 for a in result.actions])
    dbsession.add(attempt)
    dbsession.flush()
    return attempt


def _log(dbsession, attempt, cases, operator, now, result):
    label = str(result.disposition or result.result)
    for case in cases:
        dbsession.add(CallRecord(case_id=case.id, called_at=now, operator_id=operator.id,
                                 phone_number=attempt.phone_number, result=label,
                                 note=result.memo, attempt_id=attempt.id))


def record(dbsession, target: CallTarget, operator, result: CallResult, now: dt.datetime,
           corrects: CallAttempt | None = None) -> CallAttempt:
    """An outgoing call (架電) on ``target``: one attempt towards its limits."""
    campaign = target.campaign
    cases = callable_cases(dbsession, target) or [m.case for m in target.members]
    if not one_person(dbsession, [m.case for m in target.members]):
        raise MixedTarget(target.id)
    phone = target.phone
    result.incoming = False
    attempt = _attempt(dbsession, result, operator, now, target=target,
                       phone_number=phone.number if phone else "", corrects=corrects)
    _log(dbsession, attempt, cases, operator, now, result)
    _supersede(dbsession, corrects)
    if corrects is None:
        _count(target, now)
    release(dbsession, target)
    _apply(dbsession, target, campaign, attempt, result, cases, operator, now)
    if (target.status == TargetStatus.queued and target.queue_class != QueueClass.callback
            and target.attempts >= campaign.max_attempts):
        target.status = TargetStatus.finished
    return attempt


def record_incoming(dbsession, operator, result: CallResult, now: dt.datetime, *,
                    case: Case | None = None, target: CallTarget | None = None,
                    phone_number: str = "") -> CallAttempt:
    """An incoming call (受電), with or without a case. It never counts as an
    outgoing attempt; with a case its actions act on the person's target (if
    any) while that target is queued or waiting for a promise."""
    result.incoming = True
    if target is not None:
        cases = [c for c in callable_cases(dbsession, target) if c.taxpayer_id == case.taxpayer_id] or [case]
    else:
        cases = [case] if case is not None else []
    attempt = _attempt(dbsession, result, operator, now, target=target, case=case,
                       phone_number=phone_number)
    _log(dbsession, attempt, cases, operator, now, result)
    if case is None:
        return attempt
    if (target is not None and target.campaign.active_on(jst_day(now))
            and target.status in (TargetStatus.queued, TargetStatus.promised)):
        _apply(dbsession, target, target.campaign, attempt, result, cases, operator, now,
               incoming=True)
    else:
        _side_effects(dbsession, target, attempt, result, cases, operator, now)
    return attempt


def _supersede(dbsession, corrects):
    if corrects is None:
        return
    for promise in dbsession.scalars(select(Promise).where(
            Promise.attempt_id == corrects.id, Promise.status == PromiseStatus.open)):
        promise.status = PromiseStatus.superseded


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
        due = max(due, jst_midnight(day + dt.timedelta(days=1)))
    if target.week == week_start(day) and target.week_count >= campaign.weekly_limit:
        monday = week_start(day) + dt.timedelta(days=7)
        due = max(due, jst_midnight(monday))
    return next_calling_time(campaign, due)


def _requeue(target, campaign, now, *, at=None, queue_class=QueueClass.normal):
    target.status = TargetStatus.queued
    target.queue_class = int(queue_class)
    target.due_at = at or next_due(target, campaign, now)
    if queue_class != QueueClass.callback:
        target.callback_at = target.callback_operator_id = None


def _side_effects(dbsession, target, attempt, result, cases, operator, now) -> tuple:
    """What every action leaves whatever the target: promises, hand-overs and
    the direct-debit hook. Returns (promise rows, whether handed over)."""
    kinds = result.kinds
    promises = []
    action = result.action(ActionKind.promise)
    if action is not None and target is not None:
        balance = sum(c.balance for c in cases)
        promise = Promise(attempt_id=attempt.id, target_id=target.id, amount=action.amount,
                          due_on=action.on, balance_before=balance, status=PromiseStatus.open)
        dbsession.add(promise)
        promises.append(promise)
    handed = kinds & HANDOVER_ACTIONS
    if handed:
        labels = "・".join(HANDOVER_LABELS[k] for k in ActionKind if k in handed)
        reason = result.handover_reason or result.memo
        for case in cases:
            dbsession.add(Handover(case_id=case.id, target_id=target.id if target else None,
                                   attempt_id=attempt.id,
                                   reason=f"【{labels}】{reason}" if reason else f"【{labels}】",
                                   created_by=operator.id, created_at=now,
                                   status=HandoverStatus.open))
    if ActionKind.direct_debit in kinds:
        debits.encouraged(dbsession, attempt, cases)
    elif attempt.corrects_id is not None:
        debits.correction_dropped(dbsession, attempt.corrects_id)
    return promises, bool(handed)


def _apply(dbsession, target, campaign, attempt, result, cases, operator, now, incoming=False):
    promises, handed = _side_effects(dbsession, target, attempt, result, cases, operator, now)
    kinds = result.kinds
    if handed:
        target.status = TargetStatus.handed_over
        target.callback_at = target.callback_operator_id = None
    elif promises:
        due_on = max(p.due_on for p in promises)
        target.status = TargetStatus.promised
        target.queue_class = int(QueueClass.normal)
        target.due_at = jst_midnight(due_on + dt.timedelta(days=1))
    elif ActionKind.callback in kinds:
        at = result.action(ActionKind.callback).at
        target.callback_at = at
        target.callback_operator_id = operator.id
        _requeue(target, campaign, now, at=at, queue_class=QueueClass.callback)
    elif incoming and target.status == TargetStatus.promised:
        return  # the open promise keeps the target waiting; a slip or the like changes nothing
    elif kinds & set(HOLD_DAYS):
        days = max(HOLD_DAYS[k] for k in kinds if k in HOLD_DAYS)
        at = next_calling_time(campaign, now + dt.timedelta(days=days))
        if incoming and target.status == TargetStatus.queued:
            at = max(at, target.due_at)
        _requeue(target, campaign, now, at=at)
    elif incoming:
        return  # spoke with them, nothing agreed: the queue goes on as it was
    elif result.result == ContactResult.wrong_number:
        if target.phone is not None:
            target.phone.unusable = True
        other = _other_phone(dbsession, target, cases)
        if other is None:
            target.phone_id, target.status = None, TargetStatus.no_phone
        else:
            target.phone_id = other.id
            _requeue(target, campaign, now, at=now)
    else:
        _requeue(target, campaign, now)


def _other_phone(dbsession, target, cases) -> Phone | None:
    taxpayer_ids = {c.taxpayer_id for c in cases}
    return dbsession.scalar(select(Phone).where(
        Phone.taxpayer_id.in_(taxpayer_ids), Phone.unusable.is_(False), Phone.digits != "",
        Phone.id != (target.phone_id or 0)).order_by(Phone.id).limit(1))
