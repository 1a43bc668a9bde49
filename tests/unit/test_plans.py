"""Installment plans (issue 20): the schedule, the checks and the state that
follows the receipts (docs/collections.md, "Installment plans")."""
import datetime as dt

import pytest

from intranet.cases.plans import (
    PlanError, add_months, check_schedule, evaluate, monthly_schedule, parse_rows,
)
from intranet.models import PlanState

D = dt.date


def test_a_monthly_schedule_sums_to_the_total_with_the_odd_yen_first():
    rows = monthly_schedule(100_000, 3, D(2026, 12, 31))
    assert sum(a for _, a in rows) == 100_000
    assert [a for _, a in rows] == [33_334, 33_333, 33_333]
    # month ends are kept within the month (2/28, not 3/3)
    assert [d for d, _ in rows] == [D(2026, 12, 31), D(2027, 1, 31), D(2027, 2, 28)]


def test_add_months_crosses_years():
    assert add_months(D(2026, 11, 30), 3) == D(2027, 2, 28)
    assert add_months(D(2028, 1, 31), 1) == D(2028, 2, 29)


@pytest.mark.parametrize("total,count,key", [
    (0, 3, "plan.error.amount"), (-5, 3, "plan.error.amount"), (2, 3, "plan.error.amount"),
    (1000, 0, "plan.error.count"), (1000, 121, "plan.error.count")])
def test_bad_monthly_input_is_refused(total, count, key):
    with pytest.raises(PlanError) as exc:
        monthly_schedule(total, count, D(2026, 12, 1))
    assert exc.value.key == key


@pytest.mark.parametrize("rows,signed,key", [
    ([], D(2026, 11, 1), "plan.error.empty"),
    ([(D(2026, 12, 1), 0)], D(2026, 11, 1), "plan.error.amount"),
    ([(D(2026, 12, 1), -100)], D(2026, 11, 1), "plan.error.amount"),
    ([(D(2026, 11, 23), 100)], D(2026, 11, 1), "plan.error.past"),
    ([(D(2026, 12, 1), 100)], D(2026, 11, 25), "plan.error.signed_future"),
])
def test_schedules_with_past_days_or_non_positive_amounts_are_refused(rows, signed, key):
    with pytest.raises(PlanError) as exc:
        check_schedule(rows, signed_on=signed, today=D(2026, 11, 24))
    assert exc.value.key == key


def test_a_payment_due_today_is_accepted():
    check_schedule([(D(2026, 11, 24), 1)], signed_on=D(2026, 11, 24), today=D(2026, 11, 24))


def test_typed_rows():
    assert parse_rows("2026-12-25 10,000円\n\n2027-01-25,5000\r\n2027-02-25\t7000") == [
        (D(2026, 12, 25), 10000), (D(2027, 1, 25), 5000), (D(2027, 2, 25), 7000)]
    for bad in ("2026-12-25", "2026-13-01 100", "tomorrow 100", "2026-12-25 ten", "=HYPERLINK(1) 1"):
        with pytest.raises(PlanError) as exc:
            parse_rows("2026-12-01 100\n" + bad)
        assert exc.value.key == "plan.error.row" and exc.value.values == {"line": 2}


SCHEDULE = [(D(2026, 9, 1), 1000), (D(2026, 10, 1), 1000), (D(2026, 11, 1), 1000)]


def _state(receipts, today, grace=10):
    return evaluate(SCHEDULE, receipts, signed_on=D(2026, 8, 1), today=today, grace_days=grace)


def test_paid_on_time_is_current_and_paid_in_full_is_completed():
    paid = [(D(2026, 9, 1), 1000), (D(2026, 10, 2), 1000)]
    result = _state(paid, D(2026, 11, 5))
    assert result.state == PlanState.current and result.missed_due_on is None
    assert [p.paid_on for p in result.payments] == [D(2026, 9, 1), D(2026, 10, 2), None]
    assert _state(paid + [(D(2026, 11, 1), 1000)], D(2026, 11, 5)).state == PlanState.completed


def test_a_payment_missed_beyond_the_grace_days_defaults_the_plan():
    paid = [(D(2026, 9, 1), 1000)]
    # 10/1 + 10 days = 10/11: still in grace on 10/11, missed on 10/12
    assert _state(paid, D(2026, 10, 11)).state == PlanState.current
    result = _state(paid, D(2026, 10, 12))
    assert result.state == PlanState.defaulted and result.missed_due_on == D(2026, 10, 1)
    assert _state(paid, D(2026, 10, 2), grace=0).state == PlanState.defaulted


def test_cumulative_receipts_count_and_catching_up_cures_the_default():
    # one double payment on 9/1 covers the first two payments
    assert _state([(D(2026, 9, 1), 2000)], D(2026, 10, 20)).state == PlanState.current
    late = [(D(2026, 9, 1), 1000), (D(2026, 10, 30), 1000)]
    assert _state(late, D(2026, 10, 29)).state == PlanState.defaulted
    assert _state(late, D(2026, 10, 30)).state == PlanState.current


def test_receipts_before_the_signing_do_not_count():
    assert _state([(D(2026, 7, 31), 3000)], D(2026, 9, 20)).state == PlanState.defaulted
