"""Every permission the application checks, named ``<scope>:<resource>:<action>``.

Views and ACEs use these members, never bare strings. Who holds which one is
decided only in :mod:`intranet.security.matrix`.
"""
import enum


class Permission(enum.StrEnum):
    # Case facets: may the holder see this group of 資料1 items on a case?
    CaseIdentityView = "case:identity:view"
    CaseVerificationView = "case:verification:view"
    CaseContactView = "case:contact:view"
    CaseResidentRecordView = "case:resident_record:view"
    CaseForeignResidentView = "case:foreign_resident:view"
    CaseEmploymentView = "case:employment:view"
    CaseAssessmentView = "case:assessment:view"
    CasePaymentView = "case:payment:view"
    CaseBankFlagView = "case:bank_flag:view"
    CaseBankAccountView = "case:bank_account:view"
    CaseCorporationView = "case:corporation:view"
    CaseRepresentativeView = "case:representative:view"
    CaseNegotiationView = "case:negotiation:view"
    CaseCallLogView = "case:call_log:view"
    CaseStaffView = "case:staff:view"
    CaseSurveyView = "case:survey:view"

    # Case actions
    CaseView = "case:page:view"          # open a case page at all

    # Global actions (checked on the root and containers)
    OwnSecondFactor = "account:second_factor:manage"  # enrol one's own TOTP, recovery codes
    OwnPassword = "account:password:change"  # change one's own password
    HomeView = "home:page:view"          # the start page after login
    OwnSessions = "account:sessions:manage"  # list and end one's own login sessions
    CasesSearch = "cases:list:search"    # case list and search
    LimitationView = "cases:limitation:view"  # installments whose 時効 is near (list, CSV)
    PlansView = "cases:plans:view"       # the installment plans work list (分納・納付誓約)
    DebitsView = "cases:debits:view"     # the direct-debit applications follow-up list (口座振替)
    UsersView = "admin:users:view"       # the user list with roles and validity
    UsersManage = "admin:users:manage"   # supervisors administer users
    SecurityKeysManage = "admin:keys:manage"  # register (in person) and revoke users' security keys
    UsersSessionsManage = "admin:sessions:manage"  # any user's sessions: list, end (remote wipe)
    ContractsView = "admin:contracts:view"      # contracts, their users, erasure records (read)
    ContractsManage = "admin:contracts:manage"  # contracts, their users, remote wipe
    TrainingView = "admin:training:view"      # a user's training records (研修・従事者教育)
    TrainingRecord = "admin:training:record"  # add a training record
    # Training plans of the contractors (研修計画, issue 25)
    TrainingPlansView = "training:plans:view"      # plans, courses and completions
    TrainingPlansAll = "training:plans:all"        # ... of every organisation (else one's own)
    TrainingPlansManage = "training:plans:manage"  # draw up plans and courses, record completions
    # Field survey
    SurveyWork = "survey:mine:view"            # an investigator's own targets
    SurveyManage = "survey:batches:manage"     # create, assign and open batches
    SurveyReview = "survey:batches:view"       # batches and results (read)
    SurveyTargetView = "survey:target:view"
    SurveyReport = "survey:target:report"      # file a survey report
    SlipsView = "survey:slips:view"            # the 受け渡し票 list (own contract, or all)
    SlipsUse = "survey:slips:use"              # record and confirm 受け渡し票 (own contract)
    SlipsViewAll = "survey:slips:all"          # every contract's slips
    MediaView = "survey:media:view"            # the media ledger (read)
    MediaManage = "survey:media:manage"        # record media and their lending, return, wipe
    ScreeningView = "screening:flags:view"      # flagged free text (収集禁止事項) and its review (read)
    ScreeningReview = "screening:flags:review"  # keep (確認済) or redact a flagged text (issue 23)
    DataImport = "datalink:import:run"         # import files from the delinquency system
    DataExport = "datalink:export:run"         # hand results back to it
    AuditLogView = "audit:log:view"      # search and read the access log
    MatrixView = "audit:matrix:view"     # the permission matrix page
    ActivityView = "audit:activity:view"  # an organisation's activity and the monthly reviews
    LogReviewSign = "audit:reviews:sign"  # sign off a month's log review (ログの定期分析)
    InspectionExport = "audit:exports:run"  # the on-site inspection package (ZIP)
    ChecklistsView = "audit:checklists:view"      # inspection checklists (確認記録票)
    ChecklistsRecord = "audit:checklists:record"  # start, save and complete them
    CaseCallBlockEdit = "case:call_block:edit"  # flag a case "do not call"
    CaseStatusEdit = "case:status:edit"         # record or end a collection status (徴収猶予, 破産, ...)
    CasePlanEdit = "case:plan:edit"             # create or end an installment plan (分納・納付誓約)
    CaseDebitEdit = "case:debit:edit"           # record a 口座振替 encouragement and its application's steps
    CaseStatusApprove = "cases:status:approve"  # approve recorded statuses (supervisors; a ward setting)
    LateChargeCalculate = "tools:late_charge:use"  # the late-charge calculator
    CaseSlipIssue = "case:slip:issue"           # reissue a payment slip (納付書再発行)
    CaseIncomingRecord = "case:incoming:record"  # record an incoming call (受電) on a case
    CaseContactRecord = "case:contact_record:add"  # add a 経過記録 (visit, counter, phone, ...)
    CaseMailReturn = "case:mail_return:record"     # record a 郵便返戻 on a letter or slip
    LettersView = "letters:batch:view"
    LettersIssue = "letters:batch:issue"        # print a batch of dunning letters (催告書)
    LettersSeal = "letters:batch:seal"          # confirm enclosure (封入封緘)

    # Call center
    CallQueueWork = "calls:queue:work"          # take the next call from the shared queue
    CallLookup = "calls:lookup:search"          # find an incoming caller
    CallIncomingRecord = "calls:incoming:record"  # record an incoming call without a case
    CampaignsView = "calls:campaigns:view"
    CampaignsManage = "calls:campaigns:manage"  # create, activate and close campaigns
    # Campaign drafts (issue 25): the call center plans, a ward supervisor decides
    CampaignDraftsView = "calls:drafts:view"      # drafts and the counts they would produce
    CampaignDraftsWrite = "calls:drafts:write"    # create, change and submit a draft (責任者)
    CampaignDraftsReview = "calls:drafts:review"  # the cases a draft would reach; approve, return, reject
    HandoversView = "calls:handovers:view"
    HandoversResolve = "calls:handovers:resolve"  # record what staff did
    PhoneCandidatesRegister = "calls:phones:register"  # report a number found for a no-phone case
    PhoneCandidatesConfirm = "calls:phones:confirm"
    CallReportsView = "calls:reports:view"      # own figures and the center's totals
    CallReportsAll = "calls:reports:all"        # every operator's figures
    CallReportsTeam = "calls:reports:team"      # every operator's figures of one's own organisation (責任者)
    # On one call target (its ACL follows the campaign's state)
    CallTargetView = "calls:target:view"
    CallTargetRecord = "calls:target:record"    # record a result, hand over, register a number

    # Operations (issue 24): held only by the monitoring network (matrix.ZONE_ACTIONS)
    HealthView = "ops:health:view"      # /healthz: database, access log, witness, worker
    MetricsView = "ops:metrics:view"    # /metrics: Prometheus text, no personal data

    # Incident reports (事故報告, issue 25; seed 000 特記事項11, seed 004 特記事項19)
    IncidentsView = "incidents:reports:view"      # incident reports: one's own organisation's, or all
    IncidentsViewAll = "incidents:reports:all"    # every organisation's incident reports
    IncidentsFile = "incidents:reports:file"      # file a report (a contractor's 責任者)
    IncidentsHandle = "incidents:reports:handle"  # acknowledge with instructions, close (ward supervisors)
