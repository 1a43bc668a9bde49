"""Verification against a database administrator. Each attack is made the
way a DBA would, with direct SQL (the guard triggers dropped first), on a
log written by the real app; verification must report it with its kind and
sequence number, and report nothing else (SQLite and PostgreSQL).

A key holder's moves (a sealed cut without its event, a checkpoint written
with a wrong clock) are made with the key, as only they can be."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa
import webtest

import intranet
from intranet.audit import chain, export
from intranet.audit.archive import ArchiveError, archive
from intranet.audit.chain import Break, Reason, Source
from intranet.audit.verify import CheckpointFile, verify_database
from intranet.models import (
    AccessLogArchive, AccessLogCase, AccessLogCheckpoint, AccessLogEntry, AccessLogHead, Organisation,
)
from intranet.scripts.cli import main
from tests.conftest import FrozenClock
from tests.functional.test_access_log import KEY
from tests.helpers import drop_log_guards, synthetic_entry

NOW = dt.datetime(2026, 11, 24, 0, 30)
OLD = dt.datetime(2020, 6, 1, 1, 0)
CUT = dt.datetime(2021, 1, 1) - dt.timedelta(hours=9)  # 2021-01-01 00:00 JST

entries_t, cases_t = AccessLogEntry.__table__, AccessLogCase.__table__
checkpoints_t, archives_t = AccessLogCheckpoint.__table__, AccessLogArchive.__table__


class Log:
    """A database of its own whose whole log one test owns, written by the app."""

    def __init__(self, settings, tmp_path):
        self.tmp_path = tmp_path
        self.file = tmp_path / "checkpoints.jsonl"
        self.settings = {**settings, "intranet.audit.checkpoint_file": str(self.file)}
        self.app = intranet.main({}, **self.settings)
        self.app.registry.clock = FrozenClock(NOW)
        self.client = webtest.TestApp(self.app, extra_environ={"REMOTE_ADDR": "10.0.0.4"})
        self.engine = self.app.registry["db_engine"]
        self.checkpointer = self.app.registry.access_checkpointer

    def restart(self) -> None:
        """A new process over the same database (it remembers no head)."""
        self.engine.dispose()
        self.__init__(self.settings, self.tmp_path)

    def requests(self, count: int, at: dt.datetime = NOW) -> None:
        """``count`` entries (the app checkpoints the first one it ever writes)."""
        self.app.registry.clock = FrozenClock(at)
        for _ in range(count):
            self.client.get("/login")

    def checkpoint(self) -> int:
        """A checkpoint of the log as it stands (cron's ``intranet audit checkpoint``)."""
        return self.checkpointer.write_current(NOW)[0]

    def chain_of(self, seq: int) -> str:
        with self.engine.connect() as conn:
            return conn.scalar(sa.select(entries_t.c.chain).where(entries_t.c.seq == seq))

    def verify(self, *, with_file: bool = False, now: dt.datetime = NOW) -> chain.Report:
        with self.engine.connect() as conn:
            if not with_file:
                return verify_database(conn, KEY, now=now)
            with CheckpointFile(str(self.file)) as checkpoints:
                return verify_database(conn, KEY, checkpoints, now=now)

    def dba(self):
        """A committed transaction of a database administrator, guards dropped
        (read what you need before: dropping a trigger locks the table)."""
        return _Dba(self.engine)

    def ini(self) -> str:
        path = self.tmp_path / "verify.ini"
        path.write_text(f"""
[app:main]
use = egg:intranet
sqlalchemy.url = {self.settings['sqlalchemy.url']}
intranet.audit.hmac_key = {self.settings['intranet.audit.hmac_key']}
intranet.audit.checkpoint_file = {self.file}
""")
        return str(path)


class _Dba:
    def __init__(self, engine):
        self.engine = engine

    def __enter__(self):
        self.context = self.engine.begin()
        conn = self.context.__enter__()
        drop_log_guards(conn)
        return conn

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)


@pytest.fixture
def log(fresh_database, tmp_path):
    log = Log(fresh_database, tmp_path)
    yield log
    log.engine.dispose()


