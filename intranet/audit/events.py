"""Every event name the access log records (``access_log.event``).

Emitters pass a member to ``request.audit.event(...)`` and readers compare
``AccessLogEntry.event`` with a member, never a bare string. The values are the
names already stored in the log and must never change: old entries are read
with the same members (and the column holds at most 32 characters). The log
viewer shows each one as the message ``audit.event.<value>``.
"""
import enum


class AuditEvent(enum.StrEnum):
    # Login and second factor
    LoginSuccess = "login.success"         # a full login (password, or after the second step)
    LoginPassword = "login.password"       # the password passed, the second factor comes next
    LoginFailure = "login.failure"         # a refused login attempt, with the reason
    LoginThrottled = "login.throttled"     # refused unseen: too many failures from the address
    AccountLocked = "account.locked"       # too many failures: the account is locked for a while
    Logout = "logout"                      # the user logged out
    ZoneDenied = "zone.denied"             # a logged-in user outside its role's network zone
    MfaEnrolled = "mfa.enrolled"           # the user enrolled a TOTP second factor
    MfaDisabled = "mfa.disabled"           # the user removed its TOTP second factor
    MfaRecoveryCodes = "mfa.recovery_codes"  # the user replaced its recovery codes
    SecurityKeyRegistered = "security_key.registered"  # a supervisor registered a user's key
    SecurityKeyRevoked = "security_key.revoked"        # a supervisor revoked a user's key

    # User administration (supervisors; before/after values, never a password)
    UserCreated = "user.created"           # an account was created with a temporary password
    UserChanged = "user.changed"           # name, role, organisation, flags or validity changed
    UserDisabled = "user.disabled"         # an account was disabled (every session ended)
    UserEnabled = "user.enabled"           # an account was enabled again
    UserUnlocked = "user.unlocked"         # a lockout after failed logins was lifted
    UserPasswordReset = "user.password_reset"  # a temporary password was set (sessions ended)
    UserRefused = "user.refused"           # a change was refused (the reasons' message keys)

    # Sessions
    SessionEnded = "session.ended"         # a timeout, the validity window, or replaced (per-role limit)
    SessionRevoked = "session.revoked"     # sessions ended on purpose (own, supervisor, contract)

    # Cases, calls and documents
    PasswordChanged = "password.changed"   # a user changed their own password (other sessions ended)
    PasswordChangeRefused = "password.refused"  # ... with a wrong current password
    CaseCallBlock = "case.call_block"      # a case's do-not-call flag changed (before, after)
    CaseStatus = "case.status"             # a collection status was recorded or ended
    PlanCreated = "plan.created"           # an installment plan (分納・納付誓約) was created
    PlanEnded = "plan.ended"               # a collector ended a plan
    PlanRefused = "plan.refused"           # a plan was refused (the message key)
    PlanDefaulted = "plan.defaulted"       # the receipts made a plan 不履行 (import or daily run)
    PlanStateChanged = "plan.state"        # any other state change (履行中, 完了)
    DebitEncouraged = "debit.encouraged"   # staff recorded a 口座振替 encouragement (application id)
    DebitStep = "debit.step"               # a step of a direct-debit application (form sent, returned, ...)
    DebitRefused = "debit.refused"         # a step was refused (the message key)
    DebitRegistered = "debit.registered"   # the data link registered an application (登録済)
    CaseContact = "case.contact"           # a collector added a 経過記録 (record id, kind)
    MailReturn = "document.returned"       # 郵便返戻 recorded on a letter or slip
    CallRecorded = "call.recorded"         # an operator recorded a call's result
    IncomingRecorded = "call.incoming"     # an operator recorded an incoming call (受電)
    CampaignCreated = "campaign.created"   # a call campaign was built (target counts)
    CampaignActivated = "campaign.activated"  # a draft campaign started
    CampaignClosed = "campaign.closed"     # a campaign ended
    # campaign drafts by the call center (issue 25): ids, state and counts only, no free text
    DraftCreated = "campaign_draft.created"      # a leader drafted a campaign (counts)
    DraftChanged = "campaign_draft.changed"      # ... changed it (counts)
    DraftSubmitted = "campaign_draft.submitted"  # ... submitted it for review (counts)
    DraftApproved = "campaign_draft.approved"    # a supervisor approved it: campaign and job ids
    DraftReturned = "campaign_draft.returned"    # ... returned it for changes (with a comment)
    DraftRejected = "campaign_draft.rejected"    # ... rejected it (with a comment)
    DraftRefused = "campaign_draft.refused"      # a step its state does not allow (action, state)
    # background jobs (issue 21): ids, kind and counts or an error key only
    JobQueued = "job.queued"               # a view queued a job (e.g. a campaign build)
    JobDone = "job.done"                   # the worker finished it (result counts)
    JobFailed = "job.failed"               # it failed or was abandoned (error key)
    PhoneCandidate = "phone.candidate"     # a found phone number was confirmed or rejected
    DocumentSlip = "document.slip"         # a payment slip (納付書) was issued as PDF
    DocumentLetters = "document.letters"   # a batch of dunning letters (催告書) was printed
    DocumentSealed = "document.sealed"     # an enclosure count was checked (failure: mismatch)

    # Field survey and contracts
    SurveyBatchCreated = "survey.batch.created"    # a survey batch was created
    SurveyBatchAssigned = "survey.batch.assigned"  # targets were assigned to an investigator
    SurveyBatchOpened = "survey.batch.opened"      # a fully assigned batch was opened for work
    SurveyBatchChanged = "survey.batch.changed"    # a target added to or removed from a draft batch
    SurveyReport = "survey.report"         # an investigator filed a report on a target
    SurveyExport = "survey.export"         # a batch's results were downloaded
    ScreeningHit = "screening.hit"         # free text named a forbidden category: refused, nothing stored
    ScreeningConfirmed = "screening.confirmed"  # the writer confirmed such text: stored and flagged
    ScreeningKept = "screening.kept"       # a collector reviewed a flag: 確認済（記録を残す）
    ScreeningRedacted = "screening.redacted"  # a collector had a flagged text's terms redacted
    SurveySlip = "survey.slip"             # a hand-over slip (受け渡し票) was recorded
    SurveySlipConfirmed = "survey.slip.confirmed"  # the receiving side confirmed a slip
    SurveyMedium = "survey.medium"         # a media ledger entry (lent, returned, wiped)
    ContractCreated = "contract.created"   # a contract was registered
    ContractUser = "contract.user"         # a user was linked to a contract (training, active or not)
    ContractPeriod = "contract.period"     # a contract's period changed
    ContractErased = "contract.erased"     # the data erasure at a contract's end was recorded
    TrainingRecorded = "training.recorded"  # a training record was added (course, dates, trainer)
    # Incident reports (issue 25): ids, kind, state, counts and message keys only
    IncidentFiled = "incident.filed"               # a contractor's 責任者 filed an incident report
    IncidentAcknowledged = "incident.acknowledged"  # a ward supervisor acknowledged it with instructions
    IncidentClosed = "incident.closed"             # ... and closed it
    IncidentRefused = "incident.refused"           # a filing or step was refused (the step, message keys)
    TrainingPlanCreated = "training.plan.created"    # a 研修計画 was drawn up (ids, fiscal year)
    TrainingCourseAdded = "training.course.added"    # a course was added to a plan (ids, date)
    TrainingCompleted = "training.completed"         # a user's completion of a course (ids, date)

    # Data link with the delinquency system
    DatalinkImport = "datalink.import"     # an import ran (dry run or not; failure: problems)
    DatalinkExport = "datalink.export"     # results were exported back

    # Audit
    LogReviewSigned = "log.review.signed"  # a month's log review was signed off
    ChecklistCreated = "checklist.created"      # an inspection checklist (確認記録票) was created
    ChecklistSaved = "checklist.saved"          # its answers were saved
    ChecklistCompleted = "checklist.completed"  # it was completed
    AuditArchived = "audit.archived"       # `intranet audit archive` moved old entries out
    AuditExported = "audit.exported"       # `intranet audit export` wrote an inspection package
    CheckpointFailed = "audit.checkpoint.failed"  # a witness (file, logger, row) could not be written
    AuditHeadRollback = "audit.head.rollback"  # the stored head had gone back (remembered, found seq)
    AuditHeadAccepted = "audit.head.accepted"  # `intranet audit accept-head`: an operator accepted the head
