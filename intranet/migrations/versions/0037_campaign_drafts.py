"""campaign drafts by the call center (issue 25): the contractor plans, a ward supervisor approves

Revision ID: 0037
Revises: 0036
Create Date: 2026-11-30 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

STATES = ('draft', 'submitted', 'returned', 'approved', 'rejected')


def upgrade():
    op.create_table(
        'campaign_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('criteria', sa.Text(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('weekday_start', sa.Time(), nullable=False),
        sa.Column('weekday_end', sa.Time(), nullable=False),
        sa.Column('saturday_start', sa.Time(), nullable=True),
        sa.Column('saturday_end', sa.Time(), nullable=True),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('min_interval_minutes', sa.Integer(), nullable=False),
        sa.Column('daily_limit', sa.Integer(), nullable=False),
        sa.Column('weekly_limit', sa.Integer(), nullable=False),
        sa.Column('state', sa.Enum(*STATES, name='campaign_draft_state', native_enum=False,
                                   create_constraint=True, length=20), nullable=False),
        sa.Column('counts', sa.Text(), nullable=True),
        sa.Column('counted_at', sa.DateTime(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(), nullable=True),
        sa.Column('reviewed_by', sa.Integer(), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(), nullable=True),
        sa.Column('review_comment', sa.Text(), nullable=True),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_campaign_drafts_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                                name=op.f('fk_campaign_drafts_created_by_users')),
        sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'],
                                name=op.f('fk_campaign_drafts_reviewed_by_users')),
        sa.ForeignKeyConstraint(['campaign_id'], ['call_campaigns.id'],
                                name=op.f('fk_campaign_drafts_campaign_id_call_campaigns')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_drafts')))
    op.create_index('ix_campaign_drafts_org_state', 'campaign_drafts', ['organisation_id', 'state'])
    op.create_index(op.f('ix_campaign_drafts_campaign_id'), 'campaign_drafts', ['campaign_id'])


def downgrade():
    op.drop_index(op.f('ix_campaign_drafts_campaign_id'), table_name='campaign_drafts')
    op.drop_index('ix_campaign_drafts_org_state', table_name='campaign_drafts')
    op.drop_table('campaign_drafts')
