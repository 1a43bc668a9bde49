"""The permission matrix as a table for people: which role sees which facet
and may take which action, and under what condition. Built from the same data
the ACLs are built from (:mod:`intranet.security.matrix`), so the page and the
inspection export show exactly what is enforced.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ..messages import MESSAGES
from ..models.users import Role
from . import matrix
from .permissions import Permission



def cell(condition: matrix.Condition) -> str:
    """The message key of a condition (``matrix.cell.<condition>``)."""
    return f"matrix.cell.{condition}"


#: Conditions under which a role holds an action, as message keys.
ALWAYS = cell(matrix.Condition.always)
SUPERVISOR = cell(matrix.Condition.supervisor)
TEAM_LEADER = cell(matrix.Condition.team_leader)
IN_SCOPE = cell(matrix.Condition.in_scope)             # on the cases its scope reaches


@dataclass(frozen=True)
class Row:
    label: tuple[str, str]           # Japanese, English
    detail: str                      # the 資料1 items (facets) or the permission name
    cells: dict[Role, str | None]    # role -> condition message key, None = not allowed


@dataclass(frozen=True)
class MatrixReport:
    roles: tuple[Role, ...]
    facets: tuple[Row, ...]
    actions: tuple[Row, ...]
    scopes: dict[Role, str]          # role -> message key of the cases it reaches
    supervisor_roles: tuple[Role, ...]
    team_leader_roles: tuple[Role, ...] = ()
    #: (zone principal, permissions) held by a place, not a role (issue 24)
    zones: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the matrix's content: equal fingerprints, equal rules."""
        data = [[r.detail, {str(k): v for k, v in r.cells.items()}] for r in self.facets + self.actions]
        data += [{str(k): v for k, v in self.scopes.items()}, [str(r) for r in self.supervisor_roles],
                 [str(r) for r in self.team_leader_roles]]
        if self.zones:  # (fingerprints of matrices without zones stay as they were)
            data.append([[zone, list(permissions)] for zone, permissions in self.zones])
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _action_cell(role: Role, permission: Permission) -> str | None:
    """The condition of ``role``'s grant of ``permission``: on an object that
    carries cases, the object's rule (it decides the object's ACL); else
    the root's or the case's."""
    for grants in matrix.BOUND_GRANTS.values():
        for grant in grants.get(role, ()):
            if permission in grant.actions:
                return cell(grant.condition)
    for grant in matrix.DRAFT_GRANTS.get(role, ()):  # campaign drafts (issue 25)
        if permission in grant.actions:
            return cell(grant.condition)
    if permission in matrix.ROLE_ACTIONS[role]:
        return ALWAYS
    if permission in matrix.ROLE_CASE_ACTIONS[role]:
        return IN_SCOPE
    if permission in matrix.SUPERVISOR_ACTIONS and role in matrix.SUPERVISOR_ROLES:
        return SUPERVISOR
    if role in matrix.TEAM_LEADER_ROLES:
        if permission in matrix.TEAM_LEADER_ACTIONS.get(role, ()):
            return TEAM_LEADER
        for grant in (*matrix.TEAM_LEADER_USER_GRANTS.get(role, ()), *matrix.TEAM_LEADER_PLAN_GRANTS):
            if permission in grant.actions:
                return cell(grant.condition)
    return None


def _facet_cell(role: Role, facet: matrix.Facet) -> str | None:
    if facet in matrix.ROLE_FACETS[role]:
        return IN_SCOPE
    condition = matrix.FACET_EXCEPTIONS.get(role, {}).get(facet)
    return cell(condition) if condition else None


def build() -> MatrixReport:
    roles = tuple(Role)
    facets = tuple(
        Row((matrix.FACETS[facet].label_ja, matrix.FACETS[facet].label_en), matrix.FACETS[facet].items_ja,
            {role: _facet_cell(role, facet) for role in roles})
        for facet in matrix.Facet)
    facet_permissions = {facet.permission for facet in matrix.Facet}
    actions = tuple(
        Row(MESSAGES[f"permission.{permission}"], str(permission),
            {role: _action_cell(role, permission) for role in roles})
        for permission in Permission if permission not in facet_permissions)
    scopes = {role: f"matrix.scope.{matrix.ROLE_SCOPES[role]}" for role in roles}
    return MatrixReport(roles, facets, actions, scopes,
                        tuple(r for r in roles if r in matrix.SUPERVISOR_ROLES),
                        tuple(r for r in roles if r in matrix.TEAM_LEADER_ROLES),
                        tuple((zone, tuple(sorted(str(p) for p in actions)))
                              for zone, actions in matrix.ZONE_ACTIONS.items()))


def table(report: MatrixReport, locale: str = "ja") -> list[list[str]]:
    """Header and rows as text (CSV in the inspection export)."""
    from ..i18n import translate

    index = 1 if locale == "en" else 0
    header = ["", "", *[translate(locale, f"role.{role}") for role in report.roles]]
    return [header] + [
        [row.label[index], row.detail,
         *[translate(locale, row.cells[role]) if row.cells[role] else "—" for role in report.roles]]
        for row in report.facets + report.actions]
