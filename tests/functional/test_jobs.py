"""Background jobs (issue 21): a campaign is built off the request by a job
the worker runs; the campaign page shows a progress bar, then the result or
the error; the job and its result are logged (ids and counts only); workers
claim jobs safely and never leave one running forever. Tests run queued jobs
inline (tests.helpers.run_jobs); one test starts the real ``intranet worker``."""
import datetime as dt
import json
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

import intranet.calls.campaigns as campaign_service
from intranet.db import get_session_factory
from intranet.jobs import MAX_ATTEMPTS, Runner, enqueue
from intranet.models import CallCampaign, CallTarget, Job, JobState, Role
from tests import factories
from tests.conftest import ROOT, TEST_SETTINGS, _migrate
from tests.functional.test_calls import CAMPAIGN_FORM, counts
from tests.helpers import csrf_token, entries_since, log_mark, login, run_jobs


@pytest.fixture
def staff(dbsession, password_context):
    users = {login: factories.user(dbsession, password_context, role, login=login)
             for login, role in (("c1", Role.collector), ("op1", Role.operator),
                                 ("au", Role.auditor), ("inv", Role.contractor))}
    for n in range(3):
        factories.owed_case(dbsession, name=f"架電 {n}", phone=f"03-3100-000{n}", amount=10000 + n)
    factories.owed_case(dbsession, name="番号なし", phone=None, amount=5000)
    dbsession.commit()
    return users


def _create(testapp):
    token = csrf_token(testapp, "/calls/campaigns/new")
    res = testapp.post("/calls/campaigns/new", {**CAMPAIGN_FORM, "csrf_token": token}, status=303)
    return res.location.split("localhost", 1)[-1]


def test_creating_a_campaign_queues_its_build_and_the_page_shows_progress_then_the_result(
        testapp, staff, dbsession, engine):
    login(testapp, "c1")
    mark = log_mark(engine)
    path = _create(testapp)
    # nothing built inside the request: a queued job, a progress bar, no targets
    job = dbsession.scalars(sa.select(Job)).one()
    assert (job.kind, job.state, job.created_by) == ("campaign.build", JobState.queued, staff["c1"].id)
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallTarget)) == 0
    page = testapp.get(path)
    box = page.html.select_one("#campaign-job")
    assert box["data-job-state"] == "queued" and box.select_one("progress") is not None
    assert box["data-job-status-url"] == path + "job"
    assert "対象を抽出しています" in box.text
    assert page.html.select_one("script[src*='jobs.js']") is not None
    status = testapp.get(path + "job").json
    assert (status["state"], status["finished"], status["percent"]) == ("queued", False, 0)
    # the campaign cannot start before its cases are selected
    res = testapp.post(path + "activate", {"csrf_token": csrf_token(testapp, path)}, status=400)
    assert "抽出が終わっていないため開始できません" in res.text
    assert dbsession.scalar(sa.select(CallCampaign.status)) == "draft"
    events = [(e.event, json.loads(e.detail)) for e in entries_since(engine, mark, kind="event")]
    campaign_id = dbsession.scalar(sa.select(CallCampaign.id))
    assert events == [("campaign.created", {"campaign": campaign_id}),
                      ("job.queued", {"campaign": campaign_id, "job": job.id, "kind": "campaign.build"})]

    mark = log_mark(engine)
    assert run_jobs(testapp) == [job.id]
    dbsession.expire_all()
    assert (job.state, job.progress_done, job.progress_total) == (JobState.done, 4, 4)
    assert job.worker and job.started_at and job.finished_at and job.attempts == 1
    result = {"campaign": campaign_id, "cases": 4, "targets": 4, "no_phone": 1}
    assert json.loads(job.result) == result
    (done,) = entries_since(engine, mark, kind="event")
    # on behalf of who queued it; ids and counts only, no name or number
    assert (done.event, done.login, done.outcome, done.view_name) == (
        "job.done", "c1", "success", "intranet worker")
    assert json.loads(done.detail) == {**result, "job": job.id, "kind": "campaign.build",
                                       "attempts": 1, "subject": f"campaign:{campaign_id}"}
    page = testapp.get(path)
    assert page.html.select_one("#campaign-job")["data-job-state"] == "done"
    assert page.html.select_one("#campaign-job progress") is None
    assert page.html.select_one("[data-result=targets]").text == "4"
    assert counts(page)["queued"] == 3 and counts(page)["no_phone"] == 1
    assert testapp.get(path + "job").json["result"] == result
    testapp.post(path + "activate", {"csrf_token": csrf_token(testapp, path)}, status=303)


