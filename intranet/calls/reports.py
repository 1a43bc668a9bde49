"""Daily and monthly call-center reports (日報・月報) and the effect of calling.

Figures count calls by the time they were made (JST). A corrected result
counts once, with the result and actions of its latest correction.

* attempts (架電): outgoing calls; reached: those whose contact result is
  ``reached``;
* incoming (受電): calls the taxpayers made, never counted as attempts;
  incoming_no_case: those recorded without a case (unknown caller, wrong
  number, enquiry only);
* actions by kind, whichever the direction: promises and their amount, paid
  claims, plan requests, hand-overs (calls with any hand-over action:
  consultation, plan request, refusal), refusals, payment slips reissued,
  direct-debit encouragement;
* letters: 催告書 issued by operators (IssuedDocument of kind letter).

The monthly report also follows the month's direct-debit encouragements
(口座振替の勧奨, :func:`intranet.cases.debits.cohort`): how many of the
applications first encouraged in the month were registered within 30, 60 and
90 days (a window not yet over for all of them is 集計中), and where they
stand now.

The monthly effect compares the cases reached in the month with the cases
called but never reached: how many paid anything, and how much, within 30
days of the first call (reached: the first call that reached them).

Whose figures: given an ``organisation_id`` every figure — the rows, the
center total, the effect, the direct-debit cohort and the campaign progress —
counts only the calls (the encouragements) of that organisation's staff (an operator's "center total" is its own
call center's, never a mix of several contractors'; a team leader, 責任者,
sees every operator of its own organisation). Without one (ward staff and
auditors), every call.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, fields

from sqlalchemy import select

from .. import tabular
from sqlalchemy.orm import selectinload

from ..cases import debits

from ..models import (
    HANDOVER_ACTIONS, ActionKind, Assessment, CallAttempt, CallCampaign, CallTarget,
    CampaignCase, CampaignStatus, ContactResult, DocumentKind, Installment, IssuedDocument,
    Receipt, Role, User,
)
from ..clock import jst_date, jst_day_bounds

EFFECT_DAYS = 30


@dataclass
class Figures:
    attempts: int = 0          # 架電: outgoing calls
    reached: int = 0           # ... that spoke with the taxpayer
    incoming: int = 0          # 受電: incoming calls
    incoming_no_case: int = 0  # ... with no case (unknown caller, wrong number, enquiry)
    promises: int = 0
    promise_amount: int = 0
    paid_claims: int = 0       # 納付済みの申出
    plan_requests: int = 0     # 分納の相談希望
    handovers: int = 0         # calls handed over to staff (consultation, plan request, refusal)
    refusals: int = 0
    slips: int = 0
    direct_debits: int = 0
    letters: int = 0           # 催告書 issued (IssuedDocument, kind letter)

    def add(self, call: CallAttempt) -> None:
        """One call (its latest correction's result and actions)."""
        if call.incoming:
            self.incoming += 1
            self.incoming_no_case += call.case_id is None and call.target_id is None
        else:
            self.attempts += 1
            self.reached += call.result == ContactResult.reached
        kinds = [a.kind for a in call.actions]
        for action in call.actions:
            if action.kind == ActionKind.promise:
                self.promises += 1
                self.promise_amount += action.amount or 0
        self.paid_claims += ActionKind.paid_claimed in kinds
        self.plan_requests += ActionKind.plan_request in kinds
        self.handovers += bool(HANDOVER_ACTIONS & set(kinds))
        self.refusals += ActionKind.refusal in kinds
        self.slips += ActionKind.slip_reissue in kinds
        self.direct_debits += ActionKind.direct_debit in kinds


COLUMNS = [f.name for f in fields(Figures)]


@dataclass
class Row:
    operator_id: int | None     # None: the whole center
    operator_name: str
    figures: Figures


@dataclass
class Effect:
    cases: int = 0
    paid_cases: int = 0
    paid_amount: int = 0


@dataclass
class Report:
    kind: str            # daily | monthly
    label: str           # 2026-11-24 | 2026-11
    rows: list[Row]      # per operator, then the center total
    effect: dict[str, Effect] = field(default_factory=dict)  # reached / not_reached (monthly)
    debits: debits.Cohort | None = None  # the month's direct-debit encouragements (monthly)


def _utc_range(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[midnight JST of first, midnight JST after last) in naive UTC."""
    return jst_day_bounds(first, last)


def effective_calls(dbsession, start: dt.datetime, end: dt.datetime,
                    organisation_id: int | None = None) -> list[CallAttempt]:
    """Calls made in [start, end) (by operators of ``organisation_id`` when
    given), each with its latest correction's result (returned as the
    original attempt with ``effective`` set)."""
    query = select(CallAttempt).options(selectinload(CallAttempt.actions)).where(
        CallAttempt.called_at >= start, CallAttempt.called_at < end,
        CallAttempt.corrects_id.is_(None))
    if organisation_id is not None:
        query = query.where(CallAttempt.operator_id.in_(
            select(User.id).where(User.organisation_id == organisation_id)))
    originals = dbsession.scalars(query.order_by(CallAttempt.called_at, CallAttempt.id)).all()
    latest = {a.id: a for a in originals}
    root_of = {a.id: a.id for a in originals}
    frontier = list(latest)
    while frontier:
        corrections = dbsession.scalars(select(CallAttempt).options(
            selectinload(CallAttempt.actions)).where(
            CallAttempt.corrects_id.in_(frontier)).order_by(CallAttempt.id)).all()
        frontier = []
        for c in corrections:
            root = root_of[c.corrects_id]
            root_of[c.id] = root
            latest[root] = c
            frontier.append(c.id)
    for a in originals:
        a.effective = latest[a.id]
    return list(originals)


def letters_issued(dbsession, start: dt.datetime, end: dt.datetime,
                   organisation_id: int | None = None) -> dict[int, int]:
    """催告書 issued by operators in [start, end) (of ``organisation_id`` when
    given), per operator."""
    from sqlalchemy import func

    operators = select(User.id).where(User.role == Role.operator)
    if organisation_id is not None:
        operators = operators.where(User.organisation_id == organisation_id)
    return dict(dbsession.execute(
        select(IssuedDocument.issued_by, func.count(IssuedDocument.id))
        .where(IssuedDocument.kind == DocumentKind.letter, IssuedDocument.issued_at >= start,
               IssuedDocument.issued_at < end, IssuedDocument.issued_by.in_(operators))
        .group_by(IssuedDocument.issued_by)).all())


def _rows(dbsession, calls, operator_ids=None, idle_ids=(), letters=None) -> list[Row]:
    """A row per operator who called or issued letters (those of
    ``operator_ids`` only, when given; also ``idle_ids`` with zeros), then the
    total of ``calls`` and ``letters``."""
    per_operator: dict[int, Figures] = defaultdict(Figures)
    for op in idle_ids:
        per_operator[op] = Figures()
    total = Figures()
    for call in calls:
        eff = call.effective
        eff_call = _Effective(call, eff)
        per_operator[call.operator_id].add(eff_call)
        total.add(eff_call)
    for op, count in (letters or {}).items():
        per_operator[op].letters += count
        total.letters += count
    names = dict(dbsession.execute(select(User.id, User.display_name)
                                   .where(User.id.in_(list(per_operator)))).all())
    rows = [Row(op, names.get(op, str(op)), figures) for op, figures in
            sorted(per_operator.items(), key=lambda item: names.get(item[0], ""))
            if operator_ids is None or op in operator_ids]
    rows.append(Row(None, "", total))
    return rows


class _Effective:
    """A call as counted: its direction and case from the original, its result
    and actions from the latest correction."""

    incoming: bool
    case_id: int | None
    target_id: int | None
    result: ContactResult
    actions: list

    def __init__(self, original: CallAttempt, latest: CallAttempt):
        self.incoming, self.case_id, self.target_id = (original.incoming, original.case_id,
                                                       original.target_id)
        self.result, self.actions = latest.result, list(latest.actions)


def team_operator_ids(dbsession, organisation_id: int) -> set[int]:
    """The active operators of one organisation (a team leader's rows, idle ones too)."""
    from ..models import Role

    return set(dbsession.scalars(select(User.id).where(
        User.organisation_id == organisation_id, User.role == Role.operator, User.is_active.is_(True))))


def daily(dbsession, day: dt.date, operator_ids=None, organisation_id=None, idle_ids=()) -> Report:
    window = _utc_range(day, day)
    calls = effective_calls(dbsession, *window, organisation_id)
    letters = letters_issued(dbsession, *window, organisation_id)
    return Report("daily", day.isoformat(), _rows(dbsession, calls, operator_ids, idle_ids, letters))


def monthly(dbsession, year: int, month: int, today: dt.date, operator_ids=None,
            organisation_id=None, idle_ids=()) -> Report:
    """``today``: the direct-debit windows still open on that day are 集計中."""
    first = dt.date(year, month, 1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    window = _utc_range(first, last)
    calls = effective_calls(dbsession, *window, organisation_id)
    letters = letters_issued(dbsession, *window, organisation_id)
    report = Report("monthly", f"{year:04d}-{month:02d}",
                    _rows(dbsession, calls, operator_ids, idle_ids, letters))
    report.effect = effect(dbsession, [c for c in calls if not c.incoming and c.target_id])
    report.debits = debits.cohort(dbsession, first, last, today, organisation_id)
    return report


@dataclass
class Progress:
    """One active campaign: its targets, and those one organisation called and reached."""

    campaign_id: int
    name: str
    starts_on: dt.date
    ends_on: dt.date
    targets: int
    called: int
    reached: int


def progress(dbsession, today: dt.date, organisation_id: int) -> list[Progress]:
    """The campaigns running ``today`` with the number of targets ``organisation_id``'s
    operators called and reached (latest corrections count); no other organisation's."""
    from sqlalchemy import func

    campaigns = dbsession.scalars(select(CallCampaign).where(
        CallCampaign.status == CampaignStatus.active, CallCampaign.starts_on <= today,
        CallCampaign.ends_on >= today).order_by(CallCampaign.starts_on, CallCampaign.id)).all()
    if not campaigns:
        return []
    ids = [c.id for c in campaigns]
    targets = dict(dbsession.execute(select(CallTarget.campaign_id, func.count(CallTarget.id))
                                     .where(CallTarget.campaign_id.in_(ids))
                                     .group_by(CallTarget.campaign_id)).all())
    campaign_of = dict(dbsession.execute(select(CallTarget.id, CallTarget.campaign_id)
                                         .where(CallTarget.campaign_id.in_(ids))).all())
    first = min(c.starts_on for c in campaigns)
    calls = effective_calls(dbsession, *_utc_range(first, today), organisation_id)
    called: dict[int, set] = defaultdict(set)
    reached: dict[int, set] = defaultdict(set)
    for call in calls:
        campaign_id = campaign_of.get(call.target_id)
        if campaign_id is None or call.incoming:  # 架電 only
            continue
        called[campaign_id].add(call.target_id)
        if call.effective.result == ContactResult.reached:
            reached[campaign_id].add(call.target_id)
    return [Progress(c.id, c.name, c.starts_on, c.ends_on, targets.get(c.id, 0),
                     len(called[c.id]), len(reached[c.id])) for c in campaigns]


def effect(dbsession, calls) -> dict[str, Effect]:
    """Payments within 30 days of the first call, reached cases versus the others."""
    members = defaultdict(list)
    for target_id, case_id in dbsession.execute(
            select(CampaignCase.target_id, CampaignCase.case_id)
            .where(CampaignCase.target_id.in_({c.target_id for c in calls}))):
        members[target_id].append(case_id)
    first_call: dict[int, dt.date] = {}
    first_reach: dict[int, dt.date] = {}
    for call in calls:  # in time order
        day = jst_date(call.called_at)
        for case_id in members[call.target_id]:
            first_call.setdefault(case_id, day)
            if call.effective.result == ContactResult.reached:
                first_reach.setdefault(case_id, day)
    paid = defaultdict(int)
    if first_call:
        for case_id, received_on, amount in dbsession.execute(
                select(Assessment.case_id, Receipt.received_on, Receipt.amount)
                .join(Installment, Installment.id == Receipt.installment_id)
                .join(Assessment, Assessment.id == Installment.assessment_id)
                .where(Assessment.case_id.in_(list(first_call)))):
            start = first_reach.get(case_id, first_call[case_id])
            if start <= received_on <= start + dt.timedelta(days=EFFECT_DAYS):
                paid[case_id] += amount
    result = {"reached": Effect(), "not_reached": Effect()}
    for case_id in first_call:
        group = result["reached" if case_id in first_reach else "not_reached"]
        group.cases += 1
        if paid[case_id] > 0:
            group.paid_cases += 1
            group.paid_amount += paid[case_id]
    return result


# ---------------------------------------------------------------- downloads

HEADERS_JA = {"operator": "オペレータ", "attempts": "架電数", "reached": "本人接触数",
              "incoming": "受電数", "incoming_no_case": "受電（案件なし）",
              "promises": "納付約束件数", "promise_amount": "納付約束金額",
              "paid_claims": "納付済み申出件数", "plan_requests": "分納相談件数",
              "handovers": "引継ぎ件数", "refusals": "納付拒否件数", "slips": "納付書再発行件数",
              "direct_debits": "口座振替勧奨件数", "letters": "催告書発行数"}
EFFECT_HEADERS_JA = ["区分", "案件数", "30日以内に納付した案件数", "30日以内の納付額"]
EFFECT_LABELS_JA = {"reached": "本人接触あり", "not_reached": "本人接触なし"}
TOTAL_JA = "センター合計"
DEBIT_HEADERS_JA = ["勧奨月", "区分", "件数", "登録率（%）", "集計"]
DEBIT_ENCOURAGED_JA = "勧奨件数"
DEBIT_WITHIN_JA = "{days}日以内に登録"
DEBIT_STATE_JA = "現在の状態: {state}"
DEBIT_PENDING_JA, DEBIT_FINAL_JA = "集計中", "確定"


def table(report: Report) -> list[list]:
    header = ["期間" if report.kind == "monthly" else "日付", HEADERS_JA["operator"]] + [
        HEADERS_JA[c] for c in COLUMNS]
    rows = [header]
    for row in report.rows:
        rows.append([report.label, row.operator_name or TOTAL_JA]
                    + [getattr(row.figures, c) for c in COLUMNS])
    return rows


def effect_table(report: Report) -> list[list]:
    if not report.effect:
        return []
    return [EFFECT_HEADERS_JA] + [
        [EFFECT_LABELS_JA[key], e.cases, e.paid_cases, e.paid_amount]
        for key, e in report.effect.items()]


def debit_rate(cohort: debits.Cohort, days: int) -> float | None:
    """Percent of the cohort registered within ``days``, to one decimal; None
    when nobody was encouraged."""
    if not cohort.encouraged:
        return None
    return round(100 * cohort.registered[days] / cohort.encouraged, 1)


def debit_table(report: Report) -> list[list]:
    """The direct-debit cohort: encouraged, registered within each window
    (rate, 集計中 or 確定), then the applications by current state."""
    cohort = report.debits
    if cohort is None:
        return []
    from ..messages import MESSAGES

    rows = [DEBIT_HEADERS_JA, [cohort.label, DEBIT_ENCOURAGED_JA, cohort.encouraged, None, None]]
    for days in debits.WINDOWS:
        rows.append([cohort.label, DEBIT_WITHIN_JA.format(days=days), cohort.registered[days],
                     debit_rate(cohort, days),
                     DEBIT_FINAL_JA if cohort.complete[days] else DEBIT_PENDING_JA])
    for state, count in cohort.states.items():
        label = MESSAGES[f"debit.state.{state}"][0]
        rows.append([cohort.label, DEBIT_STATE_JA.format(state=label), count, None, None])
    return rows


def to_csv(report: Report) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens it correctly."""
    rows = table(report)
    if report.effect:
        rows += [[], *effect_table(report)]
    if report.debits is not None:
        rows += [[], *debit_table(report)]
    return tabular.csv_bytes(rows)


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "日報" if report.kind == "daily" else "月報"
    for row in table(report):
        tabular.append(sheet, row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    if report.effect:
        effect_sheet = book.create_sheet("効果測定")
        for row in effect_table(report):
            tabular.append(effect_sheet, row)
        for cell in effect_sheet[1]:
            cell.font = Font(bold=True)
    if report.debits is not None:
        debit_sheet = book.create_sheet("口座振替")
        for row in debit_table(report):
            tabular.append(debit_sheet, row)
        for cell in debit_sheet[1]:
            cell.font = Font(bold=True)
    return tabular.xlsx_bytes(book)
