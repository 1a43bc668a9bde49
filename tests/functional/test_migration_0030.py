"""Migration 0030 (issue 23): returns and wipes recorded without a contract get
the contract of the lending before them, and each medium's state is its
events replayed through the ledger's state machine; a wipe recorded while
the medium was still lent changes nothing, so that medium stays lent (the
tester's case: the checklist had called it back). Earlier erasure records
have no count and no devices. On SQLite: rows are made through today's
models at head, the schema is taken back to 0028, old-style events are
written as 0028 stored them and 0030 is applied again."""
import datetime as dt

import sqlalchemy as sa
from alembic import command

from tests.functional.test_migration_0025 import _config


def test_old_events_get_their_contract_and_media_their_state(tmp_path, password_context):
    from sqlalchemy.orm import Session

    from intranet.models import Contract, ErasureRecord, Medium, Role
    from tests import factories

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    cfg = _config(url)
    command.upgrade(cfg, "head")
    engine = sa.create_engine(url)
    with Session(engine) as session:
        boss = factories.user(session, password_context, Role.collector, login="boss")
        k1 = factories.user(session, password_context, Role.contractor, login="k1")
        contracts = [Contract(organisation_id=k1.organisation_id, name=name, purpose="居住確認",
                              starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31),
                              manager_name="責任者", handler_names="k1", created_by=boss.id,
                              created_at=dt.datetime(2026, 4, 1)) for name in ("一次", "二次")]
        media = [Medium(label=f"USB-{n}") for n in range(1, 5)]
        session.add_all(contracts + media)
        session.flush()
        session.add(ErasureRecord(contract_id=contracts[0].id, erased_on=dt.date(2026, 10, 1),
                                  method="上書き", witness_name="立会", items="全データ",
                                  records_erased=None, devices="", certificate=b"%PDF",
                                  certificate_type="application/pdf", recorded_by=boss.id,
                                  recorded_at=dt.datetime(2026, 10, 1)))
        ids = {"boss": boss.id, "c1": contracts[0].id, "c2": contracts[1].id,
               **{m.label: m.id for m in media}}
        session.commit()
    engine.dispose()
    command.downgrade(cfg, "0028")
    old = [  # medium, kind, day, contract: how 0028 stored them (no contract on returns and wipes)
        ("USB-1", "lent", 1, "c1"), ("USB-1", "returned", 2, None), ("USB-1", "wiped", 3, None),
        ("USB-2", "lent", 1, "c1"), ("USB-2", "wiped", 2, None),            # wiped while lent
        ("USB-4", "lent", 1, "c1"), ("USB-4", "returned", 2, None), ("USB-4", "wiped", 3, None),
        ("USB-4", "lent", 4, "c2"), ("USB-4", "returned", 5, None),
    ]
    with engine.begin() as conn:
        for medium, kind, day, contract in old:
            conn.execute(sa.text(
                "INSERT INTO medium_events (medium_id, kind, at, contract_id, recorded_by, note) "
                "VALUES (:m, :k, :at, :c, :u, '')"),
                {"m": ids[medium], "k": kind, "at": dt.datetime(2026, 10, day, 1),
                 "c": ids[contract] if contract else None, "u": ids["boss"]})
    command.upgrade(cfg, "0030")
    with engine.connect() as conn:
        states = {r.label: (r.state, r.contract_id) for r in conn.execute(sa.text(
            "SELECT label, state, contract_id FROM media"))}
        events = [(r.label, r.kind, r.contract_id, r.slip_id, r.witness) for r in conn.execute(sa.text(
            "SELECT m.label, e.kind, e.contract_id, e.slip_id, e.witness FROM medium_events e "
            "JOIN media m ON m.id = e.medium_id ORDER BY m.label, e.at"))]
        erasure = conn.execute(sa.text("SELECT records_erased, devices FROM erasure_records")).one()
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    engine.dispose()
    c1, c2 = ids["c1"], ids["c2"]
    assert states == {"USB-1": ("wiped", c1), "USB-2": ("lent", c1), "USB-3": ("registered", None),
                      "USB-4": ("returned", c2)}
    assert events == [
        ("USB-1", "lent", c1, None, ""), ("USB-1", "returned", c1, None, ""),
        ("USB-1", "wiped", c1, None, ""),
        ("USB-2", "lent", c1, None, ""), ("USB-2", "wiped", c1, None, ""),
        ("USB-4", "lent", c1, None, ""), ("USB-4", "returned", c1, None, ""),
        ("USB-4", "wiped", c1, None, ""), ("USB-4", "lent", c2, None, ""),
        ("USB-4", "returned", c2, None, "")]
    assert tuple(erasure) == (None, "")

    # The enum now refuses kinds outside the ledger's; the downgrade drops the
    # new kinds and goes back cleanly.
    with engine.begin() as conn:
        try:
            conn.execute(sa.text("UPDATE medium_events SET kind = 'stolen'"))
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("the kind CHECK constraint is missing")
        conn.execute(sa.text(
            "INSERT INTO medium_events (medium_id, kind, at, contract_id, recorded_by, witness, note, "
            "report) VALUES (:m, 'registered', :at, NULL, :u, '', '', '')"),
            {"m": ids["USB-3"], "at": dt.datetime(2026, 10, 1), "u": ids["boss"]})
    command.downgrade(cfg, "0028")
    with engine.connect() as conn:
        kinds = sorted({r[0] for r in conn.execute(sa.text("SELECT kind FROM medium_events"))})
        columns = {c["name"] for c in sa.inspect(conn).get_columns("media")}
    engine.dispose()
    assert kinds == ["lent", "returned", "wiped"] and "state" not in columns
