"""Engine, session factory and ``request.dbsession`` bound to pyramid_tm.

Follows the Pyramid cookiecutter: one engine per process, a session per
request joined to the request's transaction manager by zope.sqlalchemy.
"""
import os

import zope.sqlalchemy
from sqlalchemy import engine_from_config, event
from sqlalchemy.orm import sessionmaker

from . import models  # noqa: F401  (configures every mapper)

#: How long a SQLite connection waits for another's write lock (the access
#: log's appends use intranet.audit.write_timeout_seconds instead).
SQLITE_BUSY_TIMEOUT_MS = 5000


#: Alembic's ``script_location``: the migrations are a subpackage, shipped in
#: the wheel, so ``intranet initdb`` works from any directory with any ini.
MIGRATIONS = "intranet:migrations"


def database_url(settings) -> str:
    """``sqlalchemy.url``, where ``env:NAME`` reads the URL from the environment."""
    url = settings.get("sqlalchemy.url", "")
    if url.startswith("env:"):
        name = url[4:]
        try:
            url = os.environ[name]
        except KeyError:
            raise RuntimeError(f"environment variable {name} (the database URL) is not set") from None
    if url.startswith("postgresql://"):  # default to psycopg 3
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def get_engine(settings, prefix="sqlalchemy."):
    settings = dict(settings)
    settings[prefix + "url"] = database_url(settings)
    # hide_parameters: SQL errors (and so logs) never carry residents' data.
    engine = engine_from_config(settings, prefix, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.driver == "psycopg":
        engine.dialect.do_rollback = _rollback_keeping_prepared
    return engine


def _rollback_keeping_prepared(dbapi_connection) -> None:
    """ROLLBACK without forgetting the connection's prepared statements.

    psycopg prepares a statement the sixth time a connection runs it and
    PostgreSQL then plans it once (a generic plan) instead of at every run;
    but psycopg's ``rollback()`` forgets (and deallocates) every prepared
    statement, in case the transaction created what they refer to, and every
    read-only request ends with a rollback (zope.sqlalchemy), so nothing was
    ever prepared. The application runs no DDL (alembic does, on its own
    connection), so the statements stay valid; PostgreSQL re-plans a prepared
    statement itself when a table it reads changes. The case page's rows
    statement: 25 ms planned at each run, 1.2 ms prepared (issue 21,
    docs/performance.md)."""
    from psycopg import errors
    from psycopg.pq import ExecStatus, TransactionStatus

    pgconn = dbapi_connection.pgconn
    if pgconn.transaction_status == TransactionStatus.IDLE:
        return
    result = pgconn.exec_(b"ROLLBACK")
    if result.status != ExecStatus.COMMAND_OK:
        raise errors.OperationalError(
            (pgconn.error_message or b"ROLLBACK failed").decode("utf-8", "replace"))


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def get_session_factory(engine):
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_tm_session(session_factory, transaction_manager, request=None):
    """A session joined to ``transaction_manager``; commits when it commits."""
    dbsession = session_factory(info={"request": request})
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


def includeme(config):
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    config.include("pyramid_tm")
    config.include("pyramid_retry")

    engine = get_engine(settings)
    session_factory = get_session_factory(engine)
    config.registry["dbsession_factory"] = session_factory
    config.registry["db_engine"] = engine

    def dbsession(request):
        return get_tm_session(session_factory, request.tm, request=request)

    config.add_request_method(dbsession, reify=True)


def begin_write(session) -> None:
    """Make ``session``'s new transaction a writer from its first statement.

    On SQLite a transaction that reads first and writes later fails at once
    when another connection wrote in between (WAL snapshot); ``BEGIN
    IMMEDIATE`` takes the write lock up front (waiting up to busy_timeout).
    PostgreSQL needs nothing: row locks do the serializing there."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
