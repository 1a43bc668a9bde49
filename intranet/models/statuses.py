"""Collection statuses of a case (徴収猶予, 執行停止, 破産, ...): a history of
periods, each with its kind, dates, legal basis, reason and who recorded it.
What each kind excludes the case from, and who may see it, is decided in one
place: :mod:`intranet.cases.statuses`."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, str_enum


class StatusKind(enum.StrEnum):
    deferral = "deferral"                          # 徴収猶予 (地方税法15条)
    realization_deferral = "realization_deferral"  # 換価の猶予 (15条の5 職権, 15条の6 申請)
    suspension = "suspension"                      # 滞納処分の執行停止 (15条の7)
    seizure = "seizure"                            # 差押中
    claim = "claim"                                # 交付要求中
    bankruptcy = "bankruptcy"                      # 破産手続中
    deceased = "deceased"                          # 死亡・相続人調査中
    write_off = "write_off"                        # 不納欠損


class StatusPeriod(Base):
    __tablename__ = "case_status_periods"
    __table_args__ = (Index("ix_case_status_periods_case_kind", "case_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[StatusKind] = mapped_column(str_enum(StatusKind, "status_kind"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)   # None: still in force
    legal_basis: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: data link
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Counts (excludes the case) only once approved: at once, unless the ward
    # wants a supervisor's approval (intranet.statuses.require_approval).
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    case = relationship("Case")
    recorder = relationship("User", foreign_keys=[recorded_by])
    approver = relationship("User", foreign_keys=[approved_by])

    @property
    def pending(self) -> bool:
        return self.approved_at is None

    def in_force_on(self, day: dt.date) -> bool:
        return (not self.pending and self.starts_on <= day
                and (self.ends_on is None or day <= self.ends_on))
