"""Benchmark: appends per second the access log's single chain head allows,
with 1, 2 and 4 application processes (issue 21, "More than one process").

Usage::

    .venv/bin/python bench/bench_chain.py [--processes 1,2,4] [--seconds 5]
                                          [--rounds 2] [--batch 1]
                                          [--backend postgresql|sqlite|both]

For each backend it builds a throwaway migrated database, then for each
process count starts that many worker processes (``spawn``: nothing shared).
Each builds the application from its settings (``intranet.main``, as pserve
does) and, from a common start, appends in a loop for ``--seconds`` through
the app's own append path: ``registry.access_log.append`` (the writer the
tween calls: the bounded waits and the head row lock in one round trip, chain
HMAC, entry and disclosed case in one statement, commit) followed by
``registry.access_checkpointer.maybe_write`` (the tween's checkpoint step).
Each append is a case-page entry with one disclosed case, the shape of most
requests.

Why direct calls and not HTTP requests to N waitress processes: on this
2-core machine a case page costs several milliseconds of CPU in rendering,
authentication and facets, so N servers saturate the CPU long before the
head does and the number would be the page's, not the log's (bench_http.py
measures the page). The head is the one thing every process shares; calling
the writer in a loop loads it as hard as a fleet of application processes
whose pages were free. tests/functional/test_multi_process.py checks over
HTTP that two real servers share one chain correctly.

Per process count it prints appends/s, p50/p99 append latency (the whole
append, queueing for the head included), the time the head row is held per
append (from the lock statement's return to the append's return: the
serial section, whose inverse is the ceiling) and the commit's share of it
(PostgreSQL: the last round trip's, the insert with ``COMMIT``),
errors (e.g. a lock wait past
``intranet.audit.write_timeout_seconds``) and the load average, then
verifies the whole chain with ``intranet.audit.verify.verify_database``.
Each rate is recorded (no target: the ceiling is a number for
docs/scaling.md). ``--batch k`` puts k entries in each append instead of
one: what appending the entries of several requests in one transaction (the
first step past the ceiling in docs/scaling.md) would give; it is printed,
not recorded. Numbers only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from results import record  # noqa: E402
from bench_cases import FAST_ARGON, Database, migrate  # noqa: E402

KEY = FAST_ARGON["intranet.audit.hmac_key"].encode()


def entry(n: int, worker: int) -> list[tuple[dict, list]]:
    """A case-page request entry with one disclosed case, as the tween writes it."""
    from intranet.audit.chain import FIELDS

    fields = {name: None for name in FIELDS if name != "seq"}
    case_id = 1 + (worker * 7919 + n) % 22000
    fields.update(
        kind="request", occurred_at=dt.datetime.utcnow(), request_id=uuid.uuid4().hex,
        user_id=17, login="collector2", roles="collector", organisation="ward-tax",
        session_id=1000 + worker, client_addr="10.20.0.17",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) bench", method="GET",
        path=f"/cases/2026-{case_id:06d}/", view_name="intranet.cases.views.case_page",
        context_type="CaseResource", context_id=f"2026-{case_id:06d}", permission="case:view",
        outcome="allowed", status=200, duration_us=9000,
        facets="identity contact assessment payment negotiation call_log", case_count=1)
    return [(fields, [(case_id, f"2026-{case_id:06d}")])]


def worker(url: str, n: int, batch: int, ready, commands, out) -> None:
    """One application process: builds the app once, then for each command
    ``(start wall-clock time, seconds)`` appends in a loop over that window."""
    import logging

    from sqlalchemy import event

    import intranet

    logging.disable(logging.INFO)  # the checkpoint logger's line per checkpoint
    app = intranet.main({}, **{"sqlalchemy.url": url, **FAST_ARGON})
    registry = app.registry
    writer, checkpointer, clock = registry.access_log, registry.access_checkpointer, registry.clock
    locked, committing = [0.0], [0.0]
    engine = registry["db_engine"]

    @event.listens_for(engine, "after_cursor_execute")
    def head_locked(conn, cursor, statement, parameters, context, executemany):
        if "access_log_head" in statement and ("FOR UPDATE" in statement  # psycopg: BEGIN; ...
                                               or "RETURNING" in statement):
            locked[0] = time.perf_counter()

    @event.listens_for(engine, "commit")
    def commit_starts(conn):
        if conn.dialect.driver != "psycopg":  # (psycopg: already committed, see below)
            committing[0] = time.perf_counter()

    @event.listens_for(engine, "before_cursor_execute")
    def insert_starts(conn, cursor, statement, parameters, context, executemany):
        # PostgreSQL with psycopg: the insert and COMMIT go in one round trip
        # (the "commit" column is that round trip's share)
        if statement.startswith("WITH entries"):
            committing[0] = time.perf_counter()

    writer.append(entry(0, n))  # connect and warm up before any clock starts
    ready.put(n)
    i = 0
    while (command := commands.get()) is not None:
        at, seconds = command
        time.sleep(max(0.0, at - time.time()))
        latencies, held, commits, errors = [], [], [], 0
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            i += 1
            rows = [row for b in range(batch) for row in entry(i * batch + b, n)]
            began = time.perf_counter()
            try:
                seq, value = writer.append(rows)
            except Exception:  # noqa: BLE001 - counted: the tween would answer 503
                errors += 1
                continue
            done = time.perf_counter()
            latencies.append(done - began)
            held.append(done - locked[0])
            commits.append(done - committing[0])
            try:
                checkpointer.maybe_write(seq, value, clock.now())
            except Exception:  # noqa: BLE001 - as the tween: the entry is safe
                pass
        out.put((n, latencies, held, commits, errors))
    registry["db_engine"].dispose()


class Fleet:
    """``size`` application processes (spawned: nothing shared but the database)."""

    def __init__(self, url: str, size: int, batch: int = 1):
        ctx = multiprocessing.get_context("spawn")
        ready, self.out, self.batch = ctx.Queue(), ctx.Queue(), batch
        self.commands = [ctx.Queue() for _ in range(size)]
        self.workers = [ctx.Process(target=worker, args=(url, n, batch, ready, self.commands[n],
                                                                  self.out),
                                    daemon=True) for n in range(size)]
        for w in self.workers:
            w.start()
        for _ in self.workers:
            ready.get(timeout=300)

    def run(self, processes: int, seconds: float) -> dict:
        at = time.time() + 0.3
        for n in range(processes):
            self.commands[n].put((at, seconds))
        results = [self.out.get(timeout=seconds + 120) for _ in range(processes)]
        latencies = sorted(x * 1000 for r in results for x in r[1])
        count = len(latencies)
        return {"rate": count / seconds, "count": count, "entries": count * self.batch / seconds,
                "p50": statistics.median(latencies),
                "p99": latencies[min(count - 1, int(count * 0.99))],
                "held": statistics.median(x * 1000 for r in results for x in r[2]),
                "commit": statistics.median(x * 1000 for r in results for x in r[3]),
                "errors": sum(r[4] for r in results),
                "per_process": [len(r[1]) for r in sorted(results)]}

    def close(self) -> None:
        for queue in self.commands:
            queue.put(None)
        for w in self.workers:
            w.join(10)
            if w.is_alive():
                w.terminate()


def verify(url: str) -> tuple[bool, int, float]:
    import sqlalchemy as sa

    from intranet.audit.verify import entry_count, verify_database

    engine = sa.create_engine(url)
    try:
        started = time.perf_counter()
        with engine.connect() as conn:
            report = verify_database(conn, KEY)
            entries = entry_count(conn)
        return report.ok, entries, time.perf_counter() - started
    finally:
        engine.dispose()


def run_backend(backend: str, args, tmpdir: str) -> None:
    db = Database(backend, tmpdir)
    fleet = None
    try:
        migrate(db.url)
        fleet = Fleet(db.url, max(args.processes), args.batch)
        print(f"\n[{backend}] appends through registry.access_log, {args.seconds:.0f} s per "
              f"run, 1 appender per process, {args.batch} entr{'y' if args.batch == 1 else 'ies'} "
              f"per append, {args.rounds} rounds (best kept), {os.cpu_count()} cores", flush=True)
        print(f"{'round':>5} {'procs':>5} {'appends/s':>10} {'entries/s':>10} {'p50 ms':>8} "
              f"{'p99 ms':>8} "
              f"{'held ms':>8} {'commit':>7} {'errors':>6} {'per process':>20} {'chain':>16} {'loadavg':>16}",
              flush=True)
        best: dict[int, dict] = {}
        for round_no in range(1, args.rounds + 1):
            for processes in args.processes:
                load = " ".join(open("/proc/loadavg").read().split()[:3])
                r = fleet.run(processes, args.seconds)
                ok, entries, _ = verify(db.url)
                chain_text = f"{'ok' if ok else 'BROKEN'} {entries:,}"
                print(f"{round_no:>5} {processes:>5} {r['rate']:>10.0f} {r['entries']:>10.0f} "
                      f"{r['p50']:>8.1f} "
                      f"{r['p99']:>8.1f} {r['held']:>8.2f} {r['commit']:>7.2f} {r['errors']:>6} "
                      f"{'/'.join(map(str, r['per_process'])):>20} {chain_text:>16} {load:>16}",
                      flush=True)
                if not ok:
                    print(f"[{backend}] THE CHAIN DOES NOT VERIFY after {processes} processes",
                          flush=True)
                if processes not in best or r["rate"] > best[processes]["rate"]:
                    best[processes] = r
        for processes in args.processes:
            r = best[processes]
            print(f"[{backend}] {processes} process(es): best {r['rate']:.0f} appends/s "
                  f"({r['entries']:.0f} entries/s), "
                  f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, head held {r['held']:.2f} ms "
                  f"(commit {r['commit']:.2f} ms)",
                  flush=True)
            if args.batch == 1:  # the goal: one request's entries per append, as today
                record(f"log appends/s, {processes} process(es) ({backend})", r["rate"],
                       unit="/s", better="higher")
    finally:
        if fleet is not None:
            fleet.close()
        db.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2,4",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1,
                        help="entries per append (>1: what appending several requests' entries "
                             "in one transaction would give; docs/scaling.md); not recorded")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as tmpdir:
        for backend in backends:
            run_backend(backend, args, tmpdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
