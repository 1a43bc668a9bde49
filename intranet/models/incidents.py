"""事故報告 (issue 25): a contractor's report of an incident in its work
(seed 000 特記事項11, seed 004 特記事項19: 「速やかに甲に対して通知するとともに、
その状況について書面をもって報告し、甲の指示に従う」), the ward supervisor's
acknowledgement with instructions (指示), and its closing.

The affected cases and media are rows, chosen from what the reporter may
reach, never typed personal data; the free text says what happened and
what was done, and is screened like every contractor's free text."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import DateTime, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, str_enum


class IncidentKind(enum.StrEnum):
    """What went wrong (the form's choice; the label is ``incident.kind.<value>``)."""

    wrong_person = "wrong_person"      # 誤架電・本人以外への案内
    missent_letter = "missent_letter"  # 誤送付
    medium = "medium"                  # 媒体の紛失・毀損
    unauthorised = "unauthorised"      # 不正アクセス・目的外利用
    other = "other"                    # その他


class IncidentState(enum.StrEnum):
    """filed → acknowledged → closed (:mod:`intranet.incidents.service`)."""

    filed = "filed"                # 報告済: waiting for the ward
    acknowledged = "acknowledged"  # 受理・指示済
    closed = "closed"              # 完了


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The reporter's organisation (who reads it besides the ward) and, for
    # contractor staff under a contract, that contract.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    kind: Mapped[IncidentKind] = mapped_column(str_enum(IncidentKind, "incident_kind"))
    state: Mapped[IncidentState] = mapped_column(str_enum(IncidentState, "incident_state"), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)     # UTC
    discovered_at: Mapped[dt.datetime] = mapped_column(DateTime)   # UTC
    description: Mapped[str] = mapped_column(Text)                 # 事故の状況
    first_actions: Mapped[str] = mapped_column(Text)               # 初動対応
    filed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    instructions: Mapped[str] = mapped_column(Text, default="")    # 区の指示
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closing_note: Mapped[str] = mapped_column(Text, default="")    # 完了時の確認・再発防止策

    organisation = relationship("Organisation")
    contract = relationship("Contract")
    reporter = relationship("User", foreign_keys=[filed_by])
    acknowledger = relationship("User", foreign_keys=[acknowledged_by])
    closer = relationship("User", foreign_keys=[closed_by])
    cases: Mapped[list[IncidentCase]] = relationship(back_populates="incident", order_by="IncidentCase.id",
                                                     cascade="all, delete-orphan")
    media: Mapped[list[IncidentMedium]] = relationship(back_populates="incident",
                                                       order_by="IncidentMedium.id",
                                                       cascade="all, delete-orphan")


class IncidentCase(Base):
    """A case the incident affected (chosen within the reporter's scope)."""

    __tablename__ = "incident_cases"
    __table_args__ = (UniqueConstraint("incident_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)

    incident: Mapped[Incident] = relationship(back_populates="cases")
    case = relationship("Case")


class IncidentMedium(Base):
    """A medium of the ledger the incident involved (the survey contractor's)."""

    __tablename__ = "incident_media"
    __table_args__ = (UniqueConstraint("incident_id", "medium_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    medium_id: Mapped[int] = mapped_column(ForeignKey("media.id"), index=True)

    incident: Mapped[Incident] = relationship(back_populates="media")
    medium = relationship("Medium")
