"""checklist snapshots (確認記録票): the system's records shown next to each
item are kept with the checklist when it is completed

Adds ``inspection_checklists.evidence_taken_at`` and
``inspection_checklist_items.evidence_snapshot`` (JSON text). Checklists
completed before this revision keep NULL in both: what their evidence
column showed at completion cannot be known now, and recomputing it today
would pass today's records off as the inspector's. Pages and the
inspection package say 「完了時の記録なし（この機能の導入前に完了）」.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-30 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inspection_checklists') as batch_op:
        batch_op.add_column(sa.Column('evidence_taken_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('inspection_checklist_items') as batch_op:
        batch_op.add_column(sa.Column('evidence_snapshot', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('inspection_checklist_items') as batch_op:
        batch_op.drop_column('evidence_snapshot')
    with op.batch_alter_table('inspection_checklists') as batch_op:
        batch_op.drop_column('evidence_taken_at')
