"""Template filters and helpers shared by every page."""
import datetime as dt

from .clock import to_jst
from .messages import MESSAGES
from .navigation import has_work, navigation

ERAS = [  # (first day, kanji, initial)
    (dt.date(2019, 5, 1), "令和", "R"),
    (dt.date(1989, 1, 8), "平成", "H"),
    (dt.date(1926, 12, 25), "昭和", "S"),
    (dt.date(1912, 7, 30), "大正", "T"),
]


def wareki(value: dt.date | None) -> str:
    """令和7年11月22日 for a date (Gregorian before 1912)."""
    if value is None:
        return ""
    for start, name, _initial in ERAS:
        if value >= start:
            year = value.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年{value.month}月{value.day}日"
    return f"{value.year}年{value.month}月{value.day}日"


def date_filter(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def datetime_filter(value: dt.datetime | None) -> str:
    """A stored naive-UTC datetime shown in JST."""
    return to_jst(value).strftime("%Y-%m-%d %H:%M") if value else ""


def datetime_seconds_filter(value: dt.datetime | None) -> str:
    return to_jst(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def yen(value: int | None) -> str:
    return "" if value is None else f"{value:,}円"


def includeme(config):
    config.commit()  # the jinja2 environment must exist before we extend it
    env = config.get_jinja2_environment(".jinja2")
    env.filters.update(wareki=wareki, date=date_filter, datetime=datetime_filter,
                       datetime_seconds=datetime_seconds_filter, yen=yen)
    env.autoescape = True
    env.globals.update(navigation=navigation, has_work=has_work, message_keys=MESSAGES)
