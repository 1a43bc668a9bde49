"""The media ledger as a state machine (USBメモリ管理台帳, seed 004 資料62
受託事業者 運用6・区の対策 運用4〜6): every medium is registered by the ward,
lent to a contract by a hand-over slip, returned when the ward confirms the
contractor's return slip, wiped in the presence of a witness, and may then
be lent again or disposed of. A loss is reported from lent or returned; a
medium found again is back with the ward and must be wiped before it is
lent again (what it held is unknown).

Each transition is allowed from some states only; anything else raises
:class:`LedgerError` and changes nothing. Every event carries the contract
of the lending it belongs to, so that an organisation's inspection package
holds the whole story of every medium it held.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ..models import HandoverSlip, Medium, MediumEvent, MediumEventKind, MediumState

K, S = MediumEventKind, MediumState

#: kind -> (the states it may follow, the state it leads to)
TRANSITIONS: dict[MediumEventKind, tuple[frozenset[MediumState], MediumState]] = {
    K.lent: (frozenset({S.registered, S.wiped}), S.lent),
    K.returned: (frozenset({S.lent}), S.returned),
    K.wiped: (frozenset({S.returned}), S.wiped),
    K.disposed: (frozenset({S.registered, S.wiped}), S.disposed),
    K.lost: (frozenset({S.lent, S.returned}), S.lost),
    K.found: (frozenset({S.lost}), S.returned),
}

#: Kinds ward staff record on the media page; lending and return go by slips.
MANUAL_KINDS = (K.wiped, K.disposed, K.lost, K.found)

#: States in which what the medium holds is not yet cleared (with the
#: contractor, or back but not wiped): they keep a contract's erasure open.
OUTSTANDING = frozenset({S.lent, S.returned})

WITNESS_MAX, NOTE_MAX, REPORT_MAX = 100, 200, 2000


class LedgerError(ValueError):
    """A refusal: a message key and its parameters (the view translates the
    state named in ``state``)."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key, self.params = key, params


def register(dbsession, label: str, description: str, *, user, now: dt.datetime) -> Medium:
    if dbsession.scalars(select(Medium).where(Medium.label == label)).first():
        raise LedgerError("survey.error.medium_exists")
    medium = Medium(label=label, description=description, state=S.registered)
    dbsession.add(medium)
    dbsession.flush()
    dbsession.add(MediumEvent(medium_id=medium.id, kind=K.registered, at=now, recorded_by=user.id))
    dbsession.flush()
    return medium


def check(dbsession, medium: Medium, kind: MediumEventKind, at: dt.datetime) -> None:
    """Raise unless ``kind`` may follow the medium's state now, at ``at``
    (not before its latest event: the history stays in order)."""
    allowed, _ = TRANSITIONS[kind]
    if medium.state not in allowed:
        raise LedgerError(f"survey.error.medium_refused.{kind.value}", label=medium.label,
                          state=medium.state.value)
    latest = dbsession.scalar(select(MediumEvent.at).where(MediumEvent.medium_id == medium.id)
                              .order_by(MediumEvent.at.desc()).limit(1))
    if latest is not None and at < latest:
        raise LedgerError("survey.error.medium_order", label=medium.label)


def apply(dbsession, medium: Medium, kind: MediumEventKind, *, user, at: dt.datetime,
          contract=None, slip: HandoverSlip | None = None, witness: str = "", note: str = "",
          report: str = "") -> MediumEvent:
    """Record one transition; the medium's state and contract follow."""
    kind = MediumEventKind(kind)
    check(dbsession, medium, kind, at)
    if kind == K.lent and contract is None:
        raise LedgerError("survey.error.contract")
    if kind == K.wiped and not witness.strip():
        raise LedgerError("survey.error.medium_witness")
    if kind in (K.lost, K.found) and not report.strip():
        raise LedgerError(f"survey.error.medium_report.{kind.value}")
    if kind == K.lent:
        medium.contract_id = contract.id
    _, medium.state = TRANSITIONS[kind]
    event = MediumEvent(medium_id=medium.id, kind=kind, at=at, contract_id=medium.contract_id,
                        slip_id=slip.id if slip is not None else None, recorded_by=user.id,
                        witness=witness.strip()[:WITNESS_MAX], note=note.strip()[:NOTE_MAX],
                        report=report.strip()[:REPORT_MAX])
    dbsession.add(event)
    dbsession.flush()
    return event


def pending_returns(dbsession) -> dict[int, HandoverSlip]:
    """Media named by a return slip (to_ward) the ward has not confirmed yet:
    shown as 返却確認待ち, still lent."""
    return {s.medium_id: s for s in dbsession.scalars(
        select(HandoverSlip).where(HandoverSlip.direction == "to_ward",
                                   HandoverSlip.medium_id.is_not(None),
                                   HandoverSlip.confirmed_at.is_(None))
        .order_by(HandoverSlip.id))}


@dataclass(frozen=True)
class Step:
    """An event with the state before and after it. ``regular`` is False for
    an event the state machine would refuse (kept from before revision 0030,
    e.g. a wipe recorded while the medium was lent): it changes nothing."""

    event: MediumEvent
    before: MediumState | None
    after: MediumState
    regular: bool


def replay(events) -> list[Step]:
    """One medium's events in order, through the state machine."""
    steps, state = [], None
    for event in events:
        kind = MediumEventKind(event.kind)
        if kind == K.registered:
            regular = state is None
            after = S.registered if regular else state
        else:
            current = state or S.registered   # recorded before registrations were events
            allowed, target = TRANSITIONS[kind]
            regular = current in allowed
            after = target if regular else current
        steps.append(Step(event, state, after, regular))
        state = after
    return steps


@dataclass(frozen=True)
class Position:
    """Where a medium stood at some moment, by replaying its events."""

    medium: Medium
    state: MediumState
    contract_id: int | None


def positions(dbsession, until: dt.datetime | None = None) -> list[Position]:
    """Every medium's state and lending contract as of ``until`` (all events
    if None), media without events by then left out."""
    query = select(MediumEvent).order_by(MediumEvent.medium_id, MediumEvent.at, MediumEvent.id)
    if until is not None:
        query = query.where(MediumEvent.at < until)
    by_medium: dict[int, list[MediumEvent]] = {}
    for event in dbsession.scalars(query):
        by_medium.setdefault(event.medium_id, []).append(event)
    media = {m.id: m for m in dbsession.scalars(select(Medium).where(Medium.id.in_(list(by_medium))))}
    result = []
    for medium_id, events in by_medium.items():
        steps = replay(events)
        contract_id = next((s.event.contract_id for s in reversed(steps)
                            if s.regular and s.event.kind == K.lent), None)
        result.append(Position(media[medium_id], steps[-1].after, contract_id))
    return sorted(result, key=lambda p: p.medium.label)
