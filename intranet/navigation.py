"""The navigation: each entry shows only if the matrix grants its permission."""
from dataclasses import dataclass

from .security.permissions import Permission


@dataclass(frozen=True)
class NavItem:
    label: str          # message key
    path: tuple         # resource names below the root
    permission: Permission


NAV_ITEMS = [
    NavItem("nav.home", (), Permission.HomeView),
    NavItem("nav.cases", ("cases",), Permission.CasesSearch),
    NavItem("nav.users", ("admin", "users"), Permission.UsersManage),
    NavItem("nav.calls", ("calls",), Permission.CallQueueWork),
    NavItem("nav.campaigns", ("calls", "campaigns"), Permission.CampaignsView),
    NavItem("nav.handovers", ("calls", "handovers"), Permission.HandoversView),
    NavItem("nav.reports", ("calls", "reports"), Permission.CallReportsView),
    NavItem("nav.audit", ("audit",), Permission.AuditLogView),
]


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def navigation(request) -> list[NavLink]:
    links = []
    for item in NAV_ITEMS:
        context = request.root
        for name in item.path:
            context = context[name]
        if request.has_permission(item.permission, context):
            url = request.resource_path(context)
            current = request.path == url or (item.path and request.path.startswith(url))
            links.append(NavLink(item.label, url, bool(current)))
    return links


def has_work(request) -> bool:
    """Whether anything beyond the home page is open to this user."""
    return len(navigation(request)) > 1
