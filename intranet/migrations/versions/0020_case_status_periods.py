"""collection statuses of a case (徴収猶予, 執行停止, 破産, ...) as dated periods

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 05:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

KINDS = ('deferral', 'realization_deferral', 'suspension', 'seizure', 'claim', 'bankruptcy',
         'deceased', 'write_off')


def upgrade():
    op.create_table('case_status_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum(*KINDS, name='status_kind', native_enum=False, create_constraint=True,
                              length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('legal_basis', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_status_periods_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_case_status_periods_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_status_periods'))
    )
    op.create_index('ix_case_status_periods_case_kind', 'case_status_periods', ['case_id', 'kind'])


def downgrade():
    op.drop_index('ix_case_status_periods_case_kind', table_name='case_status_periods')
    op.drop_table('case_status_periods')
