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
import functools
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import (
    ColumnElement, Select, String, bindparam, cast, false, func, literal, or_, select, true, union_all,
)

from ..models import (
    BatchState, CallCampaign, CampaignCase, CampaignStatus, Case, Contract, Role, SurveyBatch,
    SurveyTarget, SurveyTargetState,
)
from ..security import principals
from .statuses import Work, available_for
from ..security.matrix import ROLE_SCOPES, Scope

#: grants(today) -> SELECT case_id, principal
GrantQuery = Callable[[dt.date], Select]


@dataclass(frozen=True)
class CaseScope:
    role: Role
    all_cases: bool = False
    grants: GrantQuery | None = None


def _active_campaign_cases(today: dt.date) -> Select:
    """Operators see a case while it belongs to a campaign that is active today,
    no collector has flagged it "do not call" and no collection status (破産,
    執行停止, ...) keeps it from calls."""
    return (
        select(CampaignCase.case_id.label("case_id"),
               literal(principals.role(Role.operator)).label("principal"))
        .join(CallCampaign, CallCampaign.id == CampaignCase.campaign_id)
        .join(Case, Case.id == CampaignCase.case_id)
        .where(CallCampaign.active_on(today), Case.call_block.is_(None),
               available_for(Work.calls, today))
    )


def fiscal_year_start(today: dt.date) -> dt.date:
    """1 April of the fiscal year (年度) ``today`` is in."""
    return dt.date(today.year if today.month >= 4 else today.year - 1, 4, 1)


def _entrusted_cases(today: dt.date) -> Select:
    """The call center's entrusted scope: every case of a campaign of the
    current fiscal year — activated (not a draft), started, and not over
    before 1 April — so that a caller with a letter in hand is found after
    their campaign closed. Cases flagged "do not call" or kept from calls by a
    collection status (破産, 執行停止, ...) stay out, as in a running campaign."""
    return (
        select(CampaignCase.case_id.label("case_id"),
               literal(principals.role(Role.operator)).label("principal"))
        .join(CallCampaign, CallCampaign.id == CampaignCase.campaign_id)
        .join(Case, Case.id == CampaignCase.case_id)
        .where(CallCampaign.status != CampaignStatus.draft, CallCampaign.starts_on <= today,
               CallCampaign.ends_on >= fiscal_year_start(today), Case.call_block.is_(None),
               available_for(Work.calls, today))
        # No DISTINCT, though a case in two campaigns is granted twice: both
        # users read the grants as a set (``IN``, ``count(DISTINCT)``), and
        # a DISTINCT keeps PostgreSQL from probing the grants case by case.
        # With it, checking the 50 cases of a list page or finding the first
        # 50 in case-number order computed every grant first (about 300 ms
        # at 22,000 entrusted cases; without it, under 1 ms; issue 21).
    )


def _assigned_survey_cases(today: dt.date) -> Select:
    """An investigator reaches a case while it is assigned to them in an open
    survey batch, inside the contract period, before the data was erased, and
    no collection status keeps it from the survey."""
    principal = (literal(principals.USER_PREFIX, String)
                 + cast(SurveyTarget.investigator_id, String))
    return (
        select(SurveyTarget.case_id.label("case_id"), principal.label("principal"))
        .join(SurveyBatch, SurveyBatch.id == SurveyTarget.batch_id)
        .join(Contract, Contract.id == SurveyBatch.contract_id)
        .join(Case, Case.id == SurveyTarget.case_id)
        .where(available_for(Work.survey, today), SurveyBatch.state == BatchState.open, SurveyTarget.investigator_id.is_not(None),
               SurveyTarget.state != SurveyTargetState.closed,
               Contract.starts_on <= today, Contract.ends_on >= today, Contract.erased_at.is_(None))
    )


#: The SQL of each kind of scope the matrix names (``matrix.ROLE_SCOPES``).
SCOPE_GRANTS: dict[Scope, GrantQuery | None] = {
    Scope.all_cases: None,
    Scope.active_campaign_cases: _active_campaign_cases,
    Scope.entrusted_cases: _entrusted_cases,
    Scope.own_survey_targets: _assigned_survey_cases,
}

