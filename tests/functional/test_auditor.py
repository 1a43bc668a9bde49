"""Auditors read everything and change nothing: every write endpoint refuses
them even with a valid CSRF token, and every page they read renders with no
form that changes data."""
import datetime as dt

import pytest
import webtest

import intranet
from intranet.models import (
    BatchState, BatchStatus, CallTarget, Contract, ErasureRecord, Handover, HandoverSlip,
    HandoverStatus, Incident, IncidentKind, IncidentState, InspectionChecklist, LetterBatch, Medium, PhoneCandidate,
    PhoneCandidateStatus, Role, SurveyBatch, SurveyTarget, SurveyTargetState, TargetStatus, TrainingPlan,
)
from tests import factories
from tests.helpers import csrf_token, login, synthetic_entry

NOW = dt.datetime(2026, 11, 20, 1, 0)


@pytest.fixture
def world(dbsession, password_context, wsgi_app):
    """One row of every kind a page or a form is about (and a log entry in
    October, so that October's log review exists)."""
    wsgi_app.registry.access_log.append([synthetic_entry(dt.datetime(2026, 10, 15, 10), "x", "org-x")])
    boss = factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    case = factories.sentinel_case(dbsession)
    campaign = factories.campaign(dbsession, [case])
    target = CallTarget(campaign_id=campaign.id, group_key="x", status=TargetStatus.queued,
                        oldest_due_on=dt.date(2026, 6, 30), balance_key=-1000, due_at=NOW)
    handover = Handover(case_id=case.id, reason="折り返し希望", created_by=boss.id, created_at=NOW,
                        status=HandoverStatus.open)
    candidate = PhoneCandidate(case_id=case.id, number="03-0000-0000", digits="0300000000",
                               source="電話帳", status=PhoneCandidateStatus.pending,
                               registered_by=boss.id, registered_at=NOW)
    letters = LetterBatch(created_by=boss.id, created_at=NOW, deadline=dt.date(2026, 12, 10), letters=1,
                          status=BatchStatus.printed, pdf=b"%PDF-1.4")
    contract = Contract(organisation_id=factories.organisation(dbsession, factories.ORG_KINDS[Role.contractor]).id,
                        name="現地調査委託", purpose="転出者の居住確認", starts_on=dt.date(2026, 4, 1),
                        ends_on=dt.date(2027, 3, 31), manager_name="責任 者", handler_names="取扱 者",
                        created_by=boss.id, created_at=NOW)
    dbsession.add_all([target, handover, candidate, letters, contract])
    dbsession.flush()
    batch = SurveyBatch(contract_id=contract.id, name="第1回", deadline=dt.date(2026, 12, 20),
                        state=BatchState.draft, created_by=boss.id, created_at=NOW)
    dbsession.add(batch)
    dbsession.flush()
    survey_target = SurveyTarget(batch_id=batch.id, case_id=case.id, area="埼玉県秩父郡",
                                 state=SurveyTargetState.pending)
    slip = HandoverSlip(contract_id=contract.id, direction="to_contractor", handed_at=NOW,
                        content="調査対象一覧", record_count=1, handed_by=boss.id)
    medium = Medium(label="USB-01")
    erasure = ErasureRecord(contract_id=contract.id, erased_on=dt.date(2026, 11, 19), method="上書き",
                            witness_name="立会 職員", items="調査票", certificate=b"%PDF-1.4",
                            certificate_type="application/pdf", recorded_by=boss.id, recorded_at=NOW)
    checklist = InspectionChecklist(organisation_id=contract.organisation_id, inspected_on=dt.date(2026, 11, 18),
                                    created_by=boss.id, created_at=NOW)
    checklist_done = InspectionChecklist(organisation_id=contract.organisation_id,
                                         inspected_on=dt.date(2026, 11, 19), created_by=boss.id,
                                         created_at=NOW, completed_by=boss.id, completed_at=NOW)
    incident = Incident(organisation_id=contract.organisation_id, kind=IncidentKind.other, state=IncidentState.filed,
                        occurred_at=NOW, discovered_at=NOW, description="d", first_actions="f", filed_by=boss.id,
                        filed_at=NOW, instructions="", closing_note="")
    plan = TrainingPlan(organisation_id=contract.organisation_id, fiscal_year=2026, created_by=boss.id,
                        created_at=NOW)  # issue 25
    dbsession.add_all([survey_target, slip, medium, erasure, checklist, checklist_done, incident, plan])
    leader = factories.user(dbsession, password_context, Role.operator, login="lead", is_team_leader=True)
    draft = factories.campaign_draft(dbsession, leader)  # issue 25
    dbsession.commit()
    return {"incident": incident.id, "boss": boss.id, "case": case.case_no, "campaign": campaign.id, "target": target.id, "handover": handover.id,
            "candidate": candidate.id, "letters": letters.id, "contract": contract.id,
            "batch": batch.id, "survey_target": survey_target.id, "slip": slip.id,
            "checklist": checklist.id, "checklist_done": checklist_done.id, "medium": medium.id,
            "draft": draft.id, "plan": plan.id}


