"""The ``make bench`` table: which way a goal is met, and what is written."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "bench_results", Path(__file__).resolve().parents[2] / "bench" / "results.py")
results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results)


def row(measured, target, better):
    return {"goal": "g", "measured": measured, "target": target, "unit": "ms", "better": better}


def test_a_time_under_its_target_is_met_and_over_it_is_not():
    assert results.score(row(4.0, 8.0, "lower")) == pytest.approx(2.0)
    assert results.score(row(16.0, 8.0, "lower")) == pytest.approx(0.5)


def test_a_rate_above_its_target_is_met_and_below_it_is_not():
    assert results.score(row(30_000, 20_000, "higher")) == pytest.approx(1.5)
    assert results.score(row(10_000, 20_000, "higher")) == pytest.approx(0.5)


def test_the_table_says_met_not_met_or_no_target(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    monkeypatch.setenv(results.ENV, str(path))
    results.record("case page median", 12.0, 8.0, unit="ms", before=60.0)
    results.record("export rate", 25_000, 20_000, unit="entries/s", better="higher")
    results.record("appends/s, 2 processes", 900, unit="/s", better="higher")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    lines = results.table(rows).splitlines()[2:]
    assert lines[0].rstrip().endswith("NOT met") and "60 ms" in lines[0]
    assert lines[1].rstrip().endswith(" met") and "NOT" not in lines[1]
    assert lines[2].rstrip().endswith("—")


def test_without_the_environment_variable_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(results.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    results.record("x", 1.0, 2.0)
    assert list(tmp_path.iterdir()) == []
