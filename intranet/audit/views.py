"""The auditors' access-log viewer: search, one entry, who viewed a case."""
from pyramid.view import view_config
from sqlalchemy import select

from ..models import AccessLogEntry
from ..resources import AccessLogEntryResource, AuditArea
from ..clock import to_jst
from ..security import report as matrix_report
from ..security.matrix import FACETS
from ..security.permissions import Permission
from .search import KINDS, MAX_TERM, OUTCOMES, ROLES, LogCriteria, search_log


def _page_number(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


@view_config(context=AuditArea, renderer="audit/search.jinja2", permission=Permission.AuditLogView)
def log_search(request):
    """Search terms are staff logins, dates and case numbers, never residents'
    data, so this is a GET form whose URL can be bookmarked and linked from a case."""
    criteria = LogCriteria.from_params(request.GET)
    if criteria.errors:
        request.response.status = 400
    page = search_log(request.dbsession, criteria, _page_number(request.GET.get("page")))
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
