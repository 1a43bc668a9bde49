"""Builders for test data: small, explicit, synthetic."""
from __future__ import annotations

import datetime as dt
import itertools
import re

from intranet.models import (
    BatchState, Contract, SurveyBatch, SurveyReport, SurveyTarget, SurveyTargetState,
    Assessment, CallCampaign, CallRecord, CampaignCase, CampaignStatus, Case,
    ApplicationState, DirectDebitApplication, DirectDebitStep,
    ContactKind, ContactRecord, Corporation, DirectDebitAccount, ForeignResidentRecord,
    Installment, MailingAddress, Organisation, OrganisationKind, PaymentAgreement, Phone, PlanState,
    Receipt, ReceiptKind, Representative, RepresentativeKind, Role, TaxType, Taxpayer,
    TaxpayerKind, TrainingRecord, User,
)
from intranet.security.matrix import Facet
from intranet.text import digits, fold

PASSWORD = "Correct-Horse-42"
_seq = itertools.count(1)

ORG_KINDS = {Role.collector: OrganisationKind.ward, Role.auditor: OrganisationKind.auditor,
             Role.operator: OrganisationKind.contractor, Role.contractor: OrganisationKind.contractor}


def _plan(**fields) -> PaymentAgreement:
    """A plan signed 2026-08-01, ten monthly 1,000 yen from 2026-09-01 and
    nothing paid since: 不履行 on the tests' day (2026-11-24), as
    intranet.cases.plans.refresh would find it, so the case stays in work."""
    from intranet.cases.plans import monthly_schedule, set_schedule

    plan = PaymentAgreement(agreed_on=dt.date(2026, 8, 1), first_due_on=dt.date(2026, 9, 1),
                            instalment_amount=1000, instalment_count=10,
                            state=PlanState.defaulted, missed_due_on=dt.date(2026, 9, 1), **fields)
    set_schedule(plan, monthly_schedule(10000, 10, dt.date(2026, 9, 1)))
    return plan


def organisation(session, kind: OrganisationKind) -> Organisation:
    org = session.query(Organisation).filter_by(code=f"org-{kind}").one_or_none()
    if org is None:
        org = Organisation(code=f"org-{kind}", name=f"テスト組織 {kind}", kind=kind)
        session.add(org)
        session.flush()
    return org


#: Outsourced staff must have a current training record to log in (by default).
TRAINED_ROLES = frozenset({Role.operator, Role.contractor})


def user(session, password_context, role: Role, login: str | None = None, *, training: bool = True,
         **kw) -> User:
    """A user; outsourced staff (operators, investigators) get a current
    training record unless ``training=False`` (intranet.accounts.training)."""
    login = login or f"{role}{next(_seq)}"
    org = kw.pop("organisation", None) or organisation(session, ORG_KINDS[role])
    u = User(login=login, display_name=kw.pop("display_name", f"テスト {login}"), role=role,
             organisation=org,
             password_hash=password_context.hash(kw.pop("password", PASSWORD)),
             failed_logins=0, is_active=kw.pop("is_active", True), is_supervisor=kw.pop("is_supervisor", False),
             created_at=dt.datetime(2026, 1, 1), **kw)
    session.add(u)
    session.flush()
    if training and role in TRAINED_ROLES:
        training_record(session, u)
    return u


def training_record(session, u: User, trained_on=dt.date(2026, 4, 1), next_due=dt.date(2099, 3, 31),
                    course="個人情報保護・情報セキュリティ研修", trainer="研修 講師") -> TrainingRecord:
    row = TrainingRecord(user_id=u.id, course=course, trained_on=trained_on, trainer=trainer,
                         next_due=next_due, recorded_by=u.id, recorded_at=dt.datetime(2026, 4, 1))
    session.add(row)
    session.flush()
    return row


