"""Login and logout."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from ..resources import Root
from ..security.authentication import Failure, authenticate
from ..security.throttle import address_throttled
from .forms import field, safe_next

LOGIN_MAX = 64
PASSWORD_MAX = 1024


@view_config(context=Root, name="login", renderer="auth/login.jinja2",
             permission=NO_PERMISSION_REQUIRED, request_method="GET")
def login_form(request):
    return {"login": "", "error": None, "next": safe_next(request, request.GET.get("next")),
            "notice": "session_expired" if request.GET.get("expired") else None}


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
        request.audit.event("login.throttled", "denied")
        return {**values, "error": "login.throttled"}

    if not login_ok or not isinstance(password, str) or len(password) > PASSWORD_MAX:
        request.response.status = 400
        request.audit.event("login.failure", "failure", reason="too_long")
        return {**values, "error": "login.too_long"}
    if not login or not password:
        request.response.status = 400
        request.audit.event("login.failure", "failure", reason="required")
        return {**values, "error": "login.required"}

    result = authenticate(request, login, password)
    # Never the password; the login id only when it names an account (a
    # mistyped password in the login field must not land in the log).
    request.audit.event("login.success" if result.ok else "login.failure",
                        "success" if result.ok else "failure", user=result.user,
                        **({} if result.ok else {"reason": result.failure}))
    if not result.ok:
        # 200 so that pyramid_tm commits the failure count; a zone refusal
        # changes nothing and is a 403 (the log's outcome: denied).
        error = {Failure.locked: "login.locked",
                 Failure.account_invalid: "login.account_invalid",
                 Failure.zone: "login.zone"}.get(result.failure, "login.bad_credentials")
        if result.failure == Failure.zone:
            request.response.status = 403
        return {**values, "error": error}

    headers = remember(request, result.user.id, user=result.user)
    return HTTPSeeOther(next_url, headers=headers)


@view_config(context=Root, name="logout", permission=NO_PERMISSION_REQUIRED,
             request_method="POST")
def logout(request):
    login_session = request.login_session
    if login_session is not None:
        request.audit.event("logout", user=login_session.user, session_id=login_session.id)
    headers = forget(request)
    return HTTPSeeOther(request.resource_path(request.root, "login"), headers=headers)
