"""Training records of the outsourced staff (研修・従事者教育).

The call center plans and runs its operators' training (seed 000, 委託の内容
7 「オペレータ研修計画の策定及び実施」; 特記事項10 「従業員に対する教育」) and the
survey servicer trains its investigators (seed 004, 特記事項18 「従事者に対する
教育」). The ward records each course (course, date, trainer, next due) and,
for the kinds of outsourced work its settings name, a person whose required
training is missing or overdue cannot log in
(:func:`intranet.security.authentication.authenticate`).

Settings (parsed once at start-up, ``request.app_settings.training``):

* ``intranet.training.required_roles``: the roles whose work requires a
  current training record, default ``operator contractor`` (the call center
  and the survey servicer); empty: none. Only outsourced roles may be named.
* ``intranet.training.valid_months``: how long a course counts when no
  next-due date is given (default 12).
* ``intranet.training.due_soon_days``: "due soon" window of
  :func:`due_user_ids` (default 30).
* ``intranet.training.courses``: the courses to choose from, one a line;
  empty (default): free text.
"""
from __future__ import annotations

import calendar
import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from ..models import Contract, Role, TrainingCourse, TrainingRecord, User

#: The outsourced work whose staff may be required to train.
OUTSOURCED_ROLES = frozenset({Role.operator, Role.contractor})
#: Stored instead of "never due" when comparing due dates.
NEVER = dt.date(9999, 12, 31)
COURSE_MAX = 100
TRAINER_MAX = 100


@dataclass(frozen=True)
class TrainingSettings:
    required_roles: frozenset[Role]
    valid_months: int = 12
    due_soon_days: int = 30
    courses: tuple[str, ...] = ()


    def requires(self, user: User) -> bool:
        return user.role in self.required_roles

    def default_next_due(self, trained_on: dt.date) -> dt.date:
        return add_months(trained_on, self.valid_months)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months, on the month's last day where it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class State(enum.StrEnum):
    ok = "ok"                  # a course taken on or before the day, not yet due again
    overdue = "overdue"        # every course taken has passed its next-due date
    missing = "missing"        # no course taken on or before the day
    not_required = "not_required"  # the user's work requires no training (settings)


@dataclass(frozen=True)
class Standing:
    state: State
    next_due: dt.date | None   # the latest next-due date of the courses taken; None: never or none

    @property
    def current(self) -> bool:
        return self.state in (State.ok, State.not_required)


def _counts():
    """Records that count towards the required training: every record but
    the completions of plan courses marked not required (研修計画, issue 25)."""
    optional = select(TrainingCourse.id).where(TrainingCourse.required.is_(False))
    return or_(TrainingRecord.course_id.is_(None), TrainingRecord.course_id.not_in(optional))


def records(dbsession, user_id: int, counting: bool = False) -> list[TrainingRecord]:
    """A user's records, newest first; ``counting``: only those that count
    towards the required training."""
    query = select(TrainingRecord).where(TrainingRecord.user_id == user_id)
    if counting:
        query = query.where(_counts())
    return list(dbsession.scalars(query.order_by(TrainingRecord.trained_on.desc(),
                                                 TrainingRecord.id.desc())))


def standing_of(rows, day: dt.date) -> Standing:
    """The standing given a user's records, as of ``day``: a course counts
    from the day it was taken up to and including its next-due date."""
    taken = [r for r in rows if r.trained_on <= day]
    if not taken:
        return Standing(State.missing, None)
    due = max(r.next_due or NEVER for r in taken)
    return Standing(State.ok if due >= day else State.overdue, None if due == NEVER else due)


def required(user: User, settings: TrainingSettings) -> bool:
    """Does ``user``'s work require training? Its role is named in the
    settings, or it is under a contract requiring training (issue 25: the
    call center's operators under their contract, whatever the roles say)."""
    if settings.requires(user):
        return True
    contract = user.contract if user.role in OUTSOURCED_ROLES else None
    return contract is not None and contract.training_required


def _requires(settings: TrainingSettings):
    """:func:`required` as a clause on ``users``."""
    under_contract = User.contract_id.in_(select(Contract.id).where(Contract.training_required.is_(True)))
    return or_(User.role.in_(sorted(settings.required_roles)),
               and_(User.role.in_(sorted(OUTSOURCED_ROLES)), under_contract))


def standing(dbsession, user: User, day: dt.date, settings: TrainingSettings | None = None) -> Standing:
    """Is ``user``'s training current on ``day``? With ``settings``, users
    whose work requires none are ``not_required`` (without: the records alone)."""
    if settings is not None and not required(user, settings):
        return Standing(State.not_required, None)
    return standing_of(records(dbsession, user.id, counting=True), day)


def due_user_ids(dbsession, today: dt.date, settings: TrainingSettings) -> set[int]:
    """Active users whose work requires training (:func:`required`, in SQL)
    and whose training is missing, overdue or due within ``due_soon_days``
    of ``today``."""
    best_due = (select(TrainingRecord.user_id,
                       func.max(func.coalesce(TrainingRecord.next_due, NEVER)).label("due"))
                .where(TrainingRecord.trained_on <= today, _counts())
                .group_by(TrainingRecord.user_id).subquery())
    soon = today + dt.timedelta(days=settings.due_soon_days)
    query = (select(User.id).outerjoin(best_due, best_due.c.user_id == User.id)
             .where(_requires(settings), User.is_active.is_(True),
                    or_(best_due.c.due.is_(None), best_due.c.due <= soon)))
    return set(dbsession.scalars(query))


class TrainingError(ValueError):
    """Message keys of what was wrong with a record (nothing is stored)."""

    def __init__(self, keys: list[str]):
        super().__init__(", ".join(keys))
        self.keys = keys


def record(dbsession, user: User, *, course: str, trained_on: dt.date, trainer: str,
           next_due: dt.date | None, recorded_by: User, now: dt.datetime, today: dt.date,
           settings: TrainingSettings) -> TrainingRecord:
    """Add one record after checking it; ``next_due`` None: the default validity."""
    errors = []
    if not course or len(course) > COURSE_MAX or (settings.courses and course not in settings.courses):
        errors.append("training.error.course")
    if not trainer or len(trainer) > TRAINER_MAX:
        errors.append("training.error.trainer")
    if trained_on > today:
        errors.append("training.error.future")
    if next_due is None:
        next_due = settings.default_next_due(trained_on)
    elif next_due <= trained_on:
        errors.append("training.error.next_due")
    if errors:
        raise TrainingError(errors)
    row = TrainingRecord(user_id=user.id, course=course, trained_on=trained_on, trainer=trainer,
                         next_due=next_due, recorded_by=recorded_by.id, recorded_at=now)
    dbsession.add(row)
    dbsession.flush()
    return row


def includeme(config):
    config.scan("intranet.admin.training")
