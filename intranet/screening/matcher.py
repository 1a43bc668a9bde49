"""The term list of forbidden categories and the matcher.

The field-survey contract (seed 004, 収集禁止事項) forbids the servicer to
collect 思想・信条・宗教, 社会的差別の原因となる事実 and 犯罪に関する事項; the
personal-information law calls the same kind of data 要配慮個人情報
(個人情報保護法2条3項: 人種, 信条, 社会的身分, 病歴, 犯罪の経歴, 犯罪被害,
and by cabinet order 障害, 健康診断の結果, 刑事事件の手続 ...). The ward keeps
the words that betray such data in a plain text file (``terms.txt``, format
below); free text typed by investigators and operators is matched against it
on save (:mod:`intranet.screening.flags`).

File format (UTF-8), one entry per line::

    # a comment (to the end of the line, also after an entry)
    religion   宗教
    religion   しゅうきょう
    allow      宗教的配慮      # never a hit: an innocent phrase containing a term

``<category> <term>``, separated by spaces or tabs. The category is one of
:data:`CATEGORIES` or ``allow``; the term has no spaces. Matching folds both
sides the same way (:func:`fold`: NFKC, katakana to hiragana, lower case,
spaces dropped), so ｼｭｳｷｮｳ, シュウキョウ and しゅうきょう are one term, and
ＨＩＶ and hiv another. An ``allow`` phrase masks the terms found inside it
(ぜんかい, 前回 typed in kana, holds ぜんか).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import jaconv

#: The categories a term belongs to (message keys ``screening.category.<key>``).
CATEGORIES = (
    "religion",            # 宗教
    "creed",               # 思想・信条
    "politics",            # 政治的信条・支持政党
    "social_status",       # 社会的身分・差別の原因（同和, 部落, 出身地）
    "criminal_record",     # 犯罪歴・刑事手続（前科, 逮捕, 服役）
    "crime_victim",        # 犯罪被害
    "medical",             # 病歴・健康
    "disability",          # 障害
    "welfare",             # 生活保護など
    "race",                # 人種・民族・出自
    "sexual_orientation",  # 性的指向・性自認
)
ALLOW = "allow"
#: Characters that belong to the character before them (half-width and
#: combining voiced sound marks): ｶﾞ is one character once folded.
_MARKS = {"\uff9e", "\uff9f", "\u3099", "\u309a"}


class TermFileError(ValueError):
    """The term list cannot be used; the message says where and why."""


def _fold_cluster(cluster: str) -> str:
    text = jaconv.kata2hira(unicodedata.normalize("NFKC", cluster)).lower()
    return "".join(ch for ch in text if not ch.isspace())


def fold(text: str) -> str:
    """``text`` as terms are compared: NFKC, hiragana, lower case, no spaces."""
    return folded(text)[0]


def folded(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The folded text and, for each of its characters, the span of the
    original text it came from (to highlight and redact the original)."""
    out, spans = [], []
    i, n = 0, len(text or "")
    while i < n:
        j = i + 1
        while j < n and (text[j] in _MARKS or unicodedata.combining(text[j])):
            j += 1
        for ch in _fold_cluster(text[i:j]):
            out.append(ch)
            spans.append((i, j))
        i = j
    return "".join(out), spans


@dataclass(frozen=True)
class Term:
    category: str
    term: str        # as written in the list
    key: str         # folded


@dataclass(frozen=True)
class Match:
    category: str
    term: str        # the list's term
    start: int       # span in the original text
    end: int

    def surface(self, text: str) -> str:
        return text[self.start:self.end]


class TermList:
    """The parsed list; :meth:`find` matches a text against it."""

    def __init__(self, terms: list[Term], allowed: list[str], source: str = ""):
        self.terms = terms
        self.allowed = allowed       # folded
        self.source = source
        self.categories = tuple(c for c in CATEGORIES if any(t.category == c for t in terms))

    def find(self, text: str) -> list[Match]:
        """Every term in ``text`` outside an allowed phrase, by position;
        where terms overlap (創価学会 and 学会) the longest from the earliest
        start wins."""
        if not text:
            return []
        key, spans = folded(text)
        masked = [False] * len(key)
        for phrase in self.allowed:
            at = key.find(phrase)
            while at >= 0:
                for k in range(at, at + len(phrase)):
                    masked[k] = True
                at = key.find(phrase, at + 1)
        found = []
        for term in self.terms:
            at = key.find(term.key)
            while at >= 0:
                end = at + len(term.key)
                if not all(masked[at:end]):
                    found.append((at, end, term))
                at = key.find(term.key, at + 1)
        found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
        matches, taken_until = [], -1
        for at, end, term in found:
            if at < taken_until:
                continue
            taken_until = end
            matches.append(Match(term.category, term.term, spans[at][0], spans[end - 1][1]))
        return matches


def parse(lines, source: str = "<terms>") -> TermList:
    """A term list from its lines; :class:`TermFileError` names the first bad line."""
    terms, allowed, seen = [], [], set()
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TermFileError(f"{source}:{number}: expected '<category> <term>' (got {raw.strip()!r})")
        category, term = parts
        if category != ALLOW and category not in CATEGORIES:
            raise TermFileError(f"{source}:{number}: unknown category {category!r} "
                                f"(one of: {', '.join(CATEGORIES + (ALLOW,))})")
        key = fold(term)
        if not key:
            raise TermFileError(f"{source}:{number}: the term {term!r} is empty once folded")
        if category == ALLOW:
            allowed.append(key)
        elif (category, key) not in seen:
            seen.add((category, key))
            terms.append(Term(category, term, key))
    if not terms:
        raise TermFileError(f"{source}: no terms (a list of '<category> <term>' lines is needed)")
    return TermList(terms, allowed, source)


DEFAULT_FILE = Path(__file__).with_name("terms.txt")


def load(path: str | Path | None = None) -> TermList:
    """The list in ``path`` (default: the shipped ``terms.txt``)."""
    path = Path(path) if path else DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TermFileError(f"{path}: cannot read the term list ({exc})") from exc
    return parse(text.splitlines(), str(path))


def segments(text: str, matches: list[Match]) -> list[tuple[str, str | None]]:
    """``text`` cut into (piece, category-or-None) for highlighting."""
    out, at = [], 0
    for m in matches:
        if m.start > at:
            out.append((text[at:m.start], None))
        out.append((text[m.start:m.end], m.category))
        at = m.end
    if at < len(text or ""):
        out.append((text[at:], None))
    return out


REDACTED = "＊＊＊"


def redact(text: str, matches: list[Match]) -> str:
    """``text`` with every matched term replaced by ＊＊＊."""
    return "".join(REDACTED if category else piece for piece, category in segments(text, matches))
