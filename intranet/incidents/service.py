"""Incident reports as a small state machine: filed → acknowledged → closed.

Every step is dated and attributed; anything else raises
:class:`IncidentError` and changes nothing. What may be named as affected
(cases, media) is decided by the views through the same permission checks
the pages of those records use; this module stores what it is given.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case as sql_case, func, select
from sqlalchemy.orm import selectinload

from ..models import (
    Incident, IncidentCase, IncidentKind, IncidentMedium, IncidentState, Organisation,
)

S = IncidentState

#: step -> (the state it may follow, the state it leads to)
TRANSITIONS: dict[str, tuple[IncidentState, IncidentState]] = {
    "acknowledge": (S.filed, S.acknowledged),
    "close": (S.acknowledged, S.closed),
}

#: Open: the ward has something to do (acknowledge, or follow and close).
OPEN_STATES = frozenset({S.filed, S.acknowledged})

TEXT_MAX = 4000     # 状況, 初動対応, 指示, 完了時の確認
MAX_CASES = 20      # cases one report names
MAX_MEDIA = 10


class IncidentError(ValueError):
    """A refusal: a message key."""


def multiline(value, max_length: int) -> str | None:
    """Stripped text of at most ``max_length`` characters that may hold
    line breaks and tabs but no other control character; None otherwise."""
    if not isinstance(value, str):
        return None
    value = value.replace("\r\n", "\n").strip()
    if len(value) > max_length or any(ch < " " and ch not in "\n\t" or ch == "\x7f" for ch in value):
        return None
    return value


@dataclass
class Filing:
    kind: IncidentKind
    occurred_at: dt.datetime   # UTC
    discovered_at: dt.datetime  # UTC
    description: str
    first_actions: str
    case_ids: list[int]
    medium_ids: list[int]


def file(dbsession, filing: Filing, *, user, now: dt.datetime) -> Incident:
    if filing.occurred_at > filing.discovered_at:
        raise IncidentError("incident.error.order")
    if filing.discovered_at > now:
        raise IncidentError("incident.error.future")
    incident = Incident(
        organisation_id=user.organisation_id, contract_id=user.contract_id, kind=filing.kind,
        state=S.filed, occurred_at=filing.occurred_at, discovered_at=filing.discovered_at,
        description=filing.description, first_actions=filing.first_actions, filed_by=user.id,
        filed_at=now, instructions="", closing_note="")
    incident.cases = [IncidentCase(case_id=cid) for cid in dict.fromkeys(filing.case_ids)]
    incident.media = [IncidentMedium(medium_id=mid) for mid in dict.fromkeys(filing.medium_ids)]
    dbsession.add(incident)
    dbsession.flush()
    return incident


def step(incident: Incident, name: str, text: str, *, user, now: dt.datetime) -> None:
    """``acknowledge`` (with the ward's instructions) or ``close`` (with what
    was confirmed); refused from any other state."""
    before, after = TRANSITIONS[name]
    if incident.state != before:
        raise IncidentError(f"incident.error.{name}_state")
    if not text:
        raise IncidentError(f"incident.error.{name}_text")
    if name == "acknowledge":
        incident.acknowledged_by, incident.acknowledged_at, incident.instructions = user.id, now, text
    else:
        incident.closed_by, incident.closed_at, incident.closing_note = user.id, now, text
    incident.state = after


def open_incidents(dbsession, limit: int = 20, organisation_id: int | None = None) -> tuple[int, list[Incident]]:
    """How many reports are open and the oldest ``limit`` of them: every
    organisation's (the supervisors' home page) or one organisation's (its
    leader's home page, where the ward's instructions are waiting)."""
    where = Incident.state.in_(sorted(OPEN_STATES))
    if organisation_id is not None:
        where = where & (Incident.organisation_id == organisation_id)
    count = dbsession.scalar(select(func.count(Incident.id)).where(where))
    rows = list(dbsession.scalars(select(Incident).where(where)
                                  .options(selectinload(Incident.organisation))
                                  .order_by(Incident.filed_at, Incident.id).limit(limit))) if count else []
    return count, rows


#: The monthly log review's figures (issue 25), per organisation code.
COUNT_KEYS = ("incidents_filed", "incidents_closed", "incidents_open")


def month_counts(dbsession, start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, int]]:
    """Per organisation code: reports filed in ``[start, end)``, closed in it,
    and open at ``end`` (filed before it, not closed before it)."""
    filed = sql_case((Incident.filed_at >= start, 1), else_=0)
    closed = sql_case(((Incident.closed_at >= start) & (Incident.closed_at < end), 1), else_=0)
    still_open = sql_case(((Incident.closed_at.is_(None)) | (Incident.closed_at >= end), 1), else_=0)
    rows = dbsession.execute(
        select(Organisation.code, func.sum(filed), func.sum(closed), func.sum(still_open))
        .join(Organisation, Organisation.id == Incident.organisation_id)
        .where(Incident.filed_at < end)
        .group_by(Organisation.code))
    return {code: dict(zip(COUNT_KEYS, (int(a or 0), int(b or 0), int(c or 0))))
            for code, a, b, c in rows}
