"""Checking the entries of an inspection package (``verify-export``), fast.

Each row of ``access_log/entries.csv`` carries its predecessor's chain value
(``prev_chain``), so every entry's link ``chain == HMAC(key, prev_chain ||
canonical(entry, cases))`` verifies on its own and the rows can be checked in
parallel (issue 21). Nothing here changes the bytes the chain covers:

* :class:`RowEncoder` writes an entry's canonical bytes straight from its CSV
  row for the common row (no empty string kept, no cell beginning with the
  formula quote, a time and a sequence number present): one string template
  in :data:`chain.SORTED` key order filled with each value's JSON, the same
  bytes as ``chain.encode`` of the mapping the row parser builds (which it
  falls back to for every other row). ``tests/unit/audit/test_export_check.py``
  compares both on awkward rows.
* :func:`check_parallel` cuts ``entries.csv`` into blocks at row boundaries
  (a newline outside quotes: an even number of ``"`` before it, as every CSV
  writer quotes) and ``disclosed_cases.csv`` at the first entry of the next
  block, and has ``os.cpu_count()`` processes check the blocks. A block
  passes only if every row's link verifies, each row is of the organisation
  and period, sequence numbers rise within the range, every case group
  belongs to a row of the block, and the block starts after the previous
  block's last entry. It answers only "all intact" (with the count) or "look
  again": anything else, the caller re-checks the package in one process,
  so a broken package gets exactly the report it got before.
"""
from __future__ import annotations

import csv
import datetime as dt
import hmac
import io
import os
from concurrent.futures import ProcessPoolExecutor
from json.encoder import encode_basestring
from operator import itemgetter

from .. import tabular
from . import chain

INT_FIELDS = frozenset({"seq", "user_id", "session_id", "status", "duration_us", "case_count"})

#: Characters of entries.csv per block handed to a worker (about 2,500 rows;
#: at most 2 × workers + 2 blocks are held at a time).
BLOCK_CHARS = 1 << 20


class RowEncoder:
    """:meth:`encode`: the canonical bytes of an ``entries.csv`` row (a list
    of cells in ``header`` order) with its disclosed ``cases`` (``[[case_id,
    case_no], ...]``), for the rows :meth:`common` accepts; the others go
    through the row parser (``export._row_parser``) and ``chain.encode``."""

    def __init__(self, header: list[str], plain: bool):
        index = {name: n for n, name in enumerate(header)}
        self.width = len(header)
        self.seq_at, self.at_at = index["seq"], index["occurred_at"]
        self.empty_at, self.org_at = index["empty_strings"], index["organisation"]
        self.prev_at, self.chain_at = index["prev_chain"], index["chain"]
        # Without the formula quote (format /1) a cell is read as written.
        self.plain = plain
        # One straight-line function per header: every text cell of the row
        # JSON-encoded by one C call each (map), the numbers and the time put
        # in, and the cells that were blank (NULL: a common row keeps no empty
        # string) turned from "" into null. ':""' can only be such a value:
        # a quote inside a JSON string is escaped, and a value's closing quote
        # is followed by ',' or '}'.
        texts = [name for name in chain.SORTED
                 if name not in INT_FIELDS and name not in ("occurred_at", "cases")]
        values, template = [], []
        for name in chain.SORTED:
            template.append(f'"{name}":%s')
            if name == "cases":
                values.append("cases")
            elif name == "occurred_at":
                values.append("at")
            elif name in INT_FIELDS:
                values.append(f"(_str(_int(row[{index[name]}])) if row[{index[name]}] else 'null')")
            else:
                values.append(f"text[{texts.index(name)}]")
        source = (
            "def values(row, cases, at):\n"
            "    text = tuple(_map(_eb, _texts(row)))\n"
            f"    return (_template % ({', '.join(values)},)).replace(':\"\"', ':null')\n"
        )
        scope = {"_template": "{" + ",".join(template) + "}", "_eb": encode_basestring,
                 "_int": int, "_str": str, "_map": map,
                 "_texts": itemgetter(*(index[name] for name in texts))}
        exec(compile(source, "<entries.csv row>", "exec"), scope)  # noqa: S102 (built from the header's column numbers only)
        self._values = scope["values"]

    def common(self, row: list[str]) -> bool:
        """Whether the template may encode ``row``: no field holding an empty
        string, a time and a sequence number, no cell beginning with the
        formula quote (format /2), and the header's width."""
        return (len(row) == self.width and not row[self.empty_at] and bool(row[self.at_at])
                and bool(row[self.seq_at])
                and (self.plain or not (row[0][:1] == tabular.QUOTE
                                        or "\x00'" in "\x00".join(row))))

    def encode(self, row: list[str], cases: list, at: dt.datetime) -> bytes:
        """The canonical bytes of a :meth:`common` row whose time parsed as ``at``."""
        return self.encode_text(row, cases, at.isoformat(timespec="microseconds"))

    def encode_text(self, row: list[str], cases: list, at: str) -> bytes:
        """:meth:`encode` with the time as the chain writes it (``at``: ISO
        text to the microsecond)."""
        return self._values(row, chain.cases_json(cases) if cases else "[]",
                            '"' + at + '"').encode("utf-8")


