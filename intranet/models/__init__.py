"""All mapped classes; importing this package configures the mappers."""
from .meta import Base  # noqa: F401
from .users import (  # noqa: F401
    LoginSession, Organisation, OrganisationKind, RecoveryCode, Role, SecurityKey, TrainingRecord,
    User,
)
from .taxpayers import (  # noqa: F401
    Corporation, ForeignResidentRecord, MailingAddress, Phone, PhoneKind,
    Representative, RepresentativeKind, Residency, Taxpayer, TaxpayerKind,
)
from .cases import (  # noqa: F401
    Assessment, CallBlock, Case, CaseStatus, ContactKind, ContactRecord, DirectDebitAccount, Installment,
    PaymentAgreement, PlanPayment, PlanState, Receipt, ReceiptKind, TaxType,
)
from .audit import (  # noqa: F401
    AccessLogArchive, AccessLogCase, AccessLogCheckpoint, AccessLogEntry, AccessLogHead,
    AccessLogLeaf, AccessLogTreeHead, AccessLogTreeNode,
)
from .calls import (  # noqa: F401
    REACHED, ActionKind, CallAction, CallAttempt, CallCampaign, CallRecord, CallTarget,
    CampaignCase, CampaignStatus, ContactResult, Disposition,
    HANDOVER_ACTIONS, IncomingReason, legacy_split, summary, Handover, HandoverStatus,
    PhoneCandidate, PhoneCandidateStatus, Promise, PromiseStatus, QueueClass, TargetStatus,
)
from .documents import BatchStatus, DocumentKind, IssuedDocument, LetterBatch  # noqa: F401
from .cases import STAFF_CONTACT_KINDS, Counterpart  # noqa: F401  (issue 20)
from .documents import ReturnReason  # noqa: F401  (issue 20)
from .contracts import (  # noqa: F401  (issue 25)
    Contract, ContractKind, ErasureRecord, TrainingCourse, TrainingPlan,
)
from .survey import (  # noqa: F401
    BatchState, HandoverSlip, Medium, MediumEvent, SurveyBatch, SurveyPhoto, SurveyReport, SurveyTarget, SurveyTargetState,
)
from .debits import (  # noqa: F401  (issue 20)
    AWAITING_FORM, OPEN_STATES, ApplicationState, DirectDebitApplication, DirectDebitStep, FormSentVia,
)
from .datalink import DataExport, DataImport  # noqa: F401
from .reviews import LogReview  # noqa: F401
from .statuses import StatusKind, StatusPeriod  # noqa: F401
from .checklists import CheckResult, InspectionChecklist, InspectionChecklistItem  # noqa: F401
from .survey import MediumEventKind, MediumState  # noqa: F401  (issue 23)

from .screening import FlagState, ScreenedRecord, ScreeningFlag  # noqa: F401  (issue 23)
from .jobs import Job, JobState, JobWorker  # noqa: F401  (issues 21, 24)
from .incidents import Incident, IncidentCase, IncidentKind, IncidentMedium, IncidentState  # noqa: F401  (issue 25)
from .campaign_drafts import CampaignDraft, DraftState  # noqa: F401  (issue 25)
