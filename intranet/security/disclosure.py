"""THE disclosure gate (``request.disclosure``): case data reaches a page,
PDF, CSV, Excel file or ZIP only through it.

For every set of cases a view wants to show, the gate

1. keeps the cases in the user's scope, with the same SQL clause the case list
   uses (:func:`intranet.cases.scopes.visible_cases_clause`),
2. keeps the facets the permission matrix grants the user's role
   (:mod:`intranet.security.matrix`, partial grants included), and
3. records those cases and facets in the request's access-log entry.

Views never call ``has_permission`` per case nor ``request.audit.disclose``
themselves: lists filter in SQL with :meth:`DisclosureGate.scoped` and pass
what they render through :meth:`DisclosureGate.show`, which costs one query
at most (none for roles that reach every case), whatever the number of rows.
See docs/security.md for the request path.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pyramid.decorator import reify
from sqlalchemy import ColumnElement, Select, select

from ..cases.scopes import SCOPES, visible_cases_clause
from ..models import Case
from . import matrix, principals
from .matrix import Condition, Facet
from .permissions import Permission


@dataclass(frozen=True)
class Disclosure:
    """What a view may render: the cases in scope (in the order asked) and
    the facets granted; ``hidden`` counts the cases asked for and withheld."""

    cases: list
    facets: tuple[Facet, ...]
    hidden: int = 0

    def __contains__(self, facet: Facet) -> bool:
        return facet in self.facets

    def __bool__(self) -> bool:
        return bool(self.cases)


class DisclosureGate:
    def __init__(self, request):
        self.request = request

    # ---- what the user's role may see

    @reify
    def held(self) -> frozenset[str]:
        return frozenset(self.request.principals)

    @reify
    def facets(self) -> frozenset[Facet]:
        """Facets granted in full on every case in scope."""
        return matrix.facets_for_principals(self.held)

    @reify
    def partial(self) -> dict[Facet, Condition]:
        """Facets granted only in part, with the condition (matrix.FACET_EXCEPTIONS)."""
        return matrix.facet_exceptions(self.held)

    def facet_condition(self, facet: Facet) -> Condition | None:
        """``in_scope`` for a facet granted in full, the condition of a partial
        grant (e.g. ``own_report``), None when the role may not see it."""
        if facet in self.facets:
            return Condition.in_scope
        return self.partial.get(facet)

    def granted(self, wanted: Iterable[Facet]) -> tuple[Facet, ...]:
        """``wanted`` less what the matrix denies, in display order."""
        wanted = set(wanted)
        return tuple(f for f in Facet if f in wanted and self.facet_condition(f) is not None)

    @reify
    def reaches_every_case(self) -> bool:
        return any(scope.all_cases and principals.role(scope.role) in self.held
                   for scope in SCOPES.values())

    # ---- which cases

    def clause(self) -> ColumnElement[bool]:
        """WHERE clause over :class:`Case`: the cases in the user's scope today."""
        return visible_cases_clause(set(self.held), self.request.today)

    def case_ids(self) -> Select:
        """SELECT of the ids of the cases in scope (for IN clauses)."""
        return select(Case.id).where(self.clause())

    def scoped(self, stmt: Select, case_id_column) -> Select:
        """``stmt`` restricted to rows whose ``case_id_column`` is in scope."""
        if self.reaches_every_case:
            return stmt
        return stmt.where(case_id_column.in_(self.case_ids()))

    def in_scope(self, case_ids: Iterable[int]) -> set[int]:
        """The ids among ``case_ids`` in the user's scope (one query at most)."""
        ids = sorted(set(case_ids))
        if not ids or self.reaches_every_case:
            return set(ids)
        if not self.facets and not self.partial:
            return set()
        context = getattr(self.request, "context", None)
        grants = getattr(context, "scope_grants", None)
        if grants is not None and ids == [context.case.id]:
            # The resource's ACL already asked which (role, principal) pairs
            # reach this case today: in scope exactly when the user holds
            # both, as visible_cases_clause would find (one query fewer).
            return set(ids) if any(principals.role(role) in self.held and principal in self.held
                                   for role, principal in grants) else set()
        return set(self.request.dbsession.scalars(
            select(Case.id).where(Case.id.in_(ids), self.clause())))

    # ---- the one way case data leaves

    def show(self, cases: Iterable, wanted: Iterable[Facet]) -> Disclosure:
        """Keep the cases in scope and the facets granted; record both in the
        access log. ``cases`` are Case objects (duplicates are shown once)."""
        unique = list({case.id: case for case in cases}.values())
        facets = self.granted(wanted)
        allowed = self.in_scope(case.id for case in unique) if facets else set()
        shown = [case for case in unique if case.id in allowed]
        if shown:
            self.request.audit.disclose(shown, facets)
        return Disclosure(shown, facets if shown else (), len(unique) - len(shown))


    def show_numbers(self, cases: Iterable) -> Disclosure:
        """Keep the cases in scope and record them with no facet: a page that
        names cases by their number only (an incident report, issue 25)."""
        unique = list({case.id: case for case in cases}.values())
        allowed = self.in_scope(case.id for case in unique)
        shown = [case for case in unique if case.id in allowed]
        if shown:
            self.request.audit.disclose(shown, ())
        return Disclosure(shown, (), len(unique) - len(shown))

    @reify
    def opens_case_pages(self) -> bool:
        """Whether the holder's roles open the pages of the cases they reach
        (``case:page:view`` in ``matrix.ROLE_CASE_ACTIONS``): a listed case in
        scope is then linked, without asking each case's ACL."""
        return any(Permission.CaseView in matrix.ROLE_CASE_ACTIONS[role]
                   for role in principals.roles_in(self.held))


def includeme(config):
    config.add_request_method(DisclosureGate, "disclosure", reify=True)
