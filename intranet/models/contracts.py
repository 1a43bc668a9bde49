"""業務委託契約 of any contractor organisation (issue 25): the call center
(seed 000) and the field-survey servicer (seed 004) work under the same kind
of contract — purpose, period, named 個人情報取扱責任者 and 取扱者
(情報保護対策1), safeguards, staff education (特記事項10), return of
materials and erasure at the end (特記事項7) — and the contractor's leader
keeps a training plan (研修計画, 委託の内容7) with each person's completion."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, str_enum


class ContractKind(enum.StrEnum):
    """The work a contract entrusts; it decides which role its named
    handlers have (:data:`intranet.contracts.rules.HANDLER_ROLES`)."""

    call_center = "call_center"    # 納税コールセンター (operators)
    field_survey = "field_survey"  # 区外転出者の現地調査 (investigators)


class Contract(Base):
    """業務委託契約: who may handle the data, for what, and until when."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[ContractKind] = mapped_column(str_enum(ContractKind, "contract_kind"),
                                               default=ContractKind.field_survey)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    manager_name: Mapped[str] = mapped_column(String(100))     # 取扱責任者
    handler_names: Mapped[str] = mapped_column(Text)           # 取扱者, one per line
    protections: Mapped[str] = mapped_column(Text, default="")  # agreed safeguards
    training_required: Mapped[bool] = mapped_column(Boolean, default=True)
    # The creating user's id; no foreign key, as users already refer to contracts.
    created_by: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The end-of-contract record was filed (materials returned, data erased).
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    organisation = relationship("Organisation")
    users = relationship("User", back_populates="contract", foreign_keys="User.contract_id")

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as naive UTC: from midnight JST of the first day to
        midnight JST after the last."""
        from ..clock import jst_day_bounds

        return jst_day_bounds(self.starts_on, self.ends_on)


class ErasureRecord(Base):
    """The end of a contract (特記事項7): materials returned and the
    contractor-side data erased in the presence of ward staff, with the
    contractor's certificate. For the call center ``items`` lists what came
    back (printed letters not yet mailed, call lists, ...)."""

    __tablename__ = "erasure_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), unique=True)
    erased_on: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(200))
    witness_name: Mapped[str] = mapped_column(String(100))   # 職員立会
    items: Mapped[str] = mapped_column(Text)
    # Records erased at the contractor's (件数; None for records from before
    # revision 0030) and the devices used (タブレット等, one per line).
    records_erased: Mapped[int | None] = mapped_column(Integer)
    devices: Mapped[str] = mapped_column(Text, default="")
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    certificate_type: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)

    contract: Mapped[Contract] = relationship()


class TrainingPlan(Base):
    """研修計画 of one contractor organisation for one fiscal year (年度),
    drawn up by its leader (委託の内容7, 特記事項10)."""

    __tablename__ = "training_plans"
    __table_args__ = (UniqueConstraint("organisation_id", "fiscal_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

    organisation = relationship("Organisation")
    courses: Mapped[list[TrainingCourse]] = relationship(
        back_populates="plan", order_by="(TrainingCourse.held_on, TrainingCourse.id)")


class TrainingCourse(Base):
    """One course of a plan: when, by whom, what it covers, and whether
    completing it counts as the required training (従事者教育)."""

    __tablename__ = "training_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("training_plans.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    held_on: Mapped[dt.date] = mapped_column(Date)
    trainer: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

    plan: Mapped[TrainingPlan] = relationship(back_populates="courses")
