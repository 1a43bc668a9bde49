"""User administration (supervisors)."""
from pyramid.view import view_config
from sqlalchemy import select

from ..models import Organisation, User
from ..resources import UserContainer
from ..security.permissions import Permission
from ..security.throttle import throttled_addresses


@view_config(context=UserContainer, renderer="admin/users.jinja2", permission=Permission.UsersView)
def user_list(request):
    users = request.dbsession.scalars(
        select(User).join(User.organisation).order_by(Organisation.code, User.role, User.login)).all()
    return {"users": users, "now": request.now, "throttle": request.registry.login_throttle,
            "throttled": throttled_addresses(request)}
