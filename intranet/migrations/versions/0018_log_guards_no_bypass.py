"""access log: no way round the triggers (REPLACE/UPSERT, retention floor, replica mode)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 05:00:00

* SQLite: ``INSERT OR REPLACE`` (and an UPSERT) overwrote a row of an
  append-only table: the implicit delete fires no delete trigger unless the
  connection set ``PRAGMA recursive_triggers``, which an administrator's own
  sqlite3 shell does not. A BEFORE INSERT trigger now refuses any insert whose
  key already exists. (PostgreSQL has no REPLACE; its ``ON CONFLICT DO
  UPDATE`` fires the UPDATE trigger, which refuses it.)
* Retention in the database itself, on both backends: an archive cut whose
  ``before`` is within the last 5 years is refused, and so is the deletion of
  an entry (or of its disclosed cases) less than 5 years old, even if a cut
  covers it. 5 years is the limitation period of local-tax collection and the
  floor of ``intranet.audit.retention_years`` (the application refuses to
  start below it). Times are compared with the database server's clock, in UTC.
* PostgreSQL: the guard triggers fire ``ALWAYS``, so ``SET
  session_replication_role = replica`` no longer switches them off.
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

RETENTION = "5 years"

#: append-only table -> its key columns
KEYS = {
    "access_log": ("seq",),
    "access_log_cases": ("entry_seq", "position"),
    "access_log_checkpoints": ("id",),
    "access_log_archives": ("id",),
}

#: tables whose rows the retention procedure deletes -> SQL (SQLite) giving
#: the Julian day of the entry the deleted row belongs to
SQLITE_ENTRY_DAY = {
    "access_log": "julianday(OLD.occurred_at)",
    "access_log_cases": "(SELECT julianday(occurred_at) FROM access_log WHERE seq = OLD.entry_seq)",
}

PG_GUARD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION access_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  entry bigint;
BEGIN
  -- Rows covered by a recorded archive cut may be deleted (retention
  -- procedure), but only if their entry is older than the retention period:
  -- nothing younger, whatever the cuts say.
  IF TG_OP = 'DELETE' AND TG_NARGS > 0 THEN
    entry := (to_jsonb(OLD) ->> TG_ARGV[0])::bigint;
    IF entry <= (SELECT COALESCE(MAX(upto_seq), 0) FROM access_log_archives) THEN
      IF (SELECT occurred_at FROM access_log WHERE seq = entry)
         < (now() AT TIME ZONE 'UTC') - interval '{RETENTION}' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'access log table % is append-only: DELETE of entry % inside the {RETENTION} retention period rejected',
        TG_TABLE_NAME, entry USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  RAISE EXCEPTION 'access log table % is append-only: % rejected', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$
"""

PG_CUT_GUARD_FUNCTION = f"""
CREATE FUNCTION access_log_cut_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."before" IS NULL OR NEW."before" > (now() AT TIME ZONE 'UTC') - interval '{RETENTION}' THEN
    RAISE EXCEPTION 'access log archive cut inside the {RETENTION} retention period rejected'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$
"""

#: 0002's function, restored by downgrade()
PG_GUARD_FUNCTION_0002 = """
CREATE OR REPLACE FUNCTION access_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Rows covered by a recorded archive cut may be deleted (retention procedure).
  IF TG_OP = 'DELETE' AND TG_NARGS > 0 THEN
    IF (to_jsonb(OLD) ->> TG_ARGV[0])::bigint
       <= (SELECT COALESCE(MAX(upto_seq), 0) FROM access_log_archives) THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'access log table % is append-only: % rejected', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$
"""

PG_TRIGGERS = [f"{table}_no_{action}" for table in KEYS
               for action in ("update", "delete", "truncate")]


def _pg_triggers():
    for name in PG_TRIGGERS:
        yield name, name.rsplit("_no_", 1)[0]
    yield "access_log_archives_retention", "access_log_archives"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_GUARD_FUNCTION)
        op.execute(PG_CUT_GUARD_FUNCTION)
        op.execute("CREATE TRIGGER access_log_archives_retention BEFORE INSERT ON access_log_archives "
                   "FOR EACH ROW EXECUTE FUNCTION access_log_cut_guard()")
        for trigger, table in _pg_triggers():
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")
        return
    for table, columns in KEYS.items():
        match = " AND ".join(f'"{c}" = NEW."{c}"' for c in columns)
        op.execute(f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                   f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {match}) BEGIN "
                   f"SELECT RAISE(ABORT, 'access log table {table} is append-only: "
                   f"INSERT over an existing row rejected'); END")
    for table, day in SQLITE_ENTRY_DAY.items():
        op.execute(f"CREATE TRIGGER {table}_retention BEFORE DELETE ON {table} "
                   f"WHEN COALESCE({day} > julianday('now', '-{RETENTION}'), 1) BEGIN "
                   f"SELECT RAISE(ABORT, 'access log table {table} is append-only: DELETE of "
                   f"an entry inside the {RETENTION} retention period rejected'); END")
    op.execute("CREATE TRIGGER access_log_archives_retention BEFORE INSERT ON access_log_archives "
               "WHEN typeof(NEW.\"before\") <> 'text' "
               f"OR COALESCE(julianday(NEW.\"before\") > julianday('now', '-{RETENTION}'), 1) BEGIN "
               f"SELECT RAISE(ABORT, 'access log archive cut inside the {RETENTION} retention "
               "period rejected'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in _pg_triggers():
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        op.execute("DROP TRIGGER IF EXISTS access_log_archives_retention ON access_log_archives")
        op.execute("DROP FUNCTION IF EXISTS access_log_cut_guard()")
        op.execute(PG_GUARD_FUNCTION_0002)
        return
    for table in KEYS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
    for table in SQLITE_ENTRY_DAY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_retention")
    op.execute("DROP TRIGGER IF EXISTS access_log_archives_retention")
