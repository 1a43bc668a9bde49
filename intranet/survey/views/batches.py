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
from ...models import BatchState, Case, Contract, SurveyBatch, SurveyTarget, User
from ...params import parse_date, text, whole_number
from ...resources import SurveyBatchContainer, SurveyBatchResource
from ...security.matrix import Facet
from ...security.permissions import Permission
from ...views.forms import posted_int, posted_row
from .. import reports
from .. import selection
from ..batches import (
    MAX_TARGETS, BatchError, add_target, assign, assign_area, create, open_batch, remove_target,
)

#: What the candidates page shows of each case: who, and why it is eligible.
CANDIDATE_FACETS = (Facet.identity, Facet.payment, Facet.contact, Facet.negotiation)
CASE_NOS_MAX = 500  # case numbers added by hand in one go


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


def _filters(params, errors: list | None = None):
    """Prefecture and minimum balance (GET on the candidates page, POST when
    creating); a prefecture that is not one line of text is refused."""
    prefecture = text(params.get("prefecture", ""), 10)
    if prefecture is None:
        if errors is not None:
            errors.append("survey.error.prefecture")
        prefecture = ""
    balance_min = whole_number(params.get("balance_min", ""), 12)
    return prefecture, balance_min


@view_config(context=SurveyBatchContainer, name="candidates", renderer="survey/candidates.jinja2",
             permission=Permission.SurveyManage, request_method="GET")
def batch_candidates(request, errors=None, refused=None, values=None):
    """The cases a new batch would take, with why each is eligible (seed
    004); the collector unticks some, adds others by case number, and
    creates the batch as a draft."""
    params = values if values is not None else request.GET
    errors = list(errors or [])
    prefecture, balance_min = _filters(params, errors if values is None else None)
    if errors and values is None:
        request.response.status = 400
    days = request.app_settings.survey.no_contact_days
    found = selection.candidates(request.dbsession, request.today, days, prefecture, balance_min)
    shown = request.disclosure.show([c.case for c in found], CANDIDATE_FACETS)
    visible = {case.id for case in shown.cases}
    contracts = request.dbsession.scalars(
        select(Contract).where(Contract.erased_at.is_(None), Contract.ends_on >= request.today)
        .order_by(Contract.id.desc())).all()
    # re-shown after a refusal: the boxes as they were ticked
    ticked = ({whole_number(i) for i in values.getall("case_id")}
              if values is not None and hasattr(values, "getall") else None)
    return {"candidates": [c for c in found if c.case.id in visible], "facets": shown.facets,
            "contracts": contracts, "errors": errors or [], "refused": refused or [],
            "max_targets": MAX_TARGETS, "days": days,
            "since": selection.since_date(request.today, days), "prefecture": prefecture,
            "balance_min": "" if balance_min is None else balance_min,
            "values": values or {}, "ticked": ticked}


def _case_nos(raw) -> list[str] | None:
    """Case numbers, one a line or separated by spaces or commas; None if too many."""
    if not isinstance(raw, str):
        return []
    nos = [n for n in raw.replace(",", " ").replace("、", " ").split() if n]
    return None if len(nos) > CASE_NOS_MAX else list(dict.fromkeys(nos))


@view_config(context=SurveyBatchContainer, permission=Permission.SurveyManage,
             request_method="POST")
