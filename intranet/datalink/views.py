"""Collectors upload data-link files (several CSV files or one zip)."""
from __future__ import annotations

import os
import zipfile

from pyramid.httpexceptions import HTTPBadRequest, HTTPForbidden
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from ..clock import from_jst
from ..audit.events import AuditEvent
from ..models import Case, DataImport
from ..params import parse_datetime
from ..security.matrix import Facet
from ..resources import DataLinkArea
from ..security.permissions import Permission
from ..taxes.owed import amount_rules
from . import encoding as encodings
from . import exporter, importer, sources


def _uploads(request) -> dict[str, bytes] | None:
    """The uploaded CSV files, and those inside an uploaded zip; None for a
    file that is not a readable zip although named so."""
    files = {}
    for upload in request.POST.getall("files"):
        if not hasattr(upload, "file"):
            continue
        name = os.path.basename(upload.filename or "")
        if name.lower().endswith(".zip"):
            try:
                files.update(sources.from_zip(upload.file))
            except (zipfile.BadZipFile, EOFError):
                return None
        else:
            files[name] = sources.bounded(upload.file)
    return files


def log_plan_changes(request, changes) -> None:
    """One access-log event per installment plan the import changed
    (不履行: ``plan.defaulted``; otherwise ``plan.state``)."""
    from ..models import PlanState

    for change in changes:
        event = (AuditEvent.PlanDefaulted if change.after == PlanState.defaulted
                 else AuditEvent.PlanStateChanged)
        request.audit.event(event, user=request.identity, case=change.case_no, plan=change.plan_id,
                            before=str(change.before), after=str(change.after), by="datalink")


@view_config(context=DataLinkArea, renderer="datalink/import.jinja2", permission=Permission.DataImport,
             request_method=("GET", "POST"))
def import_page(request):
    result, bad_zip = None, False
    dry_run = request.POST.get("dry_run") == "1"
    if request.method == "POST":
        files = _uploads(request)
        if files is None:
            bad_zip = True
            request.response.status = 400
        else:
            encoding = request.POST.get("encoding") or None
            if encoding not in (None, "cp932", "utf-8"):
                encoding = None
            result = importer.run(request.dbsession, files, request.today, encoding=encoding,
                                  dry_run=dry_run, rules=amount_rules(request),
                                  plan_grace_days=request.app_settings.cases.plan_grace_days,
                                  now=request.now)
            if result.ok:
                importer.record(request.dbsession, result, user=request.identity, now=request.now,
                                dry_run=dry_run)
                request.audit.event(AuditEvent.DatalinkImport, user=request.identity, dry_run=dry_run,
                                    files=sorted(result.files), closed=result.closed)
                if not dry_run:
                    log_plan_changes(request, result.plan_changes)
                    for r in result.registrations:
                        request.audit.event(AuditEvent.DebitRegistered, user=request.identity,
                                            case=r.case_no, application=r.application_id,
                                            by="datalink")
            else:
                request.response.status = 400
                request.audit.event(AuditEvent.DatalinkImport, "failure", user=request.identity,
                                    problems=len(result.report.problems))
    history = request.dbsession.scalars(select(DataImport).order_by(DataImport.id.desc()).limit(20)).all()
    return {"result": result, "dry_run": dry_run, "bad_zip": bad_zip, "history": history}


@view_config(context=DataLinkArea, name="export", renderer="datalink/export.jinja2",
             permission=Permission.DataExport, request_method="GET")
def export_page(request):
    return _export_page_values(request)


def _export_page_values(request, **extra) -> dict:
    from ..models import DataExport

    history = request.dbsession.scalars(select(DataExport).order_by(DataExport.id.desc()).limit(20)).all()
    return {"history": history, "since": exporter.last_until(request.dbsession),
            "encodings": tuple(encodings.ENCODINGS), "encoding": encodings.DEFAULT,
            "unencodable": None, "since_value": "", **extra}


#: What the data-link export holds of each case.
EXPORT_FACETS = (Facet.call_log, Facet.payment, Facet.survey)


def _disclose(request, case_nos) -> None:
    """Call results and hand-overs (call log), promises and documents
    (payments), survey results: the whole file, or the list of what cannot be
    encoded, or nothing."""
    cases = request.dbsession.scalars(select(Case).where(Case.case_no.in_(sorted(case_nos)))).all()
    if request.disclosure.show(cases, EXPORT_FACETS).hidden:
        raise HTTPForbidden()


@view_config(context=DataLinkArea, name="export", permission=Permission.DataExport,
             request_method="POST")
def export_download(request):
    """Everything recorded since the last export (or since a given date), zipped,
    in CP932 (the default) or UTF-8. Values CP932 cannot hold are never
    replaced: the export page lists them (file, line, key, column, U+XXXX),
    nothing is written or recorded, and UTF-8 is offered instead."""
    since = exporter.last_until(request.dbsession)
    if request.POST.get("since"):
        try:
            since = from_jst(parse_datetime(request.POST["since"]))
        except ValueError:
            raise HTTPBadRequest() from None
    chosen = request.POST.get("encoding") or encodings.DEFAULT
    if chosen not in encodings.ENCODINGS:
        raise HTTPBadRequest()
    try:
        export = exporter.build(request.dbsession, since, request.now, encoding=chosen)
    except encodings.UnencodableError as exc:
        _disclose(request, exc.case_nos)
        request.audit.event(AuditEvent.DatalinkExport, "failure", user=request.identity,
                            unencodable=exc.total)
        values = _export_page_values(request, unencodable=exc, encoding=chosen,
                                     since_value=request.POST.get("since", ""))
        response = render_to_response("datalink/export.jinja2", values, request=request)
        response.status = 400
        return response
    _disclose(request, export.case_nos)
    data = export.zip()
    entry = exporter.record(request.dbsession, export, data, user=request.identity, now=request.now)
    request.audit.event(AuditEvent.DatalinkExport, user=request.identity, export=entry.id, **export.counts)
    response = Response(body=data, content_type="application/zip")
    response.content_disposition = f'attachment; filename="export-{entry.id}.zip"'
    return response
