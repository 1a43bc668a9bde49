"""Properties of the reader: whatever a ward system writes in the documented
conventions reads back as the same values, with the line each row starts on;
whatever bytes arrive, the reader reports instead of raising."""
import csv
import datetime as dt
import io

from hypothesis import assume, given, settings, strategies as st

from intranet.datalink.formats import BY_NAME, FILES
from intranet.datalink.parsing import parse_datetime
from intranet.datalink.reader import Report, read
from intranet.messages import MESSAGES
from intranet.tabular import neutralise
from intranet.wareki import wareki

CONTACTS = BY_NAME["contact_history"]


def _cp932(char: str) -> bool:
    try:
        char.encode("cp932")
        return True
    except UnicodeEncodeError:
        return False


# What free text in ward files is made of: kana, kanji (incl. 髙 﨑 of CP932's
# extensions), full-width forms, ASCII with the CSV specials , " and line breaks,
# and the characters that start a spreadsheet formula.
ALPHABET = [c for c in (
    "あいうえおがぱアイウエオヴーｶﾞ山田髙﨑花子東京都新宿区方番地号室①Ⅱ～－・（）「」　 "
    "abcXYZ0123456789,\"'.;:-/#\n=+@＝＋＠") if _cp932(c)]
words = st.text(alphabet=ALPHABET, min_size=1, max_size=40).map(str.strip).filter(bool)
codes = st.text(alphabet="ABCK0123456789-", min_size=1, max_size=20)
moments = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 12, 31)
                       ).map(lambda d: d.replace(microsecond=0))


@st.composite
def contact_rows(draw):
    keys = draw(st.lists(codes, min_size=1, max_size=12, unique=True))
    return [{"record_no": key, "case_no": draw(st.text("0123456789-", min_size=1, max_size=11)),
             "kind": draw(st.sampled_from(["visit", "negotiation", "document", "other"])),
             "occurred_at": draw(moments), "place": draw(st.none() | words),
             "counterpart": draw(st.none() | words), "content": draw(st.none() | words),
             "staff_name": draw(st.none() | words)} for key in keys]


def _written(moment: dt.datetime, style: int) -> str:
    return (moment.strftime("%Y-%m-%d %H:%M:%S"), moment.strftime("%Y/%m/%dT%H:%M"),
            f"{wareki(moment.date())} {moment:%H:%M:%S}")[style]


@settings(max_examples=150, deadline=None)
@given(rows=contact_rows(), encoding=st.sampled_from(["cp932", "utf-8", "utf-8-sig"]),
       newline=st.sampled_from(["\r\n", "\n"]), date_style=st.integers(0, 2),
       columns=st.permutations(CONTACTS.column_names))
def test_what_is_written_in_the_conventions_reads_back(rows, encoding, newline, date_style, columns):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(columns)
    starts = []
    for row in rows:
        starts.append(out.getvalue().count("\n") + 1)
        # text a spreadsheet would take for a formula has a leading quote (the conventions)
        writer.writerow([neutralise("" if row[c] is None else _written(row[c], date_style)
                                    if c == "occurred_at" else row[c]) for c in columns])
    raw = out.getvalue().encode(encoding)
    if encoding == "cp932":
        # A short CP932 text can also be valid UTF-8 ('﨑Ⅱ' is b'\xed\x95\x87U'):
        # detection then reads UTF-8, as documented; such files name --encoding.
        try:
            assume(raw.decode("utf-8") == out.getvalue())  # only ASCII reads the same
        except UnicodeDecodeError:
            pass
    report = Report()
    records = read(CONTACTS, raw, report)
    assert report.ok, [str(p) for p in report.problems]
    assert [r.pop("_line") for r in records] == starts
    if date_style == 1:  # written without seconds
        rows = [{**r, "occurred_at": r["occurred_at"].replace(second=0)} for r in rows]
    assert records == rows


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FILES), st.binary(max_size=400))
def test_any_bytes_give_a_report_never_an_exception(spec, raw):
    report = Report()
    read(spec, ",".join(spec.column_names).encode() + b"\n" + raw, report)
    for problem in report.problems:  # each one has its Japanese and English message
        assert problem.file == spec.filename and problem.key in MESSAGES


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FILES), st.lists(st.lists(st.text(max_size=12), max_size=12), max_size=8))
def test_any_table_of_text_gives_a_report_never_an_exception(spec, table):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(spec.column_names)
    writer.writerows(table)
    report = Report()
    records = read(spec, out.getvalue().encode("utf-8"), report)
    # each row gives a record or problems on its line, never both, never more rows
    assert len(records) + len({p.line for p in report.problems if p.line > 1}) <= len(table)


@given(moments)
def test_datetimes_in_every_documented_form(moment):
    for style in range(3):
        expected = moment.replace(second=0) if style == 1 else moment
        assert parse_datetime(_written(moment, style)) == expected
