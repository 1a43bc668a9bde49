"""Screening flags (issue 23): free text kept although it names a forbidden
category (seed 004 収集禁止事項; 要配慮個人情報, 個人情報保護法2条3項).

A writer whose text matched the term list (:mod:`intranet.screening`) and
who confirmed why the words are needed leaves one flag per field: which
record and field, the terms and their categories, the reason, who and when.
A collector then keeps the text (確認済) or redacts the terms; until then the
field is left out of exports.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, str_enum


class ScreenedRecord(enum.StrEnum):
    survey_report = "survey_report"    # 調査報告 (survey_reports.id)
    call_attempt = "call_attempt"      # 架電・受電の記録 (call_attempts.id)
    contact_record = "contact_record"  # 経過記録 (contact_records.id)


class FlagState(enum.StrEnum):
    pending = "pending"    # 確認待ち: left out of exports
    kept = "kept"          # 確認済（記録を残す）
    redacted = "redacted"  # 語句を伏せ字にした


class ScreeningFlag(Base):
    __tablename__ = "screening_flags"
    __table_args__ = (Index("ix_screening_flags_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[ScreenedRecord] = mapped_column(str_enum(ScreenedRecord, "screened_record"))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    # The case the text is about (None: an incoming call without a case).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    categories: Mapped[str] = mapped_column(String(200))   # category keys, comma-separated
    terms: Mapped[str] = mapped_column(String(1000))       # the list's terms, "・"-separated
    reason: Mapped[str] = mapped_column(String(200))
    flagged_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    flagged_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    # The writer's organisation (the monthly log review counts per organisation).
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    state: Mapped[FlagState] = mapped_column(str_enum(FlagState, "screening_state"), index=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    writer = relationship("User", foreign_keys=[flagged_by], lazy="joined")
    reviewer = relationship("User", foreign_keys=[reviewed_by])
    case = relationship("Case")
    organisation = relationship("Organisation")

    @property
    def category_list(self) -> list[str]:
        return [c for c in self.categories.split(",") if c]

    @property
    def term_list(self) -> list[str]:
        return [t for t in self.terms.split("・") if t]
