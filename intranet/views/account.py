"""A user's own second factor: enrol TOTP (with recovery codes), replace the
recovery codes, switch it off where the role allows."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..audit.events import AuditEvent
from ..resources import Root
from ..security import second_factor
from ..security.permissions import Permission


def _page(request, **extra):
    user = request.identity
    mfa = request.app_settings.mfa
    return {"user": user, "enrolled": bool(user.totp_secret), "error": None, "secret": None,
            "uri": None, "codes": None,
            "required": str(user.role) in mfa.required_roles,
            "totp_allowed": "totp" in mfa.allowed_methods(str(user.role)),
            "remaining": second_factor.remaining_recovery_codes(request.dbsession, user),
            **extra}


@view_config(context=Root, name="two-factor", renderer="account/two_factor.jinja2",
             permission=Permission.OwnSecondFactor, request_method="GET")
def two_factor(request):
    return _page(request)


@view_config(context=Root, name="two-factor", renderer="account/two_factor.jinja2",
             permission=Permission.OwnSecondFactor, request_method="POST")
def two_factor_change(request):
    user, post = request.identity, request.POST
    action = post.get("action")
    if action == "start" and not user.totp_secret:
        secret = second_factor.new_secret()
        return _page(request, secret=secret, uri=second_factor.provisioning_uri(secret, user.login))
    if action == "confirm" and not user.totp_secret:
        secret = post.get("secret", "")
        valid_secret = isinstance(secret, str) and len(secret) == 32 and secret.isalnum()
        step = valid_secret and second_factor.totp_step(secret, post.get("code", ""), request.now)
        if not step:
            request.response.status = 400
            return _page(request, error="mfa.error.code", secret=secret if valid_secret else None,
                         uri=second_factor.provisioning_uri(secret, user.login) if valid_secret else None)
        user.totp_secret, user.totp_enrolled_at, user.totp_last_step = secret.upper(), request.now, step
        codes = second_factor.new_recovery_codes(request.dbsession, user,
                                                 request.registry.password_context, request.now)
        request.audit.event(AuditEvent.MfaEnrolled, user=user, method="totp")
        return _page(request, codes=codes, enrolled=True, remaining=len(codes))
    if action in ("recovery", "disable") and user.totp_secret:
        step = second_factor.totp_step(user.totp_secret, post.get("code", ""), request.now,
                                       user.totp_last_step)
        if step is None:
            request.response.status = 400
            return _page(request, error="mfa.error.code")
        user.totp_last_step = step
        if action == "recovery":
            codes = second_factor.new_recovery_codes(request.dbsession, user,
                                                     request.registry.password_context, request.now)
            request.audit.event(AuditEvent.MfaRecoveryCodes, user=user)
            return _page(request, codes=codes, remaining=len(codes))
        if str(user.role) in request.app_settings.mfa.required_roles:
            request.response.status = 400
            return _page(request, error="mfa.error.required")
        second_factor.disable(request.dbsession, user)
        request.audit.event(AuditEvent.MfaDisabled, user=user, method="totp")
        return HTTPSeeOther(request.resource_path(request.root, "two-factor"))
    request.response.status = 400
    return _page(request, error="mfa.error.action")
