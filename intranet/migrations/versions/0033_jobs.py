"""background jobs (issue 21): the job table the worker polls

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-30 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

STATES = ('queued', 'running', 'done', 'failed')


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(40), nullable=False),
        sa.Column('subject', sa.String(60), nullable=True),
        sa.Column('params', sa.Text(), nullable=False),
        sa.Column('state', sa.Enum(*STATES, name='job_state', native_enum=False,
                                   create_constraint=True, length=20), nullable=False),
        sa.Column('progress_done', sa.Integer(), nullable=False),
        sa.Column('progress_total', sa.Integer(), nullable=True),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('error', sa.String(80), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('worker', sa.String(80), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_jobs_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')))
    op.create_index('ix_jobs_state_id', 'jobs', ['state', 'id'])
    op.create_index(op.f('ix_jobs_subject'), 'jobs', ['subject'])


def downgrade():
    op.drop_index(op.f('ix_jobs_subject'), table_name='jobs')
    op.drop_index('ix_jobs_state_id', table_name='jobs')
    op.drop_table('jobs')
