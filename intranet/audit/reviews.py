"""The monthly log review (ログの定期分析): each month's anomalies per
contractor, signed off once by an auditor or a supervisor.

A month can be signed once it has ended; every ended month without a
sign-off is overdue, from the first month the log has entries.
"""
from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select

from ..clock import to_jst
from ..models import AccessLogEntry, LogReview, Organisation, OrganisationKind
from . import activity

FINDING_MAX = 2000


class ReviewError(Exception):
    """A refused sign-off; ``key`` is the message key."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


@dataclass
class MonthStatus:
    month: dt.date
    review: LogReview | None
    ended: bool

    @property
    def overdue(self) -> bool:
        return self.ended and self.review is None


def last_day(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def next_month(month: dt.date) -> dt.date:
    return last_day(month) + dt.timedelta(days=1)


def months(dbsession, today: dt.date) -> list[MonthStatus]:
    """Every month from the log's first entry to this one, newest first."""
    first_at = dbsession.scalar(select(func.min(AccessLogEntry.occurred_at)))
    first_signed = dbsession.scalar(select(func.min(LogReview.month)))
    candidates = [today.replace(day=1)]
    if first_at is not None:
        candidates.append(to_jst(first_at).date().replace(day=1))
    if first_signed is not None:
        candidates.append(first_signed)
    reviews = {r.month: r for r in dbsession.scalars(select(LogReview))}
    month, found = min(candidates), []
    while month <= today:
        found.append(MonthStatus(month, reviews.get(month), last_day(month) < today))
        month = next_month(month)
    return found[::-1]


def contractors(dbsession) -> list[Organisation]:
    return list(dbsession.scalars(select(Organisation)
                                  .where(Organisation.kind == OrganisationKind.contractor)
                                  .order_by(Organisation.code)))


def report(dbsession, month: dt.date) -> list[activity.Activity]:
    """The month's activity of every contractor organisation."""
    return [activity.build(dbsession, org, month, last_day(month)) for org in contractors(dbsession)]


def screening_counts(dbsession, month: dt.date) -> dict[str, dict[str, int]]:
    """Per organisation code: the month's screening hits its staff confirmed
    and saved (issue 23; seed 004 収集禁止事項), and how many of those a
    collector has kept, redacted or not reviewed yet."""
    from ..screening.flags import month_counts
    from .search import utc_start
    return month_counts(dbsession, utc_start(month), utc_start(next_month(month)))


def incident_counts(dbsession, month: dt.date) -> dict[str, dict[str, int]]:
    """Per organisation code: incident reports filed and closed in the month
    and open at its end (issue 25; seed 000 特記事項11, seed 004 特記事項19)."""
    from ..incidents.service import month_counts
    from .search import utc_start
    return month_counts(dbsession, utc_start(month), utc_start(next_month(month)))


def sign(dbsession, month: dt.date, user, finding: str, now: dt.datetime,
         today: dt.date) -> LogReview:
    finding = finding.strip() if isinstance(finding, str) else ""
    if last_day(month) >= today:
        raise ReviewError("review.error.not_ended")
    if not finding or len(finding) > FINDING_MAX:
        raise ReviewError("review.error.finding")
    if dbsession.scalar(select(LogReview.id).where(LogReview.month == month)) is not None:
        raise ReviewError("review.error.signed")
    from ..incidents.service import COUNT_KEYS as INCIDENT_KEYS
    from ..screening.flags import COUNT_KEYS
    screening = screening_counts(dbsession, month)
    incidents = incident_counts(dbsession, month)
    counts = {a.organisation.code: {**a.anomaly_counts(),
                                    **screening.get(a.organisation.code, dict.fromkeys(COUNT_KEYS, 0)),
                                    **incidents.get(a.organisation.code, dict.fromkeys(INCIDENT_KEYS, 0))}
              for a in report(dbsession, month)}
    review = LogReview(month=month, reviewed_by=user.id, reviewed_at=now, finding=finding,
                       counts=json.dumps(counts, sort_keys=True))
    dbsession.add(review)
    dbsession.flush()
    return review
