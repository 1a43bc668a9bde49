"""The keyed hash chain over access-log entries, and its verification.

``chain(n) = HMAC-SHA256(key, chain(n-1) || canonical(entry n))`` with
``chain(0) = GENESIS``. The canonical content covers every stored field of
the entry (its sequence number included) and the cases it disclosed, in order.
Because the key lives outside the database (ini/environment), someone with
full database access who edits a row cannot recompute a valid chain: editing,
deleting, reordering or inserting entries breaks it at that sequence number.
Removing the newest entries is caught against a checkpoint kept outside the
database (:mod:`intranet.audit.checkpoints`).

:class:`Walker` verifies entries one at a time and reports *every* break it
finds (:class:`Finding`, collected in a :class:`Report`), never an intact
entry; :mod:`intranet.audit.verify` decides which checkpoints and archive
cuts may be trusted.
"""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
import sys
from collections import deque
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Iterable, Mapping

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


#: The content's keys in the order ``json.dumps(sort_keys=True)`` writes
#: them, and one encoder made once: :func:`canonical` builds its mapping in
#: that order, so it writes the same bytes as ``json.dumps(content,
#: ensure_ascii=False, sort_keys=True, separators=(",", ":"))`` did, about
#: twice as fast (issue 21; tests/unit/audit/test_chain_compat.py).
SORTED = _SORTED = tuple(sorted((*FIELDS, "cases")))
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_DATETIME = dt.datetime


def canonical(entry: dict, cases: Iterable[tuple[int, str]]) -> bytes:
    """The bytes the chain covers: ``entry`` (a mapping of :data:`FIELDS`) and
    its disclosed ``(case_id, case_no)`` pairs in order: their JSON with
    sorted keys, no spaces, non-ASCII as UTF-8, datetimes as ISO text to the
    microsecond."""
    values = tuple(map(entry.get, FIELDS))
    fill = _FILLS.get(tuple(map(type, values)))
    if fill is None:
        fill = _fill_for(tuple(map(type, values)))
    if fill:
        return fill(values, cases_json(cases)).encode("utf-8")
    cases = [[int(case_id), str(case_no)] for case_id, case_no in cases]
    get = entry.get
    content = dict.fromkeys(_SORTED)
    for name in FIELDS:
        value = get(name)
        content[name] = (value.isoformat(timespec="microseconds")
                         if isinstance(value, _DATETIME) else value)
    content["cases"] = cases
    return _ENCODE(content).encode("utf-8")


#: One straight-line function per combination of the fields' exact types
#: (an entry's "shape": which fields are NULL, text, numbers, a time), made
#: the first time it is met: the JSON text of the content written by one
#: %-template in :data:`SORTED` order, NULLs written into the template, each
#: text through the C function the JSON encoder itself uses for strings, each
#: number as the encoder writes an ``int`` (``int.__repr__``), the time as its
#: ISO text (digits and ``-:T.+`` only, which JSON writes as they are). The
#: same bytes as the encoder's (tests/unit/audit/test_chain_compat.py); any
#: other type (bool, float, a subclass such as an enum) takes the encoder
#: (``False`` in the cache). Issue 21: about three times faster.
_FILLS: dict = {}
_SIMPLE = {type(None), int, str, _DATETIME}
_int_repr, _string = int.__repr__, encode_basestring


def _fill_for(types: tuple):
    if len(_FILLS) > 4096:  # (a bound; entries have a handful of shapes)
        _FILLS.clear()
    if not set(types) <= _SIMPLE:
        _FILLS[types] = False
        return False
    kinds = dict(zip(FIELDS, types))
    parts, args = [], []
    for name in _SORTED:
        if name == "cases":
            parts.append('"cases":%s')
            args.append("cases")
            continue
        kind, n = kinds[name], FIELDS.index(name)
        if kind is type(None):
            parts.append(f'"{name}":null')
        elif kind is int:
            parts.append(f'"{name}":%s')
            args.append(f"_int_repr(v[{n}])")
        elif kind is str:
            parts.append(f'"{name}":%s')
            args.append(f"_string(v[{n}])")
        else:
            parts.append(f'"{name}":"%s"')
            args.append(f"v[{n}].isoformat(timespec='microseconds')")
    template = "{" + ",".join(parts) + "}"
    source = f"def fill(v, cases):\n    return _template % ({', '.join(args)},)\n"
    scope = {"_template": template, "_int_repr": int.__repr__, "_string": encode_basestring}
    exec(compile(source, "<canonical>", "exec"), scope)  # noqa: S102 (field names and indexes only)
    _FILLS[types] = scope["fill"]
    return scope["fill"]


