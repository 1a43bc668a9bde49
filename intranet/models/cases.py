"""The case (滞納案件) and its tax items: 課税情報, 収納情報, 口座情報, 経過記録, 担当・滞納区分.

A case is the unit every role works on; it belongs to one taxpayer and is
addressed by its case number (``/cases/<case_no>/``).
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import (
    and_, or_, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, str_enum
from .taxpayers import Taxpayer

if TYPE_CHECKING:  # annotations only: models.calls imports this module, never the reverse
    from .calls import CallRecord


class CaseStatus(enum.StrEnum):
    open = "open"
    closed = "closed"  # fully paid or otherwise settled


class TaxType(enum.StrEnum):
    resident = "resident"            # 特別区民税・都民税
    light_vehicle = "light_vehicle"  # 軽自動車税（種別割）


class ReceiptKind(enum.StrEnum):
    tax = "tax"                  # 本税
    late_charge = "late_charge"  # 延滞金


class ContactKind(enum.StrEnum):
    visit = "visit"              # 訪問
    negotiation = "negotiation"  # 交渉（来庁・電話）: the delinquency system's, and hand-overs
    document = "document"        # 帳票発行
    other = "other"
    counter = "counter"                  # 来庁 (issue 20)
    phone = "phone"                      # 電話 (a collector's call)
    letter_received = "letter_received"  # 文書受理 (a letter from the taxpayer)


#: The kinds a collector records on the case page (経過記録, issue 20).
STAFF_CONTACT_KINDS = (ContactKind.visit, ContactKind.counter, ContactKind.phone,
                       ContactKind.letter_received, ContactKind.other)


class Counterpart(enum.StrEnum):
    """Who the staff member dealt with (相手方)."""

    taxpayer = "taxpayer"        # 本人
    family = "family"            # 家族・同居人
    agent = "agent"              # 代理人
    tax_manager = "tax_manager"  # 納税管理人
    heir = "heir"                # 相続人
    other = "other"              # その他（勤務先・大家など）


#: 最終接触日 counts conversations with the taxpayer or someone who acts for
#: them in law (代理人, 納税管理人 under 地方税法 §300, 相続人 under §9); a talk
#: with a family member or a landlord is recorded but is not a contact.
CONTACT_COUNTERPARTS = frozenset({Counterpart.taxpayer, Counterpart.agent,
                                  Counterpart.tax_manager, Counterpart.heir})


class CallBlock(enum.StrEnum):
    """Why collectors flagged a case as not to be called (excluded from every campaign)."""

    consultation = "consultation"    # 相談中
    installment = "installment"      # 分納中
    bankruptcy = "bankruptcy"        # 破産
    deceased = "deceased"            # 死亡
    do_not_call = "do_not_call"      # 架電拒否の申出


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(11), unique=True)  # e.g. 2026-000123
    taxpayer_id: Mapped[int] = mapped_column(ForeignKey("taxpayers.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, "case_status"), default=CaseStatus.open)
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    # staff: 担当者名, 滞納区分
    assigned_staff: Mapped[str | None] = mapped_column(String(100))
    delinquency_category: Mapped[str | None] = mapped_column(String(40))
    # Outstanding tax + late charges in yen; recomputed by the data-link import
    # whenever installments or receipts change, so lists and filters need no join.
    balance: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # Collectors' "do not call" flag: excluded from every call campaign while set.
    call_block: Mapped[CallBlock | None] = mapped_column(str_enum(CallBlock, "call_block"))

    taxpayer: Mapped[Taxpayer] = relationship(lazy="joined")
    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="case", order_by="(Assessment.fiscal_year, Assessment.id)",
        cascade="all, delete-orphan")
    agreements: Mapped[list[PaymentAgreement]] = relationship(
        back_populates="case", order_by="PaymentAgreement.id", cascade="all, delete-orphan")
    direct_debits: Mapped[list[DirectDebitAccount]] = relationship(
        back_populates="case", order_by="DirectDebitAccount.id", cascade="all, delete-orphan")
    contacts: Mapped[list[ContactRecord]] = relationship(
        back_populates="case", order_by="ContactRecord.occurred_at.desc()",
        cascade="all, delete-orphan")
    calls: Mapped[list[CallRecord]] = relationship(
        back_populates="case", order_by="CallRecord.called_at.desc()",
        cascade="all, delete-orphan")


class Assessment(Base):
    """課税情報: 税目, 年度, 相当年度, 納税通知書番号, 年税額; for 軽自動車税 the vehicle."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    tax_type: Mapped[TaxType] = mapped_column(str_enum(TaxType, "tax_type"))
    fiscal_year: Mapped[int] = mapped_column(Integer)       # 年度
    applicable_year: Mapped[int] = mapped_column(Integer)   # 相当年度
    notice_no: Mapped[str] = mapped_column(String(20), index=True)  # 納税通知書番号
    annual_amount: Mapped[int] = mapped_column(Integer)     # 年税額 / 課税額
    # 軽自動車税: 車体識別番号, 車種, 車名, 排気量, 定置場, 標識番号
    vehicle_id_no: Mapped[str | None] = mapped_column(String(40))
    vehicle_kind: Mapped[str | None] = mapped_column(String(40))
    vehicle_name: Mapped[str | None] = mapped_column(String(60))
    displacement_cc: Mapped[int | None] = mapped_column(Integer)
    garage_address: Mapped[str | None] = mapped_column(String(300))
    plate_no: Mapped[str | None] = mapped_column(String(40))

    case: Mapped[Case] = relationship(back_populates="assessments")
    installments: Mapped[list[Installment]] = relationship(
        back_populates="assessment", order_by="Installment.period_no", cascade="all, delete-orphan")


