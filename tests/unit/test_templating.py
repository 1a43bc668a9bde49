import datetime as dt

import pytest

from intranet.templating import datetime_filter, yen
from intranet.wareki import wareki


@pytest.mark.parametrize("date,text", [
    (dt.date(2019, 5, 1), "令和元年5月1日"),
    (dt.date(2019, 4, 30), "平成31年4月30日"),
    (dt.date(2026, 11, 23), "令和8年11月23日"),
    (dt.date(1989, 1, 7), "昭和64年1月7日"),
    (dt.date(1989, 1, 8), "平成元年1月8日"),
])
def test_wareki(date, text):
    assert wareki(date) == text


def test_datetimes_are_shown_in_jst():
    assert datetime_filter(dt.datetime(2026, 11, 23, 15, 30)) == "2026-11-24 00:30"


def test_yen():
    assert yen(1234567) == "1,234,567円" and yen(None) == ""
