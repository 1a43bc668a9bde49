"""When a campaign may call: its weekday and Saturday hours (JST), never on
Sundays, national holidays (jpholiday) or the year-end holidays (12/29–1/3,
when the ward office is closed)."""
from __future__ import annotations

import datetime as dt

import jpholiday

from ..clock import from_jst, jst_wall
from ..taxes.duedates import is_year_end_closure


def hours_on(campaign, day: dt.date) -> tuple[dt.time, dt.time] | None:
    """The campaign's calling hours on ``day`` (JST), or None for no calls."""
    if day.weekday() == 6 or jpholiday.is_holiday(day) or is_year_end_closure(day):
        return None
    if day.weekday() == 5:
        if campaign.saturday_start is None or campaign.saturday_end is None:
            return None
        return campaign.saturday_start, campaign.saturday_end
    return campaign.weekday_start, campaign.weekday_end


to_jst = jst_wall    # naive UTC -> naive JST wall time (intranet.clock)
to_utc = from_jst    # naive JST wall time -> naive UTC


def is_calling_time(campaign, at_utc: dt.datetime) -> bool:
    local = to_jst(at_utc)
    hours = hours_on(campaign, local.date())
    return hours is not None and hours[0] <= local.time() < hours[1]


def next_calling_time(campaign, after_utc: dt.datetime, *, max_days: int = 30) -> dt.datetime:
    """The first moment at or after ``after_utc`` (UTC) when the campaign may call."""
    local = to_jst(after_utc)
    for offset in range(max_days + 1):
        day = local.date() + dt.timedelta(days=offset)
        hours = hours_on(campaign, day)
        if hours is None:
            continue
        start = dt.datetime.combine(day, hours[0])
        end = dt.datetime.combine(day, hours[1])
        if offset == 0 and local >= end:
            continue
        return to_utc(max(start, local))
    return after_utc + dt.timedelta(days=max_days)


def jst_day(at_utc: dt.datetime) -> dt.date:
    return to_jst(at_utc).date()


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())
