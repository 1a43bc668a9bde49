"""installment plans (分納・納付誓約): a schedule per payment agreement, the
plan's state (履行中・不履行・完了) and who created it

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 07:20:00

Every existing agreement keeps its row and gets its schedule generated from
its summary (``instalment_count`` monthly payments of ``instalment_amount``
from ``first_due_on``, the day of month kept or cut to the month's end), so
nothing is lost. Existing plans start 履行中; ``intranet plans refresh``
(daily, and after every data-link import) sets their state from the receipts.
"""
import calendar
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

STATES = ('current', 'defaulted', 'completed')


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def upgrade():
    with op.batch_alter_table('payment_agreements') as batch_op:
        batch_op.add_column(sa.Column(
            'state', sa.Enum(*STATES, name='plan_state', native_enum=False, create_constraint=True,
                             length=20), nullable=False, server_default='current'))
        batch_op.add_column(sa.Column('state_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('missed_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('shortfall_reason', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('created_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ended_on', sa.Date(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payment_agreements_created_by_users'),
                                    'users', ['created_by'], ['id'])
        batch_op.create_index(batch_op.f('ix_payment_agreements_state'), ['state'])
    with op.batch_alter_table('payment_agreements') as batch_op:
        batch_op.alter_column('state', server_default=None)
        batch_op.alter_column('shortfall_reason', server_default=None)
    plan_payments = op.create_table(
        'plan_payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['payment_agreements.id'],
                                name=op.f('fk_plan_payments_plan_id_payment_agreements'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_payments')))
    op.create_index(op.f('ix_plan_payments_plan_id'), 'plan_payments', ['plan_id'])
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, first_due_on, instalment_amount, instalment_count FROM payment_agreements"))
    schedule = []
    for plan_id, first, amount, count in rows:
        if isinstance(first, str):
            first = dt.date.fromisoformat(first)
        for n in range(max(0, count or 0)):
            schedule.append({'plan_id': plan_id, 'due_on': add_months(first, n), 'amount': amount})
    if schedule:
        op.bulk_insert(plan_payments, schedule)


def downgrade():
    op.drop_index(op.f('ix_plan_payments_plan_id'), table_name='plan_payments')
    op.drop_table('plan_payments')
    with op.batch_alter_table('payment_agreements') as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_agreements_state'))
        batch_op.drop_constraint('plan_state', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_payment_agreements_created_by_users'),
                                 type_='foreignkey')
        for column in ('ended_on', 'created_at', 'created_by', 'shortfall_reason',
                       'missed_due_on', 'state_since', 'state'):
            batch_op.drop_column(column)
