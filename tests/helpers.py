"""WebTest helpers."""
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
