"""Contracts of both contractors (supervisors, ``/admin/contracts/``):
record a contract of the call center or of the field-survey servicer, put
the organisation's outsourced users under it (named handlers), change its
period, end a user's sessions at once, record its end (erasure, materials
returned)."""
from __future__ import annotations


from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..audit.events import AuditEvent
from ..models import Contract, ContractKind, ErasureRecord, Organisation, OrganisationKind, User
from ..params import parse_date
from ..resources import ContractContainer, ContractResource
from ..security.permissions import Permission
from ..security.sessions import revoke_sessions
from ..survey.contracts import (
    CERTIFICATE_MAX, ErasureRefused, balance, certificate, erase, outstanding_items,
)
from ..views.forms import posted_int, posted_row
from .rules import (
    CONTRACT_COURSE, HANDLER_ROLES, ContractError, link_user, sync_users, unsealed_letters,
)

TEXT_MAX = 2000


def _text(post, name, limit, errors, required=True):
    value = post.get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if (required and not value) or len(value) > limit:
        errors.append(f"survey.error.{name}")
    return value[:limit]


def _date(post, name, errors):
    try:
        return parse_date(post.get(name, ""))
    except (TypeError, ValueError):
        errors.append(f"survey.error.{name}")
        return None


@view_config(context=ContractContainer, renderer="contracts/contracts.jinja2",
             permission=Permission.ContractsView, request_method="GET")
def contract_list(request, errors=None, values=None):
    # The list shows each contract's organisation and number of users:
    # loaded with the contracts, not one query per row (issue 21).
    contracts = request.dbsession.scalars(
        select(Contract).options(joinedload(Contract.organisation), selectinload(Contract.users))
        .order_by(Contract.id.desc())).all()
    organisations = request.dbsession.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.contractor)
        .order_by(Organisation.name)).all()
    return {"contracts": contracts, "organisations": organisations, "errors": errors or [],
            "values": values or {}, "kinds": list(ContractKind),
            "can_manage": request.has_permission(Permission.ContractsManage, request.context)}


@view_config(context=ContractContainer, renderer="contracts/contracts.jinja2",
             permission=Permission.ContractsManage, request_method="POST")
def contract_create(request):
    post, errors = request.POST, []
    org = posted_row(request, Organisation, "organisation_id")
    if org is None or org.kind != OrganisationKind.contractor:
        errors.append("survey.error.organisation")
    kind = post.get("kind", ContractKind.field_survey.value)
    if kind not in set(ContractKind):
        errors.append("contracts.error.kind")
    values = {
        "name": _text(post, "name", 200, errors), "purpose": _text(post, "purpose", TEXT_MAX, errors),
        "manager_name": _text(post, "manager_name", 100, errors),
        "handler_names": _text(post, "handler_names", TEXT_MAX, errors),
        "protections": _text(post, "protections", TEXT_MAX, errors, required=False),
    }
    starts_on, ends_on = _date(post, "starts_on", errors), _date(post, "ends_on", errors)
    if starts_on and ends_on and starts_on > ends_on:
        errors.append("survey.error.period")
    if errors:
        request.response.status = 400
        return contract_list(request, errors, dict(post))
    contract = Contract(organisation_id=org.id, kind=ContractKind(kind), starts_on=starts_on, ends_on=ends_on,
                        training_required=post.get("training_required") == "1",
                        created_by=request.identity.id, created_at=request.now, **values)
    request.dbsession.add(contract)
    request.dbsession.flush()
    request.audit.event(AuditEvent.ContractCreated, user=request.identity, contract=contract.id,
                        kind=contract.kind.value)
    return HTTPSeeOther(request.resource_path(request.context[str(contract.id)]))


@view_config(context=ContractResource, renderer="contracts/contract.jinja2",
             permission=Permission.ContractsView, request_method="GET")
def contract_page(request, errors=None):
    contract = request.context.contract
    candidates = request.dbsession.scalars(
        select(User).where(User.role == HANDLER_ROLES[contract.kind],
                           User.organisation_id == contract.organisation_id,
                           User.contract_id.is_(None)).order_by(User.login)).all()
    erasure = request.dbsession.scalars(select(ErasureRecord).where(
        ErasureRecord.contract_id == contract.id)).first()
    sheet = balance(request.dbsession, contract)
    return {"contract": contract, "candidates": candidates, "errors": errors or [],
            "erasure": erasure, "balance": sheet,
            "unsealed": unsealed_letters(request.dbsession, contract),
            "outstanding": [_message(request, key, params) for key, params in outstanding_items(sheet)],
            "users": sorted(contract.users, key=lambda u: u.login), "now": request.now,
            "can_manage": request.has_permission(Permission.ContractsManage, request.context)}


