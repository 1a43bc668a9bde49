"""The Pyramid 2 security policy: identity from the server-side session,
principals from the user (``User.__principals__``), decisions by ACLHelper.

A user working from outside its role's network zones (``request.outside_zone``,
:mod:`intranet.security.network`) keeps its identity (it is still logged in,
so there is no login loop) but has no principals beyond ``Everyone``: every
protected view is denied, with :class:`OutsideZone` as the reason, which the
forbidden view turns into the zone page.

A user holding a temporary password (``User.must_change_password``: the
account was created or its password reset by a supervisor) is denied every
permission but :attr:`Permission.OwnPassword`, with
:class:`PasswordChangeRequired` as the reason: the forbidden view sends pages
to ``/password`` and answers JSON requests 403 with the reason. Views needing
no permission (login, logout, the second factor, static files) still work.

A request from the monitoring network (``intranet.zones.monitoring``) holds
:data:`~intranet.security.principals.MONITORING` whoever is logged in, and
the matrix grants that principal the health and metrics pages alone.
"""
from __future__ import annotations

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.security import Denied

from . import sessions
from .principals import MONITORING
from .permissions import Permission


class OutsideZone(Denied):
    """Denied because the request comes from outside the role's network zones."""


class PasswordChangeRequired(Denied):
    """Denied because the user must first replace a temporary password."""


class SecurityPolicy:
    def __init__(self):
        self.helper = ACLHelper()

    def identity(self, request):
        """The user of a complete session; one still waiting for its second
        factor (``pending``) is nobody yet."""
        login_session = request.login_session
        if login_session is None or login_session.pending:
            return None
        return login_session.user

    def authenticated_userid(self, request):
        user = request.identity
        return user.id if user is not None else None

    def principals(self, request) -> set[str]:
        principals = {Everyone}
        if request.in_monitoring_zone:  # a place, not a user: /healthz and /metrics only
            principals.add(MONITORING)
        user = request.identity
        # sessions.lookup already ended sessions of users outside their
        # validity window, so an identity here is a valid account.
        if user is not None and not request.outside_zone:
            principals.add(Authenticated)
            principals.update(user.__principals__())
        return principals

    def permits(self, request, context, permission):
        user = request.identity
        if (user is not None and user.must_change_password
                and permission != Permission.OwnPassword and not request.outside_zone):
            return PasswordChangeRequired(
                "%s denied: the user must change a temporary password first", permission)
        result = self.helper.permits(context, request.principals, permission)
        if not result and request.outside_zone:
            return OutsideZone("%s denied: outside the network zone of the user's role", permission)
        return result

    def remember(self, request, userid, user=None, pending=False, second_factor=None, **kw):
        token = sessions.create(request, user, pending=pending, second_factor=second_factor)
        return sessions.cookie_headers(request, token)

    def forget(self, request, **kw):
        if request.login_session is not None:
            sessions.end(request.login_session, sessions.EndReason.logout, request.now)
        return sessions.cookie_headers(request, None)
