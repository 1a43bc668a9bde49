"""Building a campaign (納付案内計画): which cases, grouped into call targets.

The filter selects open cases with a positive balance that no collector has
flagged as not to be called and that are in no other open campaign. Their
unpaid installments decide tax type, fiscal year and current-year versus
earlier delinquency (現年度 / 滞納繰越) and the age of the debt.

A target is one person (名寄せ by person only): the cases of one taxpayer,
across tax types and years, plus those of records the data link declares to
be the same person (``taxpayers.same_person_as``). Never a household or a
shared phone number: telling one adult about another's arrears breaches
地方税法22条 (守秘義務), so two taxpayers sharing a number are two targets.
A target without a usable number goes to the letter workflow (status
``no_phone``) instead of the queue.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

from sqlalchemy import (
    Column, Date, DateTime, Integer, MetaData, String, Table, and_, case as sql_case, func,
    insert, literal, or_, select, text, union, update,
)

from ..cases.statuses import Work, available_for
from ..models import (
    Assessment, CallCampaign, CallTarget, CampaignCase, CampaignStatus, Case, CaseStatus,
    Installment, Phone, QueueClass, Receipt, ReceiptKind, TargetStatus, Taxpayer, TaxType,
)
from ..taxes.duedates import is_business_day, next_business_day

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


def last_business_day_before(day: dt.date) -> dt.date:
    """The last day the office is open before ``day``: an installment is past
    its holiday-shifted 納期限 on ``day`` exactly when its printed 納期限 is
    on or before this day (``next_business_day`` never moves a date back and
    keeps the order: THE rule of intranet.taxes.owed.is_past_due, in SQL)."""
    day -= dt.timedelta(days=1)
    while not is_business_day(day):
        day -= dt.timedelta(days=1)
    return day


def _shifted_due(dbsession, cutoff: dt.date):
    """SQL for the holiday-shifted 納期限 of ``Installment.due_date``: the
    printed dates that fall on a closed day (a handful) are listed."""
    closed = [day for day in dbsession.scalars(
        select(Installment.due_date).where(Installment.due_date <= cutoff).distinct())
        if not is_business_day(day)]
    if not closed:
        return Installment.due_date
    return sql_case(*[(Installment.due_date == literal(day, Date), literal(next_business_day(day), Date))
                      for day in closed], else_=Installment.due_date)


def _unpaid_installments(dbsession, case_ids_query, today: dt.date):
    """Installments past their holiday-shifted 納期限 that still owe 本税 or
    延滞金, or whose 本税 was paid after that 納期限 with no 延滞金 assessed or
    paid (a fixed charge (intranet.taxes.owed) may be owed; Case.balance says
    if so), as (case_id, tax_type, fiscal_year, due_date). The receipts are
    summed per installment first (one pass over receipts), so installments
    need no grouping."""
    paid = (select(Receipt.installment_id,
                   func.sum(sql_case((Receipt.kind == ReceiptKind.tax, Receipt.amount), else_=0))
                   .label("tax"),
                   func.sum(sql_case((Receipt.kind == ReceiptKind.late_charge, Receipt.amount),
                                     else_=0)).label("late"),
                   func.max(sql_case((Receipt.kind == ReceiptKind.tax, Receipt.received_on)))
                   .label("last_tax_on"))
            .group_by(Receipt.installment_id).subquery("paid"))
    paid_tax, paid_late = func.coalesce(paid.c.tax, 0), func.coalesce(paid.c.late, 0)
    cutoff = last_business_day_before(today)
    shifted = _shifted_due(dbsession, cutoff)
    return (
        select(Assessment.case_id, Assessment.tax_type, Assessment.fiscal_year,
               Installment.due_date)
        .join(Installment, Installment.assessment_id == Assessment.id)
        .outerjoin(paid, paid.c.installment_id == Installment.id)
        .where(Assessment.case_id.in_(case_ids_query), Installment.due_date <= cutoff,
               or_(Installment.tax_amount - paid_tax > 0,
                   Installment.late_charge_amount - paid_late > 0,
                   and_(Installment.late_charge_amount == 0, paid_late == 0,
                        paid.c.last_tax_on > shifted)))
    )


def plan_defaulted_clause():
    """Cases whose active installment plan is 不履行 (intranet.cases.plans)."""
    from sqlalchemy import exists

    from ..models import PaymentAgreement, PlanState

    return exists().where(PaymentAgreement.case_id == Case.id, PaymentAgreement.is_active.is_(True),
                          PaymentAgreement.state == PlanState.defaulted)


def person_keys():
    """SQL (taxpayer_no, person) for every record linked by ``same_person_as``
    (directly or through a chain): the key is the smallest taxpayer_no of the
    linked records, as :func:`same_person_keys` computes in Python. Unlinked
    taxpayers are their own key (absent here)."""
    link = select(Taxpayer.taxpayer_no.label("a"), Taxpayer.same_person_as.label("b")).where(
        Taxpayer.same_person_as.is_not(None))
    back = select(Taxpayer.same_person_as.label("a"), Taxpayer.taxpayer_no.label("b")).where(
        Taxpayer.same_person_as.is_not(None))
    edges = union(link, back).cte("person_edges")
    reach = select(edges.c.a.label("start"), edges.c.a.label("node")).cte("person_reach", recursive=True)
    reach = reach.union(select(reach.c.start, edges.c.b).join(edges, edges.c.a == reach.c.node))
    return (select(reach.c.start.label("taxpayer_no"), func.min(reach.c.node).label("person"))
            .group_by(reach.c.start).subquery("person_keys"))


def candidates_query(dbsession, flt: CampaignFilter, today: dt.date):
    """THE selection, in SQL: (case_id, taxpayer_id, person, balance,
    oldest_due_on, phone_id) of every case ``flt`` selects.

    The filter takes open cases with a positive balance that no collector
    flagged as not to be called, that no status or plan in good standing
    keeps from calls, and that are in no other open campaign; their past-due
    unpaid installments decide tax type, 年度 and 現年度／滞納繰越; the
    phone is the taxpayer's first usable number."""
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
    unpaid = _unpaid_installments(dbsession, select(Case.id).where(*conditions), today).subquery("unpaid")
    current = fiscal_year(today)
    having = []
    if flt.tax_type:
        having.append(func.max(sql_case((unpaid.c.tax_type == TaxType(flt.tax_type), 1), else_=0)) == 1)
    if flt.fiscal_year:
        having.append(func.max(sql_case((unpaid.c.fiscal_year == flt.fiscal_year, 1), else_=0)) == 1)
    if flt.delinquency in ("current", "past"):
        has_past = func.max(sql_case((unpaid.c.fiscal_year < current, 1), else_=0))
        having.append(has_past == (0 if flt.delinquency == "current" else 1))
    per_case = (select(unpaid.c.case_id, func.min(unpaid.c.due_date).label("oldest_due_on"))
                .group_by(unpaid.c.case_id))
    if having:
        per_case = per_case.having(and_(*having))
    per_case = per_case.subquery("per_case")
    phones = (select(Phone.taxpayer_id, func.min(Phone.id).label("phone_id"))
              .where(Phone.unusable.is_(False), Phone.digits != "")
              .group_by(Phone.taxpayer_id).subquery("first_phone"))
    keys = person_keys()
    query = (select(Case.id.label("case_id"), Case.taxpayer_id,
                    func.coalesce(keys.c.person, Taxpayer.taxpayer_no).label("person"),
                    Case.balance, per_case.c.oldest_due_on, phones.c.phone_id)
             .join(Taxpayer, Taxpayer.id == Case.taxpayer_id)
             .join(per_case, per_case.c.case_id == Case.id)
             .outerjoin(phones, phones.c.taxpayer_id == Case.taxpayer_id)
             # per_case holds only cases meeting ``conditions`` (the IN of
             # _unpaid_installments): not evaluated twice
             .outerjoin(keys, keys.c.taxpayer_no == Taxpayer.taxpayer_no))
    if flt.phone == "known":
        query = query.where(phones.c.phone_id.is_not(None))
    elif flt.phone == "unknown":
        query = query.where(phones.c.phone_id.is_(None))
    return query


