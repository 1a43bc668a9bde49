"""The call center's working data: campaigns (納付案内計画) and their cases, call
targets (the queue), call attempts (immutable contact records), promises,
hand-overs to staff, phone numbers found later and the older call records.

This module imports :mod:`intranet.models.cases`, never the reverse (issue 21:
the campaign models used to live there and the two modules imported each other).

A campaign (:class:`CallCampaign`) groups its cases
into :class:`CallTarget` rows, one per person (名寄せ: one taxpayer, plus the
records declared the same person; never a household, 地方税法22条); the queue
hands out targets, and one call covers every case of the target.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    and_, Date, DateTime, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint, text,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .cases import Case
from .meta import Base, str_enum


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    closed = "closed"


class TargetStatus(enum.StrEnum):
    queued = "queued"            # in the queue (eligible when due and not leased)
    promised = "promised"        # waiting for a promised payment
    handed_over = "handed_over"  # passed to ward staff (引継ぎ)
    no_phone = "no_phone"        # no usable number: letter workflow (催告書)
    finished = "finished"        # paid, refused-and-closed, or attempts exhausted


class QueueClass(enum.IntEnum):
    """The first key of the queue order (lower comes first)."""

    callback = 0         # a callback that is due
    broken_promise = 1   # a promise whose date passed unpaid
    normal = 2


class Disposition(enum.StrEnum):
    """The single call result of the first version (kept on old records and as
    the one-word summary of a call in the call log and the data-link export;
    a call is now a :class:`ContactResult` plus :class:`CallAction` rows)."""

    no_answer = "no_answer"                  # 不在（応答なし）
    answering_machine = "answering_machine"  # 留守番電話
    busy = "busy"                            # 話中
    wrong_number = "wrong_number"            # 番号違い（使用不可にする）
    other_person = "other_person"            # 本人以外が応答
    promise = "promise"                      # 納付約束（金額・日付）
    paid_claimed = "paid_claimed"            # 納付済みの申出
    refused = "refused"                      # 納付拒否
    consultation = "consultation"            # 相談希望（職員へ引継ぎ）
    slip_reissue = "slip_reissue"            # 納付書再発行の依頼
    direct_debit = "direct_debit"            # 口座振替の案内・申込書送付
    callback = "callback"                    # 折り返し・再架電の約束（日時）


#: Dispositions in which the operator spoke with the taxpayer.
REACHED = frozenset({
    Disposition.promise, Disposition.paid_claimed, Disposition.refused,
    Disposition.consultation, Disposition.slip_reissue, Disposition.direct_debit,
    Disposition.callback,
})


class ContactResult(enum.StrEnum):
    """接触結果: whom the call reached (one per call)."""

    reached = "reached"                      # 本人と通話
    no_answer = "no_answer"                  # 不在（応答なし）
    answering_machine = "answering_machine"  # 留守番電話
    busy = "busy"                            # 話中
    wrong_number = "wrong_number"            # 番号違い
    other_person = "other_person"            # 本人以外が応答




class ActionKind(enum.StrEnum):
    """対応内容: what was done in a call (any number per call)."""

    promise = "promise"              # 納付約束（金額・日付）
    paid_claimed = "paid_claimed"    # 納付済みの申出（申出の金額・納付日）
    plan_request = "plan_request"    # 分納の相談希望（職員へ引継ぎ）
    direct_debit = "direct_debit"    # 口座振替の勧奨・申込書送付
    slip_reissue = "slip_reissue"    # 納付書再発行
    handover = "handover"            # 職員へ引継ぎ（相談希望）
    refusal = "refusal"              # 納付拒否（職員へ引継ぎ）
    callback = "callback"            # 折り返し・再架電の約束（日時）


#: Actions that hand the case over to staff (引継ぎ).
HANDOVER_ACTIONS = frozenset({ActionKind.plan_request, ActionKind.handover, ActionKind.refusal})


class IncomingReason(enum.StrEnum):
    """Why an incoming call (受電) has no case."""

    unknown_caller = "unknown_caller"  # 名乗らない・該当なし
    wrong_number = "wrong_number"      # 間違い電話
    enquiry_only = "enquiry_only"      # 一般的な問い合わせのみ


def legacy_split(disposition: Disposition) -> tuple[ContactResult, ActionKind | None]:
    """An old single disposition as a contact result and at most one action
    (the 0025 migration does the same in SQL)."""
    d = Disposition(disposition)
    if d not in REACHED:
        return ContactResult(d.value), None
    return ContactResult.reached, {
        Disposition.refused: ActionKind.refusal,
        Disposition.consultation: ActionKind.handover,
    }.get(d, ActionKind(d.value) if d.value in ActionKind.__members__ else None)


#: Which action gives a call its one-word summary (the old disposition), first wins.
SUMMARY_ORDER = (ActionKind.refusal, ActionKind.handover, ActionKind.plan_request,
                 ActionKind.promise, ActionKind.paid_claimed, ActionKind.callback,
                 ActionKind.slip_reissue, ActionKind.direct_debit)


def summary(result: ContactResult, kinds) -> Disposition | None:
    """The one-word summary of a call (the old disposition): the result when
    nobody was reached, else its weightiest action."""
    if result != ContactResult.reached:
        return Disposition(result.value)
    kinds = set(kinds)
    for kind in SUMMARY_ORDER:
        if kind in kinds:
            return {ActionKind.refusal: Disposition.refused,
                    ActionKind.handover: Disposition.consultation,
                    ActionKind.plan_request: Disposition.consultation}.get(kind) or Disposition(kind.value)
    return None  # reached, nothing more was done (no old disposition said this)



class CallTarget(Base):
    __tablename__ = "call_targets"
    __table_args__ = (
        # The queue order (see intranet.calls.queue): one index scan finds the next call.
        Index("ix_call_targets_queue", "status", "queue_class", "attempts", "oldest_due_on",
              "balance_key", "id"),
        # Also serves every lookup by campaign alone (its leading column): no
        # separate index on campaign_id (issue 21: one index entry less per
        # target built).
        UniqueConstraint("campaign_id", "group_key"),
        # An operator's current lease (intranet.calls.queue.current_lease).
        # Partial: a target is leased only while a call is made, so the
        # campaign build (all NULL) adds no entry to it (issue 21).
        Index("ix_call_targets_leased_by", "leased_by",
              postgresql_where=text("leased_by IS NOT NULL"),
              sqlite_where=text("leased_by IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("call_campaigns.id", ondelete="CASCADE"))
    group_key: Mapped[str] = mapped_column(String(60))  # t:<taxpayer_no>: one person
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phones.id"))
    status: Mapped[TargetStatus] = mapped_column(str_enum(TargetStatus, "target_status"))
    queue_class: Mapped[int] = mapped_column(Integer, default=QueueClass.normal)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    oldest_due_on: Mapped[dt.date] = mapped_column(Date)   # age of debt
    balance_key: Mapped[int] = mapped_column(Integer)       # -(balance at build): larger first
    due_at: Mapped[dt.datetime] = mapped_column(DateTime)   # not to be called before (UTC)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    day: Mapped[dt.date | None] = mapped_column(Date)        # JST day of day_count
    day_count: Mapped[int] = mapped_column(Integer, default=0)
    week: Mapped[dt.date | None] = mapped_column(Date)       # Monday of week_count
    week_count: Mapped[int] = mapped_column(Integer, default=0)
    leased_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    callback_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    callback_operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    campaign = relationship("CallCampaign")
    phone = relationship("Phone")
    members: Mapped[list[CampaignCase]] = relationship(
        "CampaignCase", back_populates="target", order_by="CampaignCase.case_id")


class CallAttempt(Base):
    """One call: an immutable contact record with one contact result and any
    number of actions (:class:`CallAction`). A correction is a new record
    whose ``corrects_id`` names the one it replaces.

    ``incoming`` marks a call the taxpayer made (受電): it is never an outgoing
    attempt (no attempt, daily or weekly count, no queue lease). An incoming
    call names its case (``case_id``) and, where that case is in a campaign,
    its target; without a case it says why (``incoming_reason``).
    ``disposition`` is the one-word summary of the call (see :func:`summary`),
    the whole result of records made before several actions per call."""

    __tablename__ = "call_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("call_targets.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    called_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    phone_number: Mapped[str] = mapped_column(String(20), default="")
    result: Mapped[ContactResult] = mapped_column(str_enum(ContactResult, "contact_result"))
    disposition: Mapped[Disposition | None] = mapped_column(str_enum(Disposition, "disposition"))
    promise_amount: Mapped[int | None] = mapped_column(Integer)
    promise_on: Mapped[dt.date | None] = mapped_column(Date)
    callback_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    memo: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempts.id"))
    incoming: Mapped[bool] = mapped_column(default=False)  # 受電: the taxpayer called
    incoming_reason: Mapped[IncomingReason | None] = mapped_column(
        str_enum(IncomingReason, "incoming_reason"))

    target: Mapped[CallTarget | None] = relationship()
    case = relationship("Case")
    operator = relationship("User", foreign_keys=[operator_id])
    actions: Mapped[list[CallAction]] = relationship(
        back_populates="attempt", order_by="CallAction.id")

    def __init__(self, **kw):
        # A record given only an old disposition (scripts, older tests) gets
        # the result and the action it stands for, as the 0025 migration does.
        if kw.get("result") is None and kw.get("disposition") is not None:
            result, kind = legacy_split(kw["disposition"])
            kw["result"] = result
            if kind is not None and "actions" not in kw:
                kw["actions"] = [CallAction(
                    kind=kind, note="",
                    amount=kw.get("promise_amount") if kind == ActionKind.promise else None,
                    on=kw.get("promise_on") if kind == ActionKind.promise else None,
                    at=kw.get("callback_at") if kind == ActionKind.callback else None)]
        super().__init__(**kw)

    @property
    def kinds(self) -> set[ActionKind]:
        return {a.kind for a in self.actions}


class CallAction(Base):
    """対応内容: one thing done in a call (a promise, direct-debit
    encouragement, a slip reissued, a hand-over, ...). ``amount`` and ``on``
    are the promised amount and date (promise) or the amount and day the
    caller says they paid (paid_claimed); ``at`` the agreed callback time."""

    __tablename__ = "call_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempts.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[ActionKind] = mapped_column(str_enum(ActionKind, "action_kind"))
    amount: Mapped[int | None] = mapped_column(Integer)
    on: Mapped[dt.date | None] = mapped_column(Date)
    at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")

    attempt: Mapped[CallAttempt] = relationship(back_populates="actions")


class PromiseStatus(enum.StrEnum):
    open = "open"
    kept = "kept"
    broken = "broken"
    superseded = "superseded"  # its call was corrected


class Promise(Base):
    """納付約束: kept when the target's balance falls by the amount, broken
    when the date passes first."""

    __tablename__ = "promises"
    __table_args__ = (Index("ix_promises_status_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempts.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("call_targets.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date] = mapped_column(Date)
    balance_before: Mapped[int] = mapped_column(Integer)
    status: Mapped[PromiseStatus] = mapped_column(str_enum(PromiseStatus, "promise_status"))
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)

    target: Mapped[CallTarget] = relationship()


class HandoverStatus(enum.StrEnum):
    open = "open"
    done = "done"


class Handover(Base):
    """引継ぎ: a case passed from the call center to ward staff."""

    __tablename__ = "handovers"
    __table_args__ = (Index("ix_handovers_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("call_targets.id"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempts.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    status: Mapped[HandoverStatus] = mapped_column(str_enum(HandoverStatus, "handover_status"))
    # What staff did: a negotiation record (operators may not see it).
    contact_record_id: Mapped[int | None] = mapped_column(ForeignKey("contact_records.id"))
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    case = relationship("Case")
    creator = relationship("User", foreign_keys=[created_by])


class PhoneCandidateStatus(enum.StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    rejected = "rejected"


class PhoneCandidate(Base):
    """電話番号調査: a number an operator found for a no-phone case, pending
    a collector's confirmation."""

    __tablename__ = "phone_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    digits: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200))
    status: Mapped[PhoneCandidateStatus] = mapped_column(
        str_enum(PhoneCandidateStatus, "phone_candidate_status"))
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    case = relationship("Case")


