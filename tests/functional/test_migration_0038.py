"""Migration 0038 (issue 21, campaign build): ``ix_call_targets_campaign_id``
goes (``uq_call_targets_campaign_id`` leads with the same column) and
``ix_call_targets_leased_by`` holds only leased targets; downgrading puts
both back as they were. On SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import _new_database
from tests.functional.test_migration_0025 import _config


def _indexes(conn) -> dict[str, str]:
    """{name: definition} of call_targets' indexes (those not backing a constraint)."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                    "AND tbl_name = 'call_targets' AND sql IS NOT NULL"))
    else:
        rows = conn.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes "
                                    "WHERE tablename = 'call_targets'"))
    return {name: " ".join(sql.split()) for name, sql in rows}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_build_indexes_upgrade_and_downgrade(backend, tmp_path_factory):
    with _new_database(backend, tmp_path_factory) as settings:
        url = settings["sqlalchemy.url"]
        cfg = _config(url)
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                head = _indexes(conn)
            assert "ix_call_targets_campaign_id" not in head
            assert "leased_by IS NOT NULL" in head["ix_call_targets_leased_by"].replace("(", "").replace(")", "")
            assert "ix_call_targets_queue" in head

            command.downgrade(cfg, "0037")
            with engine.connect() as conn:
                before = _indexes(conn)
            assert "ix_call_targets_campaign_id" in before
            assert "WHERE" not in before["ix_call_targets_leased_by"].upper()

            command.upgrade(cfg, "head")
            with engine.connect() as conn:
                assert _indexes(conn) == head
        finally:
            engine.dispose()
