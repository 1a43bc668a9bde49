"""CSRF tokens bound to the server-side session; before login (the login form
itself) a SameSite=Strict cookie carries the token instead."""
from __future__ import annotations

import secrets

from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.interfaces import ICSRFStoragePolicy
from pyramid.util import strings_differ
from zope.interface import implementer


@implementer(ICSRFStoragePolicy)
class SessionCSRFStoragePolicy:
    def __init__(self, secure: bool):
        self.anonymous = CookieCSRFStoragePolicy(
            cookie_name="intranet_csrf", secure=secure, httponly=True, samesite="Strict")

    def new_csrf_token(self, request):
        login_session = request.login_session
        if login_session is None:
            return self.anonymous.new_csrf_token(request)
        login_session.csrf_token = secrets.token_urlsafe(32)
        return login_session.csrf_token

    def get_csrf_token(self, request):
        login_session = request.login_session
        if login_session is None:
            return self.anonymous.get_csrf_token(request)
        return login_session.csrf_token

    def check_csrf_token(self, request, supplied_token):
        expected = self.get_csrf_token(request)
        return not strings_differ(expected.encode("utf-8"), (supplied_token or "").encode("utf-8"))
