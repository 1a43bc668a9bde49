"""No way round the append-only triggers (alembic 0018), tried the way a
database administrator would: a plain sqlite3 shell or an admin connection,
no application code, on both backends.

The database is this module's own (it records an archive cut, which the
shared test database must never hold)."""
import datetime as dt
import sqlite3

import pytest
import sqlalchemy as sa

from intranet.audit.writer import AccessLogWriter
from intranet.db import get_engine
from tests.conftest import _new_database
from tests.functional.test_access_log import KEY
from tests.helpers import synthetic_entry

#: Real time, not the tests' frozen clock: the triggers read the database's clock.
NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None)
OLD = dt.datetime(2020, 6, 1, 10, 0)          # JST, more than 5 years ago
YOUNG = NOW + dt.timedelta(hours=9) - dt.timedelta(days=1)  # JST, yesterday

#: each append-only table: an insert of a row whose key (1) exists, the key, a column to overwrite
ROWS = {
    "access_log": ("INSERT {verb} INTO access_log (seq, chain, kind, occurred_at, request_id, outcome, "
                   "case_count) VALUES (1, 'forged', 'request', '2020-06-01 01:00:00.000000', 'r', "
                   "'allowed', 0)", "seq", "chain"),
    "access_log_cases": ("INSERT {verb} INTO access_log_cases (entry_seq, position, case_id, case_no) "
                         "VALUES (1, 0, 666, '9999-666666')", "entry_seq, position", "case_no"),
    "access_log_checkpoints": ("INSERT {verb} INTO access_log_checkpoints (id, seq, chain, created_at) "
                               "VALUES (1, 1, 'forged', '2020-06-01 01:00:00.000000')", "id", "chain"),
    "access_log_archives": ("INSERT {verb} INTO access_log_archives (id, upto_seq, chain, entries, "
                            "\"before\", file_sha256, created_at) VALUES (1, 9, 'forged', 9, "
                            "'2020-12-31 15:00:00.000000', 'x', '2021-01-01 00:00:00.000000')",
                            "id", "upto_seq"),
}


@pytest.fixture(scope="module")
def guarded(database, tmp_path_factory):
    """A new database holding: entries 1-2 (2020) and 3-4 (yesterday), each
    with a disclosed case; a checkpoint; and a cut that claims all four."""
    backend = "sqlite" if database["sqlalchemy.url"].startswith("sqlite") else "postgresql"
    with _new_database(backend, tmp_path_factory) as settings:
        engine = get_engine(settings)  # the owner (PostgreSQL: postgres)
        writer = AccessLogWriter(engine, KEY)
        for n, at in enumerate((OLD, OLD, YOUNG, YOUNG), start=1):
            writer.append([synthetic_entry(at, "c1", "ward", cases=[n])])
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO access_log_checkpoints (seq, chain, created_at) "
                "SELECT seq, chain, occurred_at FROM access_log WHERE seq = 1")
            conn.execute(sa.text(
                "INSERT INTO access_log_archives (upto_seq, chain, entries, \"before\", file_sha256, "
                "created_at) SELECT 4, chain, 4, :before, 'x', occurred_at FROM access_log WHERE seq = 4")
                .bindparams(sa.bindparam("before", dt.datetime(2020, 12, 31, 15), type_=sa.DateTime())))
        yield engine, settings["sqlalchemy.url"]
        engine.dispose()


