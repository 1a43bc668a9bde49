"""Searching the access log (auditors): by JST date range, user, role, case
number, outcome, kind and path; newest first, a page at a time."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, select, true

from ..clock import jst_midnight
from ..models import AccessLogCase, AccessLogEntry, Role
from ..paging import window
from ..params import parse_date, text
from ..text import fold
from ..security.principals import SUPERVISOR

PAGE_SIZE = 50
MAX_TERM = 100

OUTCOMES = ("allowed", "denied", "unauthenticated", "not_found", "bad_request", "error",
            "success", "failure", "locked", "ended")
KINDS = ("request", "event")
ROLES = tuple(str(r) for r in Role) + (SUPERVISOR,)


@dataclass
class LogCriteria:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    login: str = ""
    role: str = ""
    case_no: str = ""
    outcome: str = ""
    kind: str = ""
    path: str = ""
    errors: list[str] = field(default_factory=list)  # names of rejected fields

    @classmethod
    def from_params(cls, params) -> LogCriteria:
        """Criteria from query parameters; bad values are dropped and named in ``errors``."""
        criteria = cls()
        for name in ("date_from", "date_to"):
            value = _text(params, name, criteria)
            if value:
                try:
                    setattr(criteria, name, parse_date(value))
                except ValueError:
                    criteria.errors.append(name)
        for name in ("login", "case_no", "path"):
            setattr(criteria, name, _text(params, name, criteria))
        for name, allowed in (("role", ROLES), ("outcome", OUTCOMES), ("kind", KINDS)):
            value = _text(params, name, criteria)
            if value and value not in allowed:
                criteria.errors.append(name)
            elif value:
                setattr(criteria, name, value)
        return criteria

    def conditions(self) -> list:
        conditions = []
        if self.date_from:
            conditions.append(AccessLogEntry.occurred_at >= utc_start(self.date_from))
        if self.date_to:
            conditions.append(AccessLogEntry.occurred_at < utc_start(self.date_to + dt.timedelta(days=1)))
        if self.login:
            conditions.append(func.lower(AccessLogEntry.login) == self.login.lower())
        if self.role:
            conditions.append(AccessLogEntry.roles.contains(self.role, autoescape=True))
        if self.case_no:
            conditions.append(exists().where(AccessLogCase.entry_seq == AccessLogEntry.seq,
                                             AccessLogCase.case_no == fold(self.case_no)))
        if self.outcome:
            conditions.append(AccessLogEntry.outcome == self.outcome)
        if self.kind:
            conditions.append(AccessLogEntry.kind == self.kind)
        if self.path:
            conditions.append(AccessLogEntry.path.startswith(self.path, autoescape=True))
        return conditions

    def query_params(self) -> dict:
        """The criteria as query parameters (for the pager's links)."""
        params = {name: getattr(self, name) for name in
                  ("login", "role", "case_no", "outcome", "kind", "path") if getattr(self, name)}
        for name in ("date_from", "date_to"):
            if getattr(self, name):
                params[name] = getattr(self, name).isoformat()
        return params


def _text(params, name, criteria) -> str:
    value = text(params.get(name, ""), MAX_TERM)
    if value is None:
        criteria.errors.append(name)
        return ""
    return value


def utc_start(day: dt.date) -> dt.datetime:
    """Midnight JST of ``day`` as naive UTC (how entries store their time)."""
    return jst_midnight(day)


@dataclass
class LogPage:
    entries: list[AccessLogEntry]
    total: int
    number: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def search_log(dbsession, criteria: LogCriteria, page: int = 1) -> LogPage:
    where = and_(true(), *criteria.conditions())
    total = dbsession.scalar(select(func.count()).select_from(AccessLogEntry).where(where))
    page = max(1, page)
    # newest first, each page read from the nearer end of the log (intranet.paging)
    part = window(page, total, PAGE_SIZE)
    entries = []
    if part is not None:
        order = AccessLogEntry.seq if part.reverse else AccessLogEntry.seq.desc()
        entries = list(dbsession.scalars(
            select(AccessLogEntry).where(where).order_by(order)
            .limit(part.limit).offset(part.offset)))
        if part.reverse:
            entries.reverse()
    return LogPage(entries, total, page)
