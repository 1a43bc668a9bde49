"""研修計画: the contractor's training plan and each person's completion
(seed 000, 委託の内容7 「オペレータ研修計画の策定及び実施」; 特記事項10
「従業員に対する教育」; seed 004, 特記事項18).

A plan belongs to one contractor organisation and one fiscal year (年度,
April to March); its courses have a date, a trainer, a summary of what
they cover and whether completing one counts as the required training
(従事者教育) of the login gate (:mod:`intranet.accounts.training`). A
completion is a training record (``training_records``) pointing at its
course: the login gate, the user pages, checklists and the inspection
package read it like any other record.

Who may do what is the matrix's (``TEAM_LEADER_PLAN_GRANTS``,
``SUPERVISOR_ACTIONS``); the rules here are the data's: a completion only
for a user of the plan's own organisation doing its outsourced work, never
for oneself (nobody certifies their own training), once per course, on or
after the course's date and not in the future.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ..accounts import training
from ..calls.campaigns import fiscal_year
from ..models import (
    Organisation, OrganisationKind, TrainingCourse, TrainingPlan, TrainingRecord, User,
)

TITLE_MAX = training.COURSE_MAX
TRAINER_MAX = training.TRAINER_MAX
SUMMARY_MAX = 2000
YEARS_AHEAD = 1   # a plan for next year may be drawn up; none further ahead


class PlanError(ValueError):
    """Message keys of what was wrong (nothing is stored)."""

    def __init__(self, keys: list[str]):
        super().__init__(", ".join(keys))
        self.keys = keys


def fiscal_year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


def create_plan(dbsession, organisation: Organisation | None, year: int | None, *, user,
                now: dt.datetime, today: dt.date) -> TrainingPlan:
    errors = []
    if organisation is None or organisation.kind != OrganisationKind.contractor:
        errors.append("training_plan.error.organisation")
    current = fiscal_year(today)
    if year is None or not current - 1 <= year <= current + YEARS_AHEAD:
        errors.append("training_plan.error.fiscal_year")
    if not errors and dbsession.scalar(select(func.count(TrainingPlan.id)).where(
            TrainingPlan.organisation_id == organisation.id, TrainingPlan.fiscal_year == year)):
        errors.append("training_plan.error.exists")
    if errors:
        raise PlanError(errors)
    plan = TrainingPlan(organisation_id=organisation.id, fiscal_year=year, created_by=user.id,
                        created_at=now)
    dbsession.add(plan)
    dbsession.flush()
    return plan


def add_course(dbsession, plan: TrainingPlan, *, title: str, held_on: dt.date | None, trainer: str,
               summary: str, required: bool, user, now: dt.datetime) -> TrainingCourse:
    """``title``/``trainer``/``summary`` come checked for length and
    control characters (empty: refused, except the summary)."""
    errors = []
    if not title:
        errors.append("training_plan.error.title")
    if not trainer:
        errors.append("training_plan.error.trainer")
    first, last = fiscal_year_bounds(plan.fiscal_year)
    if held_on is None or not first <= held_on <= last:
        errors.append("training_plan.error.held_on")
    if errors:
        raise PlanError(errors)
    course = TrainingCourse(plan_id=plan.id, title=title, held_on=held_on, trainer=trainer,
                            summary=summary, required=required, created_by=user.id, created_at=now)
    dbsession.add(course)
    dbsession.flush()
    return course


def members(dbsession, plan: TrainingPlan) -> list[User]:
    """The users whose completions the plan records: its organisation's
    outsourced staff (the operators or the investigators)."""
    return list(dbsession.scalars(select(User).where(
        User.organisation_id == plan.organisation_id,
        User.role.in_(sorted(training.OUTSOURCED_ROLES))).order_by(User.login)))


def completions(dbsession, plan: TrainingPlan) -> dict[int, dict[int, TrainingRecord]]:
    """course id -> user id -> the completion, in one query."""
    result: dict[int, dict[int, TrainingRecord]] = {c.id: {} for c in plan.courses}
    if not result:
        return result
    for row in dbsession.scalars(select(TrainingRecord).where(
            TrainingRecord.course_id.in_(list(result)))):
        result[row.course_id][row.user_id] = row
    return result


def complete(dbsession, course: TrainingCourse, member: User | None, *, trained_on: dt.date | None,
             recorded_by: User, now: dt.datetime, today: dt.date,
             settings: training.TrainingSettings) -> TrainingRecord:
    """Record that ``member`` completed ``course`` (see the module docstring)."""
    plan = course.plan
    if (member is None or member.organisation_id != plan.organisation_id
            or member.role not in training.OUTSOURCED_ROLES):
        raise PlanError(["training_plan.error.member"])
    if member.id == recorded_by.id:
        raise PlanError(["training_plan.error.oneself"])
    if trained_on is None or trained_on < course.held_on:
        raise PlanError(["training_plan.error.completed_on"])
    if dbsession.scalar(select(func.count(TrainingRecord.id)).where(
            TrainingRecord.course_id == course.id, TrainingRecord.user_id == member.id)):
        raise PlanError(["training_plan.error.already"])
    try:
        row = training.record(dbsession, member, course=course.title, trained_on=trained_on,
                              trainer=course.trainer, next_due=None, recorded_by=recorded_by,
                              now=now, today=today, settings=settings)
    except training.TrainingError as exc:
        raise PlanError(exc.keys) from None
    row.course_id = course.id
    dbsession.flush()
    return row
