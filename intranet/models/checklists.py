"""確認記録票: the record of an on-site inspection of a contractor
(特記事項 15–17, at least once a fiscal year), one result per protection."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .meta import Base, str_enum


class CheckResult(enum.StrEnum):
    met = "met"                        # 適合
    not_met = "not_met"                # 不適合
    not_applicable = "not_applicable"  # 該当なし


class InspectionChecklist(Base):
    """One inspection of one contractor organisation on one day. Once
    completed (``completed_at`` set) it is final and no longer edited.

    ``evidence_taken_at`` is when the system's records shown next to the
    items were kept with it (each item's ``evidence_snapshot``): at
    completion. None on a completed checklist means it was completed before
    snapshots existed (migration 0031), so what it showed is unknown."""

    __tablename__ = "inspection_checklists"
    __table_args__ = (UniqueConstraint("organisation_id", "inspected_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    inspected_on: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200), default="")
    inspectors: Mapped[str] = mapped_column(String(400), default="")            # ward staff, auditors
    contractor_attendees: Mapped[str] = mapped_column(String(400), default="")
    overall_note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    evidence_taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # issue 23

    organisation = relationship("Organisation")
    contract = relationship("Contract")
    creator = relationship("User", foreign_keys=[created_by])
    completer = relationship("User", foreign_keys=[completed_by])
    items: Mapped[list[InspectionChecklistItem]] = relationship(
        back_populates="checklist", order_by="InspectionChecklistItem.position",
        cascade="all, delete-orphan")

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class InspectionChecklistItem(Base):
    """The result of one protection (a code of intranet.audit.checklist.ITEMS);
    ``result`` stays empty until the inspector decides."""

    __tablename__ = "inspection_checklist_items"
    __table_args__ = (UniqueConstraint("checklist_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Named by hand: the conventional name would exceed PostgreSQL's 63 characters.
    checklist_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_checklists.id", name="fk_inspection_checklist_items_checklist_id"),
        index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    result: Mapped[CheckResult | None] = mapped_column(str_enum(CheckResult, "check_result"))
    note: Mapped[str] = mapped_column(String(400), default="")
    # JSON list of the facts shown next to the item when the checklist was
    # completed: [{"key", "params", "ja"}] (intranet.audit.checklist.snapshot).
    # Written once; None while a draft or if completed before issue 23.
    evidence_snapshot: Mapped[str | None] = mapped_column(Text)

    checklist: Mapped[InspectionChecklist] = relationship(back_populates="items")

    @validates("evidence_snapshot")
    def _written_once(self, _name, value):
        """A kept snapshot is the record of what the inspector saw: never replaced."""
        if self.evidence_snapshot is not None and value != self.evidence_snapshot:
            raise ValueError("a checklist item's evidence snapshot cannot be changed")
        return value
