"""The list "時効が近い" (``/cases/limitation``): installments with unpaid
本税 whose right to collect expires within ``intranet.limitation.warn_months``
months of today (or has expired without a write-off), and its CSV.

The dates come from :mod:`intranet.taxes.limitation`; the amounts from
:mod:`intranet.taxes.owed`. Installments are loaded with their cases,
receipts, the cases' status periods and payment agreements in a fixed number
of queries, whatever the number of rows; the cases go through the disclosure
gate before anything is rendered.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload

from .. import tabular
from ..i18n import translate
from ..models import (
    Assessment, Case, CaseStatus, Installment, PaymentAgreement, Receipt, ReceiptKind,
    StatusPeriod,
)
from ..resources import CaseContainer
from ..security.matrix import Facet
from ..security.permissions import Permission
from ..taxes.limitation import Limitation, Rule, installment_limitation
from ..taxes.owed import Owed, amount_rules

#: What a row shows: amounts (payment), tax and year (assessment), the rule,
#: which may name a status (staff).
FACETS = (Facet.payment, Facet.assessment, Facet.staff)
SORTS = {
    "expiry": lambda r: (r.limitation.expires_on, r.case.case_no, r.fiscal_year, r.period_no),
    "case": lambda r: (r.case.case_no, r.fiscal_year, r.period_no),
}


@dataclass(frozen=True)
class LimitationSettings:
    """``intranet.limitation.warn_months`` (default 6): how far ahead the list
    looks; ``intranet.limitation.shift_due_dates`` (default false): count the
    five years from the holiday-shifted 納期限 (UNCONFIRMED; docs/taxes.md)."""

    warn_months: int = 6
    shift_due_dates: bool = False


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` ``months`` later, on the month's last day when there is no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


@dataclass(frozen=True)
class Row:
    case: Case
    installment: Installment
    limitation: Limitation
    owed: Owed

    @property
    def assessment(self) -> Assessment:
        return self.installment.assessment

    @property
    def fiscal_year(self) -> int:
        return self.assessment.fiscal_year

    @property
    def period_no(self) -> int:
        return self.installment.period_no


def candidates(request) -> list[Installment]:
    """Installments of open cases in scope whose 本税 is not fully paid, with
    their assessments, cases, receipts (four queries: installments, receipts,
    status periods, agreements; the last two are in :func:`rows`)."""
    tax_paid = (select(func.coalesce(func.sum(Receipt.amount), 0))
                .where(Receipt.installment_id == Installment.id, Receipt.kind == ReceiptKind.tax)
                .correlate(Installment).scalar_subquery())
    stmt = (select(Installment).join(Installment.assessment).join(Assessment.case)
            .where(Case.status == CaseStatus.open, tax_paid < Installment.tax_amount)
            .options(contains_eager(Installment.assessment).contains_eager(Assessment.case),
                     selectinload(Installment.receipts)))
    stmt = request.disclosure.scoped(stmt, Case.id)
    return list(request.dbsession.scalars(stmt).unique())


def rows(request, settings: LimitationSettings, horizon: dt.date) -> list[Row]:
    installments = candidates(request)
    case_ids = sorted({i.assessment.case_id for i in installments})
    periods: dict[int, list[StatusPeriod]] = {}
    agreements: dict[int, list[dt.date]] = {}
    if case_ids:
        for p in request.dbsession.scalars(
                select(StatusPeriod).where(StatusPeriod.case_id.in_(case_ids),
                                           StatusPeriod.approved_at.is_not(None))):
            periods.setdefault(p.case_id, []).append(p)
        for case_id, agreed_on in request.dbsession.execute(
                select(PaymentAgreement.case_id, PaymentAgreement.agreed_on)
                .where(PaymentAgreement.case_id.in_(case_ids))):
            agreements.setdefault(case_id, []).append(agreed_on)
    rules, today = amount_rules(request), request.today
    found = []
    for inst in installments:
        case_id = inst.assessment.case_id
        lim = installment_limitation(inst, agreements=agreements.get(case_id, ()),
                                     periods=periods.get(case_id, ()),
                                     shift_due=settings.shift_due_dates)
        if lim.rule == Rule.write_off or lim.expires_on is None or lim.expires_on > horizon:
            continue
        owed = rules.installment(inst, today)
        if owed.tax_overdue <= 0:
            continue
        found.append(Row(inst.assessment.case, inst, lim, owed))
    return found


def limitation_settings(request) -> LimitationSettings:
    """Parsed once at start-up (intranet.config)."""
    return request.app_settings.cases.limitation


@view_config(context=CaseContainer, name="limitation", renderer="cases/limitation.jinja2",
             permission=Permission.LimitationView, request_method="GET")
def limitation_list(request):
    sort = request.GET.get("sort", "expiry")
    if sort not in SORTS:
        raise HTTPBadRequest(translate(request.locale_name, "limitation.error.sort"))
    settings = limitation_settings(request)
    today = request.today
    horizon = add_months(today, settings.warn_months)
    found = rows(request, settings, horizon)
    shown = request.disclosure.show([r.case for r in found], FACETS)
    if set(FACETS) <= set(shown.facets):
        ids = {c.id for c in shown.cases}
        found = sorted((r for r in found if r.case.id in ids), key=SORTS[sort])
    else:
        found = []
    if request.GET.get("format") == "csv":
        return csv_response(request, found, today)
    return {"rows": found, "sort": sort, "sorts": list(SORTS), "today": today,
            "horizon": horizon, "months": settings.warn_months}


CSV_HEADER = ("field.case_no", "field.tax_type", "field.fiscal_year", "field.period_no", "field.due_date", "limitation.field.tax_overdue",
              "limitation.field.overdue", "limitation.field.expires_on", "limitation.field.rule")


def csv_response(request, found: list[Row], today: dt.date) -> Response:
    def t(key, **kw):
        return translate(request.locale_name, key, **kw)

    table = [[t(key) for key in CSV_HEADER]]
    for r in found:
        table.append([r.case.case_no, t(f"tax_type.{r.assessment.tax_type}"), r.fiscal_year,
                      r.period_no, r.installment.due_date.isoformat(), r.owed.tax_overdue,
                      r.owed.overdue, r.limitation.expires_on.isoformat(),
                      t(f"limitation.rule.{r.limitation.rule}")])
    response = Response(body=tabular.csv_bytes(table), content_type="text/csv", charset="utf-8")
    response.content_disposition = f'attachment; filename="limitation-{today.isoformat()}.csv"'
    return response
