"""Checking a login id and password, with lockout after repeated failures
and the network zone of the account's role."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ..audit.events import AuditEvent
from ..models import User


class Failure:
    bad_credentials = "bad_credentials"   # unknown login or wrong password (not told apart)
    locked = "locked"                     # too many failures; wait
    account_invalid = "account_invalid"   # disabled, or outside its validity window
    zone = "zone"                         # from outside the network zones of its role
    training_missing = "training_missing"  # its work requires training: none recorded
    training_overdue = "training_overdue"  # ... and every course recorded is past due
    # The contract (intranet.contracts.rules.LoginFailure, issue 25):
    contract_not_named = "contract_not_named"  # not a named handler of its organisation's contract
    contract_period = "contract_period"        # before the contract's period
    contract_ended = "contract_ended"          # after its end date, or its end was recorded


@dataclass
class Result:
    user: User | None
    failure: str | None = None
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


# Verified when the login id is unknown, so both paths cost one hash.
_DUMMY_HASH = None


def _verify_dummy(context, password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = context.hash("not-a-password")
    context.verify(password, _DUMMY_HASH)


def count_failure(request, user: User) -> Result:
    """A wrong password or second factor: count it; lock the account after
    ``intranet.login.max_failures`` in a row."""
    login = request.app_settings.login
    max_failures, lockout = login.max_failures, login.lockout
    user.failed_logins += 1
    if user.failed_logins >= max_failures:
        user.locked_until = request.now + lockout
        request.audit.event(AuditEvent.AccountLocked, "locked", user=user, failures=user.failed_logins,
                            until=user.locked_until.isoformat(timespec="seconds"))
        return Result(user, Failure.locked, user.locked_until)
    return Result(user, Failure.bad_credentials)


def authenticate(request, login: str, password: str) -> Result:
    context = request.registry.password_context
    now = request.now

    user = request.dbsession.scalar(select(User).where(func.lower(User.login) == login.lower()))
    if user is None:
        _verify_dummy(context, password)
        return Result(None, Failure.bad_credentials)

    if not request.app_settings.network.zones.allows(user.role, request.client_addr):
        # Refused whatever the password, which is not checked (but costs the
        # same), and not counted against the account: nobody outside the zone
        # can lock it out or learn whether a password is right.
        _verify_dummy(context, password)
        return Result(user, Failure.zone)

    if user.locked_until is not None and now < user.locked_until:
        # Still count the attempt, and never check the password while locked.
        user.failed_logins += 1
        return Result(user, Failure.locked, user.locked_until)

    valid, new_hash = context.verify_and_update(password, user.password_hash)
    if not valid:
        return count_failure(request, user)

    # The contract first: its refusal says why, where the validity window
    # it sets would only say "invalid". Only after the right password.
    from ..contracts.rules import login_failure

    contract_failure = login_failure(request.dbsession, user, now, request.app_settings.contracts)
    if contract_failure is not None:
        return Result(user, contract_failure.value)

    if not user.is_valid_at(now):
        return Result(user, Failure.account_invalid)

    # Only after the right password, like account_invalid: no oracle.
    failure = _training_failure(request, user)
    if failure is not None:
        return Result(user, failure)

    if new_hash:  # parameters were raised since this hash was made
        user.password_hash = new_hash
    return Result(user)


def _training_failure(request, user: User) -> str | None:
    """The outsourced staff's required training (intranet.accounts.training)."""
    from ..accounts import training

    standing = training.standing(request.dbsession, user, request.today,
                                 request.app_settings.training)
    return {training.State.missing: Failure.training_missing,
            training.State.overdue: Failure.training_overdue}.get(standing.state)


def succeeded(request, user: User) -> None:
    """Every factor passed: the failure count starts again. (Not after the
    password alone, or the second factor could be guessed without end.)"""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = request.now
