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
