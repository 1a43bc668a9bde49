"""口座振替の申込追跡 (direct-debit applications, issue 20).

An operator's or collector's 口座振替の案内 opens an application for the
case; it then goes through the steps below, each stored with its date, who
recorded it and how, until the bank registration arrives through the data
link (``direct_debits.csv``: 登録済) or the taxpayer gives up (取下げ). The
rules are in :mod:`intranet.cases.debits`.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, str_enum


class ApplicationState(enum.StrEnum):
    encouraged = "encouraged"  # 勧奨済（申込書未送付）
    form_sent = "form_sent"    # 申込書送付済
    returned = "returned"      # 返送受付（金融機関へ登録依頼中）
    deficient = "deficient"    # 不備（再提出待ち）
    registered = "registered"  # 登録済（データ連携で確認）
    withdrawn = "withdrawn"    # 取下げ・見送り


#: States an application leaves only by a step; the others are final.
OPEN_STATES = frozenset({ApplicationState.encouraged, ApplicationState.form_sent,
                         ApplicationState.returned, ApplicationState.deficient})
#: States waiting for a form to go to the taxpayer (a letter batch may enclose one).
AWAITING_FORM = frozenset({ApplicationState.encouraged, ApplicationState.deficient})


class FormSentVia(enum.StrEnum):
    hand = "hand"                  # 手交（窓口・訪問）
    mail = "mail"                  # 郵送（単独）
    letter_batch = "letter_batch"  # 催告書に同封


class DirectDebitApplication(Base):
    __tablename__ = "direct_debit_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    state: Mapped[ApplicationState] = mapped_column(
        str_enum(ApplicationState, "debit_application_state"), index=True)
    state_since: Mapped[dt.date] = mapped_column(Date)
    # The first encouragement: the report counts registrations from this day.
    encouraged_on: Mapped[dt.date] = mapped_column(Date, index=True)
    encouraged_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The call that encouraged it (None: a collector at the counter or on a visit).
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempts.id"))
    registered_on: Mapped[dt.date | None] = mapped_column(Date)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("direct_debit_accounts.id", ondelete="SET NULL"))

    case = relationship("Case")
    steps: Mapped[list[DirectDebitStep]] = relationship(
        back_populates="application", order_by="DirectDebitStep.id", cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class DirectDebitStep(Base):
    """One step of an application: its state from ``happened_on``, how (a form's
    route, the letter batch), a note, and who recorded it (None: the data link)."""

    __tablename__ = "direct_debit_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("direct_debit_applications.id", ondelete="CASCADE"), index=True)
    state: Mapped[ApplicationState] = mapped_column(
        str_enum(ApplicationState, "debit_step_state"))
    happened_on: Mapped[dt.date] = mapped_column(Date)
    via: Mapped[FormSentVia | None] = mapped_column(str_enum(FormSentVia, "debit_form_via"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("letter_batches.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)

    application: Mapped[DirectDebitApplication] = relationship(back_populates="steps")
    recorder = relationship("User")
