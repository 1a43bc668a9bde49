"""Benchmark: generating a batch of 2,000 dunning letters (催告書).

Usage::

    .venv/bin/python bench/bench_letters.py [--letters 2000] [--backend sqlite|postgresql]

Loads demo cases into a throwaway database, then times
``intranet.documents.service.issue_letters`` for ``--letters`` cases with
unpaid installments: content (late charges as of the deadline), one issued
document and one 帳票発行記録 per case, and the PDF. Reports seconds, letters
per second and the PDF's size and page count.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import transaction  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from sqlalchemy import select  # noqa: E402

import intranet  # noqa: E402
from bench_cases import FAST_ARGON, Database, load, migrate  # noqa: E402
from results import record  # noqa: E402
from intranet.db import get_session_factory, get_tm_session  # noqa: E402
from intranet.documents import service  # noqa: E402
from intranet.models import Case, CaseStatus, User  # noqa: E402

NOW = dt.datetime(2026, 11, 24, 0, 30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        db = Database(args.backend, tmpdir)
        try:
            migrate(db.url)
            app = intranet.main({}, **{"sqlalchemy.url": db.url, **FAST_ARGON})
            load(app, int(args.letters * 1.6))
            factory = get_session_factory(app.registry["db_engine"])
            with transaction.manager:
                session = get_tm_session(factory, transaction.manager)
                user = session.scalars(select(User).where(User.login == "operator1")).one()
                rules = app.registry.app_settings.cases.amount_rules
                cases = [c for c in session.scalars(select(Case).where(Case.status == CaseStatus.open))
                         if service.letter_installments(c, rules, NOW.date())][: args.letters]
                started = time.perf_counter()
                batch = service.issue_letters(session, cases, dt.date(2026, 12, 8), user, NOW,
                                              NOW.date(), app.registry.app_settings)
                session.flush()
                seconds = time.perf_counter() - started
                pages = len(PdfReader(io.BytesIO(batch.pdf)).pages)
                size = len(batch.pdf)
            print(f"[{args.backend}] {batch.letters} letters in {seconds:.1f} s "
                  f"({batch.letters / seconds:.0f} letters/s); PDF {pages} pages, "
                  f"{size / 1024 / 1024:.1f} MiB")
            record(f"letters: {batch.letters:,} in one batch ({args.backend})", seconds, 4.0,
                   unit="s", before=8.4)
            app.registry["db_engine"].dispose()
        finally:
            db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
