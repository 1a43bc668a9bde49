"""Password hashing (argon2id through passlib's CryptContext) and the password policy."""
from __future__ import annotations

from collections.abc import Mapping

from passlib.context import CryptContext

# OWASP's minimum for argon2id: m=19 MiB, t=2, p=1. Tests lower these through
# the settings only (see tests/conftest.py); hashes with weaker parameters are
# upgraded on the next successful login (verify_and_update).
DEFAULTS = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}

MIN_LENGTH = 12
MAX_LENGTH = 128


def make_context(argon2: Mapping[str, int] | None = None) -> CryptContext:
    """``argon2``: ``time_cost``, ``memory_cost``, ``parallelism`` (the
    ``intranet.argon2.*`` settings, parsed in intranet.config); :data:`DEFAULTS`
    for any missing."""
    params = {**DEFAULTS, **(argon2 or {})}
    return CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__time_cost=params["time_cost"],
        argon2__memory_cost=params["memory_cost"],
        argon2__parallelism=params["parallelism"],
    )


def policy_problems(password: str, login: str = "") -> list[str]:
    """Message keys (see intranet.i18n) for every way ``password`` breaks the policy."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("password.too_short")
    if len(password) > MAX_LENGTH:
        problems.append("password.too_long")
    classes = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password),
                   any(not c.isalnum() for c in password)])
    if classes < 2:
        problems.append("password.too_simple")
    if login and login.lower() in password.lower():
        problems.append("password.contains_login")
    return problems


def includeme(config):
    config.registry.password_context = make_context(config.registry.app_settings.argon2)
