"""The access log's outside witness (issue 17): checkpoints are written to
the file and the logger first and to the database only then, carry a MAC,
fail loudly (an event, the banner, /healthz, the CLI's exit status) and are
retried at a bounded rate; due-ness ignores forged and future-dated rows.
Each attack as a database administrator would make it, on SQLite and
PostgreSQL."""
import datetime as dt
import json
import logging

import pytest
import sqlalchemy as sa
import webtest

import intranet
from intranet.audit import chain
from intranet.models import AccessLogCheckpoint, AccessLogEntry, AccessLogHead, Role
from tests import factories
from tests.conftest import FrozenClock
from tests.helpers import healthz, login

KEY = b"test-access-log-key-0123456789abcdef"
START = dt.datetime(2026, 11, 24, 0, 30)  # 09:30 JST, a Tuesday


@pytest.fixture
def witness(fresh_database, tmp_path):
    """An app of its own over a database of its own, with a frozen clock."""
    apps = []

    def make(**settings):
        app = intranet.main({}, **{**fresh_database, **{
            "intranet.audit.checkpoint_file": str(tmp_path / "witness" / "checkpoints.jsonl"),
            **settings}})
        app.registry.clock = FrozenClock(START)
        apps.append(app)
        return app, webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})

    (tmp_path / "witness").mkdir()
    yield make
    for app in apps:
        app.registry["db_engine"].dispose()


def _rows(app):
    with app.registry["db_engine"].connect() as conn:
        return conn.execute(sa.select(AccessLogCheckpoint.seq, AccessLogCheckpoint.chain,
                                      AccessLogCheckpoint.created_at, AccessLogCheckpoint.mac)
                            .order_by(AccessLogCheckpoint.id)).all()


def _events(app, name):
    with app.registry["db_engine"].connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(AccessLogEntry)
                           .where(AccessLogEntry.event == name))


def test_checkpoints_come_every_minute_or_every_1000_entries_with_a_mac(witness, tmp_path):
    app, testapp = witness(**{"intranet.audit.checkpoint_entries": "5"})
    clock = app.registry.clock
    testapp.get("/login")                 # entry 1: no checkpoint yet, so one now
    for _ in range(3):
        clock.advance(seconds=5)
        testapp.get("/login")             # entries 2-4: neither a minute nor 5 entries
    clock.advance(seconds=5)
    testapp.get("/login")                 # entry 5: not yet 5 entries after the first checkpoint
    clock.advance(seconds=5)
    testapp.get("/login")                 # entry 6: five entries after it
    clock.advance(seconds=61)
    testapp.get("/login")                 # entry 7: a minute later
    rows = _rows(app)
    assert [(seq, at) for seq, _, at, _ in rows] == [
        (1, START), (6, START + dt.timedelta(seconds=25)), (7, START + dt.timedelta(seconds=86))]
    for seq, value, at, mac in rows:
        assert chain.seal_ok(KEY, mac, "checkpoint", seq, value, at)
    lines = [json.loads(line) for line in
             (tmp_path / "witness" / "checkpoints.jsonl").read_text().splitlines()]
    assert [(line["seq"], line["chain"], line["mac"]) for line in lines] == [
        (seq, value, mac) for seq, value, _, mac in rows]


def test_a_witness_that_cannot_be_written_leaves_no_row_and_is_loud(
        witness, tmp_path, password_context, caplog):
    """The file cannot be written (its folder is gone): no checkpoint row at
    all, a failure event at most every 30 s (not per request), /healthz says
    degraded, supervisors see the banner; once the file can be written again
    the next retry succeeds."""
    app, testapp = witness(**{"intranet.audit.checkpoint_file":
                              str(tmp_path / "gone" / "checkpoints.jsonl")})
    clock = app.registry.clock
    session = app.registry["dbsession_factory"]()
    factories.user(session, password_context, Role.collector, login="boss", is_supervisor=True)
    session.commit()
    session.close()
    with caplog.at_level(logging.INFO, logger="intranet.audit.checkpoint"):
        for _ in range(15):               # 75 s of requests, one every 5 s
            testapp.get("/login")
            clock.advance(seconds=5)
    assert _rows(app) == []
    # the witness logger says nothing the file did not get first
    assert not [r for r in caplog.records if r.name == "intranet.audit.checkpoint"]
    assert 2 <= _events(app, "audit.checkpoint.failed") <= 3
    health = healthz(testapp, status=503).json["access_log"]
    assert health["status"] == "degraded" and health["unwitnessed_entries"] > 15
    login(testapp, "boss")
    assert testapp.get("/").html.select_one("#witness-banner") is not None

    (tmp_path / "gone").mkdir()
    clock.advance(seconds=31)
    testapp.get("/")
    assert len(_rows(app)) == 1
    assert healthz(testapp).json["access_log"]["status"] == "ok"
    clock.advance(seconds=31)
    assert testapp.get("/").html.select_one("#witness-banner") is None


def test_a_future_dated_or_forged_checkpoint_does_not_switch_checkpoints_off(witness):
    """One INSERT of a checkpoint dated 2099 (a real seq and chain, no MAC)
    used to stop every automatic checkpoint."""
    app, testapp = witness()
    clock = app.registry.clock
    testapp.get("/login")
    engine = app.registry["db_engine"]
    with engine.begin() as conn:
        seq, value = conn.execute(sa.select(AccessLogHead.seq, AccessLogHead.chain)).one()
        conn.execute(sa.insert(AccessLogCheckpoint.__table__).values(
            seq=seq, chain=value, created_at=dt.datetime(2099, 1, 1), mac="0" * 64))
        conn.execute(sa.insert(AccessLogCheckpoint.__table__).values(
            seq=seq, chain=value, created_at=START + dt.timedelta(seconds=30), mac=None))
    fresh, _ = witness()  # a process starting after the forgery
    fresh.registry.clock = clock
    fresh_app = webtest.TestApp(fresh)
    for _ in range(3):
        clock.advance(seconds=61)
        fresh_app.get("/login")
    valid = [r for r in _rows(app) if chain.seal_ok(KEY, r.mac, "checkpoint", r.seq, r.chain,
                                                     r.created_at)]
    assert len(valid) == 4  # the first, then one a minute in spite of the forged rows


def test_the_cron_checkpoint_exits_non_zero_and_writes_no_row_when_the_file_fails(
        fresh_database, tmp_path, capsys):
    from intranet.scripts.cli import main

    ini = tmp_path / "app.ini"
    ini.write_text("[app:main]\nuse = egg:intranet\n" + "".join(
        f"{k} = {v}\n" for k, v in {**fresh_database,
                                    "intranet.audit.checkpoint_file": str(tmp_path / "no" / "f")
                                    }.items()))
    assert main(["audit", "checkpoint", str(ini)]) == 1
    assert "NOT written" in capsys.readouterr().err
    engine = sa.create_engine(fresh_database["sqlalchemy.url"])
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AccessLogCheckpoint)) == 0
    engine.dispose()
    assert main(["audit", "checkpoint", str(ini), "--file", str(tmp_path / "ok.jsonl")]) == 0
    assert (tmp_path / "ok.jsonl").read_text().count('"mac"') == 1
