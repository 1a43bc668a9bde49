"""Error pages: never a traceback, never personal data."""
import logging

from pyramid.csrf import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

log = logging.getLogger(__name__)


def _to_login(request):
    query = {}
    if request.method == "GET":
        query["next"] = request.path
    if getattr(request, "session_end_reason", None):
        query["expired"] = "1"
    return HTTPSeeOther(request.resource_path(request.root, "login", query=query))


def _not_found(request):
    request.response.status = 404
    return render_to_response("errors/notfound.jinja2", {}, request=request,
                              response=request.response)


@forbidden_view_config(renderer="errors/forbidden.jinja2")
def forbidden(request):
    """Anonymous: to the login page (back here afterwards). Logged in: 403,
    or 404 for a resource whose very existence the user may not learn (a
    case outside their scope looks exactly like a case that does not exist)."""
    if request.identity is None:
        request.audit.outcome = "unauthenticated"
        return _to_login(request)
    request.audit.outcome = "denied"
    context = request.context
    existence = getattr(context, "existence_permission", None)
    if existence is not None and not request.has_permission(existence, context):
        return _not_found(request)
    request.response.status = 403
    return {}


@notfound_view_config(renderer="errors/notfound.jinja2")
def notfound(request):
    """404; anonymous users go to the login page whether or not the thing
    exists, the same answer as for a page they may not see (no oracle)."""
    request.audit.outcome = "not_found"
    if request.identity is None:
        return _to_login(request)
    request.response.status = 404
    return {}


@exception_view_config(BadCSRFToken, renderer="errors/bad_request.jinja2")
@exception_view_config(BadCSRFOrigin, renderer="errors/bad_request.jinja2")
def bad_csrf(request):
    request.response.status = 400
    return {"reason": "error.csrf"}


@exception_view_config(HTTPBadRequest, renderer="errors/bad_request.jinja2")
def bad_request(request):
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
