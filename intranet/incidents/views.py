"""Incident report pages (事故報告, issue 25): the list, the filing form (a
contractor's 責任者), one report with the ward supervisor's acknowledgement
(指示) and closing. Every permission comes from the matrix; the cases a
report names are checked with the permission their own pages use."""
from __future__ import annotations

import datetime as dt
import re

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..audit.events import AuditEvent
from ..clock import from_jst, to_jst
from ..models import (
    CallRecord, Case, Incident, IncidentCase, IncidentKind, IncidentMedium,
    IssuedDocument, Medium, SurveyTarget,
)
from ..params import parse_datetime, whole_number
from ..resources import CASE_NO, CaseResource, IncidentContainer, IncidentResource, SurveyTargetResource
from ..screening import flags as screening_flags
from ..security.permissions import Permission
from . import service

#: Case numbers typed or chosen on the form: separated by spaces, commas or lines.
SEPARATORS = re.compile(r"[\s,、，]+")
TEXT_FIELDS = (("description", "incident.field.description"),
               ("first_actions", "incident.field.first_actions"))


# ---------------------------------------------------------------- what a leader may name

def _may_report(request, resource) -> bool:
    """Whether the user may name this case: the case page's own permission,
    or — for an investigator, who never opens case pages — the permission
    of the survey target page of a target of theirs on the case."""
    if not isinstance(resource, CaseResource):
        return False
    if request.has_permission(Permission.CaseView, resource):
        return True
    targets = request.dbsession.scalars(select(SurveyTarget).where(
        SurveyTarget.case_id == resource.case.id, SurveyTarget.investigator_id == request.identity.id))
    container = request.root["survey"]["targets"]
    return any(request.has_permission(Permission.SurveyTargetView, SurveyTargetResource(t, container))
               for t in targets)


def _checked_cases(request, case_nos: list[str]) -> tuple[list[Case], list[str]]:
    """The cases the user may name among ``case_nos``, and the numbers refused."""
    cases, refused = [], []
    for case_no in dict.fromkeys(case_nos):
        resource = request.root["cases"][case_no] if CASE_NO.match(case_no) else None
        if resource is not None and _may_report(request, resource):
            cases.append(resource.case)
        else:
            refused.append(case_no)
    return cases, refused


def _own_targets(request) -> list[str]:
    """An investigator's case numbers in scope (offered as choices)."""
    if request.identity.contract_id is None:
        return []
    clause = request.disclosure.clause()
    return list(request.dbsession.scalars(
        select(Case.case_no).join(SurveyTarget, SurveyTarget.case_id == Case.id)
        .where(SurveyTarget.investigator_id == request.identity.id, clause)
        .distinct().order_by(Case.case_no)))


def _offered_media(request) -> list[Medium]:
    """Media whose latest lending is the user's own contract (the ledger's
    word for 'ours'); none for staff without a contract."""
    if request.identity.contract_id is None:
        return []
    return list(request.dbsession.scalars(
        select(Medium).where(Medium.contract_id == request.identity.contract_id).order_by(Medium.label)))


def _local(value: dt.datetime | None) -> str:
    return to_jst(value).strftime("%Y-%m-%dT%H:%M") if value else ""


def _prefill(request) -> dict:
    """Kind, time and case from a call or letter record the user may report on."""
    values = {"kind": "", "occurred_at": "", "discovered_at": "", "description": "",
              "first_actions": "", "cases": [], "media": []}
    record, kind, at = None, None, None
    call_id = whole_number(request.GET.get("call", ""), 12)
    document_id = whole_number(request.GET.get("document", ""), 12)
    if call_id is not None:
        record = request.dbsession.get(CallRecord, call_id)
        kind, at = IncidentKind.wrong_person, record.called_at if record else None
    elif document_id is not None:
        record = request.dbsession.get(IssuedDocument, document_id)
        kind, at = IncidentKind.missent_letter, record.issued_at if record else None
    if record is not None:
        case_no = request.dbsession.scalar(select(Case.case_no).where(Case.id == record.case_id))
        # Only from a record of a case the user may name: nothing is shown otherwise.
        if case_no and not _checked_cases(request, [case_no])[1]:
            values.update(kind=kind.value, occurred_at=_local(at), cases=[case_no])
    return values


# ---------------------------------------------------------------- the list

@view_config(context=IncidentContainer, renderer="incidents/list.jinja2",
             permission=Permission.IncidentsView, request_method="GET")
