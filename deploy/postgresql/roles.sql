-- The database and its four roles (docs/audit.md, "Production database
-- roles"), once, as a PostgreSQL superuser on the database host:
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -f roles.sql
-- Then set each role's password (\password intranet_app) or use client
-- certificates (pg_hba.conf: hostssl ... cert). None of them is a superuser,
-- none may create roles or databases.

-- owns the database, schema, tables and trigger functions: runs
-- `intranet initdb` (alembic) and `intranet db grant-app-role` only, at
-- installation and upgrades (with the access log's key it could rewrite the
-- newest entries: keep its credentials off the application host otherwise)
CREATE ROLE intranet_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
-- the web processes, the worker, checkpoints, verification: a plain login
-- role, member of no other role; its table grants come from
-- `intranet db grant-app-role` after every `intranet initdb`
CREATE ROLE intranet_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
-- the retention procedure (`intranet audit archive`) only: the application's
-- grants plus deploy/postgresql/maintenance-grants.sql
CREATE ROLE intranet_maint LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
-- the nightly `intranet backup` (pg_dump): reads every table and sequence,
-- writes nothing (PostgreSQL 14 and later)
CREATE ROLE intranet_backup LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
GRANT pg_read_all_data TO intranet_backup;

CREATE DATABASE intranet OWNER intranet_owner ENCODING 'UTF8' LOCALE 'C.UTF-8' TEMPLATE template0;
REVOKE ALL ON DATABASE intranet FROM PUBLIC;
-- TEMPORARY: the campaign build uses a temporary table (docs/operations.md)
GRANT CONNECT, TEMPORARY ON DATABASE intranet TO intranet_app, intranet_maint;
GRANT CONNECT ON DATABASE intranet TO intranet_backup;

\connect intranet
-- the owner owns the schema; nobody else may create objects in it
ALTER SCHEMA public OWNER TO intranet_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
