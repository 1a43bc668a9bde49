"""Benchmark: building a call campaign over 22,000 and 220,000 demo cases.

Usage::

    .venv/bin/python bench/bench_campaign.py [--sizes 22000,220000]
                                             [--backend postgresql|sqlite] [--profile]
                                             [--url URL-of-a-loaded-database]

For each size: a throwaway database with that many demo cases, then in the
same process and on the same data the campaign build of before issue 21
(``tests/reference/legacy_campaigns.py``: one Python object per case, rows
sent back and forth) and the set-based build of ``intranet.calls.campaigns``
(the filter, grouping and inserts done by the database). Each build runs in
its own transaction and is rolled back, so both see the same cases. Prints
the seconds of each, the targets and members each produced (they must be
equal) and the ratio. ``--profile`` prints the top of a cProfile of the new
build. Goal (issue 21): 220,000 cases in 10 s or less on PostgreSQL. Then the
counts of a call-center draft (issue 25) on the same data, against the build
("before" in its row is the build's time): goal 5 s at 220,000 (inline on save).
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import intranet  # noqa: E402
from bench_cases import FAST_ARGON, Database, load, migrate  # noqa: E402
from results import record  # noqa: E402
from intranet.calls import campaigns, drafts  # noqa: E402
from intranet.models import CallCampaign, CallTarget, Case, CampaignCase, CampaignStatus  # noqa: E402
from tests.reference import legacy_campaigns  # noqa: E402

#: A Tuesday morning (JST).
NOW = dt.datetime(2026, 11, 24, 0, 30)


def timed_build(engine, module, profile: bool = False) -> tuple[float, int, int]:
    """Seconds, targets, members of one build (rolled back afterwards)."""
    with Session(engine) as session:
        campaign = CallCampaign(name="bench", status=CampaignStatus.draft,
                                starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 3, 31),
                                created_at=NOW)
        session.add(campaign)
        session.flush()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        module.build(session, campaign, module.CampaignFilter(), NOW.date(), NOW)
        session.flush()
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        targets = session.scalar(select(func.count()).select_from(CallTarget)
                                 .where(CallTarget.campaign_id == campaign.id))
        members = session.scalar(select(func.count()).select_from(CampaignCase)
                                 .where(CampaignCase.campaign_id == campaign.id))
        session.rollback()
    return seconds, targets, members


def run(backend: str, size: int, tmpdir: str, profile: bool) -> tuple[float, float]:
    db = Database(backend, tmpdir)
    try:
        migrate(db.url)
        app = intranet.main({}, **{"sqlalchemy.url": db.url, **FAST_ARGON})
        seconds = load(app, size)
        print(f"[{backend}] {size} demo cases loaded in {seconds:.0f} s", flush=True)
        engine = app.registry["db_engine"]
        if backend == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        result = measure(engine, backend, size, profile)
        engine.dispose()
        return result
    finally:
        db.drop()


def measure(engine, backend: str, size: int, profile: bool) -> tuple[float, float]:
    """The legacy build, then the new one, on the same data (each rolled back)."""
    old = timed_build(engine, legacy_campaigns)
    new = timed_build(engine, campaigns, profile)
    print(f"[{backend}] {size} cases: before {old[0]:.2f} s ({old[1]} targets, {old[2]} members)"
          f"  after {new[0]:.2f} s ({new[1]} targets, {new[2]} members)"
          f"  ratio {old[0] / new[0]:.1f}x", flush=True)
    if old[1:] != new[1:]:
        print(f"[{backend}] MISMATCH: the builds differ", flush=True)
    # issue 25: a call-center draft's counts (inline on save) run the same selection
    with Session(engine) as session:
        started = time.perf_counter()
        counted = drafts.counts(session, campaigns.CampaignFilter(), NOW.date())
        seconds = time.perf_counter() - started
    print(f"[{backend}] {size} cases: draft counts {seconds:.2f} s ({counted['targets']} targets,"
          f" {counted['cases']} cases){'' if counted['targets'] == new[1] else '  MISMATCH with the build'}",
          flush=True)
    record(f"campaign draft counts, {size:,} cases ({backend})", seconds,
           5.0 if size >= 220_000 and backend == "postgresql" else None, unit="s", before=new[0])
    return old[0], new[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="22000,220000",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--profile", action="store_true", help="profile the new build")
    parser.add_argument("--url", help="time both builds on this existing database (already loaded; "
                        "nothing is kept) instead of throwaway ones")
    args = parser.parse_args()
    results = {}
    if args.url:
        engine = sa.create_engine(args.url)
        with engine.connect() as conn:
            size = conn.scalar(select(func.count()).select_from(Case))
        results[size] = measure(engine, args.backend, size, args.profile)
        engine.dispose()
        args.sizes = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for size in args.sizes:
            results[size] = run(args.backend, size, tmpdir, args.profile)
    print(f"\n[{args.backend}] campaign build, seconds (goal: 220,000 cases <= 10 s on PostgreSQL)")
    for size, (old, new) in results.items():
        print(f"{size:>8} cases: before {old:7.2f}  after {new:7.2f}  ratio {old / new:5.1f}x")
        record(f"campaign build, {size:,} cases ({args.backend})", new,
               10.0 if size >= 220_000 and args.backend == "postgresql" else None,
               unit="s", before=old)
    return 0


if __name__ == "__main__":
    sys.exit(main())