class Installment(Base):
    """収納情報 per 期: 本税・延滞金の調定額, 納期限; receipts give 納税額・領収日・収納日."""

    __tablename__ = "installments"
    __table_args__ = (UniqueConstraint("assessment_id", "period_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    period_no: Mapped[int] = mapped_column(Integer)          # 期
    due_date: Mapped[dt.date] = mapped_column(Date)          # 納期限
    tax_amount: Mapped[int] = mapped_column(Integer)         # 本税調定額
    late_charge_amount: Mapped[int] = mapped_column(Integer, default=0)  # 延滞金調定額
    # 督促状発付日 (from the data link; None when not known)
    dunning_sent_on: Mapped[dt.date | None] = mapped_column(Date)

    assessment: Mapped[Assessment] = relationship(back_populates="installments")
    receipts: Mapped[list[Receipt]] = relationship(
        back_populates="installment", order_by="Receipt.received_on", cascade="all, delete-orphan")

    def paid(self, kind: ReceiptKind) -> int:
        return sum(r.amount for r in self.receipts if r.kind == kind)

    @property
    def tax_paid(self) -> int:
        return self.paid(ReceiptKind.tax)

    @property
    def late_charge_paid(self) -> int:
        return self.paid(ReceiptKind.late_charge)

    @property
    def tax_difference(self) -> int:
        """過不足額 of 本税: negative while unpaid, positive when overpaid."""
        return self.tax_paid - self.tax_amount

    @property
    def late_charge_difference(self) -> int:
        return self.late_charge_paid - self.late_charge_amount

    @property
    def outstanding(self) -> int:
        return max(0, -self.tax_difference) + max(0, -self.late_charge_difference)


class Receipt(Base):
    """One payment against an installment: 納税額, 領収日 (paid), 収納日 (posted)."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    installment_id: Mapped[int] = mapped_column(
        ForeignKey("installments.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReceiptKind] = mapped_column(str_enum(ReceiptKind, "receipt_kind"))
    # 収納整理番号 of the delinquency system: the data link's key for a receipt
    # (two payments of the same amount on the same day are two receipts).
    receipt_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    received_on: Mapped[dt.date] = mapped_column(Date)   # 領収日
    posted_on: Mapped[dt.date | None] = mapped_column(Date)  # 収納日

    installment: Mapped[Installment] = relationship(back_populates="receipts")


class PlanState(enum.StrEnum):
    """Where an installment plan (分納・納付誓約) stands; follows the receipts
    (:mod:`intranet.cases.plans`)."""

    current = "current"      # 履行中: every payment due (plus the grace days) was made
    defaulted = "defaulted"  # 不履行: a payment was missed beyond the grace days
    completed = "completed"  # 完了: the whole schedule is paid


class PaymentAgreement(Base):
    """分割納付約束の有無及びその内容: an installment plan (分納・納付誓約).

    ``agreed_on`` is the day the taxpayer signed the 誓約 (誓約日): a 承認
    renewing the limitation of the case's tax (地方税法18条③ → 民法152条①;
    intranet.cases.limitation). The schedule is :attr:`payments`; the
    ``instalment_*`` and ``first_due_on`` columns summarise it (the data
    link's columns). ``is_active`` false: ended by a collector (or the data
    link); an ended plan excludes nothing."""

    __tablename__ = "payment_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    agreed_on: Mapped[dt.date] = mapped_column(Date)
    first_due_on: Mapped[dt.date] = mapped_column(Date)
    instalment_amount: Mapped[int] = mapped_column(Integer)
    instalment_count: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[PlanState] = mapped_column(str_enum(PlanState, "plan_state"),
                                             default=PlanState.current, index=True)
    # When the state last changed, and the first missed due day (不履行).
    state_since: Mapped[dt.date | None] = mapped_column(Date)
    missed_due_on: Mapped[dt.date | None] = mapped_column(Date)
    # Why a plan that does not cover the overdue amount was accepted anyway.
    shortfall_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)

    case: Mapped[Case] = relationship(back_populates="agreements")
    payments: Mapped[list[PlanPayment]] = relationship(
        back_populates="plan", order_by="(PlanPayment.due_on, PlanPayment.id)",
        cascade="all, delete-orphan")

    @property
    def total(self) -> int:
        return sum(p.amount for p in self.payments)

    @property
    def in_good_standing(self) -> bool:
        return self.is_active and self.state == PlanState.current


class PlanPayment(Base):
    """One scheduled payment of a plan (分納の各回: 納付予定日・金額)."""

    __tablename__ = "plan_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("payment_agreements.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Integer)

    plan: Mapped[PaymentAgreement] = relationship(back_populates="payments")


class DirectDebitAccount(Base):
    """口座情報: 口座振替の有無 (bank_flag facet) and the account (bank_account facet)."""

    __tablename__ = "direct_debit_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    bank_name: Mapped[str] = mapped_column(String(100))
    branch_name: Mapped[str] = mapped_column(String(100))
    account_holder: Mapped[str] = mapped_column(String(200))
    start_fiscal_year: Mapped[int] = mapped_column(Integer)
    start_period_no: Mapped[int] = mapped_column(Integer)
    cancelled_on: Mapped[dt.date | None] = mapped_column(Date)   # 口座取消日
    failure_reason: Mapped[str | None] = mapped_column(String(100))  # 不能事由
    # 口座登録日 when the delinquency system gives it (optional column), and
    # the day the data link first delivered the account: the registration
    # date of a direct-debit application (intranet.cases.debits) is the first
    # of them known. Accounts stored before issue 20 have neither.
    registered_on: Mapped[dt.date | None] = mapped_column(Date)
    first_seen_on: Mapped[dt.date | None] = mapped_column(Date)

    case: Mapped[Case] = relationship(back_populates="direct_debits")

    @property
    def is_active(self) -> bool:
        return self.cancelled_on is None


class ContactRecord(Base):
    """経過記録: 訪問日時, 交渉日時・場所・相手・内容, 帳票発行記録."""

    __tablename__ = "contact_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 経過記録番号 of the delinquency system (the data link's key); None for
    # records made here (hand-overs, documents issued).
    record_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind, "contact_kind"))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    place: Mapped[str] = mapped_column(String(200), default="")
    counterpart: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Text, default="")
    staff_name: Mapped[str] = mapped_column(String(100), default="")
    # Issue 20: who it was with, whether there was a conversation (会話あり),
    # and the collector who recorded it here (None: imported or generated).
    counterpart_kind: Mapped[Counterpart | None] = mapped_column(
        str_enum(Counterpart, "contact_counterpart"))
    conversation: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    case: Mapped[Case] = relationship(back_populates="contacts")

    @hybrid_property
    def is_contact(self):
        """A conversation with the taxpayer or their representative: what
        最終接触日 means (a slip issued or a letter sent is not one). Records
        without a counterpart kind (imported from the delinquency system, or
        a hand-over resolved by staff) count when they are 交渉."""
        if self.counterpart_kind is None:
            return self.kind == ContactKind.negotiation
        return self.conversation and self.counterpart_kind in CONTACT_COUNTERPARTS

    @is_contact.inplace.expression
    @classmethod
    def _is_contact_expression(cls):
        return or_(and_(cls.counterpart_kind.is_(None), cls.kind == ContactKind.negotiation),
                   and_(cls.conversation.is_(True),
                        cls.counterpart_kind.in_([c.value for c in CONTACT_COUNTERPARTS])))

