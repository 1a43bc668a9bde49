"""Appending entries to the access log, in a transaction of their own.

Every append starts by updating the single :class:`AccessLogHead` row. That
first statement takes the row lock on PostgreSQL (READ COMMITTED re-reads the
row once the lock is granted, so ``RETURNING`` yields the latest committed
head) and the database write lock on SQLite (a transaction that begins with
a write never reads a stale snapshot). Appenders are therefore serialized
from reading the head until commit, and the chain cannot fork.
"""
from __future__ import annotations

from sqlalchemy import insert, update

from ..models import AccessLogCase, AccessLogEntry, AccessLogHead
from . import chain

HEAD_ID = 1


class AccessLogWriter:
    def __init__(self, engine, key: bytes):
        self.engine = engine
        self.key = key

    def append(self, rows: list[tuple[dict, list]]) -> tuple[int, str]:
        """Append ``rows`` (``(entry fields, [(case_id, case_no), ...])``) and
        commit. Returns the last sequence number and chain value."""
        head = AccessLogHead.__table__
        with self.engine.begin() as conn:
            seq, previous = conn.execute(
                update(head).where(head.c.id == HEAD_ID)
                .values(seq=head.c.seq + len(rows))
                .returning(head.c.seq, head.c.chain)).one()
            seq -= len(rows)
            entries, cases = [], []
            for fields, disclosed in rows:
                seq += 1
                fields = {**fields, "seq": seq}
                previous = chain.link(self.key, previous, chain.canonical(fields, disclosed))
                entries.append({**fields, "chain": previous})
                cases.extend({"entry_seq": seq, "position": position, "case_id": case_id,
                              "case_no": case_no}
                             for position, (case_id, case_no) in enumerate(disclosed))
            conn.execute(insert(AccessLogEntry.__table__), entries)
            if cases:
                conn.execute(insert(AccessLogCase.__table__), cases)
            conn.execute(update(head).where(head.c.id == HEAD_ID).values(chain=previous))
        return seq, previous
