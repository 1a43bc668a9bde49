"""The disclosure sentinel: every role requests every page, file and search of
the application, and every marker it gets back is checked against the
permission matrix, the role's scope and the access log.

Five cases ("slots") carry a unique marker in every text item of every facet
(``tests.factories.marked_case``), and so do the objects derived from them
(call attempts, hand-overs, phone candidates, letters, survey reports):

============================  ===================================================
slot                          state
============================  ===================================================
in_scope (A)                  active call campaign; investigator A's target in an
                              open survey batch of a current contract
out_of_scope (B)              no campaign, no batch
call_blocked (C)              active campaign, then flagged "do not call" (after
                              its letter was printed)
other_investigator (D)        investigator B's target in the open batch
closed_batch (E)              investigator A's target in a closed batch
============================  ===================================================

For each response body (HTML, PDF text, CSV, Excel cells, ZIP members, photos)
the test asserts (a) no marker of a facet the role's matrix row does not
grant, (b) no marker nor case number of a case outside the role's scope,
(c) every case whose marker or number appears is among the cases the
request's access-log entry records, and the entry's facets include each
marker's facet. Case numbers belong to no facet (every page that shows a
case shows its number) but name a case, so (b) and (c) apply to them; the
requested URL echoed back in a page is not counted. Every problem of the
whole crawl is collected and reported at the end, so one run lists every
leak; the known exceptions live in ``EXCEPTIONS``, and positive controls make
sure the crawl does see what each role may see.

The views come from the registry itself: a view the test cannot build a URL
for fails it, unless ``EXEMPT`` says why it needs none.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import webtest
from sqlalchemy import select

from intranet import resources
from intranet.audit.checklist import create as create_checklist
from intranet.documents.service import issue_letters
from intranet.models import (
    BatchState, CallAttempt, CallBlock, CallTarget, CampaignCase, ContactKind, ContactRecord,
    Contract, Disposition, ErasureRecord, Handover, HandoverSlip, HandoverStatus, Organisation,
    Medium, MediumEvent, MediumEventKind, MediumState,
    OrganisationKind, PhoneCandidate, PhoneCandidateStatus, QueueClass, Role, SurveyBatch, SurveyPhoto,
    SurveyReport, SurveyTarget, SurveyTargetState, TargetStatus,
)
from intranet.models import FlagState, ScreenedRecord, ScreeningFlag, User  # issue 23
from intranet.models import (  # issue 25
    CallRecord, DraftState, Incident, IncidentCase, IncidentKind, IncidentState, IssuedDocument, TrainingCourse,
    TrainingPlan,
)
from intranet.security import matrix
from intranet.security.matrix import ROLE_FACETS, Facet
from intranet.security.permissions import Permission as P
from intranet.survey import photos as photo_store
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login

SLOTS = {"in_scope": "A", "out_of_scope": "B", "call_blocked": "C", "other_investigator": "D",
         "closed_batch": "E"}
#: Distinctive, well-formed case numbers (no document number or id looks like them).
CASE_NOS = {slot: f"2026-77{n}{n}{n}{n}" for n, slot in enumerate(SLOTS, 1)}
MISSING_CASE_NO = "2026-999999"
MISSING_ID = "999999"

#: The users, one per role (the collector twice: plain and supervisor).
USERS = {
    "collector": (Role.collector, {}),
    "supervisor": (Role.collector, {"is_supervisor": True}),
    "operator": (Role.operator, {}),
    # issue 25: the call center's 責任者 and the servicer's (incident reports)
    "operator_leader": (Role.operator, {"is_team_leader": True}),
    "investigator_a": (Role.contractor, {"is_team_leader": True}),
    # the call center's 責任者 again: campaign drafts with counts only (issue 25)
    "leader": (Role.operator, {"is_team_leader": True}),
    "investigator_b": (Role.contractor, {}),
    "auditor": (Role.auditor, {}),
}


def scope(user_key: str) -> frozenset[str]:
    """The slots whose cases the user's role reaches (intranet.cases.scopes, restated)."""
    role = USERS[user_key][0]
    if role in (Role.collector, Role.auditor):
        return frozenset(SLOTS)
    if role == Role.operator:  # active campaign, not call-blocked
        return frozenset({"in_scope"})
    # contractor: assigned to them, open batch, current contract
    return frozenset({"investigator_a": {"in_scope"}, "investigator_b": {"other_investigator"}}[user_key])


# ---------------------------------------------------------------- exceptions, in one place

#: Why a marker that breaks a rule is nevertheless expected. Nothing else is excused.
EXCEPTIONS = {
    "own_latest_report": (
        "An investigator sees the survey facet of their own latest report on a target "
        "of theirs: they record the results and the target page shows what they last "
        "submitted (seed 004). Older versions and other people's reports stay hidden."),
    "log_viewer_case_numbers": (
        "The access-log viewer and the inspection package show the case numbers the log "
        "recorded: that is the log's content (who saw which case), not case data, and "
        "it is not itself a disclosure of those cases."),
}


def excepted(w: World, user_key: str, marker: str, path: str, rule: str) -> str | None:
    """The EXCEPTIONS key that excuses ``marker`` from ``rule`` here, or None."""
    info = w.owner(marker)
    if (rule == "facet" and USERS[user_key][0] == Role.contractor
            and info.facet == Facet.survey and info.report is not None):
        report = w.reports[info.report]
        if report.latest and report.submitted_by == user_key and info.slot in scope(user_key):
            return "own_latest_report"
    if rule == "recorded" and info.facet is None and path.startswith("/audit/"):
        return "log_viewer_case_numbers"
    return None


# ---------------------------------------------------------------- the world

@dataclass
class Report:
    id: int
    slot: str
    target_id: int
    submitted_by: str  # user key
    latest: bool


@dataclass
class MarkerInfo:
    slot: str
    facet: Facet | None  # None: the case number itself
    report: int | None = None