def incident_list(request):
    """Every report for supervisors and auditors; a leader's own organisation's otherwise."""
    query = (select(Incident).options(selectinload(Incident.organisation), selectinload(Incident.reporter))
             .order_by(Incident.filed_at.desc(), Incident.id.desc()))
    sees_all = request.has_permission(Permission.IncidentsViewAll, request.context)
    if not sees_all:
        query = query.where(Incident.organisation_id == request.identity.organisation_id)
    state = request.GET.get("state")
    if state == "open":
        query = query.where(Incident.state.in_(sorted(service.OPEN_STATES)))
    incidents = request.dbsession.scalars(query.limit(500)).all()
    counts = dict(request.dbsession.execute(
        select(IncidentCase.incident_id, func.count(IncidentCase.id))
        .where(IncidentCase.incident_id.in_([i.id for i in incidents]))
        .group_by(IncidentCase.incident_id)).all()) if incidents else {}
    return {"incidents": incidents, "case_counts": counts, "sees_all": sees_all,
            "only_open": state == "open",
            "can_file": request.has_permission(Permission.IncidentsFile, request.context)}


# ---------------------------------------------------------------- filing

def _form(request, values, errors=(), screening=None) -> dict:
    targets = _own_targets(request)
    shown = list(dict.fromkeys(values["cases"] + targets))
    if shown:
        # Case numbers on the page go through the gate (in scope, recorded).
        request.disclosure.show_numbers(request.dbsession.scalars(select(Case).where(Case.case_no.in_(shown))))
    return {"values": values, "errors": list(errors), "kinds": list(IncidentKind),
            "targets": targets, "media": _offered_media(request),
            "screening": screening, "max_cases": service.MAX_CASES, "text_max": service.TEXT_MAX}


@view_config(context=IncidentContainer, name="new", renderer="incidents/form.jinja2",
             permission=Permission.IncidentsFile, request_method="GET")
def incident_form(request):
    return _form(request, _prefill(request))


def _moment(post, name, errors) -> dt.datetime | None:
    try:
        return from_jst(parse_datetime(post.get(name, "")))
    except ValueError:
        errors.append(f"incident.error.{name}")
        return None


@view_config(context=IncidentContainer, name="new", renderer="incidents/form.jinja2",
             permission=Permission.IncidentsFile, request_method="POST")
def incident_file(request):
    post, errors = request.POST, []
    kind = post.get("kind") if isinstance(post.get("kind"), str) else None
    if kind not in {k.value for k in IncidentKind}:
        errors.append("incident.error.kind")
    occurred_at, discovered_at = _moment(post, "occurred_at", errors), _moment(post, "discovered_at", errors)
    texts = {}
    for name, _label in TEXT_FIELDS:
        value = service.multiline(post.get(name, ""), service.TEXT_MAX)
        if not value:
            errors.append(f"incident.error.{name}")
        texts[name] = value or ""
    chosen = [v for v in post.getall("case_no") if isinstance(v, str)]
    typed = post.get("more_cases", "")
    typed = typed if isinstance(typed, str) and len(typed) <= 2000 else ""
    case_nos = list(dict.fromkeys(n for n in chosen + SEPARATORS.split(typed.strip()) if n))
    cases, refused = [], []
    if len(case_nos) > service.MAX_CASES:
        errors.append(("incident.error.too_many_cases", {"max": service.MAX_CASES}))
    else:
        cases, refused = _checked_cases(request, case_nos)
    if refused:
        # Counted, not echoed and never explained: out of scope and missing
        # read alike, and no refused number comes back on the page.
        errors.append(("incident.error.case_scope", {"count": len(refused)}))
    offered = {str(m.id): m for m in _offered_media(request)}
    medium_ids = [v for v in post.getall("medium_id") if isinstance(v, str)]
    if any(v not in offered for v in medium_ids) or len(medium_ids) > service.MAX_MEDIA:
        errors.append("incident.error.medium")
    screening = screening_flags.screen(request, [(name, label, texts[name]) for name, label in TEXT_FIELDS])
    if screening.hits:
        # A report says what happened, not what a resident believes: a text
        # naming a forbidden category is rewritten, never confirmed.
        errors.append("incident.error.screening")
        request.audit.event(AuditEvent.ScreeningHit, "failure", user=request.identity,
                            record_type="incident", fields=[h.name for h in screening.hits],
                            categories=screening.categories, confirmed=False)
    if not errors:
        try:
            incident = service.file(request.dbsession, service.Filing(
                kind=IncidentKind(kind), occurred_at=occurred_at, discovered_at=discovered_at,
                description=texts["description"], first_actions=texts["first_actions"],
                case_ids=[c.id for c in cases], medium_ids=[offered[v].id for v in medium_ids]),
                user=request.identity, now=request.now)
        except service.IncidentError as exc:
            errors.append(str(exc))
    if errors:
        request.response.status = 400
        request.audit.event(AuditEvent.IncidentRefused, "failure", user=request.identity, step="file",
                            reasons=[e[0] if isinstance(e, tuple) else e for e in errors])
        values = {"kind": kind if isinstance(kind, str) else "",
                  "occurred_at": post.get("occurred_at", "") if isinstance(post.get("occurred_at"), str) else "",
                  "discovered_at": post.get("discovered_at", "") if isinstance(post.get("discovered_at"), str) else "",
                  **texts, "cases": [c.case_no for c in cases], "media": medium_ids}
        return _form(request, values, errors, screening if screening.hits else None)
    request.audit.event(AuditEvent.IncidentFiled, user=request.identity, incident=incident.id,
                        kind=str(incident.kind), cases=len(incident.cases), media=len(incident.media))
    return HTTPSeeOther(request.resource_path(request.context, str(incident.id)))


