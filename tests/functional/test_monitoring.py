"""Monitoring (issue 24): ``/healthz`` and ``/metrics`` answer the monitoring
network (``intranet.zones.monitoring``) without a login and nobody else; they
report the database, the access log's writer and witness, and the workers,
and say nothing about a person (docs/operations.md, "Monitoring")."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa
import webtest
from prometheus_client.parser import text_string_to_metric_families

import intranet
from intranet.jobs import Runner, enqueue
from intranet.models import AccessLogEntry, AccessLogHead, Job, JobState, JobWorker
from intranet.models.users import Role
from intranet.security import report as matrix_report
from intranet.security.permissions import Permission
from intranet.security.principals import MONITORING
from tests import factories
from tests.conftest import ROOT, TEST_SETTINGS, _migrate
from tests.helpers import MONITORING_ADDR, login

START = dt.datetime(2026, 11, 24, 0, 30)  # 09:30 JST, a Tuesday
FROM_MONITORING = {"REMOTE_ADDR": MONITORING_ADDR}


def _head(app) -> int:
    with app.registry["db_engine"].connect() as conn:
        return conn.scalar(sa.select(AccessLogHead.seq)) or 0


def _runner(app) -> Runner:
    return Runner(app.registry["dbsession_factory"], clock=app.registry.clock)


def _scrape(testapp) -> dict:
    """``/metrics`` as {(name, labels...): value} (sample names as exposed)."""
    text = testapp.get("/metrics", extra_environ=FROM_MONITORING).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return samples


def test_only_the_monitoring_network_reads_health_and_metrics(app_of_own, password_context):
    """Deny by default: anyone else, logged in or not, is refused and logged;
    the monitoring network gets JSON and the text format, unlogged. A spoofed
    X-Forwarded-For from an untrusted peer does not make a monitoring host."""
    app, testapp = app_of_own(**{"intranet.trusted_proxies": "127.0.0.1"})
    session = app.registry["dbsession_factory"]()
    factories.user(session, password_context, Role.collector, login="boss", is_supervisor=True)
    factories.user(session, password_context, Role.auditor, login="audit")
    session.commit()
    session.close()

    for path in ("/healthz", "/metrics"):
        before = _head(app)
        anonymous = testapp.get(path, status="*")
        assert anonymous.status_code in (303, 403) and "workers_alive" not in anonymous.text
        assert "intranet_http_requests" not in anonymous.text
        assert _head(app) == before + 1  # refused and logged
        spoofed = testapp.get(path, headers={"X-Forwarded-For": MONITORING_ADDR}, status="*")
        assert spoofed.status_code in (303, 403)
    login(testapp, "boss")
    for path in ("/healthz", "/metrics"):
        assert testapp.get(path, status=403)
    with app.registry["db_engine"].connect() as conn:
        denied = conn.execute(sa.select(AccessLogEntry.client_addr, AccessLogEntry.outcome)
                              .where(AccessLogEntry.path.in_(["/healthz", "/metrics"]))).all()
    assert sorted(denied) == [("10.0.0.1", "denied")] * 2 + [("10.0.0.1", "unauthenticated")] * 4

    monitor = webtest.TestApp(app, extra_environ=FROM_MONITORING)
    before = _head(app)
    assert monitor.get("/healthz", status="*").json["database"] == {"status": "ok"}
    assert "intranet_database_up 1.0" in monitor.get("/metrics").text
    # behind the trusted proxy, the client it names is the one that counts
    proxied = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    assert proxied.get("/healthz", headers={"X-Forwarded-For": MONITORING_ADDR}, status="*").json["status"]
    assert _head(app) == before  # the monitoring network's reads are not logged
    assert monitor.get("/healthz", status="*").headers["Cache-Control"] == "no-store"

    # the matrix says who holds them: a place, not a role
    held = dict(matrix_report.build().zones)
    assert held[MONITORING] == tuple(sorted({Permission.HealthView, Permission.MetricsView}))
    login(testapp, "audit")
    page = testapp.get("/audit/matrix")
    zone_row = page.html.select_one(f'tr.matrix-zone[data-zone="{MONITORING}"]')
    assert zone_row is not None and "ops:health:view" in zone_row.text and "intranet.zones.monitoring" in zone_row.text


def test_health_reports_workers_queue_and_stalled_jobs(app_of_own):
    """No worker alive is an outage even with nothing queued; a beat within
    two minutes counts; a job waiting over ten minutes, or a running job
    whose heartbeat stopped, degrades the worker part."""
    app, _ = app_of_own()
    monitor = webtest.TestApp(app, extra_environ=FROM_MONITORING)
    clock, runner = app.registry.clock, _runner(app)

    report = monitor.get("/healthz", status=503).json
    assert report["status"] == "degraded" and report["worker"]["problems"] == ["no_worker"]
    assert report["database"]["status"] == "ok" and report["access_log"]["status"] == "ok"

    runner.beat()
    report = monitor.get("/healthz", status=200).json
    assert report["status"] == "ok" and report["worker"]["workers_alive"] == 1

    clock.advance(minutes=3)  # the worker stopped beating
    assert monitor.get("/healthz", status=503).json["worker"]["problems"] == ["no_worker"]

    runner.beat()
    session = app.registry["dbsession_factory"]()
    enqueue(session, "campaign.build", {"campaign": 1}, now=clock.now() - dt.timedelta(minutes=11))
    stalled = enqueue(session, "campaign.build", {"campaign": 2}, now=clock.now())
    stalled.state, stalled.heartbeat_at = JobState.running, clock.now() - dt.timedelta(minutes=6)
    session.commit()
    worker = monitor.get("/healthz", status=503).json["worker"]
    assert worker["problems"] == ["queue_waiting", "stale_jobs"]
    assert (worker["queued"], worker["oldest_queued_seconds"], worker["stale_running"]) == (1, 660, 1)

    runner.leave()
    with app.registry["db_engine"].connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(JobWorker)) == 0
    session.close()


def test_the_worker_command_is_seen_while_it_runs_and_leaves_when_it_stops(app_of_own, fresh_database, tmp_path):
    """``intranet worker --once``: its row appears (seen by a concurrent look
    at the table is racy, so the job it ran checks it) and is gone after."""
    app, _ = app_of_own()
    ini = tmp_path / "worker.ini"
    settings = {**fresh_database, "intranet.audit.checkpoint_file": str(tmp_path / "checkpoints.jsonl")}
    ini.write_text("[app:main]\nuse = egg:intranet\n" + "".join(
        f"{key} = {value}\n" for key, value in settings.items() if "%" not in str(value)))
    session = app.registry["dbsession_factory"]()
    enqueue(session, "campaign.build", {"campaign": 999999, "filter": {}, "today": "2026-11-24",
                                         "now": "2026-11-24T00:30:00"}, now=START)
    session.commit()
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "intranet"), "worker", str(ini),
                           "--once"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    job = session.scalars(sa.select(Job)).one()
    session.refresh(job)
    assert job.state == JobState.failed and job.error == "jobs.error.campaign_gone"
    assert job.worker and session.scalar(sa.select(sa.func.count()).select_from(JobWorker)) == 0
    session.close()


def test_a_failing_log_writer_degrades_health(app_of_own, monkeypatch):
    """An append that fails (the database refuses it) makes the request a
    503 with no data; /healthz says the writer is failing until an append
    succeeds again, and still answers (its own reads are not logged)."""
    app, testapp = app_of_own()
    _runner(app).beat()
    monitor = webtest.TestApp(app, extra_environ=FROM_MONITORING)
    writer = app.registry.access_log
    original = writer._append

    def refuse(rows):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(writer, "_append", refuse)
    assert testapp.get("/login", status=503)
    report = monitor.get("/healthz", status=503).json
    assert report["access_log"]["writer"] == "failing" and report["access_log"]["status"] == "degraded"
    monkeypatch.setattr(writer, "_append", original)
    testapp.get("/login")
    assert monitor.get("/healthz", status=200).json["access_log"]["writer"] == "ok"


def test_an_unreadable_database_is_reported_not_raised(tmp_path):
    """The database file is damaged after the start: /healthz still answers
    (503, JSON, the exception's class name only) and /metrics says
    ``intranet_database_up 0``; nothing about the data."""
    path = tmp_path / "broken.sqlite"
    settings = {**TEST_SETTINGS, "sqlalchemy.url": f"sqlite:///{path}",
                "intranet.audit.checkpoint_file": str(tmp_path / "checkpoints.jsonl")}
    _migrate(settings)
    app = intranet.main({}, **settings)
    monitor = webtest.TestApp(app, extra_environ=FROM_MONITORING)
    assert monitor.get("/healthz", status="*").json["database"]["status"] == "ok"
    app.registry["db_engine"].dispose()
    path.write_bytes(b"this is not a database" * 1000)
    report = monitor.get("/healthz", status=503).json
    assert report["database"] == {"status": "error", "error": "DatabaseError"}
    assert report["worker"]["status"] == "error" and report["access_log"]["status"] == "error"
    assert "intranet_database_up 0.0" in monitor.get("/metrics").text
    app.registry["db_engine"].dispose()


def test_metrics_count_requests_log_jobs_and_workers_without_personal_data(app_of_own, password_context):
    """Requests by view (never by path: a case number or a name planted in
    the path or the query stays out), the log's appends (its head), jobs by
    state, job durations as a histogram, workers alive, checkpoint age."""
    app, testapp = app_of_own()
    clock = app.registry.clock
    session = app.registry["dbsession_factory"]()
    factories.user(session, password_context, Role.collector, login="boss")
    session.commit()
    before = _scrape(testapp)
    marker = "MARKER7Q4"
    testapp.get("/login")
    testapp.get(f"/login?next=/cases/{marker}/", status="*")
    # anonymous: redirected to the login page (303), however the path is spelled
    testapp.get(f"/{marker}-%E7%94%B0%E4%B8%AD", status=303)
    testapp.get(f"/{marker}", status=303)
    login(testapp, "boss")
    testapp.get(f"/cases/{marker}/", status="*")
    testapp.get(f"/{marker}", status=404)

    enqueue(session, "campaign.build", {"campaign": 1}, now=clock.now())
    finished = enqueue(session, "campaign.build", {"campaign": 2}, now=clock.now())
    finished.state, finished.started_at = JobState.done, clock.now()
    finished.finished_at = clock.now() + dt.timedelta(seconds=45)
    session.commit()
    _runner(app).beat()

    text = testapp.get("/metrics", extra_environ=FROM_MONITORING).text
    after = _scrape(testapp)
    assert marker not in text and "田中" not in text and "%E7" not in text

    def requests(samples, view, status):
        return samples.get(("intranet_http_requests_total", ("method", "GET"), ("status", status),
                            ("view", view)), 0)

    # /login, /login?next=…, and the login form of login()
    assert requests(after, "Root:login", "200") - requests(before, "Root:login", "200") == 3
    assert requests(after, "notfound", "404") - requests(before, "notfound", "404") >= 1
    assert requests(after, "notfound", "303") - requests(before, "notfound", "303") == 2
    views = {dict(key[1:])["view"] for key in after if key[0] == "intranet_http_requests_total"}
    assert all(re.fullmatch(r"[A-Za-z]+:[A-Za-z0-9_.-]*|static|notfound|other", v) for v in views), views

    # the scrapes themselves are not logged: the head is where the last page left it
    assert after[("intranet_access_log_appends_total",)] == _head(app) > before[("intranet_access_log_appends_total",)]
    assert after[("intranet_jobs", ("kind", "campaign.build"), ("state", "queued"))] == 1
    assert after[("intranet_jobs", ("kind", "campaign.build"), ("state", "done"))] == 1
    done = (("kind", "campaign.build"), ("state", "done"))
    assert after[("intranet_job_duration_seconds_bucket", done[0], ("le", "30.0"), done[1])] == 0
    assert after[("intranet_job_duration_seconds_bucket", done[0], ("le", "60.0"), done[1])] == 1
    assert after[("intranet_job_duration_seconds_count", *done)] == 1
    assert after[("intranet_job_duration_seconds_sum", *done)] == pytest.approx(45, abs=0.01)
    assert after[("intranet_workers_alive",)] == 1
    assert ("intranet_access_log_unwitnessed_entries",) in after
    session.close()


def test_metrics_add_up_the_processes_of_a_host(tmp_path):
    """Several waitress processes, one ``PROMETHEUS_MULTIPROC_DIR``: requests
    answered by two processes are counted together by a third's /metrics
    (prometheus_client's multiprocess mode; deploy/ sets the directory)."""
    path = tmp_path / "shared.sqlite"
    settings = {**TEST_SETTINGS, "sqlalchemy.url": f"sqlite:///{path}",
                "intranet.audit.checkpoint_file": str(tmp_path / "checkpoints.jsonl")}
    _migrate(settings)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    script = textwrap.dedent("""
        import json, sys, webtest, intranet
        settings = json.loads(sys.argv[1])
        app = webtest.TestApp(intranet.main({}, **settings), extra_environ={"REMOTE_ADDR": "10.0.0.1"})
        for _ in range(int(sys.argv[2])):
            app.get("/login")
        if sys.argv[3] == "scrape":
            print(app.get("/metrics", extra_environ={"REMOTE_ADDR": sys.argv[4]}).text)
    """)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONPATH": ROOT}

    def process(count, *scrape):
        done = subprocess.run([sys.executable, "-c", script, json.dumps(settings), str(count), *scrape],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    process(3, "no")
    process(4, "no")
    text = process(0, "scrape", MONITORING_ADDR)
    counted = [s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "intranet_http_requests_total" and s.labels.get("view") == "Root:login"]
    assert counted == [7.0]