def case(session, name="田中 太郎", kana="タナカ タロウ", phone: str | None = "03-1234-5678",
         notice_no: str | None = None, balance: int = 50000, **taxpayer_kw) -> Case:
    n = next(_seq)
    taxpayer_kw.setdefault("postal_code", "160-0022")
    taxpayer_kw.setdefault("address", "東京都新宿区新宿1丁目1番1号")
    taxpayer_kw.setdefault("address_extra", "")
    tp = Taxpayer(taxpayer_no=f"T{n:08d}", kind=TaxpayerKind.individual, name=name, name_kana=kana,
                  search_name=fold(name), search_kana=fold(kana), **taxpayer_kw)
    if phone:
        tp.phones.append(Phone(number=phone, digits=digits(phone)))
    c = Case(case_no=f"2026-{n:06d}", taxpayer=tp, opened_on=dt.date(2026, 7, 1), balance=balance)
    session.add(c)
    if notice_no:
        c.assessments.append(Assessment(tax_type=TaxType.resident, fiscal_year=2026,
                                        applicable_year=2026, notice_no=notice_no,
                                        annual_amount=balance))
    session.flush()
    return c


def campaign(session, cases, status=CampaignStatus.active,
             starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 12, 31)) -> CallCampaign:
    camp = CallCampaign(name=f"キャンペーン{next(_seq)}", status=status, starts_on=starts_on,
                        ends_on=ends_on, created_at=dt.datetime(2026, 10, 1))
    session.add(camp)
    session.flush()
    for c in cases:
        session.add(CampaignCase(campaign_id=camp.id, case_id=c.id))
    session.flush()
    return camp


#: A distinctive value per facet, stored only in that facet's items.
SENTINELS: dict[Facet, str] = {
    Facet.identity: "S3NT-IDN",
    Facet.verification: "S3NT-VER",
    Facet.contact: "S3NT-CON",
    Facet.resident_record: "S3NT-RES",
    Facet.foreign_resident: "S3NT-FOR",
    Facet.employment: "S3NT-EMP",
    Facet.corporation: "S3NT-CRP",
    Facet.representative: "S3NT-REP",
    Facet.assessment: "S3NT-ASM",
    Facet.payment: "S3NT-PAY",
    Facet.bank_flag: "口座振替",  # a yes/no item: its label is the marker
    Facet.bank_account: "S3NT-BNK",
    Facet.staff: "S3NT-STF",
    Facet.negotiation: "S3NT-NEG",
    Facet.call_log: "S3NT-CAL",
    Facet.survey: "S3NT-SUR",
}


def sentinel_case(session) -> Case:
    """A case with every 資料1 item filled, each facet holding its sentinel."""
    s = SENTINELS
    c = case(session, name=f"{s[Facet.identity]} 氏名", kana=f"センチネル {s[Facet.verification]}",
             phone=f"{s[Facet.contact]}-1")
    tp = c.taxpayer
    tp.gender = s[Facet.verification]
    tp.birth_date = dt.date(1980, 4, 1)
    tp.head_of_household = s[Facet.resident_record]
    tp.resident_no = "R-0001"
    tp.ward_address = "東京都新宿区西新宿2丁目8番1号"
    tp.occupation = "会社員"
    tp.employer_name = s[Facet.employment]
    tp.mailing_address = MailingAddress(name=f"{s[Facet.contact]} 送付先", postal_code="160-0023",
                                        address="東京都新宿区西新宿1丁目1番1号")
    tp.foreign_resident = ForeignResidentRecord(nationality=s[Facet.foreign_resident],
                                                residence_status="永住者")
    tp.corporation = Corporation(name=s[Facet.corporation], location="東京都新宿区", designation_no="D1")
    tp.representatives.append(Representative(kind=RepresentativeKind.heir, name=s[Facet.representative]))
    a = Assessment(tax_type=TaxType.light_vehicle, fiscal_year=2026, applicable_year=2026,
                   notice_no="900000000001", annual_amount=10800, vehicle_id_no=s[Facet.assessment],
                   vehicle_kind="軽四輪乗用", vehicle_name="テストカー", displacement_cc=658,
                   plate_no="新宿 580 あ 12-34", garage_address="東京都新宿区")
    inst = Installment(period_no=1, due_date=dt.date(2026, 6, 1), tax_amount=10800, late_charge_amount=0)
    inst.receipts.append(Receipt(kind=ReceiptKind.tax, amount=1000, received_on=dt.date(2026, 7, 1)))
    a.installments.append(inst)
    c.assessments.append(a)
    c.agreements.append(_plan(note=s[Facet.payment]))
    c.direct_debits.append(DirectDebitAccount(bank_name=s[Facet.bank_account], branch_name="新宿支店",
                                              account_holder="センチネル", start_fiscal_year=2026,
                                              start_period_no=1))
    c.assigned_staff = s[Facet.staff]
    c.delinquency_category = "現年"
    c.contacts.append(ContactRecord(kind=ContactKind.visit, occurred_at=dt.datetime(2026, 10, 1, 1),
                                    content=s[Facet.negotiation], staff_name="職員A"))
    c.calls.append(CallRecord(called_at=dt.datetime(2026, 11, 1, 1), phone_number="03-0000-0000",
                              result="不在", note=s[Facet.call_log]))
    session.flush()
    contract = Contract(organisation_id=organisation(session, OrganisationKind.contractor).id,
                        name="センチネル契約", purpose="p", starts_on=dt.date(2026, 1, 1),
                        ends_on=dt.date(2026, 12, 31), manager_name="m", handler_names="h",
                        protections="", training_required=False, created_by=0,
                        created_at=dt.datetime(2026, 1, 1))
    session.add(contract)
    session.flush()
    investigator = User(login=f"sentinel-inv-{next(_seq)}", display_name="調査員", role=Role.contractor,
                        organisation_id=contract.organisation_id, password_hash="!", failed_logins=0,
                        is_active=False, created_at=dt.datetime(2026, 1, 1))
    session.add(investigator)
    session.flush()
    batch = SurveyBatch(contract_id=contract.id, name="センチネル調査", deadline=dt.date(2026, 12, 1),
                        state=BatchState.closed, created_by=investigator.id,
                        created_at=dt.datetime(2026, 1, 1))
    session.add(batch)
    session.flush()
    target = SurveyTarget(batch_id=batch.id, case_id=c.id, area="大阪府大阪市",
                          state=SurveyTargetState.reported)
    session.add(target)
    session.flush()
    session.add(SurveyReport(target_id=target.id, version=1, submitted_by=investigator.id,
                             submitted_at=dt.datetime(2026, 11, 2), visited_at=dt.datetime(2026, 11, 2),
                             residence="lives", nameplate="present", nameplate_name="表札",
                             tenure="rented", landlord_name=s[Facet.survey], memo=""))
    session.flush()
    return c


