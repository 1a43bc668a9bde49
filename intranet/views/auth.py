"""Login (password, then a second factor where needed) and logout."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from ..audit.events import AuditEvent
from ..resources import Root
from ..security import keys, second_factor, sessions
from ..security.authentication import Failure, authenticate, count_failure, succeeded
from ..security.throttle import address_throttled
from .forms import field, safe_next

LOGIN_MAX = 64
PASSWORD_MAX = 1024


@view_config(context=Root, name="login", renderer="auth/login.jinja2",
             permission=NO_PERMISSION_REQUIRED, request_method="GET")
def login_form(request):
    notice = ("session_expired" if request.GET.get("expired")
              else "locked_notice" if request.GET.get("locked") else None)
    return {"login": "", "error": None, "next": safe_next(request, request.GET.get("next")),
            "notice": notice}


@view_config(context=Root, name="login", renderer="auth/login.jinja2",
             permission=NO_PERMISSION_REQUIRED, request_method="POST")
def login_submit(request):
    login, login_ok = field(request, "login", LOGIN_MAX)
    password = request.POST.get("password", "")
    next_url = safe_next(request, request.POST.get("next"))
    values = {"login": login if login_ok else "", "next": next_url, "notice": None}

    if address_throttled(request):
        # Before anything about the account is looked up: no oracle, no hash.
        request.response.status = 429
        request.audit.outcome = "denied"
        request.audit.event(AuditEvent.LoginThrottled, "denied")
        return {**values, "error": "login.throttled"}

    if not login_ok or not isinstance(password, str) or len(password) > PASSWORD_MAX:
        request.response.status = 400
        request.audit.event(AuditEvent.LoginFailure, "failure", reason="too_long")
        return {**values, "error": "login.too_long"}
    if not login or not password:
        request.response.status = 400
        request.audit.event(AuditEvent.LoginFailure, "failure", reason="required")
        return {**values, "error": "login.required"}

    result = authenticate(request, login, password)
    step = (second_factor.after_password(request.app_settings.mfa, request.dbsession, result.user)
            if result.ok else None)
    if step == second_factor.Step.refused:
        request.audit.event(AuditEvent.LoginFailure, "failure", user=result.user, reason="no_second_factor")
        return {**values, "error": "login.no_second_factor"}
    two_step = step == second_factor.Step.second
    # Never the password; the login id only when it names an account (a
    # mistyped password in the login field must not land in the log).
    event = (AuditEvent.LoginPassword if two_step else AuditEvent.LoginSuccess if result.ok
             else AuditEvent.LoginFailure)
    request.audit.event(event, "success" if result.ok else "failure", user=result.user,
                        **({} if result.ok else {"reason": result.failure}))
    if not result.ok:
        # 200 so that pyramid_tm commits the failure count; a zone refusal
        # changes nothing and is a 403 (the log's outcome: denied).
        error = {Failure.locked: "login.locked",
                 Failure.account_invalid: "login.account_invalid",
                 Failure.zone: "login.zone",
                 Failure.training_missing: "login.training_missing",
                 Failure.training_overdue: "login.training_overdue",
                 Failure.contract_not_named: "login.contract_not_named",
                 Failure.contract_period: "login.contract_period",
                 Failure.contract_ended: "login.contract_ended"}.get(result.failure, "login.bad_credentials")
        if result.failure == Failure.zone:
            request.response.status = 403
        return {**values, "error": error}

    if two_step:
        headers = remember(request, result.user.id, user=result.user, pending=True)
        return HTTPSeeOther(request.resource_path(request.root, "second-factor",
                                                  query={"next": next_url}), headers=headers)
    succeeded(request, result.user)
    headers = remember(request, result.user.id, user=result.user)
    return HTTPSeeOther(next_url, headers=headers)


def _pending(request):
    login_session = request.login_session
    return login_session if login_session is not None and login_session.pending else None


def _expired(request) -> dict:
    """The JSON answer of the key step when there is no pending session."""
    request.response.status = 403
    return {"error": request.t("login.second_factor.expired")}


@view_config(context=Root, name="second-factor", renderer="auth/second_factor.jinja2",
             permission=NO_PERMISSION_REQUIRED, request_method="GET")
def second_factor_form(request):
    pending = _pending(request)
    if pending is None:
        return HTTPSeeOther(request.resource_path(request.root, "login"))
    return {"error": None, "next": safe_next(request, request.GET.get("next")),
            "methods": second_factor.enrolled_methods(request.dbsession, pending.user)}


@view_config(context=Root, name="second-factor", renderer="auth/second_factor.jinja2",
             permission=NO_PERMISSION_REQUIRED, request_method="POST")
def second_factor_submit(request):
    """The code from the authenticator app, or a recovery code. Wrong codes
    count towards the account's lockout like wrong passwords."""
    pending = _pending(request)
    if pending is None:
        return HTTPSeeOther(request.resource_path(request.root, "login"))
    user, next_url = pending.user, safe_next(request, request.POST.get("next"))
    method = second_factor.verify(request, user, request.POST.get("code", ""))
    if method is None:
        result = count_failure(request, user)
        request.audit.event(AuditEvent.LoginFailure, "failure", user=user, session_id=pending.id,
                            reason="second_factor")
        if result.failure == Failure.locked:
            return HTTPSeeOther(request.resource_path(request.root, "login", query={"locked": "1"}),
                                headers=forget(request))
        # 200 so that pyramid_tm commits the failure count.
        return {"error": "login.second_factor.wrong", "next": next_url,
                "methods": second_factor.enrolled_methods(request.dbsession, user)}
    extra = {}
    if method == "recovery":
        extra["recovery_codes_left"] = second_factor.remaining_recovery_codes(request.dbsession, user)
    return _complete(request, pending, method, next_url, **extra)


