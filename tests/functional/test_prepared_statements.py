"""On PostgreSQL a connection keeps the statements psycopg prepared across
the rollback that ends every read-only request, so PostgreSQL plans a
repeated statement once instead of at every run (issue 21: planning the case
page's rows statement cost 20 times running it)."""
import pytest
import sqlalchemy as sa
from psycopg import errors

from intranet.db import _rollback_keeping_prepared


def _prepared(conn) -> int:
    return conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()


def test_a_read_only_transaction_ends_without_forgetting_prepared_statements(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements")
    statement = sa.text("SELECT :n + 1")
    with engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        for n in range(dbapi.prepare_threshold + 2):
            assert conn.execute(statement, {"n": n}).scalar() == n + 1
            conn.rollback()   # what ends a request that wrote nothing
        assert dbapi.info.transaction_status == 0   # idle: the rollback happened
        assert _prepared(conn) >= 1
        conn.rollback()
        assert _prepared(conn) >= 1


def test_the_rollback_still_discards_the_transaction_and_reports_failure(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE t21 (n integer)")
        conn.commit()
        conn.exec_driver_sql("INSERT INTO t21 VALUES (1)")
        conn.rollback()
        assert conn.exec_driver_sql("SELECT count(*) FROM t21").scalar() == 0
        conn.rollback()
        dbapi = conn.connection.dbapi_connection
        conn.exec_driver_sql("SELECT 1")  # in a transaction
        dbapi.pgconn.finish()  # then the connection is gone: the rollback must raise
        with pytest.raises(errors.OperationalError):
            _rollback_keeping_prepared(dbapi)
        conn.invalidate()