def remove_entries(conn, low: int, high: int) -> None:
    conn.execute(sa.delete(cases_t).where(cases_t.c.entry_seq.between(low, high)))
    conn.execute(sa.delete(entries_t).where(entries_t.c.seq.between(low, high)))


# ------------------------------------------------------------------ archive cuts


def test_a_forged_cut_is_unproven_and_the_entries_it_covers_are_missing(log, capsys):
    """The testers' attack: one row in access_log_archives (the chain value
    copied from the entry, a made-up file hash, ``before`` today), then the
    entries it "covers" deleted."""
    log.requests(8)              # checkpoint at 1 (the app's first entry)
    assert log.checkpoint() == 8
    log.requests(2)              # 9, 10
    copied = log.chain_of(6)
    with log.dba() as conn:
        conn.execute(sa.insert(archives_t).values(
            upto_seq=6, chain=copied, entries=6, before=NOW, file_sha256="ab" * 32,
            created_at=NOW))
        remove_entries(conn, 1, 6)
    for with_file in (False, True):
        report = log.verify(with_file=with_file)
        assert report.kinds() == [(Break.Gap, 1), (Break.UnprovenCut, 6)], str(report)
        gap, cut = report.sorted()
        assert gap.upto == 6 and cut.reason == Reason.CutMac
        assert (report.start_seq, report.checked, report.unverifiable) == (0, 4, 0)

    assert main(["audit", "verify", log.ini()]) == 1
    err = capsys.readouterr().err
    assert "seq 1-6: gap" in err and "seq 6: unproven_cut (cut_mac" in err
    assert "証明されない退避記録" in err and "unproven archive cut" in err
    assert main(["audit", "verify", log.ini(), "--from-checkpoint", str(log.file)]) == 1
    assert "seq 1-6: gap" in capsys.readouterr().err


@pytest.mark.parametrize("before, reason", [
    (NOW - dt.timedelta(days=1), Reason.CutRetention),  # sealed, but inside the retention period
    (CUT, Reason.CutEvent),                             # sealed and old, but never announced
])
def test_a_sealed_cut_must_also_be_old_enough_and_announced(log, before, reason):
    log.requests(4, at=OLD)
    log.requests(3)
    value = log.chain_of(4)
    with log.dba() as conn:
        conn.execute(sa.insert(archives_t).values(
            upto_seq=4, chain=value, entries=4, before=before, file_sha256="cd" * 32, created_at=NOW,
            mac=chain.seal(KEY, "cut", 4, value, "cd" * 32, before, NOW)))
        remove_entries(conn, 1, 4)
    report = log.verify()
    assert report.kinds() == [(Break.Gap, 1), (Break.UnprovenCut, 4)]
    assert report.sorted()[1].reason == reason


def test_a_cut_made_by_the_archive_procedure_proves_itself(log, tmp_path, capsys):
    log.requests(4, at=OLD)      # 1-4 in 2020; checkpoint at 1, in the table and the file
    log.requests(3)              # 5-7 this year; checkpoint at 5 (the last was years ago)
    done = archive(log.engine, KEY, before=CUT, now=NOW, retention_years=5,
                   path=str(tmp_path / "archive.jsonl"), writer=log.app.registry.access_log,
                   checkpointer=log.checkpointer, execute=True)
    assert (done.from_seq, done.upto_seq) == (1, 4)
    with log.engine.connect() as conn:
        assert conn.scalar(sa.select(archives_t.c.mac)) is not None
    for with_file in (False, True):  # the file's checkpoint at 1 is below the cut: archived
        report = log.verify(with_file=with_file)
        assert report.ok and (report.start_seq, report.checked) == (4, 4), str(report)
    assert main(["audit", "verify", log.ini(), "--from-checkpoint", str(log.file)]) == 0
    assert "OK: 4 entries verified, last seq 8" in capsys.readouterr().out

    # a forged cut on top of it: the entries it claims are reported missing from the first
    copied = log.chain_of(6)
    with log.dba() as conn:
        conn.execute(sa.insert(archives_t).values(
            upto_seq=6, chain=copied, entries=2, before=CUT, file_sha256="ef" * 32,
            created_at=NOW))
        remove_entries(conn, 5, 6)
    report = log.verify(with_file=True)
    assert report.kinds() == [(Break.Gap, 5), (Break.UnprovenCut, 6)] and report.start_seq == 4
    assert report.sorted()[0].upto == 6  # missing, not archived: the proven cut is still at 4


