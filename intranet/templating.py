"""Template filters and helpers shared by every page."""
import datetime as dt

from markupsafe import Markup, escape
from sqlalchemy import inspect

from .clock import to_jst
from .taxes.latecharge import installment_late_charge
from .taxes.rates import UnknownRate
from .wareki import wareki
from .i18n import ConstantMessages
from .messages import MESSAGES
from .navigation import has_work, navigation

def date_filter(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def datetime_filter(value: dt.datetime | None) -> str:
    """A stored naive-UTC datetime shown in JST."""
    return to_jst(value).strftime("%Y-%m-%d %H:%M") if value else ""


def datetime_seconds_filter(value: dt.datetime | None) -> str:
    return to_jst(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def late_charge_of(request, installment):
    """An installment's late charge as of today (the payment facet shows it)."""
    return _late_charge(installment, request.today, request.app_settings.cases.floor_segments)


def _late_charge(installment, today, floor: bool):
    try:
        return installment_late_charge(installment, today, floor_segments=floor)
    except UnknownRate:
        return None


def late_charges(request, case) -> dict:
    """Every installment's late charge as of today, by installment id,
    computed once by the view (the case page's payment facet shows them)."""
    floor = request.app_settings.cases.floor_segments
    return {i.id: _late_charge(i, request.today, floor)
            for a in case.assessments for i in a.installments}


def plan_evaluation_of(request, plan):
    """An installment plan's payments and state today (the payment facet
    shows them, on the case page and the call screen)."""
    from .cases.page_loading import case_receipts
    from .cases.plans import plan_evaluation

    receipts = case_receipts(plan.case) if "case" not in inspect(plan).unloaded else None
    return plan_evaluation(request.dbsession, plan, request.today, request.app_settings.cases.plan_grace_days,
                           receipts=receipts)


def survey_reports(request, case):
    """Every version of every survey report on the case, newest first."""
    from sqlalchemy import select

    from .cases.page_loading import preloaded
    from .models import SurveyReport, SurveyTarget

    loaded = preloaded(request, "reports")
    if loaded is not None:
        return loaded
    return request.dbsession.scalars(
        select(SurveyReport).join(SurveyTarget, SurveyTarget.id == SurveyReport.target_id)
        .where(SurveyTarget.case_id == case.id)
        .order_by(SurveyReport.submitted_at.desc(), SurveyReport.version.desc())).all()


def witness_degraded(request) -> bool:
    """The access log's outside witness is failing: the banner for those who
    read the log (supervisors, auditors)."""
    from .security.permissions import Permission

    return (request.identity is not None
            and request.has_permission(Permission.AuditLogView, request.root["audit"])
            and request.registry.access_checkpointer.degraded(request.now))


def viewer_is_supervisor(request) -> bool:
    """Whether the logged-in user holds the supervisor principal (the flag
    counts only on the roles the matrix allows)."""
    from .security.principals import SUPERVISOR

    return SUPERVISOR in request.principals


def may_file_incident(request) -> bool:
    """Whether the user may file an incident report (事故報告, issue 25): the
    link on call and letter records shows only then."""
    from .security.permissions import Permission

    return (request.identity is not None
            and request.has_permission(Permission.IncidentsFile, request.root["incidents"]))


def fields(pairs) -> Markup:
    """A facet's label/value list (``<dl class="fields">``), an empty value
    shown as a dash: the former ``fields`` macro, as a function (a case page
    imported it eight times; issue 21)."""
    rows = "".join(f"<div><dt>{escape(label)}</dt><dd>"
                   f"{escape(value if value not in (None, '') else '—')}</dd></div>\n"
                   for label, value in pairs)
    return Markup(f'<dl class="fields">\n{rows}\n</dl>')


def yen(value: int | None) -> str:
    return "" if value is None else f"{value:,}円"


def includeme(config):
    config.commit()  # the jinja2 environment must exist before we extend it
    env = config.get_jinja2_environment(".jinja2")
    env.filters.update(wareki=wareki, date=date_filter, datetime=datetime_filter,
                       datetime_seconds=datetime_seconds_filter, yen=yen)
    env.autoescape = True
    env.add_extension(ConstantMessages)
    env.globals.update(fields=fields, navigation=navigation, has_work=has_work, message_keys=MESSAGES,
                       late_charge_of=late_charge_of, survey_reports=survey_reports,
                       plan_evaluation_of=plan_evaluation_of,
                       witness_degraded=witness_degraded,
                       viewer_is_supervisor=viewer_is_supervisor,
                       may_file_incident=may_file_incident)
