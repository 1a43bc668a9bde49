"""和暦: dates in the Japanese era, as official documents print them."""
from __future__ import annotations

import datetime as dt

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