# ------------------------------------------------------------------ parallel


_JOB: dict = {}


def _init(job: dict) -> None:
    _JOB.clear()
    _JOB.update(job)
    text = str if job["plain"] else tabular.unquote
    _JOB["encoder"] = RowEncoder(job["header"], job["plain"])
    _JOB["parse"] = job["row_parser"](job["header"], text)
    _JOB["text"] = text


def _check_block(entries_text: str, cases_text: str) -> tuple[bool, int, int, int]:
    """``(intact, rows, first seq, last seq)`` of one block (see the module's docstring)."""
    try:
        return _check_rows(entries_text, cases_text)
    except (ValueError, TypeError, IndexError, csv.Error):
        return False, 0, 0, 0  # the walk in one process says what it is


def _check_rows(entries_text: str, cases_text: str) -> tuple[bool, int, int, int]:
    job = _JOB
    key, organisation = job["key"], job["organisation"]
    # (the period's bounds as the times' text: the rows' times are compared as text)
    start, end = (job[name].isoformat(timespec="microseconds") for name in ("start", "end"))
    first, last, encoder, parse, text = (job["first"], job["last"], job["encoder"], job["parse"],
                                         job["text"])
    link, encode, digest, cases_json = chain.link, chain.encode, hmac.digest, chain.cases_json
    values, width, plain, quote = encoder._values, encoder.width, encoder.plain, tabular.QUOTE
    seq_at, at_at, org_at, empty_at = encoder.seq_at, encoder.at_at, encoder.org_at, encoder.empty_at
    prev_at, chain_at = encoder.prev_at, encoder.chain_at
    groups = iter(csv.reader(io.StringIO(cases_text, newline="")))
    pending = next(groups, None)
    count, first_seq, last_seq = 0, None, first - 1
    for row in csv.reader(io.StringIO(entries_text, newline="")):
        if len(row) != width:  # (also a block not cut at a row's end)
            return False, count, first_seq or 0, last_seq
        at = row[at_at]
        # RowEncoder.common(row), and the time as the chain writes it (ISO to
        # the microsecond, naive): compared and encoded as text, which orders
        # as the times do. Any other text of that shape does not verify: the
        # link covers it.
        if (not row[empty_at] and len(at) == 26 and at[10] == "T" and at[19] == "."
                and (plain or not (row[0][:1] == quote or "\x00'" in "\x00".join(row)))):
            seq, org = int(row[seq_at]), row[org_at] or None
            previous, stored, content = row[prev_at], row[chain_at], None
        else:
            seq, at, org, previous, stored, content = parse(row)
            if at is None or at.tzinfo is not None:
                return False, count, first_seq or 0, last_seq  # (the walk reports it)
            at = at.isoformat(timespec="microseconds")
        if first_seq is None:
            first_seq = last_seq = seq  # the block's first row: ``_collect`` checks the order
            if not first <= seq <= last:
                return False, count, first_seq, last_seq
        elif not last_seq < seq <= last:
            return False, count, first_seq, last_seq
        disclosed = []
        # (the sequence number as written: any other spelling leaves a group over)
        while pending is not None and pending[0] == row[seq_at]:
            disclosed.append([int(pending[2]), text(pending[3])])
            pending = next(groups, None)
        if org != organisation or not start <= at < end:
            return False, count, first_seq, seq
        if content is None:
            # chain.link of encoder.encode_text(...), in one piece: a
            # prev_chain that is not ASCII does not verify either
            data = values(row, cases_json(disclosed) if disclosed else "[]", f'"{at}"')
            if digest(key, f"{previous}\n{data}".encode("utf-8"), "sha256").hex() != stored:
                return False, count, first_seq, seq
        else:
            content["cases"] = disclosed
            if link(key, previous, encode(content)) != stored:
                return False, count, first_seq, seq
        count, last_seq = count + 1, seq
    # A case group left over belongs to no row of the block.
    return pending is None, count, first_seq or 0, last_seq


def _row_start(text: str, limit: int) -> int:
    """The start of the last row beginning before ``limit`` (just after a
    newline outside quotes), 0 if there is none."""
    while True:
        nl = text.rfind("\n", 0, limit)
        if nl < 0:
            return 0
        if text.count('"', 0, nl) % 2 == 0:
            return nl + 1
        limit = nl