def cases_json(cases: Iterable[tuple[int, str]]) -> str:
    """The JSON text of ``[[int(case_id), str(case_no)], ...]`` as the
    content's encoder writes it, without making an encoder for it."""
    return "[" + ",".join([f"[{_int_repr(int(case_id))},{_string(str(case_no))}]"
                           for case_id, case_no in cases]) + "]"


def encode(content: dict) -> bytes:
    """:func:`canonical` of a mapping already in that form: made by
    ``dict.fromkeys(SORTED)``, datetimes as their text, ``cases`` as lists."""
    return _ENCODE(content).encode("utf-8")


def link(key: bytes, previous: str, content: bytes) -> str:
    """The chain value of an entry whose predecessor's chain is ``previous``:
    HMAC-SHA256 (one call into OpenSSL, ``hmac.digest``)."""
    return hmac.digest(key, previous.encode("ascii") + b"\n" + content, "sha256").hex()


def seal(key: bytes, kind: str, *fields) -> str:
    """A MAC under the log key over a record that vouches for the chain (a
    checkpoint, an archive cut): ``kind`` and ``fields`` in order, datetimes
    as ISO text. Someone without the key cannot make or alter one."""
    content = json.dumps([kind, *[_value(f) for f in fields]], ensure_ascii=False,
                         separators=(",", ":"))
    return hmac.new(key, b"seal\n" + content.encode("utf-8"), hashlib.sha256).hexdigest()


def seal_ok(key: bytes, mac: str | None, kind: str, *fields) -> bool:
    return bool(mac) and hmac.compare_digest(mac, seal(key, kind, *fields))



# ------------------------------------------------------------------ verification


class Break(enum.StrEnum):
    """What verification can find. The message is ``audit.verify.<value>``."""

    Mismatch = "mismatch"                      # an entry's content or chain value changed
    Gap = "gap"                                # entries missing (``seq``..``upto``)
    Duplicate = "duplicate"                    # a sequence number repeated or out of order
    CheckpointMismatch = "checkpoint_mismatch"  # the log no longer matches a valid checkpoint
    CheckpointConflict = "checkpoint_conflict"  # two valid checkpoints disagree on one seq
    ForgedCheckpoint = "forged_checkpoint"     # a checkpoint whose MAC is missing or wrong
    FutureCheckpoint = "future_checkpoint"     # a checkpoint dated after the verifier's now
    UnprovenCut = "unproven_cut"               # an archive cut that does not prove itself
    Truncated = "truncated"                    # the log ends before a valid checkpoint


class Reason(enum.StrEnum):
    """Why a checkpoint or cut is not trusted (message ``audit.verify.reason.<value>``)."""

    NoMac = "no_mac"                # a checkpoint row without a MAC (forged, or older than 0017)
    WrongMac = "wrong_mac"          # a checkpoint whose MAC does not verify (forged or edited)
    CutMac = "cut_mac"              # a cut whose MAC is missing or does not verify
    CutRetention = "cut_retention"  # a cut inside the retention period as of its own date
    CutEvent = "cut_event"          # no authentic audit.archived event after the cut names it


class Source(enum.StrEnum):
    """Where a checkpoint was read (message ``audit.verify.source.<value>``)."""

    Database = "database"
    File = "file"


@dataclass(frozen=True)
class Finding:
    kind: Break
    seq: int                      # the (first) sequence number concerned
    upto: int | None = None       # the last one, for a range of missing entries
    reason: Reason | None = None  # why a checkpoint or cut is not trusted
    source: str | None = None     # Source values, "+"-joined for a conflict
    row_id: int | None = None     # the checkpoint or cut row, or the file's line

    @property
    def key(self) -> str:
        return f"audit.verify.{self.kind}"

    @property
    def where(self) -> str:
        return f"seq {self.seq}" if self.upto in (None, self.seq) else f"seq {self.seq}-{self.upto}"

    def __str__(self) -> str:
        extra = [x for x in (self.source, self.reason) if x]
        if self.row_id is not None:
            extra.append(f"row {self.row_id}")
        return f"{self.where}: {self.kind}" + (f" ({', '.join(extra)})" if extra else "")


