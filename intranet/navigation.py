"""The navigation: each entry shows only if the matrix grants its permission."""
from dataclasses import dataclass

from .security.permissions import Permission


@dataclass(frozen=True)
class NavItem:
    label: str          # message key
    path: tuple         # resource names below the root
    permission: Permission
    view: str = ""      # a view name on that resource, if any


NAV_ITEMS = [
    NavItem("nav.home", (), Permission.HomeView),
    NavItem("nav.cases", ("cases",), Permission.CasesSearch),
    NavItem("nav.users", ("admin", "users"), Permission.UsersView),
    NavItem("nav.contracts", ("admin", "contracts"), Permission.ContractsView),
    NavItem("nav.training_plans", ("training",), Permission.TrainingPlansView),  # issue 25
    NavItem("nav.calls", ("calls",), Permission.CallQueueWork),
    NavItem("nav.campaigns", ("calls", "campaigns"), Permission.CampaignsView),
    NavItem("nav.drafts", ("calls", "drafts"), Permission.CampaignDraftsView),  # issue 25
    NavItem("nav.handovers", ("calls", "handovers"), Permission.HandoversView),
    NavItem("nav.phones", ("calls", "phones"), Permission.PhoneCandidatesRegister),
    NavItem("nav.phones_pending", ("calls", "phones"), Permission.PhoneCandidatesConfirm, "pending"),
    NavItem("nav.reports", ("calls", "reports"), Permission.CallReportsView),
    NavItem("nav.letters", ("letters",), Permission.LettersView),
    NavItem("nav.survey", ("survey",), Permission.SurveyWork),
    NavItem("nav.survey_batches", ("survey", "batches"), Permission.SurveyReview),
    NavItem("nav.slips", ("survey", "slips"), Permission.SlipsView),
    NavItem("nav.media", ("survey", "media"), Permission.MediaView),
    NavItem("nav.screening", ("screening",), Permission.ScreeningView),  # issue 23
    NavItem("nav.incidents", ("incidents",), Permission.IncidentsView),  # issue 25
    NavItem("nav.datalink", ("datalink",), Permission.DataImport),
    NavItem("nav.late_charge", (), Permission.LateChargeCalculate, "late-charge"),
    NavItem("nav.limitation", ("cases",), Permission.LimitationView, "limitation"),
    NavItem("nav.plans", ("cases",), Permission.PlansView, "plans"),
    NavItem("nav.debits", ("cases",), Permission.DebitsView, "debits"),
    NavItem("nav.audit", ("audit",), Permission.AuditLogView),
    NavItem("nav.activity", ("audit",), Permission.ActivityView, "activity"),
    NavItem("nav.reviews", ("audit", "reviews"), Permission.ActivityView),
    NavItem("nav.exports", ("audit",), Permission.InspectionExport, "exports"),
    NavItem("nav.matrix", ("audit",), Permission.MatrixView, "matrix"),
    NavItem("nav.checklists", ("audit", "checklists"), Permission.ChecklistsView),
    # Every role's own account; last, and not "work" (see has_work).
    NavItem("nav.sessions", ("sessions",), Permission.OwnSessions),
]


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def navigation(request) -> list[NavLink]:
    """The items this user may use; the one whose address best matches the
    current path is marked current. Computed once per request (the home page
    asks twice: the menu and :func:`has_work`)."""
    cached = request.__dict__.get("_intranet_navigation")
    if cached is not None:
        return cached
    request.__dict__["_intranet_navigation"] = links = _navigation(request)
    return links


def _navigation(request) -> list[NavLink]:
    found = _permitted(request)
    path = request.path
    matches = [url for item, url in found
               if path == url or (item.path and path.startswith(url))]
    best = max(matches, key=len, default=None)
    return [NavLink(item.label, url, url == best) for item, url in found]


#: (principals, must change password, outside zone, script name) -> the
#: permitted items with their addresses; see :func:`_permitted`.
_PERMITTED: dict[tuple, list[tuple[NavItem, str]]] = {}
_PERMITTED_MAX = 4096


def _permitted(request) -> list[tuple[NavItem, str]]:
    """The items the security policy permits, with their addresses, kept
    per process for the same inputs.

    Every item's context is a fixed area whose ACL comes from the frozen
    matrix (the root's, or one of its own built from the matrix alone:
    ``tests/unit/test_navigation.py`` checks it), so the policy's answer
    depends only on what it reads of the request: the principals, whether
    the user must first change a temporary password, and whether the
    request comes from outside the role's network zones. Asking the policy
    for the ~30 items cost about 1 ms of every page (issue 21)."""
    user = request.identity
    key = (frozenset(request.principals), user is not None and user.must_change_password,
           request.outside_zone, request.script_name)
    found = _PERMITTED.get(key)
    if found is None:
        found = []
        for item in NAV_ITEMS:
            context = nav_context(request.root, item)
            if request.has_permission(item.permission, context):
                url = request.resource_path(context, *([item.view] if item.view else []))
                found.append((item, url))
        if len(_PERMITTED) >= _PERMITTED_MAX:
            _PERMITTED.clear()
        _PERMITTED[key] = found
    return found


def nav_context(root, item: NavItem):
    """The resource an item's permission is asked on."""
    context = root
    for name in item.path:
        context = context[name]
    return context


#: Entries every user has that are no work of their own.
ACCOUNT_ITEMS = frozenset({"nav.home", "nav.sessions"})


def has_work(request) -> bool:
    """Whether anything beyond the home page and one's own account is open to this user."""
    return any(link.label not in ACCOUNT_ITEMS for link in navigation(request))
