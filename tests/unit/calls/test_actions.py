"""A call is one contact result plus actions (issue 20): the first version's
single disposition maps to exactly one result and at most one action, and
back (the one-word summary kept for the call log and the data-link export)."""
import pytest

from intranet.models import (
    REACHED, ActionKind, CallAttempt, ContactResult, Disposition, legacy_split, summary,
)


@pytest.mark.parametrize("disposition", list(Disposition))
def test_every_old_disposition_round_trips(disposition):
    result, kind = legacy_split(disposition)
    assert (result == ContactResult.reached) == (disposition in REACHED)
    assert (kind is None) == (disposition not in REACHED)
    assert summary(result, {kind} if kind else set()) == disposition


@pytest.mark.parametrize("kinds,expected", [
    ({ActionKind.promise, ActionKind.direct_debit}, Disposition.promise),
    ({ActionKind.refusal, ActionKind.promise}, Disposition.refused),
    ({ActionKind.plan_request}, Disposition.consultation),
    ({ActionKind.slip_reissue, ActionKind.direct_debit}, Disposition.slip_reissue),
    (set(), None),  # reached, nothing more: no old word said this
])
def test_the_summary_is_the_weightiest_action(kinds, expected):
    assert summary(ContactResult.reached, kinds) == expected


def test_not_reached_summarises_as_the_result_whatever_was_ticked():
    assert summary(ContactResult.other_person, {ActionKind.callback}) == Disposition.other_person


def test_a_record_given_only_an_old_disposition_gets_its_result_and_action():
    import datetime as dt

    attempt = CallAttempt(disposition=Disposition.promise, promise_amount=5000,
                          promise_on=dt.date(2026, 12, 1))
    assert attempt.result == ContactResult.reached
    assert [(a.kind, a.amount, a.on) for a in attempt.actions] == [
        (ActionKind.promise, 5000, dt.date(2026, 12, 1))]
