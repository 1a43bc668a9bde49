"""screening flags: free text kept although it names a forbidden category
(seed 004 収集禁止事項; 要配慮個人情報), one row per record and field, for a
collector's review (issue 23)

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-30 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

RECORDS = ('survey_report', 'call_attempt', 'contact_record')
STATES = ('pending', 'kept', 'redacted')


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    op.create_table(
        'screening_flags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('record_type', _enum(RECORDS, 'screened_record'), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(40), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('categories', sa.String(200), nullable=False),
        sa.Column('terms', sa.String(1000), nullable=False),
        sa.Column('reason', sa.String(200), nullable=False),
        sa.Column('flagged_by', sa.Integer(), nullable=False),
        sa.Column('flagged_at', sa.DateTime(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('state', _enum(STATES, 'screening_state'), nullable=False),
        sa.Column('reviewed_by', sa.Integer(), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_screening_flags_case_id_cases'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['flagged_by'], ['users.id'],
                                name=op.f('fk_screening_flags_flagged_by_users')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_screening_flags_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'],
                                name=op.f('fk_screening_flags_reviewed_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_flags')))
    op.create_index('ix_screening_flags_record', 'screening_flags', ['record_type', 'record_id'])
    for column in ('case_id', 'flagged_at', 'organisation_id', 'state'):
        op.create_index(op.f(f'ix_screening_flags_{column}'), 'screening_flags', [column])


def downgrade():
    for column in ('case_id', 'flagged_at', 'organisation_id', 'state'):
        op.drop_index(op.f(f'ix_screening_flags_{column}'), table_name='screening_flags')
    op.drop_index('ix_screening_flags_record', table_name='screening_flags')
    op.drop_table('screening_flags')
