"""The principals a request can hold, spelled in one place.

Pyramid compares principals as strings; every module that grants or tests
one builds it here, so a typo cannot silently grant or deny.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..models.users import Role

#: Collectors flagged as supervisors (係長・主査); see ``matrix.SUPERVISOR_ROLES``.
SUPERVISOR = "supervisor"
#: A contractor's 責任者 (operators or investigators flagged team leader); see ``matrix.TEAM_LEADER_ROLES``.
TEAM_LEADER = "team_leader"

#: A request from the monitoring network (``intranet.zones.monitoring``), logged in or not.
MONITORING = "zone:monitoring"

USER_PREFIX = "user:"
ROLE_PREFIX = "role:"
ORGANISATION_PREFIX = "org:"
TEAM_LEADER_OF_PREFIX = "team_leader:org:"
TEAM_LEADER_ROLE_PREFIX = "team_leader:role:"


def user(user_id: int) -> str:
    return f"{USER_PREFIX}{user_id}"


def role(role: Role) -> str:
    return f"{ROLE_PREFIX}{role}"


def organisation(organisation_id: int) -> str:
    return f"{ORGANISATION_PREFIX}{organisation_id}"


def team_leader_of(organisation_id: int) -> str:
    """A team leader of that organisation (grants bound to an organisation's users)."""
    return f"{TEAM_LEADER_OF_PREFIX}{organisation_id}"


def team_leader_role(role: Role) -> str:
    """A team leader of that role (the matrix's ``TEAM_LEADER_ACTIONS`` differ by role)."""
    return f"{TEAM_LEADER_ROLE_PREFIX}{role}"


def roles_in(principals: Iterable[str]) -> list[Role]:
    """The roles ``principals`` carry, in the order of :class:`Role`."""
    held = set(principals)
    return [r for r in Role if role(r) in held]


def logged_roles(principals: Iterable[str]) -> str | None:
    """How the access log names the holder's roles: ``"collector supervisor"``."""
    held = set(principals)
    names = [str(r) for r in roles_in(held)] + [flag for flag in (SUPERVISOR, TEAM_LEADER) if flag in held]
    return " ".join(names) or None
