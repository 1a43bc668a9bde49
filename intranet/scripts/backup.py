"""``intranet backup <ini> --output DIR``: the documented backup in one step
(docs/operations.md, "Backup and restore"; issue 24).

Writes a new folder ``DIR/intranet-backup-<UTC time>/`` holding the database
(PostgreSQL: ``pg_dump --format=custom``, restored with ``pg_restore``;
SQLite: its online backup API), a copy of the checkpoint file, with
``--archives DIR`` a copy of every archive file the log's retention cuts name
(found in DIR by its SHA-256; one that is missing or altered is named
``MISSING`` and the command exits 1), and ``MANIFEST.txt``: when, the access
log's head at the time (what the backup holds), the public key of the signing
key in force, every cut and every file's SHA-256. Keys are never written.
Nothing existing is overwritten.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys

import sqlalchemy as sa

from ..config import checkpoint_settings
from ..db import database_url
from .common import ini_settings


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _database(url: sa.engine.URL, folder: str) -> str:
    if url.get_backend_name() == "sqlite":
        target = os.path.join(folder, "database.sqlite")
        with sqlite3.connect(url.database) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return target
    target = os.path.join(folder, "database.dump")
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", "--file", target, plain], check=True)
    return target


def _archives(conn, source: str | None, folder: str) -> tuple[list[str], list[str], bool]:
    """Copy the archive file of every retention cut from ``source`` (matched
    by content: the cut records the file's SHA-256, not its name). Returns
    the manifest lines, the copied files and whether every cut's file was found."""
    cuts = conn.execute(sa.text(
        "SELECT id, upto_seq, file_sha256 FROM access_log_archives ORDER BY id")).all()
    if not cuts:
        return ["archives: none (no retention cut yet)"], [], True
    if source is None:
        return ([f"archive: cut {c.id} upto {c.upto_seq} {c.file_sha256} not backed up (no --archives)"
                 for c in cuts], [], True)
    found = {}
    for name in sorted(os.listdir(source)):
        path = os.path.join(source, name)
        if os.path.isfile(path):
            found.setdefault(_sha256(path), path)
    os.makedirs(os.path.join(folder, "archives"))
    lines, files, complete = [], [], True
    for cut in cuts:
        path = found.get(cut.file_sha256)
        if path is None:
            complete = False
            lines.append(f"archive: cut {cut.id} upto {cut.upto_seq} {cut.file_sha256} MISSING")
            continue
        copy = shutil.copy2(path, os.path.join(folder, "archives", os.path.basename(path)))
        files.append(copy)
        lines.append(f"archive: cut {cut.id} upto {cut.upto_seq} {cut.file_sha256} archives/{os.path.basename(path)}")
    return lines, files, complete


def backup(args) -> int:
    settings = ini_settings(args.ini)
    url = sa.engine.make_url(database_url(settings))
    checkpoints = checkpoint_settings(settings)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    folder = os.path.join(args.output, f"intranet-backup-{now:%Y%m%d-%H%M%S}")
    try:
        os.makedirs(folder)
    except OSError as exc:
        print(f"{folder}: {exc.strerror}; nothing written / バックアップ先を作成できません", file=sys.stderr)
        return 2
    if args.archives is not None and not os.path.isdir(args.archives):
        print(f"{args.archives}: not a folder; nothing written / アーカイブのフォルダがありません", file=sys.stderr)
        os.rmdir(folder)
        return 2
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            head = conn.execute(sa.text("SELECT seq, chain FROM access_log_head")).first()
            archive_lines, archive_files, complete = _archives(conn, args.archives, folder)
    finally:
        engine.dispose()
    try:
        files = [_database(url, folder)]
    except (OSError, subprocess.CalledProcessError, sqlite3.Error) as exc:
        print(f"the database could not be backed up: {type(exc).__name__}: {exc} / "
              "データベースをバックアップできません", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)
        return 1
    if checkpoints.path and os.path.exists(checkpoints.path):
        files.append(shutil.copy2(checkpoints.path, os.path.join(folder, "checkpoints.jsonl")))
    signer = checkpoints.signer
    lines = [
        "format: intranet-backup/1",
        f"created_at: {now.isoformat(timespec='seconds')}Z",
        f"database: {url.get_backend_name()}",
        f"access_log_head: {head.seq} {head.chain}" if head else "access_log_head: empty",
        f"signing_key: {signer.verifier().key_string() if signer else 'none'}",
        "hmac_key: configured in the ini or its environment (never copied)",
        *archive_lines,
    ] + [f"file: {_sha256(path)} {os.path.getsize(path)} {os.path.relpath(path, folder)}"
         for path in files + archive_files]
    with open(os.path.join(folder, "MANIFEST.txt"), "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(folder)
    if not complete:
        print("the archive file of a retention cut was not found in --archives (MISSING in "
              "MANIFEST.txt): the entries it held exist nowhere else / 保存期間切り出しのアーカイブ"
              "ファイルが見つかりません（MANIFEST.txt の MISSING）", file=sys.stderr)
        return 1
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("backup", help="back up the database and the checkpoint file into a new folder "
                                      "(docs/operations.md)")
    s.add_argument("ini")
    s.add_argument("--output", required=True, help="folder to create the backup in")
    s.add_argument("--archives", help="folder of the archive files (intranet audit archive --output): "
                                      "every retention cut's file is found there and copied")
    s.set_defaults(func=backup)
