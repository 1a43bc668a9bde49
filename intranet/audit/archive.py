"""Retention: archiving entries older than the retention period.

The procedure (``intranet audit archive``), documented in docs/audit.md:

1. verify the whole chain in the database (refuse if it is broken);
2. take the oldest contiguous run of entries that all began before the cut
   date, which must be older than ``intranet.audit.retention_years``
   (default 5, the limitation period of local-tax collection);
3. export them with their disclosed cases and chain values to a new file of
   JSON lines, then re-read the file and verify its chain;
4. append an ``audit.archived`` event naming the range and the file's
   SHA-256, so the removal is in the log before it happens;
5. in one transaction: extend the Merkle tree over the entries (its leaves
   are kept), record the cut in ``access_log_archives`` (last
   sequence number, its chain value, the file's SHA-256, sealed with the log
   key: :func:`intranet.audit.chain.seal`), after which the triggers allow,
   and only then, deleting those entries; delete them;
6. write a checkpoint at the cut.

Verification of the remaining log starts from the newest cut that proves
itself (its MAC, a ``before`` outside the retention period, and its event in
the chain after it: :func:`intranet.audit.verify.cut_problem`), so the chain
stays verifiable, and a cut row inserted by hand proves nothing. The event
comes first so that a crash between the steps never leaves a cut without its
proof; an event whose cut was never recorded proves and removes nothing. The
archive file verifies on its own with :func:`verify_archive_file`.
"""
from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select

from ..models import AccessLogArchive, AccessLogCase, AccessLogEntry
from . import chain, tree
from .checkpoints import Checkpointer
from .events import AuditEvent
from .verify import RETENTION_YEARS, archivable, retention_limit, stored_rows, verify_database

FORMAT = "intranet-access-log-archive/1"


class ArchiveError(Exception):
    """The archive cannot be made; nothing was changed."""


@dataclass
class ArchivePlan:
    from_seq: int
    upto_seq: int
    start_chain: str
    before: dt.datetime  # UTC

    @property
    def entries(self) -> int:
        return max(0, self.upto_seq - self.from_seq + 1)


def plan(conn, key: bytes, before: dt.datetime, now: dt.datetime,
         retention_years: int = RETENTION_YEARS) -> ArchivePlan:
    if not archivable(before, now, retention_years):
        raise ArchiveError(
            f"entries younger than {retention_years} years cannot be archived: the cut must be "
            f"on or before {retention_limit(now, retention_years):%Y-%m-%d} (UTC) / "
            f"保存期間（{retention_years}年）内の記録は退避できません")
    result = verify_database(conn, key, now=now, retention_years=retention_years)
    if not result.ok:
        raise ArchiveError(f"the log does not verify; archive refused: {result}")
    # The start of verification: after the newest proven cut (all cuts are
    # proven, or verification would have found the others).
    from_seq, start_chain = result.start_seq + 1, result.start_chain
    first_kept = conn.scalar(select(func.min(AccessLogEntry.seq))
                             .where(AccessLogEntry.occurred_at >= before))
    upto_seq = (first_kept - 1) if first_kept is not None else result.last_seq
    return ArchivePlan(from_seq, max(upto_seq, from_seq - 1), start_chain, before)


def _json(entry: dict) -> dict:
    return {k: (v.isoformat(timespec="microseconds") if isinstance(v, dt.datetime) else v)
            for k, v in entry.items()}


def export(conn, archive_plan: ArchivePlan, path: str) -> tuple[str, str]:
    """Write the entries to ``path`` (which must not exist); returns
    (last chain value, SHA-256 of the file)."""
    last_chain = archive_plan.start_chain
    with open(path, "x", encoding="utf-8") as f:
        f.write(json.dumps({"format": FORMAT, "from_seq": archive_plan.from_seq,
                            "upto_seq": archive_plan.upto_seq,
                            "start_chain": archive_plan.start_chain,
                            "before": archive_plan.before.isoformat()}, sort_keys=True) + "\n")
        for entry, cases in stored_rows(conn, archive_plan.from_seq - 1):
            if entry["seq"] > archive_plan.upto_seq:
                break
            f.write(json.dumps({"entry": _json(entry), "cases": cases}, ensure_ascii=False,
                               sort_keys=True) + "\n")
            last_chain = entry["chain"]
        f.flush()
        os.fsync(f.fileno())
    return last_chain, file_sha256(path)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _archive_rows(path: str):
    with open(path, encoding="utf-8") as f:
        header = json.loads(f.readline())
        if header.get("format") != FORMAT:
            raise ArchiveError(f"{path} is not an access-log archive")
        yield header
        for line in f:
            data = json.loads(line)
            entry = dict(data["entry"])
            entry["occurred_at"] = dt.datetime.fromisoformat(entry["occurred_at"])
            yield entry, [tuple(c) for c in data["cases"]]


def verify_archive_file(path: str, key: bytes) -> chain.Report:
    """The file's entries chain from its start value through its last sequence number."""
    rows = _archive_rows(path)
    header = next(rows)
    return chain.verify(key, rows, start_seq=header["from_seq"] - 1,
                        start_chain=header["start_chain"], expect_through=header["upto_seq"])


def archive(engine, key: bytes, *, before: dt.datetime, now: dt.datetime, retention_years: int,
            path: str, writer, checkpointer: Checkpointer, execute: bool) -> ArchivePlan:
    """Run the procedure (see the module docstring); with ``execute=False``
    only plan, export and verify the file: nothing in the database changes."""
    with engine.connect() as conn:
        archive_plan = plan(conn, key, before, now, retention_years)
        if archive_plan.entries == 0:
            return archive_plan
        last_chain, sha256 = export(conn, archive_plan, path)
    check = verify_archive_file(path, key)
    if not check.ok or check.last_seq != archive_plan.upto_seq or check.last_chain != last_chain:
        raise ArchiveError(f"the exported file does not verify: {check}; nothing removed")
    if not execute:
        return archive_plan
    detail = {"from_seq": archive_plan.from_seq, "upto_seq": archive_plan.upto_seq,
              "entries": archive_plan.entries, "file_sha256": sha256,
              "before": before.isoformat(), "os_user": getpass.getuser()}
    fields = {name: None for name in chain.FIELDS if name != "seq"}
    fields.update(kind="event", event=AuditEvent.AuditArchived, occurred_at=now,
                  request_id=uuid.uuid4().hex, outcome="success", case_count=0,
                  view_name="intranet audit archive",
                  detail=json.dumps(detail, sort_keys=True))
    writer.append([(fields, [])])  # first: the cut's proof (see the module docstring)
    with engine.begin() as conn:
        try:  # the tree must hold the entries before they go (issue 22): its proofs outlive them
            tree.extend(conn, key, archive_plan.upto_seq)
        except tree.TreeError as exc:
            raise ArchiveError(f"the Merkle tree does not reach the cut: {exc}; nothing removed") from None
        conn.execute(insert(AccessLogArchive.__table__).values(
            upto_seq=archive_plan.upto_seq, chain=last_chain, entries=archive_plan.entries,
            before=before, file_sha256=sha256, created_at=now,
            mac=chain.seal(key, "cut", archive_plan.upto_seq, last_chain, sha256, before, now)))
        conn.execute(delete(AccessLogCase.__table__)
                     .where(AccessLogCase.entry_seq <= archive_plan.upto_seq))
        conn.execute(delete(AccessLogEntry.__table__)
                     .where(AccessLogEntry.seq <= archive_plan.upto_seq))
    checkpointer.write(archive_plan.upto_seq, last_chain, now)
    return archive_plan
