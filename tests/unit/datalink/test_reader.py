"""Reading data-link files: typed rows, and every problem with file, line and column."""
import datetime as dt

import pytest

from intranet.datalink import reader
from intranet.datalink.formats import BY_NAME, FILES
from intranet.datalink.reader import Report, check_parents, read

TAXPAYERS = (
    "taxpayer_no,kind,name,name_kana,postal_code,address,address_extra,residency,birth_date,gender,household_no\n"
    "T001,individual,山田 花子,ヤマダ ハナコ,160-0022,東京都新宿区新宿1-1-1,,ward,S55.4.1,女,H1\n"
    "T002,corporation,株式会社テスト,,530-0001,大阪府大阪市北区梅田1-1-1,3F,moved_out,,,\n"
)
INSTALLMENTS = (
    "notice_no,period_no,due_date,tax_amount,late_charge_amount\n"
    "N1,1,R8.6.30,\"12,000\",0\n"
    "N1,2,令和8年8月31日,１２０００,\n"
)


def problems(report):
    return [(p.file, p.line, p.column, p.key) for p in report.problems]


def test_a_good_file_gives_typed_rows():
    report = Report()
    rows = read(BY_NAME["taxpayers"], TAXPAYERS.encode("cp932"), report)
    assert report.ok
    assert rows[0]["birth_date"] == dt.date(1980, 4, 1) and rows[1]["gender"] is None
    rows = read(BY_NAME["installments"], ("\ufeff" + INSTALLMENTS).encode("utf-8"), report)
    assert [(r["due_date"], r["tax_amount"], r["late_charge_amount"]) for r in rows] == [
        (dt.date(2026, 6, 30), 12000, 0), (dt.date(2026, 8, 31), 12000, None)]


def test_the_quote_before_formula_text_is_removed():
    """OWASP "CSV Injection": this system writes ``'=1+2`` for the text ``=1+2``
    (``''=x`` for ``'=x``); a quote before anything else is part of the text."""
    text = (TAXPAYERS.replace("山田 花子", "'=1+2").replace("株式会社テスト", "''=x")
            .replace(",3F,", ",'3F,"))
    rows = read(BY_NAME["taxpayers"], text.encode("cp932"), Report())
    assert [(r["name"], r["address_extra"]) for r in rows] == [("=1+2", None), ("'=x", "'3F")]


@pytest.mark.parametrize("text,expected", [
    (INSTALLMENTS.replace("R8.6.30", "R8.6.31"), [("installments.csv", 2, "due_date", "datalink.error.date")]),
    (INSTALLMENTS.replace('"12,000"', "12.5"), [("installments.csv", 2, "tax_amount", "datalink.error.amount")]),
    (INSTALLMENTS.replace("N1,2,", "N1,1,"), [("installments.csv", 3, "notice_no,period_no", "datalink.error.duplicate")]),
    (INSTALLMENTS.replace("N1,2,", ",2,"), [("installments.csv", 3, "notice_no", "datalink.error.required")]),
    (INSTALLMENTS.replace(",late_charge_amount", ""), [("installments.csv", 1, "late_charge_amount", "datalink.error.missing_column")]),
    (INSTALLMENTS.replace("late_charge_amount", "late_charge_amount,memo"), [("installments.csv", 1, "memo", "datalink.error.extra_column")]),
    (INSTALLMENTS.replace(",0\n", ",0,9\n"), [("installments.csv", 2, "", "datalink.error.columns")]),
    (INSTALLMENTS.rstrip("\n"), [("installments.csv", 0, "", "datalink.error.truncated")]),
    ("", [("installments.csv", 0, "", "datalink.error.empty")]),
])
def test_each_problem_has_file_line_and_column(text, expected):
    report = Report()
    read(BY_NAME["installments"], text.encode("utf-8"), report)
    assert problems(report) == expected


def test_wrong_encoding_and_too_big(monkeypatch):
    report = Report()
    read(BY_NAME["taxpayers"], TAXPAYERS.encode("euc_jp"), report)
    assert problems(report) == [("taxpayers.csv", 0, "", "datalink.error.encoding")]
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 100)
    report = Report()
    read(BY_NAME["taxpayers"], TAXPAYERS.encode("utf-8"), report)
    assert problems(report) == [("taxpayers.csv", 0, "", "datalink.error.too_big")]


def test_orphans_are_reported():
    report = Report()
    installments = read(BY_NAME["installments"], INSTALLMENTS.encode("utf-8"), report)
    check_parents({"installments": installments, "assessments": []}, FILES, report)
    assert problems(report) == [("installments.csv", 2, "notice_no", "datalink.error.orphan"),
                                ("installments.csv", 3, "notice_no", "datalink.error.orphan")]


def test_problem_reports_are_capped_and_never_carry_values():
    text = INSTALLMENTS.splitlines()[0] + "\n" + "".join(f"N{i},x,bad,秘密{i},\n" for i in range(300))
    report = Report()
    read(BY_NAME["installments"], text.encode("utf-8"), report)
    assert len(report.problems) == reader.MAX_PROBLEMS and report.truncated
    assert not any("秘密" in str(p) for p in report.problems)