@dataclass
class World:
    markers: factories.MarkerSet
    users: dict[str, int] = field(default_factory=dict)              # key -> user id
    case_ids: dict[str, int] = field(default_factory=dict)           # slot -> case id
    installments: dict[str, int] = field(default_factory=dict)       # slot -> unpaid installment id
    campaign: int = 0
    targets: dict[str, int] = field(default_factory=dict)            # slot -> call target id
    handovers: dict[str, int] = field(default_factory=dict)
    candidates: dict[str, int] = field(default_factory=dict)
    letters: dict[str, tuple[int, frozenset[str]]] = field(default_factory=dict)  # name -> (id, slots)
    contract: int = 0                                                # investigators' contract
    other_contract: int = 0                                          # another servicer's, erased
    contract_org: str = ""
    survey_batches: dict[str, tuple[int, frozenset[str]]] = field(default_factory=dict)
    survey_targets: dict[str, int] = field(default_factory=dict)     # slot -> survey target id
    reports: dict[int, Report] = field(default_factory=dict)
    report_markers: dict[str, int] = field(default_factory=dict)     # marker -> report id
    photos: dict[int, int] = field(default_factory=dict)             # photo id -> report id
    slips: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (slip id, contract id)
    checklist: int = 0
    medium: int = 0                                                  # a USB medium lent to `contract` (issue 23)
    incident: int = 0                                                # a report naming A, B and D (issue 25)
    call_records: dict[str, int] = field(default_factory=dict)       # slot -> a call record of its case
    documents: dict[str, int] = field(default_factory=dict)          # slot -> a letter printed for its case
    draft: int = 0                                                   # the leader's campaign draft (issue 25)
    training_plan: int = 0                                           # the contractor's 研修計画 (issue 25)
    log_seq: int = 0

    def owner(self, marker: str) -> MarkerInfo:
        if marker in CASE_NOS.values():
            return MarkerInfo(next(s for s, no in CASE_NOS.items() if no == marker), None)
        if marker.startswith("PHOTO-"):
            report = self.reports[self.photos[int(marker[6:])]]
            return MarkerInfo(report.slot, Facet.survey, report.id)
        slot, facet = self.markers.owner[marker]
        return MarkerInfo(slot, facet, self.report_markers.get(marker))


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def build_world(dbsession, password_context, settings, now: dt.datetime, today: dt.date) -> World:
    """``settings``: the app's typed settings (intranet.config.AppSettings)."""
    w = World(markers=factories.MarkerSet(SLOTS))
    mk = w.markers.new
    users = {}
    for key, (role, extra) in USERS.items():
        users[key] = factories.user(dbsession, password_context, role, login=key.replace("_", "-"), **extra)
        w.users[key] = users[key].id
    collector, operator = users["collector"], users["operator"]

    contract = Contract(organisation_id=users["investigator_a"].organisation_id, name="現地調査 令和8年度",
                        purpose="居住確認", starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31),
                        manager_name="責任者", handler_names="investigator-a\ninvestigator-b",
                        protections="", training_required=False, created_by=collector.id, created_at=now)
    dbsession.add(contract)
    dbsession.flush()
    w.contract, w.contract_org = contract.id, users["investigator_a"].organisation.code
    users["investigator_a"].contract_id = users["investigator_b"].contract_id = contract.id

    cases = {}
    for slot in SLOTS:
        cases[slot] = factories.marked_case(dbsession, w.markers, slot)
        cases[slot].case_no = CASE_NOS[slot]
        w.case_ids[slot] = cases[slot].id
        w.installments[slot] = cases[slot].assessments[0].installments[0].id
    dbsession.flush()

    # The call center: A and C in an active campaign, one target each. Their
    # numbers turned out wrong (an attempt with a memo), so the targets wait
    # for the letter workflow (no_phone).
    campaign = factories.campaign(dbsession, [cases["in_scope"], cases["call_blocked"]])
    w.campaign = campaign.id
    for slot in ("in_scope", "call_blocked"):
        case = cases[slot]
        phone = case.taxpayer.phones[0]
        phone.unusable = True
        target = CallTarget(campaign_id=campaign.id, group_key=f"h:{slot}", phone_id=phone.id,
                            status=TargetStatus.no_phone, queue_class=int(QueueClass.normal), attempts=1,
                            oldest_due_on=dt.date(2026, 6, 1), balance_key=-case.balance,
                            due_at=now, day_count=0, week_count=0)
        dbsession.add(target)
        dbsession.flush()
        w.targets[slot] = target.id
        member = dbsession.scalars(select(CampaignCase).where(
            CampaignCase.campaign_id == campaign.id, CampaignCase.case_id == case.id)).one()
        member.target_id = target.id
        attempt = CallAttempt(target_id=target.id, operator_id=operator.id,
                              called_at=dt.datetime(2026, 11, 20, 1), phone_number=mk(slot, Facet.call_log),
                              disposition=Disposition.wrong_number, memo=mk(slot, Facet.call_log))
        dbsession.add(attempt)
        dbsession.flush()
        # The operator's hand-over reason is a call's content (call_log facet).
        handover = Handover(case_id=case.id, target_id=target.id, attempt_id=attempt.id,
                            reason=mk(slot, Facet.call_log), created_by=operator.id,
                            created_at=dt.datetime(2026, 11, 20, 2), status=HandoverStatus.open)
        dbsession.add(handover)
        dbsession.flush()
        w.handovers[slot] = handover.id
    # B's hand-over is older (a past campaign) and C's is done: what staff
    # did is a negotiation record (operators may not see it).
    old = Handover(case_id=cases["out_of_scope"].id, reason=mk("out_of_scope", Facet.call_log),
                   created_by=operator.id, created_at=dt.datetime(2026, 9, 1, 2), status=HandoverStatus.open)
    dbsession.add(old)
    dbsession.flush()
    w.handovers["out_of_scope"] = old.id
    for slot in ("out_of_scope", "call_blocked"):
        handover = dbsession.get(Handover, w.handovers[slot])
        note = ContactRecord(case_id=handover.case_id, kind=ContactKind.negotiation,
                             occurred_at=dt.datetime(2026, 11, 21, 1), content=mk(slot, Facet.negotiation),
                             staff_name="徴収 職員")
        dbsession.add(note)
        dbsession.flush()
        handover.contact_record_id, handover.status = note.id, HandoverStatus.done
        handover.done_by, handover.done_at = collector.id, dt.datetime(2026, 11, 21, 1)
    for slot in ("in_scope", "out_of_scope", "call_blocked"):
        candidate = PhoneCandidate(case_id=w.case_ids[slot], number=mk(slot, Facet.contact),
                                   digits="0399990000", source=mk(slot, Facet.contact),
                                   status=PhoneCandidateStatus.pending, registered_by=operator.id,
                                   registered_at=dt.datetime(2026, 11, 22, 1))
        dbsession.add(candidate)
        dbsession.flush()
        w.candidates[slot] = candidate.id

    # Letters: A and C printed together while both were in scope; B's letter
    # comes from before (the service, as the view would call it).
    batch = issue_letters(dbsession, [cases["in_scope"], cases["call_blocked"]], dt.date(2026, 12, 8),
                          operator, now, today, settings)
    w.letters["in_scope+call_blocked"] = (batch.id, frozenset({"in_scope", "call_blocked"}))
    batch = issue_letters(dbsession, [cases["out_of_scope"]], dt.date(2026, 12, 8), collector, now, today,
                          settings)
    w.letters["out_of_scope"] = (batch.id, frozenset({"out_of_scope"}))
    cases["call_blocked"].call_block = CallBlock.consultation  # after printing: the known leak

    # The field survey: an open batch (A for investigator A, D for B), a closed one (E).
    batches = {}
    for name, state, slots in (("open", BatchState.open, ("in_scope", "other_investigator")),
                               ("closed", BatchState.closed, ("closed_batch",))):
        batches[name] = SurveyBatch(contract_id=contract.id, name=f"区外転出者 {name}",
                                    deadline=dt.date(2026, 12, 25), state=state, created_by=collector.id,
                                    created_at=dt.datetime(2026, 11, 2))
        dbsession.add(batches[name])
        dbsession.flush()
        w.survey_batches[name] = (batches[name].id, frozenset(slots))
    photo = photo_store.clean(jpeg())
    photo_store.store(settings.survey.photo_dir, photo)
    for slot, batch_name, investigator, versions in (
            ("in_scope", "open", "investigator_a", 2), ("other_investigator", "open", "investigator_b", 1),
            ("closed_batch", "closed", "investigator_a", 1)):
        target = SurveyTarget(batch_id=batches[batch_name].id, case_id=w.case_ids[slot], area="大阪府大阪市",
                              investigator_id=w.users[investigator],
                              state=(SurveyTargetState.reported if batch_name == "open"
                                     else SurveyTargetState.closed))
        dbsession.add(target)
        dbsession.flush()
        w.survey_targets[slot] = target.id
        for version in range(1, versions + 1):
            fields = {name: mk(slot, Facet.survey) for name in (
                "nameplate_name", "landlord_name", "landlord_contact", "slip_handed_to", "memo")}
            report = SurveyReport(target_id=target.id, version=version, submitted_by=w.users[investigator],
                                  submitted_at=dt.datetime(2026, 11, 10 + version),
                                  visited_at=dt.datetime(2026, 11, 10 + version), residence="lives",
                                  nameplate="present", tenure="rented", **fields)
            dbsession.add(report)
            dbsession.flush()
            w.reports[report.id] = Report(report.id, slot, target.id, investigator, version == versions)
            w.report_markers.update({marker: report.id for marker in fields.values()})
            stored = SurveyPhoto(report_id=report.id, sha256=photo.sha256, content_type=photo.content_type,
                                 size=len(photo.data), width=photo.width, height=photo.height)
            dbsession.add(stored)
            dbsession.flush()
            w.photos[stored.id] = report.id
            # issue 23: the memo was confirmed through the screening and waits
            # for review: the review page shows it, the exports leave it out.
            writer = dbsession.get(User, w.users[investigator])
            dbsession.add(ScreeningFlag(
                record_type=ScreenedRecord.survey_report, record_id=report.id, field="memo",
                case_id=w.case_ids[slot], categories="religion", terms="宗教", reason="MK",
                flagged_by=writer.id, flagged_at=report.submitted_at,
                organisation_id=writer.organisation_id, state=FlagState.pending))

    # 受け渡し票: one of this contract, one of another contractor's.
    other_org = Organisation(code="org-other-servicer", name="別の調査会社", kind=OrganisationKind.contractor)
    dbsession.add(other_org)
    dbsession.flush()
    other = Contract(organisation_id=other_org.id, name="別契約", purpose="p", starts_on=dt.date(2026, 1, 1),
                     ends_on=dt.date(2027, 3, 31), manager_name="m", handler_names="h", protections="",
                     training_required=False, created_by=collector.id, created_at=now)
    dbsession.add(other)
    dbsession.flush()
    for name, contract_id in (("own", contract.id), ("other", other.id)):
        slip = HandoverSlip(contract_id=contract_id, direction="to_contractor",
                            handed_at=dt.datetime(2026, 11, 2, 1), content="調査対象一覧（2件）",
                            record_count=2, handed_by=collector.id)
        dbsession.add(slip)
        dbsession.flush()
        w.slips[name] = (slip.id, contract_id)
    # A medium lent to the investigators' contract by the first slip (issue 23).
    medium = Medium(label="USB-S1", description="暗号化USB", state=MediumState.lent, contract_id=contract.id)
    dbsession.add(medium)
    dbsession.flush()
    dbsession.add(MediumEvent(medium_id=medium.id, kind=MediumEventKind.lent, at=dt.datetime(2026, 11, 2, 1),
                              contract_id=contract.id, slip_id=w.slips["own"][0], recorded_by=collector.id))
    w.medium = medium.id
    # The other servicer's contract ended with an erasure (its certificate is a download).
    dbsession.add(ErasureRecord(contract_id=other.id, erased_on=dt.date(2026, 4, 1), method="上書き消去",
                                witness_name="徴収 職員", items="USBメモリ1本", certificate=jpeg(),
                                certificate_type="image/jpeg", recorded_by=collector.id, recorded_at=now))
    w.other_contract = other.id
    # issue 25: an incident report of the contractors' organisation naming
    # cases of three slots; each viewer sees only the numbers of its scope.
    incident = Incident(organisation_id=users["operator_leader"].organisation_id, kind=IncidentKind.wrong_person,
                        state=IncidentState.filed, occurred_at=dt.datetime(2026, 11, 20, 1),
                        discovered_at=dt.datetime(2026, 11, 20, 2), description="別人に案内", first_actions="中止",
                        filed_by=users["operator_leader"].id, filed_at=dt.datetime(2026, 11, 20, 3),
                        instructions="", closing_note="")
    incident.cases = [IncidentCase(case_id=w.case_ids[slot])
                      for slot in ("in_scope", "out_of_scope", "other_investigator")]
    dbsession.add(incident)
    dbsession.flush()
    w.incident = incident.id
    for slot in ("in_scope", "out_of_scope"):
        w.call_records[slot] = dbsession.scalars(select(CallRecord.id).where(
            CallRecord.case_id == w.case_ids[slot])).first()
        w.documents[slot] = dbsession.scalars(select(IssuedDocument.id).where(
            IssuedDocument.case_id == w.case_ids[slot])).first()
    # A campaign draft by the call center's leader (issue 25): every case.
    w.draft = factories.campaign_draft(dbsession, users["leader"], state=DraftState.draft).id
    w.checklist = create_checklist(dbsession, organisation=users["investigator_a"].organisation,
                                   inspected_on=dt.date(2026, 11, 20), contract=contract,
                                   user=users["auditor"], now=now).id
    # The contractor's training plan with one course and one completion (issue 25).
    plan = TrainingPlan(organisation_id=users["investigator_a"].organisation_id, fiscal_year=2026,
                        created_by=collector.id, created_at=now)
    dbsession.add(plan)
    dbsession.flush()
    course = TrainingCourse(plan_id=plan.id, title="個人情報保護研修", held_on=dt.date(2026, 4, 10),
                            trainer="研修 講師", summary="特記事項の説明", required=True,
                            created_by=collector.id, created_at=now)
    dbsession.add(course)
    dbsession.flush()
    factories.training_record(dbsession, users["investigator_a"], trained_on=course.held_on).course_id = course.id
    w.training_plan = plan.id
    dbsession.commit()
    return w


