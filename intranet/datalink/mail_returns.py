"""郵便返戻 through the data link: ``mail_returns.csv`` (docs/data-link.md).

The ward's mail room scans the document number printed on a returned letter
(催告書) or slip (納付書) of this system; the delinquency system sends the
returns back here. One row per document (the key ``doc_no``): the date and
the reason are what the file says. Refused with the line, and nothing
imported: a document number this system never issued, or issued for another
case; a document not sent yet (a letter whose batch is not sealed, 封入封緘);
a return dated before the document was sent.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from ..cases.contacts import is_sent, sent_on
from ..models import Case, IssuedDocument, ReturnReason
from .reader import Report

FILENAME = "mail_returns.csv"


def _documents(dbsession, doc_nos) -> dict[str, tuple[IssuedDocument, str]]:
    if not doc_nos:
        return {}
    rows = dbsession.execute(
        select(IssuedDocument, Case.case_no).join(Case, Case.id == IssuedDocument.case_id)
        .where(IssuedDocument.doc_no.in_(list(doc_nos)))
        .options(joinedload(IssuedDocument.batch)))
    return {doc.doc_no: (doc, case_no) for doc, case_no in rows}


def validate(dbsession, parsed, report: Report) -> None:
    rows = parsed.get("mail_returns", [])
    if not rows:
        return
    documents = _documents(dbsession, {r["doc_no"] for r in rows})
    for row in rows:
        found = documents.get(row["doc_no"])
        if found is None or found[1] != row["case_no"]:
            report.add(FILENAME, row["_line"], "doc_no", "datalink.error.return_document")
        elif not is_sent(found[0]):
            report.add(FILENAME, row["_line"], "doc_no", "datalink.error.return_not_sent")
        elif row["returned_on"] < sent_on(found[0]):
            report.add(FILENAME, row["_line"], "returned_on", "datalink.error.return_before_sent")


def apply(state, rows) -> None:
    """Set the return of each document (a step of
    :func:`intranet.datalink.importer.apply`); counts: added (no return
    stored before), changed (another date or reason), unchanged."""
    from .importer import Counts

    documents = _documents(state.dbsession, {r["doc_no"] for r in rows})
    updates, added, same = [], 0, 0
    for row in rows:
        doc, _ = documents[row["doc_no"]]
        reason = ReturnReason(row["reason"])
        if doc.returned_on == row["returned_on"] and doc.return_reason == reason:
            same += 1
            continue
        added += doc.returned_on is None
        updates.append({"_id": doc.id, "returned_on": row["returned_on"],
                        "return_reason": reason.value, "returned_by": None})
    if updates:
        table = IssuedDocument.__table__
        state.dbsession.execute(
            update(table).where(table.c.id == bindparam("_id"))
            .values(returned_on=bindparam("returned_on"), return_reason=bindparam("return_reason"),
                    returned_by=bindparam("returned_by")), updates)
        state.dbsession.expire_all()
    state.result.counts["mail_returns"] = Counts(added, len(updates) - added, same)
