"""The rules of any contract (業務委託契約), whatever the contractor does.

* **Named handlers.** The accounts put under a contract are its 取扱者 in
  the system (情報保護対策1: 個人情報取扱責任者及び取扱者をあらかじめ指定する);
  the contract's period becomes each account's validity window.
* **The login gate** (:func:`login_failure`, called by
  :func:`intranet.security.authentication.authenticate` after the right
  password): an outsourced user under a contract may log in only inside its
  period and before its end was recorded. An operator *not* under a
  contract is refused when the call center's organisation has a call-center
  contract (setting ``intranet.contracts.enforce``: ``organisation``, the
  default); with ``always`` (the ward's practice: every operator and
  investigator under contract) every outsourced user not under a contract
  is refused. Under the default a call-center organisation without any
  contract keeps working as before issue 25, and an investigator not under
  a contract may log in but reaches no case (their scope requires a survey
  batch of a contract in force, :mod:`intranet.cases.scopes`).
* **The end** (:func:`end_users`): when the end-of-contract record is filed
  (materials returned, data erased: 特記事項7), every account under the
  contract is disabled and its sessions end at once.

What only the field survey has (hand-over slips and media balance, closing
survey batches) stays in :mod:`intranet.survey.contracts`.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import exists, select

from ..models import Contract, ContractKind, Role
from ..security.sessions import revoke_sessions


class ContractError(ValueError):
    """A message key explaining why the change was refused."""


#: The role of a contract's named handlers, per kind of work.
HANDLER_ROLES: dict[ContractKind, Role] = {
    ContractKind.call_center: Role.operator,
    ContractKind.field_survey: Role.contractor,
}
KIND_OF_ROLE: dict[Role, ContractKind] = {role: kind for kind, role in HANDLER_ROLES.items()}

#: The course a training date given on the contract page records (seed 004, 特記事項18).
CONTRACT_COURSE = "個人情報保護・情報セキュリティ（従事者教育）"


class Enforce(enum.StrEnum):
    organisation = "organisation"  # only where the organisation has a contract of that kind
    always = "always"              # every outsourced user must be under a contract


@dataclass(frozen=True)
class ContractSettings:
    """Parsed at start-up by :mod:`intranet.config` (``request.app_settings.contracts``)."""

    enforce: Enforce = Enforce.organisation


#: Kinds whose users must be named handlers once their organisation has such
#: a contract, under the default setting (see the module docstring).
NAMED_BY_DEFAULT = frozenset({ContractKind.call_center})


class LoginFailure(enum.StrEnum):
    """Why the contract refuses a login (values are
    :class:`intranet.security.authentication.Failure` values)."""

    not_named = "contract_not_named"  # not under a contract (the organisation has one)
    period = "contract_period"        # outside the contract's period
    ended = "contract_ended"          # the end of the contract was recorded


def login_failure(dbsession, user, now: dt.datetime, settings: ContractSettings) -> LoginFailure | None:
    """The contract's part of the login gate (see the module docstring)."""
    kind = KIND_OF_ROLE.get(user.role)
    if kind is None:
        return None
    contract = user.contract
    if contract is None:
        if settings.enforce == Enforce.always:
            return LoginFailure.not_named
        if kind in NAMED_BY_DEFAULT and dbsession.scalar(select(exists().where(
                Contract.organisation_id == user.organisation_id, Contract.kind == kind))):
            return LoginFailure.not_named
        return None
    if contract.erased_at is not None:
        return LoginFailure.ended
    start, end = contract.window()
    if now >= end:
        return LoginFailure.ended
    if now < start:
        return LoginFailure.period
    return None


def in_force(contract, now: dt.datetime) -> bool:
    start, end = contract.window()
    return contract.erased_at is None and start <= now < end


def link_user(dbsession, contract, user, trained_on: dt.date | None, active: bool, *,
              recorded_by, now: dt.datetime, today: dt.date, settings) -> None:
    """Put an outsourced ``user`` under ``contract`` as a named handler: its
    period becomes the user's validity window. A training date records a
    course (its trainer: the contract's person responsible, who runs the
    従事者教育); a contract requiring training activates only users whose
    records are current today."""
    from ..accounts import training

    if user.role != HANDLER_ROLES[contract.kind]:
        raise ContractError(f"contracts.error.role.{contract.kind.value}")
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


def unsealed_letters(dbsession, contract) -> tuple[int, int]:
    """A call-center contract's printed letters not yet sealed for mailing
    (batches, letters), made by its organisation's users: what the end of
    the contract must see returned (特記事項7). (0, 0) for other kinds."""
    from sqlalchemy import func

    from ..models import BatchStatus, LetterBatch, User

    if contract.kind != ContractKind.call_center:
        return 0, 0
    batches, letters = dbsession.execute(
        select(func.count(LetterBatch.id), func.coalesce(func.sum(LetterBatch.letters), 0))
        .join(User, User.id == LetterBatch.created_by)
        .where(User.organisation_id == contract.organisation_id,
               LetterBatch.status != BatchStatus.sealed)).one()
    return batches, letters


def end_users(dbsession, contract, now: dt.datetime) -> int:
    """The contract ended (its end-of-contract record was filed): every
    account under it is disabled and its sessions end now. Returns how many."""
    contract.erased_at = now
    for member in contract.users:
        member.is_active = False
        revoke_sessions(dbsession, member, now)
    return len(contract.users)