class CallRecord(Base):
    """A call-center call and its result (架電・応答内容; extended by the call-center work)."""

    __tablename__ = "call_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    called_at: Mapped[dt.datetime] = mapped_column(DateTime)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    phone_number: Mapped[str] = mapped_column(String(20), default="")
    result: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempts.id"), index=True)

    case: Mapped[Case] = relationship(back_populates="calls")


class CallCampaign(Base):
    """納付案内計画. Membership of an active campaign is what lets operators see a case."""

    __tablename__ = "call_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus, "campaign_status"), default=CampaignStatus.draft)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    criteria: Mapped[str] = mapped_column(Text, default="{}")  # the case filter, JSON
    # Calling hours (JST); no Saturday calls when saturday_start is None; never
    # on Sundays or national holidays.
    weekday_start: Mapped[dt.time] = mapped_column(Time, default=dt.time(9, 0))
    weekday_end: Mapped[dt.time] = mapped_column(Time, default=dt.time(20, 0))
    saturday_start: Mapped[dt.time | None] = mapped_column(Time, default=dt.time(9, 0))
    saturday_end: Mapped[dt.time | None] = mapped_column(Time, default=dt.time(17, 0))
    max_attempts: Mapped[int] = mapped_column(Integer, default=6)
    min_interval_minutes: Mapped[int] = mapped_column(Integer, default=240)
    daily_limit: Mapped[int] = mapped_column(Integer, default=2)   # calls per person per day
    weekly_limit: Mapped[int] = mapped_column(Integer, default=5)  # ... per week

    @hybrid_method
    def active_on(self, day: dt.date) -> bool:
        """THE rule "this campaign is running on ``day``": activated and inside
        its dates. Operators reach a campaign's cases only then (see
        intranet.cases.scopes); usable in Python and in SQL."""
        return self.status == CampaignStatus.active and self.starts_on <= day <= self.ends_on

    @active_on.expression
    def active_on(cls, day: dt.date):
        return and_(cls.status == CampaignStatus.active, cls.starts_on <= day, cls.ends_on >= day)


class CampaignCase(Base):
    __tablename__ = "campaign_cases"
    __table_args__ = (UniqueConstraint("campaign_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("call_campaigns.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("call_targets.id"), index=True)

    case: Mapped[Case] = relationship()
    target = relationship("CallTarget", back_populates="members")
