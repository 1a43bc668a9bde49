"""The Pyramid 2 security policy: identity from the server-side session,
principals from the user (``User.__principals__``), decisions by ACLHelper."""
from __future__ import annotations

from pyramid.authorization import ACLHelper, Authenticated, Everyone

from . import sessions


class SecurityPolicy:
    def __init__(self):
        self.helper = ACLHelper()

    def identity(self, request):
        login_session = request.login_session
        return login_session.user if login_session is not None else None

    def authenticated_userid(self, request):
        user = request.identity
        return user.id if user is not None else None

    def principals(self, request) -> set[str]:
        principals = {Everyone}
        user = request.identity
        # sessions.lookup already ended sessions of users outside their
        # validity window, so an identity here is a valid account.
        if user is not None:
            principals.add(Authenticated)
            principals.update(user.__principals__())
        return principals

    def permits(self, request, context, permission):
        return self.helper.permits(context, request.principals, permission)

    def remember(self, request, userid, user=None, **kw):
        token = sessions.create(request, user)
        return sessions.cookie_headers(request, token)

    def forget(self, request, **kw):
        if request.login_session is not None:
            sessions.end(request.login_session, sessions.EndReason.logout, request.now)
        return sessions.cookie_headers(request, None)
