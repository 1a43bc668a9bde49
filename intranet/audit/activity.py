"""What one organisation's staff did in a period, read from the access log.

Auditors and supervisors use it to watch contractors (ログの定期分析): who the
users are, their logins and failures, the cases each opened per day, denied
attempts, access outside office hours, unusually many cases in a day, and the
files they downloaded. Every figure is an aggregate query over the log
(grouped per user and JST hour), so the cost depends on users × hours, not on
the number of entries; each row links to the log search behind it.
"""
from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy import and_, case, func, literal_column, select

from ..clock import to_jst
from ..models import AccessLogCase, AccessLogEntry, Organisation, TrainingRecord, User
from ..params import parse_date, text
from ..taxes.duedates import is_business_day
from .events import AuditEvent
from .search import utc_start

MAX_DAYS = 366
#: Office time (JST) on business days: [start, end) hours. Anything else is
#: "off hours" and listed for review (a Saturday call campaign shows up too).
WORK_HOURS = (8, 20)
#: A user-day is "bulk" above max(BULK_FLOOR, BULK_FACTOR × the median
#: cases-per-day of the organisation's users in the period).
BULK_FLOOR = 50
BULK_FACTOR = 3
MAX_EXPORT_ROWS = 500


@dataclass
class UserDay:
    """One user's activity on one JST day."""

    login: str
    day: dt.date
    requests: int = 0
    denied: int = 0
    off_hours: int = 0          # entries outside office time
    logins: int = 0
    failures: int = 0
    lockouts: int = 0
    cases: int = 0              # distinct cases disclosed

    def log_params(self, outcome: str | None = None) -> dict:
        """Query parameters of the log search showing the entries behind this row."""
        params = {"login": self.login, "date_from": self.day.isoformat(),
                  "date_to": self.day.isoformat()}
        if outcome:
            params["outcome"] = outcome
        return params


@dataclass
class UserSummary:
    user: User | None
    login: str
    requests: int = 0
    logins: int = 0
    failures: int = 0
    lockouts: int = 0
    denied: int = 0
    off_hours: int = 0
    cases: int = 0              # sum of distinct cases per day
    active_days: int = 0
    trained_on: dt.date | None = None  # the latest training record's date (training_records)


@dataclass
class Download:
    seq: int
    at: dt.datetime             # JST
    login: str | None
    path: str | None
    view_name: str | None
    rows: int | None


@dataclass
class Activity:
    organisation: Organisation
    date_from: dt.date
    date_to: dt.date
    users: list[UserSummary]
    days: list[UserDay]
    bulk_threshold: int
    downloads: list[Download] = field(default_factory=list)
    work_hours: ClassVar[tuple[int, int]] = WORK_HOURS

    @property
    def denied(self) -> list[UserDay]:
        return [d for d in self.days if d.denied]

    @property
    def off_hours(self) -> list[UserDay]:
        return [d for d in self.days if d.off_hours]

    @property
    def bulk(self) -> list[UserDay]:
        return [d for d in self.days if d.cases > self.bulk_threshold]

    @property
    def failures(self) -> list[UserDay]:
        return [d for d in self.days if d.failures or d.lockouts]

    def anomaly_counts(self) -> dict[str, int]:
        """The figures a monthly review signs off."""
        return {"denied": sum(d.denied for d in self.days),
                "off_hours": sum(d.off_hours for d in self.days),
                "bulk": len(self.bulk),
                "failures": sum(d.failures for d in self.days),
                "lockouts": sum(d.lockouts for d in self.days),
                "downloads": len(self.downloads)}


def is_office_time(local: dt.datetime) -> bool:
    """``local`` (JST) falls on a business day within :data:`WORK_HOURS`."""
    return is_business_day(local.date()) and WORK_HOURS[0] <= local.hour < WORK_HOURS[1]


def bulk_threshold(cases_per_day: list[int]) -> int:
    if not cases_per_day:
        return BULK_FLOOR
    return max(BULK_FLOOR, int(BULK_FACTOR * statistics.median(cases_per_day)))


def _jst_bucket(dbsession, column, hourly: bool):
    """``YYYY-MM-DD[ HH]`` of a naive-UTC column in JST, in SQL.

    The formats are literal SQL (not bound parameters) so PostgreSQL sees the
    same expression in SELECT and GROUP BY."""
    if dbsession.get_bind().dialect.name == "sqlite":
        fmt = "'%Y-%m-%d %H'" if hourly else "'%Y-%m-%d'"
        return func.strftime(literal_column(fmt), column, literal_column("'+9 hours'"))
    fmt = "'YYYY-MM-DD HH24'" if hourly else "'YYYY-MM-DD'"
    return func.to_char(column + literal_column("interval '9 hours'"), literal_column(fmt))


def _in_period(code: str, date_from: dt.date, date_to: dt.date):
    return and_(AccessLogEntry.organisation == code,
                AccessLogEntry.occurred_at >= utc_start(date_from),
                AccessLogEntry.occurred_at < utc_start(date_to + dt.timedelta(days=1)))


