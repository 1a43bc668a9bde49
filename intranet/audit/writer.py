"""Appending entries to the access log, in a transaction of their own.

Every append starts by locking the single :class:`AccessLogHead` row: on
PostgreSQL ``SELECT ... FOR UPDATE`` takes the row lock (READ COMMITTED
re-reads the row once the lock is granted, so it yields the latest committed
head), on SQLite an update of the row takes the database write lock (a
transaction that begins with a write never reads a stale snapshot).
Appenders are therefore serialized from reading the head until commit, and
the chain cannot fork.

**Round trips** (PostgreSQL with psycopg, issue 21): two per append. One
simple-protocol query opens the transaction, sets its timeouts and locks and
reads the head (:func:`_lock_sql`); then, pipelined, one statement inserts
the entries and their cases and moves the head (:func:`_postgresql_append`),
and ``COMMIT``.

**Bounded waits.** No wait of an append is longer than the write timeout
(``intranet.audit.write_timeout_seconds``, default 5 s): on PostgreSQL
``lock_timeout`` and ``statement_timeout`` are set (``SET LOCAL``) for the
append's own transaction, before its first lock is asked for; on SQLite the
connection's busy timeout for the append. A
blocked write fails, and the tween answers 503. The time spent waiting for
the head is added to ``duration_us`` of the request entries it writes.

**No silent rollback of the head.** Each writer remembers the newest head
it wrote. If the stored head is ever behind it (someone removed the newest
entries and set ``access_log_head`` back), the writer refuses every append
(:class:`HeadRollback`) until the log reaches the remembered entry again
unchanged, or an operator ran ``intranet audit accept-head``; it then first
appends an ``audit.head.rollback`` event naming the remembered and found
heads. See docs/audit.md, "No silent rollback".
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import time

from sqlalchemy import ARRAY, Integer, String, bindparam, event, func, insert, select, update

from ..db import SQLITE_BUSY_TIMEOUT_MS
from ..models import AccessLogArchive, AccessLogCase, AccessLogEntry, AccessLogHead
from . import chain
from .events import AuditEvent
from .settings import DEFAULT_WRITE_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

HEAD_ID = 1


class HeadRollback(Exception):
    """The stored head is behind the newest entry this writer wrote."""


class AccessLogWriter:
    def __init__(self, engine, key: bytes, *, timeout: float = DEFAULT_WRITE_TIMEOUT_SECONDS):
        self.engine = engine
        self.key = key
        self.timeout_ms = max(1, int(timeout * 1000))
        self._lock = threading.Lock()          # guards the two fields below
        self._seen: tuple[int, str] | None = None          # newest (seq, chain) written
        self._rollback: tuple[int, str, int] | None = None  # (remembered seq, chain, found seq)
        self._recovering = threading.Lock()    # one recovery at a time in this process
        self.failing_since: float | None = None  # time.time() of the first failed append in a row (/healthz)
        self._pipeline = False  # psycopg's pipeline mode (libpq 14 or later)
        if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
            import psycopg

            self._pipeline = psycopg.Pipeline.is_supported()
            if not event.contains(engine, "do_execute", _to_last_result):
                event.listen(engine, "do_execute", _to_last_result)

    @property
    def refusing(self) -> tuple[int, str, int] | None:
        """(remembered seq, remembered chain, found seq) while the head is rolled back."""
        return self._rollback

    def append(self, rows: list[tuple[dict, list]]) -> tuple[int, str]:
        """Append ``rows`` (``(entry fields, [(case_id, case_no), ...])``) and
        commit. Returns the last sequence number and chain value."""
        try:
            result = self._append_or_recover(rows)
        except Exception:
            if self.failing_since is None:
                self.failing_since = time.time()
            raise
        self.failing_since = None
        return result

    def status(self) -> str:
        """``ok``, ``refusing`` (head rolled back) or ``failing`` (the last append failed)."""
        if self._rollback is not None:
            return "refusing"
        return "failing" if self.failing_since is not None else "ok"

    def _append_or_recover(self, rows):
        if self._rollback is None:
            return self._append(rows)
        # refusing: one append at a time checks whether the log is back (and
        # writes the alarm once); the others wait no longer than a write may
        if not self._recovering.acquire(timeout=self.timeout_ms / 1000):
            raise HeadRollback("another request is checking the rolled-back head")
        try:
            return self._append(rows)
        finally:
            self._recovering.release()

    def _append(self, rows):
        started = time.perf_counter()
        with self.engine.connect() as conn:
            dialect = conn.dialect
            if dialect.name == "postgresql" and dialect.driver == "psycopg":
                seq, previous, alarm = self._append_psycopg(conn, rows, started)
            else:
                seq, previous, alarm = self._append_portable(conn, rows, started)
        with self._lock:
            if alarm:  # the head is trusted again from here
                self._rollback, self._seen = None, (seq, previous)
            elif self._seen is None or seq > self._seen[0]:
                self._seen = (seq, previous)
        return seq, previous

    def _append_psycopg(self, conn, rows, started):
        """PostgreSQL with psycopg: two round trips. The first is one
        simple-protocol query ``BEGIN; SET LOCAL lock_timeout ...; SET LOCAL
        statement_timeout ...; SELECT ... FOR UPDATE`` (:func:`_lock_sql`):
        the server runs its statements in order, so both timeouts are in
        force before the head's statement asks for any lock (table or row)
        and bound it as a whole. The connection is in autocommit mode for the
        append so that psycopg sends no ``BEGIN`` of its own; the query's
        opens the transaction (psycopg's ``commit()``/``rollback()`` end a
        transaction the server has open whatever the mode). The second sends
        the entries, their cases and the head's move (one statement) and
        ``COMMIT`` together, in psycopg's pipeline mode (without it, where
        libpq is older than 14: a third round trip)."""
        conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            with conn.begin():
                seq, previous = conn.exec_driver_sql(
                    _lock_sql(self.timeout_ms), execution_options={LAST_RESULT: True}).one()
                waited_us = int((time.perf_counter() - started) * 1e6)
                alarm = self._check_head(conn, seq, previous, rows)
                entries, cases, seq, previous = self._link([*alarm, *rows], seq, previous, waited_us)
                append = _postgresql_append(entries, cases, seq, previous)
                if self._pipeline:
                    dbapi = conn.connection.dbapi_connection
                    with dbapi.pipeline():  # the statement and COMMIT in one round trip;
                        conn.execute(*append)  # their error, if any, is raised on leaving
                        dbapi.execute("COMMIT")
                else:
                    conn.execute(*append)  # COMMIT: when conn.begin() ends
        except BaseException:
            _discard_if_in_transaction(conn)
            raise
        return seq, previous, alarm

    def _append_portable(self, conn, rows, started):
        """SQLite (and PostgreSQL through another driver): bound the waits,
        lock the head by updating it, insert, move the head."""
        head = AccessLogHead.__table__
        sqlite = conn.dialect.name == "sqlite"
        try:
            with conn.begin():
                self._bound_waits(conn, sqlite)
                seq, previous = conn.execute(
                    update(head).where(head.c.id == HEAD_ID).values(seq=head.c.seq)
                    .returning(head.c.seq, head.c.chain)).one()
                waited_us = int((time.perf_counter() - started) * 1e6)
                alarm = self._check_head(conn, seq, previous, rows)
                entries, cases, seq, previous = self._link([*alarm, *rows], seq, previous, waited_us)
                if sqlite:
                    conn.execute(insert(AccessLogEntry.__table__), entries)
                    if cases:
                        conn.execute(insert(AccessLogCase.__table__), cases)
                    conn.execute(update(head).where(head.c.id == HEAD_ID)
                                 .values(seq=seq, chain=previous))
                else:  # one statement: the inserts as CTEs of the head's move (issue 21)
                    conn.execute(*_postgresql_append(entries, cases, seq, previous))
        finally:
            if sqlite and self.timeout_ms != SQLITE_BUSY_TIMEOUT_MS:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        return seq, previous, alarm

    def _link(self, rows, seq: int, previous: str, waited_us: int):
        """The entries (numbered and chained after ``(seq, previous)``), their
        disclosed cases' rows, and the new head."""
        key, link, canonical = self.key, chain.link, chain.canonical
        entries, cases = [], []
        for fields, disclosed in rows:
            seq += 1
            fields = {**fields, "seq": seq}
            if fields.get("duration_us") is not None:
                fields["duration_us"] += waited_us
            previous = link(key, previous, canonical(fields, disclosed))
            fields["chain"] = previous
            entries.append(fields)
            if disclosed:
                cases.extend({"entry_seq": seq, "position": position, "case_id": case_id,
                              "case_no": case_no}
                             for position, (case_id, case_no) in enumerate(disclosed))
        return entries, cases, seq, previous

    def _bound_waits(self, conn, sqlite: bool) -> None:
        if sqlite:
            if self.timeout_ms != SQLITE_BUSY_TIMEOUT_MS:  # before the first write: no BEGIN yet
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {self.timeout_ms}")
        else:
            conn.exec_driver_sql(
                "SELECT set_config('lock_timeout', %(ms)s, true), "
                "set_config('statement_timeout', %(ms)s, true)", {"ms": f"{self.timeout_ms}ms"})

    # ---- no silent rollback

    def _check_head(self, conn, seq: int, head_chain: str, rows) -> list[tuple[dict, list]]:
        """Raise :class:`HeadRollback` if the head went backwards (or still is
        after it did); the alarm event to write first when it has just become
        consistent again; else nothing."""
        with self._lock:
            seen, rollback = self._seen, self._rollback
        if rollback is None:
            if seen is None or seq > seen[0] or (seq, head_chain) == seen:
                return []
            rollback = (seen[0], seen[1], seq)
            with self._lock:
                self._rollback = rollback
            log.critical("access log head rolled back: this process wrote seq %s, the head says %s; "
                         "refusing to append (docs/audit.md, 'No silent rollback')", seen[0], seq)
            raise HeadRollback(f"head at seq {seq}, behind seq {seen[0]} written before")
        remembered_seq, remembered_chain, found_seq = rollback
        resolution = {}
        if seq >= remembered_seq and self._chain_at(conn, remembered_seq) == remembered_chain \
                and self._chain_at(conn, seq) == head_chain:
            resolution = {"resolved": "restored"}
        else:
            accepted = self._acceptance(conn, found_seq)
            if accepted is None:
                raise HeadRollback(f"head at seq {seq}, behind seq {remembered_seq} written before "
                                   "(still refusing; see intranet audit accept-head)")
            resolution = {"resolved": "accepted", "accepted_seq": accepted}
        detail = {"remembered_seq": remembered_seq, "remembered_chain": remembered_chain,
                  "found_seq": found_seq, "head_seq": seq, **resolution}
        log.critical("access log head rollback cleared (%s): remembered seq %s, found %s, head now %s",
                     resolution["resolved"], remembered_seq, found_seq, seq)
        fields = {name: None for name in chain.FIELDS if name != "seq"}
        first = rows[0][0] if rows else {}
        fields.update(kind="event", event=AuditEvent.AuditHeadRollback,
                      occurred_at=first.get("occurred_at"), request_id=first.get("request_id"),
                      outcome="failure", case_count=0, view_name="intranet.audit.writer",
                      detail=json.dumps(detail, sort_keys=True))
        return [(fields, [])]

    @staticmethod
    def _chain_at(conn, seq: int) -> str | None:
        """The stored chain value after entry ``seq`` (an archive cut's, or
        the genesis value for 0)."""
        if seq == 0:
            return chain.GENESIS
        value = conn.scalar(select(AccessLogEntry.chain).where(AccessLogEntry.seq == seq))
        if value is None:
            value = conn.scalar(select(AccessLogArchive.chain).where(AccessLogArchive.upto_seq == seq)
                                .order_by(AccessLogArchive.id.desc()).limit(1))
        return value

    def _acceptance(self, conn, after_seq: int) -> int | None:
        """The sequence number of an ``audit.head.accepted`` event newer than
        ``after_seq`` whose chain link verifies under the key (nobody without
        the key can forge one), or None."""
        table = AccessLogEntry.__table__
        columns = [table.c[name] for name in chain.FIELDS] + [table.c.chain]
        candidates = list(conn.scalars(
            select(table.c.seq).where(table.c.seq > after_seq,
                                      table.c.event == AuditEvent.AuditHeadAccepted)
            .order_by(table.c.seq.desc()).limit(5)))
        for seq in candidates:
            previous = self._chain_at(conn, seq - 1)
            entry = conn.execute(select(*columns).where(table.c.seq == seq)).mappings().one()
            cases = AccessLogCase.__table__
            disclosed = [(r.case_id, r.case_no) for r in conn.execute(
                select(cases.c.case_id, cases.c.case_no).where(cases.c.entry_seq == seq)
                .order_by(cases.c.position))]
            if previous is not None and chain.link(
                    self.key, previous, chain.canonical(entry, disclosed)) == entry["chain"]:
                return seq
        return None


