"""Server-side login sessions: a random token in an HttpOnly, SameSite=Strict
cookie; the row (keyed by the token's SHA-256) is the session. Ending the row
ends the session at once, on every app process (remote wipe)."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from pyramid.settings import asbool
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from webob.cookies import make_cookie

from ..models import LoginSession, User

COOKIE_NAME = "intranet_session"
#: A session that passed the password waits this long for its second factor.
PENDING_TIMEOUT = dt.timedelta(minutes=5)
#: last_seen_at is written at most this often (keeps reads read-only).
TOUCH_INTERVAL = dt.timedelta(seconds=30)


class EndReason:
    logout = "logout"
    idle = "idle_timeout"
    absolute = "absolute_timeout"
    account_invalid = "account_invalid"
    revoked = "revoked"
    second_factor_timeout = "mfa_timeout"  # the second factor never came
    second_factor_done = "mfa_done"        # replaced by the full session


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


#: Idle timeouts that differ by role (minutes): investigators' tablets lock sooner.
ROLE_IDLE_DEFAULTS = {"contractor": 5}


def timeouts(settings, role: str | None = None) -> tuple[dt.timedelta, dt.timedelta]:
    """(idle, absolute); ``intranet.session.idle_timeout.<role>`` overrides the idle one."""
    idle = int(settings.get("intranet.session.idle_timeout", 15))
    if role is not None:
        idle = int(settings.get(f"intranet.session.idle_timeout.{role}",
                                ROLE_IDLE_DEFAULTS.get(role, idle)))
    absolute = int(settings.get("intranet.session.absolute_timeout", 600))
    return dt.timedelta(minutes=idle), dt.timedelta(minutes=absolute)


def create(request, user: User, *, pending: bool = False, second_factor: str | None = None) -> str:
    """Start a session for ``user``; returns the cookie token. A ``pending``
    session has passed the password only and grants nothing."""
    token = secrets.token_urlsafe(32)
    now = request.now
    request.dbsession.add(LoginSession(
        token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
        csrf_token=secrets.token_urlsafe(32), pending=pending, second_factor=second_factor,
        client_addr=(request.client_addr or "")[:64],
        user_agent=(request.user_agent or "")[:255],
    ))
    request.dbsession.flush()
    return token


def end(login_session: LoginSession, reason: str, now: dt.datetime) -> None:
    if login_session.ended_at is None:
        login_session.ended_at = now
        login_session.end_reason = reason


def end_in_own_transaction(request, session_id: int, reason: str, now: dt.datetime) -> None:
    with request.registry["dbsession_factory"]() as dbsession, dbsession.begin():
        dbsession.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason))


def lookup(request) -> LoginSession | None:
    """The live session of this request's cookie, ending it if it expired or
    its user is no longer valid. ``request.login_session`` caches this."""
    token = request.cookies.get(COOKIE_NAME)
    if not token or len(token) > 100:
        return None
    login_session = request.dbsession.scalar(
        select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
    if login_session is None or login_session.ended_at is not None:
        return None
    now = request.now
    idle, absolute = timeouts(request.registry.settings, str(login_session.user.role))
    reason = None
    if login_session.pending and now - login_session.created_at >= PENDING_TIMEOUT:
        reason = EndReason.second_factor_timeout
    elif now - login_session.created_at >= absolute:
        reason = EndReason.absolute
    elif now - login_session.last_seen_at >= idle:
        reason = EndReason.idle
    elif not login_session.user.is_valid_at(now):
        reason = EndReason.account_invalid
    if reason:
        # Its own transaction: the request's may be aborted (a denied request
        # redirects to the login page), but the ending must stick.
        end_in_own_transaction(request, login_session.id, reason, now)
        request.session_end_reason = reason
        request.audit.event("session.ended", "ended", user=login_session.user,
                            session_id=login_session.id, reason=reason)
        return None
    if now - login_session.last_seen_at >= TOUCH_INTERVAL:
        # Its own short transaction, so that a request that only reads never
        # holds a write lock (SQLite) and may itself write in its own
        # transactions (the call queue's lease).
        with request.registry["dbsession_factory"]() as dbsession, dbsession.begin():
            dbsession.execute(update(LoginSession).where(LoginSession.id == login_session.id)
                              .values(last_seen_at=now))
        set_committed_value(login_session, "last_seen_at", now)
    return login_session


def cookie_headers(request, token: str | None) -> list[tuple[str, str]]:
    """Set-Cookie header for ``token``, or one that deletes the cookie (None)."""
    secure = asbool(request.registry.settings.get("intranet.session.secure_cookie", False))
    cookie = make_cookie(COOKIE_NAME, token, path="/", secure=secure, httponly=True,
                         samesite="Strict")
    return [("Set-Cookie", cookie)]