@pytest.fixture
def world(dbsession, password_context, wsgi_app, clock):
    return build_world(dbsession, password_context, wsgi_app.registry.app_settings, clock.now(), clock.today())


def client(wsgi_app, user_key: str | None = None) -> webtest.TestApp:
    app = webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
    if user_key:
        res = login(app, user_key.replace("_", "-"))
        assert res.status_code == 303, f"{user_key} could not log in: {res.status}"
    return app


# ---------------------------------------------------------------- every view, as a URL

def _rows(prefix: str, attribute: str, suffix: str = "/"):
    """One URL per fixture row of ``attribute`` (slot or name -> id)."""
    def urls(w):
        rows = getattr(w, attribute)
        return [f"{prefix}{row[0] if isinstance(row, tuple) else row}{suffix}" for row in rows.values()]
    return urls


#: (context class, view name) -> the URLs that reach that view, from the fixtures.
#: Row resources are requested for objects of every slot they exist for.
GET_URLS = {
    ("Root", ""): lambda w: ["/"],
    ("Root", "late-charge"): lambda w: ["/late-charge"],
    ("Root", "healthz"): lambda w: ["/healthz"],
    ("Root", "metrics"): lambda w: ["/metrics"],
    ("Root", "password"): lambda w: ["/password"],
    ("Root", "login"): lambda w: ["/login"],
    ("Root", "second-factor"): lambda w: ["/second-factor"],
    ("Root", "two-factor"): lambda w: ["/two-factor"],
    ("CaseContainer", ""): lambda w: [
        "/cases/", "/cases/?page=2",
        # issue 20: filters of the assessment/payment facets, and of the staff
        # facet (400 for operators: nothing of theirs may be narrowed by it)
        "/cases/?tax_type=resident&fiscal_year=2026&balance_min=0&balance_max=999999999",
        "/cases/?status=none&staff=%E6%8B%85%E5%BD%93", "/cases/?category=%E7%8F%BE%E5%B9%B4"],
    ("CaseContainer", "plans"): lambda w: ["/cases/plans", "/cases/plans?state=defaulted"],
    ("CaseContainer", "debits"): lambda w: ["/cases/debits", "/cases/debits?state=deficient"],
    ("CaseContainer", "limitation"): lambda w: [
        "/cases/limitation", "/cases/limitation?sort=case&format=csv"],
    ("CaseResource", ""): lambda w: [f"/cases/{no}/" for no in CASE_NOS.values()],
    ("CaseResource", "slip"): lambda w: [f"/cases/{no}/slip" for no in CASE_NOS.values()],
    # issue 20: recording an incoming call (受電) on a case, or without one
    ("CaseResource", "incoming"): lambda w: [f"/cases/{no}/incoming" for no in CASE_NOS.values()],
    ("CallCenter", "incoming"): lambda w: ["/calls/incoming"],
    ("MissingCaseResource", ""): lambda w: [f"/cases/{MISSING_CASE_NO}/"],
    ("AuditArea", ""): lambda w: ["/audit/", f"/audit/?case_no={CASE_NOS['call_blocked']}"],
    ("AccessLogEntryResource", ""): lambda w: [f"/audit/{w.log_seq}"],
    ("AuditArea", "activity"): lambda w: [
        f"/audit/activity?organisation={w.contract_org}&date_from=2026-11-01&date_to=2026-11-30"],
    ("AuditArea", "exports"): lambda w: [
        "/audit/exports",
        f"/audit/exports?organisation={w.contract_org}&date_from=2026-11-24&date_to=2026-11-24&download=1"],
    ("AuditArea", "matrix"): lambda w: ["/audit/matrix"],
    ("ReviewContainer", ""): lambda w: ["/audit/reviews/"],
    ("ReviewMonth", ""): lambda w: ["/audit/reviews/2026-11"],
    ("ChecklistContainer", ""): lambda w: ["/audit/checklists/"],
    ("ChecklistResource", ""): lambda w: [f"/audit/checklists/{w.checklist}/"],
    ("UserContainer", ""): lambda w: ["/admin/users/"],
    ("StatusApprovals", ""): lambda w: ["/admin/statuses/"],
    ("UserResource", "sessions"): lambda w: [f"/admin/users/{w.users['investigator_a']}/sessions"],
    ("UserResource", "training"): lambda w: [f"/admin/users/{w.users['investigator_a']}/training"],
    ("UserResource", ""): lambda w: [f"/admin/users/{w.users['investigator_a']}/"],
    ("UserContainer", "new"): lambda w: ["/admin/users/new"],
    ("UserKeys", ""): lambda w: [f"/admin/keys/{w.users['investigator_a']}"],
    ("ContractContainer", ""): lambda w: ["/admin/contracts/"],
    ("ContractResource", ""): lambda w: [f"/admin/contracts/{c}/" for c in (w.contract, w.other_contract)],
    ("ContractResource", "certificate"): lambda w: [f"/admin/contracts/{w.other_contract}/certificate"],
    # issue 25: training plans (courses, completions by login; no case data)
    ("TrainingPlanContainer", ""): lambda w: ["/training/"],
    ("TrainingPlanResource", ""): lambda w: [f"/training/{w.training_plan}/"],
    ("CallCenter", ""): lambda w: ["/calls/"],
    ("CallCenter", "lookup"): lambda w: ["/calls/lookup"],
    ("CampaignContainer", ""): lambda w: ["/calls/campaigns/"],
    ("CampaignContainer", "new"): lambda w: ["/calls/campaigns/new"],
    ("CampaignResource", ""): lambda w: [f"/calls/campaigns/{w.campaign}/"],
    # issue 21: the build job's state (ids, counts, a message; no case data)
    ("CampaignResource", "job"): lambda w: [f"/calls/campaigns/{w.campaign}/job"],
    ("CallTargetResource", ""): _rows("/calls/targets/", "targets"),
    ("HandoverContainer", ""): lambda w: ["/calls/handovers/", "/calls/handovers/?status=done"],
    ("HandoverResource", ""): _rows("/calls/handovers/", "handovers"),
    ("CallReports", ""): lambda w: [
        "/calls/reports/", "/calls/reports/?kind=daily&date=2026-11-20&format=csv",
        "/calls/reports/?kind=monthly&month=2026-11",
        "/calls/reports/?kind=monthly&month=2026-11&format=xlsx"],
    ("PhoneCandidateContainer", ""): lambda w: ["/calls/phones/"],
    ("PhoneCandidateContainer", "pending"): lambda w: ["/calls/phones/pending"],
    ("LetterContainer", ""): lambda w: ["/letters/"],
    ("LetterBatchResource", ""): _rows("/letters/", "letters"),
    ("LetterBatchResource", "pdf"): _rows("/letters/", "letters", "/pdf"),
    ("DataLinkArea", ""): lambda w: ["/datalink/"],
    ("DataLinkArea", "export"): lambda w: ["/datalink/export"],
    ("SurveyArea", ""): lambda w: ["/survey/"],
    ("SurveyBatchContainer", ""): lambda w: ["/survey/batches/"],
    ("SurveyBatchContainer", "candidates"): lambda w: [
        "/survey/batches/candidates", "/survey/batches/candidates?balance_min=1"],
    ("SurveyBatchResource", ""): _rows("/survey/batches/", "survey_batches"),
    ("SurveyBatchResource", "export"): lambda w: [
        f"/survey/batches/{batch_id}/export?format={fmt}"
        for batch_id, _ in w.survey_batches.values() for fmt in ("csv", "xlsx")],
    ("SurveyTargetResource", ""): _rows("/survey/targets/", "survey_targets"),
    ("SurveyTargetResource", "photo"): lambda w: [
        f"/survey/targets/{w.reports[report_id].target_id}/photo/{photo_id}"
        for photo_id, report_id in w.photos.items()],
    ("HandoverSlipContainer", ""): lambda w: ["/survey/slips/"],
    ("MediaLedger", ""): lambda w: ["/survey/media/"],
    ("MediumResource", ""): lambda w: [f"/survey/media/{w.medium}/"],

    ("ScreeningArea", ""): lambda w: ["/screening/", "/screening/?state=all"],  # issue 23
    # issue 25: incident reports; the form prefilled from call and letter records of two slots
    ("IncidentContainer", ""): lambda w: ["/incidents/", "/incidents/?state=open"],
    ("IncidentContainer", "new"): lambda w: [
        "/incidents/new", *(f"/incidents/new?call={i}" for i in w.call_records.values()),
        *(f"/incidents/new?document={i}" for i in w.documents.values())],
    ("IncidentResource", ""): lambda w: [f"/incidents/{w.incident}/"],
    # issue 25: campaign drafts; the leader sees counts only, supervisors the cases
    ("DraftContainer", ""): lambda w: ["/calls/drafts/"],
    ("DraftContainer", "new"): lambda w: ["/calls/drafts/new"],
    ("DraftResource", ""): lambda w: [f"/calls/drafts/{w.draft}/"],
    ("DraftResource", "edit"): lambda w: [f"/calls/drafts/{w.draft}/edit"],
    ("DraftResource", "cases"): lambda w: [f"/calls/drafts/{w.draft}/cases",
                                           f"/calls/drafts/{w.draft}/cases?page=2"],
    ("OwnSessions", ""): lambda w: ["/sessions/"],
}

