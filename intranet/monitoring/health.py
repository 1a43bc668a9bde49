"""What ``/healthz`` reports: each part's status and a few numbers, never
personal data. A part that cannot be read (the database is down) is reported
``error`` with the exception's class name only."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select, text

from ..jobs import STALE_AFTER, workers_alive
from ..models import Job, JobState

log = logging.getLogger(__name__)

#: A job queued longer than this means the workers do not keep up (or none runs).
QUEUE_WAIT_LIMIT = dt.timedelta(minutes=10)

OK, DEGRADED, ERROR = "ok", "degraded", "error"


def _failed(part: str, exc: Exception) -> dict:
    log.error("healthz: %s unreadable (%s)", part, type(exc).__name__)
    return {"status": ERROR, "error": type(exc).__name__}


def database(engine) -> dict:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return _failed("database", exc)
    return {"status": OK}


def access_log(registry, now: dt.datetime) -> dict:
    """The writer (appends succeed; head not rolled back) and the witness
    (checkpoints written, signed, not stale: ``Checkpointer.status``)."""
    writer = registry.access_log.status()
    try:
        status = registry.access_checkpointer.status(now)
    except Exception as exc:  # noqa: BLE001
        status = _failed("access log", exc)
    status["writer"] = writer
    if writer != OK and status["status"] == OK:
        status["status"] = DEGRADED
    return status


def worker(engine, now: dt.datetime) -> dict:
    """Workers seen alive lately, the queue and its oldest job, running jobs
    whose heartbeat stopped. Degraded when no worker is alive, a job waits
    longer than :data:`QUEUE_WAIT_LIMIT` or a running job lost its worker."""
    try:
        with engine.connect() as conn:
            alive = workers_alive(conn, now)
            queued, oldest = conn.execute(
                select(func.count(), func.min(Job.created_at)).where(Job.state == JobState.queued)).one()
            stale = conn.scalar(select(func.count()).select_from(Job).where(
                Job.state == JobState.running, Job.heartbeat_at < now - STALE_AFTER))
    except Exception as exc:  # noqa: BLE001
        return _failed("worker", exc)
    waiting = max(0, int((now - oldest).total_seconds())) if oldest is not None else 0
    problems = []
    if not alive:
        problems.append("no_worker")
    if waiting > QUEUE_WAIT_LIMIT.total_seconds():
        problems.append("queue_waiting")
    if stale:
        problems.append("stale_jobs")
    return {"status": DEGRADED if problems else OK, "problems": problems, "workers_alive": alive,
            "queued": queued, "oldest_queued_seconds": waiting, "stale_running": stale}


def report(registry, now: dt.datetime) -> dict:
    """The whole report: ``status`` is ``ok`` only when every part is."""
    engine = registry["db_engine"]
    parts = {"database": database(engine), "access_log": access_log(registry, now),
             "worker": worker(engine, now)}
    overall = OK if all(part["status"] == OK for part in parts.values()) else DEGRADED
    return {"status": overall, **parts}
