"""外部からの電話応対: finding an incoming caller."""
from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import select

from ...models import CallCampaign, CampaignCase
from ...resources import CallCenter
from ...cases.search import MAX_TERM, Criteria, read_criteria, search_cases
from ...security.matrix import Facet
from ...security.permissions import Permission


@view_config(context=CallCenter, name="lookup", renderer="calls/lookup.jinja2",
             permission=Permission.CallLookup, request_method=("GET", "POST"))
def lookup(request):
    """外部からの電話応対: find the caller among the cases this operator may
    open (cases of active campaigns) by phone number in any format, notice
    number or name/kana. Terms travel in the request body; every result shown
    is logged as disclosed."""
    gate = request.disclosure
    criteria, errors, page = Criteria(), [], None
    if request.method == "POST":
        criteria, errors = read_criteria(request.POST, ("phone", "notice_no", "name"))
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
            "max_term": MAX_TERM}