#: (context class, view name) -> the POST requests of views that disclose case
#: data in their answer (searches, documents, the data-link export).
POSTS = {
    ("CaseContainer", ""): lambda w: [("/cases/", {"name": "MK"}),
                                      ("/cases/", {"address": "MK"}), ("/cases/", {"address": "1-1-1"})],
    ("CallCenter", "lookup"): lambda w: [("/calls/lookup", {"name": "MK"})],
    ("CaseResource", "slip"): lambda w: [
        (f"/cases/{CASE_NOS[slot]}/slip", {"installment": str(w.installments[slot]), "deadline": ""})
        for slot in SLOTS],
    ("DataLinkArea", "export"): lambda w: [("/datalink/export", {"since": "2026-01-01T00:00"})],
    # A refused direct-debit step (400) answers with the whole case page too.
    ("CaseResource", "debit-step"): lambda w: [
        (f"/cases/{CASE_NOS[slot]}/debit-step", {"application": "0", "state": "returned",
                                                 "note": "MK"}) for slot in SLOTS],
    # issue 25: a refused report (400) comes back with the form: the numbers
    # chosen in scope, never the refused ones.
    ("IncidentContainer", "new"): lambda w: [
        ("/incidents/new", {"kind": "wrong_person", "occurred_at": "2026-11-20T09:00",
                            "discovered_at": "2026-11-20T10:00", "description": "x", "first_actions": "y",
                            "more_cases": " ".join(CASE_NOS[slot] for slot in SLOTS)})],
    # A refused plan (400) answers with the whole case page and the form refilled.
    ("CaseResource", "plan"): lambda w: [
        (f"/cases/{CASE_NOS[slot]}/plan", {"signed_on": "2026-11-20", "total": "0", "count": "3",
                                          "first_due_on": "2026-12-01", "note": "MK"})
        for slot in SLOTS],
}

