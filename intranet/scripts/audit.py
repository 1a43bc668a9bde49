"""``intranet audit ...``: verify the access log and write checkpoints."""
from __future__ import annotations

import datetime as dt
import sys

from ..audit import hmac_key
from ..audit.checkpoints import Checkpointer, read_checkpoint_file
from ..audit.verify import verify_database
from ..clock import SystemClock
from ..db import get_engine
from ..i18n import translate


def verify(args) -> int:
    from .cli import _settings

    settings = _settings(args.ini)
    extra = {}
    if args.from_checkpoint:
        try:
            extra = read_checkpoint_file(args.from_checkpoint)
        except (OSError, ValueError) as exc:
            print(f"cannot read checkpoints: {exc}", file=sys.stderr)
            return 2
    engine = get_engine(settings)
    try:
        with engine.connect() as conn:
            result = verify_database(conn, hmac_key(settings), extra)
    finally:
        engine.dispose()
    if result.ok:
        print(f"{result} ({len(extra)} external checkpoints)")
        return 0
    print(f"{result}: {translate('ja', result.reason)} / {translate('en', result.reason)}",
          file=sys.stderr)
    return 1


def checkpoint(args) -> int:
    from .cli import _settings

    settings = _settings(args.ini)
    engine = get_engine(settings)
    try:
        checkpointer = Checkpointer(engine, interval=dt.timedelta(0),
                                    path=args.file or settings.get("intranet.audit.checkpoint_file"))
        seq, value = checkpointer.write_current(SystemClock().now())
    finally:
        engine.dispose()
    print(f"checkpoint seq {seq} chain {value}")
    return 0


def add_parser(sub) -> None:
    audit = sub.add_parser("audit", help="access log: verify, checkpoint")
    commands = audit.add_subparsers(dest="audit_command", required=True)

    s = commands.add_parser("verify", help="walk the hash chain; exit 1 at the first break")
    s.add_argument("ini")
    s.add_argument("--from-checkpoint", metavar="FILE",
                   help="also check the checkpoints in FILE (JSON lines, kept outside the database)")
    s.set_defaults(func=verify)

    s = commands.add_parser("checkpoint", help="record a checkpoint of the log as it stands (cron)")
    s.add_argument("ini")
    s.add_argument("--file", help="append it to FILE (default: intranet.audit.checkpoint_file)")
    s.set_defaults(func=checkpoint)
