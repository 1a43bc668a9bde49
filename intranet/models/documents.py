"""Documents issued to taxpayers: payment slips (納付書再発行) and dunning
letters (催告書) printed in batches, enclosed and sealed (封入封緘)."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, str_enum


class DocumentKind(enum.StrEnum):
    slip = "slip"      # 納付書（再発行）
    letter = "letter"  # 催告書


class BatchStatus(enum.StrEnum):
    printed = "printed"          # generated, waiting for enclosure
    sealed = "sealed"            # counted envelopes matched
    discrepancy = "discrepancy"  # counted envelopes did not match: stays open


class ReturnReason(enum.StrEnum):
    """郵便返戻: why the post office returned a letter or slip (issue 20)."""

    no_address = "no_address"  # 宛所なし（あて所に尋ねあたりません）
    moved = "moved"            # 転居先不明
    refused = "refused"        # 受取拒否
    other = "other"            # その他（保管期間経過など）


class LetterBatch(Base):
    __tablename__ = "letter_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    deadline: Mapped[dt.date] = mapped_column(Date)
    letters: Mapped[int] = mapped_column(Integer)
    status: Mapped[BatchStatus] = mapped_column(str_enum(BatchStatus, "batch_status"))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    counted: Mapped[int | None] = mapped_column(Integer)  # envelopes counted at sealing
    sealed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sealed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")

    creator = relationship("User", foreign_keys=[created_by])
    documents: Mapped[list[IssuedDocument]] = relationship(back_populates="batch",
                                                           order_by="IssuedDocument.id")


class IssuedDocument(Base):
    """One slip or letter: what was printed for which case (帳票発行記録)."""

    __tablename__ = "issued_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, "document_kind"))
    doc_no: Mapped[str] = mapped_column(String(20), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("letter_batches.id"), index=True)
    issued_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    deadline: Mapped[dt.date] = mapped_column(Date)
    installments: Mapped[str] = mapped_column(Text)  # JSON: [{id, period, tax, late_charge}]
    tax_total: Mapped[int] = mapped_column(Integer)
    late_charge_total: Mapped[int] = mapped_column(Integer)
    fee: Mapped[int] = mapped_column(Integer, default=0)  # 督促手数料
    # 郵便返戻 (issue 20): the post office returned it; recorded by a collector
    # (returned_by) or imported (mail_returns.csv, returned_by None).
    returned_on: Mapped[dt.date | None] = mapped_column(Date)
    return_reason: Mapped[ReturnReason | None] = mapped_column(str_enum(ReturnReason, "return_reason"))
    returned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case = relationship("Case")
    batch: Mapped[LetterBatch | None] = relationship(back_populates="documents")
