"""THE permission matrix: for every role, the case facets it may see and the
actions it may take. Nothing else in the application decides who may do what:
resource ACLs, navigation, templates, exports, the auditors' matrix page and the
authorization tests are all derived from the data in this module.

Which *cases* a role reaches is the other half of the rule: ``ROLE_SCOPES``
names it here, and :mod:`intranet.cases.scopes` says it in SQL (a case is
visible to operators only while entrusted to the call center (a campaign of
the current fiscal year), to an
investigator only while assigned to them, ...). Objects derived from cases
(call targets, hand-overs, letter batches, survey targets, ...) take their
ACL from the cases they carry: ``BOUND_GRANTS`` says which actions a role
holds on each kind and under which ``Condition``.

Every table is final where it is written (read-only mappings, frozensets).
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pyramid.authorization import DENY_ALL, Allow, Deny

from ..models.users import Role
from . import principals
from .permissions import Permission as P


class Facet(enum.StrEnum):
    """Groups of the 資料1 items, in the order a case page shows them."""

    identity = "identity"
    verification = "verification"
    contact = "contact"
    resident_record = "resident_record"
    foreign_resident = "foreign_resident"
    employment = "employment"
    corporation = "corporation"
    representative = "representative"
    assessment = "assessment"
    payment = "payment"
    bank_flag = "bank_flag"
    bank_account = "bank_account"
    staff = "staff"
    negotiation = "negotiation"
    call_log = "call_log"
    survey = "survey"

    @property
    def permission(self) -> P:
        return P(f"case:{self.value}:view")


@dataclass(frozen=True)
class FacetInfo:
    label_ja: str
    label_en: str
    items_ja: str  # the 資料1 items the facet holds


FACETS: dict[Facet, FacetInfo] = {
    # identity is exactly what the field-survey servicer may receive (seed 004).
    Facet.identity: FacetInfo("本人特定", "Identity", "氏名・郵便番号・住所・方書"),
    Facet.verification: FacetInfo("本人確認", "Verification", "カナ氏名・居住区分・生年月日・性別"),
    Facet.contact: FacetInfo("連絡先", "Contact", "電話番号・送付先名称・送付先住所"),
    Facet.resident_record: FacetInfo(
        "住民記録", "Resident record",
        "住民番号・世帯番号・世帯主氏名・続柄・区内住所・転入前住所・区民となった日・"
        "住所を定めた日・変更事由及び変更日"),
    Facet.foreign_resident: FacetInfo(
        "外国人住民", "Foreign resident", "外国人登録番号・通称名・国籍・在留資格・在留期間"),
    Facet.employment: FacetInfo("勤務先", "Employment", "職業・勤務先の名称・住所・電話番号"),
    Facet.corporation: FacetInfo("法人", "Corporation", "郵便番号・所在地・名称・電話番号・指定番号"),
    Facet.representative: FacetInfo(
        "納税管理人・相続人", "Tax administrator / heir", "種別・郵便番号・住所・氏名・電話番号・登録年月日"),
    Facet.assessment: FacetInfo(
        "課税", "Assessment",
        "税目・年度・相当年度・納税通知書番号・年税額・車両（車体識別番号・車種・車名・排気量・定置場・標識番号）"),
    Facet.payment: FacetInfo(
        "収納", "Payments", "期別調定額・納税額・過不足額・納期限・領収日・収納日・分割納付約束"),
    Facet.bank_flag: FacetInfo("口座振替の有無", "Direct debit (yes/no)",
                               "口座振替の有無・申込の状況（勧奨・申込書送付・返送・不備・登録）"),
    Facet.bank_account: FacetInfo(
        "口座", "Bank account", "金融機関名・支店名・口座名義人・振替開始年度期別・口座取消日・不能事由"),
    Facet.staff: FacetInfo("担当・滞納区分", "Staff and category", "担当者名・滞納区分"),
    Facet.negotiation: FacetInfo(
        "経過記録", "Negotiation records", "訪問日時・交渉日時・場所・相手・内容・帳票発行記録・最終接触日"),
    Facet.call_log: FacetInfo("架電記録", "Call log", "架電日時・電話番号・応答結果・内容"),
    Facet.survey: FacetInfo("現地調査", "Field survey",
                            "居住の有無・表札・家屋の写真・賃貸/持家・管理会社・連絡票・訪問日時"),
}

ALL_FACETS = frozenset(Facet)


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(mapping)


class Condition(enum.StrEnum):
    """When a role holds a grant (rendered on the matrix page)."""

    always = "always"                 # wherever the role works
    supervisor = "supervisor"         # users carrying the supervisor flag
    in_scope = "in_scope"             # on the cases its scope reaches
    all_in_scope = "all_in_scope"     # on an object all of whose cases its scope reaches
    active_campaign = "active_campaign"  # in scope, and the object's campaign runs today
    own_target = "own_target"         # in scope, and assigned to the user personally
    own_report = "own_report"         # only the user's own latest survey report
    team_leader = "team_leader"       # users carrying the team-leader flag
    own_organisation = "own_organisation"  # team leaders, on their own organisation's users (not themselves) or reports
    own_organisation_leader = "own_organisation_leader"  # team leaders, on their own organisation's drafts


class Scope(enum.StrEnum):
    """Which cases a role reaches (:mod:`intranet.cases.scopes` says it in SQL)."""

    all_cases = "all_cases"
    # Per role: every case of a campaign active today, unless a collector
    # flagged it "do not call".
    active_campaign_cases = "active_campaign_cases"
    # Per role: every case entrusted to the call center this fiscal year (年度,
    # April to March): in a campaign that has started and was not over
    # before 1 April, unless flagged "do not call" or kept from calls by a
    # collection status. Incoming callers are looked up here (issue 20).
    entrusted_cases = "entrusted_cases"
    # Per user: cases assigned to that investigator in an open survey batch of
    # a contract in force whose data was not erased.
    own_survey_targets = "own_survey_targets"


ROLE_SCOPES: Mapping[Role, Scope] = _frozen({
    Role.collector: Scope.all_cases,
    Role.auditor: Scope.all_cases,
    Role.operator: Scope.entrusted_cases,
    Role.contractor: Scope.own_survey_targets,
})

#: Facets each role may see on a case it reaches.
ROLE_FACETS: Mapping[Role, frozenset[Facet]] = _frozen({
    Role.collector: ALL_FACETS,
    Role.auditor: ALL_FACETS,
    Role.operator: frozenset({
        Facet.identity, Facet.verification, Facet.contact, Facet.assessment,
        Facet.payment, Facet.bank_flag, Facet.corporation, Facet.call_log,
    }),
    # The seed allows the servicer postal code, address, 方書 and name only.
    Role.contractor: frozenset({Facet.identity}),
})

#: Facets a role sees only in part, on a condition: an investigator reads
#: back the survey report they filed themselves (the latest version), never
#: other reports of the case.
FACET_EXCEPTIONS: Mapping[Role, Mapping[Facet, Condition]] = _frozen({
    Role.contractor: _frozen({Facet.survey: Condition.own_report}),
})

#: Actions on a case each role may take (besides seeing its facets).
ROLE_CASE_ACTIONS: Mapping[Role, frozenset[P]] = _frozen({
    Role.collector: frozenset({P.CaseView, P.CaseCallBlockEdit, P.CaseStatusEdit, P.CaseSlipIssue,
                                P.CasePlanEdit, P.CaseContactRecord, P.CaseMailReturn,
                                P.CaseDebitEdit}),
    Role.auditor: frozenset({P.CaseView}),
    Role.operator: frozenset({P.CaseView, P.CaseSlipIssue, P.CaseIncomingRecord}),
    # Investigators never open case pages: their survey pages show the identity facet only.
    Role.contractor: frozenset(),
})

#: Every role manages its own account: own sessions (ログイン中の端末),
#: second factor and password. No case data.
OWN_ACCOUNT_ACTIONS = frozenset({P.OwnSessions, P.OwnSecondFactor, P.OwnPassword})


def _with_own_account(role: Role, actions: set[P]) -> frozenset[P]:
    # The late-charge calculator goes with the payment facet.
    tools = {P.LateChargeCalculate} if Facet.payment in ROLE_FACETS[role] else set()
    return frozenset(actions | OWN_ACCOUNT_ACTIONS | tools)


#: Actions outside any one case, granted on the resource tree's root.
ROLE_ACTIONS: Mapping[Role, frozenset[P]] = _frozen({
    Role.collector: _with_own_account(Role.collector, {
        P.HomeView, P.CasesSearch, P.CampaignsView, P.CampaignsManage, P.HandoversView,
        P.HandoversResolve, P.PhoneCandidatesConfirm, P.CallReportsView, P.CallReportsAll,
        P.LettersView, P.LettersIssue, P.LettersSeal, P.SurveyManage, P.SurveyReview,
        P.SlipsView, P.SlipsUse, P.SlipsViewAll, P.MediaView, P.MediaManage, P.DataImport,
        P.DataExport, P.LimitationView, P.PlansView, P.DebitsView,
        P.ScreeningView, P.ScreeningReview}),
    # Auditors read everything and change nothing: only *View/*Review/*Search
    # here, besides their own records (確認記録票, log review sign-off) and the
    # inspection export; none of them is case data.
    Role.auditor: _with_own_account(Role.auditor, {
        P.HomeView, P.CasesSearch, P.AuditLogView, P.CampaignsView, P.HandoversView,
        P.CallReportsView, P.CallReportsAll, P.LettersView, P.SurveyReview, P.SlipsView,
        P.SlipsViewAll, P.MediaView, P.UsersView, P.ContractsView, P.MatrixView,
        P.ActivityView, P.LogReviewSign, P.InspectionExport, P.ChecklistsView,
        P.ChecklistsRecord, P.LimitationView, P.TrainingView, P.PlansView, P.DebitsView,
        P.ScreeningView, P.IncidentsView, P.IncidentsViewAll, P.TrainingPlansView, P.TrainingPlansAll}),
    Role.operator: _with_own_account(Role.operator, {
        P.LettersView, P.LettersIssue, P.LettersSeal,
        P.HomeView, P.CasesSearch, P.CallQueueWork, P.CallLookup, P.CallIncomingRecord,
        P.CallReportsView, P.PhoneCandidatesRegister}),
    Role.contractor: _with_own_account(Role.contractor, {
        P.HomeView, P.SurveyWork, P.SlipsView, P.SlipsUse}),
})


class Bound(enum.StrEnum):
    """Kinds of objects that carry case data. Each takes its ACL from the
    cases it carries (``BOUND_GRANTS``), never from the root."""

    call_target = "call_target"          # 架電対象: one person to call
    handover = "handover"                # 引継ぎ
    phone_candidate = "phone_candidate"  # 電話番号調査の候補
    letter_batch = "letter_batch"        # 催告書の一括作成
    survey_batch = "survey_batch"        # 現地調査の一括
    survey_target = "survey_target"      # 調査対象: one address to visit


@dataclass(frozen=True)
class Grant:
    actions: frozenset[P]
    condition: Condition


def _grants(*pairs) -> tuple[Grant, ...]:
    return tuple(Grant(frozenset(actions), condition) for actions, condition in pairs)


#: Actions each role holds on an object derived from cases, and when. A
#: multi-case object (a batch) is readable where the scope reaches some of its
#: cases — pages then show only those and say how many are hidden — and
#: printable or sealable only where it reaches all of them (a printed batch is
#: counted against its letters when sealed, so it is never printed in part).
BOUND_GRANTS: Mapping[Bound, Mapping[Role, tuple[Grant, ...]]] = _frozen({
    Bound.call_target: _frozen({
        Role.collector: _grants(({P.CallTargetView}, Condition.in_scope)),
        Role.auditor: _grants(({P.CallTargetView}, Condition.in_scope)),
        Role.operator: _grants(({P.CallTargetView, P.CallTargetRecord}, Condition.active_campaign)),
    }),
    Bound.handover: _frozen({
        Role.collector: _grants(({P.HandoversView, P.HandoversResolve}, Condition.in_scope)),
        Role.auditor: _grants(({P.HandoversView}, Condition.in_scope)),
    }),
    Bound.phone_candidate: _frozen({
        Role.collector: _grants(({P.PhoneCandidatesConfirm}, Condition.in_scope)),
    }),
    Bound.letter_batch: _frozen({
        Role.collector: _grants(({P.LettersView}, Condition.in_scope),
                                ({P.LettersIssue, P.LettersSeal}, Condition.all_in_scope)),
        Role.auditor: _grants(({P.LettersView}, Condition.in_scope)),
        Role.operator: _grants(({P.LettersView}, Condition.in_scope),
                               ({P.LettersIssue, P.LettersSeal}, Condition.all_in_scope)),
    }),
    Bound.survey_batch: _frozen({
        Role.collector: _grants(({P.SurveyReview}, Condition.in_scope),
                                ({P.SurveyManage}, Condition.all_in_scope)),
        Role.auditor: _grants(({P.SurveyReview}, Condition.in_scope)),
    }),
    Bound.survey_target: _frozen({
        Role.collector: _grants(({P.SurveyTargetView}, Condition.in_scope)),
        Role.auditor: _grants(({P.SurveyTargetView}, Condition.in_scope)),
        Role.contractor: _grants(({P.SurveyTargetView, P.SurveyReport}, Condition.own_target)),
    }),
})

#: Roles that may carry the supervisor flag; the flag on any other role is
#: refused when a user is created or changed.
SUPERVISOR_ROLES = frozenset({Role.collector})

#: Extra actions of supervisors (principal ``supervisor``); they supervise and
#: inspect the contractors, so they also read the log, sign its reviews and
#: keep inspection checklists, and they list and end any user's sessions
#: (remote wipe of a lost tablet or a PC left logged in).
SUPERVISOR_ACTIONS: frozenset[P] = frozenset({
    P.UsersView, P.UsersManage, P.UsersSessionsManage, P.SecurityKeysManage, P.ContractsView,
    P.ContractsManage, P.MatrixView, P.AuditLogView, P.ActivityView, P.LogReviewSign,
    P.ChecklistsView, P.ChecklistsRecord, P.CaseStatusApprove, P.TrainingView, P.TrainingRecord,
    P.IncidentsView, P.IncidentsViewAll, P.IncidentsHandle, P.TrainingPlansView, P.TrainingPlansAll,
    P.TrainingPlansManage})


#: Roles that may carry the team-leader flag: the call center's 責任者, who
#: writes the 日報・月報 and supervises its operators (seed 003), and the
#: survey servicer's 個人情報取扱責任者 (seed 004 資料62 受託事業者 運用1),
#: who reports incidents like the call center's (issue 25).
TEAM_LEADER_ROLES = frozenset({Role.operator, Role.contractor})

#: Extra actions of team leaders, by role (principals ``team_leader`` and
#: ``team_leader:role:<role>``): the call center's figures of every operator
#: of their own organisation, never other organisations' and no case data
#: beyond what operators see; and, for both contractors, incident reports
#: (事故報告, seed 000 特記事項11, seed 004 特記事項19) on the cases of their
#: own scope, read back for their own organisation only (``IncidentsView``
#: without ``IncidentsViewAll``; one report's ACL: :func:`incident_acl`).
TEAM_LEADER_ACTIONS: Mapping[Role, frozenset[P]] = _frozen({
    Role.operator: frozenset({P.CallReportsTeam, P.IncidentsFile, P.IncidentsView}),
    Role.contractor: frozenset({P.IncidentsFile, P.IncidentsView}),
})

#: Actions a team leader holds on one user account (``/admin/users/<id>``),
#: by the account's role, and when: the call center plans and runs its
#: operators' training (seed 000, 委託の内容7 「オペレータ研修計画の策定及び実施」,
#: 特記事項10), so its 責任者 records the courses of the *other* users of its
#: own organisation — never its own (nobody certifies themselves), never
#: another organisation's.
TEAM_LEADER_USER_GRANTS: Mapping[Role, tuple[Grant, ...]] = _frozen({
    Role.operator: _grants(({P.TrainingView, P.TrainingRecord}, Condition.own_organisation)),
})

#: Campaign drafts (issue 25; seed 000, 委託の内容1 「納付案内計画の立案」): the
#: call center's 責任者 drafts a campaign and sees only the counts it would
#: produce; a ward supervisor sees the cases it would reach and approves,
#: returns or rejects it; auditors read. Who holds which action on one
#: draft (``/calls/drafts/<id>/``) and when; the list and the "new" form
#: take the same grants without the organisation (a draft is always the
#: leader's own organisation's). Nobody else — an operator who is not a
#: leader, a collector who is not a supervisor — sees drafts at all.
DRAFT_GRANTS: Mapping[Role, tuple[Grant, ...]] = _frozen({
    Role.operator: _grants(({P.CampaignDraftsView, P.CampaignDraftsWrite}, Condition.own_organisation_leader)),
    Role.collector: _grants(({P.CampaignDraftsView, P.CampaignDraftsReview}, Condition.supervisor)),
    Role.auditor: _grants(({P.CampaignDraftsView}, Condition.always)),
})


def _draft_principal(role: Role, condition: Condition, organisation_id: int | None) -> str:
    if condition == Condition.always:
        return role_principal(role)
    if condition == Condition.supervisor and role in SUPERVISOR_ROLES:
        return principals.SUPERVISOR
    if condition == Condition.own_organisation_leader and role in TEAM_LEADER_ROLES:
        return (principals.TEAM_LEADER if organisation_id is None
                else principals.team_leader_of(organisation_id))
    raise ValueError(f"no principal for {role} under {condition}")


def draft_acl(organisation_id: int | None = None, *, every_draft_only: bool = False) -> list[tuple]:
    """The ACL of one draft of ``organisation_id`` (None: the drafts'
    container, whose list and form show the holder's own organisation's),
    ending in DENY_ALL: nothing inherited from the root. ``every_draft_only``:
    only the grants that reach every organisation's drafts (the answer for a
    missing id, so ids are no oracle across call-center organisations)."""
    acl = []
    for role, grants in DRAFT_GRANTS.items():
        for grant in grants:
            if every_draft_only and grant.condition == Condition.own_organisation_leader:
                continue
            acl.append((Allow, _draft_principal(role, grant.condition, organisation_id), sorted(grant.actions)))
    return acl + [DENY_ALL]


def draft_reach(held) -> frozenset[int] | None:
    """Whose drafts the holder of ``held`` sees in lists: None for every
    organisation's (a grant that does not depend on the organisation), else
    the organisations it leads (the same rule as :func:`draft_acl`)."""
    held = set(held)
    for role, grants in DRAFT_GRANTS.items():
        for grant in grants:
            if (P.CampaignDraftsView in grant.actions and grant.condition != Condition.own_organisation_leader
                    and _draft_principal(role, grant.condition, None) in held):
                return None
    prefix = principals.TEAM_LEADER_OF_PREFIX
    return frozenset(int(p[len(prefix):]) for p in held if p.startswith(prefix))


#: Actions a team leader holds on training plans (研修計画, ``/training/``):
#: the call center draws up and runs its operators' training plan (seed 000,
#: 委託の内容7; 特記事項10), so its 責任者 keeps the plans of its own
#: organisation and records the completions of its users — never another
#: organisation's (:func:`training_plan_acl`).
TEAM_LEADER_PLAN_GRANTS: tuple[Grant, ...] = _grants(
    ({P.TrainingPlansView, P.TrainingPlansManage}, Condition.own_organisation))

#: Actions nobody holds on their own account, whatever else grants them.
NOT_ON_ONESELF: frozenset[P] = frozenset({P.TrainingRecord})


def account_problems(role: Role, is_supervisor: bool, is_team_leader: bool = False) -> list[str]:
    """Message keys for account flags the matrix would not honour; every
    place that creates or changes a user refuses them (CLI, admin pages)."""
    problems = []
    if is_supervisor and role not in SUPERVISOR_ROLES:
        problems.append("account.supervisor_role")
    if is_team_leader and role not in TEAM_LEADER_ROLES:
        problems.append("account.team_leader_role")
    return problems


def user_acl(user) -> list[tuple]:
    """The entries of one user account's ACL (the root's follow): the team
    leader grants bound to the account's organisation, and the actions no
    one takes on their own account."""
    acl: list[tuple] = [(Deny, principals.user(user.id), sorted(NOT_ON_ONESELF))]
    for grant in TEAM_LEADER_USER_GRANTS.get(user.role, ()):
        if grant.condition == Condition.own_organisation:
            acl.append((Allow, principals.team_leader_of(user.organisation_id), sorted(grant.actions)))
    return acl


def training_plan_acl(organisation_id: int) -> list[tuple]:
    """The entries of one training plan's ACL (the root's follow): its
    organisation's team leaders hold the plan grants; any other team leader
    is denied them (the root grants them to team leaders for the list,
    which shows their own organisation's plans only)."""
    acl: list[tuple] = []
    for grant in TEAM_LEADER_PLAN_GRANTS:
        acl.append((Allow, principals.team_leader_of(organisation_id), sorted(grant.actions)))
        acl.append((Deny, principals.TEAM_LEADER, sorted(grant.actions)))
    return acl


def role_principal(role: Role) -> str:
    return principals.role(role)


def case_permissions(role: Role) -> frozenset[P]:
    """Everything ``role`` may do on a case its scope reaches."""
    return frozenset(f.permission for f in ROLE_FACETS[role]) | ROLE_CASE_ACTIONS[role]


def facets_for_principals(held) -> frozenset[Facet]:
    """Facets any of ``held``'s roles may see on the cases they reach
    (list columns and search fields use this, cases their ACL)."""
    facets = set()
    for role in principals.roles_in(held):
        facets |= ROLE_FACETS[role]
    return frozenset(facets)


def facet_exceptions(held) -> dict[Facet, Condition]:
    """Facets ``held`` sees only in part, with the condition (``FACET_EXCEPTIONS``)."""
    granted = facets_for_principals(held)
    exceptions = {}
    for role in principals.roles_in(held):
        for facet, condition in FACET_EXCEPTIONS.get(role, {}).items():
            if facet not in granted:
                exceptions[facet] = condition
    return exceptions


#: Actions held by a place rather than a user (issue 24): a request from the
#: monitoring network (``intranet.zones.monitoring``), logged in or not, reads
#: the health status and the metrics, which hold no personal data. No role
#: holds them: monitoring has no account, and a user's browser has no need.
ZONE_ACTIONS: Mapping[str, frozenset[P]] = _frozen({
    principals.MONITORING: frozenset({P.HealthView, P.MetricsView}),
})


def global_acl() -> list[tuple]:
    """Allow entries for the actions that are not about one case (root ACL)."""
    acl = [(Allow, role_principal(role), sorted(ROLE_ACTIONS[role]))
           for role in Role if ROLE_ACTIONS[role]]
    acl.extend((Allow, principal, sorted(actions)) for principal, actions in ZONE_ACTIONS.items())
    acl.append((Allow, principals.SUPERVISOR, sorted(SUPERVISOR_ACTIONS)))
    for role, actions in TEAM_LEADER_ACTIONS.items():
        acl.append((Allow, principals.team_leader_role(role), sorted(actions)))
    # The plan list and the creation of a plan (of the leader's own
    # organisation); one plan's ACL narrows them (training_plan_acl).
    acl.append((Allow, principals.TEAM_LEADER,
                sorted(set().union(*(g.actions for g in TEAM_LEADER_PLAN_GRANTS)))))
    return acl


#: What a team leader holds on one incident report, and when: their own
#: organisation's only (the root grants ``IncidentsView`` for the list, which
#: shows only those).
INCIDENT_LEADER_GRANTS: tuple[Grant, ...] = _grants(({P.IncidentsView}, Condition.own_organisation))


def incident_acl(incident) -> list[tuple]:
    """The entries of one incident report's ACL (the root's follow): the
    leaders of the reporting organisation read it; other team leaders are
    denied what the root grants them on reports. Supervisors and auditors
    hold their grants from the root."""
    acl: list[tuple] = []
    for grant in INCIDENT_LEADER_GRANTS:
        if grant.condition == Condition.own_organisation:
            acl.append((Allow, principals.team_leader_of(incident.organisation_id), sorted(grant.actions)))
    acl.append((Deny, principals.TEAM_LEADER, [P.IncidentsView]))
    return acl
