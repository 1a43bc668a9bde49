"""direct-debit applications (口座振替の申込追跡): applications and their
steps; 口座登録日 and the day the data link first delivered each account

Every direct-debit encouragement already recorded on a call (the latest
correction of the call counts) opens an application in state 勧奨済 for the
cases of that call, dated the day of the call (JST), so that the monthly
report counts earlier months too. Accounts stored before this revision have
no first-seen date: they never count as a registration that followed an
encouragement.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30 10:00:00
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

STATES = ('encouraged', 'form_sent', 'returned', 'deficient', 'registered', 'withdrawn')
VIAS = ('hand', 'mail', 'letter_batch')


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    with op.batch_alter_table('direct_debit_accounts') as batch_op:
        batch_op.add_column(sa.Column('registered_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('first_seen_on', sa.Date(), nullable=True))
    applications = op.create_table(
        'direct_debit_applications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('state', _enum(STATES, 'debit_application_state'), nullable=False),
        sa.Column('state_since', sa.Date(), nullable=False),
        sa.Column('encouraged_on', sa.Date(), nullable=False),
        sa.Column('encouraged_by', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=True),
        sa.Column('registered_on', sa.Date(), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_direct_debit_applications_case_id_cases'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['encouraged_by'], ['users.id'],
                                name=op.f('fk_direct_debit_applications_encouraged_by_users')),
        sa.ForeignKeyConstraint(['attempt_id'], ['call_attempts.id'],
                                name=op.f('fk_direct_debit_applications_attempt_id_call_attempts')),
        sa.ForeignKeyConstraint(['account_id'], ['direct_debit_accounts.id'],
                                name=op.f('fk_direct_debit_applications_account_id_direct_debit_accounts'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_direct_debit_applications')))
    for column in ('case_id', 'state', 'encouraged_on'):
        op.create_index(op.f(f'ix_direct_debit_applications_{column}'),
                        'direct_debit_applications', [column])
    steps = op.create_table(
        'direct_debit_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('state', _enum(STATES, 'debit_step_state'), nullable=False),
        sa.Column('happened_on', sa.Date(), nullable=False),
        sa.Column('via', _enum(VIAS, 'debit_form_via'), nullable=True),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(200), nullable=False),
        sa.Column('recorded_by', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['direct_debit_applications.id'],
                                name=op.f('fk_direct_debit_steps_application_id_direct_debit_applications'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['batch_id'], ['letter_batches.id'],
                                name=op.f('fk_direct_debit_steps_batch_id_letter_batches')),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id'],
                                name=op.f('fk_direct_debit_steps_recorded_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_direct_debit_steps')))
    op.create_index(op.f('ix_direct_debit_steps_application_id'), 'direct_debit_steps',
                    ['application_id'])
    _backfill(applications, steps)


def _backfill(applications, steps):
    """An application per case for the encouragements already recorded (the
    first call that encouraged it; corrected calls count by their latest
    correction)."""
    bind = op.get_bind()
    attempts = sa.table('call_attempts', sa.column('id'), sa.column('corrects_id'),
                        sa.column('operator_id'), sa.column('called_at', sa.DateTime))
    actions = sa.table('call_actions', sa.column('attempt_id'), sa.column('kind'))
    records = sa.table('call_records', sa.column('attempt_id'), sa.column('case_id'))
    corrected = sa.select(attempts.c.corrects_id).where(attempts.c.corrects_id.is_not(None))
    rows = bind.execute(
        sa.select(records.c.case_id, attempts.c.id, attempts.c.operator_id, attempts.c.called_at)
        .join(attempts, attempts.c.id == records.c.attempt_id)
        .join(actions, actions.c.attempt_id == attempts.c.id)
        .where(actions.c.kind == 'direct_debit', attempts.c.id.not_in(corrected))
        .order_by(attempts.c.called_at, attempts.c.id)).all()
    first = {}
    for case_id, attempt_id, operator_id, called_at in rows:
        first.setdefault(case_id, (attempt_id, operator_id, called_at))
    for case_id, (attempt_id, operator_id, called_at) in sorted(first.items()):
        day = (called_at + dt.timedelta(hours=9)).date()
        application_id = bind.execute(applications.insert().values(
            case_id=case_id, state='encouraged', state_since=day, encouraged_on=day,
            encouraged_by=operator_id, attempt_id=attempt_id)
            .returning(applications.c.id)).scalar_one()
        bind.execute(steps.insert().values(
            application_id=application_id, state='encouraged', happened_on=day, via=None,
            batch_id=None, note='', recorded_by=operator_id, recorded_at=called_at))


def downgrade():
    op.drop_index(op.f('ix_direct_debit_steps_application_id'), table_name='direct_debit_steps')
    op.drop_table('direct_debit_steps')
    for column in ('case_id', 'state', 'encouraged_on'):
        op.drop_index(op.f(f'ix_direct_debit_applications_{column}'),
                      table_name='direct_debit_applications')
    op.drop_table('direct_debit_applications')
    with op.batch_alter_table('direct_debit_accounts') as batch_op:
        batch_op.drop_column('first_seen_on')
        batch_op.drop_column('registered_on')
