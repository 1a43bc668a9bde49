"""verify-export's row encoder writes the bytes the chain covers, and its
parallel check answers "intact" only for an intact package (issue 21)."""
import csv
import datetime as dt
import io

import pytest

from intranet import tabular
from intranet.audit import chain, export, export_check
from tests.unit.audit.test_chain_compat import reference_canonical

KEY = b"k" * 32
AWKWARD = ['=HYPERLINK("http://x","y")', "=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "＝1+2",
           "<script>alert(1)</script>", "田中\u3000太郎", 'q"b\\s', "\x01ctl", "😀", "a:", 'x:""',
           ':""', '"', "\\", "'quoted", "''=1", "line\nbreak", "%s %d %%", "null", "x,y", ""]


def entries():
    """Entries of awkward content: every text field, numbers (negative, zero),
    NULLs, empty strings, with and without disclosed cases."""
    previous = chain.GENESIS
    for n, text in enumerate([*AWKWARD, "plain", "plain"]):
        entry = {name: None for name in chain.FIELDS}
        entry.update(seq=n + 1, kind="request", occurred_at=dt.datetime(2026, 10, 2, 0, n, 0, n * 7),
                     request_id=f"r{n}", user_id=n, login=text or "login", roles="operator",
                     organisation="org", session_id=-n, client_addr="10.0.0.1", user_agent=text,
                     method="GET", path=f"/cases/{text}", query=text, view_name=text or None,
                     outcome="allowed", status=200, duration_us=-n, facets=text, case_count=n % 3,
                     detail='{"k": "' + str(n) + '"}', context_id=text or None)
        cases = [(n + i, f"2026-{text}{i}") for i in range(n % 3)]
        entry["chain"] = previous = chain.link(KEY, previous, chain.canonical(entry, cases))
        yield entry, cases


def rows(plain=False):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n") if plain else tabular.CsvWriter(out)
    writer.writerow(export.ENTRY_COLUMNS)
    expected, previous = [], chain.GENESIS
    for entry, cases in entries():
        writer.writerow(export.entry_row(entry, previous))
        previous = entry["chain"]
        expected.append((entry, cases))
    read = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    return read[0], list(zip(read[1:], expected))


@pytest.mark.parametrize("plain", [False, True])
def test_the_encoder_writes_the_canonical_bytes_of_every_row_it_takes(plain):
    header, pairs = rows(plain)
    encoder = export_check.RowEncoder(header, plain)
    text = str if plain else tabular.unquote
    taken = 0
    for row, (entry, cases) in pairs:
        if not encoder.common(row):
            continue
        taken += 1
        disclosed = [[case_id, text(no)] for case_id, no in cases]
        data = encoder.encode(row, disclosed, dt.datetime.fromisoformat(row[encoder.at_at]))
        assert data == reference_canonical(entry, cases) == chain.canonical(entry, cases)
        assert chain.link(KEY, row[encoder.prev_at], data) == row[encoder.chain_at]
    assert taken >= 10  # the common rows are taken, the others go through the parser


def test_rows_the_encoder_declines_are_those_it_could_not_encode():
    header, pairs = rows()
    encoder = export_check.RowEncoder(header, False)
    declined = [entry for row, (entry, _) in pairs if not encoder.common(row)]
    for entry in declined:  # an empty string kept, or a cell the writer quoted
        texts = [v for v in entry.values() if isinstance(v, str)]
        assert "" in texts or any(tabular.needs_quote(v) or v.startswith("'") for v in texts)


def test_the_exporter_writes_the_rows_tabular_csvwriter_writes():
    """The export's inner loop quotes the cells itself for a plain csv.writer
    (issue 21): the same entries.csv text as entry_row through CsvWriter,
    awkward content, NULLs and empty strings included."""
    quoted, plain = io.StringIO(), io.StringIO()
    by_tabular, by_exporter = tabular.CsvWriter(quoted), csv.writer(plain, lineterminator="\r\n")
    previous = chain.GENESIS
    for entry, _ in entries():
        jst = export._jst_text(entry["occurred_at"])
        assert jst == tabular_jst(entry["occurred_at"])
        by_tabular.writerow(export.entry_row(entry, previous, jst))
        by_exporter.writerow(export._csv_entry_row(entry, previous, jst))
        previous = entry["chain"]
    assert plain.getvalue() == quoted.getvalue()


def tabular_jst(value):
    from intranet.clock import to_jst

    return to_jst(value).strftime("%Y-%m-%d %H:%M:%S")
