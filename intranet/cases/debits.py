"""口座振替の申込追跡 (direct-debit follow-up, issue 20; docs/collections.md).

A 口座振替の案内 — an operator's call action or a collector's record — opens
an application for the case, or adds a step to the one already open. It then
moves by steps, each dated and attributed:

==============  =======================================================
勧奨済          encouraged; no form sent yet
申込書送付      the 口座振替依頼書 went out: by hand, by post, or enclosed
                with a 催告書 of a letter batch (:func:`enclose`)
返送受付        the taxpayer returned it; the ward sent it to the bank
不備            the bank or the ward found it incomplete (a reason)
登録済          the data link delivered an active account for the case
                registered on or after the encouragement (:func:`match`)
取下げ          the taxpayer declined, or the ward stopped following it
==============  =======================================================

登録済 is never typed: it is what the delinquency system says (the
account's 口座登録日 when the file gives it, else the day the data link first
delivered the account). The monthly report counts, of the cases encouraged
in a month, those registered within 30, 60 and 90 days (:func:`cohort`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select

from ..models import (
    AWAITING_FORM, OPEN_STATES, ApplicationState as S, Case, DirectDebitAccount,
    DirectDebitApplication, DirectDebitStep, FormSentVia, User,
)

#: The steps a member of staff may record, from each open state. 登録済
#: comes only from the data link (:func:`match`).
TRANSITIONS: dict[S, frozenset[S]] = {
    S.encouraged: frozenset({S.form_sent, S.returned, S.withdrawn}),
    S.form_sent: frozenset({S.form_sent, S.returned, S.withdrawn}),   # sent again
    S.returned: frozenset({S.deficient, S.withdrawn}),
    S.deficient: frozenset({S.form_sent, S.returned, S.withdrawn}),
}
#: Windows of the monthly report, in days after the first encouragement.
WINDOWS = (30, 60, 90)
MAX_NOTE = 200
LETTER_ENCLOSURE = "口座振替依頼書"


class DebitError(ValueError):
    """A step refused; ``key`` is a message key (intranet.messages)."""

    def __init__(self, key: str, **values):
        super().__init__(key)
        self.key, self.values = key, values


def open_application(dbsession, case_id: int) -> DirectDebitApplication | None:
    return dbsession.scalar(select(DirectDebitApplication).where(
        DirectDebitApplication.case_id == case_id,
        DirectDebitApplication.state.in_(OPEN_STATES)).order_by(DirectDebitApplication.id.desc())
        .limit(1))


def _step(application, state: S, on: dt.date, user_id: int | None, now: dt.datetime, *,
          via: FormSentVia | None = None, batch_id: int | None = None, note: str = "") -> None:
    application.steps.append(DirectDebitStep(state=state, happened_on=on, via=via,
                                             batch_id=batch_id, note=note,
                                             recorded_by=user_id, recorded_at=now))
    if state != application.state:
        application.state, application.state_since = state, on


def encourage(dbsession, case, user_id: int, on: dt.date, now: dt.datetime, *,
              attempt_id: int | None = None, corrects_id: int | None = None,
              handed_form: bool = False, note: str = "") -> DirectDebitApplication:
    """Record a 口座振替の案内 on ``case``: a new application, or a step on the
    open one (its first encouragement stays the day the report counts
    from). A call that corrects an earlier one takes over that call's
    application without a new step. ``handed_form``: the form was handed
    over at once (counter, visit)."""
    application = open_application(dbsession, case.id)
    if application is not None and corrects_id is not None and application.attempt_id == corrects_id:
        application.attempt_id = attempt_id
        return application
    if application is None:
        application = DirectDebitApplication(
            case_id=case.id, state=S.encouraged, state_since=on, encouraged_on=on,
            encouraged_by=user_id, attempt_id=attempt_id)
        dbsession.add(application)
        _step(application, S.encouraged, on, user_id, now, note=note)
    else:  # encouraged again: recorded, the state stays
        application.steps.append(DirectDebitStep(state=S.encouraged, happened_on=on, note=note,
                                                 recorded_by=user_id, recorded_at=now))
    if handed_form and application.state in (S.encouraged, S.deficient, S.form_sent):
        _step(application, S.form_sent, on, user_id, now, via=FormSentVia.hand)
    return application


def encouraged(dbsession, attempt, cases) -> None:
    """The call-recording hook (:mod:`intranet.calls.results`): ``attempt``
    records a direct-debit encouragement about ``cases``."""
    from ..calls.calendar import jst_day

    for case in cases:
        encourage(dbsession, case, attempt.operator_id, jst_day(attempt.called_at),
                  attempt.called_at, attempt_id=attempt.id, corrects_id=attempt.corrects_id)


def correction_dropped(dbsession, corrected_id: int) -> int:
    """A correction of call ``corrected_id`` no longer encourages direct
    debit: the applications that call opened and nothing followed are
    removed (the call record and its correction remain). Returns how many."""
    apps = dbsession.scalars(select(DirectDebitApplication).where(
        DirectDebitApplication.attempt_id == corrected_id,
        DirectDebitApplication.state == S.encouraged)).all()
    removed = 0
    for application in apps:
        if all(s.state == S.encouraged for s in application.steps) and len(application.steps) == 1:
            dbsession.delete(application)
            removed += 1
    return removed


def advance(application: DirectDebitApplication, state: S, on: dt.date, user_id: int,
            now: dt.datetime, today: dt.date, *, via: FormSentVia | None = None,
            note: str = "") -> None:
    """A step recorded by staff; :class:`DebitError` when not allowed."""
    if state not in TRANSITIONS.get(application.state, frozenset()):
        raise DebitError("debit.error.step", state=str(application.state))
    if on > today:
        raise DebitError("debit.error.future")
    if on < application.state_since:
        raise DebitError("debit.error.before", since=application.state_since.isoformat())
    if state == S.form_sent and via not in (FormSentVia.hand, FormSentVia.mail):
        raise DebitError("debit.error.via")
    if state == S.deficient and not note:
        raise DebitError("debit.error.reason")
    if len(note) > MAX_NOTE or "\x00" in note:
        raise DebitError("debit.error.too_long", max=MAX_NOTE)
    _step(application, state, on, user_id, now, via=via if state == S.form_sent else None,
          note=note)


def awaiting_form(dbsession, case_ids) -> set[int]:
    """Of ``case_ids``, the cases whose open application waits for a form
    (勧奨済 or 不備): a letter batch may enclose one."""
    ids = list(case_ids)
    if not ids:
        return set()
    return set(dbsession.scalars(select(DirectDebitApplication.case_id).where(
        DirectDebitApplication.case_id.in_(ids),
        DirectDebitApplication.state.in_(AWAITING_FORM))))


def enclose(dbsession, batch, case_ids, user_id: int, now: dt.datetime, today: dt.date) -> int:
    """The letters of ``batch`` to ``case_ids`` enclosed a form: 申込書送付
    via the batch. Returns how many applications moved."""
    ids = list(case_ids)
    if not ids:
        return 0
    apps = dbsession.scalars(select(DirectDebitApplication).where(
        DirectDebitApplication.case_id.in_(ids),
        DirectDebitApplication.state.in_(AWAITING_FORM))).all()
    for application in apps:
        _step(application, S.form_sent, today, user_id, now, via=FormSentVia.letter_batch,
              batch_id=batch.id)
    return len(apps)


@dataclass(frozen=True)
class Registration:
    application_id: int
    case_no: str
    registered_on: dt.date


def match(dbsession, today: dt.date, now: dt.datetime) -> list[Registration]:
    """登録済 for every open application whose case has an active account
    registered (口座登録日, else first delivered) on or after the first
    encouragement; the earliest such account. Run after each data-link
    import."""
    registered = func.coalesce(DirectDebitAccount.registered_on, DirectDebitAccount.first_seen_on)
    rows = dbsession.execute(
        select(DirectDebitApplication, DirectDebitAccount.id, registered, Case.case_no)
        .join(Case, Case.id == DirectDebitApplication.case_id)
        .join(DirectDebitAccount, and_(
            DirectDebitAccount.case_id == DirectDebitApplication.case_id,
            DirectDebitAccount.cancelled_on.is_(None),
            registered.is_not(None), registered >= DirectDebitApplication.encouraged_on))
        .where(DirectDebitApplication.state.in_(OPEN_STATES))
        .order_by(DirectDebitApplication.id, registered, DirectDebitAccount.id)).all()
    done: list[Registration] = []
    seen: set[int] = set()
    for application, account_id, on, case_no in rows:
        if application.id in seen:
            continue
        seen.add(application.id)
        application.account_id, application.registered_on = account_id, on
        _step(application, S.registered, max(on, application.state_since), None, now,
              note="データ連携（口座振替データ）")
        done.append(Registration(application.id, case_no, on))
    return done


# ------------------------------------------------------------------ reporting

@dataclass
class Cohort:
    """The cases first encouraged in one month and what became of them."""

    label: str                   # 2026-11
    encouraged: int = 0
    registered: dict[int, int] = field(default_factory=dict)   # window days -> cases
    complete: dict[int, bool] = field(default_factory=dict)    # has every window elapsed?
    states: dict[str, int] = field(default_factory=dict)       # current state -> cases


def cohort(dbsession, first: dt.date, last: dt.date, today: dt.date,
           organisation_id: int | None = None) -> Cohort:
    """Applications first encouraged in [first, last] (by ``organisation_id``'s
    staff when given): how many registered within each window of
    :data:`WINDOWS` days, and whether that window has closed for all of them
    (a window still open for some is marked 集計中)."""
    stmt = select(DirectDebitApplication.encouraged_on, DirectDebitApplication.registered_on,
                  DirectDebitApplication.state).where(
        DirectDebitApplication.encouraged_on >= first, DirectDebitApplication.encouraged_on <= last)
    if organisation_id is not None:
        stmt = stmt.where(DirectDebitApplication.encouraged_by.in_(
            select(User.id).where(User.organisation_id == organisation_id)))
    result = Cohort(f"{first.year:04d}-{first.month:02d}",
                    registered={d: 0 for d in WINDOWS},
                    complete={d: last + dt.timedelta(days=d) < today for d in WINDOWS},
                    states={str(s): 0 for s in S})
    for encouraged_on, registered_on, state in dbsession.execute(stmt):
        result.encouraged += 1
        result.states[str(state)] += 1
        if registered_on is None:
            continue
        for days in WINDOWS:
            if (registered_on - encouraged_on).days <= days:
                result.registered[days] += 1
    return result
