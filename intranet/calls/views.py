"""Call-center pages: the operator's desk and call screen, campaigns, hand-overs."""
from __future__ import annotations

import datetime as dt

from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import func, select

from ..models import (
    CallAttempt, CallCampaign, CallTarget, CampaignCase, CampaignStatus, ContactKind,
    ContactRecord, Disposition, Handover, HandoverStatus, PhoneCandidate, PhoneCandidateStatus,
    TargetStatus,
)
from ..resources import (
    CallCenter, CallReports, CallTargetResource, CampaignContainer, CampaignResource, CaseResource,
    HandoverContainer, HandoverResource, PhoneCandidateContainer, PhoneCandidateResource,
)
from ..cases.search import MAX_TERM, Criteria, search_cases
from ..security.matrix import FACETS, Facet, facets_for_principals
from ..security.permissions import Permission
from . import campaigns as campaign_service
from . import phones, promises, queue, reports, results
from .forms import MEMO_MAX, parse_campaign, parse_result

#: What the call screen shows of each case (each still subject to the user's facets).
CALL_SCREEN_FACETS = (Facet.identity, Facet.verification, Facet.contact, Facet.payment,
                      Facet.bank_flag, Facet.call_log)


def _settings(request) -> queue.QueueSettings:
    return queue.QueueSettings.from_settings(request.registry.settings)


def _redirect(request, resource, *elements, **query):
    return HTTPSeeOther(request.resource_path(resource, *elements, query=query or None))


# ---------------------------------------------------------------- the operator's desk

@view_config(context=CallCenter, renderer="calls/desk.jinja2", permission=Permission.CallQueueWork)
def desk(request):
    operator = request.identity
    now = request.now
    callbacks = request.dbsession.scalars(
        select(CallTarget).where(CallTarget.callback_operator_id == operator.id,
                                 CallTarget.status == TargetStatus.queued,
                                 CallTarget.callback_at.is_not(None))
        .order_by(CallTarget.callback_at).limit(50)).all()
    return {
        "open": bool(queue.calling_campaign_ids(request.dbsession, now)),
        "held": queue.current_lease(request.dbsession, operator.id, now),
        "callbacks": callbacks,
        "notice": request.GET.get("notice", "") if request.GET.get("notice", "") in {
            "closed", "empty", "recorded"} else "",
    }


@view_config(context=CallCenter, name="next", permission=Permission.CallQueueWork,
             request_method="POST")
def next_call(request):
    """次の架電: lease the next person to call (committed at once) and open the call screen."""
    now = request.now
    target_id, reason = queue.lease_next(request.registry["dbsession_factory"],
                                         request.identity.id, now, _settings(request),
                                         before=lambda s: promises.refresh(s, request.today, now))
    if target_id is None:
        return _redirect(request, request.context, notice=reason)
    return _redirect(request, request.context["targets"][str(target_id)])


# ---------------------------------------------------------------- incoming calls

@view_config(context=CallCenter, name="lookup", renderer="calls/lookup.jinja2",
             permission=Permission.CallLookup, request_method=("GET", "POST"))
def lookup(request):
    """外部からの電話応対: find the caller among the cases this operator may
    open (cases of active campaigns) by phone number in any format, notice
    number or name/kana. Terms travel in the request body; every result shown
    is logged as disclosed."""
    facets = facets_for_principals(request.principals)
    criteria = Criteria()
    errors = []
    page = None
    if request.method == "POST":
        for name in ("phone", "notice_no", "name"):
            value = request.POST.get(name, "")
            value = value.strip() if isinstance(value, str) else ""
            if len(value) > MAX_TERM:
                errors.append(name)
                value = ""
            setattr(criteria, name, value)
        if errors:
            request.response.status = 400
        elif not criteria.is_empty():
            page = search_cases(request.dbsession, request.principals, request.today, facets,
                                criteria)
            request.audit.disclose(page.cases, [Facet.identity])
    targets = {}
    if page and page.cases:
        targets = dict(request.dbsession.execute(
            select(CampaignCase.case_id, CampaignCase.target_id)
            .join(CallCampaign, CallCampaign.id == CampaignCase.campaign_id)
            .where(CampaignCase.case_id.in_([c.id for c in page.cases]),
                   CallCampaign.status == CampaignStatus.active)).all())
    return {"criteria": criteria, "page": page, "targets": targets, "errors": errors,
            "max_term": MAX_TERM}


