"""日報・月報 pages and downloads."""
from __future__ import annotations

from pyramid.response import Response
from pyramid.view import view_config

from ...params import parse_date, parse_month
from ...resources import CallReports
from ...security.permissions import Permission
from .. import reports


@view_config(context=CallReports, renderer="calls/reports.jinja2",
             permission=Permission.CallReportsView)
def report_view(request):
    """Operators see their own row and the center's total; collectors and
    auditors (CallReportsAll) every operator's."""
    params = request.GET
    kind = "monthly" if params.get("kind") == "monthly" else "daily"
    error = None
    today = request.today
    try:
        if kind == "daily":
            day = parse_date(params.get("date") or today.isoformat())
        else:
            year, month = parse_month(params.get("month") or today.strftime("%Y-%m"))
    except ValueError:
        error = "calls.error.report_date"
        request.response.status = 400
        kind, day = "daily", today
    everyone = request.has_permission(Permission.CallReportsAll, request.context)
    operator_ids = None if everyone else {request.identity.id}
    report = (reports.daily(request.dbsession, day, operator_ids) if kind == "daily"
              else reports.monthly(request.dbsession, year, month, operator_ids))
    fmt = params.get("format", "html")
    if fmt in ("csv", "xlsx") and error is None:
        name = f"call-center-{report.kind}-{report.label}.{fmt}"
        body = reports.to_csv(report) if fmt == "csv" else reports.to_xlsx(report)
        content_type = ("text/csv" if fmt == "csv" else
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response = Response(body=body, content_type=content_type,
                            charset="utf-8" if fmt == "csv" else None)
        response.content_disposition = f'attachment; filename="{name}"'
        return response
    return {"report": report, "columns": reports.COLUMNS, "error": error, "everyone": everyone,
            "date": day.isoformat() if kind == "daily" else "",
            "month": report.label if kind == "monthly" else today.strftime("%Y-%m")}
