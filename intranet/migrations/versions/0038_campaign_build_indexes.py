"""campaign build (issue 21): fewer index entries per call target

Revision ID: 0038
Revises: 0037
Create Date: 2026-11-30 16:00:00

``ix_call_targets_campaign_id`` goes: ``uq_call_targets_campaign_id``
(campaign_id, group_key) leads with the same column and serves the same
lookups. ``ix_call_targets_leased_by`` becomes partial (``leased_by IS NOT
NULL``): only targets leased right now are in it, none of those a build
inserts. See docs/performance.md, "Campaign build on PostgreSQL".
"""
from alembic import op
import sqlalchemy as sa


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

LEASED = sa.text('leased_by IS NOT NULL')


def upgrade():
    with op.batch_alter_table('call_targets', schema=None) as batch_op:
        batch_op.drop_index('ix_call_targets_campaign_id')
        batch_op.drop_index('ix_call_targets_leased_by')
        batch_op.create_index('ix_call_targets_leased_by', ['leased_by'], unique=False,
                              postgresql_where=LEASED, sqlite_where=LEASED)


def downgrade():
    with op.batch_alter_table('call_targets', schema=None) as batch_op:
        batch_op.drop_index('ix_call_targets_leased_by')
        batch_op.create_index('ix_call_targets_leased_by', ['leased_by'], unique=False)
        batch_op.create_index('ix_call_targets_campaign_id', ['campaign_id'], unique=False)
