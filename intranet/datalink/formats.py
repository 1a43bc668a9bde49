"""The files of the data link: one CSV per entity, its columns, their types,
and the natural key each row is matched on (see docs/data-link.md)."""
from __future__ import annotations

from dataclasses import dataclass

from ..models.statuses import StatusKind


@dataclass(frozen=True)
class Column:
    name: str
    # text (kept as written, surrounding spaces removed) | code (numbers and
    # keys: full-width digits and letters made ASCII) | date | datetime |
    # amount | int | choice
    kind: str = "text"
    required: bool = True
    max_length: int = 200
    choices: tuple[str, ...] = ()
    # A column added later: a file written before it may leave it out of its
    # header, and then what is stored is left as it is.
    may_be_absent: bool = False


@dataclass(frozen=True)
class FileSpec:
    name: str                     # taxpayers → taxpayers.csv
    columns: tuple[Column, ...]
    key: tuple[str, ...]          # natural key: at most one row per key
    parent: tuple[str, tuple[str, ...]] | None = None  # (file, columns) that must exist

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


C = Column
TAX_TYPES = ("resident", "light_vehicle")
AGREEMENT_STATUSES = ("active", "ended")
RETURN_REASONS = ("no_address", "moved", "refused", "other")  # 宛所なし, 転居先不明, 受取拒否, その他

#: Columns added to existing files (issue 19): files written before them
#: still import and leave what is stored for them as it is.
RESIDENT_RECORD = (
    C("resident_no", "code", required=False, max_length=20, may_be_absent=True),
    C("head_of_household", required=False, may_be_absent=True),
    C("relationship_to_head", required=False, max_length=40, may_be_absent=True),
    C("ward_address", required=False, max_length=300, may_be_absent=True),
    C("previous_address", required=False, max_length=300, may_be_absent=True),
    C("became_resident_on", "date", required=False, may_be_absent=True),
    C("address_since", "date", required=False, may_be_absent=True),
    C("record_change_reason", required=False, max_length=100, may_be_absent=True),
    C("record_changed_on", "date", required=False, may_be_absent=True),
    C("moved_out_on", "date", required=False, may_be_absent=True),
)
EMPLOYMENT = (
    C("occupation", required=False, max_length=100, may_be_absent=True),
    C("employer_name", required=False, may_be_absent=True),
    C("employer_address", required=False, max_length=300, may_be_absent=True),
    C("employer_phone", "code", required=False, max_length=20, may_be_absent=True),
)
VEHICLE = (
    C("vehicle_id_no", "code", required=False, max_length=40, may_be_absent=True),
    C("vehicle_kind", required=False, max_length=40, may_be_absent=True),
    C("vehicle_name", required=False, max_length=60, may_be_absent=True),
    C("displacement_cc", "int", required=False, may_be_absent=True),
    C("garage_address", required=False, max_length=300, may_be_absent=True),
    C("plate_no", required=False, max_length=40, may_be_absent=True),
)