def matching_cases(dbsession, flt: CampaignFilter, today: dt.date) -> list[Candidate]:
    """The cases ``flt`` selects, with what grouping and ordering need."""
    rows = dbsession.execute(candidates_query(dbsession, flt, today).order_by(Case.id))
    return [Candidate(case_id, taxpayer_id, person, balance, oldest, phone_id)
            for case_id, taxpayer_id, person, balance, oldest, phone_id in rows]


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


#: The build's scratch table: one row per selected case (dropped at the end).
_scratch_metadata = MetaData()
_SCRATCH = Table(
    "campaign_build_cases", _scratch_metadata,
    Column("case_id", Integer, primary_key=True, autoincrement=False),
    Column("group_key", String(60), nullable=False),  # t:<person's taxpayer_no>
    Column("balance", Integer, nullable=False),
    Column("oldest_due_on", Date, nullable=False),
    Column("phone_id", Integer),
    prefixes=["TEMPORARY"])


def build(dbsession, campaign: CallCampaign, flt: CampaignFilter, today: dt.date,
          now: dt.datetime, progress=None) -> dict[str, int]:
    """Create the campaign's targets and memberships; returns counts.

    名寄せ by person only: the cases of one taxpayer (any tax type or year)
    and of records the data link declares the same person form one target
    (``t:<person's taxpayer_no>``); never by household (世帯番号) or a shared
    phone number, which would tell one adult of another's arrears (地方税法
    22条, 守秘義務). The target's number is that of its first case (by id)
    whose taxpayer has one; without one the target goes to letters
    (``no_phone``).

    Set-based (issue 21): the selection fills a temporary table in one
    INSERT … SELECT, then one INSERT … SELECT each makes the targets (in the
    order of their first case) and the memberships; no row goes through
    Python. ``progress(done, total)`` is told of the four steps."""
    step = progress or (lambda done, total=None: None)
    step(0, 4)
    campaign.criteria = flt.to_json()
    connection = dbsession.connection()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        # hash the grouping and joins in memory at 220,000 cases, and no JIT:
        # compiling the selection's expressions costs more than it saves
        # (0.15-0.3 s at 220,000 cases); this transaction only
        connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        connection.exec_driver_sql("SET LOCAL jit = off")
    _SCRATCH.drop(connection, checkfirst=True)
    _SCRATCH.create(connection)
    scratch = _SCRATCH
    candidates = candidates_query(dbsession, flt, today).subquery("candidates")
    dbsession.execute(insert(scratch).from_select(
        ["case_id", "group_key", "balance", "oldest_due_on", "phone_id"],
        select(candidates.c.case_id, literal("t:") + candidates.c.person, candidates.c.balance,
               candidates.c.oldest_due_on, candidates.c.phone_id)))
    if postgres:
        connection.exec_driver_sql("ANALYZE campaign_build_cases")  # a temporary table has no statistics
    step(1, 4)
    groups = (select(scratch.c.group_key, func.min(scratch.c.case_id).label("first_case"),
                     func.min(scratch.c.oldest_due_on).label("oldest_due_on"),
                     func.sum(scratch.c.balance).label("balance"),
                     func.min(sql_case((scratch.c.phone_id.is_not(None), scratch.c.case_id)))
                     .label("phone_case"))
              .group_by(scratch.c.group_key).subquery("groups"))
    phone_of = scratch.alias("phone_of")
    dbsession.execute(insert(CallTarget.__table__).from_select(
        ["campaign_id", "group_key", "phone_id", "status", "queue_class", "attempts",
         "oldest_due_on", "balance_key", "due_at", "day_count", "week_count"],
        select(literal(campaign.id), groups.c.group_key, phone_of.c.phone_id,
               sql_case((phone_of.c.phone_id.is_(None), literal(TargetStatus.no_phone.value)),
                        else_=literal(TargetStatus.queued.value)),
               literal(int(QueueClass.normal)), literal(0), groups.c.oldest_due_on,
               -groups.c.balance, literal(now, DateTime), literal(0), literal(0))
        .outerjoin(phone_of, phone_of.c.case_id == groups.c.phone_case)
        .order_by(groups.c.first_case)))
    if postgres:
        # Fresh statistics before the memberships join the targets just made:
        # with those of an empty call_targets (say, ANALYZE before the first
        # campaign) the planner expects one target, nests the loop and scans
        # the campaign's targets once per case (minutes at 220,000 cases).
        # They also let the queue walk its index instead of sorting every
        # target (120 ms instead of 0.1 ms at 30,000 targets).
        dbsession.execute(text("ANALYZE call_targets"))
    step(2, 4)
    dbsession.execute(insert(CampaignCase.__table__).from_select(
        ["campaign_id", "case_id", "target_id"],
        select(literal(campaign.id), scratch.c.case_id, CallTarget.id)
        .join(CallTarget, and_(CallTarget.campaign_id == campaign.id,
                               CallTarget.group_key == scratch.c.group_key))
        .order_by(scratch.c.case_id)))
    step(3, 4)
    # one statement; the targets are counted on the rows just made (by the
    # campaign's unique index), not by grouping the scratch table again
    cases, people, no_phone = dbsession.execute(
        select(select(func.count()).select_from(scratch).scalar_subquery(), func.count(),
               func.count().filter(CallTarget.status == TargetStatus.no_phone))
        .select_from(CallTarget).where(CallTarget.campaign_id == campaign.id)).one()
    _SCRATCH.drop(connection)
    if cases and postgres:
        dbsession.execute(text("ANALYZE campaign_cases"))  # as call_targets above
    step(4, 4)
    return {"cases": cases, "targets": people, "no_phone": no_phone}


def close(dbsession, campaign: CallCampaign) -> None:
    """Closing ends operators' access and takes the targets out of the queue."""
    campaign.status = CampaignStatus.closed
    dbsession.execute(update(CallTarget)
                      .where(CallTarget.campaign_id == campaign.id,
                             CallTarget.status.in_([TargetStatus.queued, TargetStatus.promised]))
                      .values(status=TargetStatus.finished, leased_by=None, lease_expires_at=None))
