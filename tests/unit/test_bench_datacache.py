"""``make bench``'s snapshots of generated demo data (bench/datacache.py):
a later load of the same size gets exactly the first load's rows, and
nothing is cached outside ``make bench``. Both backends."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, _new_database

BENCH = Path(__file__).resolve().parents[2] / "bench"
_spec = importlib.util.spec_from_file_location("bench_datacache", BENCH / "datacache.py")
datacache = importlib.util.module_from_spec(_spec)
sys.modules["bench_datacache"] = datacache
_spec.loader.exec_module(datacache)


def _rows(engine):
    with engine.connect() as conn:
        return conn.scalars(sa.text("SELECT name FROM organisations ORDER BY name")).all()


def _insert(engine, name):
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO organisations (code, name, kind) VALUES (:c, :n, 'ward')"),
                     {"c": name, "n": name})


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_a_second_load_of_the_same_size_restores_the_first(backend, tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv(datacache.ENV, str(tmp_path / "cache"))
    with _new_database(backend, tmp_path_factory) as first, _new_database(backend, tmp_path_factory) as second:
        loaded = sa.create_engine(first["sqlalchemy.url"])
        fresh = sa.create_engine(second["sqlalchemy.url"])
        try:
            assert not datacache.restored(loaded, 7)      # nothing saved yet
            _insert(loaded, "generated")
            datacache.save(loaded, 7)
            _insert(loaded, "changed after the snapshot")  # a bench's own work is not saved
            assert not datacache.restored(fresh, 8)       # another size: not this snapshot
            assert _rows(fresh) == []
            assert datacache.restored(fresh, 7)
            assert _rows(fresh) == ["generated"]
        finally:
            loaded.dispose()
            fresh.dispose()
            if backend == "postgresql":   # this test's snapshot only
                admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{datacache.PREFIX}'
                                         f'{datacache._key("postgresql", 7)}" WITH (FORCE)'))
                admin.dispose()


def test_without_make_bench_nothing_is_cached(tmp_path, monkeypatch):
    monkeypatch.delenv(datacache.ENV, raising=False)
    engine = sa.create_engine(f"sqlite:///{tmp_path}/x.sqlite")
    datacache.save(engine, 7)
    assert not datacache.restored(engine, 7)
    assert list(tmp_path.iterdir()) == []
