"""Migration 0025: every old call record keeps its disposition and gains the
contact result and the action it stood for (issue 20: "existing records
migrate without loss"). On SQLite: the rows a call needs are made through
today's models at head, the schema is taken back to 0023 (later revisions
drop only their own columns), old calls are written as 0023 stored them and
0025 is applied to them."""
import datetime as dt
import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from intranet.db import MIGRATIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

OLD = [  # id, disposition, promise_amount, promise_on, callback_at, incoming
    (1, "no_answer", None, None, None, False),
    (2, "answering_machine", None, None, None, False),
    (3, "busy", None, None, None, False),
    (4, "wrong_number", None, None, None, False),
    (5, "other_person", None, None, None, False),
    (6, "promise", 20000, "2026-12-10", None, False),
    (7, "paid_claimed", None, None, None, False),
    (8, "refused", None, None, None, False),
    (9, "consultation", None, None, None, True),
    (10, "slip_reissue", None, None, None, False),
    (11, "direct_debit", None, None, None, False),
    (12, "callback", None, None, "2026-11-25 09:30:00", False),
]
EXPECTED = {  # id -> (result, [(kind, amount, on, at)])
    1: ("no_answer", []), 2: ("answering_machine", []), 3: ("busy", []),
    4: ("wrong_number", []), 5: ("other_person", []),
    6: ("reached", [("promise", 20000, dt.date(2026, 12, 10), None)]),
    7: ("reached", [("paid_claimed", None, None, None)]),
    8: ("reached", [("refusal", None, None, None)]),
    9: ("reached", [("handover", None, None, None)]),
    10: ("reached", [("slip_reissue", None, None, None)]),
    11: ("reached", [("direct_debit", None, None, None)]),
    12: ("reached", [("callback", None, None, dt.datetime(2026, 11, 25, 9, 30))]),
}


def _config(url):
    cfg = Config(os.path.join(ROOT, "development.ini"))
    cfg.set_main_option("script_location", MIGRATIONS)
    cfg.attributes["settings"] = {"sqlalchemy.url": url}
    cfg.attributes["configure_logging"] = False
    return cfg


def test_old_dispositions_become_a_result_and_actions_without_loss(tmp_path, password_context):
    from sqlalchemy.orm import Session

    from intranet.calls import campaigns
    from intranet.models import CallCampaign, CallTarget, CampaignStatus, Role
    from tests import factories

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    cfg = _config(url)
    command.upgrade(cfg, "head")
    engine = sa.create_engine(url)
    with Session(engine) as session:
        op = factories.user(session, password_context, Role.operator, login="op")
        cases = [factories.owed_case(session, name="移行 太郎", phone="03-1111-0001"),
                 factories.owed_case(session, name="移行 太郎", phone="03-1111-0001")]
        cases[1].taxpayer_id = cases[0].taxpayer_id
        campaign = CallCampaign(name="移行", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                                ends_on=dt.date(2026, 12, 31), created_at=dt.datetime(2026, 11, 1))
        session.add(campaign)
        session.flush()
        campaigns.build(session, campaign, campaigns.CampaignFilter(), dt.date(2026, 11, 24),
                        dt.datetime(2026, 11, 24))
        target = session.scalars(sa.select(CallTarget)).one()
        ids = {"target": target.id, "op": op.id, "first_case": min(c.id for c in cases)}
        session.commit()
    engine.dispose()
    command.downgrade(cfg, "0023")
    with engine.begin() as conn:
        for id_, disposition, amount, on, at, incoming in OLD:
            conn.execute(sa.text(
                "INSERT INTO call_attempts (id, target_id, operator_id, called_at, phone_number, "
                "disposition, promise_amount, promise_on, callback_at, memo, corrects_id, incoming) "
                "VALUES (:id, :target, :op, '2026-11-24 01:00:00', '0311110001', :d, :a, :on, :at, "
                ":memo, :corrects, :incoming)"),
                {"target": ids["target"], "op": ids["op"], "id": id_, "d": disposition, "a": amount, "on": on, "at": at, "memo": f"memo {id_}",
                 "corrects": 1 if id_ == 6 else None, "incoming": incoming})
        # rows pointing at the calls: the rebuilt table must keep them valid
        conn.execute(sa.text(
            "INSERT INTO call_records (case_id, called_at, operator_id, phone_number, result, note, "
            "attempt_id) VALUES (:case, '2026-11-24 01:00:00', :op, '', 'promise', '', 6)"),
            {"case": ids["first_case"], "op": ids["op"]})
    command.upgrade(cfg, "0025")
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.text("SELECT * FROM call_attempts"))}
        actions = {}
        for r in conn.execute(sa.text('SELECT attempt_id, kind, amount, "on", at FROM call_actions '
                                      "ORDER BY id")):
            on = dt.date.fromisoformat(r.on) if r.on else None
            at = dt.datetime.fromisoformat(r.at) if r.at else None
            actions.setdefault(r.attempt_id, []).append((r.kind, r.amount, on, at))
    assert len(rows) == len(OLD)
    for id_, disposition, amount, on, at, incoming in OLD:
        row = rows[id_]
        # nothing lost: the old columns are as they were
        assert (row.disposition, row.promise_amount, row.memo, bool(row.incoming)) == (
            disposition, amount, f"memo {id_}", incoming)
        assert (row.result, actions.get(id_, [])) == EXPECTED[id_], disposition
    assert rows[6].corrects_id == 1                   # corrections keep pointing at the original
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.scalar(sa.text("SELECT attempt_id FROM call_records")) == 6
    assert rows[9].case_id == ids["first_case"] and rows[1].case_id is None  # an old incoming call names its case
    engine.dispose()
