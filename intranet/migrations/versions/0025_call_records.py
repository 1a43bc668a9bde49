"""call_attempts: one contact result plus any number of actions per call
(call_actions); incoming calls (受電) with or without a case

Every old record keeps its disposition (now the call's one-word summary) and
gains the contact result and the action it stood for: promise -> reached +
promise (amount, date); paid_claimed -> reached + paid_claimed; refused ->
reached + refusal; consultation -> reached + handover; slip_reissue,
direct_debit -> reached + the same action; callback -> reached + callback
(time); no_answer, answering_machine, busy, wrong_number, other_person -> the
same result, no action. Old incoming calls stay on their target and name its
first case.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 07:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

DISPOSITIONS = ('no_answer', 'answering_machine', 'busy', 'wrong_number', 'other_person', 'promise',
                'paid_claimed', 'refused', 'consultation', 'slip_reissue', 'direct_debit', 'callback')
RESULTS = ('reached', 'no_answer', 'answering_machine', 'busy', 'wrong_number', 'other_person')
ACTIONS = ('promise', 'paid_claimed', 'plan_request', 'direct_debit', 'slip_reissue', 'handover',
           'refusal', 'callback')
REASONS = ('unknown_caller', 'wrong_number', 'enquiry_only')
NOT_REACHED = ('no_answer', 'answering_machine', 'busy', 'wrong_number', 'other_person')
ACTION_OF = {'promise': 'promise', 'paid_claimed': 'paid_claimed', 'refused': 'refusal',
             'consultation': 'handover', 'slip_reissue': 'slip_reissue',
             'direct_debit': 'direct_debit', 'callback': 'callback'}


def upgrade():
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('result', sa.Enum(*RESULTS, name='contact_result', native_enum=False, create_constraint=True, length=20), nullable=True))
        batch_op.add_column(sa.Column('incoming_reason', sa.Enum(*REASONS, name='incoming_reason', native_enum=False, create_constraint=True, length=20), nullable=True))
        batch_op.alter_column('target_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('disposition', existing_type=sa.Enum(*DISPOSITIONS, name='disposition', native_enum=False, create_constraint=True, length=20), nullable=True)
        batch_op.create_index(batch_op.f('ix_call_attempts_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_call_attempts_case_id_cases'), 'cases', ['case_id'], ['id'], ondelete='SET NULL')

    attempts = sa.table('call_attempts', sa.column('id', sa.Integer), sa.column('result', sa.String),
                        sa.column('disposition', sa.String), sa.column('incoming', sa.Boolean),
                        sa.column('case_id', sa.Integer), sa.column('target_id', sa.Integer),
                        sa.column('promise_amount', sa.Integer), sa.column('promise_on', sa.Date),
                        sa.column('callback_at', sa.DateTime))
    actions = sa.table('call_actions', sa.column('attempt_id', sa.Integer), sa.column('kind', sa.String),
                       sa.column('amount', sa.Integer), sa.column('on', sa.Date),
                       sa.column('at', sa.DateTime), sa.column('note', sa.String))
    members = sa.table('campaign_cases', sa.column('case_id', sa.Integer), sa.column('target_id', sa.Integer))
    op.execute(attempts.update().where(attempts.c.disposition.in_(NOT_REACHED))
               .values(result=attempts.c.disposition))
    op.execute(attempts.update().where(attempts.c.disposition.not_in(NOT_REACHED))
               .values(result='reached'))
    first_case = (sa.select(sa.func.min(members.c.case_id))
                  .where(members.c.target_id == attempts.c.target_id).scalar_subquery())
    op.execute(attempts.update().where(attempts.c.incoming.is_(True)).values(case_id=first_case))
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.alter_column('result', existing_type=sa.Enum(*RESULTS, name='contact_result', native_enum=False, create_constraint=True, length=20), nullable=False)

    op.create_table('call_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum(*ACTIONS, name='action_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=True),
    sa.Column('on', sa.Date(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['call_attempts.id'], name=op.f('fk_call_actions_attempt_id_call_attempts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_actions'))
    )
    with op.batch_alter_table('call_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_actions_attempt_id'), ['attempt_id'], unique=False)

    for old, kind in ACTION_OF.items():
        amount = attempts.c.promise_amount if old == 'promise' else sa.null()
        on = attempts.c.promise_on if old == 'promise' else sa.null()
        at = attempts.c.callback_at if old == 'callback' else sa.null()
        op.execute(actions.insert().from_select(
            ['attempt_id', 'kind', 'amount', 'on', 'at', 'note'],
            sa.select(attempts.c.id, sa.literal(kind), amount, on, at, sa.literal(''))
            .where(attempts.c.disposition == old).order_by(attempts.c.id)))


def downgrade():
    attempts = sa.table('call_attempts', sa.column('target_id', sa.Integer), sa.column('disposition', sa.String))
    # The old table cannot hold a call without a target or a summary: refuse
    # rather than lose records.
    bind = op.get_bind()
    if bind.execute(sa.select(sa.func.count()).select_from(attempts).where(sa.or_(
            attempts.c.target_id.is_(None), attempts.c.disposition.is_(None)))).scalar():
        raise RuntimeError("0025 downgrade: calls without a target or summary exist")
    op.drop_table('call_actions')
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_call_attempts_case_id_cases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_call_attempts_case_id'))
        batch_op.alter_column('disposition', existing_type=sa.Enum(*DISPOSITIONS, name='disposition', native_enum=False, create_constraint=True, length=20), nullable=False)
        batch_op.alter_column('target_id', existing_type=sa.Integer(), nullable=False)
        # The enums' CHECK constraints go first, or SQLite's table copy keeps
        # a check on a column that no longer exists.
        batch_op.drop_constraint('incoming_reason', type_='check')
        batch_op.drop_constraint('contact_result', type_='check')
        batch_op.drop_column('incoming_reason')
        batch_op.drop_column('result')
        batch_op.drop_column('case_id')
