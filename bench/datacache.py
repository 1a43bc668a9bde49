"""Generated demo databases, reused within one ``make bench`` run.

Several benches load the same demo data (22,000 and 220,000 cases, seed
2026) into a fresh database, and generating it is most of a full run's
time. With ``INTRANET_BENCH_CACHE`` naming a directory (``make bench`` sets
one and drops the copies at the end), the first load of a size snapshots the
loaded, analyzed database — a template database on PostgreSQL (``CREATE
DATABASE … TEMPLATE``, statistics and visibility map included), a file copy
on SQLite — and later loads of that size restore the snapshot instead of
generating again. The key covers the backend, the size, the day (the data is
dated from today) and the code that shapes the data (demo generator, models,
migrations), so a changed generator never reuses stale data. Without the
variable nothing is cached (a bench run alone generates, as before).
"""
from __future__ import annotations

import datetime as dt
import glob
import hashlib
import os
import shutil
import sys

import sqlalchemy as sa

ENV = "INTRANET_BENCH_CACHE"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "intranet_benchcache_"
SHAPING_CODE = ("intranet/demo", "intranet/models", "intranet/taxes", "intranet/migrations/versions")


def _key(dialect: str, cases: int) -> str:
    digest = hashlib.sha256(f"{dialect}:{cases}:{dt.date.today()}".encode())
    for folder in SHAPING_CODE:
        for path in sorted(glob.glob(os.path.join(ROOT, folder, "*.py"))):
            digest.update(os.path.relpath(path, ROOT).encode())
            with open(path, "rb") as source:
                digest.update(source.read())
    return digest.hexdigest()[:16]


def _admin(url: sa.engine.URL) -> sa.engine.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _pg_exists(admin, name: str) -> bool:
    with admin.connect() as conn:
        return bool(conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}))


def _pg_copy(admin, source: str, target: str, replace: bool) -> None:
    with admin.connect() as conn:
        if replace:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))


def restored(engine: sa.engine.Engine, cases: int) -> bool:
    """Replace ``engine``'s (fresh, migrated) database by the snapshot of
    ``cases`` if there is one; True if it did."""
    folder = os.environ.get(ENV)
    if not folder:
        return False
    key, url = _key(engine.dialect.name, cases), engine.url
    engine.dispose()
    if engine.dialect.name == "postgresql":
        admin = _admin(url)
        try:
            if not _pg_exists(admin, PREFIX + key):
                return False
            _pg_copy(admin, PREFIX + key, url.database, replace=True)
        finally:
            admin.dispose()
    else:
        snapshot = os.path.join(folder, f"{key}.sqlite")
        if not os.path.exists(snapshot):
            return False
        shutil.copyfile(snapshot, url.database)
    print(f"(demo data of {cases} cases restored from this run's snapshot)", flush=True)
    return True


def save(engine: sa.engine.Engine, cases: int) -> None:
    """Snapshot ``engine``'s freshly loaded database for later loads of ``cases``."""
    folder = os.environ.get(ENV)
    if not folder:
        return
    key, url = _key(engine.dialect.name, cases), engine.url
    engine.dispose()
    if engine.dialect.name == "postgresql":
        admin = _admin(url)
        try:
            if not _pg_exists(admin, PREFIX + key):
                _pg_copy(admin, url.database, PREFIX + key, replace=False)
        finally:
            admin.dispose()
    else:
        os.makedirs(folder, exist_ok=True)
        shutil.copyfile(url.database, os.path.join(folder, f"{key}.sqlite"))


def drop_all(pg_url: str) -> int:
    """Drop every PostgreSQL snapshot (``make bench`` at its end)."""
    admin = _admin(sa.engine.make_url(pg_url))
    try:
        with admin.connect() as conn:
            names = conn.scalars(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                 {"p": PREFIX + "%"}).all()
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return len(names)
    finally:
        admin.dispose()


if __name__ == "__main__":
    url = os.environ.get("INTRANET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    try:
        print(f"bench snapshots dropped: {drop_all(url)}")
    except sa.exc.OperationalError as exc:   # no PostgreSQL here: nothing to drop
        print(f"bench snapshots: PostgreSQL not reachable ({exc.__class__.__name__})", file=sys.stderr)
