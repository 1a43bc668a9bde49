"""The shared CSV and Excel writer: text that a spreadsheet would read as a
formula is written with a leading quote (OWASP "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection); numbers and dates
stay what they are; Excel cells are never formulas."""
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from intranet import tabular

TRIGGERS = ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]


@pytest.mark.parametrize("first", TRIGGERS)
def test_text_beginning_with_a_trigger_gets_a_quote(first):
    """OWASP CSV Injection: = + - @ tab CR (and full-width ＝＋－＠) start a formula."""
    assert tabular.neutralise(first + "1+2") == "'" + first + "1+2"
    assert tabular.neutralise(first) == "'" + first


@pytest.mark.parametrize("text", ["", "x", "1+2", "03-1234-5678", "2026-11-24", " =1", "a=1",
                                  "'quoted", "—", "<script>alert(1)</script>", "＃", "田中"])
def test_other_text_is_unchanged(text):
    """OWASP CSV Injection: only the first character matters."""
    assert tabular.neutralise(text) == text
    assert tabular.unquote(text) == text


@pytest.mark.parametrize("value", [0, 5, -5, -1.5, 2.0, Decimal("-3.10"), True, None,
                                   dt.date(2026, 11, 24), dt.datetime(2026, 11, 24, 9, 30)])
def test_numbers_dates_and_none_are_not_quoted(value):
    """OWASP CSV Injection: values the system computed are not text, never quoted;
    a negative number stays a number."""
    assert tabular.neutralise(value) is value


def test_a_user_typed_negative_number_is_text_and_quoted():
    assert tabular.neutralise("-5") == "'-5"


def test_text_already_quoted_before_a_trigger_gets_one_more_quote():
    """So that reading back (unquote) gives exactly what was written."""
    assert tabular.neutralise("'=1+2") == "''=1+2"
    assert tabular.unquote("''=1+2") == "'=1+2"
    assert tabular.unquote("'=1+2") == "=1+2"


@given(st.text(alphabet="'=+-@\t\r＝＋－＠ax", max_size=8))
def test_unquote_inverts_neutralise(text):
    assert tabular.unquote(tabular.neutralise(text)) == text


def test_csv_rows_quoted_crlf_and_bom():
    """OWASP CSV Injection: every cell that would start a formula starts with a quote."""
    rows = [["名前", "金額", "日付"], ['=HYPERLINK("http://x","y")', -5, dt.date(2026, 11, 24)],
            ["@SUM(A1)", 1200, None], ["\rx", Decimal("1.5"), "-1"]]
    data = tabular.csv_bytes(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text == ('名前,金額,日付\r\n'
                    '"\'=HYPERLINK(""http://x"",""y"")",-5,2026-11-24\r\n'
                    "'@SUM(A1),1200,\r\n"
                    "\"'\rx\",1.5,'-1\r\n")
    assert tabular.csv_bytes([["＝1", "東京"]], "cp932") == "'＝1,東京\r\n".encode("cp932")


def _formulas(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [name for name in archive.namelist()
                if name.startswith("xl/worksheets/") and b"<f>" in archive.read(name)]


@pytest.mark.parametrize("write_only", [False, True])
def test_excel_cells_are_strings_never_formulas(write_only):
    """OWASP CSV Injection: openpyxl stores a str beginning with '=' as a formula;
    the writer makes every text a quoted string cell."""
    import openpyxl

    book = openpyxl.Workbook(write_only=write_only)
    sheet = book.create_sheet("s") if write_only else book.active
    day = dt.datetime(2026, 11, 24, 9, 30)
    tabular.append(sheet, ["=1+2", '=HYPERLINK("http://x","y")', "#N/A", -5, 1.5, day, None, "ok"])
    data = tabular.xlsx_bytes(book)
    assert _formulas(data) == []
    loaded = openpyxl.load_workbook(io.BytesIO(data))
    row = [c for c in next(loaded.worksheets[0].iter_rows())]
    assert [c.value for c in row] == ["'=1+2", "'=HYPERLINK(\"http://x\",\"y\")", "#N/A", -5, 1.5, day,
                                      None, "ok"]
    assert [c.data_type for c in row[:3]] == ["s", "s", "s"]
    assert row[3].data_type == "n"


def test_a_cell_is_a_string_even_if_the_text_escaped_quoting(monkeypatch):
    """OWASP CSV Injection: the Excel side does not rest on the quote alone."""
    import openpyxl
    from openpyxl.cell.cell import ERROR_CODES

    assert tabular._ERROR_CODES == set(ERROR_CODES)
    monkeypatch.setattr(tabular, "neutralise", lambda value: value)
    book = openpyxl.Workbook()
    tabular.append(book.active, ["=1+2", "#DIV/0!", "x"])
    data = tabular.xlsx_bytes(book)
    assert _formulas(data) == []
    row = next(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows())
    assert [(c.value, c.data_type) for c in row] == [("=1+2", "s"), ("#DIV/0!", "s"), ("x", "s")]
