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