#: Every view that takes a POST and changes data, by (context, view name), and
#: where it is for the world above. A new one must be added here (see below).
WRITES = {
    ("CallCenter", "next"): "/calls/next",
    ("CallTargetResource", "result"): "/calls/targets/{target}/result",
    ("CallCenter", "incoming"): "/calls/incoming",
    ("CaseResource", "incoming"): "/cases/{case}/incoming",
    ("CampaignContainer", "new"): "/calls/campaigns/new",
    ("CampaignResource", "activate"): "/calls/campaigns/{campaign}/activate",
    ("CampaignResource", "close"): "/calls/campaigns/{campaign}/close",
    ("CaseResource", "call-block"): "/cases/{case}/call-block",
    ("CaseResource", "status"): "/cases/{case}/status",
    ("CaseResource", "plan"): "/cases/{case}/plan",
    ("CaseResource", "plan-end"): "/cases/{case}/plan-end",
    ("CaseResource", "debit-encourage"): "/cases/{case}/debit-encourage",
    ("CaseResource", "debit-step"): "/cases/{case}/debit-step",
    ("CaseResource", "contact"): "/cases/{case}/contact",
    ("CaseResource", "mail-return"): "/cases/{case}/mail-return",
    ("StatusApprovals", ""): "/admin/statuses/",
    ("CaseResource", "slip"): "/cases/{case}/slip",
    ("ContractContainer", ""): "/admin/contracts/",
    ("UserResource", "training"): "/admin/users/{boss}/training",
    ("ContractResource", "erase"): "/admin/contracts/{contract}/erase",
    ("ContractResource", "link"): "/admin/contracts/{contract}/link",
    ("ContractResource", "period"): "/admin/contracts/{contract}/period",
    ("ContractResource", "revoke"): "/admin/contracts/{contract}/revoke",
    ("TrainingPlanContainer", ""): "/training/",                          # issue 25
    ("TrainingPlanResource", "course"): "/training/{plan}/course",
    ("TrainingPlanResource", "complete"): "/training/{plan}/complete",
    ("DataLinkArea", ""): "/datalink/",
    ("DataLinkArea", "export"): "/datalink/export",
    ("HandoverResource", "resolve"): "/calls/handovers/{handover}/resolve",
    ("HandoverSlipContainer", ""): "/survey/slips/",
    ("HandoverSlipResource", "confirm"): "/survey/slips/{slip}/confirm",
    ("LetterBatchResource", "seal"): "/letters/{letters}/seal",
    ("LetterContainer", ""): "/letters/",
    ("MediaLedger", ""): "/survey/media/",
    ("MediumResource", "record"): "/survey/media/{medium}/record",

    ("ScreeningArea", "review"): "/screening/review",  # issue 23
    # issue 25: incident reports are filed by contractors' 責任者 and handled by supervisors
    ("IncidentContainer", "new"): "/incidents/new",
    ("IncidentResource", "acknowledge"): "/incidents/{incident}/acknowledge",
    ("IncidentResource", "close"): "/incidents/{incident}/close",
    # campaign drafts (issue 25): auditors read them, never draft nor decide
    ("DraftContainer", "new"): "/calls/drafts/new",
    ("DraftResource", "edit"): "/calls/drafts/{draft}/edit",
    ("DraftResource", "submit"): "/calls/drafts/{draft}/submit",
    ("DraftResource", "approve"): "/calls/drafts/{draft}/approve",
    ("DraftResource", "return"): "/calls/drafts/{draft}/return",
    ("DraftResource", "reject"): "/calls/drafts/{draft}/reject",
    ("PhoneCandidateContainer", ""): "/calls/phones/",
    ("PhoneCandidateResource", "decide"): "/calls/phones/{candidate}/decide",
    ("SurveyBatchContainer", ""): "/survey/batches/",
    ("SurveyBatchResource", "assign"): "/survey/batches/{batch}/assign",
    ("SurveyBatchResource", "open"): "/survey/batches/{batch}/open",
    ("SurveyBatchResource", "add"): "/survey/batches/{batch}/add",
    ("SurveyBatchResource", "remove"): "/survey/batches/{batch}/remove",
    ("SurveyTargetResource", "report"): "/survey/targets/{survey_target}/report",
    ("UserKeys", "options"): "/admin/keys/{boss}/options",
    ("UserKeys", "register"): "/admin/keys/{boss}/register",
    ("UserKeys", "revoke"): "/admin/keys/{boss}/revoke",
    ("CallCenter", "lookup"): "/calls/lookup",  # a search, but of residents by phone: operators only
    # Ending another user's sessions (remote wipe) is for supervisors only.
    ("UserResource", "revoke"): "/admin/users/{boss}/revoke",
    ("UserResource", "revoke-all"): "/admin/users/{boss}/revoke-all",
    # User administration (issue 19) is for supervisors only; auditors read.
    ("UserContainer", "new"): "/admin/users/new",
    ("UserResource", "edit"): "/admin/users/{boss}/edit",
    ("UserResource", "disable"): "/admin/users/{boss}/disable",
    ("UserResource", "enable"): "/admin/users/{boss}/enable",
    ("UserResource", "unlock"): "/admin/users/{boss}/unlock",
    ("UserResource", "reset-password"): "/admin/users/{boss}/reset-password",
}
#: POST views that change nothing: the case search (terms in the body, not the
#: URL), signing in and out, the language switch, the inspection package (the
#: previous inspection's checkpoint travels in the body; issue 22).
READ_POSTS = {("CaseContainer", ""), ("Root", "login"), ("Root", "logout"), ("Root", "lang"),
              ("Root", "second-factor"), ("Root", "second-factor-options"),
              ("Root", "second-factor-key"), ("AuditArea", "exports")}
