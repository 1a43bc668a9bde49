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
import re
from typing import Any, Iterable

#: First characters that make a spreadsheet read a cell as a formula.
TRIGGERS = frozenset("=+-@\t\r＝＋－＠")
QUOTE = "'"


def needs_quote(text: str) -> bool:
    """Whether ``text`` is written with a quote in front."""
    rest = text.lstrip(QUOTE)
    return rest[:1] in TRIGGERS


#: First characters after which :func:`needs_quote` must look further.
_STARTERS = TRIGGERS | {QUOTE}


def neutralise(value: Any) -> Any:
    """The value as written to a cell: a ``str`` that :func:`needs_quote`
    with ``'`` in front; anything else unchanged."""
    if isinstance(value, str) and value[:1] in _STARTERS and needs_quote(value):
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
        # (neutralise() only for text that may need it: big exports, issue 21)
        self._writer.writerow([neutralise(v) if isinstance(v, str) and v[:1] in _STARTERS else v
                               for v in row])

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


# ------------------------------------------------------- streaming workbooks

#: Characters XML 1.0 cannot hold; written as Excel's ``_xHHHH_`` escapes.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _column_letters(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_XML_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    if not _XML_SPECIAL.search(text):
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _XML_ILLEGAL.search(text):
        text = _XML_ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text


