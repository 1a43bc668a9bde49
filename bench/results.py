"""One table for ``make bench``: each bench records its goals here.

A bench calls :func:`record` for every goal it measures; the record is one
JSON line appended to the file named by ``INTRANET_BENCH_RESULTS`` (``make
bench`` sets it and empties it first; without it, nothing is written and the
bench only prints). ``python bench/results.py FILE`` prints the table: goal,
measured value, target, the ratio measured/target oriented so that >= 1.00
means the goal is met, and ``met`` / ``NOT met`` / ``—`` (no target: a
number reported for the record, e.g. appends per second per process count).
"""
from __future__ import annotations

import json
import os
import sys

ENV = "INTRANET_BENCH_RESULTS"


def record(goal: str, measured: float, target: float | None = None, *, unit: str = "",
           better: str = "lower", before: float | None = None) -> None:
    """Record ``measured`` for ``goal``. ``better`` says which way is good:
    ``"lower"`` (times, statements) or ``"higher"`` (rates, ratios)."""
    if better not in {"lower", "higher"}:
        raise ValueError(better)
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"goal": goal, "measured": measured, "target": target, "unit": unit,
                              "better": better, "before": before}, ensure_ascii=False) + "\n")


def score(row: dict) -> float | None:
    """measured/target oriented so that >= 1 is met (None without a target)."""
    target, measured = row["target"], row["measured"]
    if target is None:
        return None
    if row["better"] == "higher":
        return measured / target if target else float("inf")
    return target / measured if measured else float("inf")


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1f} %"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


def table(rows: list[dict]) -> str:
    lines = [f"{'goal':58} {'before':>14} {'measured':>14} {'target':>14} {'ratio':>6}  result",
             "-" * 118]
    for row in rows:
        ratio = score(row)
        verdict = "—" if ratio is None else "met" if ratio >= 1 else "NOT met"
        sign = "" if row["target"] is None else ("≥ " if row["better"] == "higher" else "≤ ")
        lines.append(f"{row['goal'][:58]:58} {_number(row.get('before'), row['unit']):>14} "
                     f"{_number(row['measured'], row['unit']):>14} "
                     f"{sign + _number(row['target'], row['unit']):>14} "
                     f"{'' if ratio is None else f'{ratio:.2f}':>6}  {verdict}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else os.environ.get(ENV, "")
    if not path or not os.path.exists(path):
        print("no bench results recorded", file=sys.stderr)
        return 1
    with open(path, encoding="utf-8") as source:
        rows = [json.loads(line) for line in source if line.strip()]
    print("\nmake bench: every goal of issue 21, measured in this run\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
