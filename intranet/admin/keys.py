"""Security keys (supervisors): register a key for a user in person, revoke a
lost one. Registration runs in the supervisor's browser (static/webauthn.js):
options, then the new credential, both as JSON."""
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config
from sqlalchemy import select

from ..audit.events import AuditEvent
from ..models import SecurityKey
from ..resources import UserKeys
from ..security import keys
from ..security.permissions import Permission
from ..views.forms import posted_row


@view_config(context=UserKeys, renderer="admin/keys.jinja2", permission=Permission.UsersView,
             request_method="GET")
def key_list(request):
    user = request.context.user
    all_keys = request.dbsession.scalars(
        select(SecurityKey).where(SecurityKey.user_id == user.id).order_by(SecurityKey.id)).all()
    return {"user": user, "keys": all_keys,
            "can_manage": request.has_permission(Permission.SecurityKeysManage, request.context)}


@view_config(context=UserKeys, name="options", renderer="json",
             permission=Permission.SecurityKeysManage, request_method="POST")
def key_options(request):
    return {"options": keys.registration_options(request, request.context.user)}


@view_config(context=UserKeys, name="register", renderer="json",
             permission=Permission.SecurityKeysManage, request_method="POST")
def key_register(request):
    user = request.context.user
    try:
        key = keys.register(request, user, request.POST.get("credential"), request.POST.get("label"))
    except keys.KeyProblem as problem:
        request.response.status = 400
        return {"error": request.t(problem.key)}
    request.audit.event(AuditEvent.SecurityKeyRegistered, user=user, key=key.id, label=key.label,
                        by=request.identity.login)
    return {"redirect": request.resource_path(request.context)}


@view_config(context=UserKeys, name="revoke", permission=Permission.SecurityKeysManage,
             request_method="POST")
def key_revoke(request):
    key = posted_row(request, SecurityKey, "key_id")
    if key is None or key.user_id != request.context.user.id:
        raise HTTPNotFound()
    keys.revoke(key, request.identity, request.now)
    request.audit.event(AuditEvent.SecurityKeyRevoked, user=request.context.user, key=key.id,
                        by=request.identity.login)
    return HTTPSeeOther(request.resource_path(request.context))
