"""users: login ids unique regardless of case (logins are compared
case-insensitively; the admin pages' check alone could race)

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 07:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('uq_users_login_lower', 'users', [sa.text('lower(login)')], unique=True)


def downgrade():
    op.drop_index('uq_users_login_lower', table_name='users')
