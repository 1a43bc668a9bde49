"""Installment plans (分納・納付誓約): the schedule, the checks a new plan
must pass, and the state that follows the receipts.

A plan is a :class:`~intranet.models.PaymentAgreement` with its scheduled
payments (:class:`~intranet.models.PlanPayment`). Its ``agreed_on`` is the
day the taxpayer signed the 誓約: a 承認 that renews the limitation of the
case's tax (地方税法18条③ applies 民法152条①; intranet.taxes.limitation,
docs/taxes.md).

State (docs/collections.md, "Installment plans"):

* a scheduled payment is *paid* when the case's receipts (本税 and 延滞金)
  received since the signing day reach the cumulative schedule up to and
  including that payment;
* it is *missed* when, today, the grace days after its due day
  (``intranet.plans.grace_days``, ward practice varies) have passed and it is
  not paid;
* 完了 when the whole schedule is paid; 不履行 while a payment is missed;
  履行中 otherwise. A taxpayer who catches up is 履行中 again: the state
  follows the receipts as they stand, and the 不履行 stays in the access log
  (``plan.defaulted``) and the collectors' work list history.

While a plan is active and 履行中 the case is left out of call campaigns,
dunning letters and field surveys (:func:`in_good_standing_clause`, used by
:func:`intranet.cases.statuses.available_for`); a 不履行 or 完了 plan excludes
nothing.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session, selectinload

from ..params import parse_date
from ..models import (
    Assessment, Case, Installment, PaymentAgreement, PlanPayment, PlanState, Receipt,
)

#: Plans longer than this are refused (a typing error, not a plan).
MAX_PAYMENTS = 120
#: Amounts above this are refused (a typing error: 10 億円).
MAX_AMOUNT = 1_000_000_000
MAX_REASON = 1000
DEFAULT_GRACE_DAYS = 10


class PlanError(ValueError):
    """A plan that cannot be stored; ``args[0]`` is a message key, ``args[1]``
    (optional) the values the message names."""

    def __init__(self, key: str, **values):
        super().__init__(key, values)
        self.key, self.values = key, values


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, cut to the month's end (1/31 → 2/28)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def monthly_schedule(total: int, count: int, first: dt.date) -> list[tuple[dt.date, int]]:
    """``count`` monthly payments from ``first`` summing to ``total``; the
    yen that do not divide go on the first payment (初回に端数), the usual
    way a 納付誓約書 is written."""
    if count < 1 or count > MAX_PAYMENTS:
        raise PlanError("plan.error.count", max=MAX_PAYMENTS)
    if total <= 0:
        raise PlanError("plan.error.amount")
    each, rest = divmod(total, count)
    if each <= 0:
        raise PlanError("plan.error.amount")
    return [(add_months(first, n), each + (rest if n == 0 else 0)) for n in range(count)]


def summary_schedule(plan: PaymentAgreement) -> list[tuple[dt.date, int]]:
    """The schedule an agreement's summary implies (agreements that came
    without rows: the data link's ``payment_agreements.csv`` alone, and those
    stored before plans had schedules)."""
    return [(add_months(plan.first_due_on, n), plan.instalment_amount)
            for n in range(max(0, plan.instalment_count))]


def set_schedule(plan: PaymentAgreement, rows: list[tuple[dt.date, int]]) -> None:
    """Replace the plan's payments and keep its summary columns in step."""
    rows = sorted(rows)
    plan.payments[:] = [PlanPayment(due_on=due, amount=amount) for due, amount in rows]
    if rows:
        plan.first_due_on = rows[0][0]
        plan.instalment_count = len(rows)
        plan.instalment_amount = max(amount for _, amount in rows)


def check_schedule(rows: list[tuple[dt.date, int]], *, signed_on: dt.date, today: dt.date) -> None:
    """Refuse an empty plan, 0 or negative amounts, due days in the past or
    before the signing, a signing day in the future, too many payments."""
    if signed_on > today:
        raise PlanError("plan.error.signed_future")
    if not rows:
        raise PlanError("plan.error.empty")
    if len(rows) > MAX_PAYMENTS:
        raise PlanError("plan.error.count", max=MAX_PAYMENTS)
    for due, amount in rows:
        if amount <= 0 or amount > MAX_AMOUNT:
            raise PlanError("plan.error.amount")
        if due < today:
            raise PlanError("plan.error.past", day=due.isoformat())
        if due < signed_on:
            raise PlanError("plan.error.before_signing", day=due.isoformat())


@dataclass(frozen=True)
class Coverage:
    """Does the plan cover what is owed? ``needed``: the overdue 本税 plus
    the late-charge estimate (and fee) today, from intranet.taxes.owed."""

    total: int
    needed: int

    @property
    def shortfall(self) -> int:
        return max(0, self.needed - self.total)


