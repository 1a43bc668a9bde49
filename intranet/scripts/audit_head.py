"""``intranet audit accept-head``: the documented recovery after the log's
head went backwards (docs/audit.md, "No silent rollback").

A running application that finds the stored head behind the newest entry it
wrote refuses every request (503) until the log reaches that entry again or
an operator accepts the head as it now stands. This command records that
decision in the log itself: an ``audit.head.accepted`` event, chained under
the key (so nobody without the key can forge one), naming the head accepted,
the newest stored entry, the operating-system user and the reason. Refusing
processes then append ``audit.head.rollback`` and serve again.
"""
from __future__ import annotations

import getpass
import json
import sys
import uuid

from sqlalchemy import select

from ..audit.chain import FIELDS
from ..audit.events import AuditEvent
from ..audit.writer import AccessLogWriter
from ..clock import SystemClock
from ..config import audit_settings, hmac_key
from ..db import get_engine
from ..models import AccessLogEntry, AccessLogHead
from .common import ini_settings

REASON_MAX = 200


def accept_head(args) -> int:

    reason = " ".join(args.reason.split())
    if not reason:
        print("--reason must say why the head is accepted / 承認の理由を入力してください",
              file=sys.stderr)
        return 2
    settings = ini_settings(args.ini)
    key = hmac_key(settings)
    engine = get_engine(settings)
    try:
        with engine.connect() as conn:
            head_seq, head_chain = conn.execute(select(AccessLogHead.seq, AccessLogHead.chain)).one()
            newest = conn.execute(select(AccessLogEntry.seq, AccessLogEntry.chain)
                                  .order_by(AccessLogEntry.seq.desc()).limit(1)).first()
        detail = {"head_seq": head_seq, "head_chain": head_chain,
                  "newest_entry_seq": newest.seq if newest else None,
                  "newest_entry_matches_head": bool(newest) and tuple(newest) == (head_seq, head_chain),
                  "os_user": getpass.getuser(), "reason": reason[:REASON_MAX]}
        fields = {name: None for name in FIELDS if name != "seq"}
        fields.update(kind="event", event=AuditEvent.AuditHeadAccepted, occurred_at=SystemClock().now(),
                      request_id=uuid.uuid4().hex, outcome="success", case_count=0,
                      view_name="intranet audit accept-head",
                      detail=json.dumps(detail, ensure_ascii=False, sort_keys=True))
        writer = AccessLogWriter(engine, key, timeout=audit_settings(settings).write_timeout)
        seq, _ = writer.append([(fields, [])])
    finally:
        engine.dispose()
    if not detail["newest_entry_matches_head"]:
        print(f"warning: the newest entry (seq {detail['newest_entry_seq']}) is not the head "
              f"(seq {head_seq}); run `intranet audit verify` / 最新の記録と末尾が一致しません",
              file=sys.stderr)
    print(f"accepted the head at seq {head_seq}: audit.head.accepted is entry {seq}; refusing "
          "processes log audit.head.rollback and serve again at their next request")
    return 0


def add_parser(commands) -> None:
    s = commands.add_parser(
        "accept-head", help="after a head rollback: accept the log's head as it stands "
                            "(recorded in the log; refusing processes serve again)")
    s.add_argument("ini")
    s.add_argument("--reason", required=True, help="why (recorded in the log, at most 200 characters)")
    s.set_defaults(func=accept_head)
