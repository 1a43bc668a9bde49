"""Limitation (時効) of the right to collect one installment's 本税.

THE rule: the right to collect ends five years from the day after the 法定納期限
(地方税法18条①) unless renewed (更新) or its completion postponed (完成猶予) by a
recorded fact; 執行停止 may end the liability earlier (15条の7④). Articles,
sources and what is UNCONFIRMED: docs/taxes.md ("Limitation (時効)").

Dates: ``expires_on`` is the last day the right exists; the right is gone at
the end of that day. Periods are counted by the calendar (民法140条: the first
day is not counted; 民法143条②: a period of years ends on the day before the
corresponding day, or at the end of the month when there is none).

Pure functions over plain values; :func:`installment_limitation` reads the
models.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Iterable

from .duedates import next_business_day

#: 地方税法18条①.
LIMITATION_YEARS = 5
#: 地方税法15条の7④: the liability ends when the suspension has lasted three years.
SUSPENSION_YEARS = 3
#: 地方税法18条の2①二: the period runs anew after 督促状を発した日から起算して十日を経過した日.
DUNNING_DAYS = 10


class Rule(enum.StrEnum):
    """What set the expiry date (labels: messages ``limitation.rule.<value>``)."""

    statutory = "statutory"      # 法定納期限の翌日から5年 (18条①)
    dunning = "dunning"          # 督促: 10日経過後から新たに5年 (18条の2①二)
    payment = "payment"          # 一部納付 = 承認 (民法152条①, 18条③)
    agreement = "agreement"      # 納付誓約 = 承認 (民法152条①, 18条③)
    seizure = "seizure"          # 差押・交付要求の終了から新たに5年 (民法148条②, 18条の2①)
    seizure_pending = "seizure_pending"  # 差押・交付要求中: 完成しない (no date)
    suspension = "suspension"    # 執行停止3年継続で消滅 (15条の7④)
    write_off = "write_off"      # 不納欠損 recorded (15条の7⑤ etc.): already extinct


def years_after(start: dt.date, years: int) -> dt.date:
    """The last day of a period of ``years`` years whose first counted day is
    ``start`` (民法143条②).

    >>> years_after(dt.date(2024, 3, 1), 5)      # due 2024-02-29, counted from 03-01
    datetime.date(2029, 2, 28)
    >>> years_after(dt.date(2024, 2, 29), 5)     # no 2029-02-29: end of February
    datetime.date(2029, 2, 28)
    >>> years_after(dt.date(2020, 7, 1), 5)
    datetime.date(2025, 6, 30)
    """
    year = start.year + years
    try:
        corresponding = start.replace(year=year)
    except ValueError:  # 29 February in a common year: the month's last day
        return dt.date(year, 3, 1) - dt.timedelta(days=1)
    return corresponding - dt.timedelta(days=1)


def runs_from(day: dt.date, years: int = LIMITATION_YEARS) -> dt.date:
    """Last day of a period that starts running after ``day`` (初日不算入)."""
    return years_after(day + dt.timedelta(days=1), years)


@dataclass(frozen=True)
class Period:
    """A status period: ``ends_on`` None while in force."""

    starts_on: dt.date
    ends_on: dt.date | None = None


@dataclass(frozen=True)
class Limitation:
    """When the right to collect an installment ends, and why.

    ``expires_on`` is None while a 差押/交付要求 is in force (completion is
    postponed until it ends: ``Rule.seizure_pending``)."""

    expires_on: dt.date | None
    rule: Rule
    statutory_due: dt.date   # the 法定納期限 counted from

    def expired_on(self, day: dt.date) -> bool:
        return self.expires_on is not None and self.expires_on < day


def limitation(*, due: dt.date, dunning_sent_on: dt.date | None = None,
               partial_payments: Iterable[dt.date] = (), agreements: Iterable[dt.date] = (),
               seizures: Iterable[Period] = (), suspensions: Iterable[Period] = (),
               write_offs: Iterable[Period] = (), shift_due: bool = False) -> Limitation:
    """The limitation of one installment's 本税.

    ``due``: its 納期限 (the 法定納期限, 地方税法11条の4 / TAX_NOTES §7);
    ``shift_due``: count from the holiday-shifted 納期限 (20条の5②) instead
    — a setting, UNCONFIRMED which is right (docs/taxes.md).
    ``partial_payments``: days of 本税 receipts that left it unpaid (承認);
    ``agreements``: days 納付誓約 were signed for the case (承認);
    ``seizures``: 差押 and 交付要求 periods; ``suspensions``: 執行停止 periods;
    ``write_offs``: 不納欠損 periods.

    Events are taken in date order; one after the right has expired revives
    nothing (地方税法18条②: no 援用 needed, cannot be waived). Examples:

    >>> limitation(due=dt.date(2020, 6, 30))                      # 18条①
    Limitation(expires_on=datetime.date(2025, 6, 30), rule=<Rule.statutory: 'statutory'>, statutory_due=datetime.date(2020, 6, 30))
    >>> limitation(due=dt.date(2024, 2, 29)).expires_on           # leap day
    datetime.date(2029, 2, 28)
    >>> limitation(due=dt.date(2020, 6, 30),                     # 督促 on 07-20: +10 days, then 5 years
    ...            dunning_sent_on=dt.date(2020, 7, 20)).expires_on
    datetime.date(2025, 7, 30)
    >>> limitation(due=dt.date(2020, 6, 30),                     # partial payment 2023-03-15
    ...            partial_payments=[dt.date(2023, 3, 15)]).expires_on
    datetime.date(2028, 3, 15)
    >>> limitation(due=dt.date(2020, 6, 30),                     # seizure 2022-01-10 .. 2024-05-31
    ...            seizures=[Period(dt.date(2022, 1, 10), dt.date(2024, 5, 31))]).expires_on
    datetime.date(2029, 5, 31)
    >>> limitation(due=dt.date(2022, 6, 30),                     # 執行停止 2023-04-01, 3 years
    ...            suspensions=[Period(dt.date(2023, 4, 1))]).expires_on
    datetime.date(2026, 4, 1)
    """
    statutory_due = next_business_day(due) if shift_due else due
    for period in write_offs:
        return Limitation(period.starts_on, Rule.write_off, statutory_due)

    expires_on: dt.date | None = runs_from(statutory_due)
    rule = Rule.statutory
    # Suspension (15条の7④): ends the liability three years after it began,
    # unless revoked (ended) before; the limitation keeps running meanwhile.
    extinct: dt.date | None = None
    for period in suspensions:
        end = runs_from(period.starts_on, SUSPENSION_YEARS)
        if period.ends_on is None or period.ends_on >= end:
            extinct = end if extinct is None else min(extinct, end)

    events: list[tuple[dt.date, Rule, dt.date | None]] = []  # (day, rule, new expiry)
    if dunning_sent_on is not None:
        day = dunning_sent_on + dt.timedelta(days=DUNNING_DAYS)
        events.append((dunning_sent_on, Rule.dunning, runs_from(day)))
    events += [(day, Rule.payment, runs_from(day)) for day in partial_payments]
    events += [(day, Rule.agreement, runs_from(day)) for day in agreements]
    for period in seizures:
        new = None if period.ends_on is None else runs_from(period.ends_on)
        events.append((period.starts_on, Rule.seizure if new else Rule.seizure_pending, new))
    for day, event_rule, new in sorted(events, key=lambda e: e[0]):
        if expires_on is None:
            break  # postponed for good while a seizure lasts
        if day > expires_on or (extinct is not None and day > extinct):
            continue  # already extinct: nothing revives it
        if new is None or new >= expires_on:
            expires_on, rule = new, event_rule
    if extinct is not None and (expires_on is None or extinct < expires_on):
        expires_on, rule = extinct, Rule.suspension
    return Limitation(expires_on, rule, statutory_due)


def installment_limitation(installment, *, agreements: Iterable[dt.date] = (),
                           periods: Iterable = (), shift_due: bool = False) -> Limitation:
    """:func:`limitation` of an :class:`intranet.models.Installment`.

    ``agreements``: the case's 納付誓約 dates; ``periods``: the case's
    :class:`intranet.models.StatusPeriod` rows. Status periods are recorded
    per case: a 差押/交付要求/執行停止 is taken to cover the installments due
    before it began (docs/taxes.md). A 本税 receipt counts as a partial
    payment (承認) when it left the installment unpaid."""
    from ..models import ReceiptKind, StatusKind

    partials, paid = [], 0
    for r in sorted(installment.receipts, key=lambda r: r.received_on):
        if r.kind != ReceiptKind.tax or r.amount <= 0 or r.received_on is None:
            continue
        paid += r.amount
        if paid < installment.tax_amount:
            partials.append(r.received_on)
    due = installment.due_date
    by_kind: dict[str, list[Period]] = {"seizure": [], "suspension": [], "write_off": []}
    for p in periods:
        if p.starts_on < due:
            continue  # begun before this installment was due: not about it
        kind = {StatusKind.seizure: "seizure", StatusKind.claim: "seizure",
                StatusKind.suspension: "suspension", StatusKind.write_off: "write_off"}.get(p.kind)
        if kind:
            by_kind[kind].append(Period(p.starts_on, p.ends_on))
    return limitation(due=due, dunning_sent_on=installment.dunning_sent_on,
                      partial_payments=partials, agreements=agreements,
                      seizures=by_kind["seizure"], suspensions=by_kind["suspension"],
                      write_offs=by_kind["write_off"], shift_due=shift_due)
