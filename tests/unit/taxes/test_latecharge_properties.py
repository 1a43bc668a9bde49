"""Invariants of the late-charge calculation (property-based)."""
import datetime as dt

from hypothesis import given, settings, strategies as st

from intranet.taxes.latecharge import first_month_end, late_charge, taxable_base

taxes = st.integers(min_value=0, max_value=50_000_000)
dues = st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2026, 6, 30))
spans = st.integers(min_value=0, max_value=900)


def until(due, days):
    return min(due + dt.timedelta(days=days), dt.date(2026, 12, 31))


@settings(max_examples=300, deadline=None)
@given(taxes, dues, spans)
def test_rounding_rules(tax, due, days):
    result = late_charge(tax, due, until(due, days))
    assert result.amount % 100 == 0
    assert result.amount == 0 or result.amount >= 1000
    for s in result.segments:
        assert s.base % 1000 == 0 and s.base >= 2000 and s.days >= 1


@settings(max_examples=200, deadline=None)
@given(taxes, dues, spans, st.integers(min_value=1, max_value=400))
def test_monotonic_in_days(tax, due, days, more):
    assert late_charge(tax, due, until(due, days)).amount <= late_charge(
        tax, due, until(due, days + more)).amount


@settings(max_examples=200, deadline=None)
@given(taxes, st.integers(min_value=0, max_value=5_000_000), dues, spans)
def test_monotonic_in_amount(tax, extra, due, days):
    day = until(due, days)
    assert late_charge(tax, due, day).amount <= late_charge(tax + extra, due, day).amount


@settings(max_examples=200, deadline=None)
@given(taxes, dues, st.integers(min_value=0, max_value=30))
def test_nothing_on_or_before_the_due_date(tax, due, before):
    result = late_charge(tax, due, due - dt.timedelta(days=before), shift_due=False)
    assert result.amount == 0 and result.segments == []


@settings(max_examples=200, deadline=None)
@given(taxes, dues, spans)
def test_segments_cover_every_day_once(tax, due, days):
    end = until(due, days)
    result = late_charge(tax, due, end)
    if result.segments:
        assert result.segments[0].start == result.due + dt.timedelta(days=1)
        assert result.segments[-1].end == end
        for a, b in zip(result.segments, result.segments[1:]):
            assert b.start == a.end + dt.timedelta(days=1)
            assert a.start.year == a.end.year  # split at every 1 January


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_first_month_is_about_a_month(start):
    end = first_month_end(start)
    assert 27 <= (end - start).days <= 30


def test_taxable_base_rules():
    assert [taxable_base(x) for x in (0, 1999, 2000, 2999, 123_456)] == [0, 0, 2000, 2000, 123_000]


def test_partial_payments_lower_the_base_from_the_next_day():
    full = late_charge(100_000, dt.date(2024, 7, 1), dt.date(2025, 2, 10))
    part = late_charge(100_000, dt.date(2024, 7, 1), dt.date(2025, 2, 10),
                       partials=[(dt.date(2024, 10, 31), 60_000)])
    assert part.amount < full.amount
    (split,) = [s for s in part.segments if s.start == dt.date(2024, 11, 1)]
    assert split.base == 40_000
    assert any(s.end == dt.date(2024, 10, 31) and s.base == 100_000 for s in part.segments)
