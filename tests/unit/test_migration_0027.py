"""Migration 0027 fills the address search form of rows stored before it
(issue 20), on both backends, and builds the trigram index on PostgreSQL."""
import os

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig

from intranet.text import address_key
from intranet.db import MIGRATIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _alembic(url: str) -> AlembicConfig:
    cfg = AlembicConfig(os.path.join(ROOT, "development.ini"))
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["settings"] = {"sqlalchemy.url": url}
    cfg.attributes["configure_logging"] = False
    return cfg


def test_0027_fills_existing_rows(fresh_database):
    url = fresh_database["sqlalchemy.url"]
    cfg = _alembic(url)
    alembic_command.downgrade(cfg, "0023")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO taxpayers (id, taxpayer_no, kind, name, name_kana, postal_code, address,"
                " address_extra, residency, search_name, search_kana) VALUES (1, 'M1', 'individual',"
                " '移行 花子', '', '160-0023', '東京都新宿区西新宿一丁目2番3号', 'ハイツ 101号室',"
                " 'ward', '', '')"))
            conn.execute(sa.text(
                "INSERT INTO mailing_addresses (id, taxpayer_id, name, postal_code, address)"
                " VALUES (1, 1, '送付先', '', '大阪府大阪市北区梅田２－４－９')"))
        alembic_command.upgrade(cfg, "head")
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT search_address FROM taxpayers")) == address_key(
                "東京都新宿区西新宿一丁目2番3号 ハイツ 101号室") == "東京都新宿区西新宿1-2-3はいつ101室"
            assert conn.scalar(sa.text("SELECT search_address FROM mailing_addresses")) == \
                "大阪府大阪市北区梅田2-4-9"
            if engine.dialect.name == "postgresql":
                definition = conn.scalar(sa.text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_taxpayers_search_address'"))
                assert "gin" in definition and "gin_trgm_ops" in definition
    finally:
        engine.dispose()
