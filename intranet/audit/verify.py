"""Verifying the access log stored in the database (``intranet audit verify``)."""
from __future__ import annotations

from itertools import groupby

from sqlalchemy import func, select

from ..models import AccessLogArchive, AccessLogCase, AccessLogCheckpoint, AccessLogEntry
from . import chain

BATCH = 2000
_COLUMNS = [AccessLogEntry.__table__.c[name] for name in chain.FIELDS] + [
    AccessLogEntry.__table__.c.chain]


def stored_rows(conn, after_seq: int = 0, batch: int = BATCH):
    """``(entry, cases)`` in sequence order, read in batches (constant memory)."""
    cases_t = AccessLogCase.__table__
    last = after_seq
    while True:
        entries = [dict(row._mapping) for row in conn.execute(
            select(*_COLUMNS).where(AccessLogEntry.seq > last)
            .order_by(AccessLogEntry.seq).limit(batch))]
        if not entries:
            return
        low, high = entries[0]["seq"], entries[-1]["seq"]
        disclosed = {
            seq: [(r.case_id, r.case_no) for r in rows]
            for seq, rows in groupby(conn.execute(
                select(cases_t.c.entry_seq, cases_t.c.case_id, cases_t.c.case_no)
                .where(cases_t.c.entry_seq.between(low, high))
                .order_by(cases_t.c.entry_seq, cases_t.c.position)), key=lambda r: r.entry_seq)
        }
        for entry in entries:
            yield entry, disclosed.get(entry["seq"], [])
        last = high


def verify_database(conn, key: bytes, extra_checkpoints: dict[int, str] | None = None
                    ) -> chain.Verification:
    """Walk the whole stored chain.

    It starts after the newest archive cut (entries before it were exported
    and removed by the retention procedure) and checks every checkpoint
    recorded in the database plus ``extra_checkpoints`` (from a file kept
    outside the database): a checkpoint the log no longer reaches means
    entries were removed."""
    cut = conn.execute(select(AccessLogArchive.upto_seq, AccessLogArchive.chain)
                       .order_by(AccessLogArchive.upto_seq.desc()).limit(1)).first()
    start_seq, start_chain = (cut.upto_seq, cut.chain) if cut else (0, chain.GENESIS)
    checkpoints = {row.seq: row.chain for row in conn.execute(
        select(AccessLogCheckpoint.seq, AccessLogCheckpoint.chain)
        .where(AccessLogCheckpoint.seq > start_seq))}
    for seq, value in (extra_checkpoints or {}).items():
        if seq > start_seq:
            if checkpoints.get(seq, value) != value:
                return chain.Verification(False, 0, start_seq, start_chain, broken_seq=seq,
                                          reason="audit.verify.checkpoint_mismatch")
            checkpoints[seq] = value
    return chain.verify(key, stored_rows(conn, start_seq), start_seq=start_seq,
                        start_chain=start_chain, checkpoints=checkpoints)


def entry_count(conn) -> int:
    return conn.scalar(select(func.count()).select_from(AccessLogEntry))
