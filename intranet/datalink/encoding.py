"""Encoding the files this system writes for the delinquency system: CP932
(Shift_JIS as Windows writes it, what the imports default to) or UTF-8.

A character CP932 cannot hold (𠮷 U+20BB7, emoji, …) is never replaced or
dropped: the whole export is refused with every such place listed (file,
line, key of the row, column, the character as U+XXXX), so that the data can
be corrected or the export made in UTF-8 instead."""
from __future__ import annotations

from dataclasses import dataclass

from .. import tabular

#: What the export page and command line offer; the first is the default.
ENCODINGS = {"cp932": "cp932", "utf-8": "utf-8-sig"}
_ALIASES = {"utf-8-sig": "utf-8-sig", "utf8": "utf-8-sig", "shift_jis": "cp932", "sjis": "cp932"}
DEFAULT = "cp932"

#: At most this many places are listed (the rest are counted).
MAX_REPORTED = 200


@dataclass(frozen=True)
class Unencodable:
    file: str
    line: int       # 1-based, the header is line 1 (a value may span lines: the row's first line)
    key: str        # the row's natural key, e.g. the case_no
    column: str
    char: str       # the character itself (shown on the page, never logged)

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.char):04X}"


class UnencodableError(ValueError):
    """Some values cannot be written in the chosen encoding: nothing is written."""

    def __init__(self, encoding: str, problems: list[Unencodable], total: int):
        super().__init__(f"{total} values cannot be written in {encoding}")
        self.encoding = encoding
        self.problems = problems
        self.total = total
        self.case_nos: set[str] = set()  # the cases the rows belong to (set by the exporter)


def codec(name: str | None) -> str:
    """The Python codec of an encoding offered (``cp932``, ``utf-8``), or
    ValueError; ``None`` or ``""`` is the default."""
    try:
        name = (name or DEFAULT).lower()
        return ENCODINGS.get(name) or _ALIASES[name]
    except KeyError:
        raise ValueError(name) from None


def _check(filename: str, header: list[str], rows: list[list], key_columns, codec_name: str,
           found: list[Unencodable], counter: list[int]) -> None:
    keys = [header.index(k) for k in key_columns]
    line = 2
    for row in rows:
        texts = [v if isinstance(v, str) else "" if v is None else str(v) for v in row]
        for column, text in zip(header, texts):
            for char in dict.fromkeys(text):  # each character once per value, in order
                try:
                    char.encode(codec_name)
                except UnicodeEncodeError:
                    counter[0] += 1
                    if len(found) < MAX_REPORTED:
                        found.append(Unencodable(filename, line, "/".join(texts[i] for i in keys),
                                                 column, char))
        line += 1 + sum(t.count("\n") for t in texts)


def encode_files(tables: dict[str, tuple[list[str], list[list], tuple[str, ...]]],
                 encoding: str | None) -> dict[str, bytes]:
    """``{filename: (header, rows, key columns)}`` as CSV files (through
    :mod:`intranet.tabular`, formulas quoted) in ``encoding``; raises
    :class:`UnencodableError` listing every value it cannot hold, across all
    files, before anything is returned."""
    codec_name = codec(encoding)
    files, found, counter = {}, [], [0]
    for filename, (header, rows, key_columns) in tables.items():
        text = tabular.csv_text([header, *rows])
        try:
            files[filename] = text.encode(codec_name)
        except UnicodeEncodeError:  # the rare case: find every place
            _check(filename, header, rows, key_columns, codec_name, found, counter)
    if counter[0]:
        raise UnencodableError(codec_name, found, counter[0])
    return files
