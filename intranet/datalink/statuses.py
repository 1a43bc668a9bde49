"""徴収状態 through the data link: ``case_statuses.csv`` (docs/data-link.md).

Rows are matched on case, kind and start, so a later file may set the end of
a period it sent before; a period's end and reason are what the file says.
Imported periods have no ``recorded_by`` (the data link) and need no
approval. A period the file would make overlap another of the same kind of
the same case, in the file or stored (periods recorded on the case page
included), is refused with the line, and nothing is imported.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from ..cases.statuses import RULES, overlap
from ..clock import SystemClock
from ..models import Case, StatusKind, StatusPeriod
from .reader import Report

FILENAME = "case_statuses.csv"
FIELDS = ("ends_on", "reason")


def validate(dbsession, parsed, report: Report) -> None:
    """An end before its start; an overlap with a period of the same kind."""
    rows = parsed.get("case_statuses", [])
    if not rows:
        return
    periods = defaultdict(dict)  # (case_no, kind) -> {starts_on: ends_on}, stored then the file's
    for case_no, kind, starts_on, ends_on in dbsession.execute(
            select(Case.case_no, StatusPeriod.kind, StatusPeriod.starts_on, StatusPeriod.ends_on)
            .join(Case, Case.id == StatusPeriod.case_id)
            .where(Case.case_no.in_({r["case_no"] for r in rows}))):
        periods[(case_no, str(kind))][starts_on] = ends_on
    for row in rows:
        periods[(row["case_no"], row["kind"])][row["starts_on"]] = row["ends_on"]
    for row in rows:
        if row["ends_on"] is not None and row["ends_on"] < row["starts_on"]:
            report.add(FILENAME, row["_line"], "ends_on", "datalink.error.status_end_before_start")
            continue
        others = periods[(row["case_no"], row["kind"])]
        if any(overlap(row["starts_on"], row["ends_on"], starts_on, ends_on)
               for starts_on, ends_on in others.items()
               if starts_on != row["starts_on"] and (ends_on is None or starts_on <= ends_on)):
            report.add(FILENAME, row["_line"], "starts_on", "datalink.error.status_overlap")


def apply(state, rows) -> None:
    """Upsert the periods (a step of :func:`intranet.datalink.importer.apply`)."""
    from .importer import _stored, _upsert

    now = SystemClock().now()

    def build(row):
        kind = StatusKind(row["kind"])
        return {"case_id": state.case_ids[row["case_no"]], "kind": kind,
                "starts_on": row["starts_on"], "ends_on": row["ends_on"],
                "legal_basis": RULES[kind].legal_basis, "reason": row["reason"] or "",
                "recorded_by": None, "recorded_at": now,
                "approved_at": now}  # the delinquency system's word: no approval here

    stored = _stored(state.dbsession, StatusPeriod, FIELDS, Case.case_no, StatusPeriod.kind,
                     StatusPeriod.starts_on, join=(Case, Case.id == StatusPeriod.case_id))
    _upsert(state, "case_statuses", StatusPeriod, rows, stored, ("case_no", "kind", "starts_on"),
            FIELDS, build)
