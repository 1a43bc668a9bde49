"""The backup and restore drill (issue 24; docs/operations.md, "Backup and
restore"). A backup of the database restored into a new one verifies with
the checkpoints kept outside it; an older backup is reported as the newest
entries missing since a named checkpoint (a restore's loss, the same
finding as a deleted tail), never as edited entries. SQLite through its
backup API, PostgreSQL through pg_dump / pg_restore, as documented."""
import datetime as dt
import shutil
import sqlite3
import subprocess
import uuid

import pytest
import sqlalchemy as sa
import webtest

import intranet
from intranet.scripts.cli import main
from tests.conftest import PG_ADMIN_URL, TEST_SETTINGS, FrozenClock, _new_database

START = dt.datetime(2026, 11, 24, 0, 30)


def _plain(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _backup(url: str, path) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(sa.engine.make_url(url).database) as source, sqlite3.connect(path) as target:
            source.backup(target)
    else:
        subprocess.run(["pg_dump", "--format=custom", "--file", str(path), _plain(url)], check=True)


def _restore(backend: str, path, tmp_path, restored: list) -> str:
    if backend == "sqlite":
        target = tmp_path / f"restored-{uuid.uuid4().hex[:6]}.sqlite"
        shutil.copy(path, target)
        return f"sqlite:///{target}"
    name = f"intranet_test_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    restored.append(name)
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname",
                    _plain(url), str(path)], check=True)
    return url


