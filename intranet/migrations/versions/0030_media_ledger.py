"""media ledger as a state machine (issue 23): each medium's state and the
contract of its latest lending; events get an enum kind, their slip, a
witness and a report; erasure records count the records erased and list
the devices used

Existing events keep their kinds. Each return or wipe recorded without a
contract gets the contract of the lending before it, and each medium's state
is its events replayed through the state machine: a wipe recorded while the
medium was still lent (no return in between) changes nothing, so such a
medium stays lent until its return is recorded. Earlier erasure records have
no records-erased count and no devices.

Revision ID: 0030
Revises: 0028
Create Date: 2026-11-30 10:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0028'
branch_labels = None
depends_on = None

STATES = ('registered', 'lent', 'returned', 'wiped', 'disposed', 'lost')
KINDS = ('registered', 'lent', 'returned', 'wiped', 'disposed', 'lost', 'found')
# kind -> (the states it may follow, the state it leads to): intranet.survey.media
TRANSITIONS = {
    'lent': ({'registered', 'wiped'}, 'lent'),
    'returned': ({'lent'}, 'returned'),
    'wiped': ({'returned'}, 'wiped'),
    'disposed': ({'registered', 'wiped'}, 'disposed'),
    'lost': ({'lent', 'returned'}, 'lost'),
    'found': ({'lost'}, 'returned'),
}


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    with op.batch_alter_table('media') as batch_op:
        batch_op.add_column(sa.Column('state', _enum(STATES, 'medium_state'), nullable=False,
                                      server_default='registered'))
        batch_op.add_column(sa.Column('contract_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_media_contract_id_contracts'),
                                    'contracts', ['contract_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_media_contract_id'), ['contract_id'])
    with op.batch_alter_table('medium_events') as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(10), type_=_enum(KINDS, 'medium_event_kind'),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('slip_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('witness', sa.String(100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('report', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_medium_events_slip_id_handover_slips'),
                                    'handover_slips', ['slip_id'], ['id'])
    with op.batch_alter_table('erasure_records') as batch_op:
        batch_op.add_column(sa.Column('records_erased', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('devices', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('media') as batch_op:
        batch_op.alter_column('state', server_default=None)
    with op.batch_alter_table('medium_events') as batch_op:
        batch_op.alter_column('witness', server_default=None)
        batch_op.alter_column('report', server_default=None)
    with op.batch_alter_table('erasure_records') as batch_op:
        batch_op.alter_column('devices', server_default=None)
    _backfill()


def _backfill():
    """Contracts of returns and wipes from the lending before them; each
    medium's state and latest lending by replaying its events."""
    bind = op.get_bind()
    events = sa.table('medium_events', sa.column('id'), sa.column('medium_id'), sa.column('kind'),
                      sa.column('at', sa.DateTime), sa.column('contract_id'))
    media = sa.table('media', sa.column('id'), sa.column('state'), sa.column('contract_id'))
    rows = bind.execute(sa.select(events.c.id, events.c.medium_id, events.c.kind,
                                  events.c.contract_id)
                        .order_by(events.c.medium_id, events.c.at, events.c.id)).all()
    by_medium = {}
    for row in rows:
        by_medium.setdefault(row.medium_id, []).append(row)
    for medium_id, history in by_medium.items():
        state, contract_id = None, None
        for event in history:
            if event.kind == 'lent' and event.contract_id is not None:
                contract_id = event.contract_id
            elif event.contract_id is None and contract_id is not None:
                bind.execute(events.update().where(events.c.id == event.id)
                             .values(contract_id=contract_id))
            if event.kind == 'registered':
                state = state or 'registered'
                continue
            allowed, target = TRANSITIONS[event.kind]
            if (state or 'registered') in allowed:
                state = target
            else:
                state = state or 'registered'
        bind.execute(media.update().where(media.c.id == medium_id)
                     .values(state=state or 'registered', contract_id=contract_id))


def downgrade():
    op.execute("DELETE FROM medium_events WHERE kind NOT IN ('lent', 'returned', 'wiped')")
    with op.batch_alter_table('erasure_records') as batch_op:
        batch_op.drop_column('devices')
        batch_op.drop_column('records_erased')
    with op.batch_alter_table('medium_events') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_medium_events_slip_id_handover_slips'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_medium_events_medium_event_kind'), type_='check')
        batch_op.drop_column('report')
        batch_op.drop_column('witness')
        batch_op.drop_column('slip_id')
        batch_op.alter_column('kind', existing_type=sa.String(20),
                              type_=sa.String(10), existing_nullable=False)
    with op.batch_alter_table('media') as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_contract_id'))
        batch_op.drop_constraint(batch_op.f('fk_media_contract_id_contracts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_media_medium_state'), type_='check')
        batch_op.drop_column('contract_id')
        batch_op.drop_column('state')