FILES: tuple[FileSpec, ...] = (
    FileSpec("taxpayers", (
        C("taxpayer_no", "code", max_length=20), C("kind", "choice", choices=("individual", "corporation")),
        C("name"), C("name_kana", required=False), C("postal_code", "code", max_length=8),
        C("address", max_length=300), C("address_extra", required=False),
        C("residency", "choice", choices=("ward", "moved_out")),
        C("birth_date", "date", required=False), C("gender", required=False, max_length=10),
        C("household_no", "code", required=False, max_length=20),
        # the taxpayer_no of the record this one duplicates (same person)
        C("same_person_as", "code", required=False, max_length=20, may_be_absent=True),
        # 住民記録 (資料1 基本情報): 住民番号, 世帯主氏名, 続柄, 区内住所, 転入前住所,
        # 区民となった日, 住所を定めた日, 住民記録の変更事由・変更日, 転出日
        *RESIDENT_RECORD,
        # 職業, 勤務先の名称・住所・電話番号
        *EMPLOYMENT,
    ), key=("taxpayer_no",)),
    FileSpec("phones", (
        C("taxpayer_no", "code", max_length=20), C("number", "code", max_length=20),
        C("kind", "choice", choices=("home", "mobile", "work", "other")),
    ), key=("taxpayer_no", "number"), parent=("taxpayers", ("taxpayer_no",))),
    FileSpec("mailing_addresses", (
        C("taxpayer_no", "code", max_length=20), C("name"), C("postal_code", "code", required=False, max_length=8),
        C("address", max_length=300),
    ), key=("taxpayer_no",), parent=("taxpayers", ("taxpayer_no",))),
    FileSpec("corporations", (
        C("taxpayer_no", "code", max_length=20), C("name"), C("postal_code", "code", required=False, max_length=8),
        C("location", max_length=300), C("phone", "code", required=False, max_length=20),
        C("designation_no", "code", required=False, max_length=20),
    ), key=("taxpayer_no",), parent=("taxpayers", ("taxpayer_no",))),
    FileSpec("representatives", (
        C("taxpayer_no", "code", max_length=20), C("kind", "choice", choices=("tax_administrator", "heir")),
        C("name"), C("postal_code", "code", required=False, max_length=8),
        C("address", required=False, max_length=300), C("phone", "code", required=False, max_length=20),
        C("registered_on", "date", required=False),
    ), key=("taxpayer_no", "kind", "name"), parent=("taxpayers", ("taxpayer_no",))),
    # 外国人住民 (資料1 基本情報): 外国人登録番号, 通称名, 国籍, 在留資格, 在留期間
    FileSpec("foreign_residents", (
        C("taxpayer_no", "code", max_length=20), C("registration_no", "code", required=False, max_length=20),
        C("alias_name", required=False), C("nationality", max_length=100),
        C("residence_status", required=False, max_length=100), C("stay_until", "date", required=False),
    ), key=("taxpayer_no",), parent=("taxpayers", ("taxpayer_no",))),
    FileSpec("cases", (
        C("case_no", "code", max_length=11), C("taxpayer_no", "code", max_length=20), C("opened_on", "date"),
        C("delinquency_category", required=False, max_length=40),
        C("assigned_staff", required=False, max_length=100),
    ), key=("case_no",), parent=("taxpayers", ("taxpayer_no",))),
    FileSpec("assessments", (
        C("notice_no", "code", max_length=20), C("case_no", "code", max_length=11),
        C("tax_type", "choice", choices=TAX_TYPES), C("fiscal_year", "int"),
        C("applicable_year", "int"), C("annual_amount", "amount"),
        # 軽自動車税課税情報: 車体識別番号, 車種, 車名, 排気量, 定置場, 標識番号
        *VEHICLE,
    ), key=("notice_no",), parent=("cases", ("case_no",))),
    FileSpec("installments", (
        C("notice_no", "code", max_length=20), C("period_no", "int"), C("due_date", "date"),
        C("tax_amount", "amount"), C("late_charge_amount", "amount", required=False),
        C("dunning_sent_on", "date", required=False, may_be_absent=True),  # 督促状発付日
    ), key=("notice_no", "period_no"), parent=("assessments", ("notice_no",))),
    FileSpec("receipts", (
        C("receipt_no", "code", max_length=20), C("notice_no", "code", max_length=20), C("period_no", "int"),
        C("kind", "choice", choices=("tax", "late_charge")), C("received_on", "date"),
        C("posted_on", "date", required=False), C("amount", "amount"),
    ), key=("receipt_no",), parent=("installments", ("notice_no", "period_no"))),
    FileSpec("direct_debits", (
        C("case_no", "code", max_length=11), C("bank_name", max_length=100), C("branch_name", max_length=100),
        C("account_holder"), C("start_fiscal_year", "int"), C("start_period_no", "int"),
        C("cancelled_on", "date", required=False), C("failure_reason", required=False, max_length=100),
        C("registered_on", "date", required=False, may_be_absent=True),  # 口座登録日 (issue 20)
    ), key=("case_no", "start_fiscal_year", "start_period_no"), parent=("cases", ("case_no",))),
    FileSpec("contact_history", (
        C("record_no", "code", max_length=20), C("case_no", "code", max_length=11),
        C("kind", "choice", choices=("visit", "negotiation", "document", "other",
                                     "counter", "phone", "letter_received")),
        C("occurred_at", "datetime"), C("place", required=False), C("counterpart", required=False),
        C("content", required=False, max_length=4000), C("staff_name", required=False, max_length=100),
    ), key=("record_no",), parent=("cases", ("case_no",))),
    # 分割納付約束の有無及びその内容 (資料1 収納情報)
    FileSpec("payment_agreements", (
        C("case_no", "code", max_length=11), C("agreed_on", "date"), C("first_due_on", "date"),
        C("instalment_amount", "amount"), C("instalment_count", "int"),
        C("status", "choice", choices=AGREEMENT_STATUSES),
        C("note", required=False, max_length=1000),
    ), key=("case_no", "agreed_on"), parent=("cases", ("case_no",))),
    # 分納予定 (issue 20): the schedule of a plan, one row per payment. A plan
    # named here gets exactly these rows; a plan never named gets the
    # schedule its agreement's summary implies (docs/collections.md).
    FileSpec("payment_plan_schedule", (
        C("case_no", "code", max_length=11), C("agreed_on", "date"), C("due_on", "date"),
        C("amount", "amount"),
    ), key=("case_no", "agreed_on", "due_on"), parent=("payment_agreements", ("case_no", "agreed_on"))),
    # 徴収状態 (intranet/cases/statuses.py); an optional file like every other
    FileSpec("case_statuses", (
        C("case_no", "code", max_length=11), C("kind", "choice", choices=tuple(k.value for k in StatusKind)),
        C("starts_on", "date"), C("ends_on", "date", required=False),
        C("reason", required=False, max_length=1000),
    ), key=("case_no", "kind", "starts_on"), parent=("cases", ("case_no",))),
    # 郵便返戻 of this system's letters and slips (issue 20; intranet/datalink/mail_returns.py)
    FileSpec("mail_returns", (
        C("doc_no", "code", max_length=20), C("case_no", "code", max_length=11),
        C("returned_on", "date"), C("reason", "choice", choices=RETURN_REASONS),
    ), key=("doc_no",), parent=("cases", ("case_no",))),
)

BY_NAME = {spec.name: spec for spec in FILES}
BY_FILENAME = {spec.filename: spec for spec in FILES}
