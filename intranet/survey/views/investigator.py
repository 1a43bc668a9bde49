"""The investigator's pages (tablet): their own targets and, of each, only
name, postal code, address, 方書 and the batch deadline."""
from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import select

from ...cases.scopes import visible_cases_clause
from ...models import SurveyBatch, SurveyTarget
from ...resources import CaseResource, SurveyArea, SurveyTargetResource
from ...security.matrix import Facet
from ...security.permissions import Permission


@view_config(context=SurveyArea, renderer="survey/mine.jinja2", permission=Permission.SurveyWork)
def my_targets(request):
    """Only targets assigned to this user that the contractor scope reaches."""
    from ...models import Case

    me = request.identity
    targets = request.dbsession.scalars(
        select(SurveyTarget).join(SurveyBatch, SurveyBatch.id == SurveyTarget.batch_id)
        .join(Case, Case.id == SurveyTarget.case_id)
        .where(SurveyTarget.investigator_id == me.id,
               visible_cases_clause(request.principals, request.today))
        .order_by(SurveyBatch.deadline, SurveyTarget.area, SurveyTarget.id)).all()
    request.audit.disclose([t.case for t in targets], [Facet.identity])
    return {"targets": targets}


@view_config(context=SurveyTargetResource, renderer="survey/target.jinja2",
             permission=Permission.SurveyTargetView)
def target_page(request):
    target = request.context.target
    case_resource = CaseResource(target.case, request.root["cases"])
    identity = request.has_permission(Facet.identity.permission, case_resource)
    request.audit.disclose([target.case], [Facet.identity] if identity else [])
    return {"target": target, "taxpayer": target.case.taxpayer if identity else None}
