"""incident reports (issue 25): 事故報告, their cases and media

Revision ID: 0035
Revises: 0033
Create Date: 2026-11-30 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0033'
branch_labels = None
depends_on = None

KINDS = ('wrong_person', 'missent_letter', 'medium', 'unauthorised', 'other')
STATES = ('filed', 'acknowledged', 'closed')


def upgrade():
    op.create_table(
        'incidents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('contract_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.Enum(*KINDS, name='incident_kind', native_enum=False,
                                  create_constraint=True, length=20), nullable=False),
        sa.Column('state', sa.Enum(*STATES, name='incident_state', native_enum=False,
                                   create_constraint=True, length=20), nullable=False),
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.Column('discovered_at', sa.DateTime(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('first_actions', sa.Text(), nullable=False),
        sa.Column('filed_by', sa.Integer(), nullable=False),
        sa.Column('filed_at', sa.DateTime(), nullable=False),
        sa.Column('acknowledged_by', sa.Integer(), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
        sa.Column('instructions', sa.Text(), nullable=False),
        sa.Column('closed_by', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('closing_note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_incidents_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'],
                                name=op.f('fk_incidents_contract_id_contracts')),
        sa.ForeignKeyConstraint(['filed_by'], ['users.id'], name=op.f('fk_incidents_filed_by_users')),
        sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id'],
                                name=op.f('fk_incidents_acknowledged_by_users')),
        sa.ForeignKeyConstraint(['closed_by'], ['users.id'], name=op.f('fk_incidents_closed_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')))
    op.create_index(op.f('ix_incidents_organisation_id'), 'incidents', ['organisation_id'])
    op.create_index(op.f('ix_incidents_contract_id'), 'incidents', ['contract_id'])
    op.create_index(op.f('ix_incidents_state'), 'incidents', ['state'])
    op.create_index(op.f('ix_incidents_filed_at'), 'incidents', ['filed_at'])
    op.create_table(
        'incident_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'],
                                name=op.f('fk_incident_cases_incident_id_incidents')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE',
                                name=op.f('fk_incident_cases_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_cases')),
        sa.UniqueConstraint('incident_id', 'case_id', name=op.f('uq_incident_cases_incident_id')))
    op.create_index(op.f('ix_incident_cases_incident_id'), 'incident_cases', ['incident_id'])
    op.create_index(op.f('ix_incident_cases_case_id'), 'incident_cases', ['case_id'])
    op.create_table(
        'incident_media',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('medium_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'],
                                name=op.f('fk_incident_media_incident_id_incidents')),
        sa.ForeignKeyConstraint(['medium_id'], ['media.id'],
                                name=op.f('fk_incident_media_medium_id_media')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_media')),
        sa.UniqueConstraint('incident_id', 'medium_id', name=op.f('uq_incident_media_incident_id')))
    op.create_index(op.f('ix_incident_media_incident_id'), 'incident_media', ['incident_id'])
    op.create_index(op.f('ix_incident_media_medium_id'), 'incident_media', ['medium_id'])


def downgrade():
    op.drop_table('incident_media')
    op.drop_table('incident_cases')
    op.drop_table('incidents')