def _verify(tmp_path, url: str, witness) -> int:
    ini = tmp_path / f"verify-{uuid.uuid4().hex[:6]}.ini"
    ini.write_text(f"[app:main]\nuse = egg:intranet\nsqlalchemy.url = {url}\n"
                   f"intranet.audit.hmac_key = {TEST_SETTINGS['intranet.audit.hmac_key']}\n")
    return main(["audit", "verify", str(ini), "--from-checkpoint", str(witness)])


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_a_restored_backup_verifies_and_an_older_one_reports_the_lost_entries(
        backend, tmp_path_factory, tmp_path, capsys):
    if backend == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    restored: list[str] = []
    with _new_database(backend, tmp_path_factory) as settings:
        witness = tmp_path / "checkpoints.jsonl"
        app = intranet.main({}, **{**TEST_SETTINGS, **settings, "intranet.audit.checkpoint_file": str(witness),
                                   "intranet.audit.checkpoint_entries": "3"})
        app.registry.clock = clock = FrozenClock(START)
        testapp = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})

        def browse(n):
            for _ in range(n):
                clock.advance(seconds=5)
                testapp.get("/login")

        url = settings["sqlalchemy.url"]
        try:
            browse(7)
            _backup(url, tmp_path / "older.backup")
            browse(9)  # entries and checkpoints the older backup does not hold
            _backup(url, tmp_path / "newest.backup")
            app.registry["db_engine"].dispose()

            capsys.readouterr()
            assert _verify(tmp_path, _restore(backend, tmp_path / "newest.backup", tmp_path, restored),
                           witness) == 0
            assert capsys.readouterr().out.startswith("OK")

            assert _verify(tmp_path, _restore(backend, tmp_path / "older.backup", tmp_path, restored),
                           witness) == 1
            err = capsys.readouterr().err
            assert "truncated" in err or "末尾" in err
            assert "古いバックアップからの復元" in err or "restore of an older backup" in err
            assert "mismatch" not in err  # nothing reads as an edited entry
        finally:
            app.registry["db_engine"].dispose()
            admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT") if restored else None
            for name in restored:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if admin is not None:
                admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_intranet_backup_writes_a_folder_that_restores_and_verifies(backend, tmp_path_factory, tmp_path, capsys):
    """``intranet backup``: the database, the checkpoint file and a manifest
    (the log's head, the signing key's public key, SHA-256s; no key) in a new
    folder; restored as documented, it verifies against the checkpoint file."""
    import hashlib

    if backend == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    restored: list[str] = []
    with _new_database(backend, tmp_path_factory) as settings:
        witness = tmp_path / "checkpoints.jsonl"
        app = intranet.main({}, **{**TEST_SETTINGS, **settings, "intranet.audit.checkpoint_file": str(witness),
                                   "intranet.audit.checkpoint_entries": "2"})
        app.registry.clock = FrozenClock(START)
        testapp = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
        try:
            for _ in range(5):
                testapp.get("/login")
            ini = tmp_path / "site.ini"
            ini.write_text(
                f"[app:main]\nuse = egg:intranet\nsqlalchemy.url = {settings['sqlalchemy.url']}\n"
                f"intranet.audit.hmac_key = {TEST_SETTINGS['intranet.audit.hmac_key']}\n"
                f"intranet.audit.signing_key = {TEST_SETTINGS['intranet.audit.signing_key']}\n"
                f"intranet.audit.checkpoint_file = {witness}\n")
            capsys.readouterr()
            assert main(["backup", str(ini), "--output", str(tmp_path / "backups")]) == 0
            folder = tmp_path / "backups" / capsys.readouterr().out.strip().rsplit("/", 1)[1]
            manifest = (folder / "MANIFEST.txt").read_text()
            assert "access_log_head: " in manifest and "intranet-test+1272cb19+" in manifest
            assert TEST_SETTINGS["intranet.audit.hmac_key"] not in manifest
            assert "PRIVATE+KEY" not in manifest
            dump = folder / ("database.sqlite" if backend == "sqlite" else "database.dump")
            for name in (dump.name, "checkpoints.jsonl"):
                digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
                assert f"file: {digest} " in manifest and manifest.count(name) == 1
            assert _verify(tmp_path, _restore(backend, dump, tmp_path, restored), folder / "checkpoints.jsonl") == 0
        finally:
            app.registry["db_engine"].dispose()
            if restored:
                admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
                for name in restored:
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def test_intranet_backup_copies_every_retention_cuts_archive_file_or_says_it_is_missing(
        fresh_database, tmp_path, capsys):
    """``--archives DIR``: the file of every retention cut is found by the
    SHA-256 the cut recorded (whatever it is called now), copied, named in
    the manifest, and still verifies; a missing one is ``MISSING`` in the
    manifest and the command exits 1 (the entries exist nowhere else)."""
    from intranet.audit.archive import archive, verify_archive_file

    witness = tmp_path / "checkpoints.jsonl"
    app = intranet.main({}, **{**fresh_database, "intranet.audit.checkpoint_file": str(witness)})
    key = TEST_SETTINGS["intranet.audit.hmac_key"].encode()
    try:
        app.registry.clock = FrozenClock(dt.datetime(2020, 6, 1, 1, 0))
        testapp = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
        for _ in range(4):
            testapp.get("/login")
        app.registry.clock = FrozenClock(START)
        testapp.get("/login")
        store = tmp_path / "archives"
        store.mkdir()
        archive(app.registry["db_engine"], key, before=dt.datetime(2020, 12, 31, 15), now=START,
                retention_years=5, path=str(store / "access-log-2020.jsonl"), writer=app.registry.access_log,
                checkpointer=app.registry.access_checkpointer, execute=True)
        (store / "access-log-2020.jsonl").rename(store / "renamed-by-someone.jsonl")
        (store / "unrelated.txt").write_text("not an archive")
        ini = tmp_path / "site.ini"
        ini.write_text(f"[app:main]\nuse = egg:intranet\nsqlalchemy.url = {fresh_database['sqlalchemy.url']}\n"
                       f"intranet.audit.hmac_key = {TEST_SETTINGS['intranet.audit.hmac_key']}\n"
                       f"intranet.audit.checkpoint_file = {witness}\n")
        capsys.readouterr()
        assert main(["backup", str(ini), "--output", str(tmp_path / "b1"), "--archives", str(store)]) == 0
        folder = tmp_path / "b1" / capsys.readouterr().out.strip().rsplit("/", 1)[1]
        manifest = (folder / "MANIFEST.txt").read_text()
        copied = folder / "archives" / "renamed-by-someone.jsonl"
        assert verify_archive_file(str(copied), key).ok
        assert "archives/renamed-by-someone.jsonl" in manifest and "unrelated" not in manifest
        assert list((folder / "archives").iterdir()) == [copied]

        (store / "renamed-by-someone.jsonl").write_text("lost\n")
        assert main(["backup", str(ini), "--output", str(tmp_path / "b2"), "--archives", str(store)]) == 1
        out = capsys.readouterr()
        manifest = (tmp_path / "b2" / out.out.strip().rsplit("/", 1)[1] / "MANIFEST.txt").read_text()
        assert " MISSING" in manifest and "MISSING" in out.err and "アーカイブ" in out.err
    finally:
        app.registry["db_engine"].dispose()
