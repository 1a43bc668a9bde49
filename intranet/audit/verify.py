"""Verifying the access log stored in the database (``intranet audit verify``).

Nothing in the database is taken on its word. The chain is walked from the
newest archive cut that proves itself (:func:`cut_problem`); checkpoints,
from the database or a file kept elsewhere, count only if their MAC under
the log key verifies and they are not dated in the future
(:func:`checkpoint_problem`). Everything else found is reported, each
finding with its kind and sequence number (:class:`intranet.audit.chain.Report`).
"""
from __future__ import annotations

import datetime as dt
import heapq
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from itertools import groupby, islice

from sqlalchemy import func, select

from ..clock import SystemClock
from ..models import AccessLogArchive, AccessLogCase, AccessLogCheckpoint, AccessLogEntry
from . import chain
from .chain import Break, Finding, Reason, Source
from .events import AuditEvent

BATCH = 2000
_COLUMNS = [AccessLogEntry.__table__.c[name] for name in chain.FIELDS] + [
    AccessLogEntry.__table__.c.chain]
_NAMES = (*chain.FIELDS, "chain")

#: A checkpoint dated later than the verifier's clock plus this is not trusted.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
#: ``intranet.audit.retention_years`` when the ini does not say.
RETENTION_YEARS = 5

def stored_rows(conn, after_seq: int = 0, batch: int = BATCH):
    """``(entry, cases)`` in sequence order, read in batches (constant memory)."""
    cases_t = AccessLogCase.__table__
    last = after_seq
    while True:
        entries = [dict(zip(_NAMES, row)) for row in conn.execute(
            select(*_COLUMNS).where(AccessLogEntry.seq > last)
            .order_by(AccessLogEntry.seq).limit(batch)).all()]  # (one fetch, not one a row)
        if not entries:
            return
        low, high = entries[0]["seq"], entries[-1]["seq"]
        disclosed = {
            seq: [(r.case_id, r.case_no) for r in rows]
            for seq, rows in groupby(conn.execute(
                select(cases_t.c.entry_seq, cases_t.c.case_id, cases_t.c.case_no)
                .where(cases_t.c.entry_seq.between(low, high))
                .order_by(cases_t.c.entry_seq, cases_t.c.position)).all(), key=lambda r: r.entry_seq)
        }
        for entry in entries:
            yield entry, disclosed.get(entry["seq"], [])
        last = high


# ------------------------------------------------------------------ retention cuts


def retention_limit(now: dt.datetime, years: int) -> dt.datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def archivable(before: dt.datetime, now: dt.datetime, years: int) -> bool:
    """Entries older than ``before`` may leave the database at ``now``: the cut
    lies outside the retention period. Archiving (``archive.plan``) and
    verifying a recorded cut use this one rule."""
    return before <= retention_limit(now, years)


def cut_problem(conn, key: bytes, cut, retention_years: int, *, need_event: bool = True
                ) -> Reason | None:
    """Why an ``access_log_archives`` row does not prove itself, or None.

    A cut is proven by its MAC (only the key's holder makes one), by a
    ``before`` outside the retention period as of its own ``created_at``, and
    by the ``audit.archived`` event the procedure appends: an entry after the
    cut, naming its ``upto_seq`` and file hash, whose own link verifies.
    ``need_event=False`` for cuts below a proven one (a later cut may have
    archived their event)."""
    if not chain.seal_ok(key, cut.mac, "cut", cut.upto_seq, cut.chain, cut.file_sha256,
                         cut.before, cut.created_at):
        return Reason.CutMac
    if not archivable(cut.before, cut.created_at, retention_years):
        return Reason.CutRetention
    if need_event and not _archived_event(conn, key, cut):
        return Reason.CutEvent
    return None


def _archived_event(conn, key: bytes, cut) -> bool:
    events = conn.execute(select(AccessLogEntry.seq, AccessLogEntry.detail).where(
        AccessLogEntry.event == AuditEvent.AuditArchived, AccessLogEntry.seq > cut.upto_seq)
        .order_by(AccessLogEntry.seq)).all()
    for seq, detail in events:
        try:
            named = json.loads(detail or "{}")
        except ValueError:
            continue
        if (isinstance(named, dict) and named.get("upto_seq") == cut.upto_seq
                and named.get("file_sha256") == cut.file_sha256 and _authentic(conn, key, seq, cut)):
            return True
    return False


