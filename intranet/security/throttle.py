"""Login throttling per client address, counted from the access log itself.

After ``intranet.login.address_max_failures`` (20) ``login.failure`` events
from one client address within ``intranet.login.address_window_minutes``
(15), further login attempts from that address are refused before the login
id is even looked up (``login.throttled``, 429). The access log already holds
every failure with its client address and time, so there is no counter table
to keep in step: the check is one count over the window, which the index on
``occurred_at`` bounds to the window's entries. ``address_max_failures = 0``
turns throttling off.

The count is read in the request's transaction, so a burst of concurrent
attempts may pass a few more failures than the limit before it applies.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ..audit.events import AuditEvent
from ..audit.record import clip
from ..models import AccessLogEntry

FAILURE_EVENT = AuditEvent.LoginFailure


@dataclass(frozen=True)
class ThrottleSettings:
    max_failures: int        # 0: off
    window: dt.timedelta


@dataclass(frozen=True)
class ThrottledAddress:
    client_addr: str | None
    failures: int
    first_failure: dt.datetime
    last_failure: dt.datetime
    until: dt.datetime       # at the latest (throttled attempts are not failures)


def _failures_in_window(request):
    since = request.now - request.app_settings.login.throttle.window
    return (AccessLogEntry.occurred_at >= since, AccessLogEntry.event == FAILURE_EVENT)


def address_throttled(request) -> bool:
    """Whether logins from this request's client address are paused."""
    throttle = request.app_settings.login.throttle
    if not throttle.max_failures:
        return False
    failures = request.dbsession.scalar(
        select(func.count()).select_from(AccessLogEntry).where(
            *_failures_in_window(request),
            AccessLogEntry.client_addr == clip(request.client_addr, 64)))
    return failures >= throttle.max_failures


def throttled_addresses(request) -> list[ThrottledAddress]:
    """Every address whose logins are paused now, most failures first
    (the same count as :func:`address_throttled`, grouped by address)."""
    throttle = request.app_settings.login.throttle
    if not throttle.max_failures:
        return []
    failures = func.count().label("failures")
    rows = request.dbsession.execute(
        select(AccessLogEntry.client_addr, failures,
               func.min(AccessLogEntry.occurred_at), func.max(AccessLogEntry.occurred_at))
        .where(*_failures_in_window(request))
        .group_by(AccessLogEntry.client_addr)
        .having(func.count() >= throttle.max_failures)
        .order_by(failures.desc(), AccessLogEntry.client_addr)).all()
    return [ThrottledAddress(addr, count, first, last, last + throttle.window)
            for addr, count, first, last in rows]