def _complete(request, pending, method: str, next_url: str, **detail) -> HTTPSeeOther:
    """The second factor passed: the pending session is replaced by a full one."""
    user = pending.user
    sessions.end(pending, sessions.EndReason.second_factor_done, request.now)
    succeeded(request, user)
    request.audit.event(AuditEvent.LoginSuccess, user=user, method=method, **detail)
    headers = remember(request, user.id, user=user, second_factor=method)
    return HTTPSeeOther(next_url, headers=headers)


@view_config(context=Root, name="second-factor-options", renderer="json",
             permission=NO_PERMISSION_REQUIRED, request_method="POST")
def security_key_options(request):
    """The WebAuthn challenge for the pending user's keys (fetched by webauthn.js)."""
    pending = _pending(request)
    if pending is None:
        return _expired(request)
    return {"options": keys.authentication_options(request, pending.user)}


@view_config(context=Root, name="second-factor-key", renderer="json",
             permission=NO_PERMISSION_REQUIRED, request_method="POST")
def security_key_submit(request):
    """The key's signed assertion; answers where to go next (JSON)."""
    pending = _pending(request)
    if pending is None:
        return _expired(request)
    user, next_url = pending.user, safe_next(request, request.POST.get("next"))
    try:
        key = keys.authenticate(request, user, request.POST.get("credential"))
    except keys.KeyProblem as problem:
        result = count_failure(request, user)
        request.audit.event(AuditEvent.LoginFailure, "failure", user=user, session_id=pending.id,
                            reason="security_key")
        if result.failure == Failure.locked:
            forget(request)
            return {"redirect": request.resource_path(request.root, "login", query={"locked": "1"})}
        return {"error": request.t(problem.key)}  # 200: the failure count is committed
    redirect = _complete(request, pending, "webauthn", next_url, key=key.id)
    request.response.headers.extend(
        (name, value) for name, value in redirect.headers.items() if name == "Set-Cookie")
    return {"redirect": next_url}


@view_config(context=Root, name="logout", permission=NO_PERMISSION_REQUIRED,
             request_method="POST")
def logout(request):
    login_session = request.login_session
    if login_session is not None:
        request.audit.event(AuditEvent.Logout, user=login_session.user, session_id=login_session.id)
    headers = forget(request)
    return HTTPSeeOther(request.resource_path(request.root, "login"), headers=headers)
