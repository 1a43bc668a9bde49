"""Contracts and their users: the contract period is each user's validity
window, users may need a current training record (従事者教育,
:mod:`intranet.accounts.training`) before they are activated, and a collector can end all of a user's sessions at once
(remote wipe of a tablet's access, :func:`intranet.security.sessions.revoke_sessions`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..models import Role
from ..security.sessions import revoke_sessions


class ContractError(ValueError):
    """A message key explaining why the change was refused."""


#: The course a training date given on the contract page records (seed 004, 特記事項18).
CONTRACT_COURSE = "個人情報保護・情報セキュリティ（従事者教育）"


def link_user(dbsession, contract, user, trained_on: dt.date | None, active: bool, *,
              recorded_by, now: dt.datetime, today: dt.date, settings) -> None:
    """Put a contractor ``user`` under ``contract``: its period becomes the
    user's validity window. A training date records a course (its trainer:
    the contract's person responsible, who runs the 従事者教育); a contract
    requiring training activates only users whose records are current today
    (``users.privacy_trained_on`` is no longer consulted)."""
    from ..accounts import training

    if user.role != Role.contractor:
        raise ContractError("survey.error.not_contractor")
    if user.organisation_id != contract.organisation_id:
        raise ContractError("survey.error.other_organisation")
    user.contract_id = contract.id
    if trained_on is not None:
        try:
            training.record(dbsession, user, course=CONTRACT_COURSE, trained_on=trained_on,
                            trainer=contract.manager_name[:training.TRAINER_MAX] or "—", next_due=None,
                            recorded_by=recorded_by, now=now, today=today, settings=settings)
        except training.TrainingError as exc:
            raise ContractError(exc.keys[0]) from None
        user.privacy_trained_on = trained_on  # kept for old readers only
    if active and contract.training_required and not training.standing(dbsession, user, today).current:
        raise ContractError("survey.error.training_required")
    if active and contract.erased_at is not None:
        raise ContractError("survey.error.erased")
    user.is_active = active
    user.valid_from, user.valid_until = contract.window()


def sync_users(contract) -> None:
    """After the period changed: every user of the contract follows it."""
    start, end = contract.window()
    for user in contract.users:
        user.valid_from, user.valid_until = start, end


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
    """Record the erasure; the contract's users are disabled at once (sessions
    ended) and its survey batches and targets close. Refused
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
    contract.erased_at = now
    for member in contract.users:
        member.is_active = False
        revoke_sessions(dbsession, member, now)
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
