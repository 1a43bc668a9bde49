"""The investigator's pages (tablet): their own targets and, of each, only
name, postal code, address, 方書 and the batch deadline."""
from __future__ import annotations


from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from sqlalchemy.orm import joinedload

from ...audit.events import AuditEvent
from ...models import SurveyBatch, SurveyPhoto, SurveyTarget
from ...params import whole_number
from ...models import ScreenedRecord
from ...resources import SurveyArea, SurveyTargetResource
from ...screening import flags as screening_flags
from ...security.matrix import Condition, Facet
from ...security.permissions import Permission
from .. import photos, reports


@view_config(context=SurveyArea, renderer="survey/mine.jinja2", permission=Permission.SurveyWork)
def my_targets(request):
    """Only targets assigned to this user that the contractor scope reaches."""
    me = request.identity
    targets = request.dbsession.scalars(request.disclosure.scoped(
        select(SurveyTarget).join(SurveyBatch, SurveyBatch.id == SurveyTarget.batch_id)
        .where(SurveyTarget.investigator_id == me.id)
        .options(joinedload(SurveyTarget.case), joinedload(SurveyTarget.batch))
        .order_by(SurveyBatch.deadline, SurveyTarget.area, SurveyTarget.id),
        SurveyTarget.case_id)).all()
    request.disclosure.show([t.case for t in targets], [Facet.identity])
    return {"targets": targets}


@view_config(context=SurveyTargetResource, renderer="survey/target.jinja2",
             permission=Permission.SurveyTargetView, request_method="GET")
def target_page(request):
    return _target_context(request)


def _photo_dir(request) -> str:
    return request.app_settings.survey.photo_dir


def _target_context(request, errors=None, values=None, screening=None):
    target = request.context.target
    gate = request.disclosure
    survey = gate.facet_condition(Facet.survey)
    versions = reports.history(request.dbsession, target) if survey else []
    if survey == Condition.own_report:  # the investigator: their own latest report only
        versions = [r for r in versions if r.submitted_by == request.identity.id][:1]
    shown = gate.show([target.case], [Facet.identity] + ([Facet.survey] if versions else []))
    everything = survey == Condition.in_scope
    mine = request.has_permission(Permission.SurveyReport, request.context)
    return {"target": target, "taxpayer": target.case.taxpayer if Facet.identity in shown else None,
            "reports": versions, "can_report": mine, "everything": everything,
            "errors": errors or [], "values": values or {}, "memo_max": reports.MEMO_MAX,
            "screening": screening,
            "choices": {"residence": reports.RESIDENCE, "nameplate": reports.NAMEPLATE,
                        "tenure": reports.TENURE}}


@view_config(context=SurveyTargetResource, name="report", renderer="survey/target.jinja2",
             permission=Permission.SurveyReport, request_method="POST")
def target_report(request):
    form = reports.parse(request.POST, request.now)
    # Free text naming a forbidden category (seed 004 収集禁止事項) is
    # refused unless the investigator confirms why it is needed.
    screening = screening_flags.screen(request, reports.screened_fields(form))
    if form.errors or screening.refused:
        if screening.refused:
            screening_flags.log_refusal(request, screening, ScreenedRecord.survey_report)
        request.response.status = 400
        values = {k: v for k, v in request.POST.items() if isinstance(v, str)}
        return _target_context(request, form.errors + screening.errors, values, screening)
    report = reports.submit(request.dbsession, request.context.target, form, request.identity,
                            request.now, _photo_dir(request))
    screening_flags.record(request, screening, ScreenedRecord.survey_report, report.id,
                           request.context.target.case_id)
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
    survey = request.disclosure.facet_condition(Facet.survey)
    if survey is None or (survey == Condition.own_report and not _own_latest(request, target, photo)):
        raise HTTPNotFound()
    try:
        body = photos.load(_photo_dir(request), photo.sha256)
    except FileNotFoundError:
        raise HTTPNotFound() from None
    if not request.disclosure.show([target.case], [Facet.survey]):
        raise HTTPNotFound()
    response = Response(body=body, content_type=photo.content_type)
    response.content_disposition = "inline"
    return response


def _own_latest(request, target, photo) -> bool:
    """Whether ``photo`` belongs to the latest report the user filed on its
    target (the only survey data an investigator reads back)."""
    own = [r for r in reports.history(request.dbsession, target)
           if r.submitted_by == request.identity.id][:1]
    return bool(own) and own[0].id == photo.report_id
