"""Field survey of movers-out (区外転出者の現地調査, seed 004): survey batches,
the targets assigned to each investigator, reports, media and slips. The
contract itself is any contractor's (:mod:`intranet.models.contracts`)."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .contracts import Contract, ErasureRecord  # noqa: F401  (moved, issue 25)
from .meta import Base, str_enum


class BatchState(enum.StrEnum):
    draft = "draft"    # being assigned
    open = "open"      # investigators see their targets
    closed = "closed"


class SurveyBatch(Base):
    __tablename__ = "survey_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    deadline: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[BatchState] = mapped_column(str_enum(BatchState, "survey_batch_state"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

    contract: Mapped[Contract] = relationship()
    targets: Mapped[list[SurveyTarget]] = relationship(back_populates="batch",
                                                       order_by="SurveyTarget.id")


class SurveyTargetState(enum.StrEnum):
    pending = "pending"
    reported = "reported"
    closed = "closed"   # after erasure, or the batch was closed


class SurveyTarget(Base):
    __tablename__ = "survey_targets"
    __table_args__ = (UniqueConstraint("batch_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("survey_batches.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    investigator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    area: Mapped[str] = mapped_column(String(60))  # prefecture + city, for assignment by area
    state: Mapped[SurveyTargetState] = mapped_column(
        str_enum(SurveyTargetState, "survey_target_state"))

    batch: Mapped[SurveyBatch] = relationship(back_populates="targets")
    case = relationship("Case")
    investigator = relationship("User", foreign_keys=[investigator_id])


class SurveyReport(Base):
    """One version of the report on a target; a correction is a new version."""

    __tablename__ = "survey_reports"
    __table_args__ = (UniqueConstraint("target_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("survey_targets.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    visited_at: Mapped[dt.datetime] = mapped_column(DateTime)       # UTC
    residence: Mapped[str] = mapped_column(String(12))              # lives | not_living | unknown
    nameplate: Mapped[str] = mapped_column(String(12))              # present | absent
    nameplate_name: Mapped[str] = mapped_column(String(100), default="")
    tenure: Mapped[str] = mapped_column(String(12))                 # rented | owned | unknown
    landlord_name: Mapped[str] = mapped_column(String(200), default="")
    landlord_contact: Mapped[str] = mapped_column(String(200), default="")
    slip_handed_to: Mapped[str] = mapped_column(String(100), default="")  # 連絡票の手渡し
    memo: Mapped[str] = mapped_column(Text, default="")

    submitter = relationship("User", foreign_keys=[submitted_by])
    photos: Mapped[list[SurveyPhoto]] = relationship(back_populates="report",
                                                     order_by="SurveyPhoto.id")


class SurveyPhoto(Base):
    """A photo of the house, re-encoded without any metadata and stored
    outside the web root under its SHA-256."""

    __tablename__ = "survey_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("survey_reports.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)

    report: Mapped[SurveyReport] = relationship(back_populates="photos")


class MediumState(enum.StrEnum):
    """Where a medium is (:mod:`intranet.survey.media` holds the transitions)."""

    registered = "registered"  # in the ward's hands, never lent
    lent = "lent"              # with the contractor (a to_contractor slip)
    returned = "returned"      # back with the ward (a confirmed to_ward slip), not yet wiped
    wiped = "wiped"            # 消去 in the presence of a witness: reusable
    disposed = "disposed"      # 廃棄: out of the ledger for good
    lost = "lost"              # 紛失, reported


class MediumEventKind(enum.StrEnum):
    registered = "registered"
    lent = "lent"
    returned = "returned"
    wiped = "wiped"
    disposed = "disposed"
    lost = "lost"
    found = "found"


class Medium(Base):
    """A removable medium (USBメモリ) in the media ledger: its state now, and
    the contract of its latest lending (None if never lent)."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(40), unique=True)  # the number written on it
    description: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[MediumState] = mapped_column(str_enum(MediumState, "medium_state"),
                                               default=MediumState.registered)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)

    events: Mapped[list[MediumEvent]] = relationship(back_populates="medium",
                                                     order_by="(MediumEvent.at, MediumEvent.id)")
    contract = relationship("Contract")


class MediumEvent(Base):
    """One entry of the ledger. ``contract_id`` is set on every event while
    the medium is or was with a contract (the lending's contract), ``slip_id``
    when a hand-over slip caused it; a wipe names its witness, a loss or a
    find carries its report."""

    __tablename__ = "medium_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    medium_id: Mapped[int] = mapped_column(ForeignKey("media.id"), index=True)
    kind: Mapped[MediumEventKind] = mapped_column(str_enum(MediumEventKind, "medium_event_kind"))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    slip_id: Mapped[int | None] = mapped_column(ForeignKey("handover_slips.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    witness: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    report: Mapped[str] = mapped_column(Text, default="")

    medium: Mapped[Medium] = relationship(back_populates="events")
    recorder = relationship("User")
    slip = relationship("HandoverSlip")


class HandoverSlip(Base):
    """受け渡し票: data handed between the ward and the contractor, confirmed
    in the system by a user of the receiving side."""

    __tablename__ = "handover_slips"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    direction: Mapped[str] = mapped_column(String(20))  # to_contractor | to_ward
    handed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    content: Mapped[str] = mapped_column(String(400))
    record_count: Mapped[int] = mapped_column(Integer)
    medium_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    handed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    contract: Mapped[Contract] = relationship()
    medium = relationship("Medium")
    sender = relationship("User", foreign_keys=[handed_by])
    confirmer = relationship("User", foreign_keys=[confirmed_by])
