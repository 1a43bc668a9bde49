"""Calling hours: weekdays and Saturdays per campaign; never Sundays, holidays or the year end."""
import datetime as dt
from types import SimpleNamespace

import pytest

from intranet.calls.calendar import is_calling_time, next_calling_time

CAMPAIGN = SimpleNamespace(weekday_start=dt.time(9), weekday_end=dt.time(20),
                           saturday_start=dt.time(9), saturday_end=dt.time(17))
NO_SATURDAY = SimpleNamespace(**{**vars(CAMPAIGN), "saturday_start": None, "saturday_end": None})


def utc(y, m, d, hh, mm=0):
    return dt.datetime(y, m, d, hh, mm) - dt.timedelta(hours=9)  # JST wall clock


@pytest.mark.parametrize("at,expected", [
    (utc(2026, 11, 24, 9, 0), True), (utc(2026, 11, 24, 8, 59), False),
    (utc(2026, 11, 24, 19, 59), True), (utc(2026, 11, 24, 20, 0), False),
    (utc(2026, 11, 28, 16, 59), True), (utc(2026, 11, 28, 17, 0), False),  # Saturday
    (utc(2026, 11, 29, 12), False),                                        # Sunday
    (utc(2026, 11, 23, 12), False),                                        # 勤労感謝の日
    (utc(2026, 12, 30, 12), False), (utc(2027, 1, 4, 12), True),           # year end
])
def test_is_calling_time(at, expected):
    assert is_calling_time(CAMPAIGN, at) is expected


def test_no_saturday_calls_when_not_configured():
    assert not is_calling_time(NO_SATURDAY, utc(2026, 11, 28, 12))


@pytest.mark.parametrize("after,expected", [
    (utc(2026, 11, 24, 7), utc(2026, 11, 24, 9)),       # before opening: 9:00 the same day
    (utc(2026, 11, 24, 12), utc(2026, 11, 24, 12)),     # open: now
    (utc(2026, 11, 24, 21), utc(2026, 11, 25, 9)),      # after closing: tomorrow
    (utc(2026, 11, 21, 18), utc(2026, 11, 24, 9)),      # Sat evening → Tue (Sun, holiday Mon)
    (utc(2026, 12, 28, 20, 30), utc(2027, 1, 4, 9)),    # across the year end
])
def test_next_calling_time(after, expected):
    assert next_calling_time(CAMPAIGN, after) == expected
