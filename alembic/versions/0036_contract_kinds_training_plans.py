"""contracts of any contractor (issue 25)

The call center works under a contract like the survey servicer: a kind
on each contract (existing rows are the survey's).

Revision ID: 0036
Revises: 0033
Create Date: 2026-11-30 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0033'
branch_labels = None
depends_on = None

KINDS = ('call_center', 'field_survey')


def upgrade():
    with op.batch_alter_table('contracts') as batch:
        batch.add_column(sa.Column(
            'kind', sa.Enum(*KINDS, name='contract_kind', native_enum=False, create_constraint=True,
                            length=20), nullable=False, server_default='field_survey'))


def downgrade():
    with op.batch_alter_table('contracts') as batch:
        batch.drop_column('kind')