#: Execution option: the statement is several, sent in one simple-protocol
#: query; the result is the last one's (:func:`_to_last_result`).
LAST_RESULT = "intranet_last_result"


@functools.lru_cache(maxsize=4)
def _lock_sql(timeout_ms: int) -> str:
    """The append's first round trip on PostgreSQL: open the transaction,
    bound its waits, lock and read the head.

    ``SELECT ... FOR UPDATE`` takes the row lock without writing a row
    version (the ``UPDATE ... SET seq = seq`` SQLite needs wrote one per
    append); under READ COMMITTED it returns the row as last committed once
    the lock is granted, as the update did."""
    ms = int(timeout_ms)  # an integer from the settings: nothing else is interpolated
    return (f"BEGIN; SET LOCAL lock_timeout = '{ms}ms'; SET LOCAL statement_timeout = '{ms}ms'; "
            f"SELECT seq, chain FROM access_log_head WHERE id = {HEAD_ID} FOR UPDATE")


def _to_last_result(cursor, statement, parameters, context):
    """``do_execute`` hook: run a :data:`LAST_RESULT` statement and leave the
    psycopg cursor on its last result set (psycopg starts on the first)."""
    if context is None or not context.execution_options.get(LAST_RESULT):
        return None  # every other statement: SQLAlchemy executes it as usual
    if parameters:
        raise ValueError("a multi-statement query takes no parameters")
    cursor.execute(statement)  # no parameters: psycopg uses the simple query protocol
    while cursor.nextset():
        pass
    return True


