"""``intranet audit ...``: verify the access log, write checkpoints, archive
entries past the retention period (docs/audit.md)."""
from __future__ import annotations

import datetime as dt
import sys

from ..audit.checkpoints import (
    CheckpointFailed, Checkpointer,
)
from ..audit.events import AuditEvent
from ..audit.verify import CheckpointFile, report_lines, verify_database
from ..clock import SystemClock, jst_midnight
from ..config import audit_settings, checkpoint_settings, hmac_key
from ..db import get_engine
from ..i18n import translate
from .common import ini_settings


def _retention_years(settings) -> int:
    return audit_settings(settings).retention_years


def _print_report(report, suffix: str = "") -> int:
    """``OK ...`` on stdout (0), or the summary and every finding on stderr (1)."""
    if report.ok:
        print(f"{report}{suffix}")
        return 0
    print(f"{report}{suffix}", file=sys.stderr)
    for line in report_lines(report):
        print(line, file=sys.stderr)
    return 1


def verify(args) -> int:

    settings = ini_settings(args.ini)
    extra = []
    if args.from_checkpoint:
        try:
            extra = CheckpointFile(args.from_checkpoint)
        except (OSError, ValueError) as exc:
            print(f"cannot read checkpoints: {exc}", file=sys.stderr)
            return 2
    engine = get_engine(settings)
    try:
        with engine.connect() as conn:
            report = verify_database(conn, hmac_key(settings), extra, now=SystemClock().now(),
                                     retention_years=_retention_years(settings))
    finally:
        engine.dispose()
        if args.from_checkpoint:
            extra.close()
    return _print_report(report, f" ({len(extra)} external checkpoints)")


def checkpoint(args) -> int:

    settings = ini_settings(args.ini)
    if args.file:
        settings = {**settings, "intranet.audit.checkpoint_file": args.file}
    engine = get_engine(settings)
    try:
        checkpointer = Checkpointer(engine, hmac_key(settings),
                                    checkpoint_settings(settings))
        seq, value = checkpointer.write_current(SystemClock().now())
    except CheckpointFailed as exc:
        print(f"checkpoint NOT written: a witness failed ({exc}); no row was recorded / "
              f"チェックポイントを書き込めませんでした（{exc}）。記録していません", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"checkpoint seq {seq} chain {value}")
    return 0


