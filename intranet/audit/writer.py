"""Appending entries to the access log, in a transaction of their own.

Every append starts by updating the single :class:`AccessLogHead` row. That
first statement takes the row lock on PostgreSQL (READ COMMITTED re-reads the
row once the lock is granted, so ``RETURNING`` yields the latest committed
head) and the database write lock on SQLite (a transaction that begins with
a write never reads a stale snapshot). Appenders are therefore serialized
from reading the head until commit, and the chain cannot fork.

**Bounded waits.** No wait of an append is longer than the write timeout
(``intranet.audit.write_timeout_seconds``, default 5 s): on PostgreSQL
``lock_timeout`` and ``statement_timeout`` are set for the append's own
transaction, on SQLite the connection's busy timeout for the append. A
blocked write fails, and the tween answers 503. The time spent waiting for
the head is added to ``duration_us`` of the request entries it writes.
"""
from __future__ import annotations

import time

from sqlalchemy import insert, update

from ..db import SQLITE_BUSY_TIMEOUT_MS
from ..models import AccessLogCase, AccessLogEntry, AccessLogHead
from . import chain
from .settings import DEFAULT_WRITE_TIMEOUT_SECONDS

HEAD_ID = 1


class AccessLogWriter:
    def __init__(self, engine, key: bytes, *, timeout: float = DEFAULT_WRITE_TIMEOUT_SECONDS):
        self.engine = engine
        self.key = key
        self.timeout_ms = max(1, int(timeout * 1000))

    def append(self, rows: list[tuple[dict, list]]) -> tuple[int, str]:
        """Append ``rows`` (``(entry fields, [(case_id, case_no), ...])``) and
        commit. Returns the last sequence number and chain value."""
        started = time.perf_counter()
        head = AccessLogHead.__table__
        with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            try:
                with conn.begin():
                    self._bound_waits(conn, sqlite)
                    seq, previous = conn.execute(
                        update(head).where(head.c.id == HEAD_ID).values(seq=head.c.seq)
                        .returning(head.c.seq, head.c.chain)).one()
                    waited_us = int((time.perf_counter() - started) * 1e6)
                    entries, cases = [], []
                    for fields, disclosed in rows:
                        seq += 1
                        fields = {**fields, "seq": seq}
                        if fields.get("duration_us") is not None:
                            fields["duration_us"] += waited_us
                        previous = chain.link(self.key, previous, chain.canonical(fields, disclosed))
                        entries.append({**fields, "chain": previous})
                        cases.extend({"entry_seq": seq, "position": position, "case_id": case_id,
                                      "case_no": case_no}
                                     for position, (case_id, case_no) in enumerate(disclosed))
                    conn.execute(insert(AccessLogEntry.__table__), entries)
                    if cases:
                        conn.execute(insert(AccessLogCase.__table__), cases)
                    conn.execute(update(head).where(head.c.id == HEAD_ID)
                                 .values(seq=seq, chain=previous))
            finally:
                if sqlite and self.timeout_ms != SQLITE_BUSY_TIMEOUT_MS:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        return seq, previous

    def _bound_waits(self, conn, sqlite: bool) -> None:
        if sqlite:
            if self.timeout_ms != SQLITE_BUSY_TIMEOUT_MS:  # before the first write: no BEGIN yet
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {self.timeout_ms}")
        else:
            conn.exec_driver_sql(
                "SELECT set_config('lock_timeout', %(ms)s, true), "
                "set_config('statement_timeout', %(ms)s, true)", {"ms": f"{self.timeout_ms}ms"})
