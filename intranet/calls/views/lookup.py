"""外部からの電話応対: finding an incoming caller."""
from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import select

from ...models import CallCampaign, CampaignCase
from ...resources import CallCenter
from ...cases.search import MAX_TERM, Criteria, read_criteria, search_cases
from ...security.matrix import Facet
from ...security.permissions import Permission

FIELDS = ("phone", "notice_no", "case_no", "name")
#: Shorter terms match too many people to read out on the phone.
MIN_TERM = 2


@view_config(context=CallCenter, name="lookup", renderer="calls/lookup.jinja2",
             permission=Permission.CallLookup, request_method=("GET", "POST"))
def lookup(request):
    """外部からの電話応対: find the caller among the cases this operator may
    open (the call center's entrusted scope, ``Scope.entrusted_cases``: any
    campaign of this fiscal year) by phone number in any format, notice
    number, case number or name/kana. Terms travel in the request body; every
    result shown is logged as disclosed. A term of one character is too broad
    (400)."""
    gate = request.disclosure
    criteria, errors, page = Criteria(), [], None
    if request.method == "POST":
        criteria, bad = read_criteria(request.POST, FIELDS)
        errors = ["cases.search.too_long"] if bad else []
        if not errors and any(0 < len(getattr(criteria, name).strip()) < MIN_TERM for name in FIELDS):
            errors = ["calls.error.lookup_short"]
        if errors:
            request.response.status = 400
        elif not criteria.is_empty():
            page = search_cases(request.dbsession, gate.clause(), gate.facets, criteria)
            page.cases = gate.show(page.cases, [Facet.identity, Facet.verification]).cases
    targets = {}
    if page and page.cases:
        targets = dict(request.dbsession.execute(
            select(CampaignCase.case_id, CampaignCase.target_id)
            .join(CallCampaign, CallCampaign.id == CampaignCase.campaign_id)
            .where(CampaignCase.case_id.in_([c.id for c in page.cases]),
                   CallCampaign.active_on(request.today))).all())
    return {"criteria": criteria, "page": page, "targets": targets, "errors": errors,
            "max_term": MAX_TERM, "min_term": MIN_TERM,
            "notice": request.GET.get("notice") == "incoming"}
