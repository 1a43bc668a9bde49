"""The traversal tree: ``/`` → ``cases`` → ``<case_no>``.

Shallow on purpose (root → container → item). Every ACL is derived from the
permission matrix and ends in ``DENY_ALL``.
"""
from __future__ import annotations

import re

from pyramid.authorization import DENY_ALL, Allow
from sqlalchemy import select
from sqlalchemy.orm import Session

from .cases.scopes import case_grants, roles_reaching_every_case
from .models import (
    AccessLogEntry, CallCampaign, CallTarget, CampaignStatus, Case, Contract, Handover,
    HandoverSlip, LetterBatch, PhoneCandidate, Role, SurveyBatch, SurveyTarget,
)
from .security import matrix
from .security.permissions import Permission

CASE_NO = re.compile(r"^\d{4}-\d{6}$")


class Resource:
    __name__: str | None = None
    __parent__: Resource | None = None

    @property
    def request(self):
        return self.__parent__.request


class Root(Resource):
    """The site root; holds the non-case actions of every role."""

    __name__ = ""
    __parent__ = None

    def __init__(self, request):
        self._request = request
        self.children = {"cases": CaseContainer(self), "admin": AdminArea(self),
                         "audit": AuditArea(self), "calls": CallCenter(self),
                         "letters": LetterContainer(self), "survey": SurveyArea(self),
                         "datalink": DataLinkArea(self)}

    @property
    def request(self):
        return self._request

    def __acl__(self):
        return [*matrix.global_acl(), DENY_ALL]

    def __getitem__(self, name):
        return self.children[name]


class CaseContainer(Resource):
    __name__ = "cases"

    def __init__(self, parent):
        self.__parent__ = parent

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


class AdminArea(Resource):
    """Administration (supervisors): users now; contracts and more later."""

    __name__ = "admin"

    def __init__(self, parent):
        self.__parent__ = parent
        self.children = {"users": UserContainer(self), "contracts": ContractContainer(self)}

    def __getitem__(self, name):
        return self.children[name]


class UserContainer(Resource):
    __name__ = "users"

    def __init__(self, parent):
        self.__parent__ = parent


class AuditArea(Resource):
    """The access log (auditors): ``/audit/`` searches, ``/audit/<seq>`` is one entry."""

    __name__ = "audit"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name: str) -> AccessLogEntryResource:
        if not name.isdigit() or len(name) > 18:
            raise KeyError(name)
        entry = self.request.dbsession.get(AccessLogEntry, int(name))
        if entry is None:
            raise KeyError(name)
        return AccessLogEntryResource(entry, self)


class AccessLogEntryResource(Resource):
    def __init__(self, entry: AccessLogEntry, parent: AuditArea):
        self.entry = entry
        self.__name__ = str(entry.seq)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return str(self.entry.seq)


class CallCenter(Resource):
    """The call center: ``/calls/`` (the operator's desk), campaigns, targets,
    hand-overs. Views named ``next`` and ``lookup`` live on it."""

    __name__ = "calls"

    def __init__(self, parent):
        self.__parent__ = parent
        self.children = {"campaigns": CampaignContainer(self), "targets": TargetContainer(self),
                         "handovers": HandoverContainer(self), "reports": CallReports(self),
                         "phones": PhoneCandidateContainer(self)}

    def __getitem__(self, name):
        return self.children[name]


def _by_id(request, model, name: str):
    if not name.isdigit() or len(name) > 12:
        raise KeyError(name)
    obj = request.dbsession.get(model, int(name))
    if obj is None:
        raise KeyError(name)
    return obj


class CampaignContainer(Resource):
    __name__ = "campaigns"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name):
        return CampaignResource(_by_id(self.request, CallCampaign, name), self)


class CampaignResource(Resource):
    def __init__(self, campaign: CallCampaign, parent):
        self.campaign = campaign
        self.__name__ = str(campaign.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__


class TargetContainer(Resource):
    __name__ = "targets"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name):
        return CallTargetResource(_by_id(self.request, CallTarget, name), self)


