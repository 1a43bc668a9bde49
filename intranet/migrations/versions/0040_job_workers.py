"""monitoring (issue 24): the worker processes that are alive

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-01 00:00:00

``job_workers``: one row per running ``intranet worker`` (host:pid), its
``seen_at`` written while it runs; ``/healthz`` reports jobs queued while no
worker is alive. The application role gets the ordinary grants on it
(``intranet db grant-app-role``).
"""
from alembic import op
import sqlalchemy as sa


revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_workers',
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_job_workers')),
    )


def downgrade():
    op.drop_table('job_workers')