#: POST views auditors use: their own records, not case data (確認記録票:
#: start, save, complete; the monthly log review's sign-off).
AUDIT_RECORDS = {
    ("ChecklistContainer", ""): "/audit/checklists/",
    ("ChecklistResource", ""): "/audit/checklists/{checklist}/",
    ("ReviewMonth", ""): "/audit/reviews/2026-10",
}

#: POST views on the user's own account, which every role uses: their second
#: factor (/two-factor) and ending one's
#: own other sessions (ログイン中の端末) changes no case data and nothing an
#: inspection relies on (the ending is itself in the access log).
OWN_ACCOUNT = {
    ("Root", "two-factor"): "/two-factor",
    ("Root", "password"): "/password",
    ("OwnSessions", "end"): "/sessions/end",
    ("OwnSessions", "end-others"): "/sessions/end-others",
}

#: Every page an auditor reads.
READS = [
    "/", "/cases/", "/cases/{case}/", "/cases/plans", "/audit/", "/admin/users/", "/admin/contracts/",
    "/training/", "/training/{plan}/",
    "/admin/contracts/{contract}/", "/calls/campaigns/", "/calls/campaigns/{campaign}/",
    "/calls/targets/{target}/", "/calls/handovers/", "/calls/handovers/{handover}/",
    "/calls/reports/", "/letters/", "/letters/{letters}/", "/survey/batches/",
    "/survey/batches/{batch}/", "/survey/targets/{survey_target}/", "/survey/slips/",
    "/survey/media/", "/survey/media/{medium}/", "/late-charge", "/audit/matrix", "/audit/activity?organisation=org-contractor",
    "/audit/reviews/", "/audit/reviews/2026-11", "/audit/exports", "/admin/keys/{boss}/", "/admin/users/{boss}/",
    "/audit/checklists/", "/audit/checklists/{checklist}/", "/audit/checklists/{checklist_done}/",
    "/sessions/", "/screening/", "/calls/drafts/", "/calls/drafts/{draft}/",
]
#: Forms an auditor may be shown: they change no case data (the own-account
#: forms end the auditor's own other sessions, see OWN_ACCOUNT).
HARMLESS_ACTIONS = {"/logout", "/lang", "/cases/", "/audit/exports", *OWN_ACCOUNT.values()}
#: Pages that also offer an auditor the form of their own records, and only
#: that one (a completed checklist offers none).
AUDIT_RECORD_FORMS = {url: {url} for url in AUDIT_RECORDS.values()}


