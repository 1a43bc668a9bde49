"""Authentication, sessions and authorization wiring."""
from pyramid.settings import asbool

from . import sessions
from .csrf import SessionCSRFStoragePolicy
from .permissions import Permission
from .policy import SecurityPolicy

# A view registered without a permission gets this one, which no ACE grants:
# deny by default.
DENY_BY_DEFAULT = "__no_permission_granted__"


def includeme(config):
    settings = config.get_settings()
    config.include(".passwords")
    config.include(".network")
    config.include(".throttle")
    config.add_request_method(sessions.lookup, "login_session", reify=True)
    # Parsed once: a malformed limit stops the application from starting.
    config.registry.session_limits = sessions.max_per_role(settings)
    policy = SecurityPolicy()
    config.set_security_policy(policy)
    config.add_request_method(policy.principals, "principals", reify=True)
    config.include(".disclosure")
    config.set_default_permission(DENY_BY_DEFAULT)
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy(
        secure=asbool(settings.get("intranet.session.secure_cookie", False))))
    config.set_default_csrf_options(require_csrf=True)


__all__ = ["Permission", "includeme"]
