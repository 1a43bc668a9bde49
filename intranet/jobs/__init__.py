"""Background jobs (issue 21): long work off the web request.

Why a job table and not a library (Celery, RQ, Dramatiq, APScheduler...):
the application must run on SQLite from ``make run`` on a fresh machine and
on PostgreSQL in production, with no broker to install and operate; the
queue then lives in the same database, in the same transactions as the work
it describes (a view's enqueue commits or rolls back with the request), and
the access log's rules (who, ids and counts only) apply unchanged. A job is
one row of :class:`intranet.models.Job`; see docs/operations.md.

* :func:`enqueue` — called by a view inside its transaction;
* :func:`run_pending` — run every queued job now, in this process (tests,
  ``intranet worker --once``);
* :func:`intranet.jobs.worker.serve` — the ``intranet worker`` loop.

Job kinds are functions registered with :func:`job_kind`; they receive a
:class:`JobContext` (the job's own session, progress, clock) and the job's
parameters, and return the result (a JSON-able dict of ids and counts).
A kind raises :class:`JobError` with a message key to fail with a message
the page shows; any other exception fails the job with
``jobs.error.unexpected`` (the traceback goes to the worker's log only).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, or_, select, update

from ..audit.events import AuditEvent
from ..models import Job, JobState, JobWorker, User

log = logging.getLogger(__name__)

#: A running job whose heartbeat is older than this is abandoned (its worker died).
STALE_AFTER = dt.timedelta(minutes=5)
#: How often a running job's heartbeat is written.
HEARTBEAT_EVERY = dt.timedelta(seconds=20)
#: An abandoned job is queued again this many times, then failed.
MAX_ATTEMPTS = 2
#: How often a worker process writes that it is alive (``job_workers``).
WORKER_BEAT_EVERY = dt.timedelta(seconds=30)
#: A worker not seen for this long counts as gone (/healthz, the metrics).
WORKER_ALIVE_WITHIN = dt.timedelta(minutes=2)


class JobError(Exception):
    """A job failed for a reason the user can act on: ``key`` is a message key."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable  # (JobContext, params: dict) -> dict


KINDS: dict[str, JobKind] = {}


def job_kind(name: str):
    """Register a job kind: ``@job_kind("campaign.build") def build(ctx, params): ...``."""
    def register(fn):
        if name in KINDS and KINDS[name].run is not fn:
            raise ValueError(f"job kind {name!r} registered twice")
        KINDS[name] = JobKind(name, fn)
        return fn
    return register


def _load_kinds() -> None:
    from . import kinds  # noqa: F401  (registers the kinds)


def enqueue(dbsession, kind: str, params: dict, *, now: dt.datetime, created_by: int | None = None,
            subject: str | None = None) -> Job:
    """A queued job, added to ``dbsession`` (it commits with the caller's
    transaction: a request that fails queues nothing). ``params`` and the
    result hold ids and settings only, never personal data."""
    _load_kinds()
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(kind=kind, subject=subject, params=json.dumps(params, sort_keys=True, ensure_ascii=False),
              state=JobState.queued, progress_done=0, attempts=0, created_by=created_by,
              created_at=now)
    dbsession.add(job)
    dbsession.flush()
    return job


def latest_job(dbsession, subject: str) -> Job | None:
    """The newest job about ``subject`` (e.g. ``campaign:12``)."""
    return dbsession.scalars(select(Job).where(Job.subject == subject)
                             .order_by(Job.id.desc()).limit(1)).first()


def workers_alive(conn, now: dt.datetime) -> int:
    """Worker processes seen within :data:`WORKER_ALIVE_WITHIN` (/healthz, /metrics)."""
    return conn.scalar(select(func.count()).select_from(JobWorker)
                       .where(JobWorker.seen_at >= now - WORKER_ALIVE_WITHIN))


def worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


