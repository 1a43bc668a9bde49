import datetime as dt

import pytest

from intranet.models import TaxType
from intranet.taxes.duedates import (
    dunning_due_by, is_business_day, next_business_day, ordinary_due_dates, proposed_deadline,
)

D = dt.date


@pytest.mark.parametrize("day,expected", [
    (D(2026, 11, 24), D(2026, 11, 24)),   # Tuesday
    (D(2026, 11, 23), D(2026, 11, 24)),   # 勤労感謝の日 (Monday)
    (D(2026, 5, 31), D(2026, 6, 1)),      # Sunday
    (D(2026, 5, 2), D(2026, 5, 7)),       # Saturday, then Golden Week (3–6 May)
    (D(2026, 12, 29), D(2027, 1, 4)),     # year-end closure
    (D(2027, 1, 3), D(2027, 1, 4)),
])
def test_next_business_day(day, expected):
    assert next_business_day(day) == expected
    assert is_business_day(expected)


def test_ordinary_resident_tax_due_dates_are_shifted():
    # 2026: 30 June (Tue), 31 Aug (Mon), 31 Oct (Sat → 2 Nov), 31 Jan 2027 (Sun → 1 Feb)
    assert ordinary_due_dates(TaxType.resident, 2026) == [
        D(2026, 6, 30), D(2026, 8, 31), D(2026, 11, 2), D(2027, 2, 1)]


def test_light_vehicle_tax_is_due_at_the_end_of_may():
    assert ordinary_due_dates(TaxType.light_vehicle, 2026) == [D(2026, 6, 1)]  # 31 May is a Sunday
    assert ordinary_due_dates(TaxType.light_vehicle, 2025) == [D(2025, 6, 2)]  # Sat 31 May


def test_dunning_and_proposed_deadlines():
    assert dunning_due_by(D(2026, 6, 30)) == D(2026, 7, 20)
    assert proposed_deadline(D(2026, 11, 20)) == D(2026, 11, 27)   # Friday + 7 = Friday
    assert proposed_deadline(D(2026, 11, 16)) == D(2026, 11, 24)   # 23rd is a holiday
