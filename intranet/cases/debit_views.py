"""Direct-debit applications on the case page (bank_flag facet) and the
follow-up list ``/cases/debits``; the rules are in :mod:`.debits`."""
from __future__ import annotations

import datetime as dt

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ..audit.events import AuditEvent
from ..models import (
    OPEN_STATES, ApplicationState, Case, DirectDebitApplication, DirectDebitStep, FormSentVia, User,
)
from ..params import parse_date, whole_number
from ..resources import CaseContainer, CaseResource
from ..security.matrix import Facet
from ..security.permissions import Permission
from . import debits as D

#: What the list shows: the taxpayer's name (identity) and the application (bank_flag).
LIST_FACETS = (Facet.identity, Facet.bank_flag)
#: Steps a member of staff records on the case page (登録済 comes from the data link).
STAFF_STEPS = (ApplicationState.form_sent, ApplicationState.returned,
               ApplicationState.deficient, ApplicationState.withdrawn)
LIST_LIMIT = 500
COHORT_MONTHS = 6


def applications(request, case) -> list[DirectDebitApplication]:
    from .page_loading import preloaded

    loaded = preloaded(request, "applications")
    if loaded is not None:
        return loaded
    return list(request.dbsession.scalars(
        select(DirectDebitApplication).where(DirectDebitApplication.case_id == case.id)
        .options(selectinload(DirectDebitApplication.steps).joinedload(DirectDebitStep.recorder))
        .order_by(DirectDebitApplication.id.desc())))


def debit_context(request, case, facets, debit_errors=(), debit_values=None) -> dict:
    """What the bank_flag facet shows beyond the accounts (nothing without it)."""
    if Facet.bank_flag not in facets:
        return {"debit_applications": [], "can_edit_debit": False}
    return {"debit_applications": applications(request, case),
            "can_edit_debit": request.has_permission(Permission.CaseDebitEdit, request.context),
            "debit_steps": STAFF_STEPS, "debit_vias": (FormSentVia.hand, FormSentVia.mail),
            "debit_transitions": D.TRANSITIONS, "debit_errors": list(debit_errors),
            "debit_values": debit_values or {}, "debit_note_max": D.MAX_NOTE}


def _text(post, name: str) -> str:
    value = post.get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > D.MAX_NOTE or "\x00" in value:
        raise D.DebitError("debit.error.too_long", max=D.MAX_NOTE)
    return value


def _day(post, today: dt.date) -> dt.date:
    raw = post.get("on", "")
    if raw in ("", None):
        return today
    try:
        day = parse_date(raw)
    except (ValueError, TypeError):
        raise D.DebitError("debit.error.date") from None
    if day > today:
        raise D.DebitError("debit.error.future")
    return day


def _refused(request, exc: D.DebitError):
    from .views import case_detail

    request.response.status = 400
    request.audit.event(AuditEvent.DebitRefused, "failure", user=request.identity,
                        case=request.context.case.case_no, reason=exc.key)
    values = {k: v for k, v in request.POST.items()
              if k in ("on", "note", "state", "via", "application") and isinstance(v, str)}
    return case_detail(request, debit_errors=[(exc.key, exc.values)], debit_values=values)


@view_config(context=CaseResource, name="debit-encourage", permission=Permission.CaseDebitEdit,
             request_method="POST", renderer="cases/detail.jinja2")
def encourage(request):
    """A collector's 口座振替の案内 (counter, visit, phone): opens an
    application or adds to the open one; the form may be handed over at once."""
    case = request.context.case
    try:
        on = _day(request.POST, request.today)
        note = _text(request.POST, "note")
    except D.DebitError as exc:
        return _refused(request, exc)
    application = D.encourage(request.dbsession, case, request.identity.id, on, request.now,
                              handed_form=request.POST.get("handed") == "1", note=note)
    request.dbsession.flush()
    request.audit.event(AuditEvent.DebitEncouraged, user=request.identity, case=case.case_no,
                        application=application.id, state=str(application.state))
    return HTTPSeeOther(request.resource_path(request.context) + "#facet-bank_flag")


