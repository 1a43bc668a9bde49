"""access log: a MAC under the log key on every checkpoint and archive cut

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 04:20:00

Rows written before this revision have no MAC: verification reports them as
unauthenticated and trusts nothing they say (write a new checkpoint with
``intranet audit checkpoint``).
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table rebuild): the append-only triggers stay.
    op.add_column('access_log_checkpoints', sa.Column('mac', sa.String(length=64), nullable=True))
    op.add_column('access_log_archives', sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('access_log_archives') as batch_op:
        batch_op.drop_column('mac')
    with op.batch_alter_table('access_log_checkpoints') as batch_op:
        batch_op.drop_column('mac')