def batch_create(request):
    """Create a draft batch. From the candidates page (``selected``): the
    ticked candidates and the case numbers added by hand, each checked
    against the rules again (an ineligible one refuses the batch, with its
    reasons); otherwise every candidate of the filters. Over 500: refused."""
    post, errors, refused = request.POST, [], []
    contract = posted_row(request, Contract, "contract_id")
    name = (post.get("name") or "").strip()[:200]
    try:
        deadline = parse_date(post.get("deadline", ""))
    except ValueError:
        deadline = None
    prefecture, balance_min = _filters(post, errors)
    if contract is None or contract.erased_at is not None:
        errors.append("survey.error.contract")
    if not name:
        errors.append("survey.error.batch_name")
    if deadline is None:
        errors.append("survey.error.deadline")
    days = request.app_settings.survey.no_contact_days
    cases = []
    if post.get("selected") == "1":
        ids = {whole_number(i) for i in post.getall("case_id")} - {None}
        extra = _case_nos(post.get("case_nos", ""))
        if extra is None:
            errors.append("survey.error.case_nos")
            extra = []
        by_no = dict(request.dbsession.execute(
            select(Case.case_no, Case.id).where(Case.case_no.in_(extra))).all()) if extra else {}
        for no in extra:
            if no not in by_no:
                refused.append((no, ["survey.rule.unknown_case"]))
        ids |= set(by_no.values())
        checked = selection.check(request.dbsession, ids, request.today, days)
        for case_id in sorted(ids):
            found = checked.get(case_id)
            if found is None:
                continue
            if found.eligible:
                cases.append(found.case)
            else:
                refused.append((found.case.case_no, found.failures))
        if refused:
            errors.append("survey.error.not_eligible_list")
        cases.sort(key=lambda c: (c.taxpayer.postal_code, c.case_no))
    else:
        cases = [c.case for c in selection.candidates(request.dbsession, request.today, days,
                                                      prefecture, balance_min)]
    if not errors:
        try:
            batch = create(request.dbsession, contract, name, deadline, cases, request.identity,
                           request.now)
        except BatchError as exc:
            errors.append(exc.args[0])
    if errors:
        request.response.status = 400
        if post.get("selected") == "1":
            return render_to_response("survey/candidates.jinja2",
                                      batch_candidates(request, errors, refused, post),
                                      request=request, response=request.response)
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
            "max_targets": MAX_TARGETS, "days": request.app_settings.survey.no_contact_days,
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


@view_config(context=SurveyBatchResource, name="remove", permission=Permission.SurveyManage,
             request_method="POST")
def batch_remove(request):
    """Take one target out of a draft batch."""
    batch = request.context.batch
    target_id = posted_int(request, "target_id")
    target = next((t for t in batch.targets if t.id == target_id), None)
    case_no = target.case.case_no if target is not None else None
    try:
        remove_target(request.dbsession, batch, target)
    except BatchError as exc:
        return _again(request, [exc.args[0]])
    request.audit.event(AuditEvent.SurveyBatchChanged, user=request.identity, batch=batch.id,
                        removed=case_no)
    return HTTPSeeOther(request.resource_path(request.context) + "#targets")


@view_config(context=SurveyBatchResource, name="add", permission=Permission.SurveyManage,
             request_method="POST")
def batch_add(request):
    """Add one case by its number to a draft batch: only an eligible one
    (refused with the rules it fails otherwise)."""
    batch = request.context.batch
    case_no = request.POST.get("case_no", "")
    case_no = case_no.strip()[:20] if isinstance(case_no, str) else ""
    case = (request.dbsession.scalars(select(Case).where(Case.case_no == case_no)).one_or_none()
            if case_no else None)
    if case is None:
        return _again(request, ["survey.error.unknown_case"])
    try:
        add_target(request.dbsession, batch, case, request.today,
                   request.app_settings.survey.no_contact_days)
    except BatchError as exc:
        reasons = exc.args[1] if len(exc.args) > 1 else []
        return _again(request, [exc.args[0], *reasons])
    request.audit.event(AuditEvent.SurveyBatchChanged, user=request.identity, batch=batch.id,
                        added=case.case_no)
    return HTTPSeeOther(request.resource_path(request.context) + "#targets")


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
    # Free text flagged by the screening stays out until reviewed (issue 23).
    from ...models import ScreenedRecord
    from ...screening.flags import pending_fields
    rows = reports.export_rows(batch.targets, latest,
                               pending_fields(request.dbsession, ScreenedRecord.survey_report))
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
