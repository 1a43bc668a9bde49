"""Benchmark: address search at 22,000 and 220,000 cases, with and without
the pg_trgm index (issue 20).

Usage::

    .venv/bin/python bench/bench_search.py [--sizes 22000,220000] [--sqlite-sizes 22000]
                                           [--repeat 30]

For each backend and size: a throwaway database (migrated with alembic,
filled by the demo-data generator, as bench/bench_cases.py does), then, for a
few address terms written in another notation than the stored one
(「西新宿1-2-3」 for 「西新宿一丁目2番3号」 and the like):

* ``sql``: the search query alone (:func:`intranet.cases.search.search_cases`,
  one page and the count, as a collector: every case, mailing addresses too);
* ``page``: POST /cases/ through the whole WSGI app (login, disclosure gate,
  access log, template) as ``collector1``;

each with the trigram GIN indexes and (PostgreSQL) again after dropping them,
with the median and 95th percentile, the ratio large/small, and the lines of
``EXPLAIN`` naming the index (or the scan) used, on the taxpayers and on the
cases (``ix_cases_taxpayer_id`` probed by ``= ANY($0)`` on PostgreSQL, not a
``Seq Scan on cases``: docs/search.md). The index is dropped and
recreated by the benchmark only: the app never creates one at run time.
Numbers only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import sqlalchemy as sa
import webtest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import intranet  # noqa: E402
from bench_cases import Database, load, login, migrate, timed, FAST_ARGON  # noqa: E402
from intranet.cases.search import Criteria, address_condition, search_cases  # noqa: E402
from intranet.db import get_session_factory  # noqa: E402
from intranet.models import Case, Taxpayer  # noqa: E402
from intranet.security.matrix import Facet  # noqa: E402
from intranet.text import address_key  # noqa: E402

INDEXES = {"ix_taxpayers_search_address": "taxpayers",
           "ix_mailing_addresses_search_address": "mailing_addresses"}

_WIDE = str.maketrans("0123456789", "０１２３４５６７８９")


def sample_terms(session) -> dict[str, str]:
    """Terms as a user types them, in another notation than the stored one:
    the demo data writes 「東京都新宿区西新宿一丁目…」 style 「1丁目2番3号」,
    the terms are 「西新宿1-2-3」, 「西新宿１丁目」 and the town name."""
    chome = Taxpayer.address.contains("丁目")
    total = session.scalar(sa.select(sa.func.count()).select_from(Taxpayer).where(chome))
    address = session.scalar(sa.select(Taxpayer.address).where(chome)
                             .order_by(Taxpayer.id).offset(total // 2))
    key = address_key(address)
    head = key.rstrip("0123456789-")
    numbers = key[len(head):]
    town = head.rsplit("区", 1)[-1]  # the ward's town (市谷… keeps its 市)
    return {"町名+1-2-3 (one case)": f"{town}{numbers}",
            "町名+１丁目 (a block)": f"{town}{numbers.split('-')[0].translate(_WIDE)}丁目",
            "町名 (a town)": town}


def explain(session, backend: str, term: str) -> str:
    stmt = sa.select(Case.id).where(address_condition(term, frozenset(Facet)))
    prefix = "EXPLAIN " if backend == "postgresql" else "EXPLAIN QUERY PLAN "
    compiled = stmt.compile(session.bind)
    params = (tuple(compiled.params[name] for name in compiled.positiontup)
              if compiled.positional else compiled.params)
    rows = session.connection().exec_driver_sql(prefix + str(compiled), params).all()
    lines = [str(r[-1]) for r in rows]
    used = [line.strip() for line in lines
            if "search_address" in line or "Seq Scan on taxpayers" in line
            or "SCAN taxpayers" in line or "Index" in line and "taxpayers" in line
            or "Seq Scan on cases" in line or "SCAN cases" in line
            or "ix_cases_taxpayer_id" in line]
    return " | ".join(used[:4]) or lines[0]


def drop_indexes(engine) -> None:
    with engine.begin() as conn:
        for name in INDEXES:
            conn.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
        conn.execute(sa.text("ANALYZE"))


def create_indexes(engine, backend: str) -> None:
    with engine.begin() as conn:
        for name, table in INDEXES.items():
            using = " USING gin (search_address gin_trgm_ops)" if backend == "postgresql" \
                else " (search_address)"
            conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON {table}{using}"))
        conn.execute(sa.text("ANALYZE"))


def measure(app, backend: str, repeat: int, label: str, terms: dict, client, csrf) -> list:
    factory = get_session_factory(app.registry["db_engine"])
    rows = []
    with factory() as session:
        for name, term in terms.items():
            plan = explain(session, backend, term)
            found = search_cases(session, sa.true(), frozenset(Facet), Criteria(address=term)).total

            def sql(term=term):
                search_cases(session, sa.true(), frozenset(Facet), Criteria(address=term))

            def page(term=term):
                client.post("/cases/", {"csrf_token": csrf, "address": term}, status=200)

            for kind, fn in (("sql", sql), ("page", page)):
                median, p95, _statements = timed(fn, repeat)
                rows.append((label, name, kind, found, median, p95, plan if kind == "sql" else ""))
    return rows


def run(backend: str, size: int, repeat: int, tmpdir: str) -> tuple[dict, list]:
    db = Database(backend, tmpdir)
    try:
        migrate(db.url)
        app = intranet.main({}, **{"sqlalchemy.url": db.url, **FAST_ARGON})
        seconds = load(app, size)
        engine = app.registry["db_engine"]
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        print(f"[{backend}] {size} demo cases loaded in {seconds:.0f} s", flush=True)
        with get_session_factory(engine)() as session:
            terms = sample_terms(session)
        print(f"[{backend}] terms: {terms}", flush=True)
        client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        login(client)
        csrf = client.get("/cases/").html.find("input", {"name": "csrf_token"})["value"]
        rows = measure(app, backend, repeat, "index", terms, client, csrf)
        if backend == "postgresql":  # SQLite's plain index cannot serve LIKE '%…%' anyway
            drop_indexes(engine)
            rows += measure(app, backend, repeat, "no index", terms, client, csrf)
            create_indexes(engine, backend)
        engine.dispose()
        return terms, rows
    finally:
        db.drop()


def report(backend: str, results: dict) -> None:
    sizes = sorted(results)
    base = {(r[0], r[1], r[2]): r[4] for r in results[sizes[0]][1]}
    print(f"\n[{backend}] address search, ms (median / p95; ratio = median / median at {sizes[0]})")
    for size in sizes:
        for label, name, kind, found, median, p95, plan in results[size][1]:
            ratio = median / base[(label, name, kind)] if base.get((label, name, kind)) else 1
            print(f"{size:>8} {label:<8} {kind:<4} {name:<30} {found:>6} hits  "
                  f"median {median:7.1f}  p95 {p95:7.1f}  ratio {ratio:5.2f}x")
            if plan:
                print(f"{'':>18}plan: {plan}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="22000,220000",
                        type=lambda s: [int(x) for x in s.split(",") if x])
    parser.add_argument("--sqlite-sizes", default="22000",
                        type=lambda s: [int(x) for x in s.split(",") if x])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        for backend, sizes in (("postgresql", args.sizes), ("sqlite", args.sqlite_sizes)):
            if not sizes:
                continue
            results = {}
            for size in sizes:
                results[size] = run(backend, size, args.repeat, tmpdir)
                report(backend, {size: results[size]})  # as it comes: the large size takes long
            if len(sizes) > 1:
                report(backend, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
