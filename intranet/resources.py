"""The traversal tree: ``/`` → areas (cases, calls, survey, letters, audit,
admin, datalink, sessions) → containers of rows → one row.

Shallow on purpose. Every ACL is derived from the permission matrix (and, for
cases and targets, from the scopes of intranet.cases.scopes) and ends in
``DENY_ALL``; resources without an ACL inherit the root's.
"""
from __future__ import annotations

import datetime as dt
import re

from pyramid.authorization import DENY_ALL, Allow
from sqlalchemy import select
from sqlalchemy.orm import Session

from .cases.scopes import case_grants, roles_reaching_every_case
from .models import (
    AccessLogEntry, CallCampaign, CallTarget, CampaignStatus, Case, Contract, Handover,
    HandoverSlip, InspectionChecklist, LetterBatch, PhoneCandidate, Role, SurveyBatch, SurveyTarget,
    User,
)
from .params import whole_number
from .security import matrix
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


def _by_id(request, model, name: str):
    if whole_number(name, 12) is None:
        raise KeyError(name)
    obj = request.dbsession.get(model, int(name))
    if obj is None:
        raise KeyError(name)
    return obj


class RowResource(Resource):
    """One database row addressed by its id; the row is ``self.<attribute>``."""

    attribute = "row"

    def __init__(self, row, parent):
        setattr(self, self.attribute, row)
        self.__name__ = str(row.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        """How the access log names this resource."""
        return self.__name__


class RowContainer(Area):
    """Rows of ``model`` addressed by id, each wrapped in ``item``."""

    model = None
    item: type[RowResource] = RowResource

    def __getitem__(self, name):
        return self.item(_by_id(self.request, self.model, name), self)


# ---------------------------------------------------------------- cases

class CaseContainer(Area):
    __name__ = "cases"

    def __getitem__(self, case_no: str) -> CaseResource | MissingCaseResource:
        if not CASE_NO.match(case_no):  # malformed: not found, no query
            raise KeyError(case_no)
        dbsession: Session = self.request.dbsession
        case = dbsession.scalar(select(Case).where(Case.case_no == case_no))
        if case is None:
            return MissingCaseResource(case_no, self)
        return CaseResource(case, self)


class CaseResource(Resource):
    """THE case resource for every role; its ACL follows the case's state."""

    def __init__(self, case: Case, parent: CaseContainer):
        self.case = case
        self.__name__ = case.case_no
        self.__parent__ = parent
        self._acl = None

    @property
    def audit_id(self) -> str:
        """How the access log names this resource: the case number."""
        return self.case.case_no

    def __acl__(self):
        if self._acl is None:  # computed once per request (one query at most)
            grants = case_grants(self.request.dbsession, self.case.id, self.request.today)
            self._acl = [(Allow, principal, sorted(matrix.case_permissions(role)))
                         for role, principal in grants]
            self._acl.append(DENY_ALL)
        return self._acl


class MissingCaseResource(Resource):
    """A well-formed case number with no case behind it.

    Only roles that would reach *every* case may learn that it does not
    exist (they get 404). Everyone else is denied exactly as for an existing
    case outside their scope, so case numbers are no existence oracle."""

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

    def __getitem__(self, name: str):
        if name in self.children:
            return self.children[name]
        if whole_number(name, 18) is None:
            raise KeyError(name)
        entry = self.request.dbsession.get(AccessLogEntry, int(name))
        if entry is None:
            raise KeyError(name)
        return AccessLogEntryResource(entry, self)


class UserResource(RowResource):
    """One user (``/admin/users/<id>/``); ``sessions`` lists and ends theirs."""

    attribute = "user"


class UserContainer(RowContainer):
    __name__ = "users"
    model, item = User, UserResource


class ContractResource(RowResource):
    attribute = "contract"


class ContractContainer(RowContainer):
    __name__ = "contracts"
    model, item = Contract, ContractResource


class UserKeys(Resource):
    """One user's security keys, ``/admin/keys/<user id>``."""

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

    def __getitem__(self, name: str) -> UserKeys:
        return UserKeys(_by_id(self.request, User, name), self)


class AdminArea(Area):
    """Administration (supervisors): users, their security keys, contracts."""

    __name__ = "admin"
    children_classes = (UserContainer, KeyContainer, ContractContainer)


# ---------------------------------------------------------------- the call center

class CampaignResource(RowResource):
    attribute = "campaign"


class CampaignContainer(RowContainer):
    __name__ = "campaigns"
    model, item = CallCampaign, CampaignResource


class CallTargetResource(RowResource):
    """One person or household to call; the call screen. Its ACL follows the
    campaign: operators hold their actions only while it is active today."""

    attribute = "target"

    def __acl__(self):
        campaign = self.target.campaign
        today = self.request.today
        active = (campaign.status == CampaignStatus.active
                  and campaign.starts_on <= today <= campaign.ends_on)
        acl = [(Allow, matrix.role_principal(role), sorted(actions))
               for role, actions in matrix.ROLE_TARGET_ACTIONS.items()
               if actions and (active or role not in matrix.TARGET_ROLES_NEEDING_ACTIVE_CAMPAIGN)]
        return acl + [DENY_ALL]


class TargetContainer(RowContainer):
    __name__ = "targets"
    model, item = CallTarget, CallTargetResource


class HandoverResource(RowResource):
    attribute = "handover"


class HandoverContainer(RowContainer):
    __name__ = "handovers"
    model, item = Handover, HandoverResource


class PhoneCandidateResource(RowResource):
    attribute = "candidate"


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
                        PhoneCandidateContainer)