def test_archiving_is_refused_when_verification_finds_anything(log, tmp_path):
    log.requests(4, at=OLD)
    log.requests(3)
    with log.engine.begin() as conn:  # inserting needs no dropped trigger
        conn.execute(sa.insert(checkpoints_t).values(seq=2, chain="0" * 64, created_at=NOW))
    with pytest.raises(ArchiveError, match="forged_checkpoint"):
        archive(log.engine, KEY, before=CUT, now=NOW, retention_years=5,
                path=str(tmp_path / "archive.jsonl"), writer=log.app.registry.access_log,
                checkpointer=log.checkpointer, execute=True)
    with log.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(entries_t)) == 7


# ------------------------------------------------------------------ checkpoints


@pytest.mark.parametrize("change, reason", [
    ({"created_at": NOW - dt.timedelta(days=1)}, Reason.WrongMac),
    ({"chain": "0" * 64}, Reason.WrongMac),  # once reported as "entry 3 broken"
    ({"mac": None}, Reason.NoMac),           # looks like a row from before 0017
])
def test_an_edited_checkpoint_row_is_reported_and_ignored_and_the_entries_are_fine(log, change, reason):
    log.requests(3)
    assert log.checkpoint() == 3
    with log.dba() as conn:
        conn.execute(sa.update(checkpoints_t).where(checkpoints_t.c.seq == 3).values(**change))
    for with_file in (False, True):  # the file's own line at 3 still holds
        report = log.verify(with_file=with_file)
        assert report.kinds() == [(Break.ForgedCheckpoint, 3)], str(report)
        finding = report.first
        assert (finding.reason, finding.source, report.checked) == (reason, Source.Database, 3)


def test_removed_newest_entries_and_checkpoint_rows_are_caught_by_the_file(log):
    log.requests(5)
    assert log.checkpoint() == 5
    second = log.chain_of(2)
    with log.dba() as conn:   # a careful DBA: the tail, every checkpoint row, and the head
        remove_entries(conn, 3, 5)
        conn.execute(sa.delete(checkpoints_t))
        conn.execute(sa.update(AccessLogHead.__table__).values(seq=2, chain=second))
    assert log.verify().ok  # the database alone cannot tell (docs/audit.md)
    report = log.verify(with_file=True)
    assert report.kinds() == [(Break.Truncated, 3)] and report.first.upto == 5
    # the running process refuses to append (its head went back); a process
    # started afterwards takes the removed numbers: the file's checkpoint at 5
    # no longer matches
    log.restart()
    log.requests(3)
    assert log.verify(with_file=True).kinds() == [(Break.CheckpointMismatch, 5)]


def test_a_checkpoint_beyond_the_log_is_truncation_only_when_authenticated(log):
    log.requests(3)
    with log.engine.begin() as conn:
        conn.execute(sa.insert(checkpoints_t).values(seq=50, chain="ab" * 32, created_at=NOW,
                                                     mac="cd" * 32))
    report = log.verify()
    assert report.kinds() == [(Break.ForgedCheckpoint, 50)] and report.last_seq == 3
    log.checkpointer.write(60, "ab" * 32, NOW)  # only the key's holder can write this one
    report = log.verify()
    assert report.kinds() == [(Break.Truncated, 4), (Break.ForgedCheckpoint, 50)]
    assert report.first.upto == 60


def test_a_checkpoint_dated_in_the_future_is_reported_and_ignored(log):
    log.requests(3)
    log.checkpointer.write(3, log.chain_of(3), NOW + dt.timedelta(minutes=4))  # within tolerance
    log.checkpointer.write(2, "0" * 64, NOW + dt.timedelta(days=1))
    log.checkpointer.write(70, "0" * 64, NOW + dt.timedelta(days=1))
    report = log.verify()
    assert report.kinds() == [(Break.FutureCheckpoint, 2), (Break.FutureCheckpoint, 70)]
    assert report.checked == 3
    assert log.verify(now=NOW + dt.timedelta(days=2)).kinds() == [
        (Break.CheckpointMismatch, 2), (Break.Truncated, 4)]  # once due, they count


