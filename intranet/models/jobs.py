"""Background jobs (issue 21): long work taken off the web request.

A view enqueues a :class:`Job` (a kind registered in :mod:`intranet.jobs`,
its parameters as JSON) and redirects; the worker process (``intranet
worker``) claims queued jobs, runs each in a transaction of its own and
records progress, the result or a failure. See docs/operations.md.
"""
from __future__ import annotations

import datetime as dt
import enum
import json

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, str_enum


class JobState(enum.StrEnum):
    queued = "queued"      # 待機中: waiting for a worker
    running = "running"    # 実行中: a worker holds it (heartbeat)
    done = "done"          # 完了: ``result`` holds what it made
    failed = "failed"      # 失敗: ``error`` is a message key


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # the worker's claim: the oldest queued job
        Index("ix_jobs_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))            # e.g. campaign.build
    # what the job works on, e.g. "campaign:12": pages find their job by it
    subject: Mapped[str | None] = mapped_column(String(60), index=True)
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON (ids and settings, no personal data)
    state: Mapped[JobState] = mapped_column(str_enum(JobState, "job_state"), default=JobState.queued)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(Text)         # JSON (counts)
    error: Mapped[str | None] = mapped_column(String(80))    # a message key (intranet.messages)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    worker: Mapped[str | None] = mapped_column(String(80))   # host:pid of the claiming worker
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    @property
    def finished(self) -> bool:
        return self.state in (JobState.done, JobState.failed)

    @property
    def result_data(self) -> dict:
        return json.loads(self.result) if self.result else {}

    @property
    def percent(self) -> int:
        if self.state == JobState.done:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))


class JobWorker(Base):
    """A running ``intranet worker`` process (issue 24): it writes ``seen_at``
    while it runs, idle or not, and removes its row when it stops. ``/healthz``
    counts the workers seen lately: jobs queued with none alive is an outage
    a job's own heartbeat cannot show (no job is running)."""

    __tablename__ = "job_workers"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)  # host:pid, as Job.worker
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
