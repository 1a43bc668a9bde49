"""Screening free text on save, flags, their review and what exports leave out.

The rule (seed 004 収集禁止事項; 個人情報保護法2条3項 要配慮個人情報): the
servicer and the call center must not collect beliefs, religion, facts that
cause social discrimination, criminal records and the like. Free text typed
by investigators and operators is matched against the ward's term list
(:mod:`intranet.screening.matcher`) when saved:

1. no term: saved at once;
2. a term, not confirmed: nothing is stored, the form comes back (400) with
   the terms highlighted and their categories, asking the writer to rewrite
   the text or to confirm why the words are needed (a checkbox and a short
   reason, e.g. 「家主が宗教法人のため」);
3. confirmed with a reason: stored, and one :class:`ScreeningFlag` per field
   with terms. Until a collector reviews it (確認済 or 伏せ字), the field's
   text is replaced by :data:`MARKER` in the exports.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..models import (
    CallAttempt, CallRecord, ContactRecord, FlagState, Handover, Organisation, ScreenedRecord,
    ScreeningFlag, SurveyReport,
)
from . import matcher

CONFIRM = "screening_confirm"
REASON = "screening_reason"
REASON_MAX = 200
#: What an export carries instead of a flagged field not reviewed yet.
MARKER = "（確認待ちのため除外）"


@dataclass
class FieldHit:
    name: str          # the form field
    label: str         # its message key
    text: str
    matches: list[matcher.Match]

    @property
    def segments(self):
        return matcher.segments(self.text, self.matches)

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(m.category for m in self.matches))

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(m.term for m in self.matches))


@dataclass
class Screening:
    """The outcome of screening one form's free text."""

    hits: list[FieldHit] = field(default_factory=list)
    confirmed: bool = False
    reason: str = ""
    errors: list[str] = field(default_factory=list)   # message keys

    @property
    def refused(self) -> bool:
        return bool(self.errors)

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(c for h in self.hits for c in h.categories))


def screen(request, fields) -> Screening:
    """Screen ``fields`` — (form field, label message key, text) — and read
    the writer's confirmation from the form."""
    terms = request.registry.screening_terms
    result = Screening()
    for name, label, text in fields:
        matches = terms.find(text or "")
        if matches:
            result.hits.append(FieldHit(name, label, text, matches))
    post = request.POST
    result.confirmed = post.get(CONFIRM) == "1"
    reason = post.get(REASON, "")
    result.reason = reason.strip() if isinstance(reason, str) else ""
    if result.hits:
        if not result.confirmed:
            result.errors.append("screening.error.hit")
        elif not result.reason:
            result.errors.append("screening.error.reason")
        elif len(result.reason) > REASON_MAX or "\x00" in result.reason:
            result.errors.append("screening.error.reason_long")
    return result


def log_refusal(request, screening: Screening, record_type: ScreenedRecord) -> None:
    """The access log notes a refused hit: which fields and categories, never the text."""
    from ..audit.events import AuditEvent
    request.audit.event(AuditEvent.ScreeningHit, "failure", user=request.identity,
                        record_type=str(record_type), fields=[h.name for h in screening.hits],
                        categories=screening.categories, confirmed=screening.confirmed)


def record(request, screening: Screening, record_type: ScreenedRecord, record_id: int,
           case_id: int | None) -> list[ScreeningFlag]:
    """One flag per field with terms, for a confirmed text just stored."""
    from ..audit.events import AuditEvent
    if not screening.hits:
        return []
    user = request.identity
    flags = []
    for hit in screening.hits:
        flag = ScreeningFlag(
            record_type=record_type, record_id=record_id, field=hit.name, case_id=case_id,
            categories=",".join(hit.categories)[:200], terms="・".join(hit.terms)[:1000],
            reason=screening.reason, flagged_by=user.id, flagged_at=request.now,
            organisation_id=user.organisation_id, state=FlagState.pending)
        request.dbsession.add(flag)
        flags.append(flag)
    request.dbsession.flush()
    request.audit.event(AuditEvent.ScreeningConfirmed, user=user, record_type=str(record_type),
                        record=record_id, flags=[f.id for f in flags],
                        fields=[h.name for h in screening.hits], categories=screening.categories)
    return flags


# ---------------------------------------------------------------- exports

def pending_fields(dbsession, record_type: ScreenedRecord) -> dict[int, set[str]]:
    """Record id → fields with a flag not reviewed yet (they are few)."""
    found = defaultdict(set)
    for record_id, name in dbsession.execute(
            select(ScreeningFlag.record_id, ScreeningFlag.field).where(
                ScreeningFlag.record_type == record_type,
                ScreeningFlag.state == FlagState.pending)):
        found[record_id].add(name)
    return dict(found)


def shown(value, record_id, name, pending: dict[int, set[str]]):
    """``value``, or :data:`MARKER` while the field's flag waits for review."""
    return MARKER if name in pending.get(record_id, ()) and value else value


# ---------------------------------------------------------------- review

#: Where each flagged field's text lives: (model, attribute).
FIELDS = {
    ScreenedRecord.survey_report: {name: (SurveyReport, name) for name in (
        "nameplate_name", "landlord_name", "landlord_contact", "slip_handed_to", "memo")},
    ScreenedRecord.call_attempt: {"memo": (CallAttempt, "memo"),
                                  "handover_reason": (Handover, "reason")},
    ScreenedRecord.contact_record: {"note": (ContactRecord, "content")},
}


