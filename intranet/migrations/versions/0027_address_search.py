"""address search: taxpayers.search_address and mailing_addresses.search_address
(the address in one notation, intranet.text.address_key), filled for existing
rows, with a pg_trgm GIN index on PostgreSQL for substring search

The extension is created here, by the migrating (owner) role: the restricted
role the application runs as never needs CREATE privileges.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30 07:30:00
"""
from alembic import op
import sqlalchemy as sa

from intranet.text import address_key


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

BATCH = 5000


def _fill(table: str, columns: tuple[str, ...]) -> None:
    """search_address for every existing row, in batches (no row left empty)."""
    bind = op.get_bind()
    rows = sa.table(table, sa.column('id'), sa.column('search_address'),
                    *[sa.column(c) for c in columns])
    last = 0
    while True:
        batch = bind.execute(sa.select(rows.c.id, *[rows.c[c] for c in columns])
                             .where(rows.c.id > last).order_by(rows.c.id).limit(BATCH)).all()
        if not batch:
            return
        bind.execute(rows.update().where(rows.c.id == sa.bindparam('row_id'))
                     .values(search_address=sa.bindparam('key')),
                     [{'row_id': row[0], 'key': address_key(' '.join(v or '' for v in row[1:]))}
                      for row in batch])
        last = batch[-1][0]


def _index(name: str, table: str) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index(name, table, ['search_address'], postgresql_using='gin',
                        postgresql_ops={'search_address': 'gin_trgm_ops'})
    else:
        op.create_index(name, table, ['search_address'])


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    with op.batch_alter_table('taxpayers') as batch_op:
        batch_op.add_column(sa.Column('search_address', sa.String(length=600), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('mailing_addresses') as batch_op:
        batch_op.add_column(sa.Column('search_address', sa.String(length=600), nullable=False,
                                      server_default=''))
    _fill('taxpayers', ('address', 'address_extra'))
    _fill('mailing_addresses', ('address',))
    # The server default stays (as in 0003, 0015, 0022): removing it would make
    # SQLite rebuild taxpayers, whose drop cascades to its children's rows.
    _index('ix_taxpayers_search_address', 'taxpayers')
    _index('ix_mailing_addresses_search_address', 'mailing_addresses')


def downgrade():
    op.drop_index('ix_mailing_addresses_search_address', table_name='mailing_addresses')
    op.drop_index('ix_taxpayers_search_address', table_name='taxpayers')
    with op.batch_alter_table('mailing_addresses') as batch_op:
        batch_op.drop_column('search_address')
    with op.batch_alter_table('taxpayers') as batch_op:
        batch_op.drop_column('search_address')
    # pg_trgm stays: other objects may use it, and dropping it needs the owner.
