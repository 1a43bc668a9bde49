-- The maintenance role's grants beyond the application's (docs/audit.md,
-- "Production database roles"), as the owner, after
--   intranet initdb production.ini
--   intranet db grant-app-role production.ini intranet_app
--   intranet db grant-app-role production.ini intranet_maint
-- (with INTRANET_DATABASE_URL naming intranet_owner), then:
--   psql -v ON_ERROR_STOP=1 -f maintenance-grants.sql postgresql://intranet_owner@db/intranet
-- Run it again after every upgrade (grant-app-role revokes these). The
-- triggers still refuse to delete an entry not covered by a recorded cut or
-- less than 5 years old, whoever asks.
GRANT INSERT ON access_log_archives TO intranet_maint;
GRANT USAGE ON SEQUENCE access_log_archives_id_seq TO intranet_maint;
GRANT DELETE ON access_log, access_log_cases TO intranet_maint;
