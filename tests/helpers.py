"""WebTest helpers."""
import contextlib

from tests.factories import PASSWORD


def login(testapp, login: str, password: str = PASSWORD, next_url: str | None = None, status="*"):
    page = testapp.get("/login" + (f"?next={next_url}" if next_url else ""))
    form = page.forms["login-form"]
    form["login"] = login
    form["password"] = password
    return form.submit(status=status)


def csrf_token(testapp, path="/"):
    page = testapp.get(path)
    return page.html.find("input", {"name": "csrf_token"})["value"]


def log_now():
    """The present of the test session's shared access log, for verifying it
    whole: the real time or the latest a test clock reached, whichever is
    later (a test that moved the app's clock ahead left checkpoints dated
    then; verified against the real clock they would read as forged)."""
    from intranet.clock import SystemClock
    from tests.conftest import FrozenClock

    now = SystemClock().now()
    return max(now, FrozenClock.furthest) if FrozenClock.furthest else now


def log_mark(engine) -> int:
    """The access log's last sequence number (entries after it are a test's own)."""
    import sqlalchemy as sa

    from intranet.models import AccessLogHead

    with engine.connect() as conn:
        return conn.scalar(sa.select(AccessLogHead.seq))


def entries_since(engine, mark: int, kind: str | None = None):
    """Access-log entries after ``mark``, in order, with their disclosed cases loaded."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session, selectinload

    from intranet.models import AccessLogEntry

    query = (sa.select(AccessLogEntry).where(AccessLogEntry.seq > mark)
             .options(selectinload(AccessLogEntry.cases)).order_by(AccessLogEntry.seq))
    if kind:
        query = query.where(AccessLogEntry.kind == kind)
    with Session(engine) as session:
        entries = list(session.scalars(query))
        session.expunge_all()
    return entries


def synthetic_entry(at_jst, login, organisation, *, kind="request", event=None, outcome="allowed",
                    cases=(), detail=None, path="/cases/", roles="operator"):
    """An access-log row as the tweens would write it, for appending through
    ``registry.access_log`` (the real writer and chain) at a chosen JST time."""
    import datetime as dt
    import uuid

    from intranet.audit.chain import FIELDS

    fields = {name: None for name in FIELDS if name != "seq"}
    fields.update(kind=kind, event=event, occurred_at=at_jst - dt.timedelta(hours=9),
                  request_id=uuid.uuid4().hex, login=login, roles=roles,
                  organisation=organisation, method="GET" if kind == "request" else None,
                  path=path, outcome=outcome, status=200 if kind == "request" else None,
                  case_count=len(cases), detail=detail)
    # Year 9999: never the number of a case another test created (the log is shared).
    return fields, [(case_id, f"9999-{case_id:06d}") for case_id in cases]


#: Text an outsourced user could plant to run in ward staff's spreadsheets
#: (OWASP "CSV Injection"), and HTML that must come out as plain text.
FORMULAS = ['=HYPERLINK("http://x","y")', "=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "＝1+2"]
HTML = "<script>alert(1)</script>"


def xlsx_formulas(data: bytes) -> list[str]:
    """The worksheets of an .xlsx holding a formula (``<f>`` element)."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert sheets
        return [n for n in sheets if b"<f>" in archive.read(n) or b"<f " in archive.read(n)]


#: The tables of the access log, whose triggers refuse changes.
LOG_TABLES = ("access_log", "access_log_cases", "access_log_checkpoints", "access_log_archives")
#: The Merkle tree's append-only tables (issue 22).
TREE_TABLES = ("access_log_leaves", "access_log_tree_nodes")
#: The public key of tests/conftest.py's ``intranet.audit.signing_key``.
TEST_PUBLIC_KEY = "intranet-test+1272cb19+ASD0gThrnV4xPnR8IO/xW64fAc2DYGr0g8alICrTcmFj"


def trusted_test_keys():
    """A key ring trusting only :data:`TEST_PUBLIC_KEY`."""
    from intranet.audit.signed_note import KeyRing

    ring = KeyRing()
    ring.add(TEST_PUBLIC_KEY)
    return ring


def drop_log_guards(conn, *tables):
    """What a database administrator can do to the append-only guard: drop
    every trigger on ``tables`` (default: all of :data:`LOG_TABLES`),
    whatever the migrations named them."""
    import sqlalchemy as sa

    for table in tables or LOG_TABLES:
        if conn.dialect.name == "postgresql":
            names = conn.scalars(sa.text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) "
                "AND NOT tgisinternal"), {"t": table}).all()
            for name in names:
                conn.execute(sa.text(f'DROP TRIGGER "{name}" ON {table}'))
        else:
            names = conn.scalars(sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                {"t": table}).all()
            for name in names:
                conn.execute(sa.text(f'DROP TRIGGER "{name}"'))


def run_jobs(testapp_or_app) -> list[int]:
    """Run every queued background job now, in this process, as the worker
    would (issue 21): tests need no worker process. Returns the job ids."""
    from intranet.db import get_session_factory
    from intranet.jobs import run_pending

    app = getattr(testapp_or_app, "app", testapp_or_app)
    registry = app.registry
    return run_pending(get_session_factory(registry["db_engine"]), access_log=registry.access_log,
                       clock=registry.clock)


@contextlib.contextmanager
def counting(engine):
    """The SQL statements ``engine`` runs inside the block (a list, filled as they run)."""
    import sqlalchemy as sa

    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def with_settings(app_settings, area: str, **changes):
    """``app_settings`` (intranet.config.AppSettings) with fields of one area
    changed, e.g. ``with_settings(s, "webauthn", origin=...)``: the settings
    object is frozen, tests replace it instead of mutating the ini dict."""
    import dataclasses

    return dataclasses.replace(app_settings, **{
        area: dataclasses.replace(getattr(app_settings, area), **changes)})


@contextlib.contextmanager
def swapped_settings(app, area: str, **changes):
    """The running ``app`` with one area of its typed settings changed for the
    block (requests read ``registry.app_settings`` afresh each time)."""
    original = app.registry.app_settings
    app.registry.app_settings = with_settings(original, area, **changes)
    try:
        yield app.registry.app_settings
    finally:
        app.registry.app_settings = original


def typed_settings(**raw):
    """The typed settings of the test ini plus ``raw`` (name → text)."""
    from intranet.config import parse_settings
    from tests.conftest import TEST_SETTINGS

    return parse_settings({**TEST_SETTINGS, **raw})


#: The client address of the monitoring network in the tests (TEST_SETTINGS'
#: ``intranet.zones.monitoring``).
MONITORING_ADDR = "192.0.2.10"


def healthz(testapp, status="*"):
    """``/healthz`` as the monitoring network asks for it."""
    return testapp.get("/healthz", extra_environ={"REMOTE_ADDR": MONITORING_ADDR}, status=status)
