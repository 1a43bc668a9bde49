"""確認記録票 pages (auditors and supervisors): the list with a form to start
one, and one checklist to fill in, save and complete."""
from __future__ import annotations


from pyramid.httpexceptions import HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..models import CheckResult, Contract, InspectionChecklist, Organisation, OrganisationKind
from ..params import parse_date
from ..resources import ChecklistContainer, ChecklistResource
from ..security.permissions import Permission
from ..views.forms import posted_row
from .checklist import (
    ITEM_BY_CODE, NOTE_MAX, Answers, ChecklistError, complete, completion_problems, create,
    evidence_by_item, save,
)
from .events import AuditEvent

#: Header fields of a checklist and their maximum lengths.
TEXT_FIELDS = {"place": 200, "inspectors": 400, "contractor_attendees": 400, "overall_note": 2000}


@view_config(context=ChecklistContainer, renderer="audit/checklists.jinja2",
             permission=Permission.ChecklistsView, request_method="GET")
def checklist_list(request, errors=None, values=None):
    dbsession = request.dbsession
    checklists = dbsession.scalars(
        select(InspectionChecklist).options(selectinload(InspectionChecklist.items))
        .order_by(InspectionChecklist.inspected_on.desc(), InspectionChecklist.id.desc())).all()
    organisations = dbsession.scalars(select(Organisation).where(
        Organisation.kind == OrganisationKind.contractor).order_by(Organisation.name)).all()
    contracts = dbsession.scalars(select(Contract).order_by(Contract.starts_on.desc())).all()
    return {"checklists": checklists, "organisations": organisations, "contracts": contracts,
            "errors": errors or [], "values": values or {},
            "can_record": request.has_permission(Permission.ChecklistsRecord, request.context)}


@view_config(context=ChecklistContainer, renderer="audit/checklists.jinja2",
             permission=Permission.ChecklistsRecord, request_method="POST")
def checklist_create(request):
    post, errors = request.POST, []
    organisation = posted_row(request, Organisation, "organisation_id")
    if organisation is None or organisation.kind != OrganisationKind.contractor:
        errors.append("checklist.error.organisation")
    try:
        inspected_on = parse_date(str(post.get("inspected_on", ""))[:10])
    except ValueError:
        inspected_on = None
        errors.append("checklist.error.inspected_on")
    contract = None
    if post.get("contract_id"):
        contract = posted_row(request, Contract, "contract_id")
        if contract is None or organisation is None or contract.organisation_id != organisation.id:
            errors.append("checklist.error.contract")
    if not errors:
        try:
            with request.dbsession.begin_nested():
                checklist = create(request.dbsession, organisation=organisation,
                                   inspected_on=inspected_on, contract=contract,
                                   user=request.identity, now=request.now)
        except ChecklistError as exc:
            errors.append(str(exc))
        except IntegrityError:  # the same organisation and day, started concurrently
            errors.append("checklist.error.duplicate")
    if errors:
        request.response.status = 400
        return checklist_list(request, errors, dict(post))
    request.audit.event(AuditEvent.ChecklistCreated, user=request.identity, checklist=checklist.id,
                        organisation=organisation.id)
    return HTTPSeeOther(request.resource_path(request.context[str(checklist.id)]))


@view_config(context=ChecklistResource, renderer="audit/checklist.jinja2",
             permission=Permission.ChecklistsView, request_method="GET")
def checklist_page(request, errors=None, answers=None):
    checklist = request.context.checklist
    by_item = evidence_by_item(request.dbsession, checklist)
    return {"checklist": checklist, "item_info": ITEM_BY_CODE, "results": list(CheckResult),
            "evidence": by_item, "errors": errors or [],
            # A completed checklist shows what was kept at completion beside today's records.
            "kept": checklist.completed and checklist.evidence_taken_at is not None,
            "differing": [row.code for row in checklist.items if by_item[row.code].differs],
            "answers": answers, "note_max": NOTE_MAX, "text_max": TEXT_FIELDS,
            "can_record": (not checklist.completed
                           and request.has_permission(Permission.ChecklistsRecord, request.context))}


def read_answers(post, checklist) -> tuple[Answers, list[str]]:
    """The posted form as :class:`Answers`, and what is wrong with it."""
    errors = []
    answers = Answers()
    for name, limit in TEXT_FIELDS.items():
        value = post.get(name, "")
        value = value.strip() if isinstance(value, str) else ""
        if len(value) > limit and "checklist.error.text" not in errors:
            errors.append("checklist.error.text")
        setattr(answers, name, value)
    codes = {row.code for row in checklist.items}
    for key in post:
        prefix, _, code = key.partition("-")
        if prefix in ("result", "note") and code not in codes:
            errors.append("checklist.error.item")
            break
    for code in codes:
        result = post.get(f"result-{code}", "")
        if result not in ("", *CheckResult):
            errors.append("checklist.error.result")
            result = ""
        answers.results[code] = CheckResult(result) if result else None
        note = post.get(f"note-{code}", "")
        note = note.strip() if isinstance(note, str) else ""
        if len(note) > NOTE_MAX:
            errors.append("checklist.error.note")
        answers.notes[code] = note
    return answers, list(dict.fromkeys(errors))


@view_config(context=ChecklistResource, permission=Permission.ChecklistsRecord, request_method="POST")
def checklist_record(request):
    """保存 (``action=save``) keeps a draft; 完了 (``action=complete``) also
    makes it final. Any error changes nothing."""
    checklist = request.context.checklist
    request.dbsession.refresh(checklist, with_for_update=True)  # one writer at a time
    action = request.POST.get("action")
    if checklist.completed:
        return _refused(request, ["checklist.error.completed"])
    answers, errors = read_answers(request.POST, checklist)
    if action not in ("save", "complete"):
        errors.append("checklist.error.action")
    elif action == "complete" and not errors:
        errors = completion_problems(checklist, answers, request.today)
    if errors:
        return _refused(request, errors, answers)
    if action == "complete":
        complete(checklist, answers, request.identity, request.now, request.today)
    else:
        save(checklist, answers)
    request.audit.event(AuditEvent.ChecklistCompleted if action == "complete" else AuditEvent.ChecklistSaved,
                        user=request.identity, checklist=checklist.id)
    return HTTPSeeOther(request.resource_path(request.context))


def _refused(request, errors, answers=None):
    request.response.status = 400
    return render_to_response("audit/checklist.jinja2", checklist_page(request, errors, answers),
                              request=request, response=request.response)
