"""The investigator's pages (tablet): their own targets and, of each, only
name, postal code, address, 方書 and the batch deadline."""
from __future__ import annotations

import os

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from ...audit.events import AuditEvent
from ...cases.scopes import visible_cases_clause
from ...models import SurveyBatch, SurveyPhoto, SurveyTarget
from ...params import whole_number
from ...resources import CaseResource, SurveyArea, SurveyTargetResource
from ...security.matrix import Facet
from ...security.permissions import Permission
from .. import photos, reports


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
             permission=Permission.SurveyTargetView, request_method="GET")
def target_page(request):
    return _target_context(request)


def _photo_dir(request) -> str:
    return request.registry.settings.get("intranet.survey.photo_dir") or os.path.join(
        os.getcwd(), "var", "survey-photos")


def _target_context(request, errors=None, values=None):
    target = request.context.target
    case_resource = CaseResource(target.case, request.root["cases"])
    identity = request.has_permission(Facet.identity.permission, case_resource)
    facets = [Facet.identity] if identity else []
    everything = request.has_permission(Permission.SurveyReview, request.root["survey"]["batches"])
    mine = request.has_permission(Permission.SurveyReport, request.context)
    versions = reports.history(request.dbsession, target)
    if not everything:  # the investigator: their own latest report only
        versions = [r for r in versions if r.submitted_by == request.identity.id][:1]
    if versions:
        facets.append(Facet.survey)
    request.audit.disclose([target.case], facets)
    return {"target": target, "taxpayer": target.case.taxpayer if identity else None,
            "reports": versions, "can_report": mine, "everything": everything,
            "errors": errors or [], "values": values or {}, "memo_max": reports.MEMO_MAX,
            "choices": {"residence": reports.RESIDENCE, "nameplate": reports.NAMEPLATE,
                        "tenure": reports.TENURE}}


@view_config(context=SurveyTargetResource, name="report", renderer="survey/target.jinja2",
             permission=Permission.SurveyReport, request_method="POST")
def target_report(request):
    form = reports.parse(request.POST, request.now)
    if form.errors:
        request.response.status = 400
        values = {k: v for k, v in request.POST.items() if isinstance(v, str)}
        return _target_context(request, form.errors, values)
    report = reports.submit(request.dbsession, request.context.target, form, request.identity,
                            request.now, _photo_dir(request))
    request.audit.event(AuditEvent.SurveyReport, user=request.identity, target=request.context.target.id,
                        version=report.version, photos=len(form.photos))
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=SurveyTargetResource, name="photo", permission=Permission.SurveyTargetView)
def target_photo(request):
    """One stored photo of this target's reports: authorized like the target, logged."""
    target = request.context.target
    photo_id = whole_number(request.subpath[0] if request.subpath else "")
    photo = request.dbsession.get(SurveyPhoto, photo_id) if photo_id is not None else None
    if photo is None or photo.report.target_id != target.id:
        raise HTTPNotFound()
    everything = request.has_permission(Permission.SurveyReview, request.root["survey"]["batches"])
    if not everything and photo.report.submitted_by != request.identity.id:
        raise HTTPNotFound()
    try:
        body = photos.load(_photo_dir(request), photo.sha256)
    except FileNotFoundError:
        raise HTTPNotFound() from None
    request.audit.disclose([target.case], [Facet.survey])
    response = Response(body=body, content_type=photo.content_type)
    response.content_disposition = "inline"
    return response
