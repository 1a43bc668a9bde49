"""Every CSV and Excel file this system writes goes through here, so that a
spreadsheet opens it as inert text (CSV / formula injection).

OWASP "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection):
a cell beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
read by Excel or LibreOffice as a formula (``=HYPERLINK(...)``, DDE), so such
a text value is written with a single quote ``'`` in front. The separator and
quote characters that could start a new cell inside a value are escaped by
:mod:`csv` itself.

* Only ``str`` values are quoted: numbers, dates and ``None`` that the system
  computed are written as they are (a negative ``int`` stays a number; the
  *text* ``"-5"`` typed by a user is quoted).
* The full-width ``＝ ＋ － ＠`` are quoted too: Excel on Japanese Windows may
  take them as a formula's start when text is typed or pasted through the IME,
  and full-width text is common in ward data, so quoting them is the safe side.
* A value whose first character after its leading quotes is one of these also
  gets one more quote (``'=x`` is written ``''=x``), so :func:`unquote` gives
  back exactly what was written: files this system reads again (the data-link
  dump, the inspection package's ``entries.csv``) round-trip.
* Excel cells are always string cells (``data_type="s"``): openpyxl would
  otherwise store a text beginning with ``=`` as a formula and ``#N/A`` as an
  error value. The text is quoted as in CSV, so a sheet saved again as CSV, or
  a cell edited in Excel, stays text.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable

#: First characters that make a spreadsheet read a cell as a formula.
TRIGGERS = frozenset("=+-@\t\r＝＋－＠")
QUOTE = "'"


def needs_quote(text: str) -> bool:
    """Whether ``text`` is written with a quote in front."""
    rest = text.lstrip(QUOTE)
    return rest[:1] in TRIGGERS


def neutralise(value: Any) -> Any:
    """The value as written to a cell: a ``str`` that :func:`needs_quote`
    with ``'`` in front; anything else unchanged."""
    if isinstance(value, str) and needs_quote(value):
        return QUOTE + value
    return value


def unquote(text: str) -> str:
    """The inverse of :func:`neutralise` for text read back from a cell."""
    if text.startswith(QUOTE) and needs_quote(text):
        return text[1:]
    return text


# ---------------------------------------------------------------------- CSV


class CsvWriter:
    """``csv.writer`` with CRLF line endings whose rows are neutralised."""

    def __init__(self, out):
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(rows: Iterable[Iterable]) -> str:
    out = io.StringIO()
    CsvWriter(out).writerows(rows)
    return out.getvalue()


def csv_bytes(rows: Iterable[Iterable], encoding: str = "utf-8-sig") -> bytes:
    """The rows as a CSV file: UTF-8 with a byte-order mark (what Excel needs
    to open UTF-8) by default, or CP932 or any other encoding."""
    return csv_text(rows).encode(encoding)


# -------------------------------------------------------------------- Excel

#: Texts openpyxl stores as error values (openpyxl.cell.cell.ERROR_CODES).
_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))


def cell(sheet, value: Any):
    """What to append to ``sheet`` (normal or write-only) for ``value``: for
    text, the quoted text, which openpyxl stores as a string cell, or a cell
    made a string explicitly where openpyxl would store a formula (``=``) or
    an error value (``#N/A``); numbers, dates and ``None`` as they are."""
    if not isinstance(value, str):
        return value
    value = neutralise(value)
    if value[:1] != "=" and value not in _ERROR_CODES:
        return value  # (one cell object per string would slow big sheets down)
    from openpyxl.cell import WriteOnlyCell

    result = WriteOnlyCell(sheet, value=value)
    result.data_type = "s"
    return result


def append(sheet, row: Iterable) -> None:
    """``sheet.append(row)`` with every text value a quoted string cell."""
    sheet.append([cell(sheet, v) for v in row])


def xlsx_bytes(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