class _Cases:
    """``disclosed_cases.csv`` (without its header) cut at entry boundaries."""

    def __init__(self, stream):
        self.stream, self.buffer, self.done = stream, "", False

    def _lead(self, at: int) -> int:
        """The entry number of the line starting at ``at``."""
        return int(self.buffer[at:self.buffer.index(",", at)])

    def before(self, seq: int | None) -> str | None:
        """The lines of entries below ``seq`` (all the rest if None); None if
        the file cannot be cut safely (a quoted cell)."""
        while not self.done and (seq is None or not self._passed(seq)):
            block = self.stream.read(BLOCK_CHARS)
            if not block:
                self.done = True
            self.buffer += block
        if '"' in self.buffer:
            return None
        if seq is None:
            taken, self.buffer = self.buffer, ""
            return taken
        # The first line of an entry at or after ``seq``: a binary search over
        # positions (no quotes, so every newline ends a line).
        low, high = 0, len(self.buffer)
        while low < high:
            mid = (low + high) // 2
            if self._from(self._line_at(mid), seq):
                high = mid
            else:
                low = mid + 1
        cut = self._line_at(low)
        taken, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return taken

    def _line_at(self, pos: int) -> int:
        """The start of the first line starting at or after ``pos``."""
        if pos == 0 or self.buffer[pos - 1] == "\n":
            return pos
        nl = self.buffer.find("\n", pos)
        return len(self.buffer) if nl < 0 else nl + 1

    def _from(self, line: int, seq: int) -> bool:
        """Whether the line starting at ``line`` (or the end) is of ``seq`` or later."""
        if line >= len(self.buffer):
            return True
        try:
            return self._lead(line) >= seq
        except ValueError:  # an unfinished last line
            return True

    def _passed(self, seq: int) -> bool:
        """Whether the buffer holds a whole line of an entry at or after ``seq``."""
        end = self.buffer.rfind("\n")
        if end < 0:
            return False
        line = self.buffer.rfind("\n", 0, end) + 1
        try:
            return self._lead(line) >= seq
        except ValueError:
            return False


def check_parallel(archive, entries_name: str, cases_name: str, *, key: bytes,
                   organisation: str, start: dt.datetime, end: dt.datetime, first: int, last: int,
                   plain: bool, workers: int, row_parser) -> int | None:
    """The number of rows of a package whose every entry is intact (see the
    module's docstring), or None: look again in one process. ``row_parser``:
    :func:`intranet.audit.export._row_parser` (passed in, so that this module
    does not import the exporter that imports it)."""
    with archive.open(entries_name) as raw_entries, archive.open(cases_name) as raw_cases:
        entries = io.TextIOWrapper(raw_entries, encoding="utf-8-sig", newline="")
        cases_stream = io.TextIOWrapper(raw_cases, encoding="utf-8-sig", newline="")
        header_line = entries.readline()
        header = next(csv.reader([header_line]), [])
        cases_header = next(csv.reader([cases_stream.readline()]), [])
        if cases_header != ["entry_seq", "position", "case_id", "case_no"]:
            return None
        try:
            RowEncoder(header, plain)
        except KeyError:
            return None
        cases = _Cases(cases_stream)
        job = {"key": key, "organisation": organisation, "start": start, "end": end,
               "first": first, "last": last, "header": header, "plain": plain,
               "row_parser": row_parser}
        window: list = []
        with ProcessPoolExecutor(workers, initializer=_init, initargs=(job,)) as pool:
            try:
                return _run(pool, entries, cases, window, first, workers)
            finally:
                for future in window:  # after an early answer nothing more is needed
                    future.cancel()


def _run(pool, entries, cases, window: list, first: int, workers: int) -> int | None:
    """Hand the blocks of ``entries`` (with their lines of ``cases``) to
    ``pool``; the rows counted, or None at the first block that is not intact."""
    total, previous_last = 0, first - 1

    def blocks():
        """Blocks of whole rows: each ends after a newline outside quotes."""
        rest = ""
        while True:
            chunk = entries.read(BLOCK_CHARS)
            text = rest + chunk
            if not chunk:
                if text:
                    yield text
                return
            cut = _row_start(text, len(text))
            if cut == 0:
                rest = text
                continue
            block, rest = text[:cut], text[cut:]
            yield block

    pending_block = None
    for block in blocks():
        if pending_block is not None:
            seq_text = block[:block.find(",")]
            if not seq_text.isdigit():
                return None
            part = cases.before(int(seq_text))
            if part is None:
                return None
            window.append(pool.submit(_check_block, pending_block, part))
        pending_block = block
        while len(window) > 2 * workers:
            outcome = _collect(window.pop(0), previous_last)
            if outcome is None:
                return None
            total, previous_last = total + outcome[0], outcome[1]
    if pending_block is not None:
        part = cases.before(None)
        if part is None:
            return None
        window.append(pool.submit(_check_block, pending_block, part))
    for future in window:
        outcome = _collect(future, previous_last)
        if outcome is None:
            return None
        total, previous_last = total + outcome[0], outcome[1]
    return total


def _collect(future, previous_last: int) -> tuple[int, int] | None:
    intact, count, first_seq, last_seq = future.result()
    if not intact or (count and first_seq <= previous_last):
        return None
    return count, (last_seq if count else previous_last)


def workers() -> int:
    return os.cpu_count() or 1
