"""Server-side login sessions: a random token in an HttpOnly, SameSite=Strict
cookie; the row (keyed by the token's SHA-256) is the session. Ending the row
ends the session at once, on every app process (remote wipe).

Besides creating and looking up sessions this module is the one place that
lists a user's live sessions and ends them (the user's own "my sessions" page,
a supervisor's remote wipe, a contract's users) and that enforces the
concurrent-session limit per role (``intranet.session.max_per_role``)."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from webob.cookies import make_cookie

from ..audit.events import AuditEvent
from ..models import LoginSession, Role, User

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
    revoked = "revoked"      # by a supervisor (remote wipe) or by the user from another device
    replaced = "replaced"    # a newer login went over the role's concurrent-session limit
    second_factor_timeout = "mfa_timeout"  # the second factor never came
    second_factor_done = "mfa_done"        # replaced by the full session


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


#: Concurrent sessions per role when ``intranet.session.max_per_role`` is not
#: set: one desk PC per operator, one tablet per investigator; roles not
#: listed have no limit.
DEFAULT_MAX_PER_ROLE = "operator:1 contractor:1"
_LIMIT = re.compile(r"^([a-z]+):([1-9][0-9]{0,3})$")


def parse_limits(value: str) -> dict[str, int]:
    """``"operator:1 contractor:2"`` → ``{"operator": 1, "contractor": 2}``;
    a malformed entry or an unknown role is a configuration error."""
    limits = {}
    for item in value.replace(",", " ").split():
        match = _LIMIT.match(item)
        if match is None or match.group(1) not in {str(role) for role in Role}:
            raise ValueError(f"intranet.session.max_per_role: bad entry {item!r} "
                             f"(expected role:count, roles {', '.join(Role)})")
        limits[match.group(1)] = int(match.group(2))
    return limits


def create(request, user: User, *, pending: bool = False, second_factor: str | None = None) -> str:
    """Start a session for ``user``; returns the cookie token. A ``pending``
    session has passed the password only and grants nothing. A full session
    that takes the user over their role's concurrent-session limit ends their
    oldest live sessions first (see :func:`enforce_limit`); a pending one never
    does, or the password alone could log the real user out."""
    if not pending:
        enforce_limit(request, user)
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


def enforce_limit(request, user: User) -> list[int]:
    """Make room for one more session of ``user``: end their oldest live
    sessions (by start) beyond their role's limit minus one. The new login
    always succeeds, so a crashed browser or a PC left logged in never locks
    an operator out; the old device is logged out at its next request. Each
    ending is logged (``session.ended``, reason ``replaced``). Returns the
    ended ids. Call it only once the user is fully authenticated."""
    limit = request.app_settings.session.max_per_role.get(str(user.role))
    if limit is None:
        return []
    dbsession = request.dbsession
    # Logins of the same user take turns (the user row stays locked until the
    # transaction ends), so two at once cannot both stay under the limit. The
    # lock comes before the new session's row, which references the user.
    dbsession.execute(select(User.id).where(User.id == user.id).with_for_update())
    live = live_sessions(request, user)
    ids = [s.id for s in live[:max(0, len(live) + 1 - limit)]]
    if ids:
        end_sessions(dbsession, user.id, request.now, EndReason.replaced, ids=ids)
        for session_id in ids:
            request.audit.event(AuditEvent.SessionEnded, "ended", user=user, session_id=session_id,
                                reason=EndReason.replaced, limit=limit)
    return ids


def end(login_session: LoginSession, reason: str, now: dt.datetime) -> None:
    if login_session.ended_at is None:
        login_session.ended_at = now
        login_session.end_reason = reason


def live_clause(session_settings, now: dt.datetime):
    """SQL condition of a session that is still live at ``now``: not ended and
    inside its idle (per role) and absolute timeouts, exactly as
    :func:`lookup` decides. The query must join ``LoginSession.user``."""
    _, absolute = session_settings.timeouts()
    return and_(
        LoginSession.ended_at.is_(None),
        LoginSession.created_at > now - absolute,
        or_(*(and_(User.role == role,
                   LoginSession.last_seen_at > now - session_settings.timeouts(str(role))[0])
              for role in Role)))


def live_sessions(request, user: User, exclude: int | None = None) -> list[LoginSession]:
    """``user``'s live sessions, oldest first (by start), without ``exclude``."""
    query = (select(LoginSession).join(LoginSession.user)
             .where(LoginSession.user_id == user.id,
                    live_clause(request.app_settings.session, request.now))
             .order_by(LoginSession.created_at, LoginSession.id))
    if exclude is not None:
        query = query.where(LoginSession.id != exclude)
    return list(request.dbsession.scalars(query))


