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
    """Collectors and auditors (CallReportsAll) see every operator's figures;
    a team leader (CallReportsTeam) every operator of its own organisation,
    that organisation's total and its campaign progress; other operators their
    own row and their own organisation's total. Never another
    organisation's figures (intranet.calls.reports)."""
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
    team = not everyone and request.has_permission(Permission.CallReportsTeam, request.context)
    organisation_id = None if everyone else request.identity.organisation_id
    idle_ids = (reports.team_operator_ids(request.dbsession, organisation_id) if team else set())
    # A team's calls are its organisation's only (organisation_id): every caller has a row.
    operator_ids = None if everyone or team else {request.identity.id}
    scope = {"operator_ids": operator_ids, "organisation_id": organisation_id, "idle_ids": idle_ids}
    report = (reports.daily(request.dbsession, day, **scope) if kind == "daily"
              else reports.monthly(request.dbsession, year, month, today, **scope))
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
    progress = reports.progress(request.dbsession, today, organisation_id) if team else None
    return {"report": report, "columns": reports.COLUMNS, "error": error, "everyone": everyone,
            "team": team, "progress": progress,
            "date": day.isoformat() if kind == "daily" else "",
            "month": report.label if kind == "monthly" else today.strftime("%Y-%m")}
