"""Prometheus metrics (issue 24), with ``prometheus_client``.

Two kinds:

* **per process**, counted as requests pass (:func:`request_metrics_tween_factory`):
  requests by view, method and status, and their durations. With several
  waitress processes set ``PROMETHEUS_MULTIPROC_DIR`` (one directory shared
  by the processes of a host, emptied at boot): every process then writes its
  counts there and ``/metrics`` adds them up (prometheus_client's
  multiprocess mode);
* **from the database**, read at each scrape (:class:`DatabaseCollector`), so
  they are right whichever process answers: access-log appends, checkpoint
  age and unwitnessed entries, jobs by state, job durations, workers alive.

Labels come from the code, never from the request: a view is named by its
context class and view name (``CaseResource:slip``), and only when a view
was found; the path (which carries case numbers) and query never appear.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import time

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from pyramid.httpexceptions import HTTPNotFound
from sqlalchemy import case, func, select

from ..jobs import workers_alive
from ..models import AccessLogHead, Job, JobState

METHODS = frozenset({"GET", "POST", "HEAD"})
#: What a view name may look like to become a label (anything else: "other").
_LABEL = re.compile(r"[A-Za-z0-9_.-]{0,40}\Z")

REQUESTS = Counter("intranet_http_requests", "HTTP requests answered, by view, method and status",
                   ["view", "method", "status"])
DURATION = Histogram("intranet_http_request_duration_seconds",
                     "Time to answer a request, the access log's write included, by view",
                     ["view"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

#: Job durations: from a second to half an hour (a campaign build of 220,000 cases: ~12 s).
JOB_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800)


def registered_view_names(registry) -> frozenset[str]:
    """The names views are registered under (the only names a label may carry)."""
    views = (entry["introspectable"] for entry in registry.introspector.get_category("views") or ())
    names = (view["name"] or "" for view in views)
    return frozenset(name for name in names if _LABEL.match(name))


def view_label(request, view_names: frozenset[str]) -> str:
    """``Context:view_name`` of the view that answered; ``static`` for files,
    ``notfound`` when no view was found (an anonymous request for an unknown
    path is redirected to the login page, so the status does not tell), and
    ``other`` for a name no view has: what the path said is never a label."""
    if request.path.startswith("/static/"):
        return "static"
    if isinstance(getattr(request, "exception", None), HTTPNotFound) or getattr(request, "context", None) is None:
        return "notfound"
    name = request.view_name or ""
    if name not in view_names:
        return "other"
    return f"{type(request.context).__name__}:{name}"


def request_metrics_tween_factory(handler, registry):
    view_names = registered_view_names(registry)

    def request_metrics_tween(request):
        started = time.perf_counter()
        status = 500
        try:
            response = handler(request)
            status = response.status_code
            return response
        finally:
            view = view_label(request, view_names)
            method = request.method if request.method in METHODS else "other"
            REQUESTS.labels(view, method, str(status)).inc()
            DURATION.labels(view).observe(time.perf_counter() - started)

    return request_metrics_tween


class DatabaseCollector:
    """The metrics read from the database at scrape time (all processes)."""

    def __init__(self, registry, now: dt.datetime):
        self.registry = registry
        self.now = now

    def collect(self):
        engine = self.registry["db_engine"]
        up = GaugeMetricFamily("intranet_database_up", "1 when the database answered this scrape")
        try:
            families = list(self._from_database(engine))
        except Exception:  # noqa: BLE001 - a down database is a metric, not an error page
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _from_database(self, engine):
        status = self.registry.access_checkpointer.status(self.now)
        with engine.connect() as conn:
            head = conn.scalar(select(AccessLogHead.seq)) or 0
            by_state = conn.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)).all()
            alive = workers_alive(conn, self.now)
            durations = conn.execute(self._duration_query(engine)).all()

        yield CounterMetricFamily("intranet_access_log_appends", "Entries appended to the access log (its head)",
                                  value=head)
        yield GaugeMetricFamily("intranet_access_log_unwitnessed_entries",
                                "Entries no valid checkpoint covers yet", value=status["unwitnessed_entries"])
        age = status["last_checkpoint_age_seconds"]
        if age is not None:
            yield GaugeMetricFamily("intranet_access_log_checkpoint_age_seconds",
                                    "Seconds since the newest valid checkpoint", value=age)
        yield GaugeMetricFamily("intranet_access_log_witness_failing",
                                "1 while writing a checkpoint fails (this process)",
                                value=1 if status["witness_failing_since"] else 0)
        yield GaugeMetricFamily("intranet_access_log_tree_stopped",
                                "1 while the Merkle tree does not grow (a forged row)",
                                value=1 if status["tree"] != "ok" else 0)
        jobs = GaugeMetricFamily("intranet_jobs", "Background jobs by kind and state (queue depth: state=queued)",
                                 labels=["kind", "state"])
        for kind, state, count in by_state:
            jobs.add_metric([kind, str(state)], count)
        yield jobs
        yield GaugeMetricFamily("intranet_workers_alive", "Worker processes seen in the last two minutes",
                                value=alive)
        histogram = HistogramMetricFamily("intranet_job_duration_seconds",
                                          "Run time of finished jobs (started to finished), by kind and state",
                                          labels=["kind", "state"])
        for row in durations:
            kind, state, count, total, *cumulative = row
            buckets = [(str(float(bound)), n or 0) for bound, n in zip(JOB_BUCKETS, cumulative)]
            buckets.append(("+Inf", count))
            histogram.add_metric([kind, str(state)], buckets, float(total or 0))
        yield histogram

    @staticmethod
    def _duration_query(engine):
        if engine.dialect.name == "postgresql":
            seconds = func.extract("epoch", Job.finished_at - Job.started_at)
        else:
            seconds = (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86400.0
        cumulative = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in JOB_BUCKETS]
        return (select(Job.kind, Job.state, func.count(), func.sum(seconds), *cumulative)
                .where(Job.state.in_([JobState.done, JobState.failed]), Job.started_at.is_not(None),
                       Job.finished_at.is_not(None))
                .group_by(Job.kind, Job.state))


def exposition(registry, now: dt.datetime) -> bytes:
    """The text of one scrape: this host's request metrics (every process's,
    in multiprocess mode) and the database's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(registry, now))
    return generate_latest(processes) + generate_latest(database)
