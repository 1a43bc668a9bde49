"""Migration 0039 (issue 22): a log written before the tree gets its tree,
its organisations' chains and a signed checkpoint at the first checkpoint
after the upgrade; the new tables are append-only; downgrading removes them.
On SQLite and PostgreSQL."""
import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command

from intranet.audit import merkle
from intranet.audit.checkpoints import Checkpointer, CheckpointSettings
from intranet.audit.signed_note import Signer, open_note, parse_checkpoint
from intranet.audit.writer import AccessLogWriter
from tests.conftest import TEST_SETTINGS, _new_database
from tests.functional.test_migration_0025 import _config
from tests.helpers import synthetic_entry, trusted_test_keys

KEY = TEST_SETTINGS["intranet.audit.hmac_key"].encode()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_an_existing_log_gets_its_tree_after_the_upgrade(backend, tmp_path_factory):
    with _new_database(backend, tmp_path_factory) as settings:
        url = settings["sqlalchemy.url"]
        cfg = _config(url)
        command.downgrade(cfg, "0038")
        engine = sa.create_engine(url)
        try:
            # the log as the application wrote it before issue 22
            at = dt.datetime(2026, 10, 1, 9)
            rows = [synthetic_entry(at + dt.timedelta(minutes=n), f"u{n % 3}", ("org-a", "org-b", None)[n % 3],
                                    cases=[n] if n % 2 else [])
                    for n in range(1, 41)]
            AccessLogWriter(engine, KEY).append(rows)
            with engine.connect() as conn:
                tables = sa.inspect(conn).get_table_names()
            assert "access_log_leaves" not in tables

            command.upgrade(cfg, "head")
            signer = Signer.from_key_string(TEST_SETTINGS["intranet.audit.signing_key"])
            checkpointer = Checkpointer(engine, KEY, CheckpointSettings(
                interval=dt.timedelta(minutes=1), every_entries=1000, path=None,
                retry=dt.timedelta(seconds=30), signer=signer, origin="test.invalid/log"))
            seq, _ = checkpointer.write_current(dt.datetime(2026, 11, 30, 12))
            assert seq == 40
            with engine.connect() as conn:
                entries = conn.execute(sa.text(
                    "SELECT seq, organisation FROM access_log ORDER BY seq")).all()
                note = conn.scalar(sa.text("SELECT note FROM access_log_checkpoints ORDER BY id DESC"))
                leaves = conn.execute(sa.text(
                    "SELECT seq, organisation, org_prev, leaf_hash FROM access_log_leaves ORDER BY seq")).all()
            assert [s for s, *_ in leaves] == [s for s, _ in entries]
            body = parse_checkpoint(open_note(note.encode(), trusted_test_keys()).text)
            assert body.size == 40
            assert body.root_hash == merkle.root([bytes.fromhex(h) for *_, h in leaves])
            # each organisation's chain: every leaf names the previous of its organisation
            last = {}
            for seq, org, org_prev, leaf in leaves:
                assert org_prev == last.get(org, "0" * 64)
                last[org] = leaf
            assert {line.split()[1] for line in body.extensions if line.startswith("org ")} == {
                "org-a", "org-b", "(none)"}
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with engine.begin() as conn:
                    conn.execute(sa.text("UPDATE access_log_leaves SET leaf_hash = org_prev"))

            command.downgrade(cfg, "0038")
            with engine.connect() as conn:
                tables = sa.inspect(conn).get_table_names()
                columns = {c["name"] for c in sa.inspect(conn).get_columns("access_log_checkpoints")}
            assert not {"access_log_leaves", "access_log_tree_nodes", "access_log_tree_head"} & set(tables)
            assert "note" not in columns
            command.upgrade(cfg, "head")
        finally:
            engine.dispose()
