"""Retention: archive old entries to a verified file, remove them by the
documented procedure, and keep the remaining chain verifiable."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa
import webtest

import intranet
from intranet.audit.archive import ArchiveError, archive, verify_archive_file
from intranet.audit.chain import Break
from intranet.audit.verify import verify_database
from intranet.models import AccessLogArchive, AccessLogCheckpoint, AccessLogEntry
from tests.conftest import FrozenClock
from tests.functional.test_access_log import KEY

NOW = dt.datetime(2026, 11, 24, 0, 30)
OLD = dt.datetime(2020, 6, 1, 1, 0)
CUT = dt.datetime(2021, 1, 1) - dt.timedelta(hours=9)  # 2021-01-01 00:00 JST


@pytest.fixture
def app(fresh_database):
    app = intranet.main({}, **fresh_database)
    app.registry.clock = FrozenClock(OLD)
    client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.3"})
    for _ in range(4):  # four entries in 2020
        client.get("/login")
    app.registry.clock = FrozenClock(NOW)
    for _ in range(3):  # three this year
        client.get("/login")
    yield app
    app.registry["db_engine"].dispose()


def run(app, tmp_path, *, execute, before=CUT, name="archive.jsonl"):
    engine = app.registry["db_engine"]
    return archive(engine, KEY, before=before, now=NOW, retention_years=5,
                   path=str(tmp_path / name), writer=app.registry.access_log,
                   checkpointer=app.registry.access_checkpointer, execute=execute)


def seqs(engine):
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(AccessLogEntry.seq).order_by(AccessLogEntry.seq)))


def test_a_dry_run_exports_and_verifies_but_removes_nothing(app, tmp_path):
    engine = app.registry["db_engine"]
    plan = run(app, tmp_path, execute=False)
    assert (plan.from_seq, plan.upto_seq, plan.entries) == (1, 4, 4)
    assert verify_archive_file(str(tmp_path / "archive.jsonl"), KEY).ok
    assert seqs(engine) == list(range(1, 8))


def test_entries_inside_the_retention_period_cannot_be_archived(app, tmp_path):
    with pytest.raises(ArchiveError, match="5 years"):
        run(app, tmp_path, execute=True, before=dt.datetime(2023, 1, 1))
    assert not (tmp_path / "archive.jsonl").exists()
    assert seqs(app.registry["db_engine"]) == list(range(1, 8))


def test_archiving_removes_old_entries_and_the_rest_still_verifies(app, tmp_path):
    engine = app.registry["db_engine"]
    plan = run(app, tmp_path, execute=True)
    assert plan.upto_seq == 4
    remaining = seqs(engine)
    assert remaining[:3] == [5, 6, 7] and len(remaining) == 4  # + the audit.archived event
    with engine.connect() as conn:
        result = verify_database(conn, KEY)
        cut = conn.execute(sa.select(AccessLogArchive)).one()
        event = conn.execute(sa.select(AccessLogEntry).where(AccessLogEntry.seq == 8)).one()
        checkpoint_seqs = set(conn.scalars(sa.select(AccessLogCheckpoint.seq)))
    assert result.ok and result.checked == 4, str(result)
    assert (cut.upto_seq, cut.entries) == (4, 4)
    assert event.event == "audit.archived" and json.loads(event.detail)["upto_seq"] == 4
    assert 4 in checkpoint_seqs
    archived = verify_archive_file(str(tmp_path / "archive.jsonl"), KEY)
    assert archived.ok and archived.last_seq == 4 and archived.last_chain == cut.chain
    # entries after the cut are still protected by the triggers
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(sa.delete(AccessLogEntry.__table__).where(AccessLogEntry.seq == 5))
    # a second run finds nothing more to archive
    assert run(app, tmp_path, execute=True, name="again.jsonl").entries == 0


def test_a_tampered_archive_file_does_not_verify(app, tmp_path):
    run(app, tmp_path, execute=False)
    path = tmp_path / "archive.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[2])
    record["entry"]["client_addr"] = "10.6.6.6"
    lines[2] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = verify_archive_file(str(path), KEY)
    assert result.kinds() == [(Break.Mismatch, 2)]
    del lines[-1]
    path.write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")
    # entry 2 removed, entry 4 (the last) removed: the file must reach upto_seq
    assert verify_archive_file(str(path), KEY).kinds() == [(Break.Gap, 2), (Break.Truncated, 4)]


def test_a_broken_log_is_never_archived(app, tmp_path):
    engine = app.registry["db_engine"]
    with engine.connect() as conn:
        trans = conn.begin()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP TRIGGER access_log_no_update ON access_log")
        else:
            conn.exec_driver_sql("DROP TRIGGER access_log_no_update")
        conn.execute(sa.update(AccessLogEntry.__table__).where(AccessLogEntry.seq == 2)
                     .values(login="x"))
        trans.commit()
    with pytest.raises(ArchiveError, match="does not verify"):
        run(app, tmp_path, execute=True)
    assert seqs(engine) == list(range(1, 8))
