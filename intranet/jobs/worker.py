"""``intranet worker <ini>``: the process that runs background jobs
(docs/operations.md, "Background jobs")."""
from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time

from . import STALE_AFTER, WORKER_BEAT_EVERY, Runner

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    s = sub.add_parser("worker", help="run background jobs (campaign builds...) until stopped")
    s.add_argument("ini")
    s.add_argument("--once", action="store_true", help="run the queued jobs, then exit")
    s.add_argument("--poll", type=float, default=1.0, help="seconds between looks at the queue")
    s.add_argument("--stale-after", type=float, default=STALE_AFTER.total_seconds(),
                   help="seconds without a heartbeat after which a running job is abandoned")
    s.set_defaults(func=main)


def main(args) -> int:
    from pyramid.paster import get_appsettings, setup_logging

    from ..config import hmac_key
    from ..audit.writer import AccessLogWriter
    from ..db import get_engine, get_session_factory

    setup_logging(args.ini)
    settings = get_appsettings(args.ini)
    engine = get_engine(settings)
    runner = Runner(get_session_factory(engine), access_log=AccessLogWriter(engine, hmac_key(settings)),
                    stale_after=dt.timedelta(seconds=args.stale_after))
    stop = threading.Event()

    def ask_to_stop(signum, frame):  # the running job finishes first
        log.info("worker %s: stopping after the current job", runner.worker)
        stop.set()

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    try:
        recovered = runner.recover_stale()
        log.info("worker %s started (%d abandoned jobs recovered)", runner.worker, len(recovered))
        beaten = None
        while not stop.is_set():
            if beaten is None or time.monotonic() - beaten >= WORKER_BEAT_EVERY.total_seconds():
                runner.beat()  # /healthz: a worker is alive
                beaten = time.monotonic()
            ran = runner.run_pending()
            if args.once:
                break
            if not ran:
                stop.wait(args.poll)
    finally:
        try:
            runner.leave()
        finally:
            engine.dispose()
    return 0
