"""No silent rollback of the log's head: a running app that finds the head
behind the newest entry it wrote refuses (503, no sequence number reused)
until the log is back or an operator accepts the head, then logs an alarm
first (SQLite and PostgreSQL; each test owns its database)."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa
import webtest

import intranet
from intranet.audit.verify import verify_database
from intranet.db import get_engine
from intranet.models import AccessLogEntry, AccessLogHead
from intranet.scripts.cli import main as cli
from tests.conftest import FrozenClock
from tests.functional.test_access_log import KEY
from tests.helpers import drop_log_guards, log_now

NOW = dt.datetime(2026, 11, 24, 0, 30)


@pytest.fixture
def app(fresh_database):
    app = intranet.main({}, **fresh_database)
    app.registry.clock = FrozenClock(NOW)
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.5"})
    for _ in range(6):
        client.get("/login", status=200)
    admin = get_engine({"sqlalchemy.url": fresh_database["sqlalchemy.url"]})
    yield app, client, admin, fresh_database
    admin.dispose()
    app.registry["db_engine"].dispose()


def rows(admin, where):
    with admin.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(AccessLogEntry.__table__).where(sa.text(where)).order_by(AccessLogEntry.seq))]


def head(admin):
    with admin.connect() as conn:
        return tuple(conn.execute(sa.select(AccessLogHead.seq, AccessLogHead.chain)).one())


def seqs(admin):
    with admin.connect() as conn:
        return list(conn.scalars(sa.select(AccessLogEntry.seq).order_by(AccessLogEntry.seq)))


def roll_back(admin, keep: int):
    """The attack: triggers dropped, the entries after ``keep`` deleted and the
    head set back to entry ``keep``, as a database administrator can."""
    with admin.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # pysqlite would run the DDL outside any transaction
        drop_log_guards(conn)
        conn.execute(sa.text("DELETE FROM access_log_cases WHERE entry_seq > :k"), {"k": keep})
        conn.execute(sa.text("DELETE FROM access_log WHERE seq > :k"), {"k": keep})
        conn.execute(sa.text("UPDATE access_log_head SET seq = :k, chain = "
                             "(SELECT chain FROM access_log WHERE seq = :k)"), {"k": keep})


def entry(admin, seq):
    with admin.connect() as conn:
        return conn.execute(sa.select(AccessLogEntry).where(AccessLogEntry.seq == seq)).one()


def test_a_rolled_back_head_is_refused_until_the_log_is_back(app):
    app, client, admin, settings = app
    assert head(admin)[0] == 6
    newest = rows(admin, "seq > 4")
    remembered = head(admin)
    roll_back(admin, keep=4)
    for _ in range(3):
        res = client.get("/login", status=503)
        assert "could not be recorded" in res.text
    assert seqs(admin) == [1, 2, 3, 4] and head(admin)[0] == 4  # nothing appended, no number reused
    assert app.registry.access_log.refusing == (6, remembered[1], 4)

    # a process started since knows no better and writes 5, 6, 7: new entries,
    # not the remembered 6, so this one still refuses
    other = intranet.main({}, **settings)
    other.registry.clock = FrozenClock(NOW)
    for _ in range(3):
        webtest.TestApp(other).get("/login", status=200)
    other.registry["db_engine"].dispose()
    assert head(admin)[0] == 7
    client.get("/login", status=503)
    with admin.begin() as conn:  # back to the attacked state
        conn.exec_driver_sql("DELETE FROM access_log WHERE seq > 4")
        conn.execute(sa.text("UPDATE access_log_head SET seq = 4, chain = "
                             "(SELECT chain FROM access_log WHERE seq = 4)"))

    # the entries are restored (from a backup, say) and the head with them
    with admin.begin() as conn:
        conn.execute(sa.insert(AccessLogEntry.__table__), newest)
        conn.execute(sa.update(AccessLogHead.__table__).values(seq=remembered[0], chain=remembered[1]))
    client.get("/login", status=200)
    alarm, request = entry(admin, 7), entry(admin, 8)
    assert (alarm.kind, alarm.event, alarm.outcome) == ("event", "audit.head.rollback", "failure")
    assert json.loads(alarm.detail) == {
        "remembered_seq": 6, "remembered_chain": remembered[1], "found_seq": 4, "head_seq": 6,
        "resolved": "restored"}
    assert alarm.request_id == request.request_id and request.path == "/login"
    assert app.registry.access_log.refusing is None
    client.get("/login", status=200)
    assert seqs(admin) == list(range(1, 10))
    with admin.connect() as conn:
        assert verify_database(conn, KEY, now=log_now()).ok


def test_an_operator_accepts_the_head_and_the_alarm_comes_first(app, tmp_path, capsys):
    app, client, admin, _ = app
    remembered = head(admin)
    roll_back(admin, keep=4)
    client.get("/login", status=503)

    # a forged acceptance (no key) changes nothing
    forged = {**rows(admin, "seq = 4")[0], "seq": 5, "chain": "f" * 64,
              "kind": "event", "event": "audit.head.accepted", "detail": None}
    with admin.begin() as conn:
        conn.execute(sa.insert(AccessLogEntry.__table__), [forged])
        conn.execute(sa.update(AccessLogHead.__table__).values(seq=5, chain="f" * 64))
    client.get("/login", status=503)
    roll_back(admin, keep=4)

    ini = tmp_path / "accept.ini"
    ini.write_text(f"[app:main]\nuse = egg:intranet\n"
                   f"sqlalchemy.url = {admin.url.render_as_string(hide_password=False)}\n"
                   f"intranet.audit.hmac_key = {KEY.decode()}\n")
    assert cli(["audit", "accept-head", str(ini), "--reason", " "]) == 2
    assert cli(["audit", "accept-head", str(ini), "--reason", "entries 5-6 lost; incident 2026-17"]) == 0
    assert "audit.head.accepted is entry 5" in capsys.readouterr().out
    accepted = entry(admin, 5)
    detail = json.loads(accepted.detail)
    assert (accepted.event, detail["head_seq"], detail["reason"]) == (
        "audit.head.accepted", 4, "entries 5-6 lost; incident 2026-17")
    assert detail["os_user"] and detail["newest_entry_matches_head"] is True

    client.get("/login", status=200)
    alarm = entry(admin, 6)
    assert alarm.event == "audit.head.rollback"
    assert json.loads(alarm.detail) == {
        "remembered_seq": 6, "remembered_chain": remembered[1], "found_seq": 4, "head_seq": 5,
        "resolved": "accepted", "accepted_seq": 5}
    assert entry(admin, 7).path == "/login"
    client.get("/login", status=200)  # and it keeps serving
    assert seqs(admin) == list(range(1, 9))
    with admin.connect() as conn:
        assert verify_database(conn, KEY, now=log_now()).ok
