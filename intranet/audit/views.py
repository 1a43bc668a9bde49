"""The auditors' access-log viewer: search, one entry, who viewed a case;
an organisation's activity and the monthly reviews."""
import json

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from ..models import AccessLogEntry, Organisation
from ..params import page_number
from ..resources import AccessLogEntryResource, AuditArea, ReviewContainer, ReviewMonth
from ..clock import to_jst
from ..security import report as matrix_report
from ..security.matrix import FACETS
from ..security.permissions import Permission
from . import activity, export, reviews
from .events import AuditEvent
from .search import KINDS, MAX_TERM, OUTCOMES, ROLES, LogCriteria, search_log


@view_config(context=AuditArea, renderer="audit/search.jinja2", permission=Permission.AuditLogView)
def log_search(request):
    """Search terms are staff logins, dates and case numbers, never residents'
    data, so this is a GET form whose URL can be bookmarked and linked from a case."""
    criteria = LogCriteria.from_params(request.GET)
    if criteria.errors:
        request.response.status = 400
    page = search_log(request.dbsession, criteria, page_number(request.GET.get("page")))
    return {"criteria": criteria, "page": page, "outcomes": OUTCOMES, "kinds": KINDS,
            "roles": ROLES, "max_term": MAX_TERM}


@view_config(context=AccessLogEntryResource, renderer="audit/entry.jinja2",
             permission=Permission.AuditLogView)
def log_entry(request):
    entry = request.context.entry
    same_request = request.dbsession.scalars(
        select(AccessLogEntry).where(AccessLogEntry.request_id == entry.request_id,
                                     AccessLogEntry.seq != entry.seq)
        .order_by(AccessLogEntry.seq)).all()
    return {"entry": entry, "same_request": same_request, "facet_info": FACETS}


@view_config(context=AuditArea, name="matrix", renderer="audit/matrix.jinja2",
             permission=Permission.MatrixView, request_method="GET")
def permission_matrix(request):
    """The matrix the ACLs are built from, dated and fingerprinted."""
    return {"report": matrix_report.build(), "generated": to_jst(request.now)}


@view_config(context=AuditArea, name="activity", renderer="audit/activity.jinja2",
             permission=Permission.ActivityView, request_method="GET")
def activity_view(request):
    """One organisation's users, logins, cases per day and anomalies in a period."""
    period = activity.Period.from_params(request.dbsession, request.GET, request.today)
    if period.errors:
        request.response.status = 400
    result = None
    if period.organisation is not None and not period.errors:
        result = activity.build(request.dbsession, period.organisation, period.date_from,
                                period.date_to)
    organisations = request.dbsession.scalars(
        select(Organisation).order_by(Organisation.kind, Organisation.code)).all()
    return {"period": period, "activity": result, "organisations": organisations,
            "can_search": request.has_permission(Permission.AuditLogView, request.context)}


@view_config(context=ReviewContainer, renderer="audit/reviews.jinja2",
             permission=Permission.ActivityView, request_method="GET")
def review_list(request):
    return {"months": reviews.months(request.dbsession, request.today)}


@view_config(context=ReviewMonth, renderer="audit/review.jinja2",
             permission=Permission.ActivityView, request_method="GET")
def review_month(request, error=None, finding=""):
    month = request.context.month
    status = next((m for m in reviews.months(request.dbsession, request.today)
                   if m.month == month), None)
    if status is None:
        raise HTTPNotFound()
    signed = status.review
    return {"month": month, "status": status, "error": error, "finding": finding,
            "report": reviews.report(request.dbsession, month) if signed is None else None,
            "signed_counts": json.loads(signed.counts) if signed else None,
            "screening": reviews.screening_counts(request.dbsession, month) if signed is None else None,
            "incidents": reviews.incident_counts(request.dbsession, month) if signed is None else None,
            "last_day": reviews.last_day(month),
            "can_sign": request.has_permission(Permission.LogReviewSign, request.context),
            "can_search": request.has_permission(Permission.AuditLogView, request.context)}


@view_config(context=ReviewMonth, renderer="audit/review.jinja2",
             permission=Permission.LogReviewSign, request_method="POST")
def review_sign(request):
    finding = request.POST.get("finding", "")
    try:
        reviews.sign(request.dbsession, request.context.month, request.identity, finding,
                     request.now, request.today)
    except reviews.ReviewError as error:
        request.response.status = 400
        return review_month(request, error.key, finding if isinstance(finding, str) else "")
    request.audit.event(AuditEvent.LogReviewSigned, user=request.identity,
                        month=request.context.__name__)
    return HTTPSeeOther(request.resource_path(request.context))


#: A signed checkpoint is a few hundred bytes; anything far larger is not one.
PREVIOUS_CHECKPOINT_MAX = 64 * 1024


def _previous_checkpoint(params) -> str | None:
    """The previous inspection's signed checkpoint, pasted (the text of
    ``tlog/checkpoint.end`` of last year's package; no upload: auditors are
    offered no upload form). ValueError: not text of a sensible size."""
    text = params.get("previous_checkpoint", "")
    if not isinstance(text, str) or len(text) > PREVIOUS_CHECKPOINT_MAX:
        raise ValueError
    return text.strip() + "\n" if text.strip() else None


@view_config(context=AuditArea, name="exports", renderer="audit/exports.jinja2",
             permission=Permission.InspectionExport, request_method="GET")
@view_config(context=AuditArea, name="exports", renderer="audit/exports.jinja2",
             permission=Permission.InspectionExport, request_method="POST")
def inspection_export(request):
    """The inspection package for one organisation and period, streamed as a
    ZIP (``download=1``, from the form's POST or a GET); otherwise the form.
    With signed checkpoints the package carries the proofs of issue 22, from
    the previous inspection's checkpoint if the auditor gives it. The log
    entry of the download records how many log entries it holds."""
    params = request.POST if request.method == "POST" else request.GET
    period = activity.Period.from_params(request.dbsession, params, request.today)
    if "download" in params and period.organisation is None and not period.errors:
        period.errors.append("export.error.organisation")
    previous = None
    try:
        previous = _previous_checkpoint(params)
    except ValueError:
        period.errors.append("export.error.previous_unreadable")
    if period.errors:
        request.response.status = 400
    package = None
    if "download" in params and not period.errors:
        try:
            package = export.plan(request.dbsession.connection(), period.organisation,
                                  period.date_from, period.date_to, request.now,
                                  request.registry.access_checkpointer, previous)
        except export.ExportError as error:
            request.response.status = 409
            period.errors.append(error.key)
    if package is None:
        organisations = request.dbsession.scalars(
            select(Organisation).order_by(Organisation.kind, Organisation.code)).all()
        return {"period": period, "organisations": organisations,
                "previous_checkpoint": params.get("previous_checkpoint", "")
                if isinstance(params.get("previous_checkpoint", ""), str) else ""}
    request.audit.note(rows=package.entries, organisation=package.code,
                       date_from=package.date_from.isoformat(), date_to=package.date_to.isoformat(),
                       tree_size=package.tlog.end.size if package.tlog else None,
                       previous_size=package.tlog.previous.size if package.tlog and package.tlog.previous
                       else None)
    response = Response(content_type="application/zip", app_iter=export.stream(
        request.registry["db_engine"], request.registry.access_log.key, package))
    response.content_disposition = f'attachment; filename="{package.filename}"'
    return response
