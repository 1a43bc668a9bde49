"""The case list/search page and THE case page (one template set for every role)."""
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config

from ..audit.events import AuditEvent
from ..models import CallBlock
from ..params import page_number

from ..resources import CaseContainer, CaseResource
from ..security.matrix import FACETS, Facet
from ..security.permissions import Permission
from .search import MAX_TERM, Criteria, read_criteria, search_cases


#: The facets whose items the list page shows as columns (cases/list.jinja2).
LIST_FACETS = (Facet.identity, Facet.verification, Facet.payment, Facet.staff)


def list_facets(facets) -> list[Facet]:
    """The list columns this user gets (the case number is always shown)."""
    return [f for f in LIST_FACETS if f in facets]


@view_config(context=CaseContainer, renderer="cases/list.jinja2",
             permission=Permission.CasesSearch, request_method=("GET", "POST"))
def case_list(request):
    """All reachable cases (GET) or a search (POST: the terms are personal
    data, so they travel in the body, never in the URL)."""
    gate = request.disclosure
    facets = gate.facets
    criteria, errors = Criteria(), []
    if request.method == "POST":
        criteria, errors = read_criteria(request.POST, criteria.allowed_fields(facets))
    page_no = page_number(request.POST.get("page") if request.method == "POST" else request.GET.get("page"))
    page = search_cases(request.dbsession, gate.clause(), facets, criteria, page_no)
    page.cases = gate.show(page.cases, LIST_FACETS).cases
    shown = list_facets(gate.granted(LIST_FACETS))
    if errors:
        request.response.status = 400
    return {"page": page, "criteria": criteria, "facets": shown, "errors": errors,
            "search_fields": criteria.allowed_fields(facets), "max_term": MAX_TERM,
            "Facet": Facet}


@view_config(context=CaseResource, renderer="cases/detail.jinja2", permission=Permission.CaseView)
def case_detail(request):
    context = request.context
    facets = list(request.disclosure.show([context.case], Facet).facets)
    audit_area = request.root["audit"]
    viewers_url = (request.resource_path(audit_area, query={"case_no": context.case.case_no})
                   if request.has_permission(Permission.AuditLogView, audit_area) else None)
    return {"case": context.case, "taxpayer": context.case.taxpayer, "facets": facets,
            "facet_info": FACETS, "viewers_url": viewers_url, "call_blocks": list(CallBlock),
            "can_block": request.has_permission(Permission.CaseCallBlockEdit, context),
            "can_slip": request.has_permission(Permission.CaseSlipIssue, context)}


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
