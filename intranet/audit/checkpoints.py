"""Checkpoints: (sequence, chain value, time, MAC) kept where the database
administrator cannot rewrite them.

A checkpoint is written **outside the database first** — a JSON line appended
(and fsynced) to ``intranet.audit.checkpoint_file`` and a record on the
``intranet.audit.checkpoint`` logger (route it to syslog/journald, see
docs/audit.md) — and only when that succeeded is it inserted into
``access_log_checkpoints`` (append-only, in the auditors' exports). A failed
witness therefore leaves no row that pretends otherwise; it is retried at a
bounded rate (never per request), recorded as an ``audit.checkpoint.failed``
event, shown to supervisors and auditors and reported by ``/healthz``.

Every checkpoint carries a MAC under the log key (:func:`chain.seal`), so a
row someone inserts or edits in the database is recognised as forged. When a
checkpoint is due is computed from the server's own clock and the newest
*valid* checkpoint: a future-dated or unauthenticated row cannot switch the
automatic checkpoints off.

The application writes one after an append when the newest is older than
``intranet.audit.checkpoint_minutes`` (default 1) or more than
``intranet.audit.checkpoint_entries`` entries old (default 1,000);
``intranet audit checkpoint <ini>`` (cron) covers quiet periods.

Issue 22: each checkpoint first extends the Merkle tree to its sequence
number (:mod:`intranet.audit.tree`) and, with ``intranet.audit.signing_key``
set, carries a C2SP signed checkpoint note (:func:`checkpoint_text`): origin,
tree size, root, the time and every organisation's chain head, signed with
Ed25519. The note is witnessed with the rest. If the tree cannot be extended
(an entry failing its HMAC link, or missing), the checkpoint is still written
without a note and the witness reports the tree's problem: nothing that does
not verify is signed.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import threading
from dataclasses import dataclass

from sqlalchemy import insert, select

from ..models import AccessLogCheckpoint, AccessLogHead
from . import chain, tree
from .signed_note import Signer, Verifier, format_checkpoint, sign_note

log = logging.getLogger("intranet.audit.checkpoint")

#: A checkpoint dated this far ahead of the server's clock is not trusted.
CLOCK_TOLERANCE = dt.timedelta(minutes=5)
#: How many of the newest rows to look through for the newest valid one.
RECENT_ROWS = 50
#: ``intranet.audit.log_origin`` unless set: the first line of every signed
#: checkpoint, naming the log (docs/audit.md: set it to the ward's own name).
DEFAULT_ORIGIN = "intranet.example/access-log"


class CheckpointFailed(Exception):
    """A witness could not be written; no checkpoint row was inserted."""


@dataclass(frozen=True)
class CheckpointSettings:
    interval: dt.timedelta
    every_entries: int
    path: str | None
    retry: dt.timedelta
    signer: Signer | None = None
    origin: str = DEFAULT_ORIGIN
    #: public keys of retired signing keys: checkpoints they signed still
    #: serve as an inspection package's start (``intranet.audit.retired_public_keys``)
    retired: tuple[Verifier, ...] = ()


def checkpoint_line(seq: int, chain_value: str, at: dt.datetime, mac: str,
                    root: str | None = None, note: str | None = None) -> str:
    line = {"seq": seq, "chain": chain_value,
            "at": at.isoformat(timespec="microseconds") + "Z", "mac": mac}
    if root is not None:
        line.update(root=root, note=note)
    return json.dumps(line, sort_keys=True)


def time_text(at: dt.datetime) -> str:
    """A checkpoint's ``time`` extension value: UTC, to the microsecond."""
    return at.isoformat(timespec="microseconds") + "Z"


def checkpoint_text(origin: str, head: tree.TreeHead, at: dt.datetime) -> str:
    """The checkpoint body (C2SP tlog-checkpoint): origin, size, root, then
    the extension lines ``time <UTC>`` and ``org <key> <seq> <leaf hash,
    base64>`` for every organisation's chain head, sorted by key."""
    extensions = [f"time {time_text(at)}"] + [
        f"org {key} {seq} {base64.b64encode(bytes.fromhex(leaf)).decode()}"
        for key, (seq, leaf) in sorted(head.org_heads.items())]
    return format_checkpoint(origin, head.size, head.root, extensions)


@dataclass(frozen=True)
class Witnessed:
    """The newest valid checkpoint: what the outside world has seen."""

    seq: int
    at: dt.datetime


def newest_valid(conn, key: bytes, now: dt.datetime) -> Witnessed | None:
    """The newest checkpoint row whose MAC verifies and that is not dated in
    the future; forged, edited and future-dated rows are passed over."""
    rows = conn.execute(
        select(AccessLogCheckpoint.seq, AccessLogCheckpoint.chain,
               AccessLogCheckpoint.created_at, AccessLogCheckpoint.mac)
        .order_by(AccessLogCheckpoint.id.desc()).limit(RECENT_ROWS))
    for seq, value, at, mac in rows:
        if at <= now + CLOCK_TOLERANCE and chain.seal_ok(key, mac, "checkpoint", seq, value, at):
            return Witnessed(seq, at)
    return None


