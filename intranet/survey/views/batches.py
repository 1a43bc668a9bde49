"""Survey batches (collectors): choose movers-out, assign investigators, open."""
from __future__ import annotations


from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ... import tabular
from ...audit.events import AuditEvent
from ...models import BatchState, Contract, SurveyBatch, SurveyTarget, User
from ...params import parse_date, whole_number
from ...resources import SurveyBatchContainer, SurveyBatchResource
from ...security.matrix import Facet
from ...security.permissions import Permission
from ...views.forms import posted_int, posted_row
from .. import reports
from ..batches import MAX_TARGETS, BatchError, assign, assign_area, create, movers_out, open_batch


@view_config(context=SurveyBatchContainer, renderer="survey/batches.jinja2",
             permission=Permission.SurveyReview, request_method="GET")
def batch_list(request, errors=None):
    batches = request.dbsession.scalars(select(SurveyBatch).order_by(SurveyBatch.id.desc())).all()
    counts = dict(request.dbsession.execute(
        select(SurveyTarget.batch_id, func.count()).group_by(SurveyTarget.batch_id)).all())
    contracts = request.dbsession.scalars(
        select(Contract).where(Contract.erased_at.is_(None), Contract.ends_on >= request.today)
        .order_by(Contract.id.desc())).all()
    return {"batches": batches, "counts": counts, "contracts": contracts, "errors": errors or [],
            "max_targets": MAX_TARGETS,
            "can_manage": request.has_permission(Permission.SurveyManage, request.context)}


@view_config(context=SurveyBatchContainer, permission=Permission.SurveyManage,
             request_method="POST")
def batch_create(request):
    post, errors = request.POST, []
    contract = posted_row(request, Contract, "contract_id")
    name = (post.get("name") or "").strip()[:200]
    try:
        deadline = parse_date(post.get("deadline", ""))
    except ValueError:
        deadline = None
    balance_min = posted_int(request, "balance_min")
    prefecture = (post.get("prefecture") or "").strip()[:10]
    if contract is None or contract.erased_at is not None:
        errors.append("survey.error.contract")
    if not name:
        errors.append("survey.error.batch_name")
    if deadline is None:
        errors.append("survey.error.deadline")
    if not errors:
        cases = movers_out(request.dbsession, request.today, prefecture, balance_min)
        try:
            batch = create(request.dbsession, contract, name, deadline, cases, request.identity,
                           request.now)
        except BatchError as exc:
            errors.append(str(exc))
    if errors:
        request.response.status = 400
        return render_to_response("survey/batches.jinja2", batch_list(request, errors),
                                  request=request, response=request.response)
    request.audit.event(AuditEvent.SurveyBatchCreated, user=request.identity, batch=batch.id,
                        targets=len(batch.targets))
    return HTTPSeeOther(request.resource_path(request.context[str(batch.id)]))


@view_config(context=SurveyBatchResource, renderer="survey/batch.jinja2",
             permission=Permission.SurveyReview, request_method="GET")
def batch_page(request, errors=None):
    batch = request.context.batch
    _load_cases(request, batch)
    latest = reports.latest_by_target(request.dbsession, [t.id for t in batch.targets])
    request.disclosure.show([t.case for t in batch.targets],
                            [Facet.identity] + ([Facet.survey] if latest else []))
    investigators = request.dbsession.scalars(
        select(User).where(User.contract_id == batch.contract_id, User.is_active.is_(True))
        .order_by(User.login)).all()
    areas = sorted({t.area for t in batch.targets})
    return {"batch": batch, "investigators": investigators, "areas": areas,
            "errors": errors or [], "latest": latest,
            "progress": reports.progress(batch.targets, latest),
            "can_manage": request.has_permission(Permission.SurveyManage, request.context)}


def _load_cases(request, batch) -> None:
    """Load ``batch.targets`` with their cases and taxpayers at once, so pages
    and exports do not query once per target."""
    request.dbsession.scalars(
        select(SurveyBatch).where(SurveyBatch.id == batch.id)
        .options(selectinload(SurveyBatch.targets).joinedload(SurveyTarget.case))).one()


def _again(request, errors):
    request.response.status = 400
    return render_to_response("survey/batch.jinja2", batch_page(request, errors), request=request,
                              response=request.response)


@view_config(context=SurveyBatchResource, name="assign", permission=Permission.SurveyManage,
             request_method="POST")
def batch_assign(request):
    batch = request.context.batch
    post = request.POST
    investigator = posted_row(request, User, "investigator_id")
    if investigator is None:
        return _again(request, ["survey.error.investigator"])
    try:
        if post.get("area"):
            count = assign_area(batch, post["area"], investigator)
        else:
            ids = {whole_number(i) for i in post.getall("target_id")} - {None}
            count = assign(batch, [t for t in batch.targets if t.id in ids], investigator)
    except BatchError as exc:
        return _again(request, [str(exc)])
    request.audit.event(AuditEvent.SurveyBatchAssigned, user=request.identity, batch=batch.id,
                        investigator=investigator.login, targets=count)
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=SurveyBatchResource, name="open", permission=Permission.SurveyManage,
             request_method="POST")
def batch_open(request):
    batch = request.context.batch
    if batch.state != BatchState.draft:
        return _again(request, ["survey.error.not_draft"])
    try:
        open_batch(batch)
    except BatchError as exc:
        return _again(request, [str(exc)])
    request.audit.event(AuditEvent.SurveyBatchOpened, user=request.identity, batch=batch.id)
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=SurveyBatchResource, name="export", permission=Permission.SurveyManage)
def batch_export(request):
    """Results for collectors only: CSV (UTF-8 with BOM) or Excel."""
    batch = request.context.batch
    _load_cases(request, batch)
    latest = reports.latest_by_target(request.dbsession, [t.id for t in batch.targets])
    rows = reports.export_rows(batch.targets, latest)
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    if fmt == "csv":
        body, content_type = tabular.csv_bytes(rows), "text/csv"
    else:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "調査結果"
        for row in rows:
            tabular.append(sheet, row)
        body = tabular.xlsx_bytes(book)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    request.disclosure.show([t.case for t in batch.targets], [Facet.identity, Facet.survey])
    request.audit.event(AuditEvent.SurveyExport, user=request.identity, batch=batch.id, rows=len(rows) - 1,
                        format=fmt)
    response = Response(body=body, content_type=content_type,
                        charset="utf-8" if fmt == "csv" else None)
    response.content_disposition = f'attachment; filename="survey-{batch.id}.{fmt}"'
    return response
