"""Installment plans on the case page (payment facet) and the collectors'
work list ``/cases/plans``; the domain rules are in :mod:`.plans`."""
from __future__ import annotations

import datetime as dt

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config
from sqlalchemy import case as sql_case, select
from sqlalchemy.orm import joinedload, selectinload

from ..audit.events import AuditEvent
from ..models import Case, PaymentAgreement, PlanState
from ..params import parse_date, whole_number
from ..resources import CaseContainer, CaseResource
from ..security.matrix import Facet
from ..security.permissions import Permission
from ..taxes.owed import amount_rules
from ..taxes.rates import UnknownRate
from . import plans as P

#: What the work list shows: the taxpayer's name (identity) and the plan (payment).
LIST_FACETS = (Facet.identity, Facet.payment)
STATE_ORDER = {PlanState.defaulted: 0, PlanState.current: 1, PlanState.completed: 2}


def plan_grace_days(request) -> int:
    return request.app_settings.cases.plan_grace_days


def needed_for(request, case, today: dt.date, last_due: dt.date | None) -> tuple[int, int]:
    """(overdue today, what the plan should cover): the overdue 本税 and fee
    today plus the late charge those installments will have accrued by the
    plan's last payment (an estimate: paying earlier lowers it; 地方税法
    326条, intranet.taxes.owed)."""
    rules = amount_rules(request)
    now = rules.case(case, today)
    needed = 0
    for inst, owed in now.items:
        if owed.overdue <= 0:
            continue
        needed += owed.tax_overdue + owed.fee + max(owed.late_charge,
                                                    _late_charge_until(rules, inst, today, last_due))
    return now.overdue, needed


def _late_charge_until(rules, inst, today: dt.date, last_due: dt.date | None) -> int:
    """The installment's late charge on the plan's last day; the rates of a
    year are published late in the year before (特例基準割合, TAX_NOTES §1),
    so beyond the last known year the estimate stops at the end of it."""
    for day in (max(today, last_due or today), dt.date(today.year, 12, 31), today):
        try:
            return rules.installment(inst, max(today, min(day, last_due or today))).late_charge
        except UnknownRate:
            continue
    return 0


def plan_context(request, case, facets, owed=None) -> dict:
    """What the payment facet's plan form needs (nothing without the facet);
    ``owed``: the case's amounts today if the caller has them already."""
    if Facet.payment not in facets:
        return {"can_edit_plan": False}
    can_edit = request.has_permission(Permission.CasePlanEdit, request.context)
    if owed is None and can_edit:
        owed = amount_rules(request).case(case, request.today)
    overdue = owed.overdue if can_edit else None
    return {"can_edit_plan": can_edit, "plan_overdue": overdue}


def _date(value, key="plan.error.date") -> dt.date:
    try:
        return parse_date(value)
    except (ValueError, TypeError):
        raise P.PlanError(key) from None


def _text(post, name: str, limit: int) -> str:
    value = post.get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > limit or "\x00" in value:
        raise P.PlanError("plan.error.too_long")
    return value


def read_plan(request, case) -> tuple[dt.date, list[tuple[dt.date, int]], str, str, P.Coverage]:
    """The plan a collector typed, checked; :class:`PlanError` otherwise."""
    post, today = request.POST, request.today
    if any(g.is_active for g in case.agreements):
        raise P.PlanError("plan.error.active")
    signed_on = _date(post.get("signed_on"), "plan.error.signed_on")
    if post.get("mode") == "rows":
        rows = P.parse_rows(post.get("rows", "") if isinstance(post.get("rows"), str) else "")
    else:
        total_raw, count_raw = post.get("total", ""), post.get("count", "")
        if isinstance(total_raw, str) and total_raw.strip().startswith("-"):
            raise P.PlanError("plan.error.amount")
        total = whole_number(total_raw.replace(",", "") if isinstance(total_raw, str) else None, 10)
        count = whole_number(count_raw, 3)
        if total is None or total <= 0:
            raise P.PlanError("plan.error.amount")
        if count is None:
            raise P.PlanError("plan.error.count", max=P.MAX_PAYMENTS)
        first = _date(post.get("first_due_on"), "plan.error.first_due_on")
        rows = P.monthly_schedule(total, count, first)
    P.check_schedule(rows, signed_on=signed_on, today=today)
    note = _text(post, "note", 1000)
    reason = _text(post, "reason", P.MAX_REASON)
    _, needed = needed_for(request, case, today, max(d for d, _ in rows))
    coverage = P.Coverage(sum(a for _, a in rows), needed)
    if coverage.shortfall and not reason:
        raise P.PlanError("plan.error.shortfall", total=coverage.total, needed=coverage.needed,
                          shortfall=coverage.shortfall)
    return signed_on, rows, note, reason if coverage.shortfall else "", coverage


