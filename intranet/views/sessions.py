"""ログイン中の端末 (``/sessions/``): every user lists their own live sessions
and ends any other one, or all others (a PC left logged in at another desk).

Sessions are named by their id in the form, never by their token. Every query
is limited to the logged-in user's rows, so an id of someone else's session
is not found (404) and nothing changes. The current session is ended by
logging out, not here."""
from __future__ import annotations

from dataclasses import dataclass

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from ..audit.events import AuditEvent
from ..params import whole_number
from ..resources import OwnSessions
from ..security import sessions
from ..security.permissions import Permission
from .forms import posted_int


@dataclass(frozen=True)
class SessionRow:
    """What a sessions page shows of one session: never its token or hash."""

    id: int
    created_at: object
    last_seen_at: object
    client_addr: str
    device: str
    current: bool


def session_rows(request, user) -> list[SessionRow]:
    """``user``'s live sessions for a page, newest first."""
    current = request.login_session.id if request.login_session is not None else None
    return [SessionRow(s.id, s.created_at, s.last_seen_at, s.client_addr or "",
                       sessions.describe_user_agent(s.user_agent), s.id == current)
            for s in reversed(sessions.live_sessions(request, user))]


def ended_count(request) -> int | None:
    """The ``?ended=N`` notice after a redirect (a count, nothing else)."""
    value = request.GET.get("ended", "")
    return whole_number(value, 4)


@view_config(context=OwnSessions, renderer="account/sessions.jinja2",
             permission=Permission.OwnSessions, request_method="GET")
def own_sessions(request):
    return {"rows": session_rows(request, request.identity), "ended": ended_count(request)}


def end_and_log(request, user, ids: list[int], redirect_to: str, one: bool = False) -> HTTPSeeOther:
    """End ``user``'s sessions ``ids`` now, log it (``session.revoked``: how
    many, which one if ``one`` was chosen, by whom) and go back to the
    context's view ``redirect_to``."""
    count = sessions.end_sessions(request.dbsession, user.id, request.now,
                                  sessions.EndReason.revoked, ids=ids) if ids else 0
    if count:
        request.audit.event(AuditEvent.SessionRevoked, user=user,
                            session_id=ids[0] if one else None, sessions=count,
                            by=request.identity.login)
    return HTTPSeeOther(request.resource_path(request.context, redirect_to, query={"ended": count}))


@view_config(context=OwnSessions, name="end", permission=Permission.OwnSessions,
             request_method="POST")
def end_own_session(request):
    """End one other session of the user's own."""
    user, current = request.identity, request.login_session
    session_id = posted_int(request, "session_id")
    if session_id is None or session_id == current.id:
        raise HTTPBadRequest()  # the current session ends by logging out
    if session_id not in {s.id for s in sessions.live_sessions(request, user)}:
        raise HTTPNotFound()    # someone else's, ended, expired or made up: the same answer
    return end_and_log(request, user, [session_id], "", one=True)


@view_config(context=OwnSessions, name="end-others", permission=Permission.OwnSessions,
             request_method="POST")
def end_other_sessions(request):
    """End every session of the user's own except this one."""
    user = request.identity
    ids = [s.id for s in sessions.live_sessions(request, user, exclude=request.login_session.id)]
    return end_and_log(request, user, ids, "")