class CallTargetResource(Resource):
    """One person or household to call; the call screen. Its ACL follows the
    campaign: operators hold their actions only while it is active today."""

    def __init__(self, target: CallTarget, parent):
        self.target = target
        self.__name__ = str(target.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__

    def __acl__(self):
        campaign = self.target.campaign
        today = self.request.today
        active = (campaign.status == CampaignStatus.active
                  and campaign.starts_on <= today <= campaign.ends_on)
        acl = [(Allow, matrix.role_principal(role), sorted(actions))
               for role, actions in matrix.ROLE_TARGET_ACTIONS.items()
               if actions and (active or role not in matrix.TARGET_ROLES_NEEDING_ACTIVE_CAMPAIGN)]
        return acl + [DENY_ALL]


class CallReports(Resource):
    """日報・月報 (``?kind=daily&date=...`` / ``?kind=monthly&month=...``)."""

    __name__ = "reports"

    def __init__(self, parent):
        self.__parent__ = parent


class PhoneCandidateContainer(Resource):
    """電話番号調査: numbers found for no-phone cases (``pending`` lists them for confirmation)."""

    __name__ = "phones"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name):
        return PhoneCandidateResource(_by_id(self.request, PhoneCandidate, name), self)


class PhoneCandidateResource(Resource):
    def __init__(self, candidate: PhoneCandidate, parent):
        self.candidate = candidate
        self.__name__ = str(candidate.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__


class HandoverContainer(Resource):
    __name__ = "handovers"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name):
        return HandoverResource(_by_id(self.request, Handover, name), self)


class HandoverResource(Resource):
    def __init__(self, handover: Handover, parent):
        self.handover = handover
        self.__name__ = str(handover.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__


class LetterContainer(Resource):
    """催告書: letter batches (``/letters/``), one batch at ``/letters/<id>/``."""

    __name__ = "letters"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name):
        return LetterBatchResource(_by_id(self.request, LetterBatch, name), self)


class LetterBatchResource(Resource):
    def __init__(self, batch: LetterBatch, parent):
        self.batch = batch
        self.__name__ = str(batch.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__


class ContractContainer(Resource):
    __name__ = "contracts"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name):
        return ContractResource(_by_id(self.request, Contract, name), self)


class ContractResource(Resource):
    def __init__(self, contract: Contract, parent):
        self.contract = contract
        self.__name__ = str(contract.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__


class SurveyArea(Resource):
    """``/survey/``: an investigator's targets; ``batches`` and ``targets`` below."""

    __name__ = "survey"

    def __init__(self, parent):
        self.__parent__ = parent
        self.children = {"batches": SurveyBatchContainer(self),
                         "targets": SurveyTargetContainer(self),
                         "slips": HandoverSlipContainer(self), "media": MediaLedger(self)}

    def __getitem__(self, name):
        return self.children[name]


class SurveyBatchContainer(Resource):
    __name__ = "batches"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name):
        return SurveyBatchResource(_by_id(self.request, SurveyBatch, name), self)


class SurveyBatchResource(Resource):
    def __init__(self, batch: SurveyBatch, parent):
        self.batch = batch
        self.__name__ = str(batch.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__


class SurveyTargetContainer(Resource):
    __name__ = "targets"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name):
        return SurveyTargetResource(_by_id(self.request, SurveyTarget, name), self)


class SurveyTargetResource(Resource):
    """One address to visit. Its investigator holds the survey actions only
    while the contractor scope grants them the case (the same definition
    that builds the case ACL, see intranet.cases.scopes)."""

    def __init__(self, target: SurveyTarget, parent):
        self.target = target
        self.__name__ = str(target.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__

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


class HandoverSlipContainer(Resource):
    """受け渡し票 (``/survey/slips/``); one slip at ``/survey/slips/<id>/``."""

    __name__ = "slips"

    def __init__(self, parent):
        self.__parent__ = parent

    def __getitem__(self, name):
        return HandoverSlipResource(_by_id(self.request, HandoverSlip, name), self)


class HandoverSlipResource(Resource):
    def __init__(self, slip: HandoverSlip, parent):
        self.slip = slip
        self.__name__ = str(slip.id)
        self.__parent__ = parent

    @property
    def audit_id(self) -> str:
        return self.__name__


class MediaLedger(Resource):
    """USBメモリ管理台帳 (``/survey/media/``)."""

    __name__ = "media"

    def __init__(self, parent):
        self.__parent__ = parent


class DataLinkArea(Resource):
    """``/datalink/``: files from and to the delinquency system."""

    __name__ = "datalink"

    def __init__(self, parent):
        self.__parent__ = parent


def root_factory(request):
    return Root(request)
