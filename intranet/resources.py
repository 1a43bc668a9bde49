"""The traversal tree: ``/`` → areas (cases, calls, survey, letters, audit,
admin, datalink, sessions) → containers of rows → one row.

Shallow on purpose. Every ACL is derived from the permission matrix and ends
in ``DENY_ALL``; resources without an ACL inherit the root's. A case's ACL
follows its scope (intranet.cases.scopes); every object that carries case
data (:class:`CaseBoundResource`) takes its ACL from the cases it carries,
so no view decides visibility by itself.

Every resource names the permission needed to see it (``view_permission``):
a well-formed id with no row behind it is a :class:`MissingRow`, denied
exactly like an existing row out of reach, so ids are no existence oracle.
"""
from __future__ import annotations

import datetime as dt
import functools
import re

from pyramid.authorization import DENY_ALL, Allow, Deny
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from .cases.scopes import case_grants, case_reach, roles_reaching_every_case
from .models import (
    AccessLogEntry, CallCampaign, CallTarget, CampaignDraft, Case, Contract, Handover, HandoverSlip, Incident,
    InspectionChecklist, IssuedDocument, LetterBatch, Medium, PhoneCandidate, SurveyBatch, SurveyTarget,
    TrainingPlan,
    User,
)
from .security import matrix, principals
from .security.matrix import Bound, Condition
from .params import whole_number
from .security.permissions import Permission

CASE_NO = re.compile(r"^\d{4}-\d{6}$")
MONTH = re.compile(r"^\d{4}-\d{2}$")


class Resource:
    __name__: str | None = None
    __parent__: Resource | None = None

    @property
    def request(self):
        return self.__parent__.request


class Area(Resource):
    """A fixed, named resource below its parent, with fixed children."""

    children_classes: tuple = ()

    def __init__(self, parent):
        self.__parent__ = parent
        children = [cls(self) for cls in self.children_classes]
        self.children = {child.__name__: child for child in children}

    def __getitem__(self, name):
        return self.children[name]


def _row_id(name: str) -> int:
    """A row id from a path segment; KeyError (a view name, or nothing) otherwise."""
    if whole_number(name, 12) is None:
        raise KeyError(name)
    return int(name)


