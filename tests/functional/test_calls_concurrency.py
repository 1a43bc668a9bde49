"""Operators asking for the next call at the same moment never get the same
person (real threads; PostgreSQL uses FOR UPDATE SKIP LOCKED)."""
import threading

import webtest

from intranet.models import CallCampaign, CampaignStatus, Role
from intranet.calls import campaigns
from tests import factories
from tests.functional.test_calls import target_id
from tests.helpers import csrf_token, login

OPERATORS = 8
ROUNDS = 3


def test_concurrent_next_calls_lease_distinct_targets(wsgi_app, clock, dbsession, password_context,
                                                      monkeypatch):
    import datetime as dt

    for n in range(OPERATORS * ROUNDS + 5):
        factories.owed_case(dbsession, name=f"並行 {n}", phone=f"03-7777-{n:04d}", amount=10000 + n)
    for n in range(OPERATORS):
        factories.user(dbsession, password_context, Role.operator, login=f"op{n}")
    campaign = CallCampaign(name="並行", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    dbsession.commit()

    # Eight simultaneous writers on SQLite queue for its one write lock; on a
    # loaded 2-core CI machine the last could wait past the access log's 5 s
    # write timeout and get the (correct, fail-closed) 503. This test is
    # about leasing, not that timeout (test_access_log_timeouts.py covers it).
    monkeypatch.setattr(wsgi_app.registry.access_log, "timeout_ms", 60_000)  # this test only
    clients = []
    for n in range(OPERATORS):
        client = webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": f"10.2.0.{n}"})
        login(client, f"op{n}")
        clients.append((client, csrf_token(client, "/calls/")))
    leased, errors = [], []
    # A timeout, so that one failing thread fails the test instead of
    # leaving the others waiting at the barrier for ever.
    barrier = threading.Barrier(OPERATORS, timeout=60)

    def work(client, token):
        try:
            _rounds(client, token)
        except Exception as exc:  # noqa: BLE001 - reported through errors
            errors.append(f"{type(exc).__name__}: {exc}")
            barrier.abort()

    def _rounds(client, token):
        for _ in range(ROUNDS):
            barrier.wait()
            res = client.post("/calls/next", {"csrf_token": token}, status="*")
            tid = target_id(res) if res.status_code == 303 else None
            if tid is None:
                errors.append(res.status)
                continue
            leased.append(tid)
            barrier.wait()
            res = client.post(f"/calls/targets/{tid}/result",
                              {"csrf_token": token, "disposition": "no_answer"}, status="*")
            if res.status_code != 303:
                errors.append(res.status)

    threads = [threading.Thread(target=work, args=c) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(leased) == OPERATORS * ROUNDS
    assert len(set(leased)) == len(leased)
