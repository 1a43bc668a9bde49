"""``intranet late-charge``: the late-charge calculator for staff (no database)."""
from __future__ import annotations

import datetime as dt
import json
import sys

from ..taxes.latecharge import late_charge
from ..taxes.rates import UnknownRate


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _partial(value: str) -> tuple[dt.date, int]:
    day, _, amount = value.partition(":")
    return dt.date.fromisoformat(day), int(amount)


def run(args) -> int:
    try:
        result = late_charge(args.tax, args.due, args.paid, partials=args.partial or (),
                             floor_segments=not args.no_floor_segments)
    except (ValueError, UnknownRate) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**result.as_dict(), "tax": args.tax, "tax_type": args.tax_type},
                         ensure_ascii=False))
        return 0
    print(f"本税 {args.tax:,}円  納期限 {result.due}  納付日 {result.until}")
    for s in result.segments:
        print(f"  {s.start} – {s.end}  {s.days:>4}日  {s.base:>12,}円 × {s.rate}% × {s.days}/365"
              f" = {s.amount:,}円")
    print(f"延滞金 {result.amount:,}円")
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("late-charge", help="compute a late charge (延滞金) and its breakdown")
    s.add_argument("--tax", type=int, required=True, help="本税 in yen")
    s.add_argument("--due", type=_date, required=True, help="納期限 YYYY-MM-DD (shifted to a business day)")
    s.add_argument("--paid", type=_date, required=True, help="納付日 (or the as-of date) YYYY-MM-DD")
    s.add_argument("--tax-type", choices=["resident", "light_vehicle"], default="resident")
    s.add_argument("--partial", type=_partial, action="append", metavar="YYYY-MM-DD:AMOUNT",
                   help="an earlier partial payment (repeatable)")
    s.add_argument("--no-floor-segments", action="store_true",
                   help="sum the exact segment amounts before cutting to the 100 yen")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=run)
