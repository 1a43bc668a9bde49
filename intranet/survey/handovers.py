"""受け渡し票 and the media ledger: every hand-over of data between the ward
and the contractor is recorded by the sending side and confirmed in the
system by a user of the receiving side; until then it shows as unconfirmed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..models import HandoverSlip, Medium, MediumEventKind, MediumState, OrganisationKind
from . import media

DIRECTIONS = ("to_contractor", "to_ward")


class SlipError(ValueError):
    """A message key explaining why the change was refused (and, for ledger
    refusals, the :class:`~intranet.survey.media.LedgerError` behind it)."""

    def __init__(self, key: str, ledger: media.LedgerError | None = None):
        super().__init__(key)
        self.ledger = ledger


def side_of(user, contract) -> str | None:
    """``ward`` or ``contractor`` (of this contract), or None for anyone else."""
    if user.organisation.kind == OrganisationKind.ward:
        return "ward"
    if user.contract_id == contract.id and user.organisation_id == contract.organisation_id:
        return "contractor"
    return None


def media_lent_to(dbsession, contract_id: int | None) -> list[Medium]:
    """The media lent to this contract now (state lent): the ones its users
    hold and may name on a return slip."""
    if contract_id is None:
        return []
    return list(dbsession.scalars(
        select(Medium).where(Medium.state == MediumState.lent, Medium.contract_id == contract_id)
        .order_by(Medium.label)))


def _ledger(exc: media.LedgerError) -> SlipError:
    return SlipError(exc.key, exc)


def record(dbsession, contract, user, *, direction, handed_at, content, record_count,
           medium=None) -> HandoverSlip:
    """A slip recorded by the sending side. Naming a medium on a slip to the
    contractor lends it (from registered or wiped only); naming it on a
    return slip requires it to be lent to this contract, with no other
    return slip awaiting the ward's confirmation."""
    sender = "ward" if direction == "to_contractor" else "contractor"
    if side_of(user, contract) != sender:
        raise SlipError("survey.error.slip_sender")
    if medium is not None and direction == "to_ward":
        if medium.state != MediumState.lent or medium.contract_id != contract.id:
            raise _ledger(media.LedgerError("survey.error.medium_refused.returned",
                                            label=medium.label, state=medium.state.value))
        if medium.id in media.pending_returns(dbsession):
            raise _ledger(media.LedgerError("survey.error.medium_return_pending", label=medium.label))
    if medium is not None and direction == "to_contractor":
        try:
            media.check(dbsession, medium, MediumEventKind.lent, handed_at)
        except media.LedgerError as exc:
            raise _ledger(exc) from None
    slip = HandoverSlip(contract_id=contract.id, direction=direction, handed_at=handed_at,
                        content=content, record_count=record_count,
                        medium_id=medium.id if medium else None, handed_by=user.id)
    dbsession.add(slip)
    dbsession.flush()
    if medium is not None and direction == "to_contractor":
        try:
            media.apply(dbsession, medium, MediumEventKind.lent, user=user, at=handed_at,
                        contract=contract, slip=slip, note=content)
        except media.LedgerError as exc:
            raise _ledger(exc) from None
    return slip


def confirm(dbsession, slip, user, now: dt.datetime) -> None:
    """The receiving side confirms: a different user, of the other organisation.
    The ward's confirmation of a return slip naming a medium records its
    return (until then it is still lent: 返却確認待ち)."""
    receiver = "contractor" if slip.direction == "to_contractor" else "ward"
    if slip.confirmed_at is not None:
        raise SlipError("survey.error.slip_confirmed")
    if user.id == slip.handed_by or side_of(user, slip.contract) != receiver:
        raise SlipError("survey.error.slip_receiver")
    if slip.direction == "to_ward" and slip.medium is not None:
        try:
            media.apply(dbsession, slip.medium, MediumEventKind.returned, user=user, at=now,
                        slip=slip, note=slip.content)
        except media.LedgerError as exc:
            raise _ledger(exc) from None
    slip.confirmed_by, slip.confirmed_at = user.id, now
