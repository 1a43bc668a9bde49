"""Who a field survey is for (seed 004, issue 20).

Seed 004: 区外に転出した滞納者で「電話、郵便等で接触できない」者. A case is
eligible for a new survey batch when all of these hold on ``today``:

* **overdue** — some 本税 or 延滞金 is unpaid past its 納期限 (moved to the
  next business day, :func:`intranet.taxes.owed.is_past_due`); a case owing
  only installments not yet due is not a delinquency to survey;
* **moved out** — the taxpayer's residency is 区外転出;
* **not excluded** — the case is open, in no open batch, no collection status
  or plan keeps it from the survey (:func:`intranet.cases.statuses.available_for`),
  and no do-not-call flag says it is being dealt with (分納中, 相談中, 破産,
  死亡; a bare 架電拒否 does not excuse a survey);
* **not reachable** — the taxpayer has no callable phone (none, or every
  number marked unusable after a wrong-number call) *or* a letter or slip to
  them came back (郵便返戻);
* **no recent conversation** — no conversation with the taxpayer or their
  representative within ``no_contact_days`` (``intranet.survey.no_contact_days``,
  default 60): a staff contact record that counts as contact
  (:attr:`ContactRecord.is_contact`) or a call-center call that reached them
  (:data:`intranet.models.calls.REACHED`), on any case of the same taxpayer.

Everything is computed in one query (correlated sub-selects per case); the
holiday shift of the 納期限 is checked on the rows it returns.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select, text
from sqlalchemy.orm import aliased

from ..cases.statuses import Work, available_for
from ..clock import from_jst
from ..models import (
    BatchState, CallBlock, CallRecord, Case, CaseStatus, ContactRecord, Installment,
    IssuedDocument, Phone, Receipt, ReceiptKind, Residency, SurveyBatch, SurveyTarget, Taxpayer,
)
from ..models.calls import REACHED, CallAttempt, CampaignCase
from ..models.cases import Assessment
from ..taxes.owed import is_past_due

DEFAULT_NO_CONTACT_DAYS = 60

#: Do-not-call flags that say the case is being dealt with: no survey.
EXCLUDING_BLOCKS = (CallBlock.installment, CallBlock.consultation, CallBlock.bankruptcy,
                    CallBlock.deceased)


@dataclass
class Candidate:
    """A case with what the rules found; ``failures`` are message keys."""

    case: Case
    oldest_due: dt.date | None
    moved_out: bool
    moved_out_on: dt.date | None
    callable_phones: int
    returned_on: dt.date | None
    last_conversation: dt.datetime | None
    excluded: bool
    failures: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.failures


def _columns(today: dt.date):
    """The correlated sub-selects of the rules, over :class:`Case`."""
    # rows of any case of the same taxpayer (one level of correlation)
    same = aliased(Case)
    same_taxpayer = same.taxpayer_id == Case.taxpayer_id
    tax_paid = (select(func.coalesce(func.sum(Receipt.amount), 0))
                .where(Receipt.installment_id == Installment.id, Receipt.kind == ReceiptKind.tax)
                .scalar_subquery())
    late_paid = (select(func.coalesce(func.sum(Receipt.amount), 0))
                 .where(Receipt.installment_id == Installment.id,
                        Receipt.kind == ReceiptKind.late_charge)
                 .scalar_subquery())
    # the printed 納期限 is never later than the shifted one: a superset,
    # narrowed by is_past_due on the rows
    oldest_due = (select(func.min(Installment.due_date))
                  .join(Assessment, Assessment.id == Installment.assessment_id)
                  .where(Assessment.case_id == Case.id, Installment.due_date < today,
                         or_(Installment.tax_amount > tax_paid,
                             Installment.late_charge_amount > late_paid))
                  .scalar_subquery())
    callable_phones = (select(func.count(Phone.id))
                       .where(Phone.taxpayer_id == Case.taxpayer_id, Phone.unusable.is_(False))
                       .scalar_subquery())
    returned_on = (select(func.max(IssuedDocument.returned_on))
                   .join(same, same.id == IssuedDocument.case_id).where(same_taxpayer)
                   .scalar_subquery())
    last_record = (select(func.max(ContactRecord.occurred_at))
                   .join(same, same.id == ContactRecord.case_id)
                   .where(same_taxpayer, ContactRecord.is_contact)
                   .scalar_subquery())
    correction = aliased(CallAttempt)
    last_call = (select(func.max(CallAttempt.called_at))
                 .join(CampaignCase, CampaignCase.target_id == CallAttempt.target_id)
                 .join(same, same.id == CampaignCase.case_id)
                 .where(same_taxpayer,
                        CallAttempt.disposition.in_([d.value for d in REACHED]),
                        ~exists().where(correction.corrects_id == CallAttempt.id))
                 .scalar_subquery())
    last_legacy_call = (select(func.max(CallRecord.called_at))
                        .join(same, same.id == CallRecord.case_id)
                        .where(same_taxpayer,
                               CallRecord.result.in_([d.value for d in REACHED]))
                        .scalar_subquery())
    in_open_batch = exists().where(
        SurveyTarget.case_id == Case.id, SurveyTarget.batch_id == SurveyBatch.id,
        SurveyBatch.state != BatchState.closed)
    excluded = or_(Case.status != CaseStatus.open, in_open_batch, ~available_for(Work.survey, today),
                   and_(Case.call_block.is_not(None),
                        Case.call_block.in_([b.value for b in EXCLUDING_BLOCKS])))
    return {"oldest_due": oldest_due, "callable_phones": callable_phones,
            "returned_on": returned_on, "last_record": last_record, "last_call": last_call,
            "last_legacy_call": last_legacy_call, "excluded": excluded}


def _since(today: dt.date, days: int) -> dt.datetime:
    """The stored (UTC) moment from which a conversation is recent."""
    return from_jst(dt.datetime.combine(today - dt.timedelta(days=days), dt.time()))


def _query(today: dt.date, days: int, eligible_only: bool):
    cols = _columns(today)
    query = (select(Case, Taxpayer.residency, Taxpayer.moved_out_on,
                    *[c.label(name) for name, c in cols.items()])
             .join(Taxpayer, Taxpayer.id == Case.taxpayer_id))
    if eligible_only:
        since = _since(today, days)
        query = query.where(
            Taxpayer.residency == Residency.moved_out, ~cols["excluded"],
            cols["oldest_due"].is_not(None),
            or_(cols["callable_phones"] == 0, cols["returned_on"].is_not(None)),
            or_(cols["last_record"].is_(None), cols["last_record"] < since),
            or_(cols["last_call"].is_(None), cols["last_call"] < since),
            or_(cols["last_legacy_call"].is_(None), cols["last_legacy_call"] < since))
    return query


def _candidate(row, today: dt.date, days: int) -> Candidate:
    case, residency, moved_out_on, oldest_due, phones, returned_on, *talks, excluded = row
    talks = [t for t in talks if t is not None]
    c = Candidate(case=case, oldest_due=oldest_due, moved_out=residency == Residency.moved_out,
                  moved_out_on=moved_out_on, callable_phones=phones or 0, returned_on=returned_on,
                  last_conversation=max(talks) if talks else None, excluded=bool(excluded))
    if oldest_due is None or not is_past_due(oldest_due, today):
        c.failures.append("survey.rule.not_overdue")
    if not c.moved_out:
        c.failures.append("survey.rule.not_moved_out")
    if c.excluded:
        c.failures.append("survey.rule.excluded")
    if c.callable_phones and c.returned_on is None:
        c.failures.append("survey.rule.reachable")
    if c.last_conversation is not None and c.last_conversation >= _since(today, days):
        c.failures.append("survey.rule.recent_conversation")
    return c


def candidates(dbsession, today: dt.date, days: int = DEFAULT_NO_CONTACT_DAYS,
               prefecture: str = "", balance_min: int | None = None) -> list[Candidate]:
    """The eligible cases, by postal code (one query)."""
    _no_jit(dbsession)
    query = _query(today, days, eligible_only=True).order_by(Taxpayer.postal_code, Case.case_no)
    if prefecture:
        query = query.where(Taxpayer.address.startswith(prefecture, autoescape=True))
    if balance_min is not None:
        query = query.where(Case.balance >= balance_min)
    found = [_candidate(row, today, days) for row in dbsession.execute(query)]
    return [c for c in found if c.eligible]


def check(dbsession, case_ids, today: dt.date, days: int = DEFAULT_NO_CONTACT_DAYS
          ) -> dict[int, Candidate]:
    """Every rule on the given cases (one query): why each is or is not eligible."""
    if not case_ids:
        return {}
    _no_jit(dbsession)
    query = _query(today, days, eligible_only=False).where(Case.id.in_(list(case_ids)))
    return {row[0].id: _candidate(row, today, days) for row in dbsession.execute(query)}


def _no_jit(dbsession) -> None:
    """PostgreSQL: the correlated sub-selects make the planner's cost
    estimate high enough to JIT-compile the query, which costs seconds and
    saves nothing here (bench/bench_survey.py); off for this transaction."""
    if dbsession.connection().dialect.name == "postgresql":
        dbsession.execute(text("SET LOCAL jit = off"))


def since_date(today: dt.date, days: int) -> dt.date:
    return today - dt.timedelta(days=days)