# ---------------------------------------------------------------- the call screen

def correctable(request, target) -> dict[str, CallAttempt]:
    """This operator's results on the target made today (JST) and not yet corrected."""
    day_start = dt.datetime.combine(request.today, dt.time()) - dt.timedelta(hours=9)
    mine = request.dbsession.scalars(select(CallAttempt).where(
        CallAttempt.target_id == target.id, CallAttempt.operator_id == request.identity.id,
        CallAttempt.called_at >= day_start)).all()
    replaced = set(request.dbsession.scalars(select(CallAttempt.corrects_id).where(
        CallAttempt.corrects_id.in_([a.id for a in mine]))))
    return {str(a.id): a for a in mine if a.id not in replaced}


def _case_resources(request, target):
    container = request.root["cases"]
    return [CaseResource(m.case, container) for m in target.members]


@view_config(context=CallTargetResource, renderer="calls/call.jinja2",
             permission=Permission.CallTargetView, request_method="GET")
def call_screen(request, errors=None, values=None):
    target = request.context.target
    shown = []
    for resource in _case_resources(request, target):
        facets = [f for f in CALL_SCREEN_FACETS if request.has_permission(f.permission, resource)]
        if request.has_permission(Permission.CaseView, resource):
            shown.append((resource.case, facets))
            request.audit.disclose([resource.case], facets)
    attempts = request.dbsession.scalars(
        select(CallAttempt).where(CallAttempt.target_id == target.id)
        .order_by(CallAttempt.called_at.desc(), CallAttempt.id.desc()).limit(30)).all()
    handovers = request.dbsession.scalars(
        select(Handover).where(Handover.target_id == target.id).order_by(Handover.id)).all()
    settings = request.registry.settings
    leased_to_other = (target.leased_by not in (None, request.identity.id)
                       and target.lease_expires_at and target.lease_expires_at > request.now)
    fixable = (correctable(request, target)
               if request.has_permission(Permission.CallTargetRecord, request.context) else {})
    corrects = fixable.get(str((values or request.GET).get("corrects", "")))
    if corrects is not None and not values:
        values = {"disposition": corrects.disposition, "memo": corrects.memo}
    return {
        "fixable": fixable, "corrects": corrects,
        "target": target, "shown": shown, "attempts": attempts, "handovers": handovers,
        "facet_info": FACETS, "dispositions": list(Disposition), "errors": errors or [],
        "values": values or {}, "memo_max": MEMO_MAX, "leased_to_other": leased_to_other,
        "can_record": request.has_permission(Permission.CallTargetRecord, request.context),
        "ward_name": settings.get("intranet.calls.ward_name", "新宿区役所 税務課 納税係"),
        "callback_number": settings.get("intranet.calls.callback_number", "03-0000-0000"),
    }


@view_config(context=CallTargetResource, name="result", renderer="calls/call.jinja2",
             permission=Permission.CallTargetRecord, request_method="POST")
