"""The application's clock. Everything time-dependent (sessions, lockouts,
validity windows, campaign periods) reads ``request.now``/``registry.clock``,
so tests can move time without sleeping."""
import datetime as dt

#: Japan has no daylight saving time: JST is always UTC+9. Timestamps are
#: stored as naive UTC; business dates and wall-clock times are JST. Every
#: conversion goes through the helpers below (never a literal offset).
JST_OFFSET = dt.timedelta(hours=9)
JST = dt.timezone(JST_OFFSET, "JST")


class SystemClock:
    def now(self) -> dt.datetime:
        """Current time as naive UTC (how every timestamp is stored)."""
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)

    def today(self) -> dt.date:
        """Today's date in Japan, for business dates (campaign periods, due dates)."""
        return to_jst(self.now()).date()


def to_jst(value: dt.datetime) -> dt.datetime:
    """A stored naive-UTC datetime as an aware JST datetime for display."""
    return value.replace(tzinfo=dt.UTC).astimezone(JST)


def from_jst(value: dt.datetime) -> dt.datetime:
    """A naive JST wall-clock time (as ward files and forms write it) as stored naive UTC."""
    return value - JST_OFFSET


def jst_wall(value: dt.datetime) -> dt.datetime:
    """A stored naive-UTC datetime as a naive JST wall-clock time."""
    return value + JST_OFFSET


def jst_date(value: dt.datetime) -> dt.date:
    """The JST calendar day of a stored naive-UTC datetime."""
    return (value + JST_OFFSET).date()


def jst_midnight(day: dt.date) -> dt.datetime:
    """Midnight JST at the start of ``day``, as stored naive UTC."""
    return dt.datetime.combine(day, dt.time()) - JST_OFFSET


def jst_day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[midnight JST of ``first``, midnight JST after ``last``) as naive UTC:
    the stored-time range of a span of JST days, both included."""
    return jst_midnight(first), jst_midnight(last + dt.timedelta(days=1))


def includeme(config):
    config.registry.clock = SystemClock()
    config.add_request_method(lambda request: request.registry.clock.now(), "now", reify=True)
    config.add_request_method(lambda request: request.registry.clock.today(), "today", reify=True)