@view_config(context=CaseResource, name="debit-step", permission=Permission.CaseDebitEdit,
             request_method="POST", renderer="cases/detail.jinja2")
def record_step(request):
    """A step of one of the case's open applications. Bad input or a step
    the state does not allow: 400 with the case page; nothing stored."""
    case = request.context.case
    post = request.POST
    application_id = whole_number(post.get("application"))
    try:
        application = request.dbsession.scalar(select(DirectDebitApplication).where(
            DirectDebitApplication.id == application_id,
            DirectDebitApplication.case_id == case.id)) if application_id is not None else None
        if application is None:
            raise D.DebitError("debit.error.unknown")
        raw_state, raw_via = post.get("state"), post.get("via") or None
        if raw_state not in {str(s) for s in STAFF_STEPS}:
            raise D.DebitError("debit.error.step", state=str(application.state))
        if raw_via is not None and raw_via not in {str(v) for v in FormSentVia}:
            raise D.DebitError("debit.error.via")
        state = ApplicationState(raw_state)
        D.advance(application, state, _day(post, request.today), request.identity.id,
                  request.now, request.today, via=FormSentVia(raw_via) if raw_via else None,
                  note=_text(post, "note"))
    except D.DebitError as exc:
        return _refused(request, exc)
    request.audit.event(AuditEvent.DebitStep, user=request.identity, case=case.case_no,
                        application=application.id, state=str(state))
    return HTTPSeeOther(request.resource_path(request.context) + "#facet-bank_flag")


def _months_back(today: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    """The first and last day of the ``count`` months up to ``today``'s, newest first."""
    months, first = [], today.replace(day=1)
    for _ in range(count):
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        months.append((first, last))
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return months


@view_config(context=CaseContainer, name="debits", renderer="cases/debits.jinja2",
             permission=Permission.DebitsView, request_method="GET")
def debit_list(request):
    """Open applications, the longest waiting first (the follow-up list), and
    the registrations by month of encouragement; cases pass the disclosure gate."""
    state = request.GET.get("state", "")
    if state and state not in {str(s) for s in OPEN_STATES}:
        request.response.status = 400
        state = ""
    scoped = request.disclosure.scoped(
        select(DirectDebitApplication).where(DirectDebitApplication.state.in_(OPEN_STATES)),
        DirectDebitApplication.case_id)
    counts = dict(request.dbsession.execute(
        select(DirectDebitApplication.state, func.count()).where(
            DirectDebitApplication.id.in_(scoped.with_only_columns(DirectDebitApplication.id)))
        .group_by(DirectDebitApplication.state)).all())
    stmt = scoped.options(joinedload(DirectDebitApplication.case).joinedload(Case.taxpayer))
    if state:
        stmt = stmt.where(DirectDebitApplication.state == ApplicationState(state))
    found = list(request.dbsession.scalars(
        stmt.order_by(DirectDebitApplication.state_since, DirectDebitApplication.id)
        .limit(LIST_LIMIT)))
    shown = request.disclosure.show([a.case for a in found], LIST_FACETS)
    visible, facets = {c.id for c in shown.cases}, set(shown.facets)
    rows = [a for a in found if a.case_id in visible] if Facet.bank_flag in facets else []
    names = dict(request.dbsession.execute(select(User.id, User.display_name).where(
        User.id.in_({a.encouraged_by for a in rows}))).all()) if rows else {}
    # Counts only, whoever the cases: every role with the list sees them.
    cohorts = [D.cohort(request.dbsession, first, last, request.today)
               for first, last in _months_back(request.today, COHORT_MONTHS)]
    return {"rows": rows, "state": state, "states": [s for s in ApplicationState if s in OPEN_STATES],
            "counts": {str(k): v for k, v in counts.items()}, "show_name": Facet.identity in facets,
            "names": names, "limit": LIST_LIMIT, "cohorts": cohorts, "windows": D.WINDOWS,
            "today": request.today}
