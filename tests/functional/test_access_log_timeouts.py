"""A log write never waits longer than intranet.audit.write_timeout_seconds:
blocked by another connection, it answers 503 in bounded time, and the wait
it did have is in the entry's duration (SQLite and PostgreSQL)."""
import contextlib
import datetime as dt
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
import webtest

import intranet
from intranet.models import Role
from intranet.audit.writer import AccessLogWriter
from tests import factories
from tests.functional.test_access_log import KEY
from tests.helpers import entries_since, log_mark, login, synthetic_entry


@pytest.fixture
def case(dbsession, password_context):
    factories.user(dbsession, password_context, Role.collector, login="c1")
    case = factories.sentinel_case(dbsession)
    dbsession.commit()
    return case


def client(app_settings, clock, **settings):
    app = intranet.main({}, **{**app_settings, **settings})
    app.registry.clock = clock
    return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.4"})


@contextlib.contextmanager
def locked(admin_url, table, release_after: float = 15.0, row: bool = False):
    """Another connection holds the lock a log write needs: SQLite's write
    lock (``BEGIN IMMEDIATE``), or on PostgreSQL ``table`` in ACCESS
    EXCLUSIVE mode (``row``: its rows ``FOR UPDATE``, as another appender
    holds the head), in an open transaction. Released at the end, or by a
    timer after ``release_after`` seconds (so a test fails rather than hangs)."""
    url = sa.engine.make_url(admin_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        end, close = (lambda: holder.execute("ROLLBACK")), holder.close
    else:
        engine = sa.create_engine(admin_url)
        holder = engine.connect()
        transaction = holder.begin()
        holder.exec_driver_sql(f"SELECT 1 FROM {table} FOR UPDATE" if row
                               else f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        end, close = transaction.rollback, (lambda: (holder.close(), engine.dispose()))
    once = threading.Lock()

    def release():
        if once.acquire(blocking=False):
            end()

    timer = threading.Timer(release_after, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        release()
        close()


def test_a_blocked_log_write_answers_503_within_the_timeout(app_settings, clock, engine, admin_url,
                                                             case):
    app = client(app_settings, clock, **{"intranet.audit.write_timeout_seconds": "1"})
    login(app, "c1")
    mark = log_mark(engine)
    with locked(admin_url, "access_log"):
        started = time.monotonic()
        res = app.get(f"/cases/{case.case_no}/", status=503)
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 4, elapsed  # a correctness bound, not a benchmark
    assert "could not be recorded" in res.text
    assert case.case_no not in res.text
    assert all(sentinel not in res.text for sentinel in factories.SENTINELS.values())
    assert entries_since(engine, mark) == []
    # released: the next request is served and logged
    app.get(f"/cases/{case.case_no}/", status=200)
    (entry,) = entries_since(engine, mark)
    assert (entry.path, entry.status) == (f"/cases/{case.case_no}/", 200)
    app.app.registry["db_engine"].dispose()


@pytest.mark.parametrize("row", [False, True], ids=["table-lock", "row-lock"])
def test_a_write_blocked_on_the_head_answers_503_within_the_timeout(app_settings, clock, engine, admin_url,
                                                                   case, row):
    """The head is the append's first lock: its waits are bounded too, for the
    table lock taken when the statement is parsed as for the row lock."""
    app = client(app_settings, clock, **{"intranet.audit.write_timeout_seconds": "1"})
    login(app, "c1")
    mark = log_mark(engine)
    with locked(admin_url, "access_log_head", row=row):
        started = time.monotonic()
        app.get(f"/cases/{case.case_no}/", status=503)
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 4, elapsed  # a correctness bound, not a benchmark
    assert entries_since(engine, mark) == []
    app.get(f"/cases/{case.case_no}/", status=200)
    assert len(entries_since(engine, mark)) == 1
    app.app.registry["db_engine"].dispose()


def test_the_wait_for_the_head_is_in_the_entry_duration(app_settings, clock, engine, admin_url, case):
    app = client(app_settings, clock)  # the default timeout, 5 s
    login(app, "c1")
    mark = log_mark(engine)
    with locked(admin_url, "access_log_head", release_after=0.6):
        app.get(f"/cases/{case.case_no}/", status=200)
    (entry,) = entries_since(engine, mark)
    assert entry.duration_us >= 500_000, entry.duration_us
    app.get(f"/cases/{case.case_no}/", status=200)
    quick = entries_since(engine, mark)[-1]
    assert quick.duration_us < entry.duration_us
    app.app.registry["db_engine"].dispose()


def test_the_write_timeout_is_only_the_logs(app_settings, clock, engine, case):
    """After an append its connection is back to the engine's own waits."""
    app = client(app_settings, clock, **{"intranet.audit.write_timeout_seconds": "1.5"})
    login(app, "c1")
    app.get(f"/cases/{case.case_no}/", status=200)
    writer = app.app.registry.access_log
    assert writer.timeout_ms == 1500
    with writer.engine.connect() as conn:  # the pool's most recent connection: the append's
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        else:
            settings = conn.execute(sa.text("SELECT current_setting('lock_timeout'), "
                                            "current_setting('statement_timeout')")).one()
            assert tuple(settings) == ("0", "0")
    app.app.registry["db_engine"].dispose()


def test_an_append_leaves_its_connection_as_it_found_it(app_settings, clock, engine, admin_url, case):
    """On PostgreSQL the append runs its connection in autocommit mode (its
    first query sends the BEGIN); after an append, served or timed out, every
    pooled connection is back to transactions, idle, without the log's waits."""
    app = client(app_settings, clock, **{"intranet.audit.write_timeout_seconds": "1"})
    login(app, "c1")
    with locked(admin_url, "access_log_head", row=True):
        app.get(f"/cases/{case.case_no}/", status=503)
    app.get(f"/cases/{case.case_no}/", status=200)
    pool_engine = app.app.registry.access_log.engine
    connections = [pool_engine.connect() for _ in range(pool_engine.pool.checkedin())]
    assert connections
    try:
        for conn in connections:
            dbapi = conn.connection.dbapi_connection
            if conn.dialect.name == "postgresql":
                assert dbapi.autocommit is False
                assert dbapi.info.transaction_status == 0  # idle
                assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "0"
            conn.execute(sa.text("SELECT 1"))
            assert conn.in_transaction()
    finally:
        for conn in connections:
            conn.close()
    app.app.registry["db_engine"].dispose()


def test_a_failed_append_never_pools_a_connection_holding_the_head(engine, admin_url, monkeypatch):
    """Even when the rollback after a failed append does nothing (as with
    SQLAlchemy's ``skip_autocommit_rollback`` in the append's autocommit
    mode), its connection, still in the transaction, is closed, not pooled."""
    if engine.dialect.driver != "psycopg":
        pytest.skip("PostgreSQL with psycopg: the append's own BEGIN")
    writer = AccessLogWriter(engine, KEY, timeout=0.5)
    at = dt.datetime(2026, 10, 15, 10)
    mark = log_mark(engine)
    monkeypatch.setattr(engine.dialect, "do_rollback", lambda dbapi_connection: None)
    with locked(admin_url, "access_log_head", row=True), pytest.raises(sa.exc.OperationalError):
        writer.append([synthetic_entry(at, "c1", "ward")])
    monkeypatch.undo()
    connections = [engine.connect() for _ in range(engine.pool.checkedin())]
    try:
        assert all(c.connection.dbapi_connection.info.transaction_status == 0 for c in connections)
    finally:
        for conn in connections:
            conn.close()
    writer.append([synthetic_entry(at, "c1", "ward")])  # the head is free
    assert len(entries_since(engine, mark)) == 1


def test_without_pipeline_mode_the_append_commits_in_a_third_round_trip(engine):
    """libpq older than 14 has no pipeline mode: the same append, COMMIT apart."""
    if engine.dialect.driver != "psycopg":
        pytest.skip("PostgreSQL with psycopg")
    writer = AccessLogWriter(engine, KEY)
    writer._pipeline = False
    mark = log_mark(engine)
    seq, value = writer.append([synthetic_entry(dt.datetime(2026, 10, 15, 10), "c1", "ward", cases=[7])])
    (entry,) = entries_since(engine, mark)
    assert (entry.seq, entry.chain) == (seq, value)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT seq, chain FROM access_log_head").one() == (seq, value)