_CHANGE = "POST-only: changes state and answers with a redirect or a page also reached by GET (crawled)"
_AUTH = "POST-only: login, second factor, logout or language; no case data"
_KEYS = "POST-only: a staff account's security keys (WebAuthn JSON, redirects); no case data"
_ERROR = "error view: renders only for an exception raised while serving a crawled view"
#: (context class, view name, "GET" | "POST") -> why the crawl needs no URL for it.
EXEMPT = {
    ("route:__static/", "", "GET"): "static assets (CSS, JS): files of the package, no data",
    ("BadCSRFOrigin", "", "GET"): _ERROR, ("BadCSRFToken", "", "GET"): _ERROR,
    ("Exception", "", "GET"): _ERROR, ("HTTPBadRequest", "", "GET"): _ERROR,
    ("HTTPForbidden", "", "GET"): _ERROR, ("HTTPNotFound", "", "GET"): _ERROR,
    ("IExceptionResponse", "", "GET"): _ERROR, ("WSGIHTTPException", "", "GET"): _ERROR,
    ("UnicodeDecodeError", "", "GET"): _ERROR,
    ("Root", "login", "POST"): _AUTH, ("Root", "logout", "POST"): _AUTH, ("Root", "lang", "POST"): _AUTH,
    ("Root", "second-factor", "POST"): _AUTH, ("Root", "second-factor-key", "POST"): _AUTH,
    ("Root", "second-factor-options", "POST"): _AUTH,
    ("Root", "two-factor", "POST"): "POST-only: the user's own second factor; no case data",
    ("Root", "password", "POST"): "POST-only: the user's own password; no case data",
    ("CallCenter", "next", "POST"): "POST-only: leases a target and redirects to its call screen (crawled)",
    ("CallTargetResource", "result", "POST"): _CHANGE,
    ("CaseResource", "incoming", "POST"): _CHANGE, ("CallCenter", "incoming", "POST"): _CHANGE,
    ("CampaignContainer", "new", "POST"): _CHANGE, ("CampaignResource", "activate", "POST"): _CHANGE,
    ("CampaignResource", "close", "POST"): _CHANGE, ("CaseResource", "call-block", "POST"): _CHANGE,
    ("CaseResource", "plan-end", "POST"): _CHANGE,
    ("CaseResource", "debit-encourage", "POST"): _CHANGE,
    ("CaseResource", "status", "POST"): _CHANGE, ("CaseResource", "contact", "POST"): _CHANGE,
    ("CaseResource", "mail-return", "POST"): _CHANGE, ("SurveyBatchResource", "add", "POST"): _CHANGE,
    ("SurveyBatchResource", "remove", "POST"): _CHANGE, ("StatusApprovals", "", "POST"): _CHANGE,
    ("ChecklistContainer", "", "POST"): _CHANGE, ("ChecklistResource", "", "POST"): _CHANGE,
    ("ContractContainer", "", "POST"): _CHANGE, ("ContractResource", "erase", "POST"): _CHANGE,
    ("ContractResource", "link", "POST"): _CHANGE, ("ContractResource", "period", "POST"): _CHANGE,
    ("ContractResource", "revoke", "POST"): _CHANGE,
    ("TrainingPlanContainer", "", "POST"): _CHANGE, ("TrainingPlanResource", "course", "POST"): _CHANGE,
    ("TrainingPlanResource", "complete", "POST"): _CHANGE,
    ("AuditArea", "exports", "POST"): ("the export form's POST runs the same view as the GET download, "
                                       "which the crawl fetches; only the previous checkpoint is in the body"),
    ("DataLinkArea", "", "POST"): "POST: a data-link import (upload); the answer reports counts and problems",
    ("HandoverResource", "resolve", "POST"): _CHANGE, ("HandoverSlipContainer", "", "POST"): _CHANGE,
    ("HandoverSlipResource", "confirm", "POST"): _CHANGE, ("LetterBatchResource", "seal", "POST"): _CHANGE,
    ("LetterContainer", "", "POST"): _CHANGE + "; the letters themselves are crawled as batch PDFs",
    ("MediaLedger", "", "POST"): _CHANGE, ("OwnSessions", "end", "POST"): _CHANGE,
    ("MediumResource", "record", "POST"): _CHANGE,
    ("OwnSessions", "end-others", "POST"): _CHANGE, ("PhoneCandidateContainer", "", "POST"): _CHANGE,
    ("PhoneCandidateResource", "decide", "POST"): _CHANGE, ("ReviewMonth", "", "POST"): _CHANGE,
    ("SurveyBatchContainer", "", "POST"): _CHANGE, ("SurveyBatchResource", "assign", "POST"): _CHANGE,
    ("SurveyBatchResource", "open", "POST"): _CHANGE, ("SurveyTargetResource", "report", "POST"): _CHANGE,
    ("UserKeys", "options", "POST"): _KEYS, ("UserKeys", "register", "POST"): _KEYS,
    ("UserKeys", "revoke", "POST"): _KEYS, ("UserResource", "revoke", "POST"): _CHANGE,
    ("UserResource", "revoke-all", "POST"): _CHANGE, ("UserResource", "training", "POST"): _CHANGE,
    ("UserContainer", "new", "POST"): _CHANGE + " (a staff account, no case data)",
    ("UserResource", "edit", "POST"): _CHANGE, ("UserResource", "disable", "POST"): _CHANGE,
    ("UserResource", "enable", "POST"): _CHANGE, ("UserResource", "unlock", "POST"): _CHANGE,
    ("UserResource", "reset-password", "POST"): _CHANGE,
    ("ScreeningArea", "review", "POST"): _CHANGE,  # issue 23
    ("IncidentResource", "acknowledge", "POST"): _CHANGE, ("IncidentResource", "close", "POST"): _CHANGE,
    ("DraftContainer", "new", "POST"): _CHANGE, ("DraftResource", "edit", "POST"): _CHANGE,  # issue 25
    ("DraftResource", "submit", "POST"): _CHANGE, ("DraftResource", "approve", "POST"): _CHANGE,
    ("DraftResource", "return", "POST"): _CHANGE, ("DraftResource", "reject", "POST"): _CHANGE,
}


