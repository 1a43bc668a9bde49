"""Benchmark: demo-data load and case list/search/page latency at scale.

Usage::

    .venv/bin/python bench/bench_cases.py [--cases 22000] [--small 300] [--repeat 20]
                                          [--backend sqlite|postgresql|both]
                                          [--only all|lists|case-pages]

For each backend it builds two throwaway databases (``--small`` and
``--cases`` cases, migrated with alembic, filled by ``intranet demo-data``'s
generator), then times requests through the whole WSGI app with WebTest,
logged in as ``collector1``, and the case page of each role (collector,
supervisor, operator, auditor). It prints the median and 95th percentile per
request (for the case pages also of the same request as a raw WSGI call,
WebTest's lint middleware and response parsing left out: the goals are timed
through WebTest all the same), the ratio large/small and the SQL statements per request, which shows whether a page's cost grows with
the number of cases (a list page should not: it filters and pages in SQL).
``--only lists`` times the case list alone (page 1, last page, page 1 as
an operator and the list with a filter), skipping searches and case pages.
Numbers only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa
import transaction
import webtest
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import intranet  # noqa: E402
from intranet.db import MIGRATIONS  # noqa: E402
from intranet.clock import SystemClock  # noqa: E402
from intranet.db import get_session_factory, get_tm_session  # noqa: E402
from intranet.demo.generator import create_demo_users, generate  # noqa: E402
from intranet.models import Case, Phone, Taxpayer  # noqa: E402
import datacache  # noqa: E402
from results import record  # noqa: E402

PG_ADMIN_URL = os.environ.get("INTRANET_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-Password-2026"
FAST_ARGON = {"intranet.argon2.time_cost": "1", "intranet.argon2.memory_cost": "64",
              "intranet.argon2.parallelism": "1",
              "intranet.audit.hmac_key": "bench-access-log-key-0123456789abcdef",
              # demo users have no second factor; a session once complete costs the same
              "intranet.mfa.required_roles": ""}


def migrate(url: str) -> None:
    cfg = AlembicConfig(os.path.join(ROOT, "development.ini"))
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["settings"] = {"sqlalchemy.url": url}
    cfg.attributes["configure_logging"] = False
    alembic_command.upgrade(cfg, "head")


class Database:
    """A throwaway database of one backend."""

    def __init__(self, backend: str, tmpdir: str):
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{tmpdir}/bench-{uuid.uuid4().hex[:8]}.sqlite"
            self.name = None
        else:
            self.name = f"intranet_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
            self.url = sa.engine.make_url(PG_ADMIN_URL).set(database=self.name).render_as_string(
                hide_password=False)

    def drop(self) -> None:
        if self.name:
            admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            admin.dispose()


def load(app, cases: int) -> float:
    """Fill the app's fresh database with ``cases`` demo cases (or, inside
    ``make bench``, restore this run's snapshot of them: bench/datacache.py);
    the seconds it took."""
    clock = SystemClock()
    engine = app.registry["db_engine"]
    factory = get_session_factory(engine)
    started = time.perf_counter()
    if datacache.restored(engine, cases):
        return time.perf_counter() - started
    with transaction.manager:
        session = get_tm_session(factory, transaction.manager)
        create_demo_users(session, app.registry.password_context.hash(PASSWORD), clock.now())
        generate(session, cases=cases, seed=2026, today=clock.today(), now=clock.now())
    if engine.dialect.name == "postgresql":
        # the planner's statistics, as autovacuum would have them a minute
        # after a load: without them PostgreSQL guesses table sizes and
        # hash-joins whole tables (issue 21: the case page's installments)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    seconds = time.perf_counter() - started
    datacache.save(engine, cases)
    return seconds


def analyze(engine) -> None:
    """Statistics and, on PostgreSQL, the visibility map, as autovacuum keeps
    them on a server in use (this machine's PostgreSQL runs without it, and
    a freshly loaded table has neither: the planner then guesses 4,000 rows
    of 22,000 and sorts them, and no scan is index-only)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")