SCOPES: dict[Role, CaseScope] = {
    role: CaseScope(role, all_cases=scope == Scope.all_cases, grants=SCOPE_GRANTS[scope])
    for role, scope in ROLE_SCOPES.items()
}


def _grant_union(today: dt.date, roles: frozenset[Role] | None = None):
    """All scopes' grants (of ``roles`` only, if given) as one subquery of
    (case_id, principal, role)."""
    queries = []
    for scope in SCOPES.values():
        if scope.grants is not None and (roles is None or scope.role in roles):
            grants = scope.grants(today).subquery()
            queries.append(select(grants.c.case_id, grants.c.principal,
                                  literal(scope.role.value).label("role")))
    return union_all(*queries).subquery("grants") if queries else None


def visible_cases_clause(held: set[str], today: dt.date) -> ColumnElement[bool]:
    """WHERE clause over :class:`Case` selecting every case the holder of
    the principals ``held`` may open."""
    clauses = []
    for scope in SCOPES.values():
        if principals.role(scope.role) not in held:
            continue
        if scope.all_cases:
            return true()
        if scope.grants is not None:
            grants = scope.grants(today).subquery()
            clauses.append(Case.id.in_(
                select(grants.c.case_id).where(grants.c.principal.in_(sorted(held)))))
    return or_(*clauses) if clauses else false()


def roles_reaching_every_case() -> list[Role]:
    """Roles that would reach any case, even one that does not exist (yet)."""
    return [scope.role for scope in SCOPES.values() if scope.all_cases]


def case_grants(dbsession, case_id: int, today: dt.date,
                roles: frozenset[Role] | None = None) -> list[tuple[Role, str]]:
    """``(role, principal)`` pairs that reach ``case_id``, sorted (one query
    at most). With ``roles``, only those roles' scopes are asked: the pairs of
    other roles are left out, and no query runs when every role in ``roles``
    reaches every case (or ``roles`` holds no scoped role)."""
    reach = case_reach(dbsession, [case_id], today, roles)
    return sorted(grant for grant, count in reach.reached.items() if count)


@dataclass(frozen=True)
class Reach:
    """How far each principal's scope reaches into a set of cases."""

    total: int                             # cases in the set
    reached: dict[tuple[Role, str], int]   # (role, principal) -> cases it reaches


def case_reach(dbsession, case_ids: Select | list[int], today: dt.date,
               roles: frozenset[Role] | None = None) -> Reach:
    """Which principals reach how many of ``case_ids`` (a list, or a SELECT of
    case ids): two queries at most, whatever the number of cases. With
    ``roles``, only the principals of those roles' scopes."""
    if isinstance(case_ids, list):
        ids = sorted(set(case_ids))
        total, id_clause = len(ids), ids
    else:
        id_clause = case_ids
        ids = case_ids.subquery()
        total = dbsession.scalar(select(func.count(ids.c[0].distinct())))
    reached = {(scope.role, principals.role(scope.role)): total
               for scope in SCOPES.values()
               if scope.all_cases and (roles is None or scope.role in roles)}
    if isinstance(case_ids, list):
        stmt, params = _reach_of_ids(today, roles), {"ids": id_clause}
    else:
        stmt, params = _reach_statement(today, id_clause, roles), {}
    if stmt is not None and total:
        rows = dbsession.execute(stmt, params)
        reached.update({(Role(role), principal): n for role, principal, n in rows})
    return Reach(total, reached)


def _reach_statement(today: dt.date, id_clause, roles: frozenset[Role] | None = None):
    union = _grant_union(today, roles)
    if union is None:
        return None
    return (select(union.c.role, union.c.principal, func.count(union.c.case_id.distinct()))
            .where(union.c.case_id.in_(id_clause))
            .group_by(union.c.role, union.c.principal))


@functools.lru_cache(maxsize=16)
def _reach_of_ids(today: dt.date, roles: frozenset[Role] | None = None):
    """The statement of :func:`case_reach` for a list of ids (``ids``), built
    once a day (per set of roles): building it costs more than running it
    (issue 21)."""
    return _reach_statement(today, bindparam("ids", expanding=True), roles)
