"""Business days and due dates (納期限).

A due date that falls on a Saturday, Sunday, national holiday or 29 December
to 3 January moves to the next business day (地方税法第20条の5第2項, 地方税法
施行令第6条の18, and the ward's ordinance on office holidays). Imported due
dates always win over the ordinary schedule below; they are still shifted.
"""
from __future__ import annotations

import datetime as dt

import jpholiday

from ..models import TaxType

#: 督促状 must be sent within 20 days after the due date (地方税法第329条 etc.).
DUNNING_WITHIN_DAYS = 20


def is_year_end_closure(day: dt.date) -> bool:
    """29 December – 3 January: the ward office is closed (年末年始)."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_business_day(day: dt.date) -> bool:
    return not (day.weekday() >= 5 or jpholiday.is_holiday(day) or is_year_end_closure(day))


def next_business_day(day: dt.date) -> dt.date:
    """``day`` itself if the office is open, else the next day it is."""
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def ordinary_due_dates(tax_type: TaxType, fiscal_year: int) -> list[dt.date]:
    """The ordinary installment due dates, shifted to business days.

    個人住民税 普通徴収: end of June, August, October and the following January;
    軽自動車税 種別割: end of May."""
    if tax_type == TaxType.resident:
        raw = [_month_end(fiscal_year, 6), _month_end(fiscal_year, 8),
               _month_end(fiscal_year, 10), _month_end(fiscal_year + 1, 1)]
    else:
        raw = [_month_end(fiscal_year, 5)]
    return [next_business_day(d) for d in raw]


def dunning_due_by(due: dt.date) -> dt.date:
    """The last day a 督促状 may be sent for an installment due on ``due``."""
    return next_business_day(due) + dt.timedelta(days=DUNNING_WITHIN_DAYS)


def proposed_deadline(today: dt.date, days: int = 7) -> dt.date:
    """A deadline ``days`` ahead, on a business day (e.g. the 指定期限 of a slip)."""
    return next_business_day(today + dt.timedelta(days=days))
