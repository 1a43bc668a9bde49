"""The on-site inspection package (立入調査): one organisation, one period, one ZIP.

:func:`stream` yields the ZIP's bytes as it reads the database, so neither
the web response nor the CLI holds the package in memory. It makes one pass
over every access-log entry in the sequence range that holds the period: it
recomputes each entry's chain link with the key (the chain segment is
verified while it is exported), writes the organisation's entries to
``access_log/entries.csv`` and keeps their disclosed cases and Excel rows in
temporary files, which follow. The remaining files are small. The last file,
``MANIFEST``, lists every file's SHA-256 and size, the period, the entry
count, the segment's first and last chain values and whether the segment
verified, and ends with an HMAC of all that under the access log's key:
:func:`verify_file` (``intranet audit verify-export``) checks it offline.

Each entry row carries the entry's chain value and its predecessor's, so an
entry verifies on its own: ``chain == HMAC(key, prev_chain || canonical(entry))``.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Callable, Iterator

from sqlalchemy import and_, func, select

from .. import tabular
from ..clock import jst_wall, to_jst
from ..models import (
    AccessLogArchive, AccessLogCheckpoint, AccessLogEntry, Contract, ErasureRecord, HandoverSlip,
    Medium, MediumEvent, Organisation, TrainingCourse, TrainingPlan, TrainingRecord, User,
)
from ..security import report as matrix_report
from . import chain, export_check, package_tlog
from .package_verifier import MANIFEST_SIG, manifest_lines, member_problems
from .search import utc_start
from .verify import checkpoint_stream, database_checkpoints, stored_rows

#: /2: text cells that a spreadsheet would take for a formula carry a leading
#: quote (intranet.tabular), which verifying removes; /1 packages had none.
FORMAT = "intranet-inspection-export/2"
#: /3: /2 and the signed checkpoints and proofs of issue 22 (``tlog/``,
#: ``MANIFEST.sig``), checked by ``intranet audit verify-package``.
FORMAT_SIGNED = "intranet-inspection-export/3"
ENTRIES = "access_log/entries.csv"
CASES = "access_log/disclosed_cases.csv"
WORKBOOK = "access_log/entries.xlsx"
CHECKPOINTS = "chain/checkpoints.csv"
MANIFEST = "MANIFEST"
#: Excel holds 1,048,576 rows a sheet; the entries continue on the next sheet.
SHEET_ROWS = 1_000_000
BOM = "\ufeff"

#: entries.csv: every chained field (``occurred_at`` as stored, UTC), the JST
#: time for people, the chain values, and the names of fields holding an
#: empty string (a blank cell is otherwise NULL).
ENTRY_COLUMNS = ("seq", "occurred_at_jst", *chain.FIELDS[1:], "prev_chain", "chain",
                 "empty_strings")
INT_FIELDS = frozenset({"seq", "user_id", "session_id", "status", "duration_us", "case_count"})
WORKBOOK_COLUMNS = (("seq", "連番"), ("occurred_at_jst", "日時"), ("login", "ユーザーID"),
                    ("roles", "役割"), ("organisation", "組織"), ("kind", "種別"),
                    ("event", "イベント"), ("method", "メソッド"), ("path", "パス"),
                    ("view_name", "画面"), ("outcome", "結果"), ("status", "ステータス"),
                    ("facets", "表示項目"), ("case_count", "案件数"), ("client_addr", "接続元"))


class ExportError(Exception):
    """The package cannot be made; ``key`` is the message key."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


@dataclass
class ExportPlan:
    """What one package holds; decided before the first byte is sent."""

    organisation_id: int
    code: str
    name: str
    date_from: dt.date
    date_to: dt.date
    first_seq: int          # the sequence range holding the period (empty: first > last)
    last_seq: int
    entries: int            # the organisation's entries in the period
    generated_at: dt.datetime  # UTC
    start_chain: str = chain.GENESIS  # the chain value before ``first_seq``
    #: the signed checkpoints and proofs (issue 22); None: checkpoints are not signed
    tlog: package_tlog.TlogPlan | None = None

    @property
    def start(self) -> dt.datetime:
        return utc_start(self.date_from)

    @property
    def end(self) -> dt.datetime:
        return utc_start(self.date_to + dt.timedelta(days=1))

    @property
    def filename(self) -> str:
        return f"inspection-{self.code}-{self.date_from:%Y%m%d}-{self.date_to:%Y%m%d}.zip"

    def includes(self, entry: dict) -> bool:
        return (entry["organisation"] == self.code
                and self.start <= entry["occurred_at"] < self.end)