def sample_terms(app) -> dict:
    """Search terms that hit existing rows (picked from the middle of the data)."""
    session = get_session_factory(app.registry["db_engine"])()
    try:
        total = session.scalar(sa.select(sa.func.count()).select_from(Case))
        case = session.scalars(sa.select(Case).order_by(Case.case_no).offset(total // 2)).first()
        taxpayer = session.get(Taxpayer, case.taxpayer_id)
        phone = session.scalars(sa.select(Phone).offset(total // 3)).first()
        owing = session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.balance >= 1))
        return {"case_no": case.case_no, "kana": taxpayer.name_kana.split()[0],
                "phone": phone.digits[-4:], "pages": -(-total // 50),
                "owing_pages": max(1, -(-owing // 50))}
    finally:
        session.close()


def login(testapp, name: str = "collector1") -> None:
    page = testapp.get("/login")
    form = page.forms["login-form"]
    form["login"] = name
    form["password"] = PASSWORD
    form.submit(status=303)


def timed(fn, repeat: int, engine=None) -> tuple[float, float, float]:
    """Median and 95th percentile in ms, and SQL statements per request."""
    fn()  # warm up
    fn()  # (the second request: 30-second caches filled, as the tests count)
    samples, statements = [], []
    count = lambda *args: statements.append(1)  # noqa: E731
    if engine is not None:
        sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        if engine is not None:
            sa.event.remove(engine, "before_cursor_execute", count)
    samples.sort()
    return (statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))],
            len(statements) / repeat)


CASE_LINK = re.compile(r'href="/cases/(\d{4}-\d{6})/?"')

#: (label, demo login) of the case page per role (issue 21)
#: issue 21's measurement before the work (PostgreSQL, 22,000 demo cases)
BEFORE_CASE_PAGE_MS = {"collector": 23.0, "supervisor": 23.0, "operator": 21.0, "auditor": 30.0}

CASE_PAGE_ROLES = [("collector", "collector2"), ("supervisor", "collector1"),
                   ("operator", "operator1"), ("auditor", "auditor1")]


def operator_campaign(app) -> None:
    """An active call campaign of every case owing (the demo data gives
    operators no case to open otherwise)."""
    import datetime as dt

    from intranet.calls import campaigns
    from intranet.models import CallCampaign, CampaignStatus

    clock = SystemClock()
    factory = get_session_factory(app.registry["db_engine"])
    with transaction.manager:
        session = get_tm_session(factory, transaction.manager)
        campaign = CallCampaign(name="bench", status=CampaignStatus.active,
                                starts_on=clock.today() - dt.timedelta(days=1),
                                ends_on=clock.today() + dt.timedelta(days=30), created_at=clock.now())
        session.add(campaign)
        session.flush()
        campaigns.build(session, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())


def case_page_per_role(app, terms) -> dict:
    """The case page of each role, on a case that role reaches (the first of
    its case list; the middle case for roles that reach every case)."""
    requests = {}
    for label, name in CASE_PAGE_ROLES:
        testapp = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        login(testapp, name)
        case_no = terms["case_no"]
        if label == "operator":
            found = CASE_LINK.findall(testapp.get("/cases/", status=200).text)
            if not found:
                operator_campaign(app)
                found = CASE_LINK.findall(testapp.get("/cases/", status=200).text)
            if not found:
                print("  (no case in reach of operator1: the operator's case page is not timed)")
                continue
            case_no = found[0]
        requests[f"case page: {label}"] = (
            lambda t=testapp, no=case_no: t.get(f"/cases/{no}/", status=200))
        requests[f"  raw WSGI call: {label}"] = raw_wsgi(testapp, f"/cases/{case_no}/")
    return requests


def raw_wsgi(testapp, path: str):
    """The request ``testapp.get(path)`` makes (same cookies, same client
    address) as a bare WSGI call of the application: without WebTest's lint
    middleware, request building and response parsing. Printed under each
    case page line, so that WebTest's own share of the time shows; the goals
    are still timed through WebTest."""
    app = testapp.app
    cookies = "; ".join(f"{c.name}={c.value}" for c in testapp.cookiejar)
    environ = webtest.TestRequest.blank(path, dict(testapp.extra_environ, HTTP_COOKIE=cookies)).environ

    def call():
        status = []
        body = app(dict(environ, **{"wsgi.input": io.BytesIO()}),
                   lambda s, headers, exc_info=None: status.append(s))
        try:
            b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        if not status[0].startswith("200"):
            raise AssertionError(status[0])
    return call


def requests_for(testapp, terms):
    token = lambda: testapp.get("/cases/").html.find("input", {"name": "csrf_token"})["value"]  # noqa: E731
    csrf = token()
    return {
        "case list, page 1": lambda: testapp.get("/cases/", status=200),
        "case list, last page": lambda: testapp.get(f"/cases/?page={terms['pages']}", status=200),
        "search: kana (substring)": lambda: testapp.post(
            "/cases/", {"csrf_token": csrf, "name": terms["kana"]}, status=200),
        "search: phone (last 4 digits)": lambda: testapp.post(
            "/cases/", {"csrf_token": csrf, "phone": terms["phone"]}, status=200),
        "search: case number": lambda: testapp.post(
            "/cases/", {"csrf_token": csrf, "case_no": terms["case_no"]}, status=200),
        "case page (all facets)": lambda: testapp.get(f"/cases/{terms['case_no']}/", status=200),
    }


def list_requests(app, testapp, terms) -> dict:
    """The case list alone (``--only lists``)."""
    requests = {name: fn for name, fn in requests_for(testapp, terms).items()
                if name.startswith("case list")}
    requests["case list, filtered, last page"] = lambda: testapp.get(
        f"/cases/?balance_min=1&page={terms['owing_pages']}", status=200)
    operator = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    login(operator, "operator1")
    if not CASE_LINK.findall(operator.get("/cases/", status=200).text):
        operator_campaign(app)
    requests["case list: operator, page 1"] = lambda: operator.get("/cases/", status=200)
    return requests


def run_backend(backend: str, sizes: list[int], repeat: int, tmpdir: str,
                only: str = "all") -> None:
    results = {}
    for size in sizes:
        db = Database(backend, tmpdir)
        try:
            migrate(db.url)
            app = intranet.main({}, **{"sqlalchemy.url": db.url, **FAST_ARGON})
            seconds = load(app, size)
            print(f"[{backend}] demo-data --cases {size}: {seconds:.1f} s", flush=True)
            analyze(app.registry["db_engine"])
            testapp = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
            login(testapp)
            terms = sample_terms(app)
            engine = app.registry["db_engine"]
            if only == "lists":
                requests = list_requests(app, testapp, terms)
            elif only == "case-pages":
                requests = case_page_per_role(app, terms)
            else:
                requests = {**requests_for(testapp, terms), **case_page_per_role(app, terms)}
            results[size] = {name: timed(fn, repeat, engine) for name, fn in requests.items()}
            app.registry["db_engine"].dispose()
        finally:
            db.drop()
    small, large = sizes if len(sizes) == 2 else (sizes[0], sizes[0])
    print(f"\n[{backend}] median / p95 in ms, {repeat} requests each")
    if small != large:
        print(f"{'request':34} {small:>7} cases {large:>7} cases   ratio  statements")
    for name in results[small]:
        if name not in results[large]:
            continue
        (s_med, s_p95, s_st), (l_med, l_p95, l_st) = results[small][name], results[large][name]
        if small == large:  # --only case-pages: one size
            print(f"{name:34} {l_med:6.1f}/{l_p95:5.1f} ({large} cases)  {l_st:4.1f} statements")
        else:
            print(f"{name:34} {s_med:6.1f}/{s_p95:5.1f}  {l_med:6.1f}/{l_p95:5.1f}   "
                  f"{l_med / s_med:5.2f}x  {s_st:4.1f} / {l_st:4.1f}")
        if name.startswith("case page: "):
            role = name.removeprefix("case page: ")
            record(f"case page statements, {role} ({backend})", l_st, 8, unit="statements")
            if backend == "postgresql":
                record(f"case page median, {role}, {large:,} cases ({backend})", l_med, 8.0,
                       unit="ms", before=BEFORE_CASE_PAGE_MS.get(role))
        elif name == "case list, last page" and small != large:
            record(f"case list statements, {small:,} vs {large:,} cases ({backend})",
                   l_st - s_st, 0, unit="more")
            if backend == "postgresql":
                record(f"case list last page, {large:,} cases ({backend})", l_med, 15.0, unit="ms",
                       before=54.0)
        elif name == "case list: operator, page 1" and backend == "postgresql":
            record(f"case list page 1, operator, {large:,} cases ({backend})", l_med, unit="ms")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=22000)
    parser.add_argument("--small", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", choices=["all", "lists", "case-pages"], default="all",
                        help="lists: time the case list alone; case-pages: the case page of "
                             "each role, at --cases only")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    sizes = [args.cases] if args.only == "case-pages" else [args.small, args.cases]
    with tempfile.TemporaryDirectory() as tmpdir:
        for backend in backends:
            run_backend(backend, sizes, args.repeat, tmpdir, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
