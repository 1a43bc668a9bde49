"""Taxpayers and the person-level items of 資料1 (基本情報, 送付先, 法人, 納税管理人・相続人).

Column comments name the 資料1 item; security/matrix.py groups them into facets.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..text import address_key
from .meta import Base, str_enum


def trigram_index(name: str, column: str) -> Index:
    """A substring-search index: pg_trgm GIN on PostgreSQL (LIKE '%term%'
    uses it; the extension is created by migration 0027, never at run
    time), a plain index elsewhere."""
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


class TaxpayerKind(enum.StrEnum):
    individual = "individual"
    corporation = "corporation"


class Residency(enum.StrEnum):
    ward = "ward"            # lives in the ward
    moved_out = "moved_out"  # 区外転出


class PhoneKind(enum.StrEnum):
    home = "home"
    mobile = "mobile"
    work = "work"
    other = "other"


class RepresentativeKind(enum.StrEnum):
    tax_administrator = "tax_administrator"  # 納税管理人
    heir = "heir"                            # 相続人



class Taxpayer(Base):
    __tablename__ = "taxpayers"
    __table_args__ = (trigram_index("ix_taxpayers_search_address", "search_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    taxpayer_no: Mapped[str] = mapped_column(String(20), unique=True)  # 宛名番号 (data-link key)
    kind: Mapped[TaxpayerKind] = mapped_column(str_enum(TaxpayerKind, "taxpayer_kind"))

    # identity: 氏名, カナ, 郵便番号, 住所 (current residence; 転出後住所 for movers-out), 方書
    name: Mapped[str] = mapped_column(String(200))
    name_kana: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    address_extra: Mapped[str] = mapped_column(String(200), default="")  # 方書
    residency: Mapped[Residency] = mapped_column(str_enum(Residency, "residency"), default=Residency.ward)
    # Width/kana-folded copies for search (see intranet.text.fold).
    search_name: Mapped[str] = mapped_column(String(200), default="", index=True)
    search_kana: Mapped[str] = mapped_column(String(200), default="", index=True)
    # 住所 and 方書 in one notation (intranet.text.address_key), kept by
    # :func:`_keep_search_address` and by the bulk writers (data link, demo data).
    search_address: Mapped[str] = mapped_column(String(600), default="")

    # verification: 生年月日, 性別
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(10))

    # resident_record: 住民番号, 世帯番号, 世帯主氏名, 続柄, 区内住所, 転入前住所,
    # 区民となった日, 住所を定めた日, 住民記録の変更事由・変更日, 転出日
    resident_no: Mapped[str | None] = mapped_column(String(20))
    household_no: Mapped[str | None] = mapped_column(String(20), index=True)
    # The taxpayer_no of the record this one duplicates (the same person
    # recorded twice in the delinquency system), from the data link.
    same_person_as: Mapped[str | None] = mapped_column(String(20), index=True)
    head_of_household: Mapped[str | None] = mapped_column(String(200))
    relationship_to_head: Mapped[str | None] = mapped_column(String(40))
    ward_address: Mapped[str | None] = mapped_column(String(300))
    previous_address: Mapped[str | None] = mapped_column(String(300))
    became_resident_on: Mapped[dt.date | None] = mapped_column(Date)
    address_since: Mapped[dt.date | None] = mapped_column(Date)
    record_change_reason: Mapped[str | None] = mapped_column(String(100))
    record_changed_on: Mapped[dt.date | None] = mapped_column(Date)
    moved_out_on: Mapped[dt.date | None] = mapped_column(Date)

    # employment: 職業, 勤務先の名称・住所・電話番号
    occupation: Mapped[str | None] = mapped_column(String(100))
    employer_name: Mapped[str | None] = mapped_column(String(200))
    employer_address: Mapped[str | None] = mapped_column(String(300))
    employer_phone: Mapped[str | None] = mapped_column(String(20))

    phones: Mapped[list[Phone]] = relationship(
        back_populates="taxpayer", order_by="Phone.id", cascade="all, delete-orphan")
    mailing_address: Mapped[MailingAddress | None] = relationship(
        back_populates="taxpayer", cascade="all, delete-orphan")
    foreign_resident: Mapped[ForeignResidentRecord | None] = relationship(
        back_populates="taxpayer", cascade="all, delete-orphan")
    corporation: Mapped[Corporation | None] = relationship(
        back_populates="taxpayer", cascade="all, delete-orphan")
    representatives: Mapped[list[Representative]] = relationship(
        back_populates="taxpayer", order_by="Representative.id", cascade="all, delete-orphan")


class Phone(Base):
    """電話番号: a taxpayer may have several."""

    __tablename__ = "phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(ForeignKey("taxpayers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    digits: Mapped[str] = mapped_column(String(20), index=True)  # digits only, for search
    kind: Mapped[PhoneKind] = mapped_column(str_enum(PhoneKind, "phone_kind"), default=PhoneKind.home)
    note: Mapped[str] = mapped_column(String(200), default="")
    # Marked by an operator's "wrong number" result; never called again.
    unusable: Mapped[bool] = mapped_column(Boolean, default=False)

    taxpayer: Mapped[Taxpayer] = relationship(back_populates="phones")


class MailingAddress(Base):
    """送付先情報: 送付先名称, 送付先住所."""

    __tablename__ = "mailing_addresses"
    __table_args__ = (trigram_index("ix_mailing_addresses_search_address", "search_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    address: Mapped[str] = mapped_column(String(300))
    search_address: Mapped[str] = mapped_column(String(600), default="")  # address_key(address)

    taxpayer: Mapped[Taxpayer] = relationship(back_populates="mailing_address")


class ForeignResidentRecord(Base):
    """外国人住民: 外国人登録番号, 通称名, 国籍, 在留資格, 在留期間."""

    __tablename__ = "foreign_resident_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), unique=True)
    registration_no: Mapped[str | None] = mapped_column(String(20))
    alias_name: Mapped[str | None] = mapped_column(String(200))
    nationality: Mapped[str] = mapped_column(String(100))
    residence_status: Mapped[str | None] = mapped_column(String(100))
    stay_until: Mapped[dt.date | None] = mapped_column(Date)

    taxpayer: Mapped[Taxpayer] = relationship(back_populates="foreign_resident")


class Corporation(Base):
    """法人情報: 郵便番号, 所在地, 名称, 電話番号, 指定番号."""

    __tablename__ = "corporations"

    id: Mapped[int] = mapped_column(primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    location: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    designation_no: Mapped[str | None] = mapped_column(String(20))

    taxpayer: Mapped[Taxpayer] = relationship(back_populates="corporation")


class Representative(Base):
    """納税管理人・相続人: 種別, 郵便番号, 住所, 氏名, 電話番号, 登録年月日."""

    __tablename__ = "representatives"

    id: Mapped[int] = mapped_column(primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(ForeignKey("taxpayers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RepresentativeKind] = mapped_column(str_enum(RepresentativeKind, "representative_kind"))
    name: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(8), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    registered_on: Mapped[dt.date | None] = mapped_column(Date)

    taxpayer: Mapped[Taxpayer] = relationship(back_populates="representatives")


def taxpayer_search_address(address: str | None, address_extra: str | None) -> str:
    """``Taxpayer.search_address``: 住所 and 方書 of the identity facet."""
    return address_key(f"{address or ''} {address_extra or ''}")


@event.listens_for(Taxpayer, "before_insert")
@event.listens_for(Taxpayer, "before_update")
def _keep_search_address(mapper, connection, target: Taxpayer) -> None:
    """Every ORM write of an address refreshes its search form (factories,
    any edit); bulk writers call :func:`taxpayer_search_address` themselves."""
    target.search_address = taxpayer_search_address(target.address, target.address_extra)


@event.listens_for(MailingAddress, "before_insert")
@event.listens_for(MailingAddress, "before_update")
def _keep_mailing_search_address(mapper, connection, target: MailingAddress) -> None:
    target.search_address = address_key(target.address)