def record_result(request):
    """A new result, or (``corrects``) a correction of one of this operator's
    results of today: a new record that names the one it replaces."""
    target = request.context.target
    corrects = None
    if request.POST.get("corrects"):
        corrects = correctable(request, target).get(str(request.POST.get("corrects")))
        if corrects is None:
            request.response.status = 409
            return call_screen(request, errors=["calls.error.not_correctable"], values=request.POST)
    if target.status == TargetStatus.handed_over or (
            target.status == TargetStatus.finished and corrects is None):
        request.response.status = 409
        return call_screen(request, errors=["calls.error.not_callable"], values=request.POST)
    if (target.leased_by not in (None, request.identity.id)
            and target.lease_expires_at and target.lease_expires_at > request.now):
        request.response.status = 409
        return call_screen(request, errors=["calls.error.leased"], values=request.POST)
    result, errors = parse_result(request.POST, request.today, request.now)
    if result is None:
        request.response.status = 400
        return call_screen(request, errors=errors.errors, values=request.POST)
    result.incoming = request.POST.get("incoming") == "1"
    attempt = results.record(request.dbsession, target, request.identity, result, request.now,
                             corrects=corrects)
    request.audit.event("call.recorded", user=request.identity, target=target.id,
                        attempt=attempt.id, disposition=str(result.disposition),
                        corrects=corrects.id if corrects else None)
    return _redirect(request, request.root["calls"], notice="recorded")


# ---------------------------------------------------------------- campaigns

@view_config(context=CampaignContainer, renderer="calls/campaigns.jinja2",
             permission=Permission.CampaignsView, request_method="GET")
def campaign_list(request):
    counts = dict(request.dbsession.execute(
        select(CallTarget.campaign_id, func.count()).group_by(CallTarget.campaign_id)).all())
    campaigns = request.dbsession.scalars(
        select(CallCampaign).order_by(CallCampaign.id.desc())).all()
    return {"campaigns": campaigns, "counts": counts,
            "can_manage": request.has_permission(Permission.CampaignsManage, request.context)}


@view_config(context=CampaignContainer, name="new", renderer="calls/campaign_form.jinja2",
             permission=Permission.CampaignsManage, request_method="GET")
def campaign_form(request, form=None, errors=None):
    from .forms import CampaignForm

    return {"form": form or CampaignForm(), "errors": errors or []}


@view_config(context=CampaignContainer, name="new", renderer="calls/campaign_form.jinja2",
             permission=Permission.CampaignsManage, request_method="POST")
def campaign_create(request):
    form, errors = parse_campaign(request.POST, request.today)
    if errors.errors:
        request.response.status = 400
        return campaign_form(request, form, errors.errors)
    campaign = CallCampaign(
        name=form.name, status=CampaignStatus.draft, starts_on=form.starts_on,
        ends_on=form.ends_on, created_at=request.now, created_by=request.identity.id,
        weekday_start=form.weekday_start, weekday_end=form.weekday_end,
        saturday_start=form.saturday_start, saturday_end=form.saturday_end,
        max_attempts=form.max_attempts, min_interval_minutes=form.min_interval_minutes,
        daily_limit=form.daily_limit, weekly_limit=form.weekly_limit)
    request.dbsession.add(campaign)
    request.dbsession.flush()
    counts = campaign_service.build(request.dbsession, campaign, form.filter, request.today,
                                    request.now)
    request.audit.event("campaign.created", user=request.identity, campaign=campaign.id, **counts)
    return _redirect(request, request.context[str(campaign.id)])


@view_config(context=CampaignResource, renderer="calls/campaign.jinja2",
             permission=Permission.CampaignsView, request_method="GET")
def campaign_page(request):
    campaign = request.context.campaign
    by_status = dict(request.dbsession.execute(
        select(CallTarget.status, func.count()).where(CallTarget.campaign_id == campaign.id)
        .group_by(CallTarget.status)).all())
    cases = request.dbsession.scalar(select(func.count()).select_from(CampaignCase)
                                     .where(CampaignCase.campaign_id == campaign.id))
    return {"campaign": campaign, "by_status": by_status, "cases": cases,
            "statuses": list(TargetStatus),
            "can_manage": request.has_permission(Permission.CampaignsManage, request.context)}


@view_config(context=CampaignResource, name="activate", permission=Permission.CampaignsManage,
             request_method="POST")
def campaign_activate(request):
    campaign = request.context.campaign
    if campaign.status == CampaignStatus.draft:
        campaign.status = CampaignStatus.active
        request.audit.event("campaign.activated", user=request.identity, campaign=campaign.id)
    return _redirect(request, request.context)


