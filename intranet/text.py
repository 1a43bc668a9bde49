"""Japanese text normalisation for search and storage."""
import re
import unicodedata

import jaconv

_SPACES = re.compile(r"[\s\u3000]+")
_NON_DIGITS = re.compile(r"\D+")


def fold(text: str | None) -> str:
    """Fold width, kana and case so that 'ﾀﾅｶ', 'タナカ', 'たなか' and
    '田中　太郎' / '田中太郎' compare equal: NFKC (full-width ASCII and
    half-width kana to their standard forms), katakana to hiragana,
    lower case, no spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = jaconv.kata2hira(text)
    text = _SPACES.sub("", text)
    return text.lower()


def digits(text: str | None) -> str:
    """Only the digits of ``text`` after width folding (phone and notice numbers)."""
    if not text:
        return ""
    return _NON_DIGITS.sub("", unicodedata.normalize("NFKC", text))


_INTERNATIONAL_JP = re.compile(r"^\s*(?:\+|00|010)\s*81")


def phone_digits(text: str | None) -> str:
    """A phone number as the digits Japanese numbers are stored with: width
    folded, separators dropped, and the international form (+81 90..., 0081,
    010-81) turned back into the domestic one (090...)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    match = _INTERNATIONAL_JP.match(text)
    if match:
        rest = digits(text[match.end():])
        return "0" + rest.removeprefix("0")
    return digits(text)


# ---------------------------------------------------------------- addresses

#: Kanji numerals: digits (positional, as in 一〇一) and the multipliers.
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "壱": 1, "二": 2, "弐": 2, "三": 3, "参": 3,
                 "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "拾": 10, "百": 100, "千": 1000}
_KANJI_NUMBER = "[〇零一壱二弐三参四五六七八九十拾百千]+"
#: The notation's markers: 丁目, 番地, 番, 号, 地割 (a number precedes them).
_MARKER = "(?:丁目|番地|番|号|地割)"
#: Dashes of every width and kind (hyphen, minus, en/em dash, bar, 長音符):
#: NFKC leaves most of them alone.
_DASHES = "-‐‑‒–—―−ー─━﹣"
# A kanji number read as a number: before a marker, or between a separator
# (or marker) and a separator, a marker or the end ("一丁目二-三").
_KANJI_BEFORE_MARKER = re.compile(f"({_KANJI_NUMBER})(?={_MARKER})")
_AFTER_SEPARATOR = "|".join(f"(?<={marker})" for marker in ("丁目", "番地", "番", "号", "地割"))
_KANJI_AFTER_SEPARATOR = re.compile(
    f"(?:(?<=[{_DASHES}の\\d])|{_AFTER_SEPARATOR})({_KANJI_NUMBER})(?=[{_DASHES}]|{_MARKER}|$)")
_SEPARATORS = re.compile(f"(?<=\\d)(?:{_MARKER}|[{_DASHES}]|の)+")
_TRAILING_SEPARATOR = re.compile(r"-(?!\d)")
#: 市ヶ谷 = 市ケ谷 = 市が谷 is beyond us; ヶ/ヵ (ゖ/ゕ once folded) as け/か is not.
_SMALL_KE = str.maketrans({"ゖ": "け", "ゕ": "か", "ヶ": "け", "ヵ": "か"})


def kanji_number(numeral: str) -> int:
    """二十三 → 23, 百五 → 105, 千二百 → 1200, 一〇一 → 101 (positional)."""
    if not any(char in _KANJI_UNITS for char in numeral):
        return int("".join(str(_KANJI_DIGITS[char]) for char in numeral))
    total, current = 0, 0
    for char in numeral:
        if char in _KANJI_UNITS:
            total += (current or 1) * _KANJI_UNITS[char]
            current = 0
        else:
            current = current * 10 + _KANJI_DIGITS[char]
    return total + current


def address_key(text: str | None) -> str:
    """A Japanese address in one notation, for substring search: 「西新宿1-2-3」,
    「西新宿１丁目２番３号」 and 「西新宿一丁目2番3号」 all give ``西新宿1-2-3``.

    1. :func:`fold` (NFKC for full-/half-width, katakana → hiragana, lower
       case, no spaces); ヶ/ヵ as け/か (市ヶ谷 = 市ケ谷);
    2. kanji numerals → digits where they are numbers of the block notation:
       before 丁目/番地/番/号/地割, or after a separator and before another
       or the end (二十三番地 → 23, 一丁目二-三 → 1-2-3); names such as
       八丁堀 or 四谷 keep their kanji;
    3. after a digit, any run of 丁目/番地/番/号/地割, dashes of any kind
       (-, －, ‐, —, ―, ー, …) and の becomes ``-``;
    4. a ``-`` not followed by a digit is dropped (「3号」 = 「3」, so
       「…3号 ハイツ」 = 「…3 ハイツ」).

    Both the stored column (``search_address``) and the term searched go
    through this function, so a term matches as a substring whatever
    notation either side was written in. Documented in docs/search.md.
    """
    if not text:
        return ""
    text = fold(text).translate(_SMALL_KE)
    convert = lambda match: str(kanji_number(match.group(1)))  # noqa: E731
    text = _KANJI_BEFORE_MARKER.sub(convert, text)
    previous = None
    while previous != text:  # 一丁目二-三-四: each pass reads one more number
        previous, text = text, _KANJI_AFTER_SEPARATOR.sub(convert, text)
    text = _SEPARATORS.sub("-", text)
    return _TRAILING_SEPARATOR.sub("", text)
