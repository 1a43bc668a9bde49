"""The start page and the language switch."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..i18n import COOKIE_NAME, LOCALES
from ..resources import Root
from ..security.permissions import Permission
from .forms import safe_next


@view_config(context=Root, name="", renderer="home/index.jinja2", permission=Permission.HomeView)
def home(request):
    """Supervisors see the open incident reports (事故報告, issue 25) first."""
    incidents = request.root["incidents"]
    if request.has_permission(Permission.IncidentsHandle, incidents):
        from ..incidents.service import open_incidents

        count, rows = open_incidents(request.dbsession)
        return {"open_incidents": rows, "open_incident_count": count}
    return {"open_incidents": None, "open_incident_count": 0}


@view_config(context=Root, name="lang", permission=NO_PERMISSION_REQUIRED, request_method="POST")
def set_language(request):
    """Switch the display language (a cookie; no personal data involved)."""
    response = HTTPSeeOther(safe_next(request, request.POST.get("next")))
    lang = request.POST.get("lang")
    if lang in LOCALES:
        response.set_cookie(COOKIE_NAME, lang, max_age=365 * 24 * 3600, path="/",
                            httponly=True, samesite="Strict")
    return response