def owed_case(session, *, name="架電 太郎", kana="カデン タロウ", phone: str | None = "03-5555-0001",
              amount=30000, due=dt.date(2026, 6, 30), fiscal_year=2026,
              tax_type=TaxType.resident, household_no=None, category=None, call_block=None,
              **kw) -> Case:
    """A case owing ``amount`` on one installment of ``fiscal_year`` due ``due``."""
    c = case(session, name=name, kana=kana, phone=phone, balance=amount,
             household_no=household_no, **kw)
    c.delinquency_category = category
    c.call_block = call_block
    _owe(session, c, amount, due, fiscal_year, tax_type)
    return c


def another_owed_case(session, taxpayer: Taxpayer, *, amount=8000, due=dt.date(2026, 5, 31),
                      fiscal_year=2026, tax_type=TaxType.light_vehicle) -> Case:
    """A further case of ``taxpayer`` owing ``amount`` (by default light-vehicle tax)."""
    n = next(_seq)
    c = Case(case_no=f"2026-{n:06d}", taxpayer=taxpayer, opened_on=dt.date(2026, 7, 1),
             balance=amount)
    session.add(c)
    _owe(session, c, amount, due, fiscal_year, tax_type)
    return c


def _owe(session, c: Case, amount, due, fiscal_year, tax_type) -> None:
    n = next(_seq)
    assessment = Assessment(tax_type=tax_type, fiscal_year=fiscal_year, applicable_year=fiscal_year,
                            notice_no=f"9{n:011d}", annual_amount=amount)
    assessment.installments.append(Installment(period_no=1, due_date=due, tax_amount=amount,
                                                late_charge_amount=0))
    c.assessments.append(assessment)
    session.flush()


# ---------------------------------------------------------------- marked cases

#: Three letters per facet, for markers ``MK<slot letter><code><nn>``.
FACET_CODES: dict[Facet, str] = {
    Facet.identity: "IDN", Facet.verification: "VER", Facet.contact: "CON",
    Facet.resident_record: "RES", Facet.foreign_resident: "FOR", Facet.employment: "EMP",
    Facet.corporation: "CRP", Facet.representative: "REP", Facet.assessment: "ASM",
    Facet.payment: "PAY", Facet.bank_flag: "BFL", Facet.bank_account: "BNK", Facet.staff: "STF",
    Facet.negotiation: "NEG", Facet.call_log: "CAL", Facet.survey: "SUR",
}