def _authentic(conn, key: bytes, seq: int, cut) -> bool:
    """The entry ``seq`` links under the key to its predecessor's stored chain
    value (or to the cut's, when the cut ends right before it)."""
    rows = {entry["seq"]: (entry, cases)
            for entry, cases in islice(stored_rows(conn, seq - 2, batch=2), 2)
            if entry["seq"] in (seq - 1, seq)}
    if seq not in rows:
        return False
    entry, cases = rows[seq]
    predecessors = {cut.chain} if seq - 1 == cut.upto_seq else set()
    if seq - 1 in rows:
        predecessors.add(rows[seq - 1][0]["chain"])
    content = chain.canonical(entry, cases)
    return any(chain.link(key, value, content) == entry["chain"] for value in predecessors)


def proven_cut(conn, key: bytes, retention_years: int, report: chain.Report | None = None):
    """The newest cut that proves itself (None: verify from the first entry),
    and ``{upto_seq: {chain values}}`` of every cut (only ever tried as a
    predecessor's value). Every other cut above it, and any cut below it
    whose MAC or retention fails, goes into ``report`` as unproven."""
    proven, claims = None, {}
    for cut in conn.execute(select(AccessLogArchive.__table__)
                            .order_by(AccessLogArchive.upto_seq.desc(), AccessLogArchive.id.desc())):
        claims.setdefault(cut.upto_seq, set()).add(cut.chain)
        problem = cut_problem(conn, key, cut, retention_years, need_event=proven is None)
        if problem is None:
            proven = proven or cut
        elif report is not None:
            report.add(Finding(Break.UnprovenCut, cut.upto_seq, reason=problem, row_id=cut.id))
    return proven, claims


# ------------------------------------------------------------------ checkpoints


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    chain: str
    at: dt.datetime | None  # naive UTC
    mac: str | None
    source: Source
    ref: int                # the row id, or the file's line number


def checkpoint_problem(key: bytes, checkpoint: Checkpoint, now: dt.datetime) -> Finding | None:
    """Why a checkpoint is not trusted, or None.

    A file line without a MAC (written before MACs existed) is trusted: the
    file is kept where the database administrator cannot write. A database
    row without one is not (anyone with the database could have inserted it)."""
    if checkpoint.mac is None and checkpoint.source == Source.File:
        return None
    if not checkpoint.mac:
        reason = Reason.NoMac
    elif checkpoint.at is None or not chain.seal_ok(key, checkpoint.mac, "checkpoint",
                                                    checkpoint.seq, checkpoint.chain, checkpoint.at):
        reason = Reason.WrongMac
    elif checkpoint.at > now + FUTURE_TOLERANCE:
        return Finding(Break.FutureCheckpoint, checkpoint.seq, source=checkpoint.source,
                       row_id=checkpoint.ref)
    else:
        return None
    return Finding(Break.ForgedCheckpoint, checkpoint.seq, reason=reason, source=checkpoint.source,
                   row_id=checkpoint.ref)


def parse_at(text: str) -> dt.datetime:
    """A checkpoint line's ``at`` (ISO, UTC, with or without ``Z``) as naive UTC."""
    value = dt.datetime.fromisoformat(text[:-1] if text.endswith("Z") else text)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def parse_checkpoint_line(line: str, number: int) -> Checkpoint:
    data = json.loads(line)
    at, mac = data.get("at"), data.get("mac")
    return Checkpoint(int(data["seq"]), str(data["chain"]), parse_at(at) if at else None,
                      str(mac) if mac is not None else None, Source.File, number)