class JobContext:
    """What a job kind gets: its session (one transaction, committed when the
    kind returns), the clock, and :meth:`progress`."""

    def __init__(self, runner: "Runner", job: Job, dbsession):
        self.runner = runner
        self.job_id = job.id
        self.dbsession = dbsession
        self.now = runner.clock.now()
        self.today = runner.clock.today()

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress in a short transaction of its own, so the page sees
        it while the job's transaction is still open. Best effort: on SQLite a
        job that has begun writing holds the database's only write lock, and
        the progress waits for the end instead of the job waiting for it."""
        values = {"progress_done": done, "heartbeat_at": self.runner.clock.now()}
        if total is not None:
            values["progress_total"] = total
        self.runner.write_job(self.job_id, values, best_effort=True)


class Runner:
    """Claims and runs jobs against one database."""

    def __init__(self, session_factory, *, access_log=None, clock=None, worker: str | None = None,
                 stale_after: dt.timedelta = STALE_AFTER):
        from ..clock import SystemClock

        _load_kinds()
        self.session_factory = session_factory
        self.access_log = access_log
        self.clock = clock or SystemClock()
        self.worker = worker or worker_id()
        self.stale_after = stale_after

    # ---- claiming

    def claim(self) -> int | None:
        """Take the oldest queued job (state → running); None: nothing queued.
        PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so concurrent workers never
        wait for each other nor take the same job; SQLite: a conditional
        UPDATE (``… WHERE state = 'queued'``) that only one worker can win."""
        with self.session_factory() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            while True:
                query = (select(Job.id).where(Job.state == JobState.queued)
                         .order_by(Job.id).limit(1))
                if postgres:
                    query = query.with_for_update(skip_locked=True)
                job_id = session.scalar(query)
                if job_id is None:
                    session.rollback()
                    return None
                now = self.clock.now()
                won = session.execute(
                    update(Job).where(Job.id == job_id, Job.state == JobState.queued)
                    .values(state=JobState.running, worker=self.worker, started_at=now,
                            heartbeat_at=now, attempts=Job.attempts + 1)
                    .execution_options(synchronize_session=False)).rowcount
                session.commit()
                if won == 1:
                    return job_id

    def recover_stale(self) -> list[int]:
        """Running jobs whose heartbeat stopped (their worker died: their
        transaction was rolled back with it) are queued again, or failed with
        ``jobs.error.abandoned`` after :data:`MAX_ATTEMPTS`. Run at worker start."""
        limit = self.clock.now() - self.stale_after
        failed = []
        with self.session_factory() as session:
            stale = session.scalars(select(Job).where(
                Job.state == JobState.running,
                or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < limit))).all()
            for job in stale:
                if job.attempts >= MAX_ATTEMPTS:
                    job.state, job.error, job.finished_at = JobState.failed, "jobs.error.abandoned", self.clock.now()
                    failed.append(job.id)
                else:
                    job.state, job.worker, job.heartbeat_at = JobState.queued, None, None
                log.warning("job %s (%s) abandoned by %s: %s", job.id, job.kind, job.worker,
                            "failed" if job.id in failed else "queued again")
            session.commit()
        for job_id in failed:
            self._log(job_id, AuditEvent.JobFailed)
        return [job.id for job in stale]

    # ---- running

    # ---- being seen alive (issue 24)

    def beat(self) -> None:
        """Write that this worker is alive (its ``job_workers`` row), idle or
        busy; best effort (a busy SQLite database skips a beat)."""
        now = self.clock.now()
        try:
            with self.session_factory() as session:
                row = session.get(JobWorker, self.worker)
                if row is None:
                    session.add(JobWorker(name=self.worker, started_at=now, seen_at=now))
                else:
                    row.seen_at = now
                session.commit()
        except Exception:  # noqa: BLE001 - a missed beat is not a failure of the jobs
            log.debug("worker %s: beat not written now", self.worker)

    def leave(self) -> None:
        """Remove this worker's row (it stops cleanly)."""
        with self.session_factory() as session:
            row = session.get(JobWorker, self.worker)
            if row is not None:
                session.delete(row)
                session.commit()

    def write_job(self, job_id: int, values: dict, best_effort: bool = False) -> None:
        """A short transaction of its own on the job row."""
        try:
            with self.session_factory() as session:
                if best_effort and session.get_bind().dialect.name == "sqlite":
                    session.connection().exec_driver_sql("PRAGMA busy_timeout = 50")
                session.execute(update(Job).where(Job.id == job_id).values(**values)
                                .execution_options(synchronize_session=False))
                session.commit()
        except Exception:  # noqa: BLE001 - progress is best effort, the result is not
            if not best_effort:
                raise
            log.debug("progress of job %s not written now (database busy)", job_id)

    def run(self, job_id: int) -> JobState:
        """Run one claimed job in its own transaction; the result (or the
        failure) is recorded and logged. Never raises for the job's errors."""
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job_id, stop), daemon=True,
                                name=f"job-{job_id}-heartbeat")
        beat.start()
        try:
            return self._run(job_id)
        finally:
            stop.set()
            beat.join()

    def _heartbeat(self, job_id: int, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_EVERY.total_seconds()):
            self.write_job(job_id, {"heartbeat_at": self.clock.now()}, best_effort=True)
            self.beat()

    def _run(self, job_id: int) -> JobState:
        error = None
        with self.session_factory() as session:
            job = session.get(Job, job_id)
            kind = KINDS.get(job.kind)
            try:
                if kind is None:
                    raise JobError("jobs.error.unknown_kind")
                result = kind.run(JobContext(self, job, session), json.loads(job.params))
                session.expire(job)  # progress was written by other transactions
                job = session.get(Job, job_id)
                job.state, job.result = JobState.done, json.dumps(result or {}, sort_keys=True)
                job.finished_at, job.heartbeat_at = self.clock.now(), self.clock.now()
                job.progress_done = job.progress_total or job.progress_done
                session.commit()
            except JobError as exc:
                session.rollback()
                error = exc.key
            except Exception:  # noqa: BLE001 - any failure fails the job, never the worker
                session.rollback()
                log.exception("job %s failed", job_id)
                error = "jobs.error.unexpected"
        if error:
            self.write_job(job_id, {"state": JobState.failed, "error": error,
                                    "finished_at": self.clock.now()})
        self._log(job_id, AuditEvent.JobFailed if error else AuditEvent.JobDone)
        return JobState.failed if error else JobState.done

    def _log(self, job_id: int, event: AuditEvent) -> None:
        """The job's end in the access log, on behalf of who queued it: ids,
        kind, counts or the error key, never personal data."""
        if self.access_log is None:
            return
        from ..audit import chain
        from ..audit.record import clip, user_fields

        with self.session_factory() as session:
            job = session.get(Job, job_id)
            user = session.get(User, job.created_by) if job.created_by else None
            who = user_fields(user)
            detail = {"job": job.id, "kind": job.kind, "attempts": job.attempts}
            if job.subject:
                detail["subject"] = job.subject
            if job.state == JobState.done:
                detail.update(json.loads(job.result or "{}"))
            else:
                detail["error"] = job.error
        fields = {name: None for name in chain.FIELDS if name != "seq"}
        fields.update(who)
        fields.update(kind="event", event=event.value, occurred_at=self.clock.now(),
                      request_id=uuid.uuid4().hex, outcome="success" if event == AuditEvent.JobDone else "failure",
                      case_count=0, view_name="intranet worker",
                      detail=clip(json.dumps(detail, ensure_ascii=False, sort_keys=True), 400))
        try:
            self.access_log.append([(fields, [])])
        except Exception:  # noqa: BLE001 - the job's own outcome is already stored
            log.exception("job %s: %s could not be written to the access log", job_id, event)

    def run_pending(self, limit: int | None = None) -> list[int]:
        """Claim and run queued jobs until none is left (or ``limit`` ran)."""
        ran = []
        while limit is None or len(ran) < limit:
            job_id = self.claim()
            if job_id is None:
                break
            self.run(job_id)
            ran.append(job_id)
        return ran


def run_pending(session_factory, *, access_log=None, clock=None, limit: int | None = None) -> list[int]:
    """Run every queued job now, in this process: what tests call instead of
    starting a worker. Returns the ids of the jobs run."""
    return Runner(session_factory, access_log=access_log, clock=clock).run_pending(limit)
