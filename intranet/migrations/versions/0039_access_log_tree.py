"""access log: Merkle tree leaves and nodes, signed checkpoints (issue 22)

Revision ID: 0039
Revises: 0038
Create Date: 2026-11-30 21:30:00

* ``access_log_leaves``: one row per entry (its RFC 6962 leaf hash and the
  leaf hash of the previous entry of the same organisation);
  ``access_log_tree_nodes``: interior nodes at every fourth level;
  ``access_log_tree_head``: how far the tree reaches. The leaves and nodes
  are append-only like the log (UPDATE, DELETE, TRUNCATE and SQLite's
  REPLACE refused, on PostgreSQL ``ENABLE ALWAYS``), and unlike the entries
  no archive cut makes them deletable: the tree outlives the entries.
* ``access_log_checkpoints`` gains ``tree_size``, ``root`` and ``note`` (the
  C2SP signed checkpoint).

The tree of an existing log is built by the application on its first
checkpoint after the upgrade (``intranet.audit.tree``), from entry 1.
"""
from alembic import op
import sqlalchemy as sa


revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

#: append-only table -> its key columns
KEYS = {
    "access_log_leaves": ("seq",),
    "access_log_tree_nodes": ("level", "idx"),
}


def upgrade():
    op.create_table(
        'access_log_leaves',
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('organisation', sa.String(length=40), nullable=True),
        sa.Column('org_prev', sa.String(length=64), nullable=False),
        sa.Column('leaf_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_access_log_leaves')))
    op.create_index('ix_access_log_leaves_organisation_seq', 'access_log_leaves',
                    ['organisation', 'seq'], unique=False)
    op.create_table(
        'access_log_tree_nodes',
        sa.Column('level', sa.SmallInteger(), nullable=False),
        sa.Column('idx', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_access_log_tree_nodes')))
    op.create_table(
        'access_log_tree_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('chain', sa.String(length=64), nullable=False),
        sa.Column('compact', sa.Text(), nullable=False),
        sa.Column('org_heads', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log_tree_head')))
    with op.batch_alter_table('access_log_checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tree_size', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('root', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
    _guards()


def _guards():
    if op.get_bind().dialect.name == "postgresql":
        # access_log_guard() without arguments refuses every UPDATE, DELETE and TRUNCATE
        for table in KEYS:
            for action, each in (("update", "ROW"), ("delete", "ROW"), ("truncate", "STATEMENT")):
                op.execute(f"CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table} "
                           f"FOR EACH {each} EXECUTE FUNCTION access_log_guard()")
                op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_{action}")
        return
    for table, columns in KEYS.items():
        for action in ("update", "delete"):
            op.execute(f"CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table} BEGIN "
                       f"SELECT RAISE(ABORT, 'access log table {table} is append-only: "
                       f"{action.upper()} rejected'); END")
        match = " AND ".join(f'"{c}" = NEW."{c}"' for c in columns)
        op.execute(f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                   f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {match}) BEGIN "
                   f"SELECT RAISE(ABORT, 'access log table {table} is append-only: "
                   f"INSERT over an existing row rejected'); END")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in KEYS:
        for action in ("update", "delete", "truncate" if postgresql else "replace"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}" + (f" ON {table}" if postgresql else ""))
    with op.batch_alter_table('access_log_checkpoints', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('root')
        batch_op.drop_column('tree_size')
    op.drop_table('access_log_tree_head')
    op.drop_table('access_log_tree_nodes')
    op.drop_index('ix_access_log_leaves_organisation_seq', table_name='access_log_leaves')
    op.drop_table('access_log_leaves')
