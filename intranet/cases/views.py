"""The case list/search page, THE case page (one template set for every
role), the do-not-call flag and collection statuses."""
import datetime as dt

from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..audit.events import AuditEvent
from ..models import CallBlock, StatusKind, StatusPeriod
from ..params import page_number, parse_date, whole_number
from ..resources import CaseContainer, CaseResource, StatusApprovals
from ..security.matrix import FACETS, Facet
from ..security.permissions import Permission
from ..taxes.owed import amount_rules
from .filters import allowed_filters, filter_choices, filter_conditions, read_filters
from . import page_loading
from .contact_views import contact_context
from .search import MAX_TERM, Criteria, read_criteria, search_cases
from .statuses import RULES, StatusError, check_period


#: The facets whose items the list page shows as columns (cases/list.jinja2).
LIST_FACETS = (Facet.identity, Facet.verification, Facet.payment, Facet.staff)


#: A scope of grants (not every case) counts at most this many matches; the
#: list says there are more and asks for a narrower search (20 pages).
SCOPED_COUNT_CAP = 1000


def list_facets(facets) -> list[Facet]:
    """The list columns this user gets (the case number is always shown)."""
    return [f for f in LIST_FACETS if f in facets]


@view_config(context=CaseContainer, renderer="cases/list.jinja2",
             permission=Permission.CasesSearch, request_method=("GET", "POST"))
def case_list(request):
    """All reachable cases (GET) or a search (POST: the terms are personal
    data, so they travel in the body, never in the URL). Filters (tax type,
    year, 滞納区分, staff, status, overdue amount) are no personal data and
    stay in the URL for both; a filter on a facet the role may not see, or a
    bad value, is refused with 400 (intranet.cases.filters)."""
    gate = request.disclosure
    facets = gate.facets
    criteria, errors = Criteria(), []
    if request.method == "POST":
        criteria, errors = read_criteria(request.POST, criteria.allowed_fields(facets))
    filters, filter_errors = read_filters(request.GET, facets)
    page_no = page_number(request.POST.get("page") if request.method == "POST" else request.GET.get("page"))
    scope = gate.clause()
    page = search_cases(request.dbsession, scope, facets, criteria, page_no,
                        filters=filter_conditions(filters, request.today),
                        count_cap=None if gate.reaches_every_case else SCOPED_COUNT_CAP)
    page.cases = gate.show(page.cases, LIST_FACETS).cases
    shown = list_facets(gate.granted(LIST_FACETS))
    if errors or filter_errors:
        request.response.status = 400
    filter_fields = allowed_filters(facets)
    return {"page": page, "criteria": criteria, "facets": shown, "errors": errors,
            "search_fields": criteria.allowed_fields(facets), "max_term": MAX_TERM,
            "Facet": Facet, "filters": filters, "filter_fields": filter_fields,
            "filter_errors": filter_errors,
            "filter_choices": filter_choices(filter_fields),
            "action": request.resource_path(request.context, query=filters.query())}


@view_config(context=CaseResource, renderer="cases/detail.jinja2", permission=Permission.CaseView)
def case_detail(request, debit_errors=(), debit_values=None, **contact_state):
    context = request.context
    facets = list(request.disclosure.show([context.case], Facet).facets)
    context.page_rows = page_loading.load(request, context.case, facets)
    audit_area = request.root["audit"]
    viewers_url = (request.resource_path(audit_area, query={"case_no": context.case.case_no})
                   if request.has_permission(Permission.AuditLogView, audit_area) else None)
    statuses = status_periods(request, context.case) if Facet.staff in facets else []
    owed = (amount_rules(request).case(context.case, request.today)
            if Facet.payment in facets else None)
    from ..templating import late_charges
    from .debit_views import debit_context
    from .plan_views import plan_context

    return {"case": context.case, "taxpayer": context.case.taxpayer, "facets": facets,
            **plan_context(request, context.case, facets, owed), "plan_errors": [],
            "plan_form": {},
            "late_charges": late_charges(request, context.case) if owed is not None else {},
            "statuses": statuses, "status_kinds": list(StatusKind), "status_errors": [],
            "owed": owed,
            "can_edit_status": request.has_permission(Permission.CaseStatusEdit, context),
            "facet_info": FACETS, "viewers_url": viewers_url, "call_blocks": list(CallBlock),
            "can_block": request.has_permission(Permission.CaseCallBlockEdit, context),
            "can_slip": request.has_permission(Permission.CaseSlipIssue, context),
            **contact_context(request, facets, **contact_state),
            **debit_context(request, context.case, facets, debit_errors, debit_values)}


@view_config(context=CaseResource, name="call-block", permission=Permission.CaseCallBlockEdit,
             request_method="POST")