def archive(args) -> int:
    from ..audit import archive as procedure
    from ..audit.writer import AccessLogWriter

    settings = ini_settings(args.ini)
    try:
        day = dt.date.fromisoformat(args.before)
    except ValueError:
        print("--before must be a date (YYYY-MM-DD) / 日付は YYYY-MM-DD で指定してください",
              file=sys.stderr)
        return 2
    before = jst_midnight(day)
    key = hmac_key(settings)
    engine = get_engine(settings)
    try:
        checkpointer = Checkpointer(engine, key, checkpoint_settings(settings))
        result = procedure.archive(
            engine, key, before=before, now=SystemClock().now(),
            retention_years=_retention_years(settings),
            path=args.output, writer=AccessLogWriter(engine, key), checkpointer=checkpointer,
            execute=args.execute)
    except (procedure.ArchiveError, FileExistsError) as exc:
        print(f"archive refused: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if result.entries == 0:
        print("nothing to archive")
    elif args.execute:
        print(f"archived and removed entries {result.from_seq}-{result.upto_seq} "
              f"({result.entries}) to {args.output}")
    else:
        print(f"dry run: exported and verified entries {result.from_seq}-{result.upto_seq} "
              f"({result.entries}) to {args.output}; nothing removed (add --execute)")
    return 0


def verify_archive(args) -> int:
    from ..audit.archive import ArchiveError, verify_archive_file

    settings = ini_settings(args.ini)
    try:
        result = verify_archive_file(args.file, hmac_key(settings))
    except (OSError, ValueError, KeyError, ArchiveError) as exc:
        print(f"cannot read the archive: {exc}", file=sys.stderr)
        return 2
    return _print_report(result)


def export(args) -> int:
    """Write an inspection package (the same ZIP as /audit/exports) with a
    progress bar, and log the export as an event with its row count."""
    import getpass
    import json
    import os
    import uuid

    from sqlalchemy import select
    from sqlalchemy.orm import Session
    from tqdm import tqdm

    from ..audit import chain
    from ..audit import export as package
    from ..audit.writer import AccessLogWriter
    from ..models import Organisation

    try:
        date_from, date_to = dt.date.fromisoformat(args.date_from), dt.date.fromisoformat(args.date_to)
    except ValueError:
        print("--from/--to must be dates (YYYY-MM-DD) / 日付は YYYY-MM-DD で指定してください",
              file=sys.stderr)
        return 2
    if os.path.exists(args.output):
        print(f"{args.output} exists; not overwritten / 既存のファイルは上書きしません", file=sys.stderr)
        return 2
    previous = None
    if args.previous_checkpoint:
        try:
            with open(args.previous_checkpoint, encoding="utf-8") as f:
                previous = f.read(64 * 1024)
        except (OSError, UnicodeDecodeError) as exc:
            print(f"cannot read {args.previous_checkpoint}: {exc} / 前回調査のチェックポイントを読めません",
                  file=sys.stderr)
            return 2
    settings = ini_settings(args.ini)
    key = hmac_key(settings)
    engine = get_engine(settings)
    now = SystemClock().now()
    checkpointer = Checkpointer(engine, key, checkpoint_settings(settings))
    try:
        with Session(engine) as session:
            organisation = session.scalar(select(Organisation).where(Organisation.code == args.organisation))
            if organisation is None:
                print(f"unknown organisation {args.organisation!r} / 組織が見つかりません", file=sys.stderr)
                return 2
            try:
                plan = package.plan(session.connection(), organisation, date_from, date_to, now,
                                    checkpointer, previous)
            except package.ExportError as error:
                print(f"{translate('ja', error.key)} / {translate('en', error.key)}", file=sys.stderr)
                return 1
        total = max(0, plan.last_seq - plan.first_seq + 1)
        with open(args.output + ".part", "wb") as out, tqdm(
                total=total, unit=" entries", disable=args.quiet, file=sys.stderr) as bar:
            for block in package.stream(engine, key, plan, progress=bar.update):
                out.write(block)
        os.replace(args.output + ".part", args.output)
        fields = {name: None for name in chain.FIELDS if name != "seq"}
        fields.update(kind="event", event=AuditEvent.AuditExported, occurred_at=SystemClock().now(),
                      request_id=uuid.uuid4().hex, outcome="success", case_count=0,
                      view_name="intranet audit export", detail=json.dumps({
                          "rows": plan.entries, "organisation": plan.code,
                          "date_from": args.date_from, "date_to": args.date_to,
                          "os_user": getpass.getuser()}, sort_keys=True))
        AccessLogWriter(engine, key).append([(fields, [])])
    finally:
        engine.dispose()
    print(f"{args.output}: {plan.entries} entries of {plan.code}, "
          f"{plan.date_from}..{plan.date_to}")
    return 0


def verify_export(args) -> int:
    from ..audit.export import verify_file

    result = verify_file(args.file, hmac_key(ini_settings(args.ini)))
    print(result, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def verify_tree(args) -> int:
    """Recompute the Merkle tree from the entries (issue 22)."""
    from ..audit import tree

    settings = ini_settings(args.ini)
    engine = get_engine(settings)
    try:
        with engine.connect() as conn:
            checked, problems = tree.verify(conn)
    finally:
        engine.dispose()
    if not problems:
        print(f"OK: {checked} leaves, their organisation links, nodes and checkpoint roots "
              "recomputed from the entries / 木を再計算し一致しました")
        return 0
    print(f"FAILED: {len(problems)} problem(s) / 木が一致しません", file=sys.stderr)
    for line in problems:
        print(f"  - {line}", file=sys.stderr)
    return 1


def verify_package(args) -> int:
    from ..audit import package_verifier

    argv = [args.file, "--public-key", args.public_key]
    return package_verifier.main(argv)


def keygen(args) -> int:
    """A new Ed25519 signing key for the checkpoints: the secret key to the
    file named (created with mode 0600, never overwritten), the public key
    on stdout (to publish: docs/audit.md)."""
    import os

    from ..audit.signed_note import NoteError, Signer

    try:
        signer = Signer.generate(args.name)
    except NoteError as exc:
        print(f"{exc} / 鍵の名前が不正です", file=sys.stderr)
        return 2
    try:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        print(f"{args.output}: {exc.strerror}; not overwritten / 既存のファイルは上書きしません", file=sys.stderr)
        return 2
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(signer.key_string() + "\n")
    print(signer.verifier().key_string())
    return 0


def add_parser(sub) -> None:
    audit = sub.add_parser("audit", help="access log: verify, checkpoint")
    commands = audit.add_subparsers(dest="audit_command", required=True)

    s = commands.add_parser("verify", help="walk the hash chain; report every break (exit 1)")
    s.add_argument("ini")
    s.add_argument("--from-checkpoint", metavar="FILE",
                   help="also check the checkpoints in FILE (JSON lines, kept outside the database)")
    s.set_defaults(func=verify)

    s = commands.add_parser("checkpoint", help="record a checkpoint of the log as it stands (cron)")
    s.add_argument("ini")
    s.add_argument("--file", help="append it to FILE (default: intranet.audit.checkpoint_file)")
    s.set_defaults(func=checkpoint)

    s = commands.add_parser(
        "archive", help="retention: export entries older than --before to a verified file, "
                        "then (with --execute) remove them from the database")
    s.add_argument("ini")
    s.add_argument("--before", required=True, help="cut date (JST), YYYY-MM-DD")
    s.add_argument("--output", required=True, help="archive file to create (must not exist)")
    s.add_argument("--execute", action="store_true", help="remove the archived entries")
    s.set_defaults(func=archive)

    s = commands.add_parser("export", help="the on-site inspection package of one organisation")
    s.add_argument("ini")
    s.add_argument("--organisation", required=True, help="organisation code")
    s.add_argument("--from", dest="date_from", required=True, help="first day (JST), YYYY-MM-DD")
    s.add_argument("--to", dest="date_to", required=True, help="last day (JST), YYYY-MM-DD")
    s.add_argument("--output", required=True, help="ZIP file to create (must not exist)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--previous-checkpoint", metavar="FILE",
                   help="the previous inspection's signed checkpoint (its tlog/checkpoint.end): "
                        "the package then proves the log extends it")
    s.set_defaults(func=export)

    s = commands.add_parser("verify-package",
                            help="check an inspection package with the public key alone (no secret)")
    s.add_argument("file")
    s.add_argument("--public-key", required=True, metavar="FILE",
                   help="trusted public keys, one a line: NAME+HASH+KEY [NOT-BEFORE [NOT-AFTER]]")
    s.set_defaults(func=verify_package)

    s = commands.add_parser("verify-tree", help="recompute the Merkle tree from the entries")
    s.add_argument("ini")
    s.set_defaults(func=verify_tree)

    s = commands.add_parser("keygen", help="make an Ed25519 key that signs the checkpoints")
    s.add_argument("--name", required=True, help="the key's name, e.g. the ward's domain and the year")
    s.add_argument("--output", required=True, help="file for the secret key (must not exist; mode 0600)")
    s.set_defaults(func=keygen)

    s = commands.add_parser("verify-export", help="check an inspection package offline")
    s.add_argument("ini", help="ini file holding intranet.audit.hmac_key")
    s.add_argument("file")
    s.set_defaults(func=verify_export)

    s = commands.add_parser("verify-archive", help="verify the chain of an archive file")
    s.add_argument("ini")
    s.add_argument("file")
    s.set_defaults(func=verify_archive)

    from . import audit_head

    audit_head.add_parser(commands)  # accept-head (docs/audit.md, "No silent rollback")
