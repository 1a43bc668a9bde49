"""Checkpoints: (sequence, chain value, time, MAC) kept where the database
administrator cannot rewrite them.

A checkpoint is written **outside the database first** — a JSON line appended
(and fsynced) to ``intranet.audit.checkpoint_file`` and a record on the
``intranet.audit.checkpoint`` logger (route it to syslog/journald, see
docs/audit.md) — and only when that succeeded is it inserted into
``access_log_checkpoints`` (append-only, in the auditors' exports). A failed
witness therefore leaves no row that pretends otherwise; it is retried at a
bounded rate (never per request), recorded as an ``audit.checkpoint.failed``
event, shown to supervisors and auditors and reported by ``/health``.

Every checkpoint carries a MAC under the log key (:func:`chain.seal`), so a
row someone inserts or edits in the database is recognised as forged. When a
checkpoint is due is computed from the server's own clock and the newest
*valid* checkpoint: a future-dated or unauthenticated row cannot switch the
automatic checkpoints off.

The application writes one after an append when the newest is older than
``intranet.audit.checkpoint_minutes`` (default 1) or more than
``intranet.audit.checkpoint_entries`` entries old (default 1,000);
``intranet audit checkpoint <ini>`` (cron) covers quiet periods.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from dataclasses import dataclass

from sqlalchemy import insert, select

from ..models import AccessLogCheckpoint, AccessLogHead
from . import chain

log = logging.getLogger("intranet.audit.checkpoint")

#: A checkpoint dated this far ahead of the server's clock is not trusted.
CLOCK_TOLERANCE = dt.timedelta(minutes=5)
#: How many of the newest rows to look through for the newest valid one.
RECENT_ROWS = 50


class CheckpointFailed(Exception):
    """A witness could not be written; no checkpoint row was inserted."""


@dataclass(frozen=True)
class CheckpointSettings:
    interval: dt.timedelta
    every_entries: int
    path: str | None
    retry: dt.timedelta


def checkpoint_line(seq: int, chain_value: str, at: dt.datetime, mac: str) -> str:
    return json.dumps({"seq": seq, "chain": chain_value,
                       "at": at.isoformat(timespec="microseconds") + "Z", "mac": mac},
                      sort_keys=True)


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
    def __init__(self, engine, key: bytes, settings: CheckpointSettings):
        self.engine = engine
        self.key = key
        self.settings = settings
        self._witnessed: Witnessed | None = None
        self._loaded = False
        self._failed_at: dt.datetime | None = None  # since when writing fails (None: fine)
        self._next_try: dt.datetime | None = None
        self._status: tuple[dt.datetime, dict] | None = None  # (when computed, status)
        self._lock = threading.Lock()

    # ---- state

    @property
    def failing(self) -> bool:
        return self._failed_at is not None

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

    def write(self, seq: int, value: str, now: dt.datetime) -> None:
        """Outside witnesses first, then the row; all or nothing."""
        mac = chain.seal(self.key, "checkpoint", seq, value, now)
        line = checkpoint_line(seq, value, now, mac)
        try:
            if self.settings.path:
                with open(self.settings.path, "a", encoding="utf-8") as f:
                    f.write(line + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            log.info("access log checkpoint %s", line)
            with self.engine.begin() as conn:
                conn.execute(insert(AccessLogCheckpoint.__table__).values(
                    seq=seq, chain=value, created_at=now, mac=mac))
        except Exception as exc:
            if self._failed_at is None:
                self._failed_at = now
            self._next_try = now + self.settings.retry
            raise CheckpointFailed(type(exc).__name__) from exc
        self._witnessed = Witnessed(seq, now)
        self._loaded = True
        self._failed_at = self._next_try = None

    def write_current(self, now: dt.datetime) -> tuple[int, str]:
        """A checkpoint of the log as it stands (``intranet audit checkpoint``)."""
        with self.engine.connect() as conn:
            seq, value = conn.execute(select(AccessLogHead.seq, AccessLogHead.chain)).one()
        self.write(seq, value, now)
        return seq, value

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
        """The witness's health, for ``/health`` and the supervisors' banner:
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
            "last_checkpoint_age_seconds": int(age.total_seconds()) if age is not None else None,
            "unwitnessed_entries": unwitnessed,
        }
