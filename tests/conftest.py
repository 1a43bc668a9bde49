"""Fixtures: every database test runs on SQLite and on PostgreSQL.

* ``database`` (session scope, parametrized): a fresh SQLite file, and a
  throwaway PostgreSQL database created and dropped per run. PostgreSQL tests
  skip with a reason when no server is reachable, unless INTRANET_REQUIRE_PG=1
  (CI), where they fail instead.
* The schema is built by ``alembic upgrade head``, as in production.
* After each test every table is emptied, so tests see only their own data.
* On PostgreSQL the application connects as a login role of its own with
  exactly the documented grants (``intranet db grant-app-role``, docs/audit.md)
  and ``intranet.audit.require_restricted_role`` on, as in production; the
  migrations, and tests that attack the log as a database administrator, use
  the owner (``admin_engine``). ``fresh_database`` connects as the owner: its
  tests run the retention procedure, which production runs as the owner-side
  maintenance role.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid

import pytest
import sqlalchemy as sa
import webtest
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig

import intranet
from intranet.audit.dbrole import grant_app_role
from intranet.db import MIGRATIONS, get_engine, get_session_factory
from intranet.models import Base

HERE = os.path.dirname(__file__)
ROOT = os.path.dirname(HERE)
PG_ADMIN_URL = os.environ.get("INTRANET_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("INTRANET_REQUIRE_PG") == "1"

#: Cheap argon2 parameters for tests only (production: t=2, m=19 MiB).
TEST_SETTINGS = {
    "intranet.argon2.time_cost": "1",
    "intranet.argon2.memory_cost": "64",
    "intranet.argon2.parallelism": "1",
    "intranet.session.idle_timeout": "15",
    "intranet.session.absolute_timeout": "600",
    "intranet.login.max_failures": "5",
    "intranet.login.lockout_minutes": "15",
    # Throttling by address counts login failures in the access log, which
    # every test shares (same frozen time, same REMOTE_ADDR): off here;
    # tests/functional/test_network.py turns it on with addresses of its own.
    "intranet.login.address_max_failures": "0",
    "pyramid.default_locale_name": "ja",
    "intranet.audit.hmac_key": "test-access-log-key-0123456789abcdef",
    # tests/helpers.py TEST_PUBLIC_KEY verifies it
    "intranet.audit.signing_key": "PRIVATE+KEY+intranet-test+1272cb19+AcfE8Umq9zFtN7MAkn6FYUdxZvfqM0h4iAleunyxoU3+",
    "intranet.audit.log_origin": "test.invalid/intranet/access-log",
    # No role must pass a second factor unless a test says so (the default,
    # operators and investigators with security keys, is tested on its own).
    "intranet.mfa.required_roles": "",
    # The monitoring network (/healthz, /metrics): tests.helpers.MONITORING_ADDR,
    # a documentation address no other test client uses (they are 10.0.0.1).
    "intranet.zones.monitoring": "192.0.2.10",
}


class FrozenClock:
    """A clock tests move by hand (see intranet.clock).

    ``FrozenClock.furthest`` is the latest time any of them reached in this
    test session: the app dates its automatic log checkpoints by its clock,
    so after a test moved it weeks ahead, the shared log holds checkpoints
    "from the future" of the real clock (see tests.helpers.log_now)."""

    furthest: dt.datetime | None = None

    def __init__(self, now: dt.datetime):
        self._now = now
        self._reached()

    def _reached(self) -> None:
        if FrozenClock.furthest is None or self._now > FrozenClock.furthest:
            FrozenClock.furthest = self._now

    def now(self) -> dt.datetime:
        return self._now

    def today(self) -> dt.date:
        return (self._now + dt.timedelta(hours=9)).date()

    def advance(self, **kw) -> None:
        self._now += dt.timedelta(**kw)
        self._reached()


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def _migrate(settings) -> None:
    cfg = AlembicConfig(os.path.join(ROOT, "development.ini"))
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["settings"] = settings
    cfg.attributes["configure_logging"] = False
    alembic_command.upgrade(cfg, "head")


@contextlib.contextmanager
def _new_database(backend: str, tmp_path_factory):
    """Settings of a new, migrated database; PostgreSQL ones are dropped after."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        settings = {"sqlalchemy.url": f"sqlite:///{path}"}
        _migrate(settings)
        yield settings
        return

    problem = _pg_reachable()
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"INTRANET_REQUIRE_PG=1 but PostgreSQL is not reachable at "
                        f"{PG_ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem}); "
                    f"set INTRANET_REQUIRE_PG=1 to make this an error")
    name = f"intranet_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name)
    settings = {"sqlalchemy.url": url.render_as_string(hide_password=False)}
    try:
        _migrate(settings)
        yield settings
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def app_role(admin_url: str, prefix: str = "intranet_app"):
    """A new login role with exactly the application's grants on the database
    of ``admin_url``; yields its URL (trust authentication: no password).
    Dropped after, with whatever it still holds there."""
    role = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
    with admin.begin() as conn:
        grant_app_role(conn, role)
    try:
        yield role, sa.engine.make_url(admin_url).set(username=role, password=None).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE usename = :role"), {"role": role})
            conn.exec_driver_sql(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def databases(request, tmp_path_factory):
    """(application settings, owner's URL) of a freshly migrated database of
    the parametrized backend."""
    with _new_database(request.param, tmp_path_factory) as settings:
        if request.param == "sqlite":
            yield settings, settings["sqlalchemy.url"]
        else:
            with app_role(settings["sqlalchemy.url"]) as (_, url):
                yield {"sqlalchemy.url": url,
                       "intranet.audit.require_restricted_role": "true"}, settings["sqlalchemy.url"]


@pytest.fixture(scope="session")
def database(databases):
    """Settings of a freshly migrated database of the parametrized backend."""
    return databases[0]


@pytest.fixture(scope="session")
def admin_url(databases) -> str:
    """The database owner's URL (PostgreSQL: the superuser): for migrations and
    for tests that tamper with the log as a database administrator would."""
    return databases[1]


@pytest.fixture(scope="session")
def admin_engine(admin_url):
    engine = get_engine({"sqlalchemy.url": admin_url})
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_database(database, tmp_path_factory):
    """Another new database of the same backend, for tests that must own the
    whole access log (archiving removes entries)."""
    backend = "sqlite" if database["sqlalchemy.url"].startswith("sqlite") else "postgresql"
    with _new_database(backend, tmp_path_factory) as settings:
        yield {**TEST_SETTINGS, **settings}


@pytest.fixture
def app_of_own(fresh_database, tmp_path):
    """``make(**settings)`` -> (app, client): an app on a database of its own
    (its own log, checkpoint file, jobs), its clock frozen at a weekday
    morning (JST); the client comes from 10.0.0.1."""
    apps = []

    def make(**settings):
        app = intranet.main({}, **{**fresh_database, **{
            "intranet.audit.checkpoint_file": str(tmp_path / "checkpoints.jsonl"), **settings}})
        app.registry.clock = FrozenClock(dt.datetime(2026, 11, 24, 0, 30))  # 09:30 JST, a Tuesday
        apps.append(app)
        return app, webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})

    yield make
    for app in apps:
        app.registry["db_engine"].dispose()