class RowResource(Resource):
    """One database row addressed by its id; the row is ``self.<attribute>``."""

    attribute = "row"
    #: The permission needed to see this resource at all.
    view_permission: Permission

    def __init__(self, row, parent):
        setattr(self, self.attribute, row)
        self.__name__ = str(row.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        """How the access log names this resource."""
        return self.__name__


class CaseBoundResource(RowResource):
    """A row that carries case data (a call target, a letter batch, ...).

    Its ACL is computed from the cases it carries and the matrix's
    ``BOUND_GRANTS[bound]``: a role holds a grant where its scope reaches the
    object's cases (some of them for ``in_scope``, all for ``all_in_scope``)
    and the object's own condition holds (:meth:`holds`). Two queries at most,
    once per request."""

    bound: Bound

    def carried_cases(self) -> list[int] | Select:
        """The ids of the cases this object discloses (a list or a SELECT)."""
        raise NotImplementedError

    def holds(self, condition: Condition, principal: str) -> bool:
        """Whether the object's own state meets ``condition`` for ``principal``."""
        return condition in (Condition.in_scope, Condition.all_in_scope)

    def __acl__(self):
        if getattr(self, "_acl", None) is None:
            reach = case_reach(self.request.dbsession, self.carried_cases(), self.request.today)
            acl = []
            # Scoped principals appear only where they reach a case; roles
            # reaching every case always (an object may carry no case yet).
            for (role, principal), count in sorted(reach.reached.items()):
                for grant in matrix.BOUND_GRANTS[self.bound].get(role, ()):
                    if grant.condition == Condition.all_in_scope and count < reach.total:
                        continue
                    if self.holds(grant.condition, principal):
                        acl.append((Allow, principal, sorted(grant.actions)))
            self._acl = acl + [DENY_ALL]
        return self._acl


class MissingRow(Resource):
    """A well-formed id with no row behind it.

    Below a container of case-bound objects only roles that reach every case
    (and so every such object) learn that it does not exist (404); everyone
    else is denied exactly as for an existing object out of their reach
    (403). Below other containers it inherits the container's ACL: whoever
    may see the rows learns that this one is missing, nobody else does."""

    def __init__(self, name: str, parent: RowContainer):
        self.__name__ = name
        self.__parent__ = parent
        self.view_permission = parent.item.view_permission
        bound = getattr(parent.item, "bound", None)
        if bound is not None:
            self.__acl__ = [
                (Allow, matrix.role_principal(role), [self.view_permission])
                for role in roles_reaching_every_case()
                if any(self.view_permission in g.actions
                       for g in matrix.BOUND_GRANTS[bound].get(role, ()))] + [DENY_ALL]

    @property
    def audit_id(self) -> str:
        return self.__name__


class RowContainer(Area):
    """Rows of ``model`` addressed by id, each wrapped in ``item``."""

    model = None
    item: type[RowResource] = RowResource

    def __getitem__(self, name):
        row = self.request.dbsession.get(self.model, _row_id(name))
        return MissingRow(name, self) if row is None else self.item(row, self)


# ---------------------------------------------------------------- cases

@functools.cache
def _case_by_number():
    """The case of a case number, one statement object for the process (its
    cache key is kept, not rebuilt per request; issue 21)."""
    return select(Case).where(Case.case_no == bindparam("case_no"))


class CaseContainer(Area):
    __name__ = "cases"

    def __getitem__(self, case_no: str) -> CaseResource | MissingCaseResource:
        if not CASE_NO.match(case_no):  # malformed: not found, no query
            raise KeyError(case_no)
        dbsession: Session = self.request.dbsession
        case = dbsession.scalar(_case_by_number(), {"case_no": case_no})
        if case is None:
            return MissingCaseResource(case_no, self)
        return CaseResource(case, self)


class CaseResource(Resource):
    """THE case resource for every role; its ACL follows the case's state."""

    view_permission = Permission.CaseView

    def __init__(self, case: Case, parent: CaseContainer):
        self.case = case
        self.__name__ = case.case_no
        self.__parent__ = parent
        self._acl = None
        #: ``(role, principal)`` pairs reaching the case today, once the ACL is computed
        self.scope_grants: list | None = None

    @property
    def audit_id(self) -> str:
        """How the access log names this resource: the case number."""
        return self.case.case_no

    def __acl__(self):
        """The roles' case permissions for the principals reaching the case.

        Only the scopes of the roles this request holds are asked: as in
        :func:`~intranet.cases.scopes.visible_cases_clause` (the case list),
        a scope counts for a request holding its role. The entries left out
        name principals of other roles (``role:operator``, an investigator's
        ``user:<id>``), which this request does not hold, so its decisions
        are the same; a collector, supervisor or auditor (whose roles reach
        every case) then needs no query at all (issue 21)."""
        if self._acl is None:  # computed once per request (one query at most)
            roles = frozenset(principals.roles_in(self.request.principals))
            grants = case_grants(self.request.dbsession, self.case.id, self.request.today, roles)
            self.scope_grants = grants  # the disclosure gate reuses them (no second query)
            self._acl = [(Allow, principal, sorted(matrix.case_permissions(role)))
                         for role, principal in grants]
            self._acl.append(DENY_ALL)
        return self._acl


class MissingCaseResource(Resource):
    """A well-formed case number with no case behind it.

    Only roles that would reach *every* case may learn that it does not
    exist (they get 404). Everyone else is denied exactly as for an existing
    case outside their scope, so case numbers are no existence oracle."""

    view_permission = Permission.CaseView

    def __init__(self, case_no: str, parent: CaseContainer):
        self.__name__ = case_no
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__

    def __acl__(self):
        return [(Allow, matrix.role_principal(role), [Permission.CaseView])
                for role in roles_reaching_every_case()] + [DENY_ALL]

    def __getitem__(self, name):
        raise KeyError(name)


# ---------------------------------------------------------------- audit, admin

class AccessLogEntryResource(Resource):
    view_permission = Permission.AuditLogView

    def __init__(self, entry: AccessLogEntry, parent):
        self.entry = entry
        self.__name__ = str(entry.seq)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return str(self.entry.seq)


class ReviewMonth(Resource):
    """One month's log review, ``/audit/reviews/2026-10``."""

    def __init__(self, month: dt.date, parent):
        self.month = month
        self.__name__ = month.strftime("%Y-%m")
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__


class ReviewContainer(Area):
    """Monthly log reviews (ログの定期分析), one per ``YYYY-MM``."""

    __name__ = "reviews"

    def __getitem__(self, name: str) -> ReviewMonth:
        if not MONTH.match(name):
            raise KeyError(name)
        try:
            month = dt.date(int(name[:4]), int(name[5:]), 1)
        except ValueError:
            raise KeyError(name) from None
        return ReviewMonth(month, self)


class ChecklistResource(RowResource):
    attribute = "checklist"
    view_permission = Permission.ChecklistsView


class ChecklistContainer(RowContainer):
    """確認記録票 (``/audit/checklists/``); one checklist at ``/audit/checklists/<id>/``."""

    __name__ = "checklists"
    model, item = InspectionChecklist, ChecklistResource


class AuditArea(Area):
    """The access log (auditors): ``/audit/`` searches, ``/audit/<seq>`` is one
    entry; ``reviews`` holds the monthly reviews, ``checklists`` the inspection
    checklists."""

    __name__ = "audit"
    children_classes = (ReviewContainer, ChecklistContainer)
    item = AccessLogEntryResource

    def __getitem__(self, name: str):
        if name in self.children:
            return self.children[name]
        if whole_number(name, 18) is None:
            raise KeyError(name)
        entry = self.request.dbsession.get(AccessLogEntry, int(name))
        if entry is None:
            return MissingRow(name, self)
        return AccessLogEntryResource(entry, self)


class UserResource(RowResource):
    """One user (``/admin/users/<id>/``); ``sessions`` lists and ends theirs."""

    attribute = "user"
    view_permission = Permission.UsersView

    def __acl__(self):
        # Grants bound to the account's organisation (matrix.user_acl); the rest is the root's.
        return matrix.user_acl(self.user)


class UserContainer(RowContainer):
    __name__ = "users"
    model, item = User, UserResource


class ContractResource(RowResource):
    attribute = "contract"
    view_permission = Permission.ContractsView


class ContractContainer(RowContainer):
    __name__ = "contracts"
    model, item = Contract, ContractResource


class UserKeys(Resource):
    """One user's security keys, ``/admin/keys/<user id>``."""

    view_permission = Permission.UsersView

    def __init__(self, user: User, parent):
        self.user = user
        self.__name__ = str(user.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__


class KeyContainer(Area):
    """Security keys per user (supervisors register and revoke them)."""

    __name__ = "keys"
    item = UserKeys

    def __getitem__(self, name: str) -> UserKeys | MissingRow:
        user = self.request.dbsession.get(User, _row_id(name))
        return MissingRow(name, self) if user is None else UserKeys(user, self)


class StatusApprovals(Area):
    """Collection statuses waiting for a supervisor's approval
    (``/admin/statuses/``, when the ward requires approval)."""

    __name__ = "statuses"


class AdminArea(Area):
    """Administration (supervisors): users, their security keys, contracts,
    status approvals."""

    __name__ = "admin"
    children_classes = (UserContainer, KeyContainer, ContractContainer, StatusApprovals)


# ---------------------------------------------------------------- training plans (issue 25)

class TrainingPlanResource(RowResource):
    """One contractor organisation's 研修計画 for a fiscal year
    (``/training/<id>/``): its team leaders hold the plan grants, other
    organisations' team leaders are denied them (``matrix.training_plan_acl``)."""

    attribute = "plan"
    view_permission = Permission.TrainingPlansView

    def __acl__(self):
        return matrix.training_plan_acl(self.plan.organisation_id)


class TrainingPlanContainer(RowContainer):
    """``/training/``: the plans (the list, and a new plan). A missing plan
    answers team leaders like another organisation's (403, no existence
    oracle); whoever sees every plan learns it is missing (404)."""

    __name__ = "training"
    model, item = TrainingPlan, TrainingPlanResource

    def __getitem__(self, name):
        found = super().__getitem__(name)
        if isinstance(found, MissingRow):
            found.__acl__ = [(Deny, principals.TEAM_LEADER, [Permission.TrainingPlansView,
                                                             Permission.TrainingPlansManage])]
        return found


# ---------------------------------------------------------------- the call center

class CampaignResource(RowResource):
    attribute = "campaign"
    view_permission = Permission.CampaignsView


class CampaignContainer(RowContainer):
    __name__ = "campaigns"
    model, item = CallCampaign, CampaignResource


class DraftResource(RowResource):
    """One campaign draft (issue 25). Its ACL is the matrix's ``DRAFT_GRANTS``
    for the draft's organisation and nothing else (not the root's): a leader
    of another call-center organisation is denied."""

    attribute = "draft"
    view_permission = Permission.CampaignDraftsView

    def __acl__(self):
        return matrix.draft_acl(self.draft.organisation_id)


class DraftContainer(RowContainer):
    """``/calls/drafts/``: campaign drafts by the call center (issue 25)."""

    __name__ = "drafts"
    model, item = CampaignDraft, DraftResource

    def __acl__(self):
        return matrix.draft_acl()

    def __getitem__(self, name):
        found = super().__getitem__(name)
        if isinstance(found, MissingRow):
            # only who sees every organisation's drafts learns that one does
            # not exist; a leader is denied as for another organisation's
            found.__acl__ = matrix.draft_acl(every_draft_only=True)
        return found


class CallTargetResource(CaseBoundResource):
    """One person to call (their cases only); the call screen. Operators hold their
    actions only while the target's campaign is active today and the cases
    are in their scope (``BOUND_GRANTS``)."""

    attribute = "target"
    bound = Bound.call_target
    view_permission = Permission.CallTargetView

    def carried_cases(self) -> list[int]:
        return [member.case_id for member in self.target.members]

    def holds(self, condition: Condition, principal: str) -> bool:
        if condition == Condition.active_campaign:
            return self.target.campaign.active_on(self.request.today)
        return super().holds(condition, principal)


class TargetContainer(RowContainer):
    __name__ = "targets"
    model, item = CallTarget, CallTargetResource


class HandoverResource(CaseBoundResource):
    attribute = "handover"
    bound = Bound.handover
    view_permission = Permission.HandoversView

    def carried_cases(self) -> list[int]:
        return [self.handover.case_id]


class HandoverContainer(RowContainer):
    __name__ = "handovers"
    model, item = Handover, HandoverResource


class PhoneCandidateResource(CaseBoundResource):
    attribute = "candidate"
    bound = Bound.phone_candidate
    view_permission = Permission.PhoneCandidatesConfirm

    def carried_cases(self) -> list[int]:
        return [self.candidate.case_id]


class PhoneCandidateContainer(RowContainer):
    """電話番号調査: numbers found for no-phone cases (``pending`` lists them for confirmation)."""

    __name__ = "phones"
    model, item = PhoneCandidate, PhoneCandidateResource


class CallReports(Area):
    """日報・月報 (``?kind=daily&date=...`` / ``?kind=monthly&month=...``)."""

    __name__ = "reports"


class CallCenter(Area):
    """The call center: ``/calls/`` (the operator's desk), campaigns, targets,
    hand-overs, phone research, reports. Views ``next`` and ``lookup`` live on it."""

    __name__ = "calls"
    children_classes = (CampaignContainer, TargetContainer, HandoverContainer, CallReports,
                        PhoneCandidateContainer, DraftContainer)


# ---------------------------------------------------------------- documents, data link

class LetterBatchResource(CaseBoundResource):
    attribute = "batch"
    bound = Bound.letter_batch
    view_permission = Permission.LettersView

    def carried_cases(self) -> Select:
        return select(IssuedDocument.case_id).where(IssuedDocument.batch_id == self.batch.id)


class LetterContainer(RowContainer):
    """催告書: letter batches (``/letters/``), one batch at ``/letters/<id>/``."""

    __name__ = "letters"
    model, item = LetterBatch, LetterBatchResource


class DataLinkArea(Area):
    """``/datalink/``: files from and to the delinquency system."""

    __name__ = "datalink"


# ---------------------------------------------------------------- the field survey

class SurveyBatchResource(CaseBoundResource):
    attribute = "batch"
    bound = Bound.survey_batch
    view_permission = Permission.SurveyReview

    def carried_cases(self) -> Select:
        return select(SurveyTarget.case_id).where(SurveyTarget.batch_id == self.batch.id)


class SurveyBatchContainer(RowContainer):
    __name__ = "batches"
    model, item = SurveyBatch, SurveyBatchResource


class SurveyTargetResource(CaseBoundResource):
    """One address to visit. Its investigator holds the survey actions only
    while the contractor scope grants them the case (``own_target``)."""

    attribute = "target"
    bound = Bound.survey_target
    view_permission = Permission.SurveyTargetView

    def carried_cases(self) -> list[int]:
        return [self.target.case_id]

    def holds(self, condition: Condition, principal: str) -> bool:
        if condition == Condition.own_target:
            return (self.target.investigator_id is not None
                    and principal == principals.user(self.target.investigator_id))
        return super().holds(condition, principal)


class SurveyTargetContainer(RowContainer):
    __name__ = "targets"
    model, item = SurveyTarget, SurveyTargetResource


class HandoverSlipResource(RowResource):
    attribute = "slip"
    view_permission = Permission.SlipsView


class HandoverSlipContainer(RowContainer):
    """受け渡し票 (``/survey/slips/``); one slip at ``/survey/slips/<id>/``."""

    __name__ = "slips"
    model, item = HandoverSlip, HandoverSlipResource


class ScreeningArea(Area):
    """``/screening/``: flagged free text (収集禁止事項) and its review (issue 23)."""

    __name__ = "screening"


class MediumResource(RowResource):
    """One medium of the ledger, ``/survey/media/<id>/`` (issue 23)."""

    attribute = "medium"
    view_permission = Permission.MediaView


class MediaLedger(RowContainer):
    """USBメモリ管理台帳 (``/survey/media/``); one medium at ``/survey/media/<id>/``."""

    __name__ = "media"
    model, item = Medium, MediumResource


class SurveyArea(Area):
    """``/survey/``: an investigator's targets; batches, targets, slips and media below."""

    __name__ = "survey"
    children_classes = (SurveyBatchContainer, SurveyTargetContainer, HandoverSlipContainer,
                        MediaLedger)


# ---------------------------------------------------------------- incident reports

class IncidentResource(RowResource):
    """One incident report (事故報告, issue 25), ``/incidents/<id>/``: its
    organisation's leaders read it, the root's grants do the rest
    (:func:`matrix.incident_acl`)."""

    attribute = "incident"
    view_permission = Permission.IncidentsView

    def __acl__(self):
        return matrix.incident_acl(self.incident)


class IncidentContainer(RowContainer):
    """``/incidents/``: the list (a leader's own organisation's, or all), the
    filing form (``new``); one report at ``/incidents/<id>/``."""

    __name__ = "incidents"
    model, item = Incident, IncidentResource

    def __getitem__(self, name):
        found = super().__getitem__(name)
        if isinstance(found, MissingRow):
            # A leader learns nothing about other organisations' report ids:
            # a missing one is denied like one of theirs.
            found.__acl__ = [(Deny, principals.TEAM_LEADER, [Permission.IncidentsView])]
        return found


# ---------------------------------------------------------------- own account

class OwnSessions(Area):
    """``/sessions/``: the logged-in user's own sessions (ログイン中の端末).
    Sessions are named by id in the form, and every query is limited to the
    user's own rows, so no id reaches someone else's session."""

    __name__ = "sessions"


# ---------------------------------------------------------------- the root

class Root(Resource):
    """The site root; holds the non-case actions of every role."""

    __name__ = ""
    __parent__ = None
    children_classes = (CaseContainer, AdminArea, AuditArea, CallCenter, LetterContainer,
                        SurveyArea, DataLinkArea, OwnSessions, ScreeningArea, IncidentContainer,
                        TrainingPlanContainer)

    def __init__(self, request):
        self._request = request
        children = [cls(self) for cls in self.children_classes]
        self.children = {child.__name__: child for child in children}

    @property
    def request(self):
        return self._request

    def __acl__(self):
        return _root_acl()

    def __getitem__(self, name):
        return self.children[name]


@functools.cache
def _root_acl() -> tuple:
    """The root's ACL, built once: the matrix is frozen, and the navigation
    alone asks the root's ACL some 30 times a request (issue 21)."""
    return (*matrix.global_acl(), DENY_ALL)


def root_factory(request):
    return Root(request)
