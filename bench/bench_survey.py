"""Benchmark: survey candidates (issue 20) at scale.

Usage::

    .venv/bin/python bench/bench_survey.py [--cases 22000] [--repeat 5]
                                           [--backend sqlite|postgresql|both]

Builds a throwaway database of ``--cases`` demo cases (bench_cases' loader),
then times :func:`intranet.survey.selection.candidates` (one query) and the
candidates page through the whole app, logged in as ``collector1``. Prints
the median and the number of candidates, and the SQL statements the page
ran. Numbers only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import sqlalchemy as sa
import webtest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import intranet  # noqa: E402
from bench_cases import FAST_ARGON, Database, load, login, migrate  # noqa: E402
from intranet.clock import SystemClock  # noqa: E402
from intranet.db import get_session_factory  # noqa: E402
from intranet.survey import selection  # noqa: E402


def median_ms(fn, repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run_backend(backend: str, cases: int, repeat: int, tmpdir: str) -> None:
    db = Database(backend, tmpdir)
    try:
        migrate(db.url)
        app = intranet.main({}, **{"sqlalchemy.url": db.url, **FAST_ARGON})
        print(f"[{backend}] demo-data --cases {cases}: {load(app, cases):.1f} s", flush=True)
        engine = app.registry["db_engine"]
        if backend == "postgresql":
            # planner statistics, as autovacuum keeps them in production
            # (right after a bulk load there are none, and plans are poor)
            with engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
        session = get_session_factory(engine)()
        today = SystemClock().today()
        found = selection.candidates(session, today)
        print(f"[{backend}] candidates: {len(found)}")
        print(f"[{backend}] selection.candidates: "
              f"{median_ms(lambda: selection.candidates(session, today), repeat):.0f} ms median")
        session.close()
        testapp = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        login(testapp)
        statements = []
        sa.event.listen(engine, "before_cursor_execute",
                        lambda *args: statements.append(args[2]))
        testapp.get("/survey/batches/candidates", status=200)
        print(f"[{backend}] candidates page: {len(statements)} statements, "
              f"{median_ms(lambda: testapp.get('/survey/batches/candidates', status=200), repeat):.0f}"
              f" ms median")
        engine.dispose()
    finally:
        db.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=22000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as tmpdir:
        for backend in backends:
            run_backend(backend, args.cases, args.repeat, tmpdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
