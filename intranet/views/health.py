"""``/health``: whether the access log's outside witness keeps up, for the
ward's monitoring. Public like the login page (monitoring holds no account),
so it says nothing but the log's state: no personal data, no case numbers."""
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..resources import Root


@view_config(context=Root, name="health", renderer="json", permission=NO_PERMISSION_REQUIRED,
             request_method="GET")
def health(request):
    """200 and ``{"status": "ok", ...}``, or 503 and ``"degraded"`` while a
    checkpoint witness fails or entries have gone unwitnessed too long."""
    status = request.registry.access_checkpointer.status(request.now)
    if status["status"] != "ok":
        request.response.status = 503
    request.response.cache_control = "no-store"
    return {"access_log": status}
