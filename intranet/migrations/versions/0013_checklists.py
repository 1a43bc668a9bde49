"""inspection checklists (確認記録票): one per contractor inspection, one row per protection

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 13:34:33.735129
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('inspection_checklists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('inspectors', sa.String(length=400), nullable=False),
    sa.Column('contractor_attendees', sa.String(length=400), nullable=False),
    sa.Column('overall_note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('completed_by', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['completed_by'], ['users.id'], name=op.f('fk_inspection_checklists_completed_by_users')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_inspection_checklists_contract_id_contracts')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_inspection_checklists_created_by_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_inspection_checklists_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_checklists')),
    sa.UniqueConstraint('organisation_id', 'inspected_on', name=op.f('uq_inspection_checklists_organisation_id'))
    )
    with op.batch_alter_table('inspection_checklists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_checklists_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('inspection_checklist_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checklist_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('result', sa.Enum('met', 'not_met', 'not_applicable', name='check_result', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('note', sa.String(length=400), nullable=False),
    sa.ForeignKeyConstraint(['checklist_id'], ['inspection_checklists.id'], name='fk_inspection_checklist_items_checklist_id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_checklist_items')),
    sa.UniqueConstraint('checklist_id', 'code', name=op.f('uq_inspection_checklist_items_checklist_id'))
    )
    with op.batch_alter_table('inspection_checklist_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_checklist_items_checklist_id'), ['checklist_id'], unique=False)


def downgrade():
    with op.batch_alter_table('inspection_checklist_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_checklist_items_checklist_id'))

    op.drop_table('inspection_checklist_items')
    with op.batch_alter_table('inspection_checklists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_checklists_organisation_id'))

    op.drop_table('inspection_checklists')
