"""Benchmark: case-page throughput with and without the access log.

Usage::

    .venv/bin/python bench/bench_access_log.py [--backend postgresql|sqlite|both]
                                               [--requests 400] [--threads 1,4] [--rounds 3]

Same process, same data (300 demo cases), same logged-in collector: the
"without" runs swap the registry's access-log writer for one that writes
nothing, so the difference is the cost of the entry, its disclosed case, the
chain and the commit. Runs alternate with/without for ``--rounds`` rounds and
the best round of each is reported, as requests per second and the ratio.
Goal (issue 3): logging costs under 20% of throughput on PostgreSQL.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import webtest  # noqa: E402

import intranet  # noqa: E402
from bench_cases import FAST_ARGON, Database, load, login, migrate  # noqa: E402
from intranet.audit.chain import GENESIS  # noqa: E402

class NullWriter:
    def append(self, rows):
        return 0, GENESIS


class NullCheckpointer:
    def maybe_write(self, *args):
        return False

    def degraded(self, *args):
        return False


def throughput(app, clients, case_paths, total: int) -> float:
    per_client = total // len(clients)

    def work(client, offset):
        for i in range(per_client):
            client.get(case_paths[(offset + i) % len(case_paths)], status=200)

    threads = [threading.Thread(target=work, args=(c, n * 37)) for n, c in enumerate(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per_client * len(clients) / (time.perf_counter() - started)


def run_backend(backend: str, args, tmpdir: str) -> None:
    db = Database(backend, tmpdir)
    try:
        migrate(db.url)
        app = intranet.main({}, **{"sqlalchemy.url": db.url, "sqlalchemy.pool_size": "10",
                                   **FAST_ARGON})
        load(app, 300)
        writer, checkpointer = app.registry.access_log, app.registry.access_checkpointer
        case_paths = [f"/cases/2026-{n:06d}/" for n in range(1, 301)]
        for threads in args.threads:
            clients = []
            for _ in range(threads):
                client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
                login(client)
                clients.append(client)
            throughput(app, clients, case_paths, 40)  # warm up
            best = {"with": 0.0, "without": 0.0}
            for _ in range(args.rounds):
                for mode in ("with", "without"):
                    if mode == "with":
                        app.registry.access_log, app.registry.access_checkpointer = writer, checkpointer
                    else:
                        app.registry.access_log = NullWriter()
                        app.registry.access_checkpointer = NullCheckpointer()
                    rps = throughput(app, clients, case_paths, args.requests)
                    best[mode] = max(best[mode], rps)
            app.registry.access_log, app.registry.access_checkpointer = writer, checkpointer
            ratio = best["with"] / best["without"]
            print(f"[{backend}] case page, {threads} thread(s), {args.requests} requests x "
                  f"{args.rounds} rounds: with log {best['with']:.0f} req/s, without "
                  f"{best['without']:.0f} req/s, ratio {ratio:.2f} "
                  f"(logging costs {(1 - ratio) * 100:.0f}% of throughput)", flush=True)
        app.registry["db_engine"].dispose()
    finally:
        db.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--threads", default="1,4",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as tmpdir:
        for backend in backends:
            run_backend(backend, args, tmpdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
