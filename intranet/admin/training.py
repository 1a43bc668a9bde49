"""One user's training records (研修・従事者教育), ``/admin/users/<id>/training``:
the list, newest first, with the standing today; a form adds a record.

Supervisors record, auditors read; a call-center team leader (責任者) records
for the other users of its own organisation — the matrix decides
(``matrix.USER_GRANTS``), never this module."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from ..accounts import training
from ..audit.events import AuditEvent
from ..params import parse_date
from ..resources import UserResource
from ..security.permissions import Permission
from ..views.forms import field


def _page(request, form=None, errors=None) -> dict:
    user = request.context.user
    settings = request.app_settings.training
    rows = training.records(request.dbsession, user.id)
    return {"user": user, "records": rows, "errors": errors or [],
            "standing": training.standing(request.dbsession, user, request.today),
            "required": training.required(user, settings), "courses": settings.courses,
            "valid_months": settings.valid_months, "form": form or {},
            "can_record": request.has_permission(Permission.TrainingRecord, request.context)}


@view_config(context=UserResource, name="training", renderer="admin/training.jinja2",
             permission=Permission.TrainingView, request_method="GET")
def training_page(request):
    return _page(request)


def _typed(post, name: str) -> str:
    """What was typed in a date field, to show it again (text only, clipped)."""
    value = post.get(name, "")
    return value[:10] if isinstance(value, str) else ""


def _date(post, name: str, errors: list, required: bool = True):
    value = post.get(name, "")
    if isinstance(value, str) and not value and not required:
        return None
    try:
        return parse_date(value)
    except ValueError:
        errors.append(f"training.error.{name}")
        return None


@view_config(context=UserResource, name="training", permission=Permission.TrainingRecord,
             request_method="POST")
def training_add(request):
    user = request.context.user
    post = request.POST
    errors: list[str] = []
    course, course_ok = field(request, "course", training.COURSE_MAX)
    trainer, trainer_ok = field(request, "trainer", training.TRAINER_MAX)
    trained_on = _date(post, "trained_on", errors)
    next_due = _date(post, "next_due", errors, required=False)
    form = {"course": course, "trainer": trainer, "trained_on": _typed(post, "trained_on"),
            "next_due": _typed(post, "next_due")}
    if not course_ok:
        errors.append("training.error.course")
    if not trainer_ok:
        errors.append("training.error.trainer")
    row = None
    if not errors:
        try:
            row = training.record(request.dbsession, user, course=course, trained_on=trained_on,
                                  trainer=trainer, next_due=next_due, recorded_by=request.identity,
                                  now=request.now, today=request.today,
                                  settings=request.app_settings.training)
        except training.TrainingError as exc:
            errors = exc.keys
    if errors:
        request.response.status = 400
        return render_to_response("admin/training.jinja2",
                                  _page(request, form, list(dict.fromkeys(errors))),
                                  request=request, response=request.response)
    request.audit.event(AuditEvent.TrainingRecorded, user=user, record=row.id, course=row.course,
                        trained_on=row.trained_on.isoformat(), trainer=row.trainer,
                        next_due=row.next_due.isoformat() if row.next_due else None,
                        by=request.identity.login)
    return HTTPSeeOther(request.resource_path(request.context, "training"))
