"""intranet.accounts.training: settings, standing on a day, users due.

Seed 000 (委託の内容7 「オペレータ研修計画の策定及び実施」, 特記事項10 「従業員に
対する教育」) and seed 004 (特記事項18 「従事者に対する教育」): both outsourced
kinds of work train their staff; the ward records it."""
import datetime as dt
from types import SimpleNamespace

import pytest

from intranet.config import training_settings
from intranet.accounts import training
from intranet.accounts.training import State, add_months, standing_of
from intranet.models import Role, TrainingRecord
from tests import factories

DAY = dt.date(2026, 11, 24)


def test_default_settings_require_both_outsourced_kinds_of_work():
    s = training_settings({})
    assert s.required_roles == {Role.operator, Role.contractor}
    assert (s.valid_months, s.due_soon_days, s.courses) == (12, 30, ())


def test_settings_parse_once_and_refuse_what_they_cannot_honour():
    s = training_settings({"intranet.training.required_roles": "contractor",
                                        "intranet.training.valid_months": "24",
                                        "intranet.training.due_soon_days": "14",
                                        "intranet.training.courses": "\n個人情報保護研修\n  電話応対研修 \n"})
    assert (s.required_roles, s.valid_months, s.due_soon_days) == ({Role.contractor}, 24, 14)
    assert s.courses == ("個人情報保護研修", "電話応対研修")
    assert training_settings({"intranet.training.required_roles": ""}).required_roles == set()
    for bad in ({"intranet.training.required_roles": "collector"},   # ward staff: not outsourced
                {"intranet.training.required_roles": "operater"},
                {"intranet.training.valid_months": "0"},
                {"intranet.training.valid_months": "x"},
                {"intranet.training.due_soon_days": "-1"}):
        with pytest.raises(ValueError):
            training_settings(bad)


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(dt.date(2026, 4, 1), 12) == dt.date(2027, 4, 1)
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


def _r(trained_on, next_due):
    return SimpleNamespace(trained_on=trained_on, next_due=next_due)


def test_standing_on_a_day():
    assert standing_of([], DAY) == training.Standing(State.missing, None)
    # taken after the day: not yet
    assert standing_of([_r(DAY + dt.timedelta(days=1), None)], DAY).state == State.missing
    assert standing_of([_r(dt.date(2026, 4, 1), DAY)], DAY) == training.Standing(State.ok, DAY)  # due today: ok
    assert standing_of([_r(dt.date(2025, 4, 1), DAY - dt.timedelta(days=1))], DAY).state == State.overdue
    # the best of several counts; None = never due again
    assert standing_of([_r(dt.date(2025, 4, 1), dt.date(2026, 4, 1)), _r(dt.date(2026, 4, 1), dt.date(2027, 4, 1))],
                       DAY) == training.Standing(State.ok, dt.date(2027, 4, 1))
    assert standing_of([_r(dt.date(2020, 1, 1), None)], DAY) == training.Standing(State.ok, None)


def test_standing_of_a_user_whose_work_requires_none(dbsession, password_context):
    clerk = factories.user(dbsession, password_context, Role.collector)
    settings = training_settings({})
    assert training.standing(dbsession, clerk, DAY, settings).state == State.not_required
    assert training.standing(dbsession, clerk, DAY, settings).current
    assert training.standing(dbsession, clerk, DAY).state == State.missing  # records alone


def test_due_user_ids_missing_overdue_or_due_soon(dbsession, password_context):
    def op(login, trained_on=None, next_due=None, role=Role.operator, **kw):
        u = factories.user(dbsession, password_context, role, login=login, training=False, **kw)
        if trained_on:
            factories.training_record(dbsession, u, trained_on=trained_on, next_due=next_due)
        return u

    missing = op("missing")
    overdue = op("overdue", dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    soon = op("soon", dt.date(2025, 12, 1), DAY + dt.timedelta(days=30))
    later = op("later", dt.date(2026, 4, 1), DAY + dt.timedelta(days=31))
    never = op("never", dt.date(2026, 4, 1), None)
    future_only = op("future", DAY + dt.timedelta(days=2), dt.date(2027, 12, 1))
    investigator = op("inv", role=Role.contractor)
    op("disabled", is_active=False)
    factories.user(dbsession, password_context, Role.collector, login="clerk")
    # a renewed course replaces an overdue one
    renewed = op("renewed", dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    factories.training_record(dbsession, renewed, trained_on=dt.date(2026, 11, 1), next_due=dt.date(2027, 11, 1))
    dbsession.flush()
    settings = training_settings({})
    assert training.due_user_ids(dbsession, DAY, settings) == {
        missing.id, overdue.id, soon.id, future_only.id, investigator.id}
    assert not {later.id, never.id, renewed.id} & training.due_user_ids(dbsession, DAY, settings)
    only_survey = training_settings({"intranet.training.required_roles": "contractor"})
    assert training.due_user_ids(dbsession, DAY, only_survey) == {investigator.id}
    assert training.due_user_ids(dbsession, DAY, training_settings(
        {"intranet.training.required_roles": ""})) == set()


def test_record_checks_before_storing(dbsession, password_context):
    boss = factories.user(dbsession, password_context, Role.collector, is_supervisor=True)
    op = factories.user(dbsession, password_context, Role.operator, training=False)
    settings = training_settings({"intranet.training.courses": "個人情報保護研修"})
    common = {"recorded_by": boss, "now": dt.datetime(2026, 11, 24), "today": DAY, "settings": settings}
    with pytest.raises(training.TrainingError) as err:
        training.record(dbsession, op, course="自由記述", trained_on=DAY + dt.timedelta(days=1), trainer="",
                        next_due=None, **common)
    assert err.value.keys == ["training.error.course", "training.error.trainer", "training.error.future"]
    with pytest.raises(training.TrainingError) as err:
        training.record(dbsession, op, course="個人情報保護研修", trained_on=DAY, trainer="講師",
                        next_due=DAY, **common)
    assert err.value.keys == ["training.error.next_due"]
    assert dbsession.query(TrainingRecord).count() == 0
    row = training.record(dbsession, op, course="個人情報保護研修", trained_on=dt.date(2026, 1, 31), trainer="講師",
                          next_due=None, **common)
    assert row.next_due == dt.date(2027, 1, 31) and row.recorded_by == boss.id
