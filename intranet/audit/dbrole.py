"""The application's PostgreSQL role: the grants it needs, and the start-up
check that it cannot get round the access log's triggers (docs/audit.md,
"Production database roles").

The triggers of alembic 0002/0018 refuse to change or remove log rows, but a
role can switch them off if it is a superuser (``SET session_replication_role
= replica``, ``ALTER TABLE ... DISABLE TRIGGER``), owns a log table or the
schema (directly or through role membership: ``ALTER TABLE``, ``DROP TABLE``),
owns the trigger functions (``CREATE OR REPLACE FUNCTION``), may grant itself
such a membership (``CREATEROLE`` before PostgreSQL 16), or was granted
``SET`` on ``session_replication_role`` (PostgreSQL 15 and later). The
application therefore runs as a role that is none of these, with exactly the
grants of :func:`grant_statements`; migrations run as the owner.
"""
from __future__ import annotations

from sqlalchemy import text

#: Append-only tables (triggers of alembic 0002 and 0018).
LOG_TABLES = ("access_log", "access_log_cases", "access_log_checkpoints", "access_log_archives")
#: What the application does to each: it adds to the log and reads it; only
#: the retention procedure (a separate maintenance role) records cuts.
LOG_GRANTS = {
    "access_log": "SELECT, INSERT",
    "access_log_cases": "SELECT, INSERT",
    "access_log_checkpoints": "SELECT, INSERT",
    "access_log_archives": "SELECT",
    "access_log_head": "SELECT, UPDATE",
    "alembic_version": "SELECT",  # the schema revision, read-only
}
#: Ordinary DML on every other table.
TABLE_GRANTS = "SELECT, INSERT, UPDATE, DELETE"
#: Sequences the application never needs (it records no archive cut).
NO_SEQUENCES = ("access_log_archives_id_seq",)
TRIGGER_FUNCTIONS = ("access_log_guard", "access_log_cut_guard")


def grant_statements(conn, role: str) -> list[str]:
    """The statements (run as the schema owner, after ``intranet initdb``)
    giving ``role`` exactly what the application needs on the current schema,
    and nothing else it may have held there before."""
    quote = conn.dialect.identifier_preparer.quote
    schema = quote(conn.scalar(text("SELECT current_schema()")))
    tables = list(conn.scalars(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")))
    sequences = list(conn.scalars(text(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
        "ORDER BY sequencename")))
    who = quote(role)
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {who}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {who}",
        f"GRANT USAGE ON SCHEMA {schema} TO {who}",
    ]
    ordinary = [t for t in tables if t not in LOG_GRANTS and t not in LOG_TABLES]
    if ordinary:
        statements.append(f"GRANT {TABLE_GRANTS} ON {', '.join(map(quote, ordinary))} TO {who}")
    for table, grants in LOG_GRANTS.items():
        if table in tables:
            statements.append(f"GRANT {grants} ON {quote(table)} TO {who}")
    usable = [s for s in sequences if s not in NO_SEQUENCES]
    if usable:
        statements.append(f"GRANT USAGE ON SEQUENCE {', '.join(map(quote, usable))} TO {who}")
    return statements


def grant_app_role(conn, role: str) -> list[str]:
    """Run :func:`grant_statements` on ``conn`` (one transaction: the caller's)."""
    statements = grant_statements(conn, role)
    for statement in statements:
        conn.exec_driver_sql(statement)
    return statements


def bypass_reasons(conn) -> list[str]:
    """Why the connected role could switch off or get round the log's
    triggers (empty: it cannot)."""
    reasons = []
    superuser, createrole = conn.execute(text(
        "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")).one()
    if superuser:
        reasons.append("it is a superuser")
    version = int(conn.scalar(text("SELECT current_setting('server_version_num')")))
    if createrole and version < 160000:
        reasons.append("it has CREATEROLE (it may grant itself the owner's role)")
    owned = list(conn.scalars(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname = ANY(:tables) "
        "AND pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY c.relname"),
        {"tables": list(LOG_TABLES)}))
    if owned:
        reasons.append(f"it owns {', '.join(owned)} (directly or through a role it belongs to)")
    if conn.scalar(text("SELECT pg_has_role(current_user, nspowner, 'MEMBER') FROM pg_namespace "
                        "WHERE nspname = current_schema()")):
        reasons.append("it owns the schema (it may drop and recreate the log tables)")
    functions = list(conn.scalars(text(
        "SELECT DISTINCT proname FROM pg_proc WHERE proname = ANY(:names) "
        "AND pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
        "AND pg_has_role(current_user, proowner, 'MEMBER') ORDER BY proname"),
        {"names": list(TRIGGER_FUNCTIONS)}))
    if functions:
        reasons.append(f"it owns the trigger function {', '.join(functions)}")
    if version >= 150000 and not superuser and conn.scalar(text(
            "SELECT has_parameter_privilege('session_replication_role', 'SET')")):
        reasons.append("it may SET session_replication_role")
    return reasons


def refusal(role: str, reasons: list[str]) -> str:
    return (
        f"The database role {role!r} could switch off the access log's append-only triggers: "
        f"{'; '.join(reasons)}. intranet.audit.require_restricted_role is on, so the "
        "application does not start. Connect as the application role with exactly the grants "
        "documented in docs/audit.md, 'Production database roles' (SELECT and INSERT on "
        "access_log, access_log_cases and access_log_checkpoints, SELECT on access_log_archives, "
        "SELECT and UPDATE on access_log_head, SELECT/INSERT/UPDATE/DELETE on the other tables, "
        "USAGE on their sequences: `intranet db grant-app-role <ini> ROLE`, run as the owner), "
        "and run migrations (`intranet initdb`) as the owner role.\n"
        f"データベースのロール「{role}」はアクセスログの追記専用トリガーを無効にできるため、"
        "アプリケーションを起動しません（intranet.audit.require_restricted_role）。"
        "docs/audit.md「Production database roles」の権限（ログ表への SELECT・INSERT、"
        "access_log_head への UPDATE、その他の表への通常の読み書き、シーケンスの USAGE。"
        "所有者ロールで `intranet db grant-app-role <ini> ROLE` を実行）だけを持つ"
        "アプリケーション用ロールで接続し、マイグレーション（intranet initdb）は所有者ロールで"
        "実行してください。")


def check_restricted_role(engine) -> None:
    """Raise ``RuntimeError`` (the application does not start) unless the
    engine's role cannot bypass the triggers."""
    if engine.dialect.name != "postgresql":
        raise RuntimeError(
            "intranet.audit.require_restricted_role needs PostgreSQL: a SQLite file has no "
            "database roles (whoever may write the file may change the log) / "
            "intranet.audit.require_restricted_role は PostgreSQL でのみ使用できます")
    with engine.connect() as conn:
        role = conn.scalar(text("SELECT current_user"))
        reasons = bypass_reasons(conn)
    if reasons:
        raise RuntimeError(refusal(role, reasons))
