"""THE permission matrix: for every role, the case facets it may see and the
actions it may take. Nothing else in the application decides who may do what:
resource ACLs, navigation, templates, exports, the auditors' matrix page and the
authorization tests are all derived from the data in this module.

Which *cases* a role reaches is the other half of the rule and lives in
:mod:`intranet.cases.scopes` (a case is visible to operators only while in an
active call campaign, to a contractor only while assigned to them, ...).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from pyramid.authorization import Allow

from ..models.users import Role
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
    Facet.bank_flag: FacetInfo("口座振替の有無", "Direct debit (yes/no)", "口座振替の有無"),
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

#: Facets each role may see on a case it reaches.
ROLE_FACETS: dict[Role, frozenset[Facet]] = {
    Role.collector: ALL_FACETS,
    Role.auditor: ALL_FACETS,
    Role.operator: frozenset({
        Facet.identity, Facet.verification, Facet.contact, Facet.assessment,
        Facet.payment, Facet.bank_flag, Facet.corporation, Facet.call_log,
    }),
    # The seed allows the servicer postal code, address, 方書 and name only.
    Role.contractor: frozenset({Facet.identity}),
}

#: Actions on a case each role may take (besides seeing its facets).
ROLE_CASE_ACTIONS: dict[Role, frozenset[P]] = {
    Role.collector: frozenset({P.CaseView, P.CaseCallBlockEdit, P.CaseSlipIssue}),
    Role.auditor: frozenset({P.CaseView}),
    Role.operator: frozenset({P.CaseView, P.CaseSlipIssue}),
    # Investigators never open case pages: their survey pages show the identity facet only.
    Role.contractor: frozenset(),
}

#: Actions outside any one case, granted on the resource tree's root.
ROLE_ACTIONS: dict[Role, frozenset[P]] = {
    Role.collector: frozenset({
        P.HomeView, P.CasesSearch, P.CampaignsView, P.CampaignsManage, P.HandoversView,
        P.HandoversResolve, P.PhoneCandidatesConfirm, P.CallReportsView, P.CallReportsAll,
        P.LettersView, P.LettersIssue, P.LettersSeal, P.SurveyManage, P.SurveyReview,
        P.SlipsView, P.SlipsUse, P.SlipsViewAll, P.MediaView, P.MediaManage, P.DataImport,
        P.DataExport}),
    # Auditors read everything and change nothing: only *View/*Review/*Search
    # here, besides their own records (確認記録票, log review sign-off) and the
    # inspection export; none of them is case data.
    Role.auditor: frozenset({
        P.HomeView, P.CasesSearch, P.AuditLogView, P.CampaignsView, P.HandoversView,
        P.CallReportsView, P.CallReportsAll, P.LettersView, P.SurveyReview, P.SlipsView,
        P.SlipsViewAll, P.MediaView, P.UsersView, P.ContractsView, P.MatrixView,
        P.ActivityView, P.LogReviewSign, P.InspectionExport, P.ChecklistsView,
        P.ChecklistsRecord}),
    Role.operator: frozenset({
        P.LettersView, P.LettersIssue, P.LettersSeal,
        P.HomeView, P.CasesSearch, P.CallQueueWork, P.CallLookup, P.CallReportsView,
        P.PhoneCandidatesRegister}),
    Role.contractor: frozenset({P.HomeView, P.SurveyWork, P.SlipsView, P.SlipsUse}),
}

#: Actions on a survey target; investigators hold theirs only on targets
#: their scope reaches (see SurveyTargetResource.__acl__).
ROLE_SURVEY_ACTIONS: dict[Role, frozenset[P]] = {
    Role.collector: frozenset({P.SurveyTargetView}),
    Role.auditor: frozenset({P.SurveyTargetView}),
    Role.operator: frozenset(),
    Role.contractor: frozenset({P.SurveyTargetView, P.SurveyReport}),
}

# Everyone who logs in sees and ends their own sessions (ログイン中の端末):
# their own account, no case data.
for _role in ROLE_ACTIONS:
    ROLE_ACTIONS[_role] = ROLE_ACTIONS[_role] | {P.OwnSessions}

# The late-charge calculator goes with the payment facet.
for _role, _facets in ROLE_FACETS.items():
    if Facet.payment in _facets:
        ROLE_ACTIONS[_role] = ROLE_ACTIONS[_role] | {P.LateChargeCalculate}

# Everyone manages the second factor of their own account.
for _role in Role:
    ROLE_ACTIONS[_role] = ROLE_ACTIONS[_role] | {P.OwnSecondFactor}

#: Actions on a call target. Operators hold theirs only while the target's
#: campaign is active (see CallTargetResource.__acl__), like its cases.
ROLE_TARGET_ACTIONS: dict[Role, frozenset[P]] = {
    Role.collector: frozenset({P.CallTargetView}),
    Role.auditor: frozenset({P.CallTargetView}),
    Role.operator: frozenset({P.CallTargetView, P.CallTargetRecord}),
    Role.contractor: frozenset(),
}
#: Roles whose target actions need the campaign to be active today.
TARGET_ROLES_NEEDING_ACTIVE_CAMPAIGN = frozenset({Role.operator})

#: Extra actions of collectors flagged as supervisors (principal ``supervisor``);
#: they supervise and inspect the contractors, so they also read the log, sign
#: its reviews and keep inspection checklists, and they list and end any
#: user's sessions (remote wipe of a lost tablet or a PC left logged in).
SUPERVISOR_ACTIONS: frozenset[P] = frozenset({
    P.UsersView, P.UsersManage, P.UsersSessionsManage, P.SecurityKeysManage, P.ContractsView,
    P.ContractsManage, P.MatrixView, P.AuditLogView, P.ActivityView, P.LogReviewSign,
    P.ChecklistsView, P.ChecklistsRecord})


def role_principal(role: Role) -> str:
    return f"role:{role}"


def case_permissions(role: Role) -> frozenset[P]:
    """Everything ``role`` may do on a case its scope reaches."""
    return frozenset(f.permission for f in ROLE_FACETS[role]) | ROLE_CASE_ACTIONS[role]


def visible_facets(role: Role) -> list[Facet]:
    """The role's facets in display order."""
    return [f for f in Facet if f in ROLE_FACETS[role]]


def facets_for_principals(principals) -> frozenset[Facet]:
    """Facets any of ``principals``' roles may see on the cases they reach
    (list columns and search fields use this, cases their ACL)."""
    facets = set()
    for role in Role:
        if role_principal(role) in principals:
            facets |= ROLE_FACETS[role]
    return frozenset(facets)


def global_acl() -> list[tuple]:
    """Allow entries for the actions that are not about one case (root ACL)."""
    acl = [(Allow, role_principal(role), sorted(ROLE_ACTIONS[role]))
           for role in Role if ROLE_ACTIONS[role]]
    acl.append((Allow, "supervisor", sorted(SUPERVISOR_ACTIONS)))
    return acl