def plan(conn, organisation: Organisation, date_from: dt.date, date_to: dt.date,
         now: dt.datetime, checkpointer=None, previous_checkpoint: str | None = None) -> ExportPlan:
    """Fix the sequence range now: entries appended later are not in it.
    With the app's ``checkpointer`` (whose key signs checkpoints) the package
    carries proofs (:mod:`intranet.audit.package_tlog`), optionally from
    ``previous_checkpoint``, the signed checkpoint of the last inspection."""
    start, end = utc_start(date_from), utc_start(date_to + dt.timedelta(days=1))
    in_period = and_(AccessLogEntry.occurred_at >= start, AccessLogEntry.occurred_at < end)
    first, last = conn.execute(select(func.min(AccessLogEntry.seq), func.max(AccessLogEntry.seq))
                               .where(in_period)).one()
    first, last = (first, last) if first is not None else (1, 0)
    count = conn.scalar(select(func.count()).select_from(AccessLogEntry).where(
        in_period, AccessLogEntry.organisation == organisation.code,
        AccessLogEntry.seq.between(first, last)))
    export = ExportPlan(organisation.id, organisation.code, organisation.name, date_from, date_to,
                        first, last, count, now, _start_chain(conn, first))
    if checkpointer is not None:
        try:
            export.tlog = package_tlog.plan(conn.engine, export, checkpointer, previous_checkpoint, now)
        except package_tlog.TlogError as error:
            raise ExportError(error.key) from None
    return export


# ------------------------------------------------------------------ writing


class _Sink:
    """The ZIP's output: bytes wait here until the generator yields them."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


class _HashingWriter:
    """Text or bytes into a ZIP member, counting and hashing what passes."""

    def __init__(self, raw):
        self.raw = raw
        self.size = 0
        self.sha256 = hashlib.sha256()

    def write(self, data) -> int:
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.raw.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


class _Package:
    def __init__(self, generated_at: dt.datetime):
        self.sink = _Sink()
        self.zip = zipfile.ZipFile(self.sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self.files: list[tuple[str, int, str]] = []  # (path, size, sha256)
        self.date_time = to_jst(generated_at).timetuple()[:6]
        self.segment: Segment | None = None  # set once the log has been walked

    @contextmanager
    def member(self, path: str):
        info = zipfile.ZipInfo(path, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        with self.zip.open(info, "w", force_zip64=True) as raw:
            out = _HashingWriter(raw)
            yield out
        self.files.append((path, out.size, out.sha256.hexdigest()))

    def csv_member(self, path: str, rows) -> None:
        with self.member(path) as out:
            out.write(BOM)
            tabular.CsvWriter(out).writerows(rows)

    def copy_member(self, path: str, source) -> Iterator[bytes]:
        source.seek(0)
        with self.member(path) as out:
            while block := source.read(1 << 20):
                out.write(block)
                yield self.sink.take()

    def close(self) -> bytes:
        self.zip.close()
        return self.sink.take()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, int):
        return value  # a number: never quoted as text
    return str(value)


def entry_row(entry: dict, prev_chain: str, jst: str | None = None) -> list:
    """The ``entries.csv`` row; ``jst``: the entry's JST time as text when known."""
    row = [entry["seq"], jst or _jst_text(entry["occurred_at"])]
    empty = []
    for name in _ROW_FIELDS:
        value = entry[name]
        if value is None:
            row.append("")
        elif value.__class__ is str or value.__class__ is int:
            row.append(value)
            if value == "":
                empty.append(name)
        else:
            row.append(_cell(value))
            if value == "":
                empty.append(name)
    row += (prev_chain, entry["chain"], " ".join(empty))
    return row


_ROW_FIELDS = chain.FIELDS[1:]
assert chain.FIELDS[0] == "seq"


def _csv_entry_row(entry: dict, prev_chain: str, jst: str) -> list:
    """:func:`entry_row` as ``tabular.CsvWriter`` writes it (text that a
    spreadsheet would take for a formula quoted), for a plain ``csv.writer``:
    one pass over the entry (the export's inner loop, issue 21)."""
    row = [entry["seq"], jst]
    empty = []
    for name in _ROW_FIELDS:
        value = entry[name]
        if value is None:
            row.append("")
        elif value.__class__ is str:
            if not value:
                empty.append(name)
            elif value[0] in _STARTERS:
                value = tabular.neutralise(value)
            row.append(value)
        elif value.__class__ is int:
            row.append(value)
        elif value.__class__ is dt.datetime:  # (digits first: never quoted)
            row.append(value.isoformat(timespec="microseconds"))
        else:
            if value == "":
                empty.append(name)
            row.append(tabular.neutralise(_cell(value)))
    row += (prev_chain, entry["chain"], " ".join(empty))
    return row


_STARTERS = tabular.TRIGGERS | {tabular.QUOTE}


def _jst_text(value: dt.datetime) -> str:
    if value.tzinfo is None and value.year >= 1000:  # (as strftime below, without a time zone)
        return jst_wall(value).isoformat(" ", "seconds")
    return to_jst(value).strftime("%Y-%m-%d %H:%M:%S")