def test_the_job_status_is_for_those_who_may_see_the_campaign(testapp, staff):
    login(testapp, "c1")
    path = _create(testapp)
    login(testapp, "au")
    assert testapp.get(path + "job").json["state"] == "queued"
    for who in ("op1", "inv"):
        login(testapp, who)
        testapp.get(path + "job", status=403)
    testapp.reset()
    assert "/login" in testapp.get(path + "job", status=303).location


def test_a_failed_build_is_shown_with_what_to_do_and_logged_and_the_next_job_still_runs(
        testapp, staff, dbsession, engine, monkeypatch):
    login(testapp, "c1")
    first = _create(testapp)
    second = _create(testapp)
    real = campaign_service.build
    calls = []

    def broken_once(*args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk full")
        return real(*args, **kw)

    monkeypatch.setattr(campaign_service, "build", broken_once)
    mark = log_mark(engine)
    assert len(run_jobs(testapp)) == 2
    states = dict(dbsession.execute(sa.select(Job.subject, Job.state)).all())
    assert sorted(states.values()) == ["done", "failed"]
    page = testapp.get(first)
    assert page.html.select_one("#campaign-job")["data-job-state"] == "failed"
    assert "対象の抽出に失敗しました" in page.text and "予期しないエラー" in page.text
    assert "disk full" not in page.text  # the cause goes to the worker's log only
    assert page.html.select_one("form[action$='activate']") is None
    # nothing half-built: the failed job's transaction was rolled back
    failed_campaign = int(first.rstrip("/").rsplit("/", 1)[1])
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallTarget)
                            .where(CallTarget.campaign_id == failed_campaign)) == 0
    assert testapp.get(first + "job").json["error"].startswith("処理中に予期しないエラー")
    assert testapp.get(second).html.select_one("#campaign-job")["data-job-state"] == "done"
    events = {e.event: e for e in entries_since(engine, mark, kind="event")}
    assert events["job.failed"].outcome == "failure"
    assert json.loads(events["job.failed"].detail)["error"] == "jobs.error.unexpected"


def _runner(wsgi_app, worker, clock=None, **kw):
    return Runner(get_session_factory(wsgi_app.registry["db_engine"]),
                  access_log=wsgi_app.registry.access_log, clock=clock or wsgi_app.registry.clock,
                  worker=worker, **kw)


