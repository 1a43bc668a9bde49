"""受け渡し票 and the media ledger: every hand-over of data between the ward
and the contractor is recorded by the sending side and confirmed in the
system by a user of the receiving side; until then it shows as unconfirmed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..models import HandoverSlip, Medium, MediumEvent, OrganisationKind

DIRECTIONS = ("to_contractor", "to_ward")
MEDIUM_EVENTS = ("lent", "returned", "wiped")


class SlipError(ValueError):
    """A message key explaining why the change was refused."""


def side_of(user, contract) -> str | None:
    """``ward`` or ``contractor`` (of this contract), or None for anyone else."""
    if user.organisation.kind == OrganisationKind.ward:
        return "ward"
    if user.contract_id == contract.id and user.organisation_id == contract.organisation_id:
        return "contractor"
    return None


def media_lent_to(dbsession, contract_id: int | None) -> list[Medium]:
    """The media whose latest ledger entry lends them to this contract: the
    ones its users hold now (returned or wiped media are back with the ward)."""
    if contract_id is None:
        return []
    latest = (select(MediumEvent.id).where(MediumEvent.medium_id == Medium.id)
              .order_by(MediumEvent.at.desc(), MediumEvent.id.desc()).limit(1)
              .correlate(Medium).scalar_subquery())
    return list(dbsession.scalars(
        select(Medium).join(MediumEvent, MediumEvent.id == latest)
        .where(MediumEvent.kind == "lent", MediumEvent.contract_id == contract_id)
        .order_by(Medium.label)))


def record(dbsession, contract, user, *, direction, handed_at, content, record_count,
           medium=None) -> HandoverSlip:
    sender = "ward" if direction == "to_contractor" else "contractor"
    if side_of(user, contract) != sender:
        raise SlipError("survey.error.slip_sender")
    slip = HandoverSlip(contract_id=contract.id, direction=direction, handed_at=handed_at,
                        content=content, record_count=record_count,
                        medium_id=medium.id if medium else None, handed_by=user.id)
    dbsession.add(slip)
    if medium is not None and direction == "to_contractor":
        dbsession.add(MediumEvent(medium_id=medium.id, kind="lent", at=handed_at,
                                  contract_id=contract.id, recorded_by=user.id, note=content[:200]))
    dbsession.flush()
    return slip


def confirm(slip, user, now: dt.datetime) -> None:
    """The receiving side confirms: a different user, of the other organisation."""
    receiver = "contractor" if slip.direction == "to_contractor" else "ward"
    if slip.confirmed_at is not None:
        raise SlipError("survey.error.slip_confirmed")
    if user.id == slip.handed_by or side_of(user, slip.contract) != receiver:
        raise SlipError("survey.error.slip_receiver")
    slip.confirmed_by, slip.confirmed_at = user.id, now