def live_counts(request) -> dict[int, int]:
    """Number of live sessions per user id (users without one are absent)."""
    rows = request.dbsession.execute(
        select(LoginSession.user_id, func.count()).join(LoginSession.user)
        .where(live_clause(request.app_settings.session, request.now))
        .group_by(LoginSession.user_id))
    return {user_id: count for user_id, count in rows}


def end_sessions(dbsession, user_id: int, now: dt.datetime, reason: str, *, ids=None) -> int:
    """End ``user_id``'s open sessions (only those in ``ids`` if given) with
    ``reason``; returns how many. The user id is always part of the
    condition, so an id of someone else's session ends nothing."""
    query = update(LoginSession).where(LoginSession.user_id == user_id,
                                       LoginSession.ended_at.is_(None))
    if ids is not None:
        query = query.where(LoginSession.id.in_(list(ids)))
    return dbsession.execute(query.values(ended_at=now, end_reason=reason)).rowcount


def revoke_sessions(dbsession, user: User, now: dt.datetime) -> int:
    """Remote wipe: end every open session of ``user`` at once; returns how many."""
    return end_sessions(dbsession, user.id, now, EndReason.revoked)


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("CriOS/", "Chrome"), ("Version/", "Safari"))
_SYSTEMS = (("iPad", "iPad"), ("iPhone", "iPhone"), ("Android", "Android"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_user_agent(user_agent: str | None) -> str:
    """A short summary of a User-Agent header, e.g. ``Chrome 131 / Windows``
    (empty if nothing is recognised); enough to tell one's devices apart."""
    ua = user_agent or ""
    browser = ""
    for marker, name in _BROWSERS:
        if marker in ua:
            version = re.match(r"(\d+)", ua.split(marker, 1)[1])
            browser = f"{name} {version.group(1)}" if version else name
            break
    system = next((name for marker, name in _SYSTEMS if marker in ua), "")
    return " / ".join(part for part in (browser, system) if part)


def end_in_own_transaction(request, session_id: int, reason: str, now: dt.datetime) -> None:
    with request.registry["dbsession_factory"]() as dbsession, dbsession.begin():
        dbsession.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason))


@functools.cache
def _by_token_hash():
    """The session of a token hash: one statement object for the process, so
    that SQLAlchemy keeps its cache key instead of building the statement
    and its key again on every request (issue 21)."""
    return select(LoginSession).where(LoginSession.token_hash == bindparam("token_hash"))


def lookup(request) -> LoginSession | None:
    """The live session of this request's cookie, ending it if it expired or
    its user is no longer valid. ``request.login_session`` caches this."""
    token = request.cookies.get(COOKIE_NAME)
    if not token or len(token) > 100:
        return None
    login_session = request.dbsession.scalar(_by_token_hash(), {"token_hash": token_hash(token)})
    if login_session is None or login_session.ended_at is not None:
        return None
    now = request.now
    idle, absolute = request.app_settings.session.timeouts(str(login_session.user.role))
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
        request.audit.event(AuditEvent.SessionEnded, "ended", user=login_session.user,
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
    secure = request.app_settings.session.secure_cookie
    cookie = make_cookie(COOKIE_NAME, token, path="/", secure=secure, httponly=True,
                         samesite="Strict")
    return [("Set-Cookie", cookie)]