def registered_views(wsgi_app) -> set[tuple[str, str, str]]:
    """(context class, view name, GET | POST) of every view in the registry.
    A view for any method counts as a GET view (its GET answer is crawled)."""
    found = set()
    for item in wsgi_app.registry.introspector.get_category("views"):
        view = item["introspectable"]
        context = view["context"]
        name = (f"route:{view['route_name']}" if context is None and view["route_name"]
                else getattr(context, "__name__", repr(context)))
        methods = view["request_methods"]
        methods = (methods,) if isinstance(methods, str) else methods
        if methods is None or "GET" in methods:
            found.add((name, view["name"], "GET"))
        if methods is not None and "POST" in methods:
            found.add((name, view["name"], "POST"))
    return found


def unmapped_views(wsgi_app) -> list[str]:
    """Registered views the crawl misses, and crawl entries naming no view."""
    registered = registered_views(wsgi_app)
    problems = []
    for context, name, method in sorted(registered):
        mapped = (context, name) in (GET_URLS if method == "GET" else POSTS)
        if not mapped and (context, name, method) not in EXEMPT:
            problems.append(f"{method} view {context}/{name!r} has no URL in the crawl and no exemption")
    for method, table in (("GET", GET_URLS), ("POST", POSTS), (None, EXEMPT)):
        for key in table:
            if (*key[:2], method or key[2]) not in registered:
                problems.append(f"{key} is in the test but no such view is registered (stale entry)")
    return problems


# ---------------------------------------------------------------- reading any body

def body_texts(body: bytes, content_type: str, name: str = "") -> list[str]:
    """The text a person could read in a response or file: HTML as sent, PDF
    text, CSV decoded (UTF-8 with or without BOM, else CP932), Excel cell
    values, ZIP members (recursively). A body that cannot be read raises."""
    ct, lower = (content_type or "").split(";")[0].strip(), name.lower()
    if ct == "application/pdf" or lower.endswith(".pdf") or body.startswith(b"%PDF"):
        import pypdf

        return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(body)).pages]
    if "spreadsheetml" in ct or lower.endswith(".xlsx"):
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return [" ".join("" if v is None else str(v)
                         for row in sheet.iter_rows(values_only=True) for v in row)
                for sheet in book.worksheets]
    if ct == "application/zip" or lower.endswith(".zip") or body.startswith(b"PK\x03\x04"):
        texts = []
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for member in archive.namelist():
                texts += body_texts(archive.read(member), "", member)
        return texts
    if ct.startswith("image/") or lower.endswith((".jpg", ".jpeg", ".png")):
        return []
    if body.startswith(b"\xef\xbb\xbf"):
        return [body.decode("utf-8-sig")]
    try:
        return [body.decode("utf-8")]
    except UnicodeDecodeError:
        return [body.decode("cp932")]


#: Hashes, signatures and proofs (hex or base64, 40 characters or more): the
#: inspection package holds megabytes of them, where ``MarkerSet.PATTERN``
#: (``MK`` + four capitals + two digits, no boundaries) matches random
#: base64 by chance (45 times in 200 million characters, measured; a full CI
#: run's package holds several million). Such a run is left out of the
#: marker search unless it holds a marker the fixtures planted (text
#: extracted from a PDF may glue several together).
_OPAQUE_RUN = re.compile(r"[A-Za-z0-9+/_=-]{40,}")


def _without_opaque_runs(w: World, text: str) -> str:
    def keep_if_planted(run):
        return run[0] if any(m in w.markers.owner for m in w.markers.found(run[0])) else " "
    return _OPAQUE_RUN.sub(keep_if_planted, text)


_CASE_NO_RE = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, CASE_NOS.values())) + r")(?![0-9])")
_PHOTO_PATH = re.compile(r"/photo/(\d+)$")
_DOWNLOAD = re.compile(r"/(pdf|export|certificate)$|/photo/\d+$|[?&](format|download)=")


