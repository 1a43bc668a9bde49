"""The campaign build as it was before issue 21 (per-case Python objects),
kept verbatim as the reference the set-based build must agree with
(tests/functional/test_campaign_build.py) and as the "before" of
bench/bench_campaign.py. Not used by the application."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import asdict, dataclass

from sqlalchemy import and_, case as sql_case, func, insert, select, text, update

from intranet.cases.statuses import Work, available_for
from intranet.models import (
    Assessment, CallCampaign, CallTarget, CampaignCase, CampaignStatus, Case, CaseStatus,
    Installment, Phone, QueueClass, Receipt, ReceiptKind, TargetStatus, Taxpayer, TaxType,
)
from intranet.taxes.owed import is_past_due

PHONE_KNOWN = ("any", "known", "unknown")
DELINQUENCY = ("any", "current", "past")


def fiscal_year(day: dt.date) -> int:
    """年度: April to March."""
    return day.year if day.month >= 4 else day.year - 1


@dataclass
class CampaignFilter:
    tax_type: str = ""               # "" | resident | light_vehicle
    fiscal_year: int | None = None   # 年度 of an unpaid installment
    delinquency: str = "any"         # any | current (現年度のみ) | past (滞納繰越あり)
    category: str = ""               # 滞納区分 (exact)
    balance_min: int | None = None
    balance_max: int | None = None
    phone: str = "any"               # any | known | unknown
    # 分納不履行のみ: cases whose active installment plan is 不履行 (issue 20)
    plan_defaulted: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


@dataclass
class Candidate:
    case_id: int
    taxpayer_id: int
    person: str          # the person's key: a taxpayer_no standing for all its records
    balance: int
    oldest_due_on: dt.date
    phone_id: int | None = None
    phone_digits: str | None = None


def open_campaign_case_ids():
    """Cases already in a campaign that is not closed (they are not taken twice)."""
    return (select(CampaignCase.case_id)
            .join(CallCampaign, CallCampaign.id == CampaignCase.campaign_id)
            .where(CallCampaign.status != CampaignStatus.closed))


def _unpaid_installments(case_ids_query, today: dt.date):
    """Installments that may still be owed, as (case_id, tax_type, fiscal_year,
    due_date, tax_unpaid, late_unpaid, last_tax_paid): a superset narrowed in
    SQL on the printed 納期限; :func:`_past_due_unpaid` applies the rule."""
    paid_tax = func.coalesce(func.sum(sql_case((Receipt.kind == ReceiptKind.tax, Receipt.amount),
                                               else_=0)), 0)
    paid_late = func.coalesce(func.sum(sql_case(
        (Receipt.kind == ReceiptKind.late_charge, Receipt.amount), else_=0)), 0)
    last_tax_paid = func.max(sql_case((Receipt.kind == ReceiptKind.tax, Receipt.received_on)))
    tax_unpaid = Installment.tax_amount - paid_tax > 0
    late_unpaid = Installment.late_charge_amount - paid_late > 0
    return (
        select(Assessment.case_id, Assessment.tax_type, Assessment.fiscal_year, Installment.due_date,
               tax_unpaid, late_unpaid,
               # 本税 paid late, no 延滞金 assessed or paid: a fixed charge
               # (intranet.taxes.owed) may be owed; Case.balance says if so
               sql_case(((Installment.late_charge_amount == 0) & (paid_late == 0), last_tax_paid)))
        .join(Installment, Installment.assessment_id == Assessment.id)
        .outerjoin(Receipt, Receipt.installment_id == Installment.id)
        # the printed 納期限 is never later than the shifted one: a superset
        .where(Assessment.case_id.in_(case_ids_query), Installment.due_date < today)
        .group_by(Installment.id, Assessment.case_id, Assessment.tax_type, Assessment.fiscal_year,
                  Installment.due_date, Installment.tax_amount, Installment.late_charge_amount)
        .having(and_(True, tax_unpaid | late_unpaid
                     | ((last_tax_paid > Installment.due_date)
                        & (Installment.late_charge_amount == 0) & (paid_late == 0))))
    )


def _past_due_unpaid(due: dt.date, today: dt.date, tax_unpaid, late_unpaid,
                     last_tax_paid: dt.date | None) -> bool:
    """Past its holiday-shifted 納期限 (THE rule: intranet.taxes.owed.is_past_due)
    and still owing 本税 or 延滞金, or its 本税 paid after that 納期限 (a fixed
    charge may be owed)."""
    if not is_past_due(due, today):
        return False
    return bool(tax_unpaid or late_unpaid
                or (last_tax_paid is not None and is_past_due(due, last_tax_paid)))


def plan_defaulted_clause():
    """Cases whose active installment plan is 不履行 (intranet.cases.plans)."""
    from sqlalchemy import exists

    from intranet.models import PaymentAgreement, PlanState

    return exists().where(PaymentAgreement.case_id == Case.id, PaymentAgreement.is_active.is_(True),
                          PaymentAgreement.state == PlanState.defaulted)


def matching_cases(dbsession, flt: CampaignFilter, today: dt.date) -> list[Candidate]:
    """The cases ``flt`` selects, with what grouping and ordering need."""
    conditions = [Case.status == CaseStatus.open, Case.balance > 0, Case.call_block.is_(None),
                  available_for(Work.calls, today), Case.id.not_in(open_campaign_case_ids())]
    if flt.plan_defaulted:
        conditions.append(plan_defaulted_clause())
    if flt.category:
        conditions.append(Case.delinquency_category == flt.category)
    if flt.balance_min is not None:
        conditions.append(Case.balance >= flt.balance_min)
    if flt.balance_max is not None:
        conditions.append(Case.balance <= flt.balance_max)
    base = select(Case.id).where(*conditions)

    unpaid = defaultdict(list)
    for case_id, tax_type, year, due, *owing in dbsession.execute(_unpaid_installments(base, today)):
        if _past_due_unpaid(due, today, *owing):
            unpaid[case_id].append((tax_type, year, due))
    current = fiscal_year(today)

    def selected(rows) -> bool:
        if not rows:
            return False
        if flt.tax_type and not any(t == TaxType(flt.tax_type) for t, _, _ in rows):
            return False
        if flt.fiscal_year and not any(y == flt.fiscal_year for _, y, _ in rows):
            return False
        if flt.delinquency == "current" and any(y < current for _, y, _ in rows):
            return False
        if flt.delinquency == "past" and not any(y < current for _, y, _ in rows):
            return False
        return True

    phones: dict[int, tuple[int, str]] = {}
    for phone_id, taxpayer_id, digits in dbsession.execute(
            select(Phone.id, Phone.taxpayer_id, Phone.digits)
            .where(Phone.taxpayer_id.in_(select(Case.taxpayer_id).where(*conditions)),
                   Phone.unusable.is_(False), Phone.digits != "")
            .order_by(Phone.taxpayer_id, Phone.id)):
        phones.setdefault(taxpayer_id, (phone_id, digits))

    person = same_person_keys(dbsession)
    candidates = []
    for case_id, taxpayer_id, taxpayer_no, balance in dbsession.execute(
            select(Case.id, Case.taxpayer_id, Taxpayer.taxpayer_no, Case.balance)
            .join(Taxpayer, Taxpayer.id == Case.taxpayer_id).where(*conditions).order_by(Case.id)):
        rows = unpaid.get(case_id)
        if not selected(rows):
            continue
        phone = phones.get(taxpayer_id)
        if flt.phone == "known" and phone is None or flt.phone == "unknown" and phone is not None:
            continue
        candidates.append(Candidate(
            case_id, taxpayer_id, person.get(taxpayer_no, taxpayer_no), balance,
            min(due for _, _, due in rows), *(phone or (None, None))))
    return candidates


def same_person_keys(dbsession) -> dict[str, str]:
    """{taxpayer_no: person key} for every record linked by ``same_person_as``
    (directly or through a chain); the key is the smallest taxpayer_no of the
    linked records. Unlinked taxpayers are their own key (absent here)."""
    parent: dict[str, str] = {}

    def find(no: str) -> str:
        parent.setdefault(no, no)
        while parent[no] != no:
            parent[no] = parent[parent[no]]
            no = parent[no]
        return no

    for no, other in dbsession.execute(select(Taxpayer.taxpayer_no, Taxpayer.same_person_as)
                                       .where(Taxpayer.same_person_as.is_not(None))):
        a, b = find(no), find(other)
        parent[max(a, b)] = min(a, b)
    return {no: find(no) for no in parent}


def group(candidates: list[Candidate]) -> list[list[Candidate]]:
    """名寄せ by person only: the cases of one taxpayer (any tax type or year)
    and of records the data link declares the same person form one group.

    Never by household (世帯番号) or a shared phone number: one call about
    several people would tell one adult of another's arrears, which 地方税法
    22条 (守秘義務) forbids. Each group is one person's cases (``build`` keys
    the target ``t:<taxpayer_no>``)."""
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for cand in candidates:
        groups[cand.person].append(cand)
    return list(groups.values())


def build(dbsession, campaign: CallCampaign, flt: CampaignFilter, today: dt.date,
          now: dt.datetime) -> dict[str, int]:
    """Create the campaign's targets and memberships; returns counts."""
    groups = group(matching_cases(dbsession, flt, today))
    campaign.criteria = flt.to_json()
    rows = []
    for members in groups:
        phone = next((m for m in members if m.phone_id), None)
        rows.append({
            "campaign_id": campaign.id,
            "group_key": f"t:{members[0].person}",
            "phone_id": phone.phone_id if phone else None,
            "status": TargetStatus.queued if phone else TargetStatus.no_phone,
            "queue_class": int(QueueClass.normal), "attempts": 0,
            "oldest_due_on": min(m.oldest_due_on for m in members),
            "balance_key": -sum(m.balance for m in members), "due_at": now,
            "day_count": 0, "week_count": 0,
        })
    if not rows:
        return {"cases": 0, "targets": 0, "no_phone": 0}
    # Plain executemany (fast on both backends), then the ids by group key,
    # which is unique within a campaign (one group per person).
    dbsession.execute(insert(CallTarget.__table__), rows)
    ids = dict(dbsession.execute(select(CallTarget.group_key, CallTarget.id)
                                 .where(CallTarget.campaign_id == campaign.id)).all())
    dbsession.execute(insert(CampaignCase.__table__), [
        {"campaign_id": campaign.id, "case_id": m.case_id, "target_id": ids[row["group_key"]]}
        for row, members in zip(rows, groups) for m in members])
    if dbsession.get_bind().dialect.name == "postgresql":
        # Fresh statistics, or the planner sorts every target instead of
        # walking the queue index (120 ms instead of 0.1 ms at 30,000 targets).
        dbsession.execute(text("ANALYZE call_targets, campaign_cases"))
    return {"cases": sum(len(g) for g in groups), "targets": len(groups),
            "no_phone": sum(1 for r in rows if r["phone_id"] is None)}


def close(dbsession, campaign: CallCampaign) -> None:
    """Closing ends operators' access and takes the targets out of the queue."""
    campaign.status = CampaignStatus.closed
    dbsession.execute(update(CallTarget)
                      .where(CallTarget.campaign_id == campaign.id,
                             CallTarget.status.in_([TargetStatus.queued, TargetStatus.promised]))
                      .values(status=TargetStatus.finished, leased_by=None, lease_expires_at=None))