def flag_text(dbsession, flag: ScreeningFlag) -> str:
    """The flagged field's stored text (for a hand-over reason: the hand-overs' first)."""
    return flag_texts(dbsession, [flag]).get(flag.id, "")


def flag_texts(dbsession, flags: list[ScreeningFlag]) -> dict[int, str]:
    """Flag id → the flagged field's stored text, for a list of flags: one
    query per kind of record flagged (four at most), whatever the number of
    flags (issue 21: the review page ran one per flag)."""
    wanted: dict[type, dict[int, list[ScreeningFlag]]] = defaultdict(lambda: defaultdict(list))
    for flag in flags:
        model, _attribute = FIELDS[flag.record_type][flag.field]
        wanted[model][flag.record_id].append(flag)
    texts: dict[int, str] = {}

    def found(row, by_id: list[ScreeningFlag]):
        for flag in by_id:
            attribute = FIELDS[flag.record_type][flag.field][1]
            texts[flag.id] = getattr(row, attribute, "") or ""

    for model, by_record in wanted.items():
        if model is Handover:
            first: dict[int, Handover] = {}
            for row in dbsession.scalars(select(Handover).where(
                    Handover.attempt_id.in_(sorted(by_record))).order_by(Handover.id)):
                first.setdefault(row.attempt_id, row)
            rows = first
        else:
            rows = {row.id: row for row in dbsession.scalars(
                select(model).where(model.id.in_(sorted(by_record))))}
        for record_id, by_id in by_record.items():
            if record_id in rows:
                found(rows[record_id], by_id)
    return texts


class ReviewError(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _redactor(terms: matcher.TermList, flag: ScreeningFlag):
    """Redacts the list's terms and, should the list have changed since, the
    terms the flag recorded."""
    recorded = [matcher.Term("", t, matcher.fold(t)) for t in flag.term_list if matcher.fold(t)]
    extra = matcher.TermList(recorded, []) if recorded else None

    def redact(text: str) -> str:
        text = matcher.redact(text, terms.find(text))
        return matcher.redact(text, extra.find(text)) if extra else text
    return redact


def _limit(model, attribute, text: str) -> str:
    length = getattr(getattr(model, attribute).type, "length", None)
    return text[:length] if length else text


def review(dbsession, flag: ScreeningFlag, decision: str, terms: matcher.TermList, user,
           now: dt.datetime) -> None:
    """確認済（記録を残す） (``keep``) or 伏せ字 (``redact``: every term in the
    stored text becomes ＊＊＊, in each copy of it)."""
    if flag.state != FlagState.pending:
        raise ReviewError("screening.error.reviewed")
    if decision not in ("keep", "redact"):
        raise ReviewError("screening.error.decision")
    if decision == "redact":
        redact = _redactor(terms, flag)
        model, attribute = FIELDS[flag.record_type][flag.field]
        if flag.record_type == ScreenedRecord.call_attempt:
            # The memo is copied to each case's call log and may be the
            # hand-over's reason; the hand-over reason lives on the hand-overs.
            rows = list(dbsession.scalars(select(Handover).where(Handover.attempt_id == flag.record_id)))
            if flag.field == "memo":
                rows = [dbsession.get(CallAttempt, flag.record_id)] + rows
                for note in dbsession.scalars(select(CallRecord).where(
                        CallRecord.attempt_id == flag.record_id)):
                    note.note = redact(note.note or "")
            for row in rows:
                if row is None:
                    continue
                name = "memo" if isinstance(row, CallAttempt) else "reason"
                setattr(row, name, redact(getattr(row, name) or ""))
        else:
            row = dbsession.get(model, flag.record_id)
            if row is not None:
                setattr(row, attribute, _limit(model, attribute, redact(getattr(row, attribute) or "")))
        flag.state = FlagState.redacted
    else:
        flag.state = FlagState.kept
    flag.reviewed_by, flag.reviewed_at = user.id, now


# ---------------------------------------------------------------- monthly review

COUNT_KEYS = ("screening_confirmed", "screening_kept", "screening_redacted", "screening_pending")


def month_counts(dbsession, start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, int]]:
    """Organisation code → confirmed hits flagged in [start, end) (UTC) and
    how many of them were kept, redacted or still wait for review."""
    rows = dbsession.execute(
        select(Organisation.code, ScreeningFlag.state, func.count(ScreeningFlag.id))
        .join(Organisation, Organisation.id == ScreeningFlag.organisation_id)
        .where(ScreeningFlag.flagged_at >= start, ScreeningFlag.flagged_at < end)
        .group_by(Organisation.code, ScreeningFlag.state)).all()
    counts: dict[str, dict[str, int]] = {}
    for code, state, number in rows:
        entry = counts.setdefault(code, dict.fromkeys(COUNT_KEYS, 0))
        entry["screening_confirmed"] += number
        entry[f"screening_{FlagState(state).value}"] += number
    return counts


def pending_count(dbsession) -> int:
    return dbsession.scalar(select(func.count(ScreeningFlag.id)).where(
        ScreeningFlag.state == FlagState.pending)) or 0

