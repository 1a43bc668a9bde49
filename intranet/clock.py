"""The application's clock. Everything time-dependent (sessions, lockouts,
validity windows, campaign periods) reads ``request.now``/``registry.clock``,
so tests can move time without sleeping."""
import datetime as dt

JST = dt.timezone(dt.timedelta(hours=9), "JST")


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
    """A naive JST wall-clock time (as ward files write it) as stored naive UTC."""
    return value - dt.timedelta(hours=9)


def includeme(config):
    config.registry.clock = SystemClock()
    config.add_request_method(lambda request: request.registry.clock.now(), "now", reify=True)
    config.add_request_method(lambda request: request.registry.clock.today(), "today", reify=True)
