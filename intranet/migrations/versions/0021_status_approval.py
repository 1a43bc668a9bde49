"""collection statuses: who approved a period and when (supervisor approval
where the ward wants it, intranet.statuses.require_approval)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 05:35:00

A period counts (excludes the case) only once approved; periods recorded
before this revision count as approved when they were recorded.
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_status_periods') as batch_op:
        batch_op.add_column(sa.Column('approved_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_status_periods_approved_by_users'),
                                    'users', ['approved_by'], ['id'])
    op.execute("UPDATE case_status_periods SET approved_at = recorded_at WHERE approved_at IS NULL")


def downgrade():
    with op.batch_alter_table('case_status_periods') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_status_periods_approved_by_users'),
                                 type_='foreignkey')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by')
