"""Handing work back to the delinquency system: call results, hand-overs,
promises, documents issued and survey results recorded in a period (by
default since the last export), as CSV files in the data-link conventions
(CP932 by default, or UTF-8 with BOM: :mod:`.encoding`), zipped, with a
record of what was exported and the zip's SHA-256."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from sqlalchemy import func, select

from ..clock import jst_wall
from ..models import (
    CallAttempt, CampaignCase, Case, DataExport, Handover, IssuedDocument, Promise, SurveyReport,
    SurveyTarget, User,
)
from ..models import ScreenedRecord
from ..screening.flags import MARKER, pending_fields, shown
from .encoding import UnencodableError, encode_files



def _jst(value: dt.datetime | None) -> str:
    return jst_wall(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _day(value) -> str:
    return value.isoformat() if value else ""


@dataclass
class Export:
    files: dict[str, bytes]
    counts: dict[str, int]
    since: dt.datetime | None
    until: dt.datetime
    case_nos: set[str]

    def zip(self) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in sorted(self.files.items()):
                archive.writestr(name, data)
        return buf.getvalue()


def last_until(dbsession) -> dt.datetime | None:
    return dbsession.scalar(select(func.max(DataExport.until)))


def build(dbsession, since: dt.datetime | None, until: dt.datetime, encoding: str | None = None) -> Export:
    """The files of the period in ``encoding`` (``cp932``, the default, or
    ``utf-8``); a value the encoding cannot hold raises
    :class:`intranet.datalink.encoding.UnencodableError` listing them all."""
    def window(column):
        conditions = [column < until]
        if since is not None:
            conditions.append(column >= since)
        return conditions

    logins = dict(dbsession.execute(select(User.id, User.login)).all())
    case_nos = {}

    def cases_of_target(target_id):
        if target_id not in case_nos:
            case_nos[target_id] = list(dbsession.scalars(
                select(Case.case_no).join(CampaignCase, CampaignCase.case_id == Case.id)
                .where(CampaignCase.target_id == target_id).order_by(Case.case_no)))
        return case_nos[target_id]

    # Free text whose screening flag waits for a collector's review is left
    # out (issue 23): the column carries the marker instead.
    held_calls = pending_fields(dbsession, ScreenedRecord.call_attempt)
    held_surveys = pending_fields(dbsession, ScreenedRecord.survey_report)
    calls = []
    for a in dbsession.scalars(select(CallAttempt).where(*window(CallAttempt.called_at))
                               .order_by(CallAttempt.id)):
        # Columns as before: disposition is the call's one-word summary (its
        # contact result when nothing more was done); an incoming call
        # without a case names no case and is not exported.
        of_call = (cases_of_target(a.target_id) if a.target_id is not None
                   else [a.case.case_no] if a.case is not None else [])
        for case_no in of_call:
            calls.append([a.id, case_no, _jst(a.called_at), logins.get(a.operator_id, ""),
                          a.phone_number, str(a.disposition or a.result), a.promise_amount or "",
                          _day(a.promise_on), _jst(a.callback_at),
                          shown(a.memo, a.id, "memo", held_calls), a.corrects_id or "",
                          "1" if a.incoming else "0"])
    handovers = [[h.id, h.case.case_no, _jst(h.created_at), logins.get(h.created_by, ""),
                  MARKER if held_calls.get(h.attempt_id) else h.reason,
                  str(h.status), _jst(h.done_at)]
                 for h in dbsession.scalars(select(Handover).where(*window(Handover.created_at))
                                            .order_by(Handover.id))]
    promises = []
    for p in dbsession.scalars(select(Promise).join(CallAttempt, CallAttempt.id == Promise.attempt_id)
                               .where(*window(CallAttempt.called_at)).order_by(Promise.id)):
        for case_no in cases_of_target(p.target_id):
            promises.append([p.id, case_no, p.amount, _day(p.due_on), str(p.status),
                             _day(p.resolved_on)])
    documents = [[d.doc_no, str(d.kind), d.case.case_no, _jst(d.issued_at), _day(d.deadline),
                  d.tax_total, d.late_charge_total, d.fee]
                 for d in dbsession.scalars(select(IssuedDocument).where(*window(IssuedDocument.issued_at))
                                            .order_by(IssuedDocument.id))]
    surveys = []
    for r in dbsession.scalars(select(SurveyReport).where(*window(SurveyReport.submitted_at))
                               .order_by(SurveyReport.id)):
        target = dbsession.get(SurveyTarget, r.target_id)
        held = {name: shown(getattr(r, name), r.id, name, held_surveys) for name in (
            "nameplate_name", "landlord_name", "landlord_contact", "slip_handed_to", "memo")}
        surveys.append([target.case.case_no, r.version, _jst(r.visited_at), r.residence, r.nameplate,
                        held["nameplate_name"], r.tenure, held["landlord_name"], held["landlord_contact"],
                        held["slip_handed_to"], held["memo"], len(r.photos)])
    counts = {"call_results.csv": len(calls), "handovers.csv": len(handovers),
              "promises.csv": len(promises), "documents.csv": len(documents),
              "survey_results.csv": len(surveys)}
    disclosed = {row[1] for row in calls + handovers + promises} | {row[2] for row in documents} | {
        row[0] for row in surveys}
    try:
        files = encode_files({
            "call_results.csv": (["attempt_id", "case_no", "called_at", "operator", "phone",
                                  "disposition", "promise_amount", "promise_on", "callback_at",
                                  "memo", "corrects", "incoming"], calls, ("attempt_id", "case_no")),
            "handovers.csv": (["handover_id", "case_no", "created_at", "operator", "reason",
                               "status", "done_at"], handovers, ("handover_id",)),
            "promises.csv": (["promise_id", "case_no", "amount", "due_on", "status",
                              "resolved_on"], promises, ("promise_id", "case_no")),
            "documents.csv": (["doc_no", "kind", "case_no", "issued_at", "deadline", "tax_total",
                               "late_charge_total", "fee"], documents, ("doc_no",)),
            "survey_results.csv": (["case_no", "version", "visited_at", "residence", "nameplate",
                                    "nameplate_name", "tenure", "landlord_name", "landlord_contact",
                                    "slip_handed_to", "memo", "photos"], surveys, ("case_no", "version")),
        }, encoding)
    except UnencodableError as exc:
        exc.case_nos = disclosed  # the page that lists them discloses these cases
        raise
    return Export(files, counts, since, until, disclosed)


def record(dbsession, export: Export, data: bytes, *, user=None, os_user: str = "",
           now: dt.datetime) -> DataExport:
    entry = DataExport(user_id=user.id if user else None, os_user=os_user, created_at=now,
                       since=export.since, until=export.until,
                       counts=json.dumps(export.counts, sort_keys=True),
                       sha256=hashlib.sha256(data).hexdigest())
    dbsession.add(entry)
    dbsession.flush()
    return entry