def _discard_if_in_transaction(conn) -> None:
    """After a failed append: a connection whose transaction is still open
    (e.g. ``skip_autocommit_rollback``, which skips the rollback in
    autocommit mode) is closed, never pooled holding the head's lock."""
    if conn.closed or conn.invalidated:
        return
    from psycopg.pq import TransactionStatus

    dbapi = conn.connection.dbapi_connection
    if dbapi is None or dbapi.info.transaction_status != TransactionStatus.IDLE:
        conn.invalidate()


def _postgresql_append(entries: list[dict], cases: list[dict], seq: int, chain_value: str):
    """The append on PostgreSQL as one statement and its parameters: the
    entries and their disclosed cases inserted as CTEs of the head's move.

    The statement depends only on the entries' columns and on whether cases
    were disclosed, never on how many: each entry's values are bound
    parameters and the cases travel as four arrays ``unnest``-ed by the
    server. SQLAlchemy caches it once compiled, where a multi-row VALUES
    (one per case of a list page) was compiled again on every request
    (issue 21)."""
    params = {"head_seq": seq, "head_chain": chain_value}
    for n, entry in enumerate(entries):
        params.update({f"e{n}_{name}": value for name, value in entry.items()})
    if cases:
        for column in _CASE_COLUMNS:
            params[f"cases_{column}"] = [row[column] for row in cases]
    shape = tuple(tuple(entry) for entry in entries)
    return _append_statement(shape, bool(cases)), params