@pytest.fixture(scope="session")
def app_settings(database, tmp_path_factory):
    return {**TEST_SETTINGS, **database,
            "intranet.survey.photo_dir": str(tmp_path_factory.mktemp("survey-photos"))}


@pytest.fixture(scope="session")
def wsgi_app(app_settings):
    return intranet.main({}, **app_settings)


@pytest.fixture(scope="session")
def engine(wsgi_app):
    return wsgi_app.registry["db_engine"]


@pytest.fixture
def clock(wsgi_app):
    """The app's clock, frozen at a weekday morning (JST) and movable."""
    frozen = FrozenClock(dt.datetime(2026, 11, 24, 0, 30))  # 09:30 JST, a Tuesday
    original = wsgi_app.registry.clock
    wsgi_app.registry.clock = frozen
    yield frozen
    wsgi_app.registry.clock = original


@pytest.fixture
def dbsession(wsgi_app, engine):
    """A plain session for arranging and inspecting data (commit to publish)."""
    session = get_session_factory(engine)()
    yield session
    session.rollback()
    session.close()
    _empty_all_tables(engine)


def _empty_all_tables(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            # The access log is append-only (triggers): it grows across tests,
            # which read only the entries they caused (tests/audit_helpers.py).
            if not table.info.get("append_only") and table.name != "access_log_head":
                conn.execute(table.delete())


@pytest.fixture
def testapp(wsgi_app, clock, dbsession):
    """WebTest client through the whole app (with the frozen clock)."""
    return webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})


@pytest.fixture
def password_context(wsgi_app):
    return wsgi_app.registry.password_context
