"""amounts owed and call grouping: the 督促状 date per installment, and the
record a duplicated taxpayer record stands for

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    # 督促状発付日 (地方税法329条・463条の25): from the data link; None = not known.
    op.add_column('installments', sa.Column('dunning_sent_on', sa.Date(), nullable=True))
    # The same person recorded twice in the delinquency system: the taxpayer_no
    # of the record this one duplicates (call targets group one person's cases).
    op.add_column('taxpayers', sa.Column('same_person_as', sa.String(length=20), nullable=True))
    op.create_index('ix_taxpayers_same_person_as', 'taxpayers', ['same_person_as'])


def downgrade():
    op.drop_index('ix_taxpayers_same_person_as', table_name='taxpayers')
    with op.batch_alter_table('taxpayers') as batch_op:
        batch_op.drop_column('same_person_as')
    with op.batch_alter_table('installments') as batch_op:
        batch_op.drop_column('dunning_sent_on')
