"""Survey batches: movers-out chosen by a collector, at most 500 a batch,
assigned to investigators by area or by hand, opened for the contract period."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from ..cases.statuses import Work, available_for
from ..models import (
    BatchState, Case, CaseStatus, Residency, SurveyBatch, SurveyTarget, SurveyTargetState, Taxpayer,
)

MAX_TARGETS = 500
_AREA = re.compile(r"^(.{2,3}?[都道府県])(.+?[市区町村郡])?")


class BatchError(ValueError):
    """A message key explaining why the batch was refused."""


def area_of(address: str) -> str:
    """Prefecture and city of an address: 大阪府大阪市, 北海道札幌市, 千葉県."""
    match = _AREA.match(address or "")
    if not match:
        return ""
    return (match.group(1) + (match.group(2) or ""))[:60]


def open_survey_case_ids():
    return (select(SurveyTarget.case_id).join(SurveyBatch, SurveyBatch.id == SurveyTarget.batch_id)
            .where(SurveyBatch.state != BatchState.closed))


def movers_out(dbsession, today: dt.date, prefecture: str = "",
               balance_min: int | None = None) -> list[Case]:
    """Open, unpaid cases of taxpayers who moved out of the ward, in no open
    batch, that no collection status keeps from the survey."""
    query = (select(Case).join(Taxpayer, Taxpayer.id == Case.taxpayer_id)
             .where(Taxpayer.residency == Residency.moved_out, Case.status == CaseStatus.open,
                    Case.balance > 0, Case.id.not_in(open_survey_case_ids()),
                    available_for(Work.survey, today))
             .order_by(Taxpayer.postal_code, Case.case_no))
    if prefecture:
        query = query.where(Taxpayer.address.startswith(prefecture, autoescape=True))
    if balance_min is not None:
        query = query.where(Case.balance >= balance_min)
    return list(dbsession.scalars(query))


def create(dbsession, contract, name: str, deadline: dt.date, cases, user, now) -> SurveyBatch:
    if len(cases) > MAX_TARGETS:
        raise BatchError("survey.error.too_many")
    if not cases:
        raise BatchError("survey.error.no_cases")
    if not contract.starts_on <= deadline <= contract.ends_on:
        raise BatchError("survey.error.deadline")
    batch = SurveyBatch(contract_id=contract.id, name=name, deadline=deadline,
                        state=BatchState.draft, created_by=user.id, created_at=now)
    dbsession.add(batch)
    dbsession.flush()
    for case in cases:
        dbsession.add(SurveyTarget(batch_id=batch.id, case_id=case.id,
                                   area=area_of(case.taxpayer.address),
                                   state=SurveyTargetState.pending))
    dbsession.flush()
    return batch


def assign(batch, targets, investigator) -> int:
    """Give ``targets`` of ``batch`` to ``investigator`` (a user of the batch's contract)."""
    if investigator.contract_id != batch.contract_id:
        raise BatchError("survey.error.investigator")
    count = 0
    for target in targets:
        if target.batch_id == batch.id:
            target.investigator_id = investigator.id
            count += 1
    return count


def assign_area(batch, area_prefix: str, investigator) -> int:
    return assign(batch, [t for t in batch.targets if t.area.startswith(area_prefix)], investigator)


def open_batch(batch) -> None:
    if any(t.investigator_id is None for t in batch.targets):
        raise BatchError("survey.error.unassigned")
    batch.state = BatchState.open
