"""What a collection status does: THE table of status kinds.

For each kind: its legal basis and what it excludes the case from while in
force (call campaigns, dunning letters, field-survey batches); every kind
today excludes all three, and the table is where a ward changes that. The
exclusions are applied in SQL by :func:`in_force_clause` wherever cases are
chosen for that work (the
operators' and investigators' scopes in :mod:`intranet.cases.scopes`, campaign
building, letter candidates, survey batches), so a case whose collection is
suspended by law leaves every queue at once. Who sees a status is the
matrix's business: the periods are shown with the ``staff`` facet (担当・滞納区分),
which only ward staff and auditors hold; operators and investigators never
learn a kind — an excluded case is simply out of their scope.

The legal bases are labels for staff, from TAX_NOTES §7 (not all confirmed
against the statute text; see docs/taxes.md).
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, or_

from ..models import Case, StatusKind, StatusPeriod


class Work(enum.StrEnum):
    """The work a status can exclude a case from."""

    calls = "calls"      # call campaigns (and so the operators' scope)
    letters = "letters"  # 催告書
    survey = "survey"    # 現地調査 (and so the investigators' scope)


ALL_WORK = frozenset(Work)


@dataclass(frozen=True)
class KindRule:
    """Labels are the messages ``status.kind.<kind>``."""

    legal_basis: str
    excludes: frozenset[Work]


RULES: dict[StatusKind, KindRule] = {
    # Collection deferred by law: no demand while it lasts.
    StatusKind.deferral: KindRule("地方税法15条", ALL_WORK),
    # Paid by instalments under the deferral: a demand for everything would be wrong.
    StatusKind.realization_deferral: KindRule("地方税法15条の5・15条の6", ALL_WORK),
    StatusKind.suspension: KindRule("地方税法15条の7", ALL_WORK),
    StatusKind.seizure: KindRule("地方税法331条ほか", ALL_WORK),
    StatusKind.claim: KindRule("地方税法331条ほか（国税徴収法の例）", ALL_WORK),
    StatusKind.bankruptcy: KindRule("破産法", ALL_WORK),
    StatusKind.deceased: KindRule("地方税法9条（納税義務の承継）", ALL_WORK),
    StatusKind.write_off: KindRule("地方税法15条の7・18条", ALL_WORK),
}


def kind_in_force_clause(kinds, today: dt.date) -> ColumnElement[bool]:
    """WHERE clause over :class:`Case`: a status of one of ``kinds`` is in
    force today (approved, started, not ended). THE definition of "in force"."""
    return exists().where(
        StatusPeriod.case_id == Case.id, StatusPeriod.kind.in_(list(kinds)),
        StatusPeriod.approved_at.is_not(None), StatusPeriod.starts_on <= today,
        or_(StatusPeriod.ends_on.is_(None), StatusPeriod.ends_on >= today))


def in_force_clause(work: Work, today: dt.date) -> ColumnElement[bool]:
    """WHERE clause over :class:`Case`: a status excluding ``work`` is in force today."""
    return kind_in_force_clause([kind for kind, rule in RULES.items() if work in rule.excludes],
                                today)


#: The work an installment plan in good standing (履行中) keeps a case from:
#: the taxpayer keeps the 誓約, so no call, letter or visit demands the whole
#: balance (issue 20; docs/collections.md). A 不履行 plan excludes nothing.
PLAN_EXCLUDES: frozenset[Work] = ALL_WORK


def available_for(work: Work, today: dt.date) -> ColumnElement[bool]:
    """WHERE clause over :class:`Case`: no status and no installment plan in
    good standing keeps it from ``work`` today."""
    from .plans import in_good_standing_clause

    clause = ~in_force_clause(work, today)
    if work in PLAN_EXCLUDES:
        clause = clause & ~in_good_standing_clause()
    return clause


class StatusError(ValueError):
    """A status period that cannot be stored; ``args[0]`` is a message key."""


def check_period(existing: list[StatusPeriod], kind: StatusKind, starts_on: dt.date,
                 ends_on: dt.date | None) -> None:
    """Refuse an end before the start and an overlap with a period of the same kind."""
    if ends_on is not None and ends_on < starts_on:
        raise StatusError("status.error.end_before_start")
    for period in existing:
        if period.kind == kind and overlap(period.starts_on, period.ends_on, starts_on, ends_on):
            raise StatusError("status.error.overlap")


def overlap(starts_on: dt.date, ends_on: dt.date | None, other_starts_on: dt.date,
            other_ends_on: dt.date | None) -> bool:
    """Two periods share a day (an end of None: still in force); ends are inclusive."""
    far = dt.date.max
    return starts_on <= (other_ends_on or far) and other_starts_on <= (ends_on or far)

