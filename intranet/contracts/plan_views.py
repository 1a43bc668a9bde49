"""Training plans (研修計画, ``/training/``): the contractor's leader draws
up its organisation's plan for a fiscal year, adds courses and records each
person's completion; supervisors do the same for any contractor (the survey
servicer's plan, kept by the ward as its training records are); auditors
and supervisors read every plan, team leaders their own organisation's.
Who may is the matrix's (``TEAM_LEADER_PLAN_GRANTS``): never a role check
here. Every change is an access-log event carrying ids, dates and flags,
never the free text."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..audit.events import AuditEvent
from ..calls.campaigns import fiscal_year
from ..models import Organisation, OrganisationKind, TrainingPlan, User
from ..params import parse_date, whole_number
from ..resources import TrainingPlanContainer, TrainingPlanResource
from ..screening import flags as screening_flags
from ..security.permissions import Permission
from ..views.forms import field, posted_row
from . import plans


def _sees_all(request) -> bool:
    return bool(request.has_permission(Permission.TrainingPlansAll, request.root))


def _organisations(request) -> list[Organisation]:
    """The organisations whose plans the viewer keeps or reads."""
    query = select(Organisation).where(Organisation.kind == OrganisationKind.contractor)
    if not _sees_all(request):
        query = query.where(Organisation.id == request.identity.organisation_id)
    return list(request.dbsession.scalars(query.order_by(Organisation.name)))


@view_config(context=TrainingPlanContainer, renderer="contracts/training_plans.jinja2",
             permission=Permission.TrainingPlansView, request_method="GET")
def plan_list(request, errors=None, values=None):
    query = select(TrainingPlan).options(selectinload(TrainingPlan.organisation),
                                         selectinload(TrainingPlan.courses))
    if not _sees_all(request):  # a team leader: its own organisation's plans only (in SQL)
        query = query.where(TrainingPlan.organisation_id == request.identity.organisation_id)
    rows = request.dbsession.scalars(query.order_by(TrainingPlan.fiscal_year.desc(),
                                                    TrainingPlan.organisation_id)).all()
    return {"plans": rows, "organisations": _organisations(request), "errors": errors or [],
            "values": values or {"fiscal_year": str(fiscal_year(request.today))},
            "can_manage": request.has_permission(Permission.TrainingPlansManage, request.context)}


@view_config(context=TrainingPlanContainer, renderer="contracts/training_plans.jinja2",
             permission=Permission.TrainingPlansManage, request_method="POST")
def plan_create(request):
    if _sees_all(request):
        organisation = posted_row(request, Organisation, "organisation_id")
    else:  # a team leader draws up its own organisation's plan, whatever is posted
        organisation = request.dbsession.get(Organisation, request.identity.organisation_id)
    year = whole_number(request.POST.get("fiscal_year", ""), 4)
    try:
        plan = plans.create_plan(request.dbsession, organisation, year, user=request.identity,
                                 now=request.now, today=request.today)
    except plans.PlanError as exc:
        request.response.status = 400
        values = {k: v for k, v in request.POST.items() if isinstance(v, str) and k != "csrf_token"}
        return plan_list(request, exc.keys, values)
    request.audit.event(AuditEvent.TrainingPlanCreated, user=request.identity, plan=plan.id,
                        organisation=plan.organisation_id, fiscal_year=plan.fiscal_year)
    return HTTPSeeOther(request.resource_path(request.context[str(plan.id)]))


def _page(request, errors=None, values=None, screening=None) -> dict:
    plan = request.context.plan
    return {"plan": plan, "members": plans.members(request.dbsession, plan),
            "done": plans.completions(request.dbsession, plan), "errors": errors or [],
            "values": values or {}, "screening": screening,
            "limits": {"title": plans.TITLE_MAX, "trainer": plans.TRAINER_MAX,
                       "summary": plans.SUMMARY_MAX},
            "viewer_id": request.identity.id,
            "can_manage": request.has_permission(Permission.TrainingPlansManage, request.context)}


def _refused(request, errors, values=None, screening=None):
    request.response.status = 400
    return render_to_response("contracts/training_plan.jinja2",
                              _page(request, list(dict.fromkeys(errors)), values, screening),
                              request=request, response=request.response)


@view_config(context=TrainingPlanResource, renderer="contracts/training_plan.jinja2",
             permission=Permission.TrainingPlansView, request_method="GET")
def plan_page(request):
    return _page(request)


@view_config(context=TrainingPlanResource, name="course", permission=Permission.TrainingPlansManage,
             request_method="POST")
def course_add(request):
    errors = []
    title, title_ok = field(request, "title", plans.TITLE_MAX)
    trainer, trainer_ok = field(request, "trainer", plans.TRAINER_MAX)
    summary = request.POST.get("summary", "")
    summary = summary.strip() if isinstance(summary, str) else None
    if not title_ok:
        errors.append("training_plan.error.title")
    if not trainer_ok:
        errors.append("training_plan.error.trainer")
    if summary is None or len(summary) > plans.SUMMARY_MAX or "\x00" in summary:
        errors.append("training_plan.error.summary")
        summary = ""
    try:
        held_on = parse_date(request.POST.get("held_on", ""))
    except (TypeError, ValueError):
        held_on = None
    values = {"title": title, "trainer": trainer, "summary": summary,
              "held_on": str(request.POST.get("held_on", ""))[:10]}
    # A course is no place for beliefs, criminal records and the like
    # (収集禁止事項): a hit is refused outright, there is nothing to confirm.
    screening = screening_flags.screen(request, [("title", "training_plan.field.title", title),
                                                 ("trainer", "training_plan.field.trainer", trainer),
                                                 ("summary", "training_plan.field.summary", summary)])
    if screening.hits:
        errors.append("training_plan.error.screening")
    try:
        if errors:
            raise plans.PlanError([])
        course = plans.add_course(request.dbsession, request.context.plan, title=title, held_on=held_on,
                                  trainer=trainer, summary=summary,
                                  required=request.POST.get("required") == "1",
                                  user=request.identity, now=request.now)
    except plans.PlanError as exc:
        return _refused(request, errors + exc.keys, values, screening if screening.hits else None)
    request.audit.event(AuditEvent.TrainingCourseAdded, user=request.identity,
                        plan=request.context.plan.id, course=course.id,
                        held_on=course.held_on.isoformat(), required=course.required)
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=TrainingPlanResource, name="complete", permission=Permission.TrainingPlansManage,
             request_method="POST")
def completion_record(request):
    plan = request.context.plan
    course_id = whole_number(request.POST.get("course_id", ""), 12)
    course = next((c for c in plan.courses if c.id == course_id), None)
    if course is None:
        return _refused(request, ["training_plan.error.course"])
    member = posted_row(request, User, "user_id")
    try:
        completed_on = parse_date(request.POST.get("completed_on", ""))
    except (TypeError, ValueError):
        completed_on = None
    try:
        row = plans.complete(request.dbsession, course, member, trained_on=completed_on,
                             recorded_by=request.identity, now=request.now, today=request.today,
                             settings=request.app_settings.training)
    except plans.PlanError as exc:
        return _refused(request, exc.keys)
    request.audit.event(AuditEvent.TrainingCompleted, user=member, plan=plan.id, course=course.id,
                        record=row.id, completed_on=row.trained_on.isoformat(),
                        next_due=row.next_due.isoformat() if row.next_due else None,
                        by=request.identity.login)
    return HTTPSeeOther(request.resource_path(request.context))