def set_call_block(request):
    """Flag a case "do not call" (相談中, 分納中, ...) or clear the flag. While
    flagged it is out of every call campaign and hidden from operators."""
    case = request.context.case
    value = request.POST.get("call_block", "")
    try:
        block = CallBlock(value) if value else None
    except ValueError:
        raise HTTPBadRequest() from None
    if block != case.call_block:
        request.audit.event(AuditEvent.CaseCallBlock, user=request.identity, case=case.case_no,
                            before=str(case.call_block or ""), after=str(block or ""))
        case.call_block = block
    return HTTPSeeOther(request.resource_path(request.context))


# ---------------------------------------------------------------- collection statuses

@view_config(context=CaseResource, name="status", permission=Permission.CaseStatusEdit,
             request_method="POST", renderer="cases/detail.jinja2")
def record_status(request):
    """Record a collection status period, or (``period``) the end of one in
    force. Bad input: 400 with the case page and the message; nothing stored."""
    case = request.context.case
    post = request.POST
    periods = status_periods(request, case)
    try:
        if post.get("period"):
            period = next((p for p in periods if str(p.id) == post.get("period")
                           and p.ends_on is None), None)
            if period is None:
                raise StatusError("status.error.period")
            ends_on = _status_date(post.get("ends_on"))
            check_period([p for p in periods if p is not period], period.kind, period.starts_on,
                         ends_on)
            period.ends_on = ends_on
            event = {"period": period.id, "kind": str(period.kind), "ended": ends_on.isoformat()}
        else:
            try:
                kind = StatusKind(post.get("kind", ""))
            except ValueError:
                raise StatusError("status.error.kind") from None
            starts_on = _status_date(post.get("starts_on"))
            ends_on = _status_date(post.get("ends_on")) if post.get("ends_on") else None
            reason = post.get("reason", "")
            reason = reason.strip() if isinstance(reason, str) else ""
            if len(reason) > 1000:
                raise StatusError("status.error.reason")
            check_period(periods, kind, starts_on, ends_on)
            approved = not request.app_settings.cases.status_approval
            period = StatusPeriod(case_id=case.id, kind=kind, starts_on=starts_on, ends_on=ends_on,
                                  legal_basis=RULES[kind].legal_basis, reason=reason,
                                  recorded_by=request.identity.id, recorded_at=request.now,
                                  approved_by=request.identity.id if approved else None,
                                  approved_at=request.now if approved else None)
            request.dbsession.add(period)
            request.dbsession.flush()
            event = {"period": period.id, "kind": str(kind), "starts": starts_on.isoformat(),
                     "pending": not approved}
    except StatusError as exc:
        request.response.status = 400
        return {**case_detail(request), "status_errors": [exc.args[0]]}
    request.audit.event(AuditEvent.CaseStatus, user=request.identity, case=case.case_no, **event)
    return HTTPSeeOther(request.resource_path(request.context) + "#facet-staff")


def _status_date(value) -> dt.date:
    try:
        return parse_date(value)
    except ValueError:
        raise StatusError("status.error.date") from None


def status_periods(request, case) -> list[StatusPeriod]:
    loaded = page_loading.preloaded(request, "statuses")
    if loaded is not None:
        return loaded
    return list(request.dbsession.scalars(
        select(StatusPeriod).where(StatusPeriod.case_id == case.id)
        .order_by(StatusPeriod.starts_on.desc(), StatusPeriod.id.desc())))


# ---------------------------------------------------------------- supervisors' approval

@view_config(context=StatusApprovals, renderer="cases/approvals.jinja2",
             permission=Permission.CaseStatusApprove, request_method="GET")
def status_approvals(request, errors=None):
    """Statuses recorded by collectors that wait for a supervisor (only when
    the ward requires approval). Their cases pass through the gate."""
    pending = request.dbsession.scalars(request.disclosure.scoped(
        select(StatusPeriod).where(StatusPeriod.approved_at.is_(None))
        .options(joinedload(StatusPeriod.case), joinedload(StatusPeriod.recorder))
        .order_by(StatusPeriod.recorded_at), StatusPeriod.case_id)).all()
    shown = request.disclosure.show([p.case for p in pending], [Facet.staff])
    visible = {case.id for case in shown.cases}
    return {"pending": [p for p in pending if p.case_id in visible], "errors": errors or [],
            "required": request.app_settings.cases.status_approval}


@view_config(context=StatusApprovals, renderer="cases/approvals.jinja2",
             permission=Permission.CaseStatusApprove, request_method="POST")
def status_approve(request):
    period_id = whole_number(request.POST.get("period"))
    period = request.dbsession.get(StatusPeriod, period_id) if period_id is not None else None
    if (period is None or not period.pending
            or not request.disclosure.in_scope([period.case_id])):
        request.response.status = 400
        return status_approvals(request, ["status.error.not_pending"])
    if period.recorded_by == request.identity.id:
        request.response.status = 400  # four eyes: nobody approves their own record
        return status_approvals(request, ["status.error.own"])
    period.approved_by, period.approved_at = request.identity.id, request.now
    request.audit.event(AuditEvent.CaseStatus, user=request.identity, case=period.case.case_no,
                        period=period.id, kind=str(period.kind), approved=True)
    return HTTPSeeOther(request.resource_path(request.context))