class Checkpointer:
    def __init__(self, engine, key: bytes, settings: CheckpointSettings, *, lock_timeout: float = 5.0):
        self.engine = engine
        self.key = key
        self.settings = settings
        #: the longest wait of the tree's extension for its head row (a request pays it)
        self.lock_timeout = lock_timeout
        self._witnessed: Witnessed | None = None
        self._loaded = False
        self._failed_at: dt.datetime | None = None  # since when writing fails (None: fine)
        self._next_try: dt.datetime | None = None
        self._status: tuple[dt.datetime, dict] | None = None  # (when computed, status)
        self.tree_problem: str | None = None  # why the tree stopped (None: fine)
        self._lock = threading.Lock()

    # ---- state

    @property
    def failing(self) -> bool:
        return self._failed_at is not None or self.tree_problem is not None

    def _due(self, seq: int, now: dt.datetime) -> bool:
        witnessed = self._witnessed
        return (witnessed is None or seq - witnessed.seq >= self.settings.every_entries
                or now - witnessed.at >= self.settings.interval)

    def _refresh(self, now: dt.datetime) -> None:
        with self.engine.connect() as conn:
            self._witnessed = newest_valid(conn, self.key, now)
        self._loaded = True

    # ---- writing

    def maybe_write(self, seq: int, value: str, now: dt.datetime) -> bool:
        """Write a checkpoint of (``seq``, ``value``) if one is due. Raises
        :class:`CheckpointFailed` when a due checkpoint could not be written
        (then not again before the retry time)."""
        with self._lock:
            if self._next_try is not None and now < self._next_try:
                return False
            if not self._loaded:
                self._refresh(now)
            if not self._due(seq, now):
                return False
            self._refresh(now)  # another process may have written one meanwhile
            if not self._due(seq, now):
                return False
            self.write(seq, value, now)
            return True

    def _tree(self, seq: int, value: str) -> tree.TreeHead | None:
        """The tree extended to at least ``seq``; None (and the problem kept
        for the health report) when it cannot be."""
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":  # (SQLite: the engine's busy timeout)
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'")
                head = tree.extend(conn, self.key, seq)
                if head.size > seq:  # another process took it further: the tree as at seq
                    head = tree.head_at(conn, seq, head, value)
        except tree.TreeError as exc:
            self.tree_problem = str(exc)
        except Exception as exc:  # the database: the checkpoint itself is tried all the same
            self.tree_problem = f"the tree could not be stored ({type(exc).__name__})"
        else:
            self.tree_problem = None
            return head
        log.error("access log tree not extended: %s", self.tree_problem)
        return None

    def write(self, seq: int, value: str, now: dt.datetime) -> tuple[int, str]:
        """Outside witnesses first, then the row; all or nothing. Returns
        (``seq``, ``value``)."""
        head = self._tree(seq, value)
        root = note = None
        if head is not None:
            root = head.root.hex()
            if self.settings.signer is not None:
                note = sign_note(checkpoint_text(self.settings.origin, head, now),
                                 [self.settings.signer]).decode()
        mac = chain.seal(self.key, "checkpoint", seq, value, now)
        line = checkpoint_line(seq, value, now, mac, root, note)
        try:
            if self.settings.path:
                with open(self.settings.path, "a", encoding="utf-8") as f:
                    f.write(line + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            log.info("access log checkpoint %s", line)
            with self.engine.begin() as conn:
                conn.execute(insert(AccessLogCheckpoint.__table__).values(
                    seq=seq, chain=value, created_at=now, mac=mac,
                    tree_size=seq if root else None, root=root, note=note))
        except Exception as exc:
            if self._failed_at is None:
                self._failed_at = now
            self._next_try = now + self.settings.retry
            raise CheckpointFailed(type(exc).__name__) from exc
        self._witnessed = Witnessed(seq, now)
        self._loaded = True
        self._failed_at = self._next_try = None
        return seq, value

    def write_current(self, now: dt.datetime) -> tuple[int, str]:
        """A checkpoint of the log as it stands (``intranet audit checkpoint``)."""
        with self.engine.connect() as conn:
            seq, value = conn.execute(select(AccessLogHead.seq, AccessLogHead.chain)).one()
        return self.write(seq, value, now)

    # ---- health

    def degraded(self, now: dt.datetime, max_age: dt.timedelta = dt.timedelta(seconds=30)) -> bool:
        """For the banner on every page of supervisors and auditors: this
        process's failure at once, the database's view at most ``max_age`` old."""
        if self.failing:
            return True
        if self._status is None or now - self._status[0] > max_age:
            self._status = (now, self.status(now))
        return self._status[1]["status"] != "ok"

    def status(self, now: dt.datetime) -> dict:
        """The witness's health, for ``/healthz`` and the supervisors' banner:
        degraded while writing fails, or while entries exist that no valid
        checkpoint has covered for longer than twice the interval (plus the
        retry time). No personal data."""
        with self.engine.connect() as conn:
            head = conn.scalar(select(AccessLogHead.seq)) or 0
            witnessed = newest_valid(conn, self.key, now)
        unwitnessed = head - (witnessed.seq if witnessed else 0)
        age = (now - witnessed.at) if witnessed else None
        stale = unwitnessed > 0 and (
            age is None or age > 2 * self.settings.interval + self.settings.retry)
        return {
            "status": "degraded" if self.failing or stale else "ok",
            "witness_failing_since": self._failed_at.isoformat() + "Z" if self._failed_at else None,
            "tree": "stopped" if self.tree_problem else "ok",
            "checkpoints_signed": self.settings.signer is not None,
            "last_checkpoint_age_seconds": int(age.total_seconds()) if age is not None else None,
            "unwitnessed_entries": unwitnessed,
        }
