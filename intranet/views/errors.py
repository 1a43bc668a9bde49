"""Error pages: never a traceback, never personal data."""
import logging

from pyramid.csrf import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.location import lineage
from pyramid.view import (
    exception_view_config, forbidden_view_config, notfound_view_config, view_config,
)

from ..audit.events import AuditEvent
from ..resources import MissingCaseResource, MissingRow
from ..security.policy import PasswordChangeRequired
from ..security.permissions import Permission

#: Contexts that stand for something that does not exist.
MISSING = (MissingCaseResource, MissingRow)

log = logging.getLogger(__name__)


def _to_login(request):
    query = {}
    if request.method == "GET":
        query["next"] = request.path
    if getattr(request, "session_end_reason", None):
        query["expired"] = "1"
    return HTTPSeeOther(request.resource_path(request.root, "login", query=query))


def _forbidden_page(request):
    request.response.status = 403
    return render_to_response("errors/forbidden.jinja2", {}, request=request,
                              response=request.response)


def _zone_page(request):
    """The user is logged in but works from outside its role's network zones:
    every protected view is denied (no principals); say why, and log it."""
    user = request.identity
    request.audit.outcome = "denied"
    request.audit.event(AuditEvent.ZoneDenied, "denied", user=user, role=str(user.role),
                        zone=request.app_settings.network.zones.describe(user.role))
    request.response.status = 403
    return render_to_response("errors/zone.jinja2", {}, request=request,
                              response=request.response)


def _out_of_reach(request) -> bool:
    """Whether the request is below a resource (a case, a row, existing or
    not) the user may not see: the nearest one naming a ``view_permission``."""
    for resource in lineage(request.context):
        permission = getattr(resource, "view_permission", None)
        if permission is not None:
            return not request.has_permission(permission, resource)
    return False


def wants_json(request) -> bool:
    """A script's request (fetch, XHR) rather than a page: it gets JSON, not a redirect."""
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    mode = request.headers.get("Sec-Fetch-Mode")
    if mode is not None and mode != "navigate":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _password_change(request):
    """The user holds a temporary password (``must_change_password``): pages
    go to /password, scripts get 403 with the reason. Nothing else is
    reachable until it is changed (intranet.security.policy)."""
    request.audit.outcome = "denied"
    request.audit.note(reason="must_change_password")
    if wants_json(request):
        request.response.status = 403
        request.response.content_type = "application/json"
        request.response.json_body = {"error": request.t("password.forced.json"),
                                      "reason": "must_change_password",
                                      "redirect": request.resource_path(request.root, "password")}
        return request.response
    query = {"next": request.path} if request.method == "GET" and request.path != "/" else {}
    return HTTPSeeOther(request.resource_path(request.root, "password", query=query))


@forbidden_view_config(renderer="errors/forbidden.jinja2")
def forbidden(request):
    """Anonymous: to the login page (back here afterwards). Outside the
    network zones of the user's role: 403 with the zone page, not the login
    page (the user is logged in). Otherwise 403, the same page for a case
    outside the user's scope and for a case number that does not exist (no
    existence oracle; the log records which)."""
    if request.identity is None:
        request.audit.outcome = "unauthenticated"
        return _to_login(request)
    if request.outside_zone:
        return _zone_page(request)
    if isinstance(getattr(request.exception, "result", None), PasswordChangeRequired):
        return _password_change(request)
    missing = isinstance(request.context, MISSING)
    request.audit.outcome = "not_found" if missing else "denied"
    request.response.status = 403
    return {}


@view_config(context=MissingCaseResource, permission=Permission.CaseView)
def missing_case(request):
    """Roles that reach every case learn that this one does not exist."""
    request.audit.outcome = "not_found"
    request.response.status = 404
    return render_to_response("errors/notfound.jinja2", {}, request=request,
                              response=request.response)


@notfound_view_config(renderer="errors/notfound.jinja2")
def notfound(request):
    """404. Anonymous users go to the login page whether or not the thing
    exists, and a missing page or row below a resource the user may not see
    is denied like the resource itself (no oracle; the log records which)."""
    request.audit.outcome = "not_found"
    if request.identity is None:
        return _to_login(request)
    if request.outside_zone:
        return _zone_page(request)
    if _out_of_reach(request):
        if not any(isinstance(r, MISSING) for r in lineage(request.context)):
            request.audit.outcome = "denied"
        return _forbidden_page(request)
    request.response.status = 404
    return {}


@exception_view_config(BadCSRFToken, renderer="errors/bad_request.jinja2")
@exception_view_config(BadCSRFOrigin, renderer="errors/bad_request.jinja2")
def bad_csrf(request):
    request.response.status = 400
    return {"reason": "error.csrf"}


@exception_view_config(HTTPBadRequest, renderer="errors/bad_request.jinja2")
@exception_view_config(UnicodeDecodeError, renderer="errors/bad_request.jinja2")
def bad_request(request):
    """400; also for a query string, form or path that is not UTF-8 (WebOb and
    Pyramid raise UnicodeDecodeError when a view or traversal first reads it)."""
    request.response.status = 400
    return {"reason": "error.bad_request"}


@exception_view_config(Exception, renderer="errors/server_error.jinja2")
def server_error(request):
    # SQL parameters are hidden by the engine (hide_parameters), so the
    # traceback names code, not residents.
    log.error("unhandled %s on %s %s", type(request.exception).__name__,
              request.method, request.path_info, exc_info=request.exc_info)
    request.response.status = 500
    return {}
