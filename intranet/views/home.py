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
    """Supervisors see the open incident reports (事故報告) and the call
    center's campaign drafts waiting for their review first (issue 25); a
    contractor's leader sees their own organisation's open reports (the
    ward's instructions to follow)."""
    page = {"open_incidents": None, "open_incident_count": 0, "own_incidents": False,
            "waiting_drafts": None, "waiting_draft_count": 0}
    incidents = request.root["incidents"]
    if request.has_permission(Permission.IncidentsHandle, incidents):
        from ..incidents.service import open_incidents

        page["open_incident_count"], page["open_incidents"] = open_incidents(request.dbsession)
    elif request.has_permission(Permission.IncidentsFile, incidents):
        from ..incidents.service import open_incidents

        page["own_incidents"] = True
        page["open_incident_count"], page["open_incidents"] = open_incidents(
            request.dbsession, organisation_id=request.identity.organisation_id)
    if request.has_permission(Permission.CampaignDraftsReview, request.root["calls"]["drafts"]):
        from ..calls.drafts import waiting_for_review

        page["waiting_draft_count"], page["waiting_drafts"] = waiting_for_review(request.dbsession)
    return page


@view_config(context=Root, name="lang", permission=NO_PERMISSION_REQUIRED, request_method="POST")
def set_language(request):
    """Switch the display language (a cookie; no personal data involved)."""
    response = HTTPSeeOther(safe_next(request, request.POST.get("next")))
    lang = request.POST.get("lang")
    if lang in LOCALES:
        response.set_cookie(COOKIE_NAME, lang, max_age=365 * 24 * 3600, path="/",
                            httponly=True, samesite="Strict")
    return response