@view_config(context=CampaignResource, name="close", permission=Permission.CampaignsManage,
             request_method="POST")
def campaign_close(request):
    campaign = request.context.campaign
    if campaign.status != CampaignStatus.closed:
        campaign_service.close(request.dbsession, campaign)
        request.audit.event("campaign.closed", user=request.identity, campaign=campaign.id)
    return _redirect(request, request.context)


# ---------------------------------------------------------------- hand-overs (引継ぎ)

@view_config(context=HandoverContainer, renderer="calls/handovers.jinja2",
             permission=Permission.HandoversView)
def handover_inbox(request):
    show = request.GET.get("status", "open")
    status = HandoverStatus.done if show == "done" else HandoverStatus.open
    handovers = request.dbsession.scalars(
        select(Handover).where(Handover.status == status)
        .order_by(Handover.created_at.desc(), Handover.id.desc()).limit(200)).all()
    request.audit.disclose([h.case for h in handovers], [Facet.identity])
    return {"handovers": handovers, "status": status}


@view_config(context=HandoverResource, renderer="calls/handover.jinja2",
             permission=Permission.HandoversView, request_method="GET")
def handover_page(request, errors=None):
    handover = request.context.handover
    request.audit.disclose([handover.case], [Facet.identity])
    note = (request.dbsession.get(ContactRecord, handover.contact_record_id)
            if handover.contact_record_id else None)
    return {"handover": handover, "note": note, "errors": errors or [], "memo_max": MEMO_MAX,
            "can_resolve": request.has_permission(Permission.HandoversResolve, request.context)}


@view_config(context=HandoverResource, name="resolve", renderer="calls/handover.jinja2",
             permission=Permission.HandoversResolve, request_method="POST")
def handover_resolve(request):
    handover = request.context.handover
    content = request.POST.get("content", "")
    content = content.strip() if isinstance(content, str) else ""
    if handover.status == HandoverStatus.done:
        request.response.status = 409
        return handover_page(request, ["calls.error.already_done"])
    if not content or len(content) > MEMO_MAX:
        request.response.status = 400
        return handover_page(request, ["calls.error.content"])
    user = request.identity
    record = ContactRecord(case_id=handover.case_id, kind=ContactKind.negotiation,
                           occurred_at=request.now, content=content,
                           counterpart="", place="", staff_name=user.display_name)
    request.dbsession.add(record)
    request.dbsession.flush()
    handover.contact_record_id = record.id
    handover.status, handover.done_by, handover.done_at = HandoverStatus.done, user.id, request.now
    return _redirect(request, request.context.__parent__)


# ---------------------------------------------------------------- reports (日報・月報)

@view_config(context=CallReports, renderer="calls/reports.jinja2",
             permission=Permission.CallReportsView)
