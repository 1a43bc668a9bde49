"""Case list filters (issue 20): tax type, fiscal year, 滞納区分, staff member,
collection status and overdue amount, kept in the URL.

A filter narrows the list by the items of one facet, and a list that shrinks
when filtered on an item tells its user something about that item. So each
filter belongs to a facet (``FILTER_FACETS``, read against the matrix through
the disclosure gate's facets): a role that may not see the facet is not
offered the filter, and a forged one in the URL is refused (400). The values
are no personal data (codes, years, amounts, staff names), so they may travel
in the URL; the search terms (name, address, phone ...) stay in a POST body.

Every filter is SQL over :class:`Case`, ANDed with the scope clause of the
gate: no case is loaded to be checked.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from sqlalchemy import ColumnElement, exists

from ..models import Assessment, Case, StatusKind, TaxType
from ..params import text, whole_number
from ..security.matrix import Facet
from .statuses import kind_in_force_clause

#: The largest amount a filter takes: ``cases.balance`` is a 32-bit integer
#: on PostgreSQL, where a larger bound failed the whole query (500).
MAX_AMOUNT = 2_147_483_647

#: ``status=none``: cases with no collection status in force.
NO_STATUS = "none"
MAX_TEXT = 100
MIN_YEAR, MAX_YEAR = 1900, 2100


@dataclass
class CaseFilters:
    tax_type: TaxType | None = None      # 税目 (of an assessment of the case)
    fiscal_year: int | None = None       # 年度 (of the same assessment)
    category: str = ""                   # 滞納区分 (exact)
    staff: str = ""                      # 担当者 (exact)
    status: str = ""                     # a StatusKind in force today, or NO_STATUS
    balance_min: int | None = None       # overdue amount (Case.balance), yen
    balance_max: int | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, "") for f in fields(self))

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (the empty ones left out)."""
        return {f.name: str(getattr(self, f.name)) for f in fields(self)
                if getattr(self, f.name) not in (None, "")}


#: The facet whose items each filter reads.
FILTER_FACETS: dict[str, Facet] = {
    "tax_type": Facet.assessment, "fiscal_year": Facet.assessment,
    "category": Facet.staff, "staff": Facet.staff, "status": Facet.staff,
    "balance_min": Facet.payment, "balance_max": Facet.payment,
}


def allowed_filters(facets) -> list[str]:
    return [name for name, facet in FILTER_FACETS.items() if facet in facets]


def read_filters(params, facets) -> tuple[CaseFilters, list[str]]:
    """Filters from the URL's ``params``; returns them and the names of the
    refused ones (not allowed for ``facets``, or not a valid value), which
    are left empty. The view answers 400 when any is refused."""
    filters, errors = CaseFilters(), []
    allowed = set(allowed_filters(facets))
    for name in FILTER_FACETS:
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        if name not in allowed:
            errors.append(name)
            continue
        try:
            setattr(filters, name, _parse(name, raw))
        except ValueError:
            errors.append(name)
    if (filters.balance_min is not None and filters.balance_max is not None
            and filters.balance_min > filters.balance_max):
        errors.append("balance_max")
        filters.balance_max = None
    return filters, errors


def _parse(name: str, raw):
    if not isinstance(raw, str):
        raise ValueError(name)
    if name == "tax_type":
        return TaxType(raw)
    if name == "status":
        return raw if raw == NO_STATUS else StatusKind(raw).value
    if name == "fiscal_year":
        year = whole_number(raw, 4)
        if year is None or not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(name)
        return year
    if name in ("balance_min", "balance_max"):
        amount = whole_number(raw.replace(",", ""), 12)
        if amount is None or amount > MAX_AMOUNT:
            raise ValueError(name)
        return amount
    value = text(raw, MAX_TEXT)
    if not value:
        raise ValueError(name)
    return value


def filter_conditions(filters: CaseFilters, today: dt.date) -> list[ColumnElement[bool]]:
    """WHERE conditions over :class:`Case` for ``filters`` (already checked
    against the facets by :func:`read_filters`)."""
    conditions = []
    if filters.tax_type is not None or filters.fiscal_year is not None:
        on_assessment = [Assessment.case_id == Case.id]
        if filters.tax_type is not None:
            on_assessment.append(Assessment.tax_type == filters.tax_type)
        if filters.fiscal_year is not None:
            on_assessment.append(Assessment.fiscal_year == filters.fiscal_year)
        conditions.append(exists().where(*on_assessment))
    if filters.category:
        conditions.append(Case.delinquency_category == filters.category)
    if filters.staff:
        conditions.append(Case.assigned_staff == filters.staff)
    if filters.status == NO_STATUS:
        conditions.append(~kind_in_force_clause(StatusKind, today))
    elif filters.status:
        conditions.append(kind_in_force_clause([StatusKind(filters.status)], today))
    # THE overdue amount: Case.balance, what intranet.taxes.owed counts as
    # overdue (installments past their 納期限 only), as of the last import.
    if filters.balance_min is not None:
        conditions.append(Case.balance >= filters.balance_min)
    if filters.balance_max is not None:
        conditions.append(Case.balance <= filters.balance_max)
    return conditions


def filter_choices(filters: list[str]) -> dict[str, list]:
    """The values a select offers: codes only. 滞納区分 and 担当者 are typed
    (exact match), never listed from the cases: a list of the values stored
    in the cases would disclose staff-facet items past the disclosure gate
    and its access log."""
    choices: dict[str, list] = {}
    if "tax_type" in filters:
        choices["tax_type"] = [kind.value for kind in TaxType]
    if "status" in filters:
        choices["status"] = [kind.value for kind in StatusKind] + [NO_STATUS]
    return choices
