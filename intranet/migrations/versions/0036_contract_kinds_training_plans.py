"""contracts of any contractor, training plans (issue 25)

The call center works under a contract like the survey servicer: a kind
on each contract (existing rows are the survey's), and the contractor's
training plans (研修計画) whose courses the training records complete.

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-30 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

KINDS = ('call_center', 'field_survey')


def upgrade():
    with op.batch_alter_table('contracts') as batch:
        batch.add_column(sa.Column(
            'kind', sa.Enum(*KINDS, name='contract_kind', native_enum=False, create_constraint=True,
                            length=20), nullable=False, server_default='field_survey'))
    op.create_table(
        'training_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_training_plans_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                                name=op.f('fk_training_plans_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_plans')),
        sa.UniqueConstraint('organisation_id', 'fiscal_year',
                            name=op.f('uq_training_plans_organisation_id')))
    op.create_index(op.f('ix_training_plans_organisation_id'), 'training_plans', ['organisation_id'])
    op.create_table(
        'training_courses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(100), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('trainer', sa.String(100), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['training_plans.id'],
                                name=op.f('fk_training_courses_plan_id_training_plans')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                                name=op.f('fk_training_courses_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_courses')))
    op.create_index(op.f('ix_training_courses_plan_id'), 'training_courses', ['plan_id'])
    with op.batch_alter_table('training_records') as batch:
        batch.add_column(sa.Column('course_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_training_records_course_id_training_courses'),
                                 'training_courses', ['course_id'], ['id'])
        batch.create_index(op.f('ix_training_records_course_id'), ['course_id'])


def downgrade():
    with op.batch_alter_table('training_records') as batch:
        batch.drop_index(op.f('ix_training_records_course_id'))
        batch.drop_constraint(op.f('fk_training_records_course_id_training_courses'), type_='foreignkey')
        batch.drop_column('course_id')
    op.drop_index(op.f('ix_training_courses_plan_id'), table_name='training_courses')
    op.drop_table('training_courses')
    op.drop_index(op.f('ix_training_plans_organisation_id'), table_name='training_plans')
    op.drop_table('training_plans')
    with op.batch_alter_table('contracts') as batch:
        batch.drop_constraint(batch.f('ck_contracts_contract_kind'), type_='check')
        batch.drop_column('kind')

