"""Migration 0028: every direct-debit encouragement already recorded on a
call opens an application (勧奨済, dated the call's JST day), counting a
corrected call by its latest correction; earlier accounts get no first-seen
date. On SQLite: calls are made through today's models at head, the schema
is taken back to 0027 (which drops the applications) and 0028 applied again."""
import datetime as dt

import sqlalchemy as sa
from alembic import command

from tests.functional.test_migration_0025 import _config


def test_recorded_encouragements_become_applications(tmp_path, password_context):
    from sqlalchemy.orm import Session

    from intranet.models import (
        ActionKind, CallAction, CallAttempt, CallRecord, ContactResult, DirectDebitAccount, Role,
    )
    from tests import factories

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    cfg = _config(url)
    command.upgrade(cfg, "head")
    engine = sa.create_engine(url)

    def call(session, op, case, at, kinds, corrects=None):
        attempt = CallAttempt(operator_id=op.id, case_id=case.id, called_at=at,
                              result=ContactResult.reached, memo="",
                              corrects_id=corrects.id if corrects else None,
                              actions=[CallAction(kind=k, note="") for k in kinds])
        session.add(attempt)
        session.flush()
        session.add(CallRecord(case_id=case.id, called_at=at, operator_id=op.id, result="reached",
                               note="", attempt_id=attempt.id))
        return attempt

    with Session(engine) as session:
        op = factories.user(session, password_context, Role.operator, login="op")
        kept, dropped, added, twice = (factories.owed_case(session, phone=None) for _ in range(4))
        kept.direct_debits.append(DirectDebitAccount(
            bank_name="b", branch_name="s", account_holder="h", start_fiscal_year=2025,
            start_period_no=1))
        session.flush()
        # 2026-11-23 16:00 UTC is 24 November in Tokyo
        first = call(session, op, kept, dt.datetime(2026, 11, 23, 16), [ActionKind.direct_debit])
        wrong = call(session, op, dropped, dt.datetime(2026, 11, 24, 1), [ActionKind.direct_debit])
        call(session, op, dropped, dt.datetime(2026, 11, 24, 2), [ActionKind.slip_reissue], wrong)
        plain = call(session, op, added, dt.datetime(2026, 11, 24, 3), [ActionKind.promise])
        fixed = call(session, op, added, dt.datetime(2026, 11, 24, 4), [ActionKind.direct_debit], plain)
        call(session, op, twice, dt.datetime(2026, 11, 20, 1), [ActionKind.direct_debit])
        call(session, op, twice, dt.datetime(2026, 11, 22, 1), [ActionKind.direct_debit])
        ids = {"kept": kept.id, "dropped": dropped.id, "added": added.id, "twice": twice.id,
               "first": first.id, "fixed": fixed.id, "op": op.id}
        session.commit()
    engine.dispose()
    command.downgrade(cfg, "0027")
    command.upgrade(cfg, "0028")
    with engine.connect() as conn:
        apps = {r.case_id: r for r in conn.execute(sa.text(
            "SELECT * FROM direct_debit_applications"))}
        steps = conn.execute(sa.text("SELECT application_id, state FROM direct_debit_steps")).all()
        seen = conn.execute(sa.text("SELECT first_seen_on FROM direct_debit_accounts")).all()
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    engine.dispose()
    assert set(apps) == {ids["kept"], ids["added"], ids["twice"]}  # the dropped one's correction lost it
    assert (apps[ids["kept"]].state, apps[ids["kept"]].encouraged_on,
            apps[ids["kept"]].attempt_id, apps[ids["kept"]].encouraged_by) == (
        "encouraged", "2026-11-24", ids["first"], ids["op"])
    assert apps[ids["added"]].attempt_id == ids["fixed"]
    assert apps[ids["twice"]].encouraged_on == "2026-11-20"            # the first encouragement
    assert sorted(s.state for s in steps) == ["encouraged"] * 3
    assert seen == [(None,)]     # an account from before never counts as a registration
