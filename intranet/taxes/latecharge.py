"""Late charges (延滞金) on local taxes.

The law:

* 地方税法第326条 (個人住民税), 第463条の24 (軽自動車税 種別割): 14.6% a
  year on the tax from the day after the due date until the day it is paid,
  7.3% up to one month after the due date;
* 附則第3条の2: while the 延滞金特例基準割合 applies, the rates are that
  ratio + 7.3% (higher) and + 1% (lower), capped at 14.6% / 7.3%; they change
  every 1 January, so a period spanning years is split at each 1 January
  (:mod:`intranet.taxes.rates`);
* 第20条の4の2: the tax on which the charge is computed is cut to the 1,000
  yen, and is ignored entirely under 2,000 yen; the charge is cut to the 100
  yen, and is ignored entirely under 1,000 yen;
* a year is always 365 days, leap years included (附則第3条の2; 年当たりの割合は
  閏年の日を含む期間についても365日当たりの割合).

The first month runs from the day after the (holiday-shifted) due date to the
day before the same day of the next month, or to that month's end when there
is no such day (民法第143条). Partial payments lower the tax from the day
after they are paid. Municipalities differ on whether each segment is cut to
the yen before summing: ``floor_segments`` (default True) does.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Iterable

from .duedates import next_business_day
from .rates import rates_for

DAYS_IN_YEAR = 365


def first_month_end(start: dt.date) -> dt.date:
    """The last day of the month that begins on ``start`` (民法第143条): the day
    before the same day of the next month, or that month's last day if it has
    no such day."""
    year, month = (start.year, start.month + 1) if start.month < 12 else (start.year + 1, 1)
    last = calendar.monthrange(year, month)[1]
    if start.day > last:  # no such day in the next month: its last day
        return dt.date(year, month, last)
    return dt.date(year, month, start.day) - dt.timedelta(days=1)


def taxable_base(amount: int) -> int:
    """The tax a charge is computed on: cut to the 1,000 yen; nothing under 2,000 yen."""
    return 0 if amount < 2000 else amount // 1000 * 1000


@dataclass(frozen=True)
class Segment:
    start: dt.date
    end: dt.date          # inclusive
    base: int             # tax the charge runs on (cut to 1,000 yen)
    rate: Decimal         # percent a year
    higher: bool          # after the first month

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def exact(self) -> Decimal:
        return Decimal(self.base) * self.rate / 100 * self.days / DAYS_IN_YEAR

    @property
    def amount(self) -> int:
        """The segment's charge cut to the yen."""
        return int(self.exact.to_integral_value(rounding=ROUND_FLOOR))

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days,
                "base": self.base, "rate": str(self.rate), "amount": self.amount}


@dataclass
class LateCharge:
    due: dt.date                 # the shifted due date
    until: dt.date
    segments: list[Segment] = field(default_factory=list)
    floor_segments: bool = True

    @property
    def before_rounding(self) -> Decimal:
        if self.floor_segments:
            return Decimal(sum(s.amount for s in self.segments))
        return sum((s.exact for s in self.segments), Decimal(0))

    @property
    def amount(self) -> int:
        """The charge: cut to the 100 yen, nothing under 1,000 yen."""
        total = int(self.before_rounding.to_integral_value(rounding=ROUND_FLOOR))
        return 0 if total < 1000 else total // 100 * 100

    def as_dict(self) -> dict:
        return {"late_charge": self.amount, "due": self.due.isoformat(),
                "until": self.until.isoformat(), "segments": [s.as_dict() for s in self.segments]}


def late_charge(tax: int, due: dt.date, until: dt.date, *,
                partials: Iterable[tuple[dt.date, int]] = (), floor_segments: bool = True,
                shift_due: bool = True) -> LateCharge:
    """The late charge on ``tax`` due on ``due``, paid in full on ``until``
    (or as of ``until``, e.g. a slip's deadline). ``partials`` are earlier
    payments ``(date, amount)`` that lower the tax from the next day."""
    if tax < 0:
        raise ValueError("tax must not be negative")
    due = next_business_day(due) if shift_due else due
    result = LateCharge(due, until, floor_segments=floor_segments)
    start = due + dt.timedelta(days=1)
    if until < start or taxable_base(tax) == 0:
        return result
    lower_until = first_month_end(start)
    # Days on which something changes (a new segment starts).
    changes = {lower_until + dt.timedelta(days=1)}
    changes.update(dt.date(y, 1, 1) for y in range(start.year + 1, until.year + 1))
    owed_after: list[tuple[dt.date, int]] = []
    outstanding = tax
    for paid_on, amount in sorted(partials):
        if amount <= 0:
            continue
        outstanding = max(0, outstanding - amount)
        owed_after.append((paid_on + dt.timedelta(days=1), outstanding))
        changes.add(paid_on + dt.timedelta(days=1))
    bounds = sorted(d for d in changes if start < d <= until)
    edges = [start, *bounds, until + dt.timedelta(days=1)]
    for seg_start, next_start in zip(edges, edges[1:]):
        owed = tax
        for effective, remaining in owed_after:
            if effective <= seg_start:
                owed = remaining
        base = taxable_base(owed)
        if base == 0:
            continue
        higher = seg_start > lower_until
        lower_rate, higher_rate = rates_for(seg_start.year)
        result.segments.append(Segment(seg_start, next_start - dt.timedelta(days=1), base,
                                       higher_rate if higher else lower_rate, higher))
    return result


def installment_late_charge(installment, as_of: dt.date, *, floor_segments: bool = True) -> LateCharge:
    """The late charge of one installment (本税 only) as of ``as_of``, or, if
    its tax is fully paid, as of the day the last payment completed it."""
    receipts = sorted((r.received_on, r.amount) for r in installment.receipts
                      if r.kind == "tax" and r.received_on is not None)
    paid = sum(amount for _, amount in receipts)
    if receipts and paid >= installment.tax_amount:
        until, partials = receipts[-1][0], receipts[:-1]
    else:
        until, partials = as_of, receipts
    return late_charge(installment.tax_amount, installment.due_date, until, partials=partials,
                       floor_segments=floor_segments)
