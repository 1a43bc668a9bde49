"""``intranet import <ini> <dir-or-zip>``: data-link files in, all or nothing."""
from __future__ import annotations

import getpass
import os
import sys
import zipfile

import transaction

from ..clock import SystemClock
from ..datalink import importer
from ..i18n import translate


def _files(path: str) -> dict[str, bytes]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return {os.path.basename(n): archive.read(n) for n in archive.namelist()
                    if n.lower().endswith(".csv")}
    return {name: open(os.path.join(path, name), "rb").read()
            for name in sorted(os.listdir(path)) if name.lower().endswith(".csv")}


def run(args) -> int:
    from .cli import _session, _settings

    settings = _settings(args.ini)
    try:
        files = _files(args.source)
    except OSError as exc:
        print(f"cannot read {args.source}: {exc.strerror}", file=sys.stderr)
        return 2
    with transaction.manager:
        dbsession = _session(settings)
        clock = SystemClock()
        result = importer.run(dbsession, files, clock.today(), encoding=args.encoding,
                              dry_run=args.dry_run)
        if not result.ok:
            transaction.abort()
        else:
            importer.record(dbsession, result, os_user=getpass.getuser(), now=clock.now(),
                            dry_run=args.dry_run)
    if not result.ok:
        for problem in result.report.problems:
            where = f"{problem.file}:{problem.line}" + (f" [{problem.column}]" if problem.column else "")
            print(f"{where} {translate('ja', problem.key)} / {translate('en', problem.key)}",
                  file=sys.stderr)
        if result.report.truncated:
            print("… (more problems not shown)", file=sys.stderr)
        print("nothing was imported / 何も取り込んでいません", file=sys.stderr)
        return 1
    for name, c in result.counts.items():
        print(f"{name}: {c.added} added, {c.changed} changed, {c.unchanged} unchanged")
    print(f"cases closed: {result.closed}, reopened: {result.reopened}"
          + (" (dry run: nothing saved)" if args.dry_run else ""))
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("import", help="import data-link CSV files (a directory or a zip)")
    s.add_argument("ini")
    s.add_argument("source")
    s.add_argument("--encoding", help="cp932 or utf-8 (default: detected per file)")
    s.add_argument("--dry-run", action="store_true", help="report what would change, save nothing")
    s.set_defaults(func=run)