def markers_in(w: World, res, url: str) -> set[str]:
    """The markers and fixture case numbers in a response; a photo counts as
    a survey-facet marker of its report's case. The requested URL echoed in
    the page (the language switch's ``next``, a search form) tells the user
    nothing new and is left out."""
    found = set()
    path = urlsplit(url).path
    for text in body_texts(res.body, res.content_type or "", ""):
        text = text.replace(url, "").replace(path, "")
        found |= w.markers.found(_without_opaque_runs(w, text)) | set(_CASE_NO_RE.findall(text))
    photo = _PHOTO_PATH.search(path)
    if photo and res.status_code == 200 and (res.content_type or "").startswith("image/"):
        found.add(f"PHOTO-{photo.group(1)}")
    return found


# ---------------------------------------------------------------- the crawl

@dataclass(frozen=True)
class Failure:
    user: str
    url: str
    marker: str
    problem: str


@dataclass
class Crawl:
    w: World
    engine: object
    failures: list[Failure] = field(default_factory=list)
    covered: dict[str, set] = field(default_factory=lambda: defaultdict(set))
    allowed: dict[str, set] = field(default_factory=lambda: defaultdict(set))
    seen: dict[str, set] = field(default_factory=lambda: defaultdict(set))   # user -> markers
    requests: int = 0

    def fail(self, user, url, marker, problem):
        self.failures.append(Failure(user, url, marker, problem))

    def request(self, app, user: str, view: tuple, method: str, url: str, params=None, queue=None):
        path = urlsplit(url).path
        token = csrf_token(app, "/") if method == "POST" else None
        mark = log_mark(self.engine)
        if method == "GET":
            res = app.get(url, status="*")
        else:
            res = app.post(url, {**params, "csrf_token": token}, status="*")
        self.requests += 1
        self.covered[user].add(view)
        if res.status_code == 200:
            self.allowed[user].add(view)
        entries = [e for e in entries_since(self.engine, mark, kind="request")
                   if e.path == path and e.method == method]
        label = f"{method} {url}"
        if len(entries) != 1:
            self.fail(user, label, "-", f"{len(entries)} access-log request entries for this request")
        entry = entries[-1] if entries else None
        recorded_cases = {c.case_no for c in entry.cases} if entry else set()
        recorded_facets = set((entry.facets or "").split()) if entry else set()
        role = USERS[user][0]
        try:
            found = markers_in(self.w, res, url)
        except Exception as exc:  # noqa: BLE001 - an unreadable body is a problem, not a pass
            self.fail(user, label, "-", f"the body could not be read ({type(exc).__name__}: {exc})")
            found = set()
        self.seen[user] |= found
        for marker in sorted(found):
            if marker not in CASE_NOS.values() and not marker.startswith("PHOTO-") \
                    and marker not in self.w.markers.owner:
                self.fail(user, label, marker, "a marker the fixtures never planted (fixture bug?)")
                continue
            info = self.w.owner(marker)
            what = f"{info.slot} {info.facet or 'case number'}"
            if info.report is not None:
                report = self.w.reports[info.report]
                what += (f", {'latest' if report.latest else 'older'} report by {report.submitted_by}")
            if info.facet is not None and info.facet not in ROLE_FACETS[role] \
                    and not excepted(self.w, user, marker, path, "facet"):
                self.fail(user, label, marker, f"facet {info.facet} not granted to {role} ({what})")
            if info.slot not in scope(user) and not excepted(self.w, user, marker, path, "scope"):
                self.fail(user, label, marker, f"case {info.slot} is outside {user}'s scope ({what})")
            if (CASE_NOS[info.slot] not in recorded_cases
                    and not excepted(self.w, user, marker, path, "recorded")):
                self.fail(user, label, marker, f"case {info.slot} shown but not recorded in the access log"
                                               f" ({what})")
            if info.facet is not None and str(info.facet) not in recorded_facets:
                self.fail(user, label, marker, f"facet {info.facet} shown but not recorded in the access log"
                                               f" (recorded: {' '.join(sorted(recorded_facets)) or 'none'})")
        if queue is not None and res.status_code == 200 and "html" in (res.content_type or ""):
            for tag in res.html.select("a[href], img[src]"):
                link = tag.get("href") or tag.get("src")
                if link.startswith("/") and _DOWNLOAD.search(link):
                    queue.append(link)
        return res

    def positive_controls(self) -> None:
        """The crawl must see what each user may see, or a broken page, a
        mangled marker or an unread file type would pass unnoticed: every
        user sees a marker of every facet it is granted of every case in its
        scope, and the collector every marker some page is meant to show."""
        planted = {owner for marker, owner in self.w.markers.owner.items()
                   if marker not in self.w.markers.unshown}
        for user, (role, _) in USERS.items():
            seen = {self.w.markers.owner.get(marker) for marker in self.seen[user]}
            for slot, facet in sorted(planted):
                if slot in scope(user) and facet in ROLE_FACETS[role] and (slot, facet) not in seen:
                    self.fail(user, "(whole crawl)", "-",
                              f"positive control: no {facet} marker of {slot} seen anywhere")
        missed = set(self.w.markers.owner) - self.w.markers.unshown - self.seen["collector"]
        for marker in sorted(missed):
            self.fail("collector", "(whole crawl)", marker,
                      "positive control: a planted marker no page showed the collector")

    def summary(self, get_views: int) -> str:
        parts = []
        for user in USERS:
            kinds = defaultdict(int)
            for view in self.covered[user]:
                kinds["links" if view[0] == "link" else view[2]] += 1
            parts.append(f"{user}: {kinds['GET']} GET + {kinds['POST']} POST views "
                         f"({len(self.allowed[user])} answered 200), {kinds['links']} download links")
        return f"{get_views} GET views mapped; " + "; ".join(parts)

    def report(self) -> str:
        grouped = defaultdict(list)
        for f in self.failures:
            grouped[(f.user, f.url, f.problem)].append(f.marker)
        lines = [f"{len(self.failures)} disclosure problems in {self.requests} requests:"]
        lines += [f"  {user:15} {url}: {problem} [{', '.join(sorted(set(markers)))}]"
                  for (user, url, problem), markers in sorted(grouped.items())]
        return "\n".join(lines)


def test_every_view_discloses_only_what_the_matrix_and_the_scope_allow_and_logs_it(
        wsgi_app, engine, world, clock):
    problems = unmapped_views(wsgi_app)
    w = world
    # An access-log entry that disclosed fixture cases, for /audit/<seq>.
    mark = log_mark(engine)
    client(wsgi_app, "collector").get(f"/cases/{CASE_NOS['in_scope']}/")
    w.log_seq = entries_since(engine, mark, kind="request")[-1].seq
    crawl = Crawl(w, engine)
    views = sorted(key for key in registered_views(wsgi_app) if key[2] == "GET" and key[:2] in GET_URLS)
    for user in USERS:
        app = client(wsgi_app, user)
        fetched, queue = set(), []
        for view in views:
            for url in GET_URLS[view[:2]](w):
                fetched.add(url)
                crawl.request(app, user, view, "GET", url, queue=queue)
        while queue:  # download links found on the pages, not requested yet
            url = queue.pop()
            if url not in fetched:
                fetched.add(url)
                crawl.request(app, user, ("link", url, "GET"), "GET", url, queue=queue)
        for key, posts in sorted(POSTS.items()):
            for url, params in posts(w):
                crawl.request(app, user, (*key, "POST"), "POST", url, params)
    crawl.positive_controls()
    summary = crawl.summary(len(views))
    print(summary)
    assert not problems and not crawl.failures, "\n".join(problems + [summary, crawl.report()])


