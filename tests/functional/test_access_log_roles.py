"""The application's database role (PostgreSQL): exactly the documented
grants, nothing that switches the log's triggers off, and a start-up that
refuses any role that could (docs/audit.md, "Production database roles")."""
import pytest
import sqlalchemy as sa

import intranet
from intranet.audit.dbrole import bypass_reasons
from intranet.scripts.cli import main as cli
from tests.conftest import app_role

pytestmark = pytest.mark.postgresql

LOG_TABLES = {
    "access_log": {"SELECT", "INSERT"},
    "access_log_cases": {"SELECT", "INSERT"},
    "access_log_checkpoints": {"SELECT", "INSERT"},
    "access_log_archives": {"SELECT"},
    "access_log_head": {"SELECT", "UPDATE"},
    "alembic_version": {"SELECT"},
}
DML = {"SELECT", "INSERT", "UPDATE", "DELETE"}


@pytest.fixture
def postgresql(database):
    if not database["sqlalchemy.url"].startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no database roles")


def grants(conn, role):
    """{relation: {privilege, ...}} held by ``role`` in the public schema."""
    held = {}
    for name, privilege in conn.execute(sa.text(
            "SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
            "WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = "
            "(SELECT oid FROM pg_roles WHERE rolname = :role)"), {"role": role}):
        held.setdefault(name, set()).add(privilege)
    return held


def test_the_app_runs_as_a_role_with_exactly_the_documented_grants(postgresql, engine, admin_engine):
    with engine.connect() as conn:
        role = conn.scalar(sa.text("SELECT current_user"))
        assert bypass_reasons(conn) == []
    with admin_engine.connect() as conn:
        held = grants(conn, role)
        tables = set(conn.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        sequences = set(conn.scalars(sa.text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")))
    expected = {t: LOG_TABLES.get(t, DML) for t in tables}
    expected.update({s: {"USAGE"} for s in sequences if s != "access_log_archives_id_seq"})
    assert held == expected
    assert role != "postgres" and "users" in held


def test_the_app_role_cannot_switch_the_triggers_off(postgresql, engine):
    for statement in ("SET session_replication_role = replica",
                      "ALTER TABLE access_log DISABLE TRIGGER ALL",
                      "DROP TRIGGER access_log_no_delete ON access_log",
                      "CREATE OR REPLACE FUNCTION access_log_guard() RETURNS trigger "
                      "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
                      "UPDATE access_log_checkpoints SET chain = 'x'",
                      "DELETE FROM access_log_cases",
                      "INSERT INTO access_log_archives (upto_seq, chain, entries, \"before\", "
                      "file_sha256, created_at) VALUES (1, 'x', 1, '2000-01-01', 'x', now())"):
        with pytest.raises(sa.exc.DBAPIError, match="permission denied|must be owner"):
            with engine.begin() as conn:
                conn.exec_driver_sql(statement)


def test_a_superuser_is_refused_at_start(postgresql, app_settings, admin_url):
    with pytest.raises(RuntimeError) as refused:
        intranet.main({}, **{**app_settings, "sqlalchemy.url": admin_url})
    message = str(refused.value)
    assert "'postgres'" in message and "superuser" in message
    assert "intranet db grant-app-role" in message and "docs/audit.md" in message
    assert "SELECT and INSERT on access_log" in message and "UPDATE on access_log_head" in message
    assert "追記専用トリガーを無効にできる" in message and "起動しません" in message
    # the check is the setting's: without it the same role starts (development)
    app = intranet.main({}, **{**app_settings, "sqlalchemy.url": admin_url,
                               "intranet.audit.require_restricted_role": "false"})
    app.registry["db_engine"].dispose()


def test_owners_and_roles_that_may_disable_the_triggers_are_refused(postgresql, fresh_database):
    """A role owning a log table, one belonging to the owner's role, one with
    CREATEROLE, one granted SET on session_replication_role: none starts."""
    admin_url = fresh_database["sqlalchemy.url"]
    settings = {**fresh_database, "intranet.audit.require_restricted_role": "true"}
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def refused(url):
        with pytest.raises(RuntimeError) as error:
            intranet.main({}, **{**settings, "sqlalchemy.url": url})
        return str(error.value)

    with app_role(admin_url, "intranet_owner") as (owner, owner_url), \
            app_role(admin_url, "intranet_member") as (member, member_url), \
            app_role(admin_url, "intranet_creator") as (creator, creator_url), \
            app_role(admin_url, "intranet_replica") as (replica, replica_url), \
            app_role(admin_url) as (_, plain_url):
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER TABLE access_log_cases OWNER TO "{owner}"')
            conn.exec_driver_sql(f'GRANT "{owner}" TO "{member}"')
            conn.exec_driver_sql(f'ALTER ROLE "{creator}" CREATEROLE')
            conn.exec_driver_sql(f'GRANT SET ON PARAMETER session_replication_role TO "{replica}"')
        assert "owns access_log_cases" in refused(owner_url)
        message = refused(member_url)
        assert "owns access_log_cases (directly or through a role it belongs to)" in message
        assert "grant-app-role" in message and "所有者ロール" in message
        assert "CREATEROLE" in refused(creator_url)
        assert "may SET session_replication_role" in refused(replica_url)
        app = intranet.main({}, **{**settings, "sqlalchemy.url": plain_url})  # the documented grants
        app.registry["db_engine"].dispose()
    admin.dispose()


def test_grant_app_role_command_gives_what_the_tests_run_with(postgresql, engine, admin_url, tmp_path,
                                                             capsys):
    ini = tmp_path / "grant.ini"
    ini.write_text(f"[app:main]\nuse = egg:intranet\nsqlalchemy.url = {admin_url}\n")
    with engine.connect() as conn:
        app = conn.scalar(sa.text("SELECT current_user"))
    admin = sa.create_engine(admin_url)
    with app_role(admin_url, "intranet_cli") as (role, _):
        with admin.begin() as conn:  # start from nothing, and from too much
            conn.exec_driver_sql(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
            conn.exec_driver_sql(f'GRANT ALL ON access_log TO "{role}"')
        assert cli(["db", "grant-app-role", str(ini), role, "--print"]) == 0
        printed = capsys.readouterr().out
        assert f"GRANT SELECT, INSERT ON access_log TO {role};" in printed
        with admin.connect() as conn:
            assert grants(conn, role).get("access_log") == {
                "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
        assert cli(["db", "grant-app-role", str(ini), role]) == 0
        with admin.connect() as conn:
            assert grants(conn, role) == grants(conn, app)
    assert cli(["db", "grant-app-role", str(ini), "no_such_role_here"]) == 2
    admin.dispose()
