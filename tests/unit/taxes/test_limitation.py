"""Limitation (時効) of the right to collect (intranet.taxes.limitation): worked dates.

Rules and sources: docs/taxes.md ("Limitation (時効)"). Counting: 民法140条
(first day not counted), 143条② (ends the day before the corresponding day;
end of month when there is none).
"""
import datetime as dt
import doctest

import pytest

from intranet.taxes import limitation as module
from intranet.taxes.limitation import Period, Rule, limitation, years_after

D = dt.date


def test_docstring_examples():
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("due, expires", [
    (D(2020, 6, 30), D(2025, 6, 30)),   # counted from 07-01: ends 2025-06-30
    (D(2021, 1, 31), D(2026, 1, 31)),
    (D(2024, 2, 29), D(2029, 2, 28)),   # counted from 2024-03-01: ends the day before 2029-03-01
    (D(2023, 2, 28), D(2028, 2, 29)),   # counted from 03-01: the day before 2028-03-01 (a leap day)
])
def test_five_years_from_the_day_after_the_due_date(due, expires):
    """地方税法18条①."""
    assert limitation(due=due) == module.Limitation(expires, Rule.statutory, due)


def test_a_period_starting_on_a_leap_day_ends_at_the_end_of_february():
    """民法143条② ただし書: no 2029-02-29, so the end of February."""
    assert years_after(D(2024, 2, 29), 5) == D(2029, 2, 28)
    assert years_after(D(2024, 2, 29), 4) == D(2028, 2, 28)


def test_holiday_shift_is_a_setting():
    """2025-11-30 is a Sunday: shifted to 12-01 when the setting says so."""
    assert limitation(due=D(2025, 11, 30)).expires_on == D(2030, 11, 30)
    shifted = limitation(due=D(2025, 11, 30), shift_due=True)
    assert (shifted.statutory_due, shifted.expires_on) == (D(2025, 12, 1), D(2030, 12, 1))


def test_dunning_renews_ten_days_after_the_letter():
    """督促状 sent 2020-07-20; 起算して十日を経過した日 = 07-30; runs anew from
    07-31: ends 2025-07-30 (18条の2①二)."""
    lim = limitation(due=D(2020, 6, 30), dunning_sent_on=D(2020, 7, 20))
    assert (lim.expires_on, lim.rule) == (D(2025, 7, 30), Rule.dunning)


def test_a_partial_payment_is_an_acknowledgement_and_renews():
    """民法152条① via 18条③: the period runs anew from the day after the payment."""
    lim = limitation(due=D(2020, 6, 30), dunning_sent_on=D(2020, 7, 20),
                     partial_payments=[D(2021, 5, 10), D(2023, 3, 15)])
    assert (lim.expires_on, lim.rule) == (D(2028, 3, 15), Rule.payment)


def test_an_agreement_renews_like_a_payment():
    lim = limitation(due=D(2020, 6, 30), agreements=[D(2024, 12, 2)])
    assert (lim.expires_on, lim.rule) == (D(2029, 12, 2), Rule.agreement)


def test_nothing_revives_an_expired_right():
    """Paid (or promised) after 2025-06-30: the right is gone (18条②)."""
    lim = limitation(due=D(2020, 6, 30), partial_payments=[D(2025, 7, 1)],
                     agreements=[D(2026, 1, 5)])
    assert (lim.expires_on, lim.rule) == (D(2025, 6, 30), Rule.statutory)


def test_a_seizure_postpones_while_it_lasts_and_renews_at_its_end():
    """差押 from 2025-05-01 (before the 2025-06-30 expiry): no completion while
    in force; ended 2026-02-10: runs anew, ends 2031-02-10."""
    pending = limitation(due=D(2020, 6, 30), seizures=[Period(D(2025, 5, 1))])
    assert (pending.expires_on, pending.rule) == (None, Rule.seizure_pending)
    assert not pending.expired_on(D(2040, 1, 1))
    ended = limitation(due=D(2020, 6, 30), seizures=[Period(D(2025, 5, 1), D(2026, 2, 10))])
    assert (ended.expires_on, ended.rule) == (D(2031, 2, 10), Rule.seizure)


def test_a_seizure_after_expiry_changes_nothing():
    lim = limitation(due=D(2020, 6, 30), seizures=[Period(D(2025, 7, 1))])
    assert (lim.expires_on, lim.rule) == (D(2025, 6, 30), Rule.statutory)


def test_suspension_ends_the_liability_after_three_years():
    """執行停止 from 2023-04-01, not revoked: extinct at the end of 2026-04-01
    (15条の7④), before the 2027-06-30 limitation."""
    lim = limitation(due=D(2022, 6, 30), suspensions=[Period(D(2023, 4, 1))])
    assert (lim.expires_on, lim.rule) == (D(2026, 4, 1), Rule.suspension)
    # still running past three years (recorded end later): the same
    assert limitation(due=D(2022, 6, 30),
                      suspensions=[Period(D(2023, 4, 1), D(2026, 6, 1))]).expires_on == D(2026, 4, 1)


def test_a_revoked_suspension_does_not_extinguish():
    lim = limitation(due=D(2022, 6, 30), suspensions=[Period(D(2023, 4, 1), D(2024, 1, 31))])
    assert (lim.expires_on, lim.rule) == (D(2027, 6, 30), Rule.statutory)


def test_limitation_runs_during_a_suspension():
    """The 5 years keep running while suspended: the earlier of the two wins."""
    lim = limitation(due=D(2020, 6, 30), suspensions=[Period(D(2024, 1, 10))])
    assert (lim.expires_on, lim.rule) == (D(2025, 6, 30), Rule.statutory)


def test_payment_after_the_suspension_extinguished_it_revives_nothing():
    lim = limitation(due=D(2022, 6, 30), suspensions=[Period(D(2023, 4, 1))],
                     partial_payments=[D(2026, 5, 1)])
    assert (lim.expires_on, lim.rule) == (D(2026, 4, 1), Rule.suspension)


def test_a_write_off_is_extinct_at_once():
    lim = limitation(due=D(2022, 6, 30), write_offs=[Period(D(2024, 3, 1))])
    assert (lim.expires_on, lim.rule) == (D(2024, 3, 1), Rule.write_off)


@pytest.mark.parametrize("day, months, expected", [
    (D(2026, 11, 24), 6, D(2027, 5, 24)),
    (D(2026, 8, 31), 6, D(2027, 2, 28)),    # no 31 February
    (D(2027, 8, 31), 6, D(2028, 2, 29)),
    (D(2026, 12, 1), 1, D(2027, 1, 1)),
])
def test_the_list_horizon(day, months, expected):
    from intranet.cases.limitation import add_months

    assert add_months(day, months) == expected


def test_limitation_settings():
    from intranet.cases.limitation import LimitationSettings
    from intranet.config import limitation_settings

    assert limitation_settings({}) == LimitationSettings(6, False)
    assert limitation_settings({"intranet.limitation.warn_months": "3",
                                             "intranet.limitation.shift_due_dates": "true"}
                                            ) == LimitationSettings(3, True)
    with pytest.raises(ValueError):
        limitation_settings({"intranet.limitation.warn_months": "0"})
