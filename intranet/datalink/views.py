"""Collectors upload data-link files (several CSV files or one zip)."""
from __future__ import annotations

import io
import os
import zipfile

from pyramid.view import view_config
from sqlalchemy import select

from ..models import DataImport
from ..resources import DataLinkArea
from ..security.permissions import Permission
from . import importer
from .reader import MAX_FILE_BYTES


def _uploads(request) -> dict[str, bytes] | None:
    files = {}
    for upload in request.POST.getall("files"):
        if not hasattr(upload, "file"):
            continue
        raw = upload.file.read(MAX_FILE_BYTES + 1)
        name = os.path.basename(upload.filename or "")
        if name.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                    for member in archive.namelist():
                        if member.lower().endswith(".csv"):
                            files[os.path.basename(member)] = archive.read(member)
            except zipfile.BadZipFile:
                return None
        else:
            files[name] = raw
    return files


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
                                  dry_run=dry_run)
            if result.ok:
                importer.record(request.dbsession, result, user=request.identity, now=request.now,
                                dry_run=dry_run)
                request.audit.event("datalink.import", user=request.identity, dry_run=dry_run,
                                    files=sorted(result.files), closed=result.closed)
            else:
                request.response.status = 400
                request.audit.event("datalink.import", "failure", user=request.identity,
                                    problems=len(result.report.problems))
    history = request.dbsession.scalars(select(DataImport).order_by(DataImport.id.desc()).limit(20)).all()
    return {"result": result, "dry_run": dry_run, "bad_zip": bad_zip, "history": history}