class MarkerSet:
    """Unique markers, each remembered with the case slot and facet it belongs to.

    A marker is ``MK`` + the slot's letter + the facet's code + two digits
    (``MKAIDN01``): eight ASCII characters, so it fits every text column
    (postal codes hold eight) and survives HTML, PDF text extraction, CSV in
    CP932 or UTF-8 and Excel cells unchanged. ``PATTERN`` finds them in any text."""

    PATTERN = re.compile(r"MK[A-Z][A-Z]{3}\d{2}")

    def __init__(self, slots: dict[str, str]):
        self.letters = dict(slots)              # slot name -> letter
        self.owner: dict[str, tuple[str, Facet]] = {}
        self.unshown: set[str] = set()          # items no page is meant to show (data-link keys)
        self._next: dict[tuple[str, Facet], int] = {}

    def new(self, slot: str, facet: Facet, shown: bool = True) -> str:
        n = self._next.get((slot, facet), 0) + 1
        if n > 99:
            raise ValueError(f"too many markers for {slot}/{facet}")
        self._next[(slot, facet)] = n
        marker = f"MK{self.letters[slot]}{FACET_CODES[facet]}{n:02d}"
        self.owner[marker] = (slot, facet)
        if not shown:
            self.unshown.add(marker)
        return marker

    def found(self, text: str) -> set[str]:
        """The known markers in ``text`` (unknown look-alikes are returned too,
        so a test notices a marker it did not plant)."""
        return set(self.PATTERN.findall(text))