# ---------------------------------------------------------------- no existence oracle

@dataclass(frozen=True)
class Container:
    path: str
    missing: str
    objects: object            # World -> {name: (id or case number, slots or None)}
    reaches: object            # (user key, Role) -> bool: the role may see this kind of row at all


def _role_has(permission, table):
    return lambda user, role: permission in table[role]


def _bound_has(permission, bound):
    """Whether the matrix grants ``permission`` on objects of kind ``bound`` at all."""
    return lambda user, role: any(permission in grant.actions
                                  for grant in matrix.BOUND_GRANTS[bound].get(role, ()))


#: Containers of rows that carry case data, with the permission that lets a
#: role see such rows at all (then the row's cases must be in its scope).
ORACLE = {
    resources.CaseContainer: Container(
        "/cases/", MISSING_CASE_NO, lambda w: {s: (CASE_NOS[s], frozenset({s})) for s in SLOTS},
        _role_has(P.CaseView, matrix.ROLE_CASE_ACTIONS)),
    resources.TargetContainer: Container(
        "/calls/targets/", MISSING_ID, lambda w: {s: (i, frozenset({s})) for s, i in w.targets.items()},
        _bound_has(P.CallTargetView, matrix.Bound.call_target)),
    resources.HandoverContainer: Container(
        "/calls/handovers/", MISSING_ID, lambda w: {s: (i, frozenset({s})) for s, i in w.handovers.items()},
        _role_has(P.HandoversView, matrix.ROLE_ACTIONS)),
    resources.PhoneCandidateContainer: Container(
        "/calls/phones/", MISSING_ID, lambda w: {s: (i, frozenset({s})) for s, i in w.candidates.items()},
        _role_has(P.PhoneCandidatesConfirm, matrix.ROLE_ACTIONS)),
    resources.LetterContainer: Container(
        "/letters/", MISSING_ID, lambda w: dict(w.letters), _role_has(P.LettersView, matrix.ROLE_ACTIONS)),
    resources.CampaignContainer: Container(
        "/calls/campaigns/", MISSING_ID,
        lambda w: {"campaign": (w.campaign, frozenset({"in_scope", "call_blocked"}))},
        _role_has(P.CampaignsView, matrix.ROLE_ACTIONS)),
    resources.SurveyBatchContainer: Container(
        "/survey/batches/", MISSING_ID, lambda w: dict(w.survey_batches),
        _role_has(P.SurveyReview, matrix.ROLE_ACTIONS)),
    resources.SurveyTargetContainer: Container(
        "/survey/targets/", MISSING_ID,
        lambda w: {s: (i, frozenset({s})) for s, i in w.survey_targets.items()},
        _bound_has(P.SurveyTargetView, matrix.Bound.survey_target)),
    # Slips carry no case; a contractor reaches the slips of its own contract.
    resources.HandoverSlipContainer: Container(
        "/survey/slips/", MISSING_ID, lambda w: {name: (i, None) for name, (i, _) in w.slips.items()},
        _role_has(P.SlipsView, matrix.ROLE_ACTIONS)),
}
#: Row containers left out, and why.
NOT_CASE_DATA = {
    resources.UserContainer: "staff accounts (supervisors only), no case data",
    resources.ContractContainer: "contracts (supervisors and auditors), no case data",
    resources.TrainingPlanContainer: "training plans (supervisors, auditors, the contractor's leader), no case data",
    resources.ChecklistContainer: "inspection checklists (auditors, supervisors), no case data",
    resources.MediaLedger: "the media ledger (ward staff, auditors), no case data",
    resources.IncidentContainer: ("incident reports, reached by organisation (a leader's own; supervisors and "
                                  "auditors all): their case numbers show only where the viewer's scope reaches "
                                  "them; a missing id reads like another organisation's (tests/functional/"
                                  "test_incidents.py)"),
    resources.DraftContainer: ("campaign drafts (issue 25): counts only for the call center; the "
                               "supervisors' review list passes the disclosure gate; a leader of another "
                               "organisation gets 403 like a missing id (test_campaign_drafts)"),
}


def _reaches(w: World, user: str, container: Container, name: str, slots) -> bool:
    role = USERS[user][0]
    if not container.reaches(user, role):
        return False
    if slots is None:  # a slip: by contract
        return role != Role.contractor or w.slips[name][1] == w.contract
    return bool(slots & scope(user))


_NOISE = [re.compile(r'name="csrf_token" value="[^"]*"'), re.compile(r"[0-9a-f]{32,}")]


def _normalised(res, path: str) -> str:
    """The page without what differs per request: the path it echoes, CSRF
    tokens, request ids."""
    text = res.body.decode("utf-8", errors="replace").replace(path, "<PATH>")
    for pattern in _NOISE:
        text = pattern.sub("<X>", text)
    return text


def test_rows_outside_a_role_s_reach_answer_exactly_like_rows_that_do_not_exist(wsgi_app, world):
    containers = [cls for cls in vars(resources).values()
                  if isinstance(cls, type) and issubclass(cls, resources.RowContainer)
                  and cls is not resources.RowContainer]
    problems = [f"row container {cls.__name__} is neither tested nor exempted (NOT_CASE_DATA)"
                for cls in containers if cls not in ORACLE and cls not in NOT_CASE_DATA]
    item_views = defaultdict(set)
    for context, name, _ in registered_views(wsgi_app):
        item_views[context].add(name)
    w = world
    # Roles reaching every case may learn that one does not exist (404 by design).
    everywhere = {"collector", "supervisor", "auditor"}
    for user in [u for u in USERS if u not in everywhere]:
        app = client(wsgi_app, user)
        for cls, container in ORACLE.items():
            item = resources.CaseResource if cls is resources.CaseContainer else cls.item
            for view_name in sorted({""} | item_views[item.__name__]):
                suffix = f"/{view_name}" if view_name else "/"
                missing_path = f"{container.path}{container.missing}{suffix}"
                missing = app.get(missing_path, status="*")
                expected = _normalised(missing, missing_path)
                for name, (row, slots) in container.objects(w).items():
                    if _reaches(w, user, container, name, slots):
                        continue
                    path = f"{container.path}{row}{suffix}"
                    res = app.get(path, status="*")
                    if res.status_code != missing.status_code:
                        problems.append(f"{user:15} GET {path} ({name}): {res.status_code}, but "
                                        f"{missing.status_code} for {missing_path}")
                    elif _normalised(res, path) != expected:
                        problems.append(f"{user:15} GET {path} ({name}): same status {res.status_code}, "
                                        f"another page than {missing_path}")
    assert not problems, f"{len(problems)} existence oracles:\n" + "\n".join(problems)
