"""Amounts owed (the one place that says what a taxpayer owes, and when).

Per installment (期別), as of a day:

* ``tax_overdue``: 本税 whose (holiday-shifted) 納期限 has passed, unpaid;
* ``tax_not_due``: 本税 whose 納期限 has not passed yet (never demanded by a
  letter, never counted in a balance; a slip may include it on request);
* ``late_charge_accruing``: 延滞金 on overdue 本税 still unpaid, computed by
  :func:`intranet.taxes.latecharge.late_charge` up to the day asked for (it
  keeps growing until the 本税 is paid);
* ``late_charge_fixed``: 延滞金 on 本税 paid late (after its 納期限), fixed
  on the day the 本税 was completed: the 延滞金調定額 of the data link when it
  supplies one (> 0), else the engine's charge up to the payment day(s); less
  the late-charge receipts;
* ``fee``: the 督促手数料, where a 督促状 was sent (``dunning_sent_on``) and the
  ward's fee setting in force that day is non-zero, while the installment's
  本税 is unpaid.

The rules, their articles and what could not be confirmed are in
docs/taxes.md ("Amounts owed"). Receipts pay what their ``kind`` says
(``tax`` → 本税, ``late_charge`` → 延滞金): the delinquency system decides
the allocation (本税 first: 国税通則法62条② and the local-tax practice that
follows it) and the data link reports it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable

from .duedates import next_business_day
from .latecharge import late_charge

TAX = "tax"
LATE_CHARGE = "late_charge"

#: ``fee_on(day) -> yen``: the 督促手数料 in force on the day a 督促状 was sent.
FeeSchedule = Callable[[dt.date], int]


def no_fee(day: dt.date) -> int:
    return 0


@dataclass(frozen=True)
class Owed:
    """What one installment owes as of ``as_of``."""

    installment_id: int | None
    due: dt.date                 # the 納期限 as printed (not shifted)
    as_of: dt.date
    tax_overdue: int = 0
    tax_not_due: int = 0
    late_charge_accruing: int = 0
    late_charge_fixed: int = 0
    fee: int = 0
    dunning_sent_on: dt.date | None = None

    @property
    def is_overdue(self) -> bool:
        """THE rule "past its 納期限": the day after the holiday-shifted 納期限
        (地方税法20条の5②; TAX_NOTES §2.2) has come."""
        return is_past_due(self.due, self.as_of)

    @property
    def late_charge(self) -> int:
        return self.late_charge_accruing + self.late_charge_fixed

    @property
    def overdue(self) -> int:
        """Everything due now: what a 催告書 demands and a balance counts."""
        return self.tax_overdue + self.late_charge + self.fee

    @property
    def total(self) -> int:
        """Overdue plus 本税 not yet due."""
        return self.overdue + self.tax_not_due

    def letter_ready(self, days_after_dunning: int) -> bool:
        """A 催告書 may demand this installment: something is overdue and, when
        the 督促状 date is known, ``days_after_dunning`` days have passed since
        (地方税法331条①一: 督促状を発した日から起算して十日を経過した日)."""
        if self.overdue <= 0:
            return False
        if self.dunning_sent_on is None:
            return True
        return self.as_of >= self.dunning_sent_on + dt.timedelta(days=days_after_dunning)


def is_past_due(due: dt.date, day: dt.date) -> bool:
    return day > next_business_day(due)


def owed_for(*, installment_id: int | None, due: dt.date, tax_amount: int,
             late_charge_amount: int | None, receipts: Iterable[tuple[str, dt.date, int]],
             as_of: dt.date, dunning_sent_on: dt.date | None = None,
             fee_on: FeeSchedule = no_fee, floor_segments: bool = True) -> Owed:
    """What an installment owes on ``as_of``. ``receipts`` are ``(kind,
    received_on, amount)``; receipts dated after ``as_of`` are ignored (what
    was owed on that day)."""
    tax_receipts = sorted((on, amount) for kind, on, amount in receipts
                          if str(kind) == TAX and on <= as_of and amount > 0)
    late_paid = sum(amount for kind, on, amount in receipts
                    if str(kind) == LATE_CHARGE and on <= as_of)
    tax_paid = sum(amount for _, amount in tax_receipts)
    unpaid = max(0, tax_amount - tax_paid)
    past_due = is_past_due(due, as_of)
    accruing = fixed = 0
    if unpaid > 0:
        if past_due:
            accruing = late_charge(tax_amount, due, as_of, partials=tax_receipts,
                                   floor_segments=floor_segments).amount
    elif tax_receipts and tax_receipts[-1][0] > next_business_day(due):
        # 本税 completed late: the charge is fixed on the completing day.
        *earlier, (last_on, _) = tax_receipts
        computed = late_charge(tax_amount, due, last_on, partials=earlier,
                               floor_segments=floor_segments).amount
        fixed = late_charge_amount if late_charge_amount else computed
    elif late_charge_amount:
        fixed = late_charge_amount  # an 調定 without late tax receipts: trust it
    # Late-charge receipts pay the fixed charge first, then the accruing one.
    from_fixed = min(fixed, late_paid)
    fixed -= from_fixed
    accruing = max(0, accruing - (late_paid - from_fixed))
    fee = 0
    if dunning_sent_on is not None and unpaid > 0 and past_due:
        fee = fee_on(dunning_sent_on)
    return Owed(installment_id, due, as_of,
                tax_overdue=unpaid if past_due else 0, tax_not_due=0 if past_due else unpaid,
                late_charge_accruing=accruing, late_charge_fixed=fixed, fee=fee,
                dunning_sent_on=dunning_sent_on)


def installment_owed(installment, as_of: dt.date, *, fee_on: FeeSchedule = no_fee,
                     floor_segments: bool = True) -> Owed:
    """:func:`owed_for` of an :class:`intranet.models.Installment`."""
    return owed_for(installment_id=installment.id, due=installment.due_date,
                    tax_amount=installment.tax_amount,
                    late_charge_amount=installment.late_charge_amount,
                    receipts=[(r.kind, r.received_on, r.amount) for r in installment.receipts
                              if r.received_on is not None],
                    as_of=as_of, dunning_sent_on=installment.dunning_sent_on, fee_on=fee_on,
                    floor_segments=floor_segments)


@dataclass(frozen=True)
class CaseOwed:
    """A case's installments and their sums (the case page's split)."""

    items: tuple[tuple[object, Owed], ...]   # (installment, owed)

    def _sum(self, name: str) -> int:
        return sum(getattr(o, name) for _, o in self.items)

    tax_overdue = property(lambda self: self._sum("tax_overdue"))
    tax_not_due = property(lambda self: self._sum("tax_not_due"))
    late_charge_accruing = property(lambda self: self._sum("late_charge_accruing"))
    late_charge_fixed = property(lambda self: self._sum("late_charge_fixed"))
    fee = property(lambda self: self._sum("fee"))
    overdue = property(lambda self: self._sum("overdue"))
    total = property(lambda self: self._sum("total"))

    def overdue_items(self) -> list[tuple[object, Owed]]:
        return [(i, o) for i, o in self.items if o.overdue > 0]

    def letter_items(self, days_after_dunning: int) -> list[tuple[object, Owed]]:
        return [(i, o) for i, o in self.items if o.letter_ready(days_after_dunning)]

    def not_due_items(self) -> list[tuple[object, Owed]]:
        return [(i, o) for i, o in self.items if o.tax_not_due > 0]


def case_owed(case, as_of: dt.date, *, fee_on: FeeSchedule = no_fee,
              floor_segments: bool = True) -> CaseOwed:
    return CaseOwed(tuple(
        (i, installment_owed(i, as_of, fee_on=fee_on, floor_segments=floor_segments))
        for a in case.assessments for i in a.installments))


def fee_schedule(raw: str | None) -> FeeSchedule:
    """The 督促手数料 setting ``YYYY-MM-DD:amount`` lines (from that day on; 0
    before the first) as a function of the 督促状発付日. The fee is set by each
    ward's 特別区税条例 and may be 0 (TAX_NOTES §5.1)."""
    entries = []
    for entry in (raw or "").split():
        since, _, amount = entry.partition(":")
        entries.append((dt.date.fromisoformat(since), int(amount)))
    entries.sort()

    def fee_on(day: dt.date) -> int:
        fee = 0
        for since, amount in entries:
            if since <= day:
                fee = amount
        return fee
    return fee_on


@dataclass(frozen=True)
class AmountRules:
    """The ward's settings that change amounts, parsed once.

    ``intranet.late_charge.floor_segments`` (default true): cut each segment
    to the yen before summing (municipal practice, TAX_NOTES §1.4.3);
    ``intranet.documents.dunning_fee`` (default none → 0): the 督促手数料;
    ``intranet.documents.letter_after_dunning_days`` (default 10): days after
    the 督促状 before a 催告書 may demand the installment (地方税法331条①一)."""

    floor_segments: bool = True
    fee_on: FeeSchedule = no_fee
    letter_after_dunning_days: int = 10


    def case(self, case, as_of: dt.date) -> CaseOwed:
        return case_owed(case, as_of, fee_on=self.fee_on, floor_segments=self.floor_segments)

    def installment(self, installment, as_of: dt.date) -> Owed:
        return installment_owed(installment, as_of, fee_on=self.fee_on,
                                floor_segments=self.floor_segments)


def amount_rules(request) -> AmountRules:
    """The application's rules, parsed once at start-up (intranet.config)."""
    return request.app_settings.cases.amount_rules
