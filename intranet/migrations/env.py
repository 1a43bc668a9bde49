"""Alembic environment: the database URL comes from the app's ini settings
(``sqlalchemy.url``, including ``env:NAME``), so one ini drives app and migrations."""
from alembic import context
from pyramid.paster import get_appsettings, setup_logging

from intranet.db import get_engine
from intranet.models.meta import Base

config = context.config
ini = config.config_file_name
if ini and config.attributes.get("configure_logging", True):
    setup_logging(ini)
settings = config.attributes.get("settings") or get_appsettings(ini)
target_metadata = Base.metadata


def run_migrations_offline():
    from intranet.db import database_url

    context.configure(url=database_url(settings), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = get_engine(settings)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a table (copy, drop, rename); with
            # foreign keys enforced, dropping a table other rows point at
            # fails or cascades. The pragma works outside a transaction only,
            # so it is set first; the keys are checked before the commit.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
