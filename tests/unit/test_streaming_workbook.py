"""The .xlsx writer of the inspection export (issue 21): what openpyxl reads
back is what was appended, text is never a formula (OWASP "CSV Injection",
quoted as in CSV), characters XML cannot hold do not break the file, and the
rows go to the file as they come (memory does not grow with them)."""
import io
import tracemalloc

import openpyxl

from intranet import tabular
from tests.helpers import FORMULAS, HTML, xlsx_formulas


def _book(rows_by_sheet) -> bytes:
    out = io.BytesIO()
    book = tabular.StreamingWorkbook(out)
    for name, rows in rows_by_sheet:
        book.add_sheet(name)
        for row in rows:
            book.append(row)
    book.close()
    return out.getvalue()


def test_values_and_sheets_read_back_as_written():
    data = _book([("アクセスログ1", [("連番", "日時", "パス"), (1, "2026-10-01 09:00:00", None, 2.5, -3),
                                     (2, " spaced ", "a&b<c>\"d'", True)]),
                  ("アクセスログ&2", [(3, "田中 太郎")])])
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["アクセスログ1", "アクセスログ&2"]
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert rows == [["連番", "日時", "パス", None, None],
                    [1, "2026-10-01 09:00:00", None, 2.5, -3],
                    [2, " spaced ", "a&b<c>\"d'", True, None]]
    assert list(book.worksheets[1].iter_rows(values_only=True)) == [(3, "田中 太郎")]
    read_only = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert [r[0] for r in read_only.worksheets[0].iter_rows(values_only=True)] == ["連番", 1, 2]


def test_formulas_are_quoted_text_and_control_characters_are_escaped():
    data = _book([("s", [[*FORMULAS, HTML, "bell\x07", "nul\x00"]])])
    assert xlsx_formulas(data) == []
    (row,) = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True)
    assert list(row[:len(FORMULAS)]) == [tabular.neutralise(f).replace("\r", "\n") for f in FORMULAS]
    assert row[len(FORMULAS)] == HTML
    assert row[-2:] == ("bell_x0007_", "nul_x0000_")  # Excel shows these escapes as the character


def test_an_empty_workbook_has_one_sheet():
    book = openpyxl.load_workbook(io.BytesIO(_book([])))
    assert len(book.worksheets) == 1


def test_rows_are_not_kept_in_memory():
    def peak(rows: int) -> int:
        tracemalloc.start()
        book = tabular.StreamingWorkbook(io.BytesIO())
        book.add_sheet("s")
        for n in range(rows):
            book.append((n, "2026-10-01 09:00:00", f"/cases/2026-{n:06d}/", "operator", 200))
        book.close()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    # Only the compressed output (a BytesIO here, a temporary file in the
    # export) grows: 40,000 rows kept as XML text would take some 4 MB more.
    assert peak(40_000) < peak(4_000) + 1_500_000


def test_the_row_template_writes_what_the_cell_by_cell_path_writes():
    """Rows of plain texts and numbers go through one template per shape of
    the row (issue 21); every row must come out as the general path writes it."""
    import random
    import zipfile

    rnd = random.Random(21)
    texts = ["", "田中 太郎", "plain", " lead", "trail ", "a&b", "<x>", "=1+2", "'q", "-5", "@x",
             "＝全角", "tab\tin", "\tlead", "x\x00y", "\x1f", "\ufffe", "\u3000full", "é", "x\ny",
             "\x00", "a\x00"]
    outs = io.BytesIO(), io.BytesIO()
    fast, slow = (tabular.StreamingWorkbook(out) for out in outs)
    general = []
    fast._append = lambda row: (general.append(row), tabular.StreamingWorkbook._append(fast, row))
    for book in (fast, slow):
        book.add_sheet("s")
    for _ in range(3000):
        row = [rnd.choice([None, rnd.randrange(-10**9, 10**9), rnd.choice(texts) * rnd.randrange(1, 3)])
               for _ in range(rnd.randrange(1, 8))]
        fast.append(row)
        slow._append(tuple(row))
    for book in (fast, slow):
        book.close()
    assert 300 < len(general) < 2700  # both paths taken
    sheets = [zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml") for out in outs]
    assert sheets[0] == sheets[1]


def test_a_fixed_time_stamp_makes_the_same_bytes():
    """The inspection export gives its time (issue 21): two workbooks of the
    same rows are the same bytes, every part stamped with it or 1980."""
    rows = [(n, f"テキスト{n}", None, "x" * (n % 50)) for n in range(2000)]
    outs = []
    for _ in range(2):
        out = io.BytesIO()
        book = tabular.StreamingWorkbook(out, date_time=(2026, 11, 24, 9, 0, 0))
        for sheet in ("一", "二"):
            book.add_sheet(sheet)
            for row in rows:
                book.append(row)
        book.close()
        outs.append(out.getvalue())
    assert outs[0] == outs[1]
    import zipfile

    stamps = {part.date_time for part in zipfile.ZipFile(io.BytesIO(outs[0])).infolist()}
    assert stamps == {(2026, 11, 24, 9, 0, 0), (1980, 1, 1, 0, 0, 0)}