def stream(engine, key: bytes, export: ExportPlan, *,
           progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The package's bytes. ``progress(n)`` is called with the number of log
    entries read since the last call."""
    package = _Package(export.generated_at)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one snapshot for every file
            conn.execution_options(isolation_level="REPEATABLE READ")
        yield from _log_members(conn, key, export, package, progress)
        for path, rows in _record_files(conn, export):
            package.csv_member(path, rows)
            yield package.sink.take()
        for path, data in _erasure_certificates(conn, export):
            with package.member(path) as out:
                out.write(data)
            yield package.sink.take()
        with package.member("activity_summary.html") as out:
            out.write(_summary_html(conn, export))
        package.csv_member(CHECKPOINTS, _checkpoint_rows(conn, export))
        yield package.sink.take()
        if export.tlog is not None:
            for path, content in package_tlog.members(conn, export, export.tlog):
                with package.member(path) as out:
                    if isinstance(content, bytes):
                        out.write(content)
                    else:
                        for block in content:
                            out.write(block)
                            yield package.sink.take()
                yield package.sink.take()
    manifest = manifest_text(key, export, package.files, package.segment)
    with package.member(MANIFEST) as out:
        out.write(manifest)
    if export.tlog is not None:
        with package.member(MANIFEST_SIG) as out:
            out.write(package_tlog.manifest_signature(export.tlog, manifest.encode("utf-8")))
    yield package.close()


def _start_chain(conn, seq: int) -> str:
    """The chain value before entry ``seq`` (the archive cut's, if it was archived)."""
    if seq <= 1:
        return chain.GENESIS
    value = conn.scalar(select(AccessLogEntry.chain).where(AccessLogEntry.seq == seq - 1))
    if value is None:
        value = conn.scalar(select(AccessLogArchive.chain).where(AccessLogArchive.upto_seq == seq - 1))
    if value is None:
        raise ExportError("export.error.log_incomplete")
    return value


@dataclass
class Segment:
    """The chain segment walked during the export, and what its walk found."""

    first_seq: int
    last_seq: int
    start_chain: str
    end_chain: str
    report: chain.Report = field(default_factory=chain.Report)

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def checked(self) -> int:
        return self.report.checked

    @property
    def status(self) -> str:
        """The manifest's ``chain_status``: ``ok``, or the first finding and how many."""
        first = self.report.first
        if first is None:
            return "ok"
        count = self.report.total
        return f"broken at {first.where} ({first.key}); {count} finding{'s' if count > 1 else ''}"


def _log_members(conn, key, export: ExportPlan, package: _Package, progress) -> Iterator[bytes]:
    start_chain = export.start_chain
    segment = Segment(export.first_seq, export.last_seq, start_chain, start_chain,
                      chain.Report(start_seq=export.first_seq - 1, start_chain=start_chain))
    # Only authenticated checkpoints count; the others are for ``intranet audit verify`` to report.
    walker = chain.Walker(key, segment.report, checkpoint_stream(
        key, export.generated_at, None,
        database_checkpoints(conn, export.first_seq, export.last_seq)))
    sheets, sheet_rows = 0, SHEET_ROWS
    previous, unreported = start_chain, 0
    # export.includes(entry), with the period's bounds computed once (not twice an entry)
    code, period_start, period_end = export.code, export.start, export.end
    stragglers = export.tlog.stragglers if export.tlog is not None else None
    with tempfile.TemporaryFile() as cases_file, tempfile.TemporaryFile() as workbook_file:
        # (the fastest writer measured: openpyxl, XlsxWriter and this, docs/audit.md)
        # (the package's time stamp on its parts: the same data, the same bytes)
        workbook = tabular.StreamingWorkbook(workbook_file, date_time=package.date_time)
        cases_text = io.TextIOWrapper(cases_file, encoding="utf-8", newline="")
        cases_text.write(BOM)
        cases_csv = tabular.CsvWriter(cases_text)
        cases_csv.writerow(("entry_seq", "position", "case_id", "case_no"))
        with package.member(ENTRIES) as out:
            out.write(BOM)
            tabular.CsvWriter(out).writerow(ENTRY_COLUMNS)
            # rows gathered here and handed to the ZIP member a block at a time
            buffer = io.StringIO()
            entries_csv, buffered = csv.writer(buffer, lineterminator="\r\n"), 0
            for entry, cases in stored_rows(conn, export.first_seq - 1):
                seq = entry["seq"]
                if seq > export.last_seq:
                    break
                walker.step(entry, cases)
                if entry["organisation"] != code:
                    pass
                elif not period_start <= entry["occurred_at"] < period_end:
                    if stragglers is not None:  # (the organisation's, out of the period: a proof needs it)
                        stragglers[seq] = chain.canonical(entry, cases)
                else:
                    jst = _jst_text(entry["occurred_at"])
                    entries_csv.writerow(_csv_entry_row(entry, previous, jst))
                    buffered += 1
                    if buffered >= 500:
                        out.write(buffer.getvalue())
                        buffer.seek(0)
                        buffer.truncate()
                        buffered = 0
                    if cases:
                        cases_csv.writerows((seq, n, case_id, case_no)
                                            for n, (case_id, case_no) in enumerate(cases))
                    if sheet_rows >= SHEET_ROWS:
                        sheets += 1
                        workbook.add_sheet(f"アクセスログ{sheets}")
                        workbook.append([ja for _, ja in WORKBOOK_COLUMNS])
                        sheet_rows = 0
                    workbook.append(_workbook_row(entry, jst))
                    sheet_rows += 1
                previous = entry["chain"]
                unreported += 1
                if unreported >= 2000:
                    if progress:
                        progress(unreported)
                    unreported = 0
                    yield package.sink.take()
            out.write(buffer.getvalue())
        walker.finish(expect_through=export.last_seq)
        if progress and unreported:
            progress(unreported)
        segment.end_chain = previous
        package.segment = segment
        yield package.sink.take()
        cases_text.flush()
        cases_text.detach()
        yield from package.copy_member(CASES, cases_file)
        if not sheets:
            workbook.add_sheet("アクセスログ1")
            workbook.append([ja for _, ja in WORKBOOK_COLUMNS])
        workbook.close()
        yield from package.copy_member(WORKBOOK, workbook_file)


def _workbook_row(entry: dict, jst: str | None = None) -> tuple:
    return (entry["seq"], jst or _jst_text(entry["occurred_at"]), *_WORKBOOK_REST(entry))


_WORKBOOK_REST = itemgetter(*(name for name, _ in WORKBOOK_COLUMNS[2:]))
assert [name for name, _ in WORKBOOK_COLUMNS[:2]] == ["seq", "occurred_at_jst"]


def _jst(value: dt.datetime | None) -> str:
    return to_jst(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _record_files(conn, export: ExportPlan) -> list[tuple[str, list]]:
    """Users, contracts, slips, media ledger, erasure records and the matrix."""
    org = export.organisation_id
    users = [("ユーザーID", "氏名", "役割", "有効", "有効期間（開始）", "有効期間（終了）", "契約",
              "研修受講日", "研修名", "研修実施者", "次回受講期限", "最終ログイン", "登録日時")]
    # The latest training record taken by the end of the period (training_records).
    latest: dict[int, object] = {}
    for t in conn.execute(select(TrainingRecord.user_id, TrainingRecord.course, TrainingRecord.trainer,
                                 TrainingRecord.trained_on, TrainingRecord.next_due)
                          .join(User, User.id == TrainingRecord.user_id)
                          .where(User.organisation_id == org, TrainingRecord.trained_on <= export.date_to)
                          .order_by(TrainingRecord.trained_on, TrainingRecord.id)):
        latest[t.user_id] = t
    for u in conn.execute(select(User.id, User.login, User.display_name, User.role, User.is_active,
                                 User.valid_from, User.valid_until, User.contract_id,
                                 User.last_login_at, User.created_at)
                          .where(User.organisation_id == org).order_by(User.login)):
        t = latest.get(u.id)
        users.append((u.login, u.display_name, u.role, "有効" if u.is_active else "停止",
                      _jst(u.valid_from), _jst(u.valid_until), u.contract_id or "",
                      t.trained_on if t else "", t.course if t else "", t.trainer if t else "",
                      (t.next_due or "") if t else "", _jst(u.last_login_at), _jst(u.created_at)))
    contract_ids = [c.id for c in conn.execute(select(Contract.id).where(Contract.organisation_id == org))]
    contracts = [("契約番号", "契約名", "目的", "開始日", "終了日", "取扱責任者", "取扱者",
                  "情報保護対策", "研修必須", "消去日時", "業務の種別")]
    for c in conn.execute(select(Contract.__table__).where(Contract.organisation_id == org)
                          .order_by(Contract.id)):
        contracts.append((c.id, c.name, c.purpose, c.starts_on, c.ends_on, c.manager_name,
                          c.handler_names, c.protections, "はい" if c.training_required else "いいえ",
                          _jst(c.erased_at), CONTRACT_KINDS_JA.get(c.kind, c.kind)))
    slips = [("番号", "契約番号", "方向", "受け渡し日時", "内容", "件数", "媒体", "渡した職員",
              "受領確認者", "受領確認日時")]
    logins = dict(conn.execute(select(User.id, User.login)).all())
    labels = dict(conn.execute(select(Medium.id, Medium.label)).all())
    for s in conn.execute(select(HandoverSlip.__table__).where(
            HandoverSlip.contract_id.in_(contract_ids), HandoverSlip.handed_at >= export.start,
            HandoverSlip.handed_at < export.end).order_by(HandoverSlip.handed_at)):
        slips.append((s.id, s.contract_id, "区→委託先" if s.direction == "to_contractor" else "委託先→区",
                      _jst(s.handed_at), s.content, s.record_count, labels.get(s.medium_id, ""),
                      logins.get(s.handed_by, ""), logins.get(s.confirmed_by, ""), _jst(s.confirmed_at)))
    media = _media_rows(conn, export, contract_ids, labels, logins)
    erasures = [("契約番号", "消去日", "方法", "立会職員", "消去対象", "証明書", "記録者", "記録日時",
                 "消去件数", "使用機器")]
    for e in conn.execute(select(*[c for c in ErasureRecord.__table__.c if c.name != "certificate"])
                          .where(ErasureRecord.contract_id.in_(contract_ids))
                          .order_by(ErasureRecord.erased_on)):
        erasures.append((e.contract_id, e.erased_on, e.method, e.witness_name, e.items,
                         _certificate_name(e.contract_id, e.certificate_type),
                         logins.get(e.recorded_by, ""), _jst(e.recorded_at),
                         "" if e.records_erased is None else e.records_erased, e.devices))
    plans = [("計画番号", "年度", "研修番号", "研修名", "実施日", "講師", "内容", "必須", "受講者",
              "受講日", "次回受講期限", "記録者", "記録日時")]
    for p in conn.execute(
            select(TrainingPlan.id, TrainingPlan.fiscal_year, TrainingCourse.id.label("course_id"),
                   TrainingCourse.title, TrainingCourse.held_on, TrainingCourse.trainer,
                   TrainingCourse.summary, TrainingCourse.required, TrainingRecord.user_id,
                   TrainingRecord.trained_on, TrainingRecord.next_due, TrainingRecord.recorded_by,
                   TrainingRecord.recorded_at)
            .join(TrainingCourse, TrainingCourse.plan_id == TrainingPlan.id)
            .outerjoin(TrainingRecord, TrainingRecord.course_id == TrainingCourse.id)
            .where(TrainingPlan.organisation_id == org)
            .order_by(TrainingPlan.fiscal_year, TrainingCourse.held_on, TrainingCourse.id,
                      TrainingRecord.trained_on, TrainingRecord.id)):
        plans.append((p.id, p.fiscal_year, p.course_id, p.title, p.held_on, p.trainer, p.summary,
                      "はい" if p.required else "いいえ", logins.get(p.user_id, ""),
                      p.trained_on or "", p.next_due or "", logins.get(p.recorded_by, ""),
                      _jst(p.recorded_at)))
    report = matrix_report.build()
    matrix = [("作成日時", _jst(export.generated_at), "指紋（SHA-256）", report.fingerprint)]
    matrix += matrix_report.table(report, "ja")
    return [("users.csv", users), ("contracts.csv", contracts), ("handover_slips.csv", slips),
            ("media_ledger.csv", media), ("erasure_records.csv", erasures),
            ("permission_matrix.csv", matrix), ("checklists.csv", _checklist_rows(conn, export)),
            ("incidents.csv", _incident_rows(conn, export)),
            ("training_plans.csv", plans)]


#: Kinds of contract as the ward writes them (issue 25).
CONTRACT_KINDS_JA = {"call_center": "納税コールセンター", "field_survey": "区外転出者の現地調査"}

#: Ledger words as the ward writes them (issue 23).
MEDIUM_KINDS_JA = {"registered": "登録", "lent": "貸出", "returned": "返却", "wiped": "消去",
                   "disposed": "廃棄", "lost": "紛失", "found": "発見"}
MEDIUM_STATES_JA = {"registered": "未使用", "lent": "貸出中", "returned": "返却済（未消去）",
                    "wiped": "消去済", "disposed": "廃棄済", "lost": "紛失"}


def _media_rows(conn, export: ExportPlan, contract_ids, labels, logins) -> list:
    """media_ledger.csv: every event of the period tied to one of the
    organisation's contracts (lent, returned, wiped, lost, found, disposed),
    with the medium's state before and after it (replayed over the medium's
    whole history) and the slip that caused it."""
    from ..survey.media import replay

    header = ("媒体", "記録", "日時", "契約番号", "受け渡し票番号", "状態（前）", "状態（後）",
              "遷移", "記録者", "立会者", "備考", "報告")
    medium_ids = select(MediumEvent.medium_id).where(MediumEvent.contract_id.in_(contract_ids))
    history: dict[int, list] = {}
    for m in conn.execute(select(MediumEvent.__table__).where(MediumEvent.medium_id.in_(medium_ids))
                          .order_by(MediumEvent.medium_id, MediumEvent.at, MediumEvent.id)):
        history.setdefault(m.medium_id, []).append(m)
    steps = [step for events in history.values() for step in replay(events)
             if step.event.contract_id in contract_ids
             and export.start <= step.event.at < export.end]
    steps.sort(key=lambda step: (step.event.at, step.event.id))
    rows = [header]
    for step in steps:
        m = step.event
        rows.append((labels.get(m.medium_id, ""), MEDIUM_KINDS_JA.get(m.kind, m.kind), _jst(m.at),
                     m.contract_id, m.slip_id or "",
                     MEDIUM_STATES_JA.get(step.before, "") if step.before else "",
                     MEDIUM_STATES_JA.get(step.after, step.after),
                     "可" if step.regular else "不可（移行前の記録・状態は変わらず）",
                     logins.get(m.recorded_by, ""), m.witness, m.note, m.report))
    return rows


#: 事故報告 words as the ward writes them (issue 25).
INCIDENT_KINDS_JA = {"wrong_person": "誤架電・本人以外への案内", "missent_letter": "誤送付",
                     "medium": "媒体の紛失・毀損", "unauthorised": "不正アクセス・目的外利用", "other": "その他"}
INCIDENT_STATES_JA = {"filed": "報告済（受理待ち）", "acknowledged": "受理・指示済", "closed": "完了"}


def _incident_rows(conn, export: ExportPlan) -> list:
    """incidents.csv: the organisation's incident reports (事故報告, issue 25)
    filed in the period or still open at its start: every step dated and
    attributed, the cases by number and the media by label (no other case
    data), the texts as written (the tabular writer's formula guard applies)."""
    from ..models import Case, Incident, IncidentCase, IncidentMedium

    header = ("番号", "種別", "状態", "発生日時", "発見日時", "報告日時", "報告者", "事故の状況", "対象案件",
              "関係媒体", "初動対応", "受理日時", "受理者", "区の指示", "完了日時", "完了者", "完了時の確認")
    rows = [header]
    logins = dict(conn.execute(select(User.id, User.login)).all())
    found = conn.execute(select(Incident.__table__).where(
        Incident.organisation_id == export.organisation_id, Incident.filed_at < export.end,
        (Incident.filed_at >= export.start) | Incident.closed_at.is_(None)
        | (Incident.closed_at >= export.start)).order_by(Incident.filed_at, Incident.id)).all()
    ids = [i.id for i in found]
    cases: dict[int, list[str]] = {}
    media: dict[int, list[str]] = {}
    if ids:
        for incident_id, case_no in conn.execute(
                select(IncidentCase.incident_id, Case.case_no).join(Case, Case.id == IncidentCase.case_id)
                .where(IncidentCase.incident_id.in_(ids)).order_by(IncidentCase.id)):
            cases.setdefault(incident_id, []).append(case_no)
        for incident_id, label in conn.execute(
                select(IncidentMedium.incident_id, Medium.label).join(Medium, Medium.id == IncidentMedium.medium_id)
                .where(IncidentMedium.incident_id.in_(ids)).order_by(IncidentMedium.id)):
            media.setdefault(incident_id, []).append(label)
    for i in found:
        rows.append((i.id, INCIDENT_KINDS_JA.get(i.kind, i.kind), INCIDENT_STATES_JA.get(i.state, i.state),
                     _jst(i.occurred_at), _jst(i.discovered_at), _jst(i.filed_at), logins.get(i.filed_by, ""),
                     i.description, " ".join(cases.get(i.id, [])), " ".join(media.get(i.id, [])),
                     i.first_actions, _jst(i.acknowledged_at), logins.get(i.acknowledged_by, ""),
                     i.instructions, _jst(i.closed_at), logins.get(i.closed_by, ""), i.closing_note))
    return rows


def _checklist_rows(conn, export: ExportPlan) -> list:
    """Completed 確認記録票 from the period's first day to the day of the export
    (the on-site inspection usually comes after the period it looks at)."""
    from sqlalchemy.orm import Session

    from .checklist import ROW_HEADERS, checklist_rows, checklists_for

    with Session(bind=conn) as session:
        found = checklists_for(session, export.organisation_id, export.date_from,
                               max(export.date_to, to_jst(export.generated_at).date()))
        rows = checklist_rows(found)
    return [ROW_HEADERS] + [[row[name] for name in ROW_HEADERS] for row in rows]


def _certificate_name(contract_id: int, content_type: str) -> str:
    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(content_type, "bin")
    return f"erasure_certificates/contract-{contract_id}.{ext}"


def _erasure_certificates(conn, export: ExportPlan):
    for row in conn.execute(select(ErasureRecord.contract_id, ErasureRecord.certificate_type,
                                   ErasureRecord.certificate)
                            .join(Contract, Contract.id == ErasureRecord.contract_id)
                            .where(Contract.organisation_id == export.organisation_id)):
        yield _certificate_name(row.contract_id, row.certificate_type), row.certificate


def _checkpoint_rows(conn, export: ExportPlan) -> list:
    """Checkpoints from the last one before the range to the first one after it."""
    c = AccessLogCheckpoint
    before = conn.scalar(select(func.max(c.seq)).where(c.seq < export.first_seq)) or 0
    after = conn.scalar(select(func.min(c.seq)).where(c.seq > export.last_seq))
    query = select(c.seq, c.chain, c.created_at).where(c.seq >= before).order_by(c.seq, c.id)
    if after is not None:
        query = query.where(c.seq <= after)
    return [("seq", "chain", "created_at_utc")] + [
        (r.seq, r.chain, r.created_at.isoformat(timespec="seconds")) for r in conn.execute(query)]


def _summary_html(conn, export: ExportPlan) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape
    from sqlalchemy.orm import Session

    from ..i18n import translate
    from . import activity

    env = Environment(loader=PackageLoader("intranet", "templates"), autoescape=select_autoescape())
    with Session(bind=conn) as session:
        organisation = session.get(Organisation, export.organisation_id)
        result = activity.build(session, organisation, export.date_from, export.date_to)
        return env.get_template("audit/export_summary.jinja2").render(
            a=result, plan=export, generated=to_jst(export.generated_at),
            _=lambda key, **kw: translate("ja", key, **kw))


# ------------------------------------------------------------------ manifest


def _signature(key: bytes, body: str) -> str:
    return hmac.new(key, b"inspection-export\n" + body.encode("utf-8"), hashlib.sha256).hexdigest()


def manifest_text(key: bytes, export: ExportPlan, files, segment: Segment) -> str:
    lines = [
        f"format: {FORMAT_SIGNED if export.tlog is not None else FORMAT}",
        f"organisation: {export.code}",
        f"organisation_name: {export.name}",
        f"period: {export.date_from.isoformat()}..{export.date_to.isoformat()} (JST)",
        f"generated_at: {to_jst(export.generated_at).isoformat(timespec='seconds')}",
        f"entries: {export.entries}",
        f"seq_range: {export.first_seq}-{export.last_seq}",
        f"chain_start: {segment.start_chain}",
        f"chain_end: {segment.end_chain}",
        f"chain_checked: {segment.checked}",
        f"chain_status: {segment.status}",
    ]
    if export.tlog is not None:
        lines += export.tlog.manifest_lines()
    lines += [f"file: {sha} {size} {path}" for path, size, sha in files]
    body = "\n".join(lines) + "\n"
    return body + f"hmac-sha256: {_signature(key, body)}\n"


# ------------------------------------------------------------------ verifying


@dataclass
class ExportVerification:
    ok: bool
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            return f"OK: manifest, every file and {self.entries} entries verified"
        return "FAILED:\n" + "\n".join(f"  - {p}" for p in self.problems)


def _parse_manifest(text: str) -> tuple[dict, list[tuple[str, int, str]], str, str]:
    body, _, last = text.rpartition("hmac-sha256: ")
    values, files = manifest_lines(body)
    return values, files, body, last.strip()


def verify_file(path, key: bytes, *, workers: int | None = None) -> ExportVerification:
    """Check a package offline: the manifest's HMAC, every file's size and
    SHA-256, no file added or missing, and every entry's own chain link,
    organisation and time against the manifest. ``workers``: processes that
    check the entries (default ``os.cpu_count()``; 1: this process only)."""
    result = ExportVerification(ok=True)

    def problem(text):
        result.ok = False
        result.problems.append(text)

    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return ExportVerification(False, problems=[f"not a readable ZIP: {exc}"])
    with archive:
        try:
            values, files, body, signature = _parse_manifest(archive.read(MANIFEST).decode("utf-8"))
        except (KeyError, UnicodeDecodeError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
            return ExportVerification(False, problems=[f"MANIFEST missing or unreadable: {exc}"])
        if not hmac.compare_digest(_signature(key, body), signature):
            problem("MANIFEST signature does not match (edited, or another key)")
        for _, text in member_problems(archive, files):
            problem(text)
        if values.get("chain_status") != "ok":
            problem(f"the log's chain was not intact when exported: {values.get('chain_status')}")
        if result.ok:
            _verify_entries(archive, key, values, result, problem, workers)
    return result


#: Packages of at least this many entries are checked in parallel first
#: (:func:`export_check.check_parallel`); smaller ones in one process.
PARALLEL_ENTRIES = 20_000


def _verify_entries(archive, key, values, result, problem, workers: int | None = None) -> None:
    period = values["period"].split(" ")[0]
    date_from, date_to = (dt.date.fromisoformat(d) for d in period.split(".."))
    start, end = utc_start(date_from), utc_start(date_to + dt.timedelta(days=1))
    first, last = (int(v) for v in values["seq_range"].split("-"))
    plain = values.get("format") == "intranet-inspection-export/1"
    text = str if plain else tabular.unquote
    organisation = values["organisation"]
    workers = export_check.workers() if workers is None else workers
    if workers > 1 and int(values["entries"]) >= PARALLEL_ENTRIES:
        # Every entry intact: the count. Anything else: the walk below reports it.
        count = export_check.check_parallel(
            archive, ENTRIES, CASES, key=key, organisation=organisation, start=start, end=end,
            first=first, last=last, plain=plain, workers=workers, row_parser=_row_parser)
        if count is not None and count == int(values["entries"]):
            result.entries = count
            return
    cases = _case_groups(archive, text)
    pending = next(cases, None)
    count, last_seq = 0, first - 1
    link, encode, fromisoformat = chain.link, chain.encode, dt.datetime.fromisoformat
    with archive.open(ENTRIES) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        header = next(reader, [])
        parse = _row_parser(header, text)
        encoder = export_check.RowEncoder(header, plain)
        common = encoder.common
        seq_at, at_at, org_at = encoder.seq_at, encoder.at_at, encoder.org_at
        prev_at, chain_at = encoder.prev_at, encoder.chain_at
        for row in reader:
            if common(row):  # the same values as parse(row), without the mapping
                seq, at, org = int(row[seq_at]), fromisoformat(row[at_at]), row[org_at] or None
                previous, stored, content = row[prev_at], row[chain_at], None
            else:
                seq, at, org, previous, stored, content = parse(row)
            disclosed = []
            if pending is not None and pending[0] == seq:
                disclosed, pending = pending[1], next(cases, None)
            count += 1
            if not last_seq < seq <= last:
                problem(f"entry {seq}: outside the sequence range or out of order")
            last_seq = seq
            if org != organisation or not start <= at < end:
                problem(f"entry {seq}: not of this organisation and period")
            if content is None:
                data = encoder.encode(row, disclosed, at)
            else:
                content["cases"] = disclosed
                data = encode(content)
            if link(key, previous, data) != stored:
                problem(f"entry {seq}: chain link does not verify")
            if len(result.problems) > 20:
                problem("too many problems; stopped")
                return
    if pending is not None:
        problem(f"disclosed cases of entry {pending[0]} belong to no exported entry")
    if count != int(values["entries"]):
        problem(f"{count} entries in {ENTRIES}, the manifest says {values['entries']}")
    result.entries = count


def _case_groups(archive, text=tabular.unquote):
    """``(entry seq, [[case_id, case_no], ...])`` of ``disclosed_cases.csv`` in order."""
    from itertools import groupby

    with archive.open(CASES) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        index = {name: n for n, name in enumerate(next(reader, []))}
        seq_at, id_at, no_at = index["entry_seq"], index["case_id"], index["case_no"]
        for seq, rows in groupby(reader, key=lambda r: int(r[seq_at])):
            yield seq, [[int(r[id_at]), text(r[no_at])] for r in rows]


def _row_parser(header: list[str], text=tabular.unquote):
    """A function of an ``entries.csv`` row (a list, in ``header``'s order)
    giving ``(seq, occurred_at, organisation, prev_chain, chain, content)``:
    ``content`` the entry's chained fields as :func:`chain.encode` takes
    them, each read as :func:`_entry_from_row` reads it (one pass over the
    row, no mapping per row: verify-export's inner loop, issue 21)."""
    index = {name: n for n, name in enumerate(header)}
    try:
        columns = [(name, index[name], 1 if name in INT_FIELDS else 2 if name == "occurred_at" else 0)
                   for name in chain.FIELDS]
        empty_at, prev_at, chain_at = index["empty_strings"], index["prev_chain"], index["chain"]
    except KeyError as exc:
        raise ValueError(f"{ENTRIES}: no column {exc}") from None
    quote, sorted_keys = tabular.QUOTE, chain.SORTED
    fromisoformat = dt.datetime.fromisoformat

    def parse(row: list[str]):
        content = dict.fromkeys(sorted_keys)
        empty = row[empty_at]
        empty = set(empty.split()) if empty else ()
        at = None
        for name, n, kind in columns:
            value = row[n]
            if not value:
                content[name] = "" if name in empty else None
            elif not kind:
                content[name] = text(value) if value[0] == quote else value
            elif kind == 1:
                content[name] = int(value)
            else:
                at = fromisoformat(value)
                content[name] = at.isoformat(timespec="microseconds")
        return content["seq"], at, content["organisation"], row[prev_at], row[chain_at], content
    return parse


def _entry_from_row(row: dict, text=tabular.unquote) -> dict:
    """The chained fields of an ``entries.csv`` row; ``text`` undoes the quote
    the writer put before formula-like text."""
    empty = set(row["empty_strings"].split())
    entry = {}
    for name in chain.FIELDS:
        value = row[name]
        if value == "":
            entry[name] = "" if name in empty else None
        elif name in INT_FIELDS:
            entry[name] = int(value)
        elif name == "occurred_at":
            entry[name] = dt.datetime.fromisoformat(value)
        else:
            entry[name] = text(value)
    return entry

