"""Authentication, sessions and authorization wiring."""
from . import sessions
from .csrf import SessionCSRFStoragePolicy
from .permissions import Permission
from .policy import SecurityPolicy

# A view registered without a permission gets this one, which no ACE grants:
# deny by default.
DENY_BY_DEFAULT = "__no_permission_granted__"


def includeme(config):
    session = config.registry.app_settings.session
    config.include(".passwords")
    config.include(".network")
    config.add_request_method(sessions.lookup, "login_session", reify=True)
    policy = SecurityPolicy()
    config.set_security_policy(policy)
    config.add_request_method(policy.principals, "principals", reify=True)
    config.include(".disclosure")
    config.set_default_permission(DENY_BY_DEFAULT)
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy(
        secure=session.secure_cookie))
    config.set_default_csrf_options(require_csrf=True)


__all__ = ["Permission", "includeme"]
