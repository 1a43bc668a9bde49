"""``intranet plans refresh <ini>``: the daily run (cron) that sets every
active installment plan's state from the receipts, so a plan whose payment
was not made by its due day plus the grace days becomes 不履行 even on a day
without a data-link import (intranet.cases.plans)."""
from __future__ import annotations

import getpass
import json
import uuid

import transaction

from ..clock import SystemClock
from ..config import parse_settings
from .common import ini_settings, tm_session


def refresh(args) -> int:
    from ..audit import chain
    from ..config import hmac_key
    from ..audit.events import AuditEvent
    from ..audit.writer import AccessLogWriter
    from ..cases import plans
    from ..models import PlanState
    from ..db import get_engine

    settings = ini_settings(args.ini)
    key = hmac_key(settings)  # the changes are logged: no key, no change
    grace = parse_settings(settings).cases.plan_grace_days
    clock = SystemClock()
    with transaction.manager:
        dbsession = tm_session(settings)
        changes = plans.refresh(dbsession, clock.today(), grace)
    entries = []
    for change in changes:
        fields = {name: None for name in chain.FIELDS if name != "seq"}
        event = (AuditEvent.PlanDefaulted if change.after == PlanState.defaulted
                 else AuditEvent.PlanStateChanged)
        fields.update(kind="event", event=event, occurred_at=clock.now(),
                      request_id=uuid.uuid4().hex, outcome="success", case_count=0,
                      view_name="intranet plans refresh",
                      detail=json.dumps({"case": change.case_no, "plan": change.plan_id,
                                         "before": str(change.before), "after": str(change.after),
                                         "os_user": getpass.getuser()}, sort_keys=True))
        entries.append((fields, []))
    if entries:
        engine = get_engine(settings)
        try:
            AccessLogWriter(engine, key).append(entries)
        finally:
            engine.dispose()
    defaulted = sum(1 for c in changes if c.after == PlanState.defaulted)
    print(f"installment plans changed: {len(changes)} ({defaulted} defaulted)")
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("plans", help="installment plans (分納・納付誓約)")
    plans_sub = s.add_subparsers(dest="plans_command", required=True)
    r = plans_sub.add_parser("refresh", help="set every active plan's state from the receipts "
                             "(daily, from cron; also done after every import)")
    r.add_argument("ini")
    r.set_defaults(func=refresh)