#: Findings kept per kind; more are only counted (a flood of one kind, say
#: thousands of unauthenticated checkpoint rows, cannot hide another).
LIMIT = 100


@dataclass
class Report:
    """Everything one verification found, and how far the chain verified."""

    start_seq: int = 0          # verification started after this entry (an archive cut) ...
    start_chain: str = GENESIS  # ... whose chain value is this
    checked: int = 0            # entries whose own link verified
    unverifiable: int = 0       # entries right after missing ones (their predecessor is gone)
    last_seq: int = 0           # the last entry read
    last_chain: str = GENESIS   # its stored chain value
    limit: int = LIMIT
    findings: list[Finding] = field(default_factory=list)
    found: dict[Break, int] = field(default_factory=dict)  # per kind, listed or not

    @property
    def ok(self) -> bool:
        return not self.found

    @property
    def total(self) -> int:
        return sum(self.found.values())

    @property
    def omitted(self) -> dict[Break, int]:
        """Findings counted but not listed, per kind."""
        return {kind: n - self.limit for kind, n in self.found.items() if n > self.limit}

    def add(self, finding: Finding) -> None:
        self.found[finding.kind] = self.found.get(finding.kind, 0) + 1
        if self.found[finding.kind] <= self.limit:
            self.findings.append(finding)

    def sorted(self) -> list[Finding]:
        order = list(Break)
        return sorted(self.findings, key=lambda f: (f.seq, order.index(f.kind)))

    @property
    def first(self) -> Finding | None:
        found = self.sorted()
        return found[0] if found else None

    def kinds(self) -> list[tuple[Break, int]]:
        """``(kind, first seq)`` of every finding, in sequence order (for tests and logs)."""
        return [(f.kind, f.seq) for f in self.sorted()]

    def __str__(self) -> str:
        verified = f"{self.checked} entries verified, last seq {self.last_seq}"
        if self.unverifiable:
            verified += f", {self.unverifiable} not verifiable (predecessor missing)"
        if self.ok:
            return f"OK: {verified}"
        first = self.first
        findings = "1 finding" if self.total == 1 else f"{self.total} findings"
        return f"BROKEN: {findings}, the first at {first.where} ({first.kind}) ({verified})"


#: How many recent chain values a broken stretch keeps as possible
#: predecessors (see :class:`Walker`).
RESYNC_WINDOW = 16