def _render_error(request, exc: P.PlanError):
    from .views import case_detail

    request.response.status = 400
    request.audit.event(AuditEvent.PlanRefused, "failure", user=request.identity,
                        case=request.context.case.case_no, reason=exc.key)
    return {**case_detail(request), "plan_errors": [(exc.key, exc.values)],
            "plan_form": {k: v for k, v in request.POST.items()
                          if k != "csrf_token" and isinstance(v, str)}}


@view_config(context=CaseResource, name="plan", permission=Permission.CasePlanEdit,
             request_method="POST", renderer="cases/detail.jinja2")
def create_plan(request):
    """Create a plan (generated monthly schedule or typed rows). Bad input:
    400 with the case page and the message; nothing stored."""
    case = request.context.case
    try:
        signed_on, rows, note, reason, coverage = read_plan(request, case)
    except P.PlanError as exc:
        return _render_error(request, exc)
    plan = PaymentAgreement(case_id=case.id, agreed_on=signed_on, first_due_on=rows[0][0],
                            instalment_amount=rows[0][1], instalment_count=len(rows),
                            is_active=True, note=note, shortfall_reason=reason,
                            state=PlanState.current, state_since=request.today,
                            created_by=request.identity.id, created_at=request.now)
    P.set_schedule(plan, rows)
    request.dbsession.add(plan)
    request.dbsession.flush()
    # Receipts since the signing may already decide the state.
    P.refresh(request.dbsession, request.today, plan_grace_days(request), case_ids=[case.id])
    request.audit.event(AuditEvent.PlanCreated, user=request.identity, case=case.case_no,
                        plan=plan.id, payments=len(rows), total=coverage.total,
                        needed=coverage.needed, short=bool(coverage.shortfall),
                        state=str(plan.state))
    return HTTPSeeOther(request.resource_path(request.context) + "#plans")


@view_config(context=CaseResource, name="plan-end", permission=Permission.CasePlanEdit,
             request_method="POST", renderer="cases/detail.jinja2")
def end_plan(request):
    """End the case's active plan (the taxpayer withdrew, a new plan follows,
    a collector gives up on it): it excludes nothing from then on."""
    case = request.context.case
    plan_id = whole_number(request.POST.get("plan"))
    plan = next((g for g in case.agreements if g.id == plan_id and g.is_active), None)
    try:
        if plan is None:
            raise P.PlanError("plan.error.not_active")
        _text(request.POST, "reason", P.MAX_REASON)
    except P.PlanError as exc:
        return _render_error(request, exc)
    plan.is_active, plan.ended_on = False, request.today
    request.audit.event(AuditEvent.PlanEnded, user=request.identity, case=case.case_no,
                        plan=plan.id, state=str(plan.state))
    return HTTPSeeOther(request.resource_path(request.context) + "#plans")


@view_config(context=CaseContainer, name="plans", renderer="cases/plans.jinja2",
             permission=Permission.PlansView, request_method="GET")
def plan_list(request):
    """Active plans by state, 不履行 first (the collectors' work list); the
    cases pass through the disclosure gate."""
    state = request.GET.get("state", "")
    if state and state not in set(PlanState):
        request.response.status = 400
        state = ""
    order = sql_case({s: n for s, n in STATE_ORDER.items()}, value=PaymentAgreement.state)
    stmt = (select(PaymentAgreement).join(Case, Case.id == PaymentAgreement.case_id)
            .where(PaymentAgreement.is_active.is_(True))
            .options(joinedload(PaymentAgreement.case), selectinload(PaymentAgreement.payments))
            .order_by(order, PaymentAgreement.missed_due_on, Case.case_no))
    if state:
        stmt = stmt.where(PaymentAgreement.state == PlanState(state))
    found = list(request.dbsession.scalars(request.disclosure.scoped(stmt, PaymentAgreement.case_id)))
    shown = request.disclosure.show([g.case for g in found], LIST_FACETS)
    visible = {c.id for c in shown.cases}
    facets = set(shown.facets)
    rows = [g for g in found if g.case_id in visible] if Facet.payment in facets else []
    counts = {s: sum(1 for g in rows if g.state == s) for s in PlanState}
    return {"rows": rows, "state": state, "states": list(PlanState), "counts": counts,
            "show_name": Facet.identity in facets, "grace_days": plan_grace_days(request)}
