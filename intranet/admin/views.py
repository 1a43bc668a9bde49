"""User administration (supervisors): the user list, and any user's live
sessions with the remote wipe (end one, or all at once)."""
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from ..models import Organisation, User
from ..resources import UserContainer, UserResource
from ..security import sessions
from ..security.permissions import Permission
from ..security.throttle import throttled_addresses
from ..views.forms import posted_int
from ..views.sessions import end_and_log, ended_count, session_rows


@view_config(context=UserContainer, renderer="admin/users.jinja2", permission=Permission.UsersView)
def user_list(request):
    users = request.dbsession.scalars(
        select(User).join(User.organisation).order_by(Organisation.code, User.role, User.login)).all()
    can_sessions = request.has_permission(Permission.UsersSessionsManage, request.context)
    return {"users": users, "now": request.now, "throttle": request.registry.login_throttle,
            "throttled": throttled_addresses(request), "can_sessions": bool(can_sessions),
            "session_counts": sessions.live_counts(request) if can_sessions else {}}


@view_config(context=UserResource, name="sessions", renderer="admin/user_sessions.jinja2",
             permission=Permission.UsersSessionsManage, request_method="GET")
def user_sessions(request):
    user = request.context.user
    return {"user": user, "rows": session_rows(request, user), "ended": ended_count(request)}


@view_config(context=UserResource, name="revoke", permission=Permission.UsersSessionsManage,
             request_method="POST")
def user_session_revoke(request):
    """Remote wipe of one session of this user (a lost tablet): the device is
    logged out at its next request, on every app process."""
    user = request.context.user
    session_id = posted_int(request, "session_id")
    if session_id is None:
        raise HTTPBadRequest()
    if session_id not in {s.id for s in sessions.live_sessions(request, user)}:
        raise HTTPNotFound()  # another user's session, or no longer live
    return end_and_log(request, user, [session_id], "sessions", one=True)


@view_config(context=UserResource, name="revoke-all", permission=Permission.UsersSessionsManage,
             request_method="POST")
def user_session_revoke_all(request):
    """Remote wipe of every live session of this user at once."""
    user = request.context.user
    ids = [s.id for s in sessions.live_sessions(request, user)]
    return end_and_log(request, user, ids, "sessions")