class Walker:
    """Verify entries one at a time, in sequence order, in constant memory.

    Every break is reported and the walk goes on. After an entry that does
    not verify, the next entry is linked to that entry's *stored* chain value
    (right when only the content was edited) and, failing that, to the
    recently seen values (the recomputed one: right when only the chain
    column was edited; those of moved entries) and to any value a checkpoint
    or cut claims for the predecessor. A link that verifies under the key
    proves the entry intact whatever value it was linked to, so an intact
    entry is never reported, and a claim need not be trusted to be tried.
    The first entry after missing ones cannot be checked on its own (its
    predecessor is gone) unless such a claim names the predecessor's value;
    it is counted in ``Report.unverifiable``, not reported as altered.

    ``checkpoints``: ``(seq, trusted values, untrusted values)`` in ascending
    seq order, at most one item per seq (a stream, so millions of
    checkpoints cost no memory). The entry at ``seq`` must hold every trusted
    value and the log must reach the newest trusted checkpoint above the
    start; untrusted values are only tried as predecessors.
    """

    def __init__(self, key: bytes, report: Report, checkpoints: Iterable = ()):
        self.key = key
        self.report = report
        self.expected = report.start_seq + 1
        self.previous = report.start_chain
        self.recent: deque[str] = deque(maxlen=RESYNC_WINDOW)
        self.newest_trusted = 0
        self._groups = iter(checkpoints)
        self._next = next(self._groups, None)
        self._claims: tuple[int, set] = (report.start_seq, {report.start_chain})
        report.last_seq, report.last_chain = report.start_seq, report.start_chain

    def _take(self, upto: int) -> set:
        """Consume the checkpoints up to ``upto``; the trusted values at ``upto``."""
        report, found = self.report, set()
        while self._next is not None and self._next[0] <= upto:
            seq, trusted, untrusted = self._next
            if seq == report.start_seq and any(
                    not hmac.compare_digest(v, report.start_chain) for v in trusted):
                report.add(Finding(Break.CheckpointMismatch, seq))  # disagrees with the cut
            if trusted and seq > report.start_seq:
                self.newest_trusted = max(self.newest_trusted, seq)
            self._claims = (seq, set(trusted) | set(untrusted))
            if seq == upto:
                found = set(trusted)
            self._next = next(self._groups, None)
        return found

    def step(self, entry: dict, cases) -> bool:
        """Check one entry; True when its own link verified."""
        seq, upcoming = entry["seq"], self._next
        if seq == self.expected and (upcoming is None or upcoming[0] > seq):
            # The usual entry: next in order, no checkpoint at or before it
            # left to take; if its link verifies this is all the walk does.
            stored = entry["chain"] or ""
            if hmac.compare_digest(link(self.key, self.previous, canonical(entry, cases)), stored):
                report = self.report
                report.checked += 1
                if self.recent:
                    self.recent.clear()
                self.previous, self.expected = stored, seq + 1
                report.last_seq, report.last_chain = seq, stored
                return True
        return self._step(entry, cases)

    def _step(self, entry: dict, cases) -> bool:
        report, seq, stored = self.report, entry["seq"], entry["chain"] or ""
        if seq < self.expected:
            report.add(Finding(Break.Duplicate, seq))
            self.recent.append(stored)  # it may be the next entry's real predecessor
            return False
        missing = seq > self.expected
        if missing:
            report.add(Finding(Break.Gap, self.expected, upto=seq - 1))
        self._take(seq - 1)
        claimed_seq, claims = self._claims
        claims = claims if claimed_seq == seq - 1 else set()
        trusted_here = self._take(seq)
        content = canonical(entry, cases)
        value = link(self.key, self.previous, content)
        verified = hmac.compare_digest(value, stored) or any(
            hmac.compare_digest(link(self.key, candidate, content), stored)
            for candidate in (*self.recent, *claims))
        if verified:
            report.checked += 1
            self.recent.clear()
        else:
            if missing:
                report.unverifiable += 1
            else:
                report.add(Finding(Break.Mismatch, seq))
            self.recent.extend((self.previous, value))
        if (verified or missing) and any(not hmac.compare_digest(v, stored) for v in trusted_here):
            # An entry that verified but differs from a valid checkpoint: the log
            # was rewritten with the key. (An altered entry is reported as such.)
            report.add(Finding(Break.CheckpointMismatch, seq))
        self.previous, self.expected = stored, seq + 1
        report.last_seq, report.last_chain = seq, stored
        return verified

    def finish(self, expect_through: int | None = None) -> Report:
        """The log must reach ``expect_through`` and every trusted checkpoint."""
        self._take(sys.maxsize)
        last = self.expected - 1
        through = max(expect_through or 0, self.newest_trusted)
        if through > last:
            self.report.add(Finding(Break.Truncated, last + 1, upto=through))
        return self.report


def checkpoint_groups(checkpoints: Mapping[int, str | Iterable[str]]):
    """Trusted checkpoints given as a mapping, as :class:`Walker` takes them."""
    for seq in sorted(checkpoints):
        values = checkpoints[seq]
        yield seq, ({values} if isinstance(values, str) else set(values)), set()


def verify(key: bytes, rows: Iterable[tuple[dict, list]], *, start_seq: int = 0,
           start_chain: str = GENESIS, checkpoints=None, expect_through: int | None = None,
           report: Report | None = None) -> Report:
    """Walk ``rows`` (``(entry, cases)`` in sequence order) from the entry after
    ``start_seq`` whose predecessor's chain is ``start_chain``, reporting
    every break (see :class:`Walker`).

    ``checkpoints``: trusted chain values, a mapping ``{seq: value}`` or the
    stream :class:`Walker` takes. ``expect_through``: the log must reach at
    least this sequence number. ``report``: add to this one (verification
    may already have found problems with checkpoints or cuts)."""
    report = report if report is not None else Report()
    report.start_seq, report.start_chain = start_seq, start_chain
    if isinstance(checkpoints, Mapping):
        checkpoints = checkpoint_groups(checkpoints)
    walker = Walker(key, report, checkpoints or ())
    for entry, cases in rows:
        walker.step(entry, cases)
    return walker.finish(expect_through)
