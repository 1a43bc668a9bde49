"""Which cases a principal may reach: ONE definition per role, used twice.

Each scope is a SQL query yielding ``(case_id, principal)`` grant pairs (or
"every case"). The same query

* builds a case's ACL (:meth:`CaseResource.__acl__`): the grants for that one
  case say which principals get the role's case permissions, and
* filters every list and search page in SQL (:func:`visible_cases_clause`):
  a list shows exactly the cases whose page would be allowed, without loading
  each case to check it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import (
    ColumnElement, Select, String, cast, false, literal, or_, select, true, union_all,
)

from ..models import (
    BatchState, CallCampaign, CampaignCase, CampaignStatus, Case, Contract, Role, SurveyBatch,
    SurveyTarget, SurveyTargetState,
)
from ..security.matrix import role_principal

#: grants(today) -> SELECT case_id, principal
GrantQuery = Callable[[dt.date], Select]


@dataclass(frozen=True)
class CaseScope:
    role: Role
    all_cases: bool = False
    grants: GrantQuery | None = None


def _active_campaign_cases(today: dt.date) -> Select:
    """Operators see a case while it belongs to a campaign that is active today
    and no collector has flagged it "do not call"."""
    return (
        select(CampaignCase.case_id.label("case_id"),
               literal(role_principal(Role.operator)).label("principal"))
        .join(CallCampaign, CallCampaign.id == CampaignCase.campaign_id)
        .join(Case, Case.id == CampaignCase.case_id)
        .where(CallCampaign.status == CampaignStatus.active,
               CallCampaign.starts_on <= today, CallCampaign.ends_on >= today,
               Case.call_block.is_(None))
    )


def _assigned_survey_cases(today: dt.date) -> Select:
    """An investigator reaches a case while it is assigned to them in an open
    survey batch, inside the contract period, before the data was erased."""
    principal = (literal("user:", String) + cast(SurveyTarget.investigator_id, String))
    return (
        select(SurveyTarget.case_id.label("case_id"), principal.label("principal"))
        .join(SurveyBatch, SurveyBatch.id == SurveyTarget.batch_id)
        .join(Contract, Contract.id == SurveyBatch.contract_id)
        .where(SurveyBatch.state == BatchState.open, SurveyTarget.investigator_id.is_not(None),
               SurveyTarget.state != SurveyTargetState.closed,
               Contract.starts_on <= today, Contract.ends_on >= today, Contract.erased_at.is_(None))
    )


SCOPES: dict[Role, CaseScope] = {
    Role.collector: CaseScope(Role.collector, all_cases=True),
    Role.auditor: CaseScope(Role.auditor, all_cases=True),
    Role.operator: CaseScope(Role.operator, grants=_active_campaign_cases),
    Role.contractor: CaseScope(Role.contractor, grants=_assigned_survey_cases),
}


def _grant_union(today: dt.date):
    """All scopes' grants as one subquery of (case_id, principal, role)."""
    queries = []
    for scope in SCOPES.values():
        if scope.grants is not None:
            grants = scope.grants(today).subquery()
            queries.append(select(grants.c.case_id, grants.c.principal,
                                  literal(scope.role.value).label("role")))
    return union_all(*queries).subquery("grants") if queries else None


def visible_cases_clause(principals: set[str], today: dt.date) -> ColumnElement[bool]:
    """WHERE clause over :class:`Case` selecting every case the holder of
    ``principals`` may open."""
    clauses = []
    for scope in SCOPES.values():
        if role_principal(scope.role) not in principals:
            continue
        if scope.all_cases:
            return true()
        if scope.grants is not None:
            grants = scope.grants(today).subquery()
            clauses.append(Case.id.in_(
                select(grants.c.case_id).where(grants.c.principal.in_(sorted(principals)))))
    return or_(*clauses) if clauses else false()


def roles_reaching_every_case() -> list[Role]:
    """Roles that would reach any case, even one that does not exist (yet)."""
    return [scope.role for scope in SCOPES.values() if scope.all_cases]


def case_grants(dbsession, case_id: int, today: dt.date) -> list[tuple[Role, str]]:
    """``(role, principal)`` pairs that reach ``case_id``, sorted."""
    granted = {(scope.role, role_principal(scope.role))
               for scope in SCOPES.values() if scope.all_cases}
    union = _grant_union(today)
    if union is not None:
        rows = dbsession.execute(
            select(union.c.role, union.c.principal).where(union.c.case_id == case_id).distinct())
        granted.update((Role(role), principal) for role, principal in rows)
    return sorted(granted)
