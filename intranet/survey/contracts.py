"""Contracts and their users: the contract period is each user's validity
window, users may need a current training record (従事者教育,
:mod:`intranet.accounts.training`) before they are activated, and a collector can end all of a user's sessions at once
(remote wipe of a tablet's access, :func:`intranet.security.sessions.revoke_sessions`)."""
from __future__ import annotations

import datetime as dt

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
          certificate_type, user, now) -> None:
    """Record the erasure; the contract's users are disabled at once (sessions
    ended) and its survey batches and targets close."""
    from ..models import BatchState, ErasureRecord, SurveyBatch, SurveyTargetState

    if contract.erased_at is not None:
        raise ContractError("survey.error.erased")
    dbsession.add(ErasureRecord(
        contract_id=contract.id, erased_on=erased_on, method=method, witness_name=witness_name,
        items=items, certificate=certificate_bytes, certificate_type=certificate_type,
        recorded_by=user.id, recorded_at=now))
    contract.erased_at = now
    for member in contract.users:
        member.is_active = False
        revoke_sessions(dbsession, member, now)
    for batch in dbsession.query(SurveyBatch).filter(SurveyBatch.contract_id == contract.id):
        batch.state = BatchState.closed
        for target in batch.targets:
            target.state = SurveyTargetState.closed
