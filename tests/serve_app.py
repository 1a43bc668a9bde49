"""Serve the application with waitress on a free port, for tests that need a
real application process (tests/functional/test_multi_process.py).

Run as ``python -m tests.serve_app`` with the application settings as a JSON
object in the environment variable ``INTRANET_SERVE_SETTINGS``. It builds the
app as ``pserve`` would (``intranet.main``), binds 127.0.0.1 port 0 (the
kernel picks a free port: no race with other tests), prints that port on one
line of stdout and serves until it is terminated.
"""
from __future__ import annotations

import json
import logging
import os
import sys

ENV = "INTRANET_SERVE_SETTINGS"


def main() -> int:
    import waitress

    import intranet

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # a few client threads on a few worker threads queue by design
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    settings = json.loads(os.environ[ENV])
    threads = int(settings.pop("waitress.threads", 4))
    app = intranet.main({}, **settings)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads,
                                    channel_timeout=60)
    print(server.effective_port, flush=True)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