# ---------------------------------------------------------------- one report

def _page(request, errors=(), values=None) -> dict:
    """One report. Its cases are shown by number only where the viewer's
    scope reaches them today (the access log records those), linked where
    the viewer may open the case page; the others are counted."""
    incident = request.context.incident
    rows = list(request.dbsession.scalars(
        select(Case).join(IncidentCase, IncidentCase.case_id == Case.id)
        .where(IncidentCase.incident_id == incident.id).order_by(IncidentCase.id)))
    shown = request.disclosure.show_numbers(rows).cases
    linked = request.disclosure.opens_case_pages
    cases = [(c.case_no, linked) for c in shown]
    media = list(request.dbsession.scalars(
        select(Medium).join(IncidentMedium, IncidentMedium.medium_id == Medium.id)
        .where(IncidentMedium.incident_id == incident.id).order_by(Medium.label)))
    can_handle = request.has_permission(Permission.IncidentsHandle, request.context)
    return {"incident": incident, "cases": cases, "hidden_cases": len(rows) - len(shown),
            "media": media, "errors": list(errors),
            "values": values or {},
            "can_handle": can_handle,
            "media_link": request.has_permission(Permission.MediaView, request.root["survey"]["media"])}


@view_config(context=IncidentResource, renderer="incidents/incident.jinja2",
             permission=Permission.IncidentsView, request_method="GET")
def incident_page(request):
    return _page(request)


def _step(request, name: str, field: str):
    incident = request.context.incident
    text = service.multiline(request.POST.get(field, ""), service.TEXT_MAX)
    try:
        if text is None:
            raise service.IncidentError(f"incident.error.{name}_text")
        service.step(incident, name, text, user=request.identity, now=request.now)
    except service.IncidentError as exc:
        request.response.status = 400
        request.audit.event(AuditEvent.IncidentRefused, "failure", user=request.identity, step=name,
                            incident=incident.id, state=str(incident.state), reasons=[str(exc)])
        value = request.POST.get(field, "")
        return render_to_response("incidents/incident.jinja2",
                                  _page(request, [str(exc)], {field: value if isinstance(value, str) else ""}),
                                  request=request, response=request.response)
    event = AuditEvent.IncidentAcknowledged if name == "acknowledge" else AuditEvent.IncidentClosed
    request.audit.event(event, user=request.identity, incident=incident.id, kind=str(incident.kind),
                        state=str(incident.state), cases=len(incident.cases))
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=IncidentResource, name="acknowledge", permission=Permission.IncidentsHandle,
             request_method="POST")
def incident_acknowledge(request):
    """受理: the ward's supervisor records its instructions (指示)."""
    return _step(request, "acknowledge", "instructions")


@view_config(context=IncidentResource, name="close", permission=Permission.IncidentsHandle,
             request_method="POST")
def incident_close(request):
    """完了: what the ward confirmed (the instructions followed, measures taken)."""
    return _step(request, "close", "closing_note")


