"""Time zone helpers (intranet.clock): stored times are naive UTC, business
days and wall-clock times JST (UTC+9 all year: Japan has no daylight saving
time). Issue 21 asks for one set of helpers used everywhere."""
import datetime as dt
import pathlib
import re

from intranet import clock

PACKAGE = pathlib.Path(clock.__file__).parent


def test_midnight_and_day_bounds():
    assert clock.jst_midnight(dt.date(2026, 12, 1)) == dt.datetime(2026, 11, 30, 15)
    assert clock.jst_day_bounds(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == (
        dt.datetime(2026, 10, 31, 15), dt.datetime(2026, 11, 30, 15))


def test_wall_time_and_date_round_trip():
    stored = dt.datetime(2026, 11, 30, 16, 30)          # 01:30 on 1 December in Tokyo
    assert clock.jst_wall(stored) == dt.datetime(2026, 12, 1, 1, 30)
    assert clock.jst_date(stored) == dt.date(2026, 12, 1)
    assert clock.from_jst(clock.jst_wall(stored)) == stored
    assert clock.to_jst(stored).utcoffset() == dt.timedelta(hours=9)


#: Modules that must run without the rest of the package, hence without
#: intranet.clock: the package verifier is also the single-file script an
#: inspector runs (docs/verify_inspection_package.py, issue 22); migrations
#: are frozen as of their day and import no application code.
STANDALONE = {"audit/package_verifier.py"}
FROZEN = "migrations/"


def test_no_module_writes_the_offset_itself():
    """Only intranet/clock.py knows that JST is UTC+9."""
    literal = re.compile(r"timedelta\(\s*hours\s*=\s*9\s*\)")
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if p.name != "clock.py" and not str(p.relative_to(PACKAGE)).startswith(FROZEN)
                 and literal.search(p.read_text(encoding="utf-8"))]
    assert set(offenders) <= STANDALONE
