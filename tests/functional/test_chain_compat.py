"""Chains stored by the log writer recompute with the code of issue 21: every
entry's stored chain value equals the MAC of the reference canonical form
(tests/unit/audit/test_chain_compat.py, the code before issue 21) and the
new ``canonical``/``link``, and ``intranet audit verify``'s walk finds the
log intact."""
import datetime as dt

import sqlalchemy as sa

from intranet.audit import chain
from intranet.audit.verify import stored_rows
from intranet.models import AccessLogEntry
from tests.helpers import FORMULAS, HTML, synthetic_entry
from tests.unit.audit.test_chain_compat import reference_canonical, reference_link


def test_stored_chains_recompute_identically(wsgi_app, engine, testapp):
    testapp.get("/login", status="*")  # an entry written by the request tween
    rows = []
    for n, text in enumerate([*FORMULAS, HTML, "", "田中\u3000太郎", 'q"b\\s', "\x01ctl", "😀"]):
        fields, cases = synthetic_entry(dt.datetime(2026, 10, 2, 9, n), text or "login", text,
                                        path=f"/cases/{text}", detail='{"k": "' + str(n) + '"}',
                                        cases=[n + 1, n + 2])
        fields.update(user_agent=text, query=text, duration_us=-n, session_id=n)
        rows.append((fields, cases))
    key = wsgi_app.registry.access_log.key
    wsgi_app.registry.access_log.append(rows)
    with engine.connect() as conn:
        first = conn.scalar(sa.select(sa.func.min(AccessLogEntry.seq)))
        start = chain.GENESIS if first == 1 else conn.scalar(
            sa.select(AccessLogEntry.chain).where(AccessLogEntry.seq == first - 1))
        stored = list(stored_rows(conn, first - 1))
    assert len(stored) >= len(rows) + 1
    previous = start
    for entry, cases in stored:
        expected = reference_link(key, previous, reference_canonical(entry, cases))
        assert entry["chain"] == expected == chain.link(key, previous, chain.canonical(entry, cases))
        previous = entry["chain"]
    report = chain.verify(key, stored, start_seq=first - 1, start_chain=start)
    assert report.ok and report.checked == len(stored)
