"""経過記録 by staff and 郵便返戻 (issue 20).

Collectors record the ordinary events of a case on its page: a visit (訪問),
a counter visit (来庁), a phone call they made (電話), a letter received from
the taxpayer (文書受理), anything else. Each says when, with whom and whether
there was a conversation (会話あり); 最終接触日 is the latest *conversation
with the taxpayer or someone acting for them in law* — a slip issued, a
letter sent or a talk with a neighbour is not a contact
(:attr:`ContactRecord.is_contact`). Call-center calls are the call_log
facet's; the negotiation facet does not show them (docs/collections.md).

郵便返戻: the post office returned a letter (催告書) or a slip (納付書) — the
date and the reason. A letter counts as sent only once its batch is sealed
(封入封緘); before that a return is refused and nothing is stored.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..clock import JST
from ..models import (
    BatchStatus, ContactRecord, Counterpart, DocumentKind, IssuedDocument, ReturnReason,
    STAFF_CONTACT_KINDS, ContactKind,
)
from ..params import parse_date, parse_datetime, text

NOTE_MAX = 2000
COUNTERPART_MAX = 200
PLACE_MAX = 200


class ContactError(ValueError):
    """Bad input; ``args[0]`` is a message key."""


@dataclass
class ContactForm:
    kind: ContactKind | None = None
    occurred_at: dt.datetime | None = None  # naive UTC
    counterpart_kind: Counterpart | None = None
    counterpart: str = ""
    place: str = ""
    conversation: bool = False
    note: str = ""
    errors: list[str] = field(default_factory=list)


def read_contact(post, now: dt.datetime) -> ContactForm:
    """A staff contact record from the form; ``errors`` lists message keys.
    ``occurred_at`` is entered in JST and must not be in the future."""
    form = ContactForm()
    try:
        form.kind = ContactKind(post.get("kind", ""))
        if form.kind not in STAFF_CONTACT_KINDS:
            raise ValueError
    except ValueError:
        form.errors.append("contact.error.kind")
    try:
        local = parse_datetime(post.get("occurred_at"))
        if local.tzinfo is not None:
            raise ValueError
        form.occurred_at = local.replace(tzinfo=JST).astimezone(dt.UTC).replace(tzinfo=None)
    except ValueError:
        form.errors.append("contact.error.occurred_at")
    else:
        if form.occurred_at > now:
            form.errors.append("contact.error.future")
            form.occurred_at = None
    try:
        form.counterpart_kind = Counterpart(post.get("counterpart_kind", ""))
    except ValueError:
        form.errors.append("contact.error.counterpart_kind")
    for name, limit in (("counterpart", COUNTERPART_MAX), ("place", PLACE_MAX)):
        value = text(post.get(name, ""), limit)
        if value is None:
            form.errors.append(f"contact.error.{name}")
        else:
            setattr(form, name, value)
    note = post.get("note", "")
    if not isinstance(note, str) or len(note.strip()) > NOTE_MAX or "\x00" in note:
        form.errors.append("contact.error.note")
    else:
        form.note = note.strip()
    conversation = post.get("conversation", "")
    if conversation not in ("", "1"):
        form.errors.append("contact.error.conversation")
    form.conversation = conversation == "1"
    if form.kind == ContactKind.letter_received and form.conversation:
        form.errors.append("contact.error.letter_conversation")
    return form


def last_contact(contacts) -> ContactRecord | None:
    """最終接触日: the latest record that is a conversation with the taxpayer
    or their representative (``contacts`` newest first, as Case.contacts)."""
    return next((c for c in contacts if c.is_contact), None)


def last_contact_at(dbsession, case_ids) -> dict[int, dt.datetime]:
    """最終接触日 of many cases in one query."""
    if not case_ids:
        return {}
    rows = dbsession.execute(
        select(ContactRecord.case_id, func.max(ContactRecord.occurred_at))
        .where(ContactRecord.case_id.in_(list(case_ids)), ContactRecord.is_contact)
        .group_by(ContactRecord.case_id))
    return dict(rows.all())


# ---------------------------------------------------------------- 郵便返戻

def is_sent(document: IssuedDocument) -> bool:
    """Whether a document has left the ward: a slip when issued (it is handed
    over or posted at once), a letter once its batch is sealed."""
    if document.kind == DocumentKind.slip:
        return True
    return document.batch is not None and document.batch.status == BatchStatus.sealed


def sent_on(document: IssuedDocument) -> dt.date:
    """The day it left (JST): the sealing of a letter's batch, a slip's issue."""
    moment = (document.batch.sealed_at if document.kind == DocumentKind.letter and document.batch
              and document.batch.sealed_at else document.issued_at)
    return moment.replace(tzinfo=dt.UTC).astimezone(JST).date()


def check_return(document: IssuedDocument | None, returned_on, reason, today: dt.date):
    """(returned_on, reason) for a 郵便返戻 on ``document``; ContactError with
    the message key otherwise (nothing is stored)."""
    if document is None:
        raise ContactError("mail_return.error.document")
    if not is_sent(document):
        raise ContactError("mail_return.error.not_sent")
    if document.returned_on is not None:
        raise ContactError("mail_return.error.already")
    try:
        day = parse_date(returned_on)
    except ValueError:
        raise ContactError("mail_return.error.date") from None
    if day > today:
        raise ContactError("mail_return.error.future")
    if day < sent_on(document):
        raise ContactError("mail_return.error.before_sent")
    try:
        why = ReturnReason(reason if isinstance(reason, str) else "")
    except ValueError:
        raise ContactError("mail_return.error.reason") from None
    return day, why
