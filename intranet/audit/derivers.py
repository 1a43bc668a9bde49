"""A view deriver noting which view ran and which permission it checks.

It sits directly under INGRESS, over ``secured_view``, so it runs before the
permission check: a denied request records the permission it was denied.
Exception views (403/404/400/500 pages) are noted separately, so the entry
keeps the name of the view the user asked for.
"""
from pyramid.interfaces import IDefaultPermission
from pyramid.security import NO_PERMISSION_REQUIRED


def _name(view) -> str:
    return f"{getattr(view, '__module__', '?')}.{getattr(view, '__qualname__', type(view).__name__)}"


def audit_view(view, info):
    name = _name(info.original_view)
    permission = info.options.get("permission")
    if permission is None:
        permission = info.registry.queryUtility(IDefaultPermission)
    permission = "none" if permission == NO_PERMISSION_REQUIRED else (
        str(permission) if permission is not None else None)

    if info.exception_only:
        def wrapper(context, request):
            request.audit.error_view = name
            return view(context, request)
    else:
        def wrapper(context, request):
            record = request.audit
            record.view_name, record.permission = name, permission
            return view(context, request)
    return wrapper


audit_view.options = ()
