"""Survey batches: movers-out chosen by a collector, at most 500 a batch,
assigned to investigators by area or by hand, opened for the contract period."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from ..models import BatchState, Case, SurveyBatch, SurveyTarget, SurveyTargetState
from . import selection

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
               balance_min: int | None = None,
               days: int = selection.DEFAULT_NO_CONTACT_DAYS) -> list[Case]:
    """The cases a new batch may take: movers-out who owe overdue tax and
    cannot be reached (:mod:`intranet.survey.selection`, seed 004)."""
    return [c.case for c in selection.candidates(dbsession, today, days, prefecture, balance_min)]


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


def add_target(dbsession, batch, case, today: dt.date, days: int) -> SurveyTarget:
    """Add one eligible case to a draft batch; BatchError (with the rules it
    fails in ``args[1]``) otherwise. An ineligible case is refused: the
    survey is for movers-out who cannot be reached (seed 004)."""
    if batch.state != BatchState.draft:
        raise BatchError("survey.error.draft_only")
    if any(t.case_id == case.id for t in batch.targets):
        raise BatchError("survey.error.already_target")
    found = selection.check(dbsession, [case.id], today, days)[case.id]
    if not found.eligible:
        raise BatchError("survey.error.not_eligible", found.failures)
    if len(batch.targets) >= MAX_TARGETS:
        raise BatchError("survey.error.too_many")
    target = SurveyTarget(batch_id=batch.id, case_id=case.id, area=area_of(case.taxpayer.address),
                          state=SurveyTargetState.pending)
    dbsession.add(target)
    batch.targets.append(target)
    dbsession.flush()
    return target


def remove_target(dbsession, batch, target) -> None:
    """Take one target out of a draft batch (before it opens)."""
    if batch.state != BatchState.draft:
        raise BatchError("survey.error.draft_only")
    if target is None or target.batch_id != batch.id:
        raise BatchError("survey.error.target")
    batch.targets.remove(target)
    dbsession.delete(target)
    dbsession.flush()


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
    if len(batch.targets) > MAX_TARGETS:
        raise BatchError("survey.error.too_many")
    if not batch.targets:
        raise BatchError("survey.error.no_cases")
    if any(t.investigator_id is None for t in batch.targets):
        raise BatchError("survey.error.unassigned")
    batch.state = BatchState.open