def _post_views(app_settings):
    app = intranet.main({}, **app_settings)
    for item in app.registry.introspector.get_category("views"):
        view = item["introspectable"]
        methods = view["request_methods"]
        if methods is not None and "POST" in methods and isinstance(view["context"], type):
            yield (view["context"].__name__, view["name"])


def test_every_post_view_is_listed_as_a_write_or_a_read(app_settings):
    assert set(_post_views(app_settings)) == (set(WRITES) | READ_POSTS | set(AUDIT_RECORDS)
                                              | set(OWN_ACCOUNT))
    assert not set(WRITES) & (set(AUDIT_RECORDS) | set(OWN_ACCOUNT))


@pytest.mark.parametrize("where", sorted(WRITES), ids=lambda w: "/".join(filter(None, w)))
def test_auditors_are_refused_every_write_even_with_a_valid_token(testapp, world, where):
    login(testapp, "audit")
    token = csrf_token(testapp, "/")
    testapp.post(WRITES[where].format(**world), {"csrf_token": token}, status=403)


@pytest.mark.parametrize("where", sorted(AUDIT_RECORDS), ids=lambda w: "/".join(filter(None, w)))
def test_auditors_may_post_their_own_records(testapp, world, where):
    """Allowed (an empty form is then refused as invalid, 400), not forbidden."""
    login(testapp, "audit")
    token = csrf_token(testapp, "/")
    testapp.post(AUDIT_RECORDS[where].format(**world), {"csrf_token": token}, status=400)


def test_auditors_end_only_their_own_sessions(testapp, world):
    """Allowed, not forbidden: no session named is a bad request, ending all
    others (none here) ends nothing."""
    login(testapp, "audit")
    token = csrf_token(testapp, "/")
    testapp.post(OWN_ACCOUNT[("OwnSessions", "end")], {"csrf_token": token}, status=400)
    res = testapp.post(OWN_ACCOUNT[("OwnSessions", "end-others")], {"csrf_token": token}, status=303)
    assert res.location.endswith("/sessions/?ended=0")


