"""Numbers, dates and text from request parameters, with their bounds in one place.

Whatever a browser sends may be out of range: a page number of thirty digits
(SQL's OFFSET overflows), a date in year 1 or 9999 (one day more, or the shift
to UTC, overflows), ``²`` (a digit to ``str.isdigit()``, not to ``int()``), a
NUL byte (PostgreSQL refuses it in text). These helpers clamp such a value or
raise ``ValueError`` (the view answers 400 with its usual message); none of
them lets it reach the database or date arithmetic.
"""
from __future__ import annotations

import datetime as dt

#: Pages beyond this are clamped to it (and are empty, like any page past the last).
MAX_PAGE = 100_000
#: The dates a form may name: wide enough for any birth date or deadline, and
#: far enough from the ends of Python's calendar for date arithmetic.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


def page_number(value) -> int:
    """A 1-based page number: 1 for anything that is not a whole number,
    clamped to ``1..MAX_PAGE``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(1, number), MAX_PAGE)


def whole_number(value, max_digits: int = 12) -> int | None:
    """A non-negative whole number of ASCII digits (at most ``max_digits``), or None."""
    if (isinstance(value, str) and value.isascii() and value.isdigit()
            and len(value) <= max_digits):
        return int(value)
    return None


def _in_range(day: dt.date) -> None:
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"date outside {MIN_DATE.year}..{MAX_DATE.year}")


def parse_date(value) -> dt.date:
    """An ISO date (``2026-11-24``) between MIN_DATE and MAX_DATE; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("not text")
    day = dt.date.fromisoformat(value)
    _in_range(day)
    return day


def parse_datetime(value) -> dt.datetime:
    """An ISO date and time (``2026-11-24T09:30``, a datetime-local field),
    its date between MIN_DATE and MAX_DATE; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("not text")
    moment = dt.datetime.fromisoformat(value)
    _in_range(moment.date())
    return moment


def parse_month(value) -> tuple[int, int]:
    """``(year, month)`` from ``2026-11``, inside MIN_DATE..MAX_DATE; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("not text")
    year, month = value.split("-")  # ValueError unless exactly one dash
    year, month = whole_number(year, 4), whole_number(month, 2)
    if year is None or month is None:
        raise ValueError("not a month")
    _in_range(dt.date(year, month, 1))
    return year, month


def _control(char: str) -> bool:
    return char < " " or char == "\x7f"


def text(value, max_length: int) -> str | None:
    """Stripped text of at most ``max_length`` characters, or None: not text,
    too long, or holding a control character (NUL among them, which
    PostgreSQL cannot store; none belongs in a one-line search term)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) > max_length or any(map(_control, value)):
        return None
    return value
