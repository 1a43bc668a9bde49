"""Reading and checking data-link files: every problem is reported with
file, line and column (never the value: it may be personal data)."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from ..tabular import unquote
from .formats import FileSpec
from .parsing import ParseError, decode, normalize, parse_amount, parse_date, parse_datetime

MAX_PROBLEMS = 200
MAX_FILE_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    file: str
    line: int          # 1-based, the header is line 1; 0 for the whole file
    column: str        # "" for the whole line or file
    key: str           # message key

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f" [{self.column}]" if self.column else "")
        return f"{where} {self.key}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False  # more problems than MAX_PROBLEMS

    def add(self, *args) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated = True
        else:
            self.problems.append(Problem(*args))

    @property
    def ok(self) -> bool:
        return not self.problems


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # line breaks and tabs allowed


def convert(column, raw: str):
    raw = unquote(raw)  # the quote this system writes before text like "=1+2" (docs/data-link.md)
    if column.kind == "text":  # as written; line breaks inside a value become \n
        value = raw.strip().replace("\r\n", "\n").replace("\r", "\n")
    else:
        value = normalize(raw)
    if _CONTROL.search(value):
        raise ParseError("datalink.error.control")
    if value == "":
        if column.required:
            raise ParseError("datalink.error.required")
        return None
    if column.kind == "date":
        return parse_date(value)
    if column.kind == "datetime":
        return parse_datetime(value)
    if column.kind == "amount":
        return parse_amount(value)
    if column.kind == "int":
        if not value.isdigit() or len(value) > 9:
            raise ParseError("datalink.error.int")
        return int(value)
    if column.kind == "choice" and value not in column.choices:
        raise ParseError("datalink.error.choice")
    if len(value) > column.max_length:
        raise ParseError("datalink.error.too_long")
    return value


def read(spec: FileSpec, raw: bytes, report: Report, encoding: str | None = None) -> list[dict]:
    """The file's rows as typed dicts; problems go to ``report``."""
    name = spec.filename
    if len(raw) > MAX_FILE_BYTES:
        report.add(name, 0, "", "datalink.error.too_big")
        return []
    if not raw.strip():
        report.add(name, 0, "", "datalink.error.empty")
        return []
    try:
        text = decode(raw, encoding)
    except ParseError as exc:
        report.add(name, 0, "", str(exc))
        return []
    if not text.endswith(("\n", "\r")):
        report.add(name, 0, "", "datalink.error.truncated")  # no final line break: cut short
        return []
    rows = csv.reader(io.StringIO(text), strict=True)
    try:
        header = [normalize(h) for h in next(rows)]
    except csv.Error:
        report.add(name, 1, "", "datalink.error.csv")
        return []
    missing = [c.name for c in spec.columns if c.name not in header and not c.may_be_absent]
    extra = [h for h in header if h not in spec.column_names]
    for column in missing:
        report.add(name, 1, column, "datalink.error.missing_column")
    for column in extra:
        report.add(name, 1, column, "datalink.error.extra_column")
    if missing or extra:
        return []
    index = {h: i for i, h in enumerate(header)}
    records, seen = [], set()
    start = 2  # the line the next row starts on (a quoted value may span lines)
    while True:
        try:
            row = next(rows, None)
        except csv.Error:  # an unclosed quote, a NUL byte, a value over 128 KiB
            report.add(name, start, "", "datalink.error.csv")
            return []
        if row is None:
            break
        line, start = start, rows.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            report.add(name, line, "", "datalink.error.columns")
            continue
        record, good = {}, True
        for column in spec.columns:
            if column.name not in index:  # an optional column this file has not
                continue
            try:
                record[column.name] = convert(column, row[index[column.name]])
            except ParseError as exc:
                report.add(name, line, column.name, str(exc))
                good = False
        if not good:
            continue
        key = tuple(record[k] for k in spec.key)
        if key in seen:
            report.add(name, line, ",".join(spec.key), "datalink.error.duplicate")
            continue
        seen.add(key)
        record["_line"] = line
        records.append(record)
    return records


def check_parents(files: dict[str, list[dict]], specs, report: Report,
                  stored: dict[str, set] | None = None) -> None:
    """Orphans: a row whose parent is neither in the files nor among the
    ``stored`` keys (per file name: keys, or tuples for composite keys)."""
    stored = stored or {}
    for spec in specs:
        if spec.parent is None or spec.name not in files:
            continue
        parent_name, columns = spec.parent
        parent_spec = next(s for s in specs if s.name == parent_name)
        keys = {tuple(r[c] for c in parent_spec.key) for r in files.get(parent_name, [])}
        keys |= {k if isinstance(k, tuple) else (k,) for k in stored.get(parent_name, ())}
        for record in files[spec.name]:
            if tuple(record[c] for c in columns) not in keys:
                report.add(spec.filename, record["_line"], ",".join(columns), "datalink.error.orphan")