#: In a row's texts between NULs: what :meth:`StreamingWorkbook._append`
#: would treat specially: an XML special or illegal character, a text
#: beginning with a formula trigger, a quote or a space, and (searched in the
#: reversed text) a text ending with a space. Three searches that each skip
#: to one character or class are faster than one that tries each position.
_NOT_PLAIN = re.compile("[&<>\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_PLAIN_START = re.compile("\x00[\\s'=+\\-@＝＋－＠]")
_NOT_PLAIN_END = re.compile("\x00\\s")


def _plain(joined: str, count: int) -> bool:
    """Whether texts joined with NUL (``count`` + 1 of them) are all plain."""
    joined = f"\x00{joined}\x00"
    return (joined.count("\x00") == count + 2 and not _NOT_PLAIN.search(joined)
            and not _NOT_PLAIN_START.search(joined) and not _NOT_PLAIN_END.search(joined[::-1]))


def _row_template(shape: tuple):
    """For rows whose cells have the exact types ``shape`` (``str``, ``int``,
    None only): ``(format template of the row, the texts' getter, the number
    of texts - 1)``, the same XML :meth:`StreamingWorkbook._append` writes
    for a row of plain texts; False for any other shape."""
    from operator import itemgetter

    if not shape or not set(shape) <= {str, int, type(None)}:
        return False
    cells, texts = [], []
    for n, kind in enumerate(shape):
        ref = f"{_column_letters(n + 1)}{{0}}"
        if kind is str:
            texts.append(n)
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{{{n + 1}}}</t></is></c>')
        elif kind is int:
            cells.append(f'<c r="{ref}"><v>{{{n + 1}}}</v></c>')
    if not texts:
        return False
    getter = itemgetter(*texts) if len(texts) > 1 else (lambda row: (row[texts[0]],))
    return '<row r="{0}">' + "".join(cells) + "</row>", getter, len(texts) - 1


class StreamingWorkbook:
    """An .xlsx written row by row into ``out`` (a binary file), in constant
    memory and about five times faster than openpyxl's write-only mode or
    XlsxWriter's constant-memory mode (issue 21: docs/audit.md).

    Every text is an inline string cell (never a formula, never an error
    value), quoted as in CSV (:func:`neutralise`); ``int`` and ``float``
    are number cells, ``None`` an empty cell, anything else its text. One
    sheet is written at a time: :meth:`add_sheet` ends the previous one.
    The workbook has no styles and no shared strings, which every
    spreadsheet reads (Excel, LibreOffice, openpyxl)."""

    #: rows joined before they are handed to the ZIP member
    FLUSH_ROWS = 500

    def __init__(self, out, compresslevel: int = 1, date_time: tuple | None = None):
        """``date_time``: the time stamp of the workbook's small parts (the time
        of writing when None; the sheets' is zipfile's 1980-01-01): a fixed
        one makes the same rows the same bytes."""
        import zipfile

        self._zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED,
                                    compresslevel=compresslevel)
        self._sheets: list[str] = []
        self._member = None
        self._rows: list[str] = []
        self._row = 0
        self._letters: list[str] = []
        self._shapes: dict = {}
        self._date_time = date_time
        self._compresslevel = compresslevel

    def add_sheet(self, name: str) -> None:
        self._end_sheet()
        self._sheets.append(name)
        self._member = self._zip.open(f"xl/worksheets/sheet{len(self._sheets)}.xml", "w",
                                      force_zip64=True)
        self._member.write(
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<sheetData>")
        self._row = 0

    def append(self, row: Iterable) -> None:
        row = tuple(row)
        shape = tuple(map(type, row))
        fast = self._shapes.get(shape)
        if fast is None:
            fast = self._shapes[shape] = _row_template(shape)
        if fast:
            template, texts, count = fast
            if _plain("\x00".join(texts(row)), count):
                self._row += 1
                self._rows.append(template.format(self._row, *row))
                if len(self._rows) >= self.FLUSH_ROWS:
                    self._flush()
                return
        self._append(row)

    def _append(self, row: tuple) -> None:
        self._row += 1
        number = self._row
        cells = []
        letters = self._letters
        for n, value in enumerate(row):
            if value is None:
                continue
            if n >= len(letters):
                letters.extend(_column_letters(i + 1) for i in range(len(letters), n + 1))
            if isinstance(value, str):
                if value[:1] in _STARTERS:
                    value = neutralise(value)
                # (spaces at either end are kept only when the element says so)
                space = ' xml:space="preserve"' if value != value.strip() else ""
                cells.append(f'<c r="{letters[n]}{number}" t="inlineStr"><is><t{space}>'
                             f"{_xml_text(value)}</t></is></c>")
            elif isinstance(value, bool):
                cells.append(f'<c r="{letters[n]}{number}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, (int, float)):
                cells.append(f'<c r="{letters[n]}{number}"><v>{value!r}</v></c>')
            else:
                cells.append(f'<c r="{letters[n]}{number}" t="inlineStr"><is><t xml:space="preserve">'
                             f"{_xml_text(neutralise(str(value)))}</t></is></c>")
        self._rows.append(f'<row r="{number}">{"".join(cells)}</row>')
        if len(self._rows) >= self.FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        self._member.write("".join(self._rows).encode("utf-8"))
        self._rows.clear()

    def _end_sheet(self) -> None:
        if self._member is not None:
            self._flush()
            self._member.write(b"</sheetData></worksheet>")
            self._member.close()
            self._member = None

    def close(self) -> None:
        if not self._sheets:
            self.add_sheet("Sheet1")
        self._end_sheet()
        sheets = self._sheets
        main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        package_rel = "http://schemas.openxmlformats.org/package/2006/relationships"
        content_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
            f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for n in range(1, len(sheets) + 1))
        header = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        files = {
            "[Content_Types].xml":
                f'{header}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                'officedocument.spreadsheetml.sheet.main+xml"/>'
                f"{content_types}</Types>",
            "_rels/.rels":
                f'{header}<Relationships xmlns="{package_rel}"><Relationship Id="rId1" '
                f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            "xl/workbook.xml":
                f'{header}<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
                + "".join(f'<sheet name="{_xml_text(name).replace(chr(34), "&quot;")}" '
                          f'sheetId="{n}" r:id="rId{n}"/>' for n, name in enumerate(sheets, 1))
                + "</sheets></workbook>",
            "xl/_rels/workbook.xml.rels":
                f'{header}<Relationships xmlns="{package_rel}">'
                + "".join(f'<Relationship Id="rId{n}" Type="{rel}/worksheet" '
                          f'Target="worksheets/sheet{n}.xml"/>' for n in range(1, len(sheets) + 1))
                + "</Relationships>",
        }
        import time
        import zipfile

        for path, text in files.items():
            # (as writestr(path, ...) makes it, with the given time stamp)
            info = zipfile.ZipInfo(path, date_time=self._date_time or time.localtime(time.time())[:6])
            info.external_attr = 0o600 << 16
            self._zip.writestr(info, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED,
                               compresslevel=self._compresslevel)
        self._zip.close()