def parse_rows(text: str) -> list[tuple[dt.date, int]]:
    """Typed rows, one payment a line: ``YYYY-MM-DD amount`` (a comma, tab or
    spaces between; ``,`` or ``円`` in the amount are allowed)."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.replace("\t", " ").replace("，", ",").split(",", 1) if "," in line[:11] \
            else line.split(None, 1)
        if len(parts) != 2:
            raise PlanError("plan.error.row", line=number)
        day, amount = parts[0].strip(), parts[1].strip().replace(",", "").replace("円", "")
        try:
            due = parse_date(day)
        except ValueError:
            raise PlanError("plan.error.row", line=number) from None
        if not amount.lstrip("-").isdigit() or len(amount) > 12:
            raise PlanError("plan.error.row", line=number)
        rows.append((due, int(amount)))
    return rows


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class PaymentStatus:
    due_on: dt.date
    amount: int
    cumulative: int
    paid_on: dt.date | None   # the day cumulative receipts reached it
    missed: bool


@dataclass(frozen=True)
class Evaluation:
    state: PlanState
    missed_due_on: dt.date | None
    received: int
    payments: tuple[PaymentStatus, ...] = field(default=())


def evaluate(schedule: list[tuple[dt.date, int]], receipts: list[tuple[dt.date, int]],
             *, signed_on: dt.date, today: dt.date, grace_days: int) -> Evaluation:
    """The plan's state today from its schedule and the case's receipts
    ``(received_on, amount)``; receipts before the signing day and after
    today are ignored."""
    counted = sorted((on, amount) for on, amount in receipts if signed_on <= on <= today)
    received = sum(amount for _, amount in counted)
    statuses, cumulative, missed_on = [], 0, None
    for due, amount in sorted(schedule):
        cumulative += amount
        paid_on, running = None, 0
        for on, got in counted:
            running += got
            if running >= cumulative:
                paid_on = on
                break
        missed = paid_on is None and today > due + dt.timedelta(days=grace_days)
        if missed and missed_on is None:
            missed_on = due
        statuses.append(PaymentStatus(due, amount, cumulative, paid_on, missed))
    if statuses and received >= cumulative:
        state = PlanState.completed
    elif missed_on is not None:
        state = PlanState.defaulted
    else:
        state = PlanState.current
    return Evaluation(state, missed_on, received, tuple(statuses))


def case_receipts(dbsession: Session, case_ids) -> dict[int, list[tuple[dt.date, int]]]:
    """Receipts (本税 and 延滞金) per case, one query."""
    found: dict[int, list[tuple[dt.date, int]]] = {}
    if not case_ids:
        return found
    for case_id, on, amount in dbsession.execute(
            select(Assessment.case_id, Receipt.received_on, Receipt.amount)
            .join(Installment, Installment.id == Receipt.installment_id)
            .join(Assessment, Assessment.id == Installment.assessment_id)
            .where(Assessment.case_id.in_(list(case_ids)))):
        if on is not None:
            found.setdefault(case_id, []).append((on, amount))
    return found


def plan_evaluation(dbsession: Session, plan: PaymentAgreement, today: dt.date,
                    grace_days: int, receipts: list[tuple[dt.date, int]] | None = None) -> Evaluation:
    """``receipts``: the case's (date, amount) when the caller has them
    loaded already (the case page); otherwise one query."""
    if receipts is None:
        receipts = case_receipts(dbsession, [plan.case_id]).get(plan.case_id, [])
    return evaluate([(p.due_on, p.amount) for p in plan.payments], receipts,
                    signed_on=plan.agreed_on, today=today, grace_days=grace_days)


@dataclass(frozen=True)
class Change:
    plan_id: int
    case_no: str
    before: PlanState
    after: PlanState


def refresh(dbsession: Session, today: dt.date, grace_days: int,
            case_ids=None) -> list[Change]:
    """Recompute the state of every active plan (of ``case_ids`` only, when
    given) from the receipts; plans without schedule rows get the schedule
    their summary implies. Returns the changes (for the access log).
    Called after every data-link import and daily (``intranet plans refresh``)."""
    unscheduled = (select(PaymentAgreement)
                   .where(~PaymentAgreement.payments.any(), PaymentAgreement.instalment_count > 0)
                   .options(selectinload(PaymentAgreement.payments))
                   # the import changes rows behind the session's back
                   .execution_options(populate_existing=True))
    if case_ids is not None:
        unscheduled = unscheduled.where(PaymentAgreement.case_id.in_(list(case_ids)))
    for plan in dbsession.scalars(unscheduled):
        # From the data link without payment_plan_schedule.csv (or with new
        # terms), ended ones too: the summary is the plan.
        set_schedule(plan, summary_schedule(plan))
    dbsession.flush()
    stmt = (select(PaymentAgreement).where(PaymentAgreement.is_active.is_(True))
            .options(selectinload(PaymentAgreement.payments))
            .execution_options(populate_existing=True)
            .order_by(PaymentAgreement.id))
    if case_ids is not None:
        stmt = stmt.where(PaymentAgreement.case_id.in_(list(case_ids)))
    plans = list(dbsession.scalars(stmt))
    receipts = case_receipts(dbsession, {p.case_id for p in plans})
    case_nos = {case_id: case_no for case_id, case_no in dbsession.execute(
        select(Case.id, Case.case_no).where(Case.id.in_({p.case_id for p in plans})))} if plans else {}
    changes = []
    for plan in plans:
        result = evaluate([(p.due_on, p.amount) for p in plan.payments],
                          receipts.get(plan.case_id, []), signed_on=plan.agreed_on, today=today,
                          grace_days=grace_days)
        if result.state != plan.state or plan.state_since is None:
            if result.state != plan.state:
                changes.append(Change(plan.id, case_nos[plan.case_id], plan.state, result.state))
            plan.state, plan.state_since = result.state, today
        plan.missed_due_on = result.missed_due_on
    dbsession.flush()
    return changes


def in_good_standing_clause() -> ColumnElement[bool]:
    """WHERE clause over :class:`Case`: an active plan of the case is 履行中."""
    return exists().where(PaymentAgreement.case_id == Case.id,
                          PaymentAgreement.is_active.is_(True),
                          PaymentAgreement.state == PlanState.current)