_CASE_COLUMNS = ("entry_seq", "position", "case_id", "case_no")


@functools.lru_cache(maxsize=16)
def _append_statement(shape: tuple[tuple[str, ...], ...], with_cases: bool):
    head, log, disclosed = (AccessLogHead.__table__, AccessLogEntry.__table__,
                            AccessLogCase.__table__)
    move = (update(head).where(head.c.id == HEAD_ID)
            .values(seq=bindparam("head_seq", type_=head.c.seq.type),
                    chain=bindparam("head_chain", type_=head.c.chain.type)))
    rows = [{name: bindparam(f"e{n}_{name}", type_=log.c[name].type) for name in names}
            for n, names in enumerate(shape)]
    # one row (a request's entry): a plain VALUES, which SQLAlchemy caches
    # (a multi-row VALUES it never does)
    move = move.add_cte(insert(log).values(rows[0] if len(rows) == 1 else rows).cte("entries"))
    if with_cases:
        types = {"entry_seq": Integer, "position": Integer, "case_id": Integer,
                 "case_no": String}
        arrays = func.unnest(*(bindparam(f"cases_{column}", type_=ARRAY(types[column]))
                               for column in _CASE_COLUMNS)).table_valued(*_CASE_COLUMNS).render_derived()
        move = move.add_cte(insert(disclosed).from_select(
            list(_CASE_COLUMNS), select(*(arrays.c[column] for column in _CASE_COLUMNS)))
            .cte("disclosed"))
    return move