def _queue(dbsession, n, clock):
    factories.owed_case(dbsession, name="架電 一", phone="03-3100-0001")
    campaign = CallCampaign(name="x", starts_on=dt.date(2026, 11, 24), ends_on=dt.date(2026, 12, 24),
                            created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    jobs = [enqueue(dbsession, "campaign.build", {
        "campaign": campaign.id, "filter": {}, "today": "2026-11-24", "now": clock.now().isoformat()},
        now=clock.now(), subject=f"campaign:{campaign.id}") for _ in range(n)]
    dbsession.commit()
    return [job.id for job in jobs]


def test_two_workers_never_claim_the_same_job(wsgi_app, dbsession, clock):
    ids = _queue(dbsession, 2, clock)
    one, two = _runner(wsgi_app, "host:1"), _runner(wsgi_app, "host:2")
    assert one.claim() == ids[0]
    assert two.claim() == ids[1]
    assert one.claim() is None and two.claim() is None
    rows = dict(dbsession.execute(sa.select(Job.id, Job.worker)).all())
    assert rows == {ids[0]: "host:1", ids[1]: "host:2"}
    # the second job of the same campaign finds it built, and says so
    assert one.run(ids[0]) == JobState.done
    assert two.run(ids[1]) == JobState.failed
    dbsession.expire_all()
    assert dbsession.get(Job, ids[1]).error == "jobs.error.campaign_built"


def test_a_job_whose_worker_died_is_queued_again_then_failed(wsgi_app, dbsession, clock, engine):
    """A crash rolls the job's transaction back; the next worker to start
    finds its heartbeat stale: queued again, and after MAX_ATTEMPTS failed."""
    (job_id,) = _queue(dbsession, 1, clock)
    dead = _runner(wsgi_app, "host:dead")
    assert dead.claim() == job_id                     # ... and the process dies here
    fresh = _runner(wsgi_app, "host:new", stale_after=dt.timedelta(minutes=5))
    assert fresh.recover_stale() == []                # the heartbeat is recent: still running
    clock.advance(minutes=6)
    assert fresh.recover_stale() == [job_id]
    dbsession.expire_all()
    job = dbsession.get(Job, job_id)
    assert (job.state, job.worker, job.attempts) == (JobState.queued, None, 1)
    for _ in range(MAX_ATTEMPTS - 1):
        assert dead.claim() == job_id
        clock.advance(minutes=6)
        mark = log_mark(engine)
        fresh.recover_stale()
    dbsession.expire_all()
    job = dbsession.get(Job, job_id)
    assert (job.state, job.error) == (JobState.failed, "jobs.error.abandoned")
    (event,) = entries_since(engine, mark, kind="event")
    assert (event.event, json.loads(event.detail)["error"]) == ("job.failed", "jobs.error.abandoned")


class _NoLogin:
    """No password: the worker test's user never logs in."""

    @staticmethod
    def hash(password):
        return "!"


def test_the_worker_command_runs_a_queued_job(tmp_path):
    """The real ``intranet worker`` process against a temporary SQLite
    database: it builds the campaign, logs the result, and stops on SIGTERM."""
    url = f"sqlite:///{tmp_path / 'worker.sqlite'}"
    _migrate({"sqlalchemy.url": url})
    engine = sa.create_engine(url)
    factory = get_session_factory(engine)
    with factory() as session:
        user = factories.user(session, _NoLogin, Role.collector, login="c1")
        factories.owed_case(session, name="架電 一", phone="03-3100-0001")
        campaign = CallCampaign(name="w", starts_on=dt.date(2026, 11, 24), ends_on=dt.date(2026, 12, 24),
                                created_at=dt.datetime(2026, 11, 24))
        session.add(campaign)
        session.flush()
        job_id = enqueue(session, "campaign.build", {
            "campaign": campaign.id, "filter": {}, "today": "2026-11-24",
            "now": "2026-11-24T00:30:00"}, now=dt.datetime(2026, 11, 24), created_by=user.id).id
        session.commit()
    ini = tmp_path / "worker.ini"
    ini.write_text(f"""
[app:main]
use = egg:intranet
sqlalchemy.url = {url}
intranet.audit.hmac_key = {TEST_SETTINGS['intranet.audit.hmac_key']}
""")
    env = {**os.environ, "PYTHONPATH": ROOT}
    worker = subprocess.Popen([sys.executable, "-m", "intranet.scripts.cli", "worker", str(ini),
                               "--poll", "0.2"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        state = None
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                state = conn.scalar(sa.select(Job.state).where(Job.id == job_id))
            if state in ("done", "failed"):
                break
            time.sleep(0.2)
        assert state == "done", worker.stdout.read1().decode() if worker.poll() is not None else state
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode()
    assert worker.returncode == 0, output
    with engine.connect() as conn:
        job = conn.execute(sa.select(Job.worker, Job.result).where(Job.id == job_id)).one()
        assert job.worker.endswith(f":{worker.pid}")
        assert json.loads(job.result)["targets"] == 1
        assert conn.scalar(sa.text("SELECT count(*) FROM access_log WHERE event = 'job.done'")) == 1
    engine.dispose()