def marked_case(session, markers: MarkerSet, slot: str) -> Case:
    """A case like :func:`sentinel_case` with a unique marker in every text
    item of every facet (``markers.new(slot, facet)``), an unpaid installment
    due before the test clock's today and a positive balance.

    bank_flag's 口座振替の有無 is a yes/no item derived from the bank_account
    rows; its markers are in the notes of a direct-debit application's steps."""
    m = lambda facet: markers.new(slot, facet)  # noqa: E731
    F = Facet
    c = case(session, name=f"{m(F.identity)} 氏名", kana=f"センチネル {m(F.verification)}", phone=None)
    tp = c.taxpayer
    tp.postal_code, tp.address = m(F.identity), f"大阪府大阪市北区 {m(F.identity)}"
    tp.address_extra = m(F.identity)
    tp.gender, tp.birth_date = m(F.verification), dt.date(1980, 4, 1)
    tp.phones.append(Phone(number=m(F.contact), digits=f"03{next(_seq):08d}", note=m(F.contact)))
    tp.mailing_address = MailingAddress(name=m(F.contact), postal_code=m(F.contact), address=m(F.contact))
    tp.resident_no, tp.household_no = m(F.resident_record), m(F.resident_record)
    tp.head_of_household = m(F.resident_record)
    tp.relationship_to_head, tp.ward_address = m(F.resident_record), m(F.resident_record)
    tp.previous_address, tp.record_change_reason = m(F.resident_record), m(F.resident_record)
    tp.occupation, tp.employer_name = m(F.employment), m(F.employment)
    tp.employer_address, tp.employer_phone = m(F.employment), m(F.employment)
    tp.foreign_resident = ForeignResidentRecord(
        registration_no=m(F.foreign_resident), alias_name=m(F.foreign_resident),
        nationality=m(F.foreign_resident), residence_status=m(F.foreign_resident))
    tp.corporation = Corporation(name=m(F.corporation), postal_code=m(F.corporation),
                                 location=m(F.corporation), phone=m(F.corporation),
                                 designation_no=m(F.corporation))
    tp.representatives.append(Representative(
        kind=RepresentativeKind.heir, name=m(F.representative), postal_code=m(F.representative),
        address=m(F.representative), phone=m(F.representative)))
    a = Assessment(tax_type=TaxType.light_vehicle, fiscal_year=2026, applicable_year=2026,
                   notice_no=m(F.assessment), annual_amount=10800, vehicle_id_no=m(F.assessment),
                   vehicle_kind=m(F.assessment), vehicle_name=m(F.assessment), displacement_cc=658,
                   plate_no=m(F.assessment), garage_address=m(F.assessment))
    inst = Installment(period_no=1, due_date=dt.date(2026, 6, 1), tax_amount=10800, late_charge_amount=0)
    inst.receipts.append(Receipt(kind=ReceiptKind.tax, amount=1000, received_on=dt.date(2026, 7, 1),
                                 receipt_no=markers.new(slot, F.payment, shown=False)))
    a.installments.append(inst)
    c.assessments.append(a)
    c.balance = 9800
    c.agreements.append(_plan(note=m(F.payment), shortfall_reason=m(F.payment)))
    c.direct_debits.append(DirectDebitAccount(
        bank_name=m(F.bank_account), branch_name=m(F.bank_account), account_holder=m(F.bank_account),
        start_fiscal_year=2026, start_period_no=1, failure_reason=m(F.bank_account)))
    c.assigned_staff, c.delinquency_category = m(F.staff), m(F.staff)
    c.contacts.append(ContactRecord(kind=ContactKind.visit, occurred_at=dt.datetime(2026, 10, 1, 1),
                                    record_no=markers.new(slot, F.negotiation, shown=False),
                                    place=m(F.negotiation),
                                    counterpart=m(F.negotiation), content=m(F.negotiation),
                                    staff_name=m(F.negotiation)))
    c.calls.append(CallRecord(called_at=dt.datetime(2026, 11, 1, 1), phone_number=m(F.call_log),
                              result=m(F.call_log), note=m(F.call_log)))
    session.flush()
    # 口座振替の申込 (bank_flag facet, issue 20): its steps' notes are text of its own.
    session.add(DirectDebitApplication(
        case_id=c.id, state=ApplicationState.deficient, state_since=dt.date(2026, 11, 10),
        encouraged_on=dt.date(2026, 11, 1), encouraged_by=_staff_author(session).id,
        steps=[DirectDebitStep(state=ApplicationState.encouraged, happened_on=dt.date(2026, 11, 1),
                               note=m(F.bank_flag), recorded_at=dt.datetime(2026, 11, 1, 1)),
               DirectDebitStep(state=ApplicationState.deficient, happened_on=dt.date(2026, 11, 10),
                               note=m(F.bank_flag), recorded_at=dt.datetime(2026, 11, 10, 1))]))
    session.flush()
    return c


def _staff_author(session) -> User:
    """A disabled ward account that recorded the planted records (no login)."""
    author = session.query(User).filter_by(login="planted-author").one_or_none()
    if author is None:
        author = User(login="planted-author", display_name="記録者", role=Role.collector,
                      organisation_id=organisation(session, OrganisationKind.ward).id,
                      password_hash="!", failed_logins=0, is_active=False,
                      created_at=dt.datetime(2026, 1, 1))
        session.add(author)
        session.flush()
    return author


def campaign_draft(session, author: User, *, state=None, **fields):
    """A campaign draft by the call center (issue 25) of ``author``'s
    organisation: every case, the default calling rules."""
    from intranet.models import CampaignDraft, DraftState

    values = dict(name=f"計画の案{next(_seq)}", reason="現年度の初期滞納者への納付案内", criteria="{}",
                  starts_on=dt.date(2026, 11, 24), ends_on=dt.date(2026, 12, 25),
                  weekday_start=dt.time(9, 0), weekday_end=dt.time(20, 0), saturday_start=None,
                  saturday_end=None, max_attempts=6, min_interval_minutes=240, daily_limit=2,
                  weekly_limit=5, state=state or DraftState.submitted, created_by=author.id,
                  created_at=dt.datetime(2026, 11, 20, 1), updated_at=dt.datetime(2026, 11, 20, 1),
                  counts='{"bands": {}, "cases": 0, "no_phone": 0, "targets": 0}',
                  counted_at=dt.datetime(2026, 11, 20, 1))
    values.update(fields)
    if values["state"] != DraftState.draft:
        values.setdefault("submitted_at", dt.datetime(2026, 11, 20, 2))
    draft = CampaignDraft(organisation_id=author.organisation_id, **values)
    session.add(draft)
    session.flush()
    return draft