def _message(request, key, params):
    """A (key, params) page error, the medium state named in the user's language."""
    params = dict(params)
    if "state" in params:
        params["state"] = request.t(f"survey.medium_state.{params['state']}")
    return key, params


def _page_with(request, errors, status=400):
    request.response.status = status
    return render_to_response("contracts/contract.jinja2", contract_page(request, errors),
                              request=request, response=request.response)


@view_config(context=ContractResource, name="link", permission=Permission.ContractsManage,
             request_method="POST")
def contract_link_user(request):
    contract = request.context.contract
    post = request.POST
    user = posted_row(request, User, "user_id")
    if user is None or user.contract_id not in (None, contract.id):
        return _page_with(request, ["survey.error.user"])
    trained_on = None
    if post.get("trained_on"):
        errors = []
        trained_on = _date(post, "trained_on", errors)
        if errors:
            return _page_with(request, errors)
    try:
        link_user(request.dbsession, contract, user, trained_on, active=post.get("active") == "1",
                  recorded_by=request.identity, now=request.now, today=request.today,
                  settings=request.app_settings.training)
    except ContractError as exc:
        return _page_with(request, [str(exc)])
    if not user.is_active:
        revoke_sessions(request.dbsession, user, request.now)
    request.audit.event(AuditEvent.ContractUser, user=user, contract=contract.id, active=user.is_active,
                        by=request.identity.login)
    if trained_on is not None:
        request.audit.event(AuditEvent.TrainingRecorded, user=user, course=CONTRACT_COURSE,
                            trained_on=trained_on.isoformat(), trainer=contract.manager_name,
                            contract=contract.id, by=request.identity.login)
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=ContractResource, name="period", permission=Permission.ContractsManage,
             request_method="POST")
def contract_period(request):
    contract = request.context.contract
    errors = []
    starts_on, ends_on = _date(request.POST, "starts_on", errors), _date(request.POST, "ends_on", errors)
    if errors or starts_on > ends_on:
        return _page_with(request, errors or ["survey.error.period"])
    contract.starts_on, contract.ends_on = starts_on, ends_on
    sync_users(contract)
    request.audit.event(AuditEvent.ContractPeriod, user=request.identity, contract=contract.id,
                        starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat())
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=ContractResource, name="revoke", permission=Permission.ContractsManage,
             request_method="POST")
def contract_revoke(request):
    """Remote wipe: every session of the user ends now, on every device."""
    contract = request.context.contract
    user = posted_row(request, User, "user_id")
    if user is None or user.contract_id != contract.id:
        return _page_with(request, ["survey.error.user"])
    ended = revoke_sessions(request.dbsession, user, request.now)
    request.audit.event(AuditEvent.SessionRevoked, user=user, sessions=ended, by=request.identity.login)
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=ContractResource, name="erase", permission=Permission.ContractsManage,
             request_method="POST")
def contract_erase(request):
    """消去: record the erasure of contractor-side data at the contract's end."""
    contract, post, errors = request.context.contract, request.POST, []
    erased_on = _date(post, "erased_on", errors)
    method = _text(post, "method", 200, errors)
    witness_name = _text(post, "witness_name", 100, errors)
    items = _text(post, "items", TEXT_MAX, errors)
    devices = _text(post, "devices", TEXT_MAX, errors)
    records_erased = posted_int(request, "records_erased")
    if records_erased is None:
        errors.append("survey.error.records_erased")
    upload = post.get("certificate")
    if not hasattr(upload, "file"):
        errors.append("survey.error.certificate_type")
    if errors:
        return _page_with(request, errors)
    try:
        data, content_type = certificate(upload.file.read(CERTIFICATE_MAX + 1))
        erase(request.dbsession, contract, erased_on=erased_on, method=method,
              witness_name=witness_name, items=items, certificate_bytes=data,
              certificate_type=content_type, user=request.identity, now=request.now,
              records_erased=records_erased, devices=devices)
    except ErasureRefused as exc:
        return _page_with(request, ["survey.error.erasure_outstanding"]
                          + [_message(request, key, params) for key, params in exc.items])
    except ContractError as exc:
        return _page_with(request, [str(exc)])
    request.audit.event(AuditEvent.ContractErased, user=request.identity, contract=contract.id,
                        users=len(contract.users), records=records_erased)
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=ContractResource, name="certificate", permission=Permission.ContractsView)
def contract_certificate(request):
    record = request.dbsession.scalars(select(ErasureRecord).where(
        ErasureRecord.contract_id == request.context.contract.id)).first()
    if record is None:
        raise HTTPNotFound()
    response = Response(body=record.certificate, content_type=record.certificate_type)
    response.content_disposition = f'attachment; filename="erasure-{record.contract_id}"'
    return response