# ---------------------------------------------------------------- documents, data link

class LetterBatchResource(RowResource):
    attribute = "batch"


class LetterContainer(RowContainer):
    """催告書: letter batches (``/letters/``), one batch at ``/letters/<id>/``."""

    __name__ = "letters"
    model, item = LetterBatch, LetterBatchResource


class DataLinkArea(Area):
    """``/datalink/``: files from and to the delinquency system."""

    __name__ = "datalink"


# ---------------------------------------------------------------- the field survey

class SurveyBatchResource(RowResource):
    attribute = "batch"


class SurveyBatchContainer(RowContainer):
    __name__ = "batches"
    model, item = SurveyBatch, SurveyBatchResource


class SurveyTargetResource(RowResource):
    """One address to visit. Its investigator holds the survey actions only
    while the contractor scope grants them the case (the same definition
    that builds the case ACL, see intranet.cases.scopes)."""

    attribute = "target"

    def __acl__(self):
        grants = case_grants(self.request.dbsession, self.target.case_id, self.request.today)
        investigator = f"user:{self.target.investigator_id}"
        acl = []
        for role, actions in matrix.ROLE_SURVEY_ACTIONS.items():
            if not actions:
                continue
            if role == Role.contractor:
                if (role, investigator) in grants:
                    acl.append((Allow, investigator, sorted(actions)))
            else:
                acl.append((Allow, matrix.role_principal(role), sorted(actions)))
        return acl + [DENY_ALL]


class SurveyTargetContainer(RowContainer):
    __name__ = "targets"
    model, item = SurveyTarget, SurveyTargetResource


class HandoverSlipResource(RowResource):
    attribute = "slip"


class HandoverSlipContainer(RowContainer):
    """受け渡し票 (``/survey/slips/``); one slip at ``/survey/slips/<id>/``."""

    __name__ = "slips"
    model, item = HandoverSlip, HandoverSlipResource


class MediaLedger(Area):
    """USBメモリ管理台帳 (``/survey/media/``)."""

    __name__ = "media"


class SurveyArea(Area):
    """``/survey/``: an investigator's targets; batches, targets, slips and media below."""

    __name__ = "survey"
    children_classes = (SurveyBatchContainer, SurveyTargetContainer, HandoverSlipContainer,
                        MediaLedger)


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
                        SurveyArea, DataLinkArea, OwnSessions)

    def __init__(self, request):
        self._request = request
        children = [cls(self) for cls in self.children_classes]
        self.children = {child.__name__: child for child in children}

    @property
    def request(self):
        return self._request

    def __acl__(self):
        return [*matrix.global_acl(), DENY_ALL]

    def __getitem__(self, name):
        return self.children[name]


def root_factory(request):
    return Root(request)