def test_auditors_read_every_page_and_are_offered_no_change(testapp, world):
    # A second browser, so that the own-sessions page shows its forms too.
    login(webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.0.0.2"}), "audit")
    login(testapp, "audit")
    for url in READS:
        res = testapp.get(url.format(**world), status=200)
        actions = {form.get("action") for form in res.html.select("form")
                   if (form.get("method") or "get").lower() == "post"}
        allowed = HARMLESS_ACTIONS | {a.format(**world) for a in AUDIT_RECORD_FORMS.get(url, ())}
        assert actions <= allowed, (url, actions - allowed)
        assert not res.html.select("form[enctype='multipart/form-data']"), url


def test_the_matrix_page_shows_what_the_acls_enforce(testapp, dbsession, password_context, world):
    from pyramid.authorization import ACLHelper

    from intranet.resources import Root
    from intranet.security import matrix, report

    built = report.build()
    helper = ACLHelper()

    class Context:
        __acl__ = Root.__acl__(None)  # the root's ACL needs no request

    class Draft:
        __acl__ = matrix.draft_acl(7)  # a draft of organisation 7 (issue 25)

    draft_permissions = {p for grants in matrix.DRAFT_GRANTS.values() for g in grants for p in g.actions}

    def permits(principals, permission):
        context = Draft() if permission in draft_permissions else Context()
        return bool(helper.permits(context, ["system.Everyone", "system.Authenticated", *principals],
                                   permission))

    for row in built.actions:
        for role in Role:
            principal = matrix.role_principal(role)
            cell = row.cells[role]
            if cell == report.ALWAYS and any(row.detail in a for a in matrix.ROLE_ACTIONS.values()):
                assert permits([principal], row.detail), (role, row.detail)
            elif cell == report.SUPERVISOR:
                assert permits([principal, "supervisor"], row.detail) and not permits([principal], row.detail)
            elif cell == report.cell(matrix.Condition.always):
                assert permits([principal], row.detail), (role, row.detail)
            elif cell == report.cell(matrix.Condition.own_organisation_leader):
                # a leader of the draft's organisation, not of another one
                assert permits([principal, "team_leader", "team_leader:org:7"], row.detail)
                assert not permits([principal, "team_leader", "team_leader:org:8"], row.detail)
            elif cell is None:
                assert not permits([principal], row.detail), (role, row.detail)
    for facet, row in zip(matrix.Facet, built.facets):
        assert {r for r, cell in row.cells.items() if cell == report.IN_SCOPE} == {
            r for r in Role if facet in matrix.ROLE_FACETS[r]}
    # the investigator's exception is matrix data, and shown
    survey_row = built.facets[list(matrix.Facet).index(matrix.Facet.survey)]
    assert survey_row.cells[Role.contractor] == "matrix.cell.own_report"

    login(testapp, "audit")
    res = testapp.get("/audit/matrix")
    assert built.fingerprint in res.text and "令和8年11月24日" in res.text
    cells = {(tr["data-key"], td["data-role"]): td.text for tr in res.html.select("#matrix-actions tbody tr")
             for td in tr.select("td")}
    assert cells[("admin:contracts:manage", "collector")] == "○（管理者）"
    assert cells[("admin:contracts:manage", "auditor")] == "—"
    assert cells[("calls:target:record", "operator")] == "○（実施中キャンペーン）"
    # who may draft and who may approve a campaign (issue 25)
    assert cells[("calls:drafts:write", "operator")] == "○（責任者・自社の案）"
    assert cells[("calls:drafts:review", "collector")] == "○（管理者）"
    assert cells[("calls:drafts:review", "operator")] == "—"
    assert cells[("calls:drafts:view", "auditor")] != "—"
    facet_cells = {(tr["data-key"], td["data-role"]): td.text
                   for tr in res.html.select("#matrix-facets tbody tr") for td in tr.select("td")}
    assert facet_cells[(matrix.FACETS[matrix.Facet.identity].items_ja, "contractor")] == "○（対象案件）"
    assert facet_cells[(matrix.FACETS[matrix.Facet.bank_account].items_ja, "operator")] == "—"
    assert facet_cells[(matrix.FACETS[matrix.Facet.survey].items_ja, "contractor")] == "△（自分の最新の報告のみ）"
    assert cells[("letters:batch:issue", "operator")] == "○（全件が対象案件のとき）"
    scopes = {tr["data-role"]: tr.td.text for tr in res.html.select("#matrix-scopes tr[data-role]")}
    assert scopes["operator"].startswith("今年度にコールセンターへ委託した案件") and scopes["auditor"] == "全案件"
    assert "権限マトリクス" in testapp.get("/").text


@pytest.mark.parametrize("role,supervisor,status", [
    (Role.collector, True, 200), (Role.collector, False, 403), (Role.operator, False, 403),
    (Role.contractor, False, 403)])
def test_who_reads_the_matrix(testapp, dbsession, password_context, role, supervisor, status):
    factories.user(dbsession, password_context, role, login="u", is_supervisor=supervisor)
    dbsession.commit()
    login(testapp, "u")
    testapp.get("/audit/matrix", status=status)
