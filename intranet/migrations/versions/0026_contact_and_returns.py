"""contact history recorded by staff (経過記録: counterpart, conversation,
recorder; new kinds 来庁・電話・文書受理) and 郵便返戻 on issued documents

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 07:30:00

Existing records keep their kinds (visit, negotiation, document, other) and
have no counterpart kind: imported 交渉 records count as contacts (最終接触日).
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

OLD_KINDS = ('visit', 'negotiation', 'document', 'other')
NEW_KINDS = OLD_KINDS + ('counter', 'phone', 'letter_received')
COUNTERPARTS = ('taxpayer', 'family', 'agent', 'tax_manager', 'heir', 'other')
REASONS = ('no_address', 'moved', 'refused', 'other')


def _kind(kinds):
    return sa.Enum(*kinds, name='contact_kind', native_enum=False, create_constraint=True,
                   length=20)


def upgrade():
    with op.batch_alter_table('contact_records') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_contact_records_contact_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(20), type_=_kind(NEW_KINDS),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('counterpart_kind', sa.Enum(
            *COUNTERPARTS, name='contact_counterpart', native_enum=False, create_constraint=True,
            length=20), nullable=True))
        batch_op.add_column(sa.Column('conversation', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('recorded_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recorded_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_contact_records_recorded_by_users'),
                                    'users', ['recorded_by'], ['id'])
    with op.batch_alter_table('issued_documents') as batch_op:
        batch_op.add_column(sa.Column('returned_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('return_reason', sa.Enum(
            *REASONS, name='return_reason', native_enum=False, create_constraint=True,
            length=20), nullable=True))
        batch_op.add_column(sa.Column('returned_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_issued_documents_returned_by_users'),
                                    'users', ['returned_by'], ['id'])


def downgrade():
    with op.batch_alter_table('issued_documents') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_issued_documents_returned_by_users'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_issued_documents_return_reason'), type_='check')
        batch_op.drop_column('returned_by')
        batch_op.drop_column('return_reason')
        batch_op.drop_column('returned_on')
    op.execute("DELETE FROM contact_records WHERE kind IN ('counter', 'phone', 'letter_received')")
    with op.batch_alter_table('contact_records') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contact_records_recorded_by_users'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_contact_records_contact_counterpart'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_contact_records_contact_kind'), type_='check')
        batch_op.drop_column('recorded_at')
        batch_op.drop_column('recorded_by')
        batch_op.drop_column('conversation')
        batch_op.drop_column('counterpart_kind')
        batch_op.alter_column('kind', existing_type=sa.String(20), type_=_kind(OLD_KINDS),
                              existing_nullable=False)