def snapshot(engine):
    with engine.connect() as conn:
        return {table: [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2")]
                for table in ROWS}


def sqlite_shell(url):
    """A DBA's own sqlite3 connection: no pragmas (no recursive_triggers), autocommit."""
    return sqlite3.connect(sa.engine.make_url(url).database, isolation_level=None)


@pytest.mark.parametrize("table", ROWS)
def test_replace_and_upsert_cannot_overwrite_a_log_row(guarded, table):
    engine, url = guarded
    before = snapshot(engine)
    insert, key, column = ROWS[table]
    upsert = insert.format(verb="") + f" ON CONFLICT ({key}) DO UPDATE SET {column} = excluded.{column}"
    if engine.dialect.name == "sqlite":
        shell = sqlite_shell(url)
        for statement in (insert.format(verb="OR REPLACE"), insert.format(verb="").replace(
                "INSERT  INTO", "REPLACE INTO"), upsert):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                shell.execute(statement)
        shell.close()
    else:
        # PostgreSQL has no REPLACE; ON CONFLICT DO UPDATE fires the UPDATE trigger
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.exec_driver_sql(upsert)
    assert snapshot(engine) == before


def test_a_cut_inside_the_retention_period_is_refused(guarded):
    engine, url = guarded
    before = snapshot(engine)
    today = NOW.replace(microsecond=0)
    forged = ("INSERT INTO access_log_archives (upto_seq, chain, entries, \"before\", file_sha256, "
              "created_at) VALUES (4, 'x', 4, '{before}', 'x', '{before}')")
    for cut in (today, today - dt.timedelta(days=365 * 5 - 2)):
        statement = forged.format(before=cut.isoformat(sep=" "))
        if engine.dialect.name == "sqlite":
            shell = sqlite_shell(url)
            with pytest.raises(sqlite3.DatabaseError, match="retention period"):
                shell.execute(statement)
            shell.close()
        with pytest.raises(sa.exc.DatabaseError, match="retention period"):
            with engine.begin() as conn:
                conn.exec_driver_sql(statement)
    if engine.dialect.name == "sqlite":  # not a date: refused too
        with pytest.raises(sa.exc.DatabaseError, match="retention period"):
            with engine.begin() as conn:
                conn.exec_driver_sql(forged.replace("'{before}', 'x'", "0, 'x'").format(before="x"))
    assert snapshot(engine) == before


def test_young_entries_are_kept_even_under_a_cut(guarded):
    """The cut (seq <= 4) was accepted: its date is old. Entries 3 and 4 are
    a day old: neither they nor their cases can be deleted."""
    engine, url = guarded
    before = snapshot(engine)
    statements = ["DELETE FROM access_log_cases WHERE entry_seq = 3",
                  "DELETE FROM access_log WHERE seq = 4"]
    if engine.dialect.name == "sqlite":
        shell = sqlite_shell(url)
        for statement in statements:
            with pytest.raises(sqlite3.DatabaseError, match="retention period"):
                shell.execute(statement)
        shell.close()
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError, match="retention period"):
            with engine.begin() as conn:
                conn.exec_driver_sql(statement)
    assert snapshot(engine) == before
    # the retention procedure itself still works for old entries
    with engine.connect() as conn:
        trans = conn.begin()
        conn.exec_driver_sql("DELETE FROM access_log_cases WHERE entry_seq <= 2")
        conn.exec_driver_sql("DELETE FROM access_log WHERE seq <= 2")
        assert conn.exec_driver_sql("SELECT min(seq) FROM access_log").scalar() == 3
        trans.rollback()
    assert snapshot(engine) == before


@pytest.mark.postgresql
def test_replica_mode_does_not_switch_the_triggers_off(guarded):
    """A superuser's ``SET session_replication_role = replica`` used to skip them."""
    engine, _ = guarded
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    before = snapshot(engine)
    for statement in ("UPDATE access_log SET login = 'x' WHERE seq = 3",
                      "DELETE FROM access_log_cases WHERE entry_seq = 4",
                      "TRUNCATE access_log_checkpoints",
                      "INSERT INTO access_log_archives (upto_seq, chain, entries, \"before\", "
                      "file_sha256, created_at) VALUES (4, 'x', 4, now(), 'x', now())"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only|retention period"):
            with engine.begin() as conn:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                conn.exec_driver_sql(statement)
    assert snapshot(engine) == before
