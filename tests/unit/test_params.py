"""The bounds of request parameters (intranet.params)."""
import datetime as dt

import pytest

from intranet import params


@pytest.mark.parametrize("value,page", [
    ("3", 3), (" 7 ", 7), ("0", 1), ("-5", 1), ("", 1), (None, 1), ("x", 1), ("1.5", 1),
    ("9" * 30, params.MAX_PAGE), (str(params.MAX_PAGE + 1), params.MAX_PAGE), ("9" * 5000, 1),
])
def test_page_numbers_are_clamped(value, page):
    assert params.page_number(value) == page


@pytest.mark.parametrize("value,number", [
    ("0", 0), ("012", 12), ("9" * 12, int("9" * 12)), ("9" * 13, None), ("²", None), ("١٢", None),
    ("-1", None), (" 1", None), ("", None), (None, None), (12, None),
])
def test_whole_numbers_are_ascii_digits(value, number):
    assert params.whole_number(value) == number


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31", "2026-02-30",
                                   "", "\x00", None, 20261124])
def test_dates_outside_1900_to_2100_are_refused(value):
    with pytest.raises(ValueError):
        params.parse_date(value)


def test_dates_and_times_inside_the_range_are_read():
    assert params.parse_date("1900-01-01") == dt.date(1900, 1, 1)
    assert params.parse_date("2100-12-31") == dt.date(2100, 12, 31)
    assert params.parse_datetime("2026-11-24T09:30") == dt.datetime(2026, 11, 24, 9, 30)
    with pytest.raises(ValueError):
        params.parse_datetime("0001-01-01T00:00")  # minus nine hours for UTC would overflow


@pytest.mark.parametrize("value,month", [("2026-11", (2026, 11)), ("1900-01", (1900, 1))])
def test_months(value, month):
    assert params.parse_month(value) == month


@pytest.mark.parametrize("value", ["9999-12", "0000-01", "2026-13", "2026-0", "2026", "2026-11-01",
                                   "²⁰²⁶-11", "-2026-01", "", None])
def test_bad_months_are_refused(value):
    with pytest.raises(ValueError):
        params.parse_month(value)


@pytest.mark.parametrize("value,result", [
    ("  田中 ", "田中"), ("x" * 10, "x" * 10), ("x" * 11, None), ("a\x00b", None), ("a\nb", None),
    ("a\x7fb", None), (b"bytes", None), (None, None),
])
def test_text_refuses_control_characters_and_overlong_values(value, result):
    assert params.text(value, 10) == result