class CheckpointFile:
    """The checkpoints of a file of JSON lines, in sequence order.

    Every line is read and checked when the file is opened (a malformed line
    raises ``ValueError`` naming it), then kept in a temporary SQLite file
    that hands them back sorted: a file of millions of checkpoints costs no
    memory. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str):
        self.path = path
        handle, self._db_path = tempfile.mkstemp(suffix=".sqlite")
        os.close(handle)
        self._db = sqlite3.connect(self._db_path)
        self._db.execute("CREATE TABLE c (seq INTEGER, line INTEGER, chain TEXT, at TEXT, mac TEXT)")
        self.count = 0
        try:
            with open(path, encoding="utf-8") as f:
                self._db.executemany("INSERT INTO c VALUES (?, ?, ?, ?, ?)", self._parse(f))
            self._db.execute("CREATE INDEX c_seq ON c (seq, line)")
        except BaseException:
            self.close()
            raise

    def _parse(self, lines):
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line:
                continue
            try:
                c = parse_checkpoint_line(line, number)
            except (ValueError, KeyError, TypeError, AttributeError):
                raise ValueError(f"{self.path}:{number}: not a checkpoint line") from None
            self.count += 1
            yield c.seq, number, c.chain, c.at.isoformat() if c.at else None, c.mac

    def __iter__(self):
        for seq, number, value, at, mac in self._db.execute(
                "SELECT seq, line, chain, at, mac FROM c ORDER BY seq, line"):
            yield Checkpoint(seq, value, dt.datetime.fromisoformat(at) if at else None, mac,
                             Source.File, number)

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        self._db.close()
        os.unlink(self._db_path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def database_checkpoints(conn, low: int | None = None, high: int | None = None):
    """The ``access_log_checkpoints`` rows in sequence order, streamed."""
    c = AccessLogCheckpoint
    query = select(c.id, c.seq, c.chain, c.created_at, c.mac).order_by(c.seq, c.id)
    if low is not None:
        query = query.where(c.seq >= low)
    if high is not None:
        query = query.where(c.seq <= high)
    for row in conn.execute(query.execution_options(stream_results=True, yield_per=BATCH)):
        yield Checkpoint(row.seq, row.chain, row.created_at, row.mac, Source.Database, row.id)


def checkpoint_stream(key: bytes, now: dt.datetime, report: chain.Report | None, *sources,
                      claims: dict | None = None):
    """``(seq, trusted values, untrusted values)`` per sequence number, merged
    from ``sources`` (each in seq order), as :class:`chain.Walker` takes them.

    Untrusted checkpoints (forged, edited, legacy, future-dated) go into
    ``report`` and are never trusted; their values, and ``claims`` (the cuts'
    chain values), are only tried as predecessors. Two trusted checkpoints
    that disagree on one seq (a file line and a database row, say) are a
    ``checkpoint_conflict``."""
    claims = claims or {}
    pending = sorted(claims)
    merged = heapq.merge(*sources, key=lambda c: c.seq)
    for seq, group in groupby(merged, key=lambda c: c.seq):
        while pending and pending[0] < seq:
            extra = pending.pop(0)
            yield extra, set(), set(claims[extra])
        trusted, untrusted, sources_of = set(), set(claims.get(seq, ())), {}
        for checkpoint in group:
            problem = checkpoint_problem(key, checkpoint, now)
            if problem is not None:
                if report is not None:
                    report.add(problem)
                untrusted.add(checkpoint.chain)
            else:
                trusted.add(checkpoint.chain)
                sources_of.setdefault(checkpoint.chain, set()).add(checkpoint.source)
        if pending and pending[0] == seq:
            pending.pop(0)
        if len(trusted) > 1 and report is not None:
            kinds = sorted(set().union(*sources_of.values()))
            report.add(Finding(Break.CheckpointConflict, seq, source="+".join(kinds)))
        yield seq, trusted, untrusted
    for extra in pending:
        yield extra, set(), set(claims[extra])


# ------------------------------------------------------------------ the whole log


def verify_database(conn, key: bytes, file_checkpoints=(), *, now: dt.datetime | None = None,
                    retention_years: int = RETENTION_YEARS, limit: int = chain.LIMIT
                    ) -> chain.Report:
    """Walk the whole stored chain and report everything found.

    It starts after the newest proven archive cut (entries before it were
    exported and removed by the retention procedure); any other cut is
    reported and ignored, so entries it claims to cover that are gone are
    reported missing. Every trusted checkpoint above the start, from the
    database or from ``file_checkpoints`` (a :class:`CheckpointFile`, or
    :class:`Checkpoint` items in seq order), must match the log, which must
    reach the newest of them; untrusted ones are reported and ignored."""
    now = now or SystemClock().now()
    report = chain.Report(limit=limit)
    cut, claims = proven_cut(conn, key, retention_years, report)
    start_seq, start_chain = (cut.upto_seq, cut.chain) if cut else (0, chain.GENESIS)
    groups = checkpoint_stream(key, now, report, database_checkpoints(conn), iter(file_checkpoints),
                               claims=claims)
    return chain.verify(key, stored_rows(conn, start_seq), start_seq=start_seq,
                        start_chain=start_chain, checkpoints=groups, report=report)


def describe(finding: Finding, locale: str) -> str:
    """One finding in words: its message, then where it was read and why."""
    from ..i18n import translate

    text = translate(locale, finding.key)
    extra = [translate(locale, f"audit.verify.source.{s}") for s in (finding.source or "").split("+") if s]
    if finding.reason:
        extra.append(translate(locale, f"audit.verify.reason.{finding.reason}"))
    return text + (f" ({', '.join(extra)})" if extra else "")


def report_lines(report: chain.Report) -> list[str]:
    """Every finding, in sequence order, in Japanese and English."""
    from ..i18n import translate

    lines = [f"  {finding}: {describe(finding, 'ja')} / {describe(finding, 'en')}"
             for finding in report.sorted()]
    for kind, count in report.omitted.items():
        lines.append("  " + " / ".join(translate(lang, "audit.verify.omitted", count=count, kind=kind)
                                       for lang in ("ja", "en")))
    return lines


def entry_count(conn) -> int:
    return conn.scalar(select(func.count()).select_from(AccessLogEntry))
