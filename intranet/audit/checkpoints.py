"""Checkpoints: (sequence, chain value, time) kept where the database
administrator cannot rewrite them.

Each checkpoint is inserted into ``access_log_checkpoints`` (append-only, and
included in the auditors' exports), appended as a JSON line to the file named
by ``intranet.audit.checkpoint_file`` and emitted on the
``intranet.audit.checkpoint`` logger (route it to syslog in the ini). The
application writes one after an append when the last is older than
``intranet.audit.checkpoint_minutes`` (default 15); ``intranet audit
checkpoint <ini>`` (cron) covers quiet periods. ``intranet audit verify
--from-checkpoint FILE`` later proves that the log still reaches every
checkpoint with the same chain value, so entries appended and then removed
before a checkpoint are detected.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading

from sqlalchemy import func, insert, select

from ..models import AccessLogCheckpoint, AccessLogHead
from .chain import seal

log = logging.getLogger("intranet.audit.checkpoint")


def checkpoint_line(seq: int, chain: str, at: dt.datetime, mac: str | None = None) -> str:
    data = {"seq": seq, "chain": chain, "at": at.isoformat() + "Z"}  # exact: the MAC covers it
    if mac:
        data["mac"] = mac
    return json.dumps(data, sort_keys=True)


def read_checkpoint_file(path: str) -> dict[int, str]:
    """Every checkpoint in a file of JSON lines (or one JSON object)."""
    checkpoints = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
                checkpoints[int(data["seq"])] = str(data["chain"])
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"{path}:{number}: not a checkpoint line") from None
    return checkpoints


class Checkpointer:
    def __init__(self, engine, *, interval: dt.timedelta, path: str | None = None,
                 key: bytes | None = None):
        self.engine = engine
        self.key = key
        self.interval = interval
        self.path = path
        self._last: dt.datetime | None = None
        self._lock = threading.Lock()

    def due(self, now: dt.datetime) -> bool:
        if self._last is None:
            with self.engine.connect() as conn:
                self._last = conn.scalar(select(func.max(AccessLogCheckpoint.created_at)))
        return self._last is None or now - self._last >= self.interval

    def maybe_write(self, seq: int, chain: str, now: dt.datetime) -> bool:
        with self._lock:
            if not self.due(now):
                return False
            self.write(seq, chain, now)
            return True

    def write(self, seq: int, chain: str, now: dt.datetime) -> None:
        mac = seal(self.key, "checkpoint", seq, chain, now) if self.key else None
        with self.engine.begin() as conn:
            conn.execute(insert(AccessLogCheckpoint.__table__).values(
                seq=seq, chain=chain, created_at=now, mac=mac))
        line = checkpoint_line(seq, chain, now, mac)
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
        log.info("access log checkpoint %s", line)
        self._last = now

    def write_current(self, now: dt.datetime) -> tuple[int, str]:
        """A checkpoint of the log as it stands (``intranet audit checkpoint``)."""
        with self.engine.connect() as conn:
            seq, chain = conn.execute(select(AccessLogHead.seq, AccessLogHead.chain)).one()
        self.write(seq, chain, now)
        return seq, chain
