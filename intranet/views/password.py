"""A user's own password (``/password``): the current one, the policy, and
every other session of the user ends, so a stolen session does not outlive
the change.

The same page is where a user holding a temporary password (set by a
supervisor: ``User.must_change_password``) is sent until it is replaced
(intranet.security.policy); then the flag clears and the user goes on to
the page they asked for."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..audit.events import AuditEvent
from ..resources import Root
from ..security import sessions
from ..security.passwords import policy_problems
from ..security.permissions import Permission
from .forms import safe_next

MAX_PASSWORD = 128


@view_config(context=Root, name="password", renderer="account/password.jinja2",
             permission=Permission.OwnPassword, request_method="GET")
def password_form(request, errors=None, done=False):
    source = request.POST if request.method == "POST" else request.GET
    return {"errors": errors or [], "done": done,
            "forced": bool(request.identity.must_change_password),
            "next": safe_next(request, source.get("next"))}


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
    forced = user.must_change_password
    user.password_hash = context.hash(new)
    user.password_changed_at = request.now
    user.must_change_password = False
    ended = sessions.end_sessions(request.dbsession, user.id, request.now,
                                  sessions.EndReason.revoked,
                                  ids=[s.id for s in sessions.live_sessions(
                                      request, user, exclude=request.login_session.id)])
    request.audit.event(AuditEvent.PasswordChanged, user=user, other_sessions_ended=ended,
                        **({"temporary_replaced": True} if forced else {}))
    if forced:
        return HTTPSeeOther(safe_next(request, post.get("next")))
    return password_form(request, done=True)
