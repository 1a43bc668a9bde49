"""log reviews: the monthly sign-off of the access-log analysis (ログの定期分析)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 13:35:04.118180
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('log_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('reviewed_by', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=False),
    sa.Column('finding', sa.String(length=2000), nullable=False),
    sa.Column('counts', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], name=op.f('fk_log_reviews_reviewed_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_reviews')),
    sa.UniqueConstraint('month', name=op.f('uq_log_reviews_month'))
    )


def downgrade():
    op.drop_table('log_reviews')
