"""``intranet import <ini> <dir-or-zip>``: data-link files in, all or nothing."""
from __future__ import annotations

import getpass
import sys
import zipfile

import transaction
from tqdm import tqdm

from ..clock import SystemClock, jst_midnight
from ..config import parse_settings
from ..datalink import importer, sources
from ..i18n import translate
from .common import ini_settings, tm_session


def run(args) -> int:
    settings = ini_settings(args.ini)
    cases = parse_settings(settings).cases  # the ini is checked as the application checks it
    try:
        files = sources.from_path(args.source)
    except OSError as exc:
        print(f"cannot read {args.source}: {exc.strerror}", file=sys.stderr)
        return 2
    except zipfile.BadZipFile:
        print(f"{args.source}: {translate('ja', 'datalink.error.zip')} / "
              f"{translate('en', 'datalink.error.zip')}", file=sys.stderr)
        return 2
    with transaction.manager, tqdm(total=importer.steps(files), unit="step", file=sys.stderr,
                                   bar_format="{l_bar}{bar:30}| {n_fmt}/{total_fmt} [{elapsed}]") as bar:
        dbsession = tm_session(settings)
        clock = SystemClock()

        def progress(label):
            bar.set_description_str(label, refresh=False)
            bar.update()

        result = importer.run(dbsession, files, clock.today(), encoding=args.encoding,
                              dry_run=args.dry_run, progress=progress,
                              rules=cases.amount_rules,
                              plan_grace_days=cases.plan_grace_days, now=clock.now())
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
    defaulted = sum(1 for c in result.plan_changes if c.after == "defaulted")
    print(f"installment plans changed: {len(result.plan_changes)} ({defaulted} defaulted)")
    print(f"direct-debit applications registered: {len(result.registrations)}")
    print(f"cases closed: {result.closed}, reopened: {result.reopened}"
          + (" (dry run: nothing saved)" if args.dry_run else ""))
    return 0


def export(args) -> int:
    import datetime as dt

    from ..datalink import exporter
    from ..datalink.encoding import UnencodableError

    settings = ini_settings(args.ini)
    clock = SystemClock()
    with transaction.manager:
        dbsession = tm_session(settings)
        since = exporter.last_until(dbsession)
        if args.since:
            try:
                since = jst_midnight(dt.date.fromisoformat(args.since))
            except ValueError:
                print("--since must be a date (YYYY-MM-DD)", file=sys.stderr)
                return 2
        try:
            result = exporter.build(dbsession, since, clock.now(), encoding=args.encoding)
        except UnencodableError as exc:
            transaction.abort()
            # the place and the code point only: the character may be part of a name
            for p in exc.problems:
                print(f"{p.file}:{p.line} [{p.column}] {p.key} {p.codepoint}", file=sys.stderr)
            if exc.total > len(exc.problems):
                print(f"… ({exc.total - len(exc.problems)} more)", file=sys.stderr)
            print(f"{translate('ja', 'datalink.export.unencodable.cli')} / "
                  f"{translate('en', 'datalink.export.unencodable.cli')}", file=sys.stderr)
            return 1
        data = result.zip()
        try:
            with open(args.output, "xb") as f:
                f.write(data)
        except OSError as exc:
            transaction.abort()
            print(f"cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
        entry = exporter.record(dbsession, result, data, os_user=getpass.getuser(), now=clock.now())
        print(f"export {entry.id}: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()))
              + f"; sha256 {entry.sha256}")
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("import", help="import data-link CSV files (a directory or a zip)")
    s.add_argument("ini")
    s.add_argument("source")
    s.add_argument("--encoding", help="cp932 or utf-8 (default: detected per file)")
    s.add_argument("--dry-run", action="store_true", help="report what would change, save nothing")
    s.set_defaults(func=run)

    s = sub.add_parser("export", help="export work done here since the last export (a zip)")
    s.add_argument("ini")
    s.add_argument("--output", required=True, help="zip file to create (must not exist)")
    s.add_argument("--since", help="YYYY-MM-DD (default: since the last export)")
    s.add_argument("--encoding", choices=["cp932", "utf-8"], default="cp932",
                   help="cp932 (default; refused, listing them, when a character is not in CP932) "
                        "or utf-8 (with BOM)")
    s.set_defaults(func=export)
