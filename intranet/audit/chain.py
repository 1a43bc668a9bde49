"""The keyed hash chain over access-log entries, and its verification.

``chain(n) = HMAC-SHA256(key, chain(n-1) || canonical(entry n))`` with
``chain(0) = GENESIS``. The canonical content covers every stored field of
the entry (its sequence number included) and the cases it disclosed, in order.
Because the key lives outside the database (ini/environment), someone with
full database access who edits a row cannot recompute a valid chain: editing,
deleting, reordering or inserting entries breaks it at that sequence number.
Removing the newest entries is caught against a checkpoint kept outside the
database (:mod:`intranet.audit.checkpoints`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Iterable

GENESIS = "0" * 64

#: The entry fields in the canonical content (every column but ``chain``).
FIELDS = (
    "seq", "kind", "event", "occurred_at", "request_id", "user_id", "login", "roles",
    "organisation", "session_id", "client_addr", "user_agent", "method", "path", "query",
    "view_name", "context_type", "context_id", "permission", "outcome", "status",
    "duration_us", "facets", "case_count", "detail",
)


def _value(value):
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    return value


def canonical(entry: dict, cases: Iterable[tuple[int, str]]) -> bytes:
    """The bytes the chain covers: ``entry`` (a mapping of :data:`FIELDS`) and
    its disclosed ``(case_id, case_no)`` pairs in order."""
    content = {name: _value(entry.get(name)) for name in FIELDS}
    content["cases"] = [[int(case_id), str(case_no)] for case_id, case_no in cases]
    return json.dumps(content, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def link(key: bytes, previous: str, content: bytes) -> str:
    """The chain value of an entry whose predecessor's chain is ``previous``."""
    return hmac.new(key, previous.encode("ascii") + b"\n" + content, hashlib.sha256).hexdigest()


def seal(key: bytes, kind: str, *fields) -> str:
    """A MAC under the log key over a record that vouches for the chain (a
    checkpoint, an archive cut): ``kind`` and ``fields`` in order, datetimes
    as ISO text. Someone without the key cannot make or alter one."""
    content = json.dumps([kind, *[_value(f) for f in fields]], ensure_ascii=False,
                         separators=(",", ":"))
    return hmac.new(key, b"seal\n" + content.encode("utf-8"), hashlib.sha256).hexdigest()


def seal_ok(key: bytes, mac: str | None, kind: str, *fields) -> bool:
    return bool(mac) and hmac.compare_digest(mac, seal(key, kind, *fields))


@dataclass
class Verification:
    ok: bool
    checked: int              # entries whose chain was recomputed
    last_seq: int             # the last sequence number that verified
    last_chain: str
    broken_seq: int | None = None
    reason: str | None = None  # message key (intranet.messages), also readable English

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.checked} entries verified, last seq {self.last_seq}"
        return f"BROKEN at seq {self.broken_seq}: {self.reason} ({self.checked} entries verified before)"


def verify(key: bytes, rows: Iterable[tuple[dict, list]], *, start_seq: int = 0,
           start_chain: str = GENESIS, checkpoints: dict[int, str] | None = None,
           expect_through: int | None = None) -> Verification:
    """Walk ``rows`` (``(entry, cases)`` in sequence order) from the entry after
    ``start_seq`` whose predecessor's chain is ``start_chain``.

    ``checkpoints`` maps sequence numbers to chain values recorded elsewhere;
    each must match. ``expect_through``: the log must reach at least this
    sequence number (the newest checkpoint), else entries were removed."""
    checkpoints = dict(checkpoints or {})
    expected_seq, previous, checked = start_seq + 1, start_chain, 0
    for entry, cases in rows:
        seq = entry["seq"]
        if seq != expected_seq:
            reason = "audit.verify.duplicate" if seq < expected_seq else "audit.verify.gap"
            return Verification(False, checked, expected_seq - 1, previous,
                                broken_seq=expected_seq if seq > expected_seq else seq, reason=reason)
        value = link(key, previous, canonical(entry, cases))
        if not hmac.compare_digest(value, entry["chain"] or ""):
            return Verification(False, checked, seq - 1, previous, broken_seq=seq,
                                reason="audit.verify.mismatch")
        if seq in checkpoints and not hmac.compare_digest(checkpoints.pop(seq), value):
            return Verification(False, checked, seq - 1, previous, broken_seq=seq,
                                reason="audit.verify.checkpoint_mismatch")
        previous, expected_seq, checked = value, seq + 1, checked + 1
    last = expected_seq - 1
    through = max([expect_through or 0, *[s for s in checkpoints if s > start_seq]], default=0)
    if through > last:
        return Verification(False, checked, last, previous, broken_seq=last + 1,
                            reason="audit.verify.truncated")
    return Verification(True, checked, last, previous)