def report_view(request):
    """Operators see their own row and the center's total; collectors and
    auditors (CallReportsAll) every operator's."""
    params = request.GET
    kind = "monthly" if params.get("kind") == "monthly" else "daily"
    error = None
    today = request.today
    try:
        if kind == "daily":
            day = dt.date.fromisoformat(params.get("date") or today.isoformat())
        else:
            year, month = (int(x) for x in (params.get("month") or today.strftime("%Y-%m")).split("-"))
            dt.date(year, month, 1)
    except ValueError:
        error = "calls.error.report_date"
        request.response.status = 400
        kind, day = "daily", today
    everyone = request.has_permission(Permission.CallReportsAll, request.context)
    operator_ids = None if everyone else {request.identity.id}
    report = (reports.daily(request.dbsession, day, operator_ids) if kind == "daily"
              else reports.monthly(request.dbsession, year, month, operator_ids))
    fmt = params.get("format", "html")
    if fmt in ("csv", "xlsx") and error is None:
        name = f"call-center-{report.kind}-{report.label}.{fmt}"
        body = reports.to_csv(report) if fmt == "csv" else reports.to_xlsx(report)
        content_type = ("text/csv" if fmt == "csv" else
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response = Response(body=body, content_type=content_type,
                            charset="utf-8" if fmt == "csv" else None)
        response.content_disposition = f'attachment; filename="{name}"'
        return response
    return {"report": report, "columns": reports.COLUMNS, "error": error, "everyone": everyone,
            "date": day.isoformat() if kind == "daily" else "",
            "month": report.label if kind == "monthly" else today.strftime("%Y-%m")}


# ---------------------------------------------------------------- phone numbers found later

@view_config(context=PhoneCandidateContainer, renderer="calls/phones.jinja2",
             permission=Permission.PhoneCandidatesRegister, request_method="GET")
def phone_research(request, errors=None):
    """Operators: cases of active campaigns with no usable number."""
    targets = phones.no_phone_targets(request.dbsession, request.today)
    cases = [m.case for t in targets for m in t.members]
    container = request.root["cases"]
    cases = [c for c in cases
             if request.has_permission(Permission.CaseView, CaseResource(c, container))]
    request.audit.disclose(cases, [Facet.identity])
    pending = set(request.dbsession.scalars(select(PhoneCandidate.case_id).where(
        PhoneCandidate.status == PhoneCandidateStatus.pending)))
    return {"cases": cases, "pending": pending, "errors": errors or []}


@view_config(context=PhoneCandidateContainer, renderer="calls/phones.jinja2",
             permission=Permission.PhoneCandidatesRegister, request_method="POST")
def phone_register(request):
    case_no = request.POST.get("case_no", "")
    number = request.POST.get("number", "")
    source = request.POST.get("source", "")
    number = number.strip() if isinstance(number, str) else ""
    source = source.strip() if isinstance(source, str) else ""
    try:
        resource = request.root["cases"][case_no if isinstance(case_no, str) else ""]
    except KeyError:
        resource = None
    if resource is None or not isinstance(resource, CaseResource) or not request.has_permission(
            Permission.CaseView, resource):
        request.response.status = 400
        return phone_research(request, ["calls.error.phone_case"])
    found = phones.valid_number(number) if len(number) <= 30 else None
    if found is None or not source or len(source) > 200:
        request.response.status = 400
        return phone_research(request, ["calls.error.phone_number" if found is None
                                        else "calls.error.phone_source"])
    request.dbsession.add(PhoneCandidate(
        case_id=resource.case.id, number=number, digits=found, source=source,
        status=PhoneCandidateStatus.pending, registered_by=request.identity.id,
        registered_at=request.now))
    request.audit.disclose([resource.case], [Facet.contact])
    return _redirect(request, request.context, notice="registered")


@view_config(context=PhoneCandidateContainer, name="pending", renderer="calls/phones_pending.jinja2",
             permission=Permission.PhoneCandidatesConfirm, request_method="GET")
def phone_pending(request):
    candidates = request.dbsession.scalars(
        select(PhoneCandidate).where(PhoneCandidate.status == PhoneCandidateStatus.pending)
        .order_by(PhoneCandidate.registered_at)).all()
    request.audit.disclose([c.case for c in candidates], [Facet.identity, Facet.contact])
    return {"candidates": candidates}


@view_config(context=PhoneCandidateResource, name="decide", permission=Permission.PhoneCandidatesConfirm,
             request_method="POST")
def phone_decide(request):
    candidate = request.context.candidate
    decision = request.POST.get("decision")
    if candidate.status != PhoneCandidateStatus.pending or decision not in ("confirm", "reject"):
        raise HTTPBadRequest()
    if decision == "confirm":
        phones.confirm(request.dbsession, candidate, request.identity, request.now)
    else:
        candidate.status, candidate.decided_by, candidate.decided_at = (
            PhoneCandidateStatus.rejected, request.identity.id, request.now)
    request.audit.event("phone.candidate", user=request.identity, candidate=candidate.id,
                        decision=decision)
    return _redirect(request, request.context.__parent__, "pending")
