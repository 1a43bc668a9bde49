"""The second factor after the password: security keys (WebAuthn, see
:mod:`intranet.security.keys`), TOTP (RFC 6238, ``pyotp``) and one-time
recovery codes.

Policy (ini): ``intranet.mfa.required_roles`` names the roles that must pass
a second factor (default ``operator contractor``: the seeds' "USB key"); a
user of such a role with no usable factor cannot log in and is told to ask a
supervisor. ``intranet.mfa.methods.<role>`` lists the methods a role may use
(default: ``webauthn`` for the required roles, ``webauthn totp`` for the
others). A user who has enrolled a factor always uses it, required or not.

A TOTP code is accepted for the current 30-second step and the one either
side (clock drift), and never twice: the last accepted step is stored.
Recovery codes are hashed with the password context and used once.
"""
from __future__ import annotations

import datetime as dt
import secrets

import pyotp
from sqlalchemy import select

from ..models import RecoveryCode, User

ISSUER = "収納管理イントラネット"
RECOVERY_CODES = 10
METHODS = ("webauthn", "totp")
DEFAULT_REQUIRED = "operator contractor"


def enrolled_methods(dbsession, user: User) -> list[str]:
    from .keys import active_keys

    return (["webauthn"] if active_keys(dbsession, user) else []) + (
        ["totp"] if user.totp_secret else [])


class Step:
    """What follows a correct password."""

    done = "done"            # no second factor: logged in
    second = "second"        # a second factor, on the pending session
    refused = "refused"      # the role requires a factor the user does not have


def after_password(mfa, dbsession, user: User) -> str:
    """A user with an enrolled factor always uses it; a required role must
    have one the role allows (``mfa``: :class:`intranet.config.MfaSettings`),
    else the login is refused."""
    enrolled = enrolled_methods(dbsession, user)
    role = str(user.role)
    if role in mfa.required_roles:
        allowed = mfa.allowed_methods(role)
        return Step.second if any(m in allowed for m in enrolled) else Step.refused
    return Step.second if enrolled else Step.done


# ------------------------------------------------------------------ TOTP


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def totp_step(secret: str, code: str, now: dt.datetime, last_step: int | None = None) -> int | None:
    """The time step ``code`` is valid for at ``now`` (naive UTC), or None.
    A step at or before ``last_step`` is refused (replay)."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    at = now.replace(tzinfo=dt.UTC)
    current = totp.timecode(at)
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# ------------------------------------------------------------------ recovery codes


def new_recovery_codes(dbsession, user: User, password_context, now: dt.datetime) -> list[str]:
    """Replace the user's recovery codes; the plain codes are shown once."""
    for old in dbsession.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        dbsession.delete(old)
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    dbsession.add_all(RecoveryCode(user_id=user.id, code_hash=password_context.hash(code),
                                   created_at=now) for code in codes)
    return codes


def use_recovery_code(dbsession, user: User, code: str, password_context,
                      now: dt.datetime) -> bool:
    code = "".join(code.split()).lower()
    if len(code) != 17:
        return False
    for row in dbsession.scalars(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))):
        if password_context.verify(code, row.code_hash):
            row.used_at = now
            return True
    return False


def remaining_recovery_codes(dbsession, user: User) -> int:
    return len(dbsession.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())


def verify(request, user: User, code: str) -> str | None:
    """The method that accepted ``code`` (``totp`` or ``recovery``), or None."""
    if not isinstance(code, str) or len(code) > 40:
        return None
    if user.totp_secret:
        step = totp_step(user.totp_secret, code, request.now, user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            return "totp"
    if use_recovery_code(request.dbsession, user, code, request.registry.password_context,
                         request.now):
        return "recovery"
    return None


def disable(dbsession, user: User) -> None:
    user.totp_secret = user.totp_enrolled_at = user.totp_last_step = None
    for old in dbsession.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        dbsession.delete(old)
