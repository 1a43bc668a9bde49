"""Parsers of ward CSV values: examples and properties."""
import datetime as dt

import pytest
from hypothesis import given, strategies as st

from intranet.datalink.parsing import ParseError, decode, parse_amount, parse_date
from intranet.wareki import wareki

D = dt.date


@pytest.mark.parametrize("text,expected", [
    ("2026-11-22", D(2026, 11, 22)), ("2026/1/5", D(2026, 1, 5)), ("20261122", D(2026, 11, 22)),
    ("R7.11.22", D(2025, 11, 22)), ("r7/11/22", D(2025, 11, 22)), ("Ｒ７．１１．２２", D(2025, 11, 22)),
    ("令和7年11月22日", D(2025, 11, 22)), ("令和元年5月1日", D(2019, 5, 1)), ("R元.5.1", D(2019, 5, 1)),
    ("平成31年4月30日", D(2019, 4, 30)), ("H1.1.8", D(1989, 1, 8)), ("昭和64年1月7日", D(1989, 1, 7)),
    ("S55.4.1", D(1980, 4, 1)), (" 2024-02-29 ", D(2024, 2, 29)),
])
def test_dates_in_western_and_japanese_eras(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", [
    "", "2026-13-01", "2025-02-29", "平成31年5月1日", "令和0年1月1日", "H32.1.1", "昭和64年1月8日",
    "R7.2.30", "11/22/2026", "令和七年十一月二十二日", "2026-11-22T10:00", "R7.11",
])
def test_bad_dates_are_refused(text):
    with pytest.raises(ParseError, match="datalink.error.date"):
        parse_date(text)


@given(st.dates(min_value=D(1926, 12, 25), max_value=D(2099, 12, 31)))
def test_every_wareki_date_parses_back(day):
    assert parse_date(wareki(day)) == day
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%Y%m%d")) == day


@pytest.mark.parametrize("text,expected", [
    ("1234", 1234), ("1,234", 1234), ("１２，３４５", 12345), ("500円", 500), ("0", 0), (" 7 ", 7),
])
def test_amounts(text, expected):
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["", "12.5", "-1", "1e3", "abc", "1" * 13, "１２３ ４"])
def test_bad_amounts(text):
    with pytest.raises(ParseError, match="datalink.error.amount"):
        parse_amount(text)


@given(st.integers(min_value=0, max_value=999_999_999_999))
def test_amounts_round_trip_with_separators(value):
    assert parse_amount(f"{value:,}") == value
    assert parse_amount(f"{value:,}".translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))) == value


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
       .filter(lambda text: not text.startswith("\ufeff")))
def test_decoding_never_guesses_wrong_for_utf8(text):
    """UTF-8 is never mistaken for CP932. (A text that itself starts with
    U+FEFF is excluded: its first three bytes are a BOM, stripped by design.)"""
    assert decode(text.encode("utf-8")) == text
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == text


def test_cp932_is_detected_and_bad_bytes_refused():
    text = "氏名,住所\n髙橋 花子,東京都新宿区①\n"
    assert decode(text.encode("cp932")) == text
    assert decode(text.encode("cp932"), "Shift_JIS") == text
    with pytest.raises(ParseError, match="datalink.error.encoding"):
        decode(b"\x82\xa0\xff\xfe\x80")
    with pytest.raises(ParseError, match="datalink.error.encoding"):
        decode("氏名".encode("utf-8"), "cp932x")