def build(dbsession, organisation: Organisation, date_from: dt.date, date_to: dt.date) -> Activity:
    where = _in_period(organisation.code, date_from, date_to)
    login = func.coalesce(AccessLogEntry.login, "")
    E = AccessLogEntry

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    hour = _jst_bucket(dbsession, E.occurred_at, hourly=True).label("hour")
    days: dict[tuple[str, dt.date], UserDay] = {}
    for row in dbsession.execute(
            select(login.label("login"), hour, func.count().label("entries"),
                   count_if(E.kind == "request").label("requests"),
                   count_if(E.outcome == "denied").label("denied"),
                   count_if(E.event == AuditEvent.LoginSuccess).label("logins"),
                   count_if(E.event == AuditEvent.LoginFailure).label("failures"),
                   count_if(E.event == AuditEvent.AccountLocked).label("lockouts"))
            .where(where).group_by(login, literal_column("hour"))):
        local = dt.datetime.fromisoformat(row.hour)  # "YYYY-MM-DD HH" (strptime: 10x slower)
        day = days.setdefault((row.login, local.date()), UserDay(row.login, local.date()))
        day.requests += row.requests
        day.denied += row.denied
        day.logins += row.logins
        day.failures += row.failures
        day.lockouts += row.lockouts
        if not is_office_time(local):
            day.off_hours += row.entries

    day_bucket = _jst_bucket(dbsession, E.occurred_at, hourly=False).label("day")
    for row in dbsession.execute(
            select(login.label("login"), day_bucket,
                   func.count(AccessLogCase.case_id.distinct()).label("cases"))
            .join(AccessLogCase, AccessLogCase.entry_seq == E.seq)
            .where(where).group_by(login, literal_column("day"))):
        key = (row.login, dt.date.fromisoformat(row.day))
        days.setdefault(key, UserDay(*key)).cases = row.cases

    ordered = sorted(days.values(), key=lambda d: (d.day, d.login))
    threshold = bulk_threshold([d.cases for d in ordered if d.cases])
    return Activity(organisation, date_from, date_to,
                    users=_summaries(dbsession, organisation, ordered),
                    days=ordered, bulk_threshold=threshold,
                    downloads=_downloads(dbsession, where))


def _summaries(dbsession, organisation, days: list[UserDay]) -> list[UserSummary]:
    users = dbsession.scalars(select(User).where(User.organisation_id == organisation.id)
                              .order_by(User.login)).all()
    latest = dict(dbsession.execute(
        select(TrainingRecord.user_id, func.max(TrainingRecord.trained_on))
        .join(User, User.id == TrainingRecord.user_id)
        .where(User.organisation_id == organisation.id).group_by(TrainingRecord.user_id)).all())
    summaries = {u.login: UserSummary(u, u.login, trained_on=latest.get(u.id)) for u in users}
    for day in days:
        summary = summaries.setdefault(day.login, UserSummary(None, day.login))
        for name in ("requests", "logins", "failures", "lockouts", "denied", "off_hours", "cases"):
            setattr(summary, name, getattr(summary, name) + getattr(day, name))
        summary.active_days += 1 if day.requests else 0
    return list(summaries.values())


def _downloads(dbsession, where) -> list[Download]:
    E = AccessLogEntry
    rows = dbsession.execute(
        select(E.seq, E.occurred_at, E.login, E.path, E.view_name, E.detail)
        .where(where, E.outcome == "allowed", E.detail.contains('"download": true'))
        .order_by(E.seq).limit(MAX_EXPORT_ROWS))
    return [Download(r.seq, to_jst(r.occurred_at), r.login, r.path, r.view_name,
                     _rows(r.detail)) for r in rows]


def _rows(detail: str | None) -> int | None:
    try:
        value = json.loads(detail or "{}").get("rows")
    except ValueError:
        return None
    return value if isinstance(value, int) else None


def by_user(days: list[UserDay]) -> dict[str, list[UserDay]]:
    grouped = defaultdict(list)
    for day in days:
        grouped[day.login].append(day)
    return dict(grouped)


@dataclass
class Period:
    """An organisation and a JST date range chosen on a form (GET parameters)."""

    organisation: Organisation | None
    date_from: dt.date
    date_to: dt.date
    errors: list[str] = field(default_factory=list)  # message keys

    @classmethod
    def from_params(cls, dbsession, params, today: dt.date) -> Period:
        errors = []
        dates = {}
        for name, default in (("date_from", today.replace(day=1)), ("date_to", today)):
            value = params.get(name, "")
            try:
                dates[name] = parse_date(value) if value else default
            except (TypeError, ValueError):
                errors.append("activity.error.date")
                dates[name] = default
        if dates["date_from"] > dates["date_to"]:
            errors.append("activity.error.order")
        elif (dates["date_to"] - dates["date_from"]).days >= MAX_DAYS:
            errors.append("activity.error.too_long")
        raw = params.get("organisation", "")
        organisation = None
        if raw:
            code = text(raw, 40)  # None: too long, or a control character
            if code:
                organisation = dbsession.scalar(select(Organisation).where(
                    Organisation.code == code))
            if organisation is None:
                errors.append("activity.error.organisation")
        return cls(organisation, dates["date_from"], dates["date_to"], errors)

    def query_params(self) -> dict:
        params = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.organisation is not None:
            params["organisation"] = self.organisation.code
        return params
