"""Benchmark: the case page over HTTP against a bare floor page (issue 21).

Usage::

    .venv/bin/python bench/bench_http.py [--cases 3000] [--seconds 10] [--connections 16]
                                         [--threads 4] [--backend sqlite|postgresql|both]

For each backend it builds a throwaway database (migrated, filled with
``--cases`` demo cases: bench_cases.py's helpers) and serves, one after the
other and each in its own process with waitress (``--threads`` worker
threads):

* **app**: the real application, access log on; every client connection logs
  in once as ``collector2`` (a collector, not a supervisor) with the bench
  password, keeps its session cookie and asks for random case pages
  (``/cases/<case_no>/``);
* **floor**: a bare Pyramid + SQLAlchemy + Jinja2 page reading one case row
  by a random id: no authentication, no access log, no facets.

The same client (``--connections`` threads, one keep-alive ``http.client``
connection each: standard library only) drives both for ``--seconds`` and
the script prints requests/s, p50/p99 latency and the ratio app/floor. Any
answer other than 200 is counted and printed as an error. Numbers only.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse

import sqlalchemy as sa

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from results import record  # noqa: E402
from bench_cases import FAST_ARGON, PASSWORD, Database, load, migrate  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FLOOR_TEMPLATE = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>{{ case.case_no }}</title></head><body><h1>{{ case.case_no }}</h1>
<dl><dt>status</dt><dd>{{ case.status }}</dd><dt>balance</dt><dd>{{ '{:,}'.format(case.balance) }}</dd>
<dt>opened</dt><dd>{{ case.opened_on }}</dd></dl></body></html>"""


def floor_app(url: str):
    """Pyramid + SQLAlchemy + Jinja2, one case row by id, nothing else."""
    import jinja2
    from pyramid.config import Configurator
    from pyramid.response import Response

    engine = sa.create_engine(url, pool_size=10)
    cases = sa.Table("cases", sa.MetaData(), autoload_with=engine)
    template = jinja2.Environment(autoescape=True).from_string(FLOOR_TEMPLATE)
    query = sa.select(cases).where(cases.c.id == sa.bindparam("id"))

    def case_page(request):
        with engine.connect() as conn:
            row = conn.execute(query, {"id": int(request.matchdict["id"])}).one()
        return Response(template.render(case=row), content_type="text/html", charset="utf-8")

    with Configurator() as config:
        config.add_route("case", "/case/{id}")
        config.add_view(case_page, route_name="case")
        return config.make_wsgi_app()


def real_app(url: str):
    import intranet

    return intranet.main({}, **{"sqlalchemy.url": url, **FAST_ARGON})


def serve(kind: str, url: str, threads: int, ready) -> None:
    import logging

    import waitress

    # 16 connections on a few worker threads queue by design: no warning per request
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    app = floor_app(url) if kind == "floor" else real_app(url)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads,
                                    connection_limit=200, channel_timeout=60)
    ready.put(server.effective_port)
    server.run()


class Client:
    """One keep-alive connection with its own cookies."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, payload

    def login(self, name: str) -> None:
        status, page = self.request("GET", "/login")
        token = CSRF.search(page.decode()).group(1)
        status, _ = self.request("POST", "/login", {"csrf_token": token, "login": name,
                                                    "password": PASSWORD, "next": ""})
        if status != 303:
            raise RuntimeError(f"login as {name} answered {status}")


def drive(port: int, paths: list[str], connections: int, seconds: float,
          login: str | None) -> dict:
    clients = [Client(port) for _ in range(connections)]
    if login:
        for client in clients:
            client.login(login)
    for client in clients:  # warm up: every worker thread, template and cache
        for path in random.sample(paths, 3):
            client.request("GET", path)
    samples: list[list[float]] = [[] for _ in clients]
    errors: list[int] = [0] * connections
    deadline = time.perf_counter() + seconds

    def work(n: int) -> None:
        rng = random.Random(n)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = clients[n].request("GET", rng.choice(paths))
            samples[n].append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors[n] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(x for s in samples for x in s)
    return {"rps": len(latencies) / elapsed, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "requests": len(latencies), "errors": sum(errors)}


def measure(kind: str, url: str, args, paths: list[str]) -> dict:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    server = ctx.Process(target=serve, args=(kind, url, args.threads, ready), daemon=True)
    server.start()
    try:
        port = ready.get(timeout=120)
        return drive(port, paths, args.connections, args.seconds,
                     "collector2" if kind == "app" else None)
    finally:
        server.terminate()
        server.join(10)


def run_backend(backend: str, args, tmpdir: str) -> None:
    import intranet

    db = Database(backend, tmpdir)
    try:
        migrate(db.url)
        app = intranet.main({}, **{"sqlalchemy.url": db.url, **FAST_ARGON})
        seconds = load(app, args.cases)
        engine = app.registry["db_engine"]
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, case_no FROM cases")).all()
        engine.dispose()
        print(f"[{backend}] demo-data --cases {args.cases}: {seconds:.1f} s", flush=True)
        results = {
            "floor": measure("floor", db.url, args, [f"/case/{r.id}" for r in rows]),
            "app": measure("app", db.url, args, [f"/cases/{r.case_no}/" for r in rows]),
        }
    finally:
        db.drop()
    print(f"\n[{backend}] {args.connections} connections, {args.seconds:.0f} s each, "
          f"waitress {args.threads} threads")
    print(f"{'page':30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, label in (("floor", "floor (1 row, no auth, no log)"), ("app", "case page (collector)")):
        r = results[name]
        print(f"{label:30} {r['rps']:8.1f} {r['p50']:8.1f} {r['p99']:8.1f} {r['errors']:7d}")
    ratio = results["app"]["rps"] / results["floor"]["rps"]
    print(f"{'ratio app/floor':30} {ratio:8.1%}   (goal >= 10%)\n", flush=True)
    record(f"HTTP case page / floor, {args.cases:,} cases ({backend})", ratio * 100, 10.0,
           unit="%", better="higher", before={"sqlite": 2.8, "postgresql": 3.1}.get(backend))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as tmpdir:
        for backend in backends:
            run_backend(backend, args, tmpdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