def test_a_file_checkpoint_is_checked_by_its_mac_and_against_the_database(log):
    log.requests(4)
    assert log.checkpoint() == 4
    with open(log.file, "a", encoding="utf-8") as f:
        f.write(json.dumps({"seq": 2, "chain": log.chain_of(2), "at": "2026-11-24T00:30:00Z",
                            "mac": "0" * 64}) + "\n")                       # a bad MAC
        f.write(json.dumps({"seq": 3, "chain": log.chain_of(3), "at": "2026-11-24T00:30:00Z"})
                + "\n")                                                     # legacy: no MAC
        other = "1" * 64                                                    # sealed, but another value
        f.write(json.dumps({"seq": 4, "chain": other, "at": NOW.isoformat() + "Z",
                            "mac": chain.seal(KEY, "checkpoint", 4, other, NOW)}) + "\n")
    report = log.verify(with_file=True)
    assert report.kinds() == [(Break.ForgedCheckpoint, 2), (Break.CheckpointMismatch, 4),
                              (Break.CheckpointConflict, 4)], str(report)
    assert report.sorted()[0].source == Source.File and report.checked == 4


# ------------------------------------------------------------------ everything at once


def test_several_breaks_at_once_are_all_reported_and_nothing_else(log, capsys):
    log.requests(12)
    assert log.checkpoint() == 12
    with log.dba() as conn:
        conn.execute(sa.update(entries_t).where(entries_t.c.seq == 3).values(client_addr="10.6.6.6"))
        remove_entries(conn, 7, 8)
        conn.execute(sa.insert(checkpoints_t).values(seq=10, chain="0" * 64, created_at=NOW))
    report = log.verify(with_file=True)
    assert report.kinds() == [(Break.Mismatch, 3), (Break.Gap, 7), (Break.ForgedCheckpoint, 10)]
    assert report.sorted()[1].upto == 8
    # 1 2 4 5 6 10 11 12 verified; 9 cannot be (8 is gone); 3 is the edited one
    assert (report.checked, report.unverifiable, report.last_seq) == (8, 1, 12)
    assert main(["audit", "verify", log.ini(), "--from-checkpoint", str(log.file)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("BROKEN: 3 findings, the first at seq 3 (mismatch)")
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["seq 3", "seq 7-8", "seq 10"]


def test_the_inspection_package_trusts_only_authenticated_checkpoints(log, tmp_path):
    """A forged checkpoint row inside the period no longer breaks the package;
    an edited entry is named, with the count of findings."""
    with log.engine.begin() as conn:
        conn.execute(sa.insert(Organisation.__table__).values(code="v-co", name="委託", kind="contractor"))
    rows = [synthetic_entry(dt.datetime(2026, 10, 3, 10, n), "op", "v-co") for n in range(6)]
    log.app.registry.access_log.append(rows)
    with log.engine.begin() as conn:
        conn.execute(sa.insert(checkpoints_t).values(seq=3, chain="0" * 64, created_at=NOW))
    with log.engine.connect() as conn:
        organisation = conn.execute(sa.select(Organisation.__table__)).one()
        package = export.plan(conn, organisation, dt.date(2026, 10, 1), dt.date(2026, 10, 31), NOW)
    path = tmp_path / "package.zip"
    path.write_bytes(b"".join(export.stream(log.engine, KEY, package)))
    assert export.verify_file(str(path), KEY).ok
    with log.dba() as conn:
        conn.execute(sa.update(entries_t).where(entries_t.c.seq == 2).values(login="x"))
    path.unlink()
    path.write_bytes(b"".join(export.stream(log.engine, KEY, package)))
    result = export.verify_file(str(path), KEY)
    assert not result.ok
    assert ("the log's chain was not intact when exported: broken at seq 2 "
            "(audit.verify.mismatch); 1 finding") in result.problems
