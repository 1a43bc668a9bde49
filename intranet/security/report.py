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

#: Conditions under which a role holds an action, as message keys.
ALWAYS = "matrix.cell.always"
SUPERVISOR = "matrix.cell.supervisor"
IN_SCOPE = "matrix.cell.in_scope"             # on the cases its scope reaches
ACTIVE_CAMPAIGN = "matrix.cell.active_campaign"
OWN_TARGETS = "matrix.cell.own_targets"


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

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the matrix's content: equal fingerprints, equal rules."""
        data = [[r.detail, {str(k): v for k, v in r.cells.items()}] for r in self.facets + self.actions]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _action_cell(role: Role, permission: Permission) -> str | None:
    if permission in matrix.ROLE_ACTIONS[role]:
        return ALWAYS
    if permission in matrix.ROLE_CASE_ACTIONS[role]:
        return IN_SCOPE
    if permission in matrix.ROLE_TARGET_ACTIONS[role]:
        return ACTIVE_CAMPAIGN if role in matrix.TARGET_ROLES_NEEDING_ACTIVE_CAMPAIGN else ALWAYS
    if permission in matrix.ROLE_SURVEY_ACTIONS[role]:
        return OWN_TARGETS if role == Role.contractor else ALWAYS
    if permission in matrix.SUPERVISOR_ACTIONS and role == Role.collector:
        return SUPERVISOR
    return None


def build() -> MatrixReport:
    roles = tuple(Role)
    facets = tuple(
        Row((matrix.FACETS[facet].label_ja, matrix.FACETS[facet].label_en), matrix.FACETS[facet].items_ja,
            {role: IN_SCOPE if facet in matrix.ROLE_FACETS[role] else None for role in roles})
        for facet in matrix.Facet)
    facet_permissions = {facet.permission for facet in matrix.Facet}
    actions = tuple(
        Row(MESSAGES[f"permission.{permission}"], str(permission),
            {role: _action_cell(role, permission) for role in roles})
        for permission in Permission if permission not in facet_permissions)
    return MatrixReport(roles, facets, actions)


def table(report: MatrixReport, locale: str = "ja") -> list[list[str]]:
    """Header and rows as text (CSV in the inspection export)."""
    from ..i18n import translate

    index = 1 if locale == "en" else 0
    header = ["", "", *[translate(locale, f"role.{role}") for role in report.roles]]
    return [header] + [
        [row.label[index], row.detail,
         *[translate(locale, row.cells[role]) if row.cells[role] else "—" for role in report.roles]]
        for row in report.facets + report.actions]
