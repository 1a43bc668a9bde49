"""The field survey's side of a contract: the erasure at its end checked
against the hand-over slips and the media ledger (seed 004, 資料62), and its
survey batches closed. The rules of any contract (named handlers, period,
login gate, disabling the accounts) are :mod:`intranet.contracts.rules`,
re-exported here for older imports."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..contracts.rules import (  # noqa: F401  (moved, issue 25)
    CONTRACT_COURSE, ContractError, end_users, link_user, sync_users,
)


CERTIFICATE_MAX = 10 * 1024 * 1024


def certificate(raw: bytes) -> tuple[bytes, str]:
    """A PDF as it is, or an image re-encoded without metadata."""
    from . import photos

    if len(raw) > CERTIFICATE_MAX:
        raise ContractError("survey.error.certificate_size")
    if raw.startswith(b"%PDF-"):
        return raw, "application/pdf"
    try:
        clean = photos.clean(raw)
    except photos.PhotoError:
        raise ContractError("survey.error.certificate_type") from None
    return clean.data, clean.content_type


def erase(dbsession, contract, *, erased_on, method, witness_name, items, certificate_bytes,
          certificate_type, user, now, records_erased: int, devices: str) -> None:
    """Record the end of the contract (erasure, materials returned); the
    contract's users are disabled at once (sessions ended) and its survey
    batches and targets close (a call-center contract has none). Refused
    (:class:`ErasureRefused`) unless everything handed out is back or erased:
    records handed out = returned (confirmed) + ``records_erased``, no return
    slip awaiting confirmation, no medium of the contract still lent or
    returned but not wiped."""
    from ..models import BatchState, ErasureRecord, SurveyBatch, SurveyTargetState

    if contract.erased_at is not None:
        raise ContractError("survey.error.erased")
    outstanding = outstanding_items(balance(dbsession, contract, records_erased))
    if outstanding:
        raise ErasureRefused(outstanding)
    dbsession.add(ErasureRecord(
        contract_id=contract.id, erased_on=erased_on, method=method, witness_name=witness_name,
        items=items, records_erased=records_erased, devices=devices,
        certificate=certificate_bytes, certificate_type=certificate_type,
        recorded_by=user.id, recorded_at=now))
    end_users(dbsession, contract, now)
    for batch in dbsession.query(SurveyBatch).filter(SurveyBatch.contract_id == contract.id):
        batch.state = BatchState.closed
        for target in batch.targets:
            target.state = SurveyTargetState.closed


# ---------------------------------------------------------------- balances (issue 23)

class ErasureRefused(ContractError):
    """The erasure cannot be certified yet: ``items`` lists what is still
    outstanding, each a message key and its parameters."""

    def __init__(self, items: list[tuple[str, dict]]):
        super().__init__(items[0][0])
        self.items = items


@dataclass
class Balance:
    """What a contract's slips and ledger say was handed out and came back
    (seed 004, 資料62 受託事業者 運用6・8: every record handed over is
    returned or erased; every medium lent is returned and wiped)."""

    handed_out: int = 0        # records on slips to the contractor
    returned: int = 0          # records on return slips the ward confirmed
    awaiting: int = 0          # records on return slips not confirmed yet
    erased: int | None = None  # the erasure record's count (None: none yet, or not recorded)
    slips: list = field(default_factory=list)
    lent: int = 0              # lendings of media under this contract
    media_returned: int = 0    # returns (confirmed return slips, or found again)
    media_wiped: int = 0
    media: list = field(default_factory=list)  # media whose latest lending is this contract
    events: list = field(default_factory=list)  # the contract's ledger events, in order

    @property
    def outstanding(self) -> int:
        """Records neither returned (confirmed) nor erased; negative when
        more came back than went out."""
        return self.handed_out - self.returned - (self.erased or 0)

    @property
    def media_out(self) -> list:
        """Media still with the contractor, or back but not wiped."""
        from .media import OUTSTANDING
        return [m for m in self.media if m.state in OUTSTANDING]

    @property
    def media_lost(self) -> list:
        from ..models import MediumState
        return [m for m in self.media if m.state == MediumState.lost]

    @property
    def pending_slips(self) -> list:
        return [s for s in self.slips if s.direction == "to_ward" and s.confirmed_at is None]


def balance(dbsession, contract, records_erased: int | None = None) -> Balance:
    """The contract's balance; ``records_erased`` stands for the erasure
    record's count (the one being filed) when given."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from ..models import ErasureRecord, HandoverSlip, Medium, MediumEvent, MediumEventKind

    result = Balance()
    result.slips = list(dbsession.scalars(select(HandoverSlip).where(
        HandoverSlip.contract_id == contract.id).order_by(HandoverSlip.handed_at, HandoverSlip.id)
        .options(selectinload(HandoverSlip.medium), selectinload(HandoverSlip.confirmer))))
    for slip in result.slips:
        if slip.direction == "to_contractor":
            result.handed_out += slip.record_count
        elif slip.confirmed_at is not None:
            result.returned += slip.record_count
        else:
            result.awaiting += slip.record_count
    if records_erased is None:
        records_erased = dbsession.scalar(select(ErasureRecord.records_erased).where(
            ErasureRecord.contract_id == contract.id))
    result.erased = records_erased
    result.events = list(dbsession.scalars(select(MediumEvent).where(
        MediumEvent.contract_id == contract.id).order_by(MediumEvent.at, MediumEvent.id)
        .options(selectinload(MediumEvent.medium))))
    for event in result.events:
        result.lent += event.kind == MediumEventKind.lent
        result.media_returned += event.kind in (MediumEventKind.returned, MediumEventKind.found)
        result.media_wiped += event.kind == MediumEventKind.wiped
    result.media = list(dbsession.scalars(select(Medium).where(Medium.contract_id == contract.id)
                                          .order_by(Medium.label)))
    return result


def outstanding_items(result: Balance) -> list[tuple[str, dict]]:
    """What keeps the erasure from being certified, as messages."""
    items = []
    if result.outstanding > 0:
        items.append(("survey.balance.records_outstanding", {"count": result.outstanding}))
    elif result.outstanding < 0:
        items.append(("survey.balance.records_over", {"count": -result.outstanding}))
    for slip in result.pending_slips:
        items.append(("survey.balance.slip_pending", {"slip": slip.id, "count": slip.record_count}))
    for medium in result.media_out:
        items.append(("survey.balance.medium_outstanding",
                      {"label": medium.label, "state": medium.state.value}))
    return items
