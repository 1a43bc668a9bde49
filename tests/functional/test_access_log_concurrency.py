"""Concurrent requests never fork or lose the chain (SQLite and PostgreSQL)."""
import threading

import webtest

from intranet.audit.verify import verify_database
from intranet.models import Role
from tests import factories
from tests.functional.test_access_log import KEY
from tests.helpers import entries_since, log_mark, log_now, login

THREADS = 8
REQUESTS = 12


def test_concurrent_requests_each_get_one_entry_and_the_chain_verifies(
        wsgi_app, clock, dbsession, engine, password_context):
    factories.user(dbsession, password_context, Role.collector, login="c1")
    for i in range(5):
        factories.case(dbsession, name=f"並行 {i}")
    dbsession.commit()
    clients = []
    for n in range(THREADS):
        client = webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": f"10.1.0.{n}"})
        login(client, "c1")
        clients.append(client)
    mark = log_mark(engine)
    start = threading.Barrier(THREADS)
    failures = []

    def work(client):
        start.wait()
        for i in range(REQUESTS):
            path = "/cases/" if i % 2 else "/"
            res = client.get(path, status="*")
            if res.status_code != 200:
                failures.append(res.status)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    entries = entries_since(engine, mark, kind="request")
    assert len(entries) == THREADS * REQUESTS
    per_client = {}
    for e in entries:
        per_client[e.client_addr] = per_client.get(e.client_addr, 0) + 1
    assert per_client == {f"10.1.0.{n}": REQUESTS for n in range(THREADS)}
    assert sum(e.case_count for e in entries) == THREADS * (REQUESTS // 2) * 5
    with engine.connect() as conn:
        result = verify_database(conn, KEY, now=log_now())
    assert result.ok, str(result)
