"""The campaign filter 分納不履行のみ (issue 20): read from the campaign form,
kept with the campaign's filter."""
import datetime as dt
import json

from intranet.calls.forms import parse_campaign

FORM = {"name": "分納不履行", "starts_on": "2026-12-01", "ends_on": "2026-12-31",
        "weekday_start": "09:00", "weekday_end": "20:00", "saturday_start": "", "saturday_end": "",
        "max_attempts": "6", "min_interval_minutes": "240", "daily_limit": "2", "weekly_limit": "5"}


def test_the_filter_is_read_and_stored():
    form, errors = parse_campaign({**FORM, "plan_defaulted": "1"}, dt.date(2026, 11, 24))
    assert errors.errors == [] and form.filter.plan_defaulted
    assert json.loads(form.filter.to_json())["plan_defaulted"] is True
    form, errors = parse_campaign(FORM, dt.date(2026, 11, 24))
    assert errors.errors == [] and not form.filter.plan_defaulted


def test_a_strange_value_is_refused():
    _, errors = parse_campaign({**FORM, "plan_defaulted": "yes"}, dt.date(2026, 11, 24))
    assert "calls.error.filter" in errors.errors
