"""accounts: forced password change, the call center's team leader, and
training records for every outsourced person

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 06:40:00

Survey users' privacy training date (users.privacy_trained_on) becomes their
first training record, so nobody trained before this revision is locked out.
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('is_team_leader', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        'training_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('course', sa.String(length=100), nullable=False),
        sa.Column('trained_on', sa.Date(), nullable=False),
        sa.Column('trainer', sa.String(length=100), nullable=False),
        sa.Column('next_due', sa.Date(), nullable=True),
        sa.Column('recorded_by', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_training_records_user_id_users')),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id'],
                                name=op.f('fk_training_records_recorded_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_records')),
    )
    op.create_index(op.f('ix_training_records_user_id'), 'training_records', ['user_id'])
    op.execute(
        "INSERT INTO training_records (user_id, course, trained_on, trainer, next_due, recorded_by, recorded_at) "
        "SELECT id, '個人情報保護・情報セキュリティ（従事者教育）', privacy_trained_on, '（移行）', NULL, id, created_at "
        "FROM users WHERE privacy_trained_on IS NOT NULL")


def downgrade():
    op.drop_index(op.f('ix_training_records_user_id'), table_name='training_records')
    op.drop_table('training_records')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('is_team_leader')
