"""Parsing the values of ward CSV files: encodings (CP932, UTF-8 with or
without BOM), dates in 西暦 or 和暦 (R7.11.22, 令和7年11月22日, 令和元年…),
amounts with separators or full-width digits. Errors are message keys."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

#: era -> (first day, last day or None)
ERAS = {
    "令和": (dt.date(2019, 5, 1), None),
    "平成": (dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    "昭和": (dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    "大正": (dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
}
ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正"}

_WESTERN = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ERA_LETTER = re.compile(r"^([RHST])(\d{1,2}|元)[-/.](\d{1,2})[-/.](\d{1,2})$")
_ERA_KANJI = re.compile(r"^(令和|平成|昭和|大正)(\d{1,2}|元)年(\d{1,2})月(\d{1,2})日$")


_DATETIME = re.compile(r"^(.+?)(?:\s+|T)(\d{1,2}):(\d{2})(?::(\d{2}))?$")

_SUSPECT = re.compile("[\u0080-\u009f\ue000-\uf8ff]")


class ParseError(ValueError):
    """``str(error)`` is a message key of intranet.messages."""


def normalize(text: str) -> str:
    """Full-width digits and letters to ASCII, surrounding spaces removed."""
    if text.isascii():  # NFKC leaves ASCII as it is: the common case, made fast
        return text.strip()
    return unicodedata.normalize("NFKC", text).strip()


def decode(raw: bytes, encoding: str | None = None) -> str:
    """The file's text: ``encoding`` when given, else UTF-8 (with or without
    BOM) when it decodes, else CP932 (Shift_JIS as Windows writes it)."""
    if encoding:
        try:
            return raw.decode({"sjis": "cp932", "shift_jis": "cp932"}.get(encoding.lower(), encoding))
        except (UnicodeDecodeError, LookupError):
            raise ParseError("datalink.error.encoding") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("datalink.error.encoding") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError:
        raise ParseError("datalink.error.encoding") from None
    if _SUSPECT.search(text):
        # Python maps stray bytes to C1 controls or the private-use area:
        # not a CP932 text file (binary, EUC-JP, or 外字 that need a mapping).
        raise ParseError("datalink.error.encoding")
    return text


def _era_date(era: str, year: str, month: str, day: str) -> dt.date:
    first, last = ERAS[era]
    number = 1 if year == "元" else int(year)
    try:
        value = dt.date(first.year + number - 1, int(month), int(day))
    except ValueError:
        raise ParseError("datalink.error.date") from None
    if number < 1 or value < first or (last is not None and value > last):
        raise ParseError("datalink.error.date")  # e.g. 平成31年5月1日 does not exist
    return value


def parse_date(text: str) -> dt.date:
    value = normalize(text)
    if len(value) == 10 and value[4] == value[7] == "-":  # 2026-11-22, the common case
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ParseError("datalink.error.date") from None
    for pattern in (_WESTERN, _COMPACT):
        match = pattern.match(value)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                raise ParseError("datalink.error.date") from None
    match = _ERA_LETTER.match(value.upper())
    if match:
        letter, year, month, day = match.groups()
        return _era_date(ERA_LETTERS[letter], year, month, day)
    match = _ERA_KANJI.match(value)
    if match:
        return _era_date(*match.groups())
    raise ParseError("datalink.error.date")


def parse_datetime(text: str) -> dt.datetime:
    """A date (any form parse_date takes) and a time, ``2026-11-20 14:30``,
    ``2026-11-20T14:30:00`` or ``R8.11.20 14:30``: a naive wall-clock time."""
    match = _DATETIME.match(normalize(text))
    if match is None:
        raise ParseError("datalink.error.datetime")
    try:
        day = parse_date(match.group(1))
    except ParseError:
        raise ParseError("datalink.error.datetime") from None
    hour, minute, second = (int(g or 0) for g in match.groups()[1:])
    try:
        return dt.datetime.combine(day, dt.time(hour, minute, second))
    except ValueError:
        raise ParseError("datalink.error.datetime") from None


def parse_amount(text: str, *, allow_negative: bool = False) -> int:
    """Yen as an integer: 1,234 / １，２３４ / 1234円."""
    value = normalize(text)
    if value.isascii() and value.isdigit() and len(value) <= 12:  # the common case
        return int(value)
    value = value.replace(",", "").removesuffix("円").strip()
    if not re.fullmatch(r"-?\d{1,12}", value):
        raise ParseError("datalink.error.amount")
    amount = int(value)
    if amount < 0 and not allow_negative:
        raise ParseError("datalink.error.amount")
    return amount
