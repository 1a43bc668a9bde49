"""A user's own password (``/password``): the current one, the policy, and
every other session of the user ends, so a stolen session does not outlive
the change."""
from pyramid.view import view_config

from ..audit.events import AuditEvent
from ..resources import Root
from ..security import sessions
from ..security.passwords import policy_problems
from ..security.permissions import Permission

MAX_PASSWORD = 128


@view_config(context=Root, name="password", renderer="account/password.jinja2",
             permission=Permission.OwnPassword, request_method="GET")
def password_form(request, errors=None, done=False):
    return {"errors": errors or [], "done": done}


@view_config(context=Root, name="password", renderer="account/password.jinja2",
             permission=Permission.OwnPassword, request_method="POST")
def password_change(request):
    user, post = request.identity, request.POST
    current, new, again = (post.get(name, "") for name in ("current", "new", "again"))
    if not all(isinstance(v, str) and len(v) <= MAX_PASSWORD for v in (current, new, again)):
        current = new = again = ""
    context = request.registry.password_context
    errors = []
    if not current or not context.verify(current, user.password_hash):
        errors.append("password.error.current")
    elif new != again:
        errors.append("password.error.again")
    elif new == current:
        errors.append("password.error.same")
    else:
        errors.extend(policy_problems(new, user.login))
    if errors:
        request.response.status = 400
        if "password.error.current" in errors:
            request.audit.event(AuditEvent.PasswordChangeRefused, "failure", user=user)
        return password_form(request, errors)
    user.password_hash = context.hash(new)
    user.password_changed_at = request.now
    ended = sessions.end_sessions(request.dbsession, user.id, request.now,
                                  sessions.EndReason.revoked,
                                  ids=[s.id for s in sessions.live_sessions(
                                      request, user, exclude=request.login_session.id)])
    request.audit.event(AuditEvent.PasswordChanged, user=user, other_sessions_ended=ended)
    return password_form(request, done=True)
