"""Benchmark: time to serve "次の架電" with 22,000 and 220,000 cases in campaigns.

Usage::

    .venv/bin/python bench/bench_next_call.py [--sizes 22000,220000]
                                              [--backend postgresql|sqlite] [--calls 200]

For each size: a throwaway database with that many demo cases, one active
campaign over all of them (built by the campaign service, timed too), then
``--calls`` rounds through the whole app of: POST /calls/next (lease), then
POST the result "no answer" (which releases the target and moves it behind
every unattempted one). Reports the median and p95 of the next-call request
and the ratio between the sizes: the queue is one ordered index scan, so the
time should not grow with the number of cases.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import transaction  # noqa: E402
import webtest  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

import intranet  # noqa: E402
from bench_cases import FAST_ARGON, Database, load, login, migrate  # noqa: E402
from intranet.calls import campaigns  # noqa: E402
from intranet.db import get_session_factory, get_tm_session  # noqa: E402
from intranet.models import CallCampaign, CallTarget, CampaignStatus  # noqa: E402
from tests.conftest import FrozenClock  # noqa: E402

#: A Tuesday morning (JST), inside calling hours.
NOW = dt.datetime(2026, 11, 24, 0, 30)


def build_campaign(app) -> tuple[float, int]:
    factory = get_session_factory(app.registry["db_engine"])
    started = time.perf_counter()
    with transaction.manager:
        session = get_tm_session(factory, transaction.manager)
        campaign = CallCampaign(name="bench", status=CampaignStatus.active,
                                starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 3, 31),
                                created_at=NOW)
        session.add(campaign)
        session.flush()
        campaigns.build(session, campaign, campaigns.CampaignFilter(), NOW.date(), NOW)
    seconds = time.perf_counter() - started
    with factory() as session:
        targets = session.scalar(select(func.count()).select_from(CallTarget))
    return seconds, targets


def run(backend: str, size: int, calls: int, tmpdir: str) -> list[float]:
    db = Database(backend, tmpdir)
    try:
        migrate(db.url)
        app = intranet.main({}, **{"sqlalchemy.url": db.url, **FAST_ARGON})
        seconds = load(app, size)
        print(f"[{backend}] {size} demo cases loaded in {seconds:.0f} s", flush=True)
        seconds, targets = build_campaign(app)
        print(f"[{backend}] campaign over {size} cases built in {seconds:.1f} s: {targets} targets",
              flush=True)
        app.registry.clock = FrozenClock(NOW)
        client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        login(client, "operator1")
        token = client.get("/calls/").html.find("input", {"name": "csrf_token"})["value"]
        samples = []
        for _ in range(calls + 5):
            started = time.perf_counter()
            res = client.post("/calls/next", {"csrf_token": token}, status=303)
            samples.append((time.perf_counter() - started) * 1000)
            client.post(res.location.replace("http://localhost", "") + "result",
                        {"csrf_token": token, "disposition": "no_answer"}, status=303)
        app.registry["db_engine"].dispose()
        return sorted(samples[5:])
    finally:
        db.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="22000,220000",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        for size in args.sizes:
            results[size] = run(args.backend, size, args.calls, tmpdir)
    print(f"\n[{args.backend}] POST /calls/next, {args.calls} calls, ms")
    base = None
    for size, samples in results.items():
        median = statistics.median(samples)
        p95 = samples[int(len(samples) * 0.95) - 1]
        base = base or median
        print(f"{size:>8} cases: median {median:6.1f}  p95 {p95:6.1f}  ratio {median / base:4.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
