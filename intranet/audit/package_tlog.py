"""The inspection package's proofs (issue 22): which signed checkpoints it
rests on, and the ``tlog/`` members that let anyone with the public key
check it (:mod:`intranet.audit.package_verifier` says what they prove).

The end checkpoint is the first signed one at or after the period's end
that covers the period's last entry (one is written at export time if there
is none yet); the start checkpoint the last signed one at or before the
period's start (none: the organisation's chain is proved from its first
entry). Every entry of the organisation between the two is in the package:
those of the period in ``entries.csv`` as before, the others (a minute or so
at each edge, and requests whose time and position straddle the period's
bounds) as their canonical bytes in ``tlog/context_entries.jsonl``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from ..models import AccessLogCheckpoint, AccessLogLeaf, AccessLogTreeNode
from ..tabular import neutralise
from . import chain, merkle, tree
from .package_verifier import (
    CONSISTENCY_COLUMNS, ORG_CHAIN_COLUMNS, checkpoint_org_heads, checkpoint_time, encode_proof,
    manifest_note_text,
)
from .signed_note import NoteError, Signer, open_note, parse_checkpoint, sign_note
from .verify import stored_rows


class TlogError(Exception):
    """The proofs cannot be made; ``key`` is the message key."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


@dataclass
class SignedCheckpoint:
    size: int
    root: bytes
    note: str
    at: dt.datetime  # UTC, naive
    heads: dict[str, tuple[int, str]]


@dataclass
class TlogPlan:
    origin: str
    org_key: str
    end: SignedCheckpoint
    start: SignedCheckpoint | None
    previous: SignedCheckpoint | None
    signer: Signer = field(repr=False)
    #: filled while the package is written: the organisation's entries out
    #: of the period, ``seq -> canonical bytes``, found during the log walk
    stragglers: dict[int, bytes] = field(default_factory=dict)

    @property
    def start_size(self) -> int:
        return self.start.size if self.start else 0

    def manifest_lines(self) -> list[str]:
        def one(c):
            return f"{c.size} {c.root.hex()}" if c else "none"
        return [f"tlog_origin: {self.origin}", f"tlog_end: {one(self.end)}",
                f"tlog_start: {one(self.start)}", f"tlog_previous: {one(self.previous)}"]


def _opened(note: str, ring, origin: str) -> SignedCheckpoint | None:
    """A stored or given note as a checkpoint of this log, or None."""
    try:
        data = note.encode("utf-8")
        text = data.split(b"\n\n", 1)[0].decode("utf-8") + "\n"
        body = parse_checkpoint(text)
        at = checkpoint_time(body)
        open_note(data, ring)
        heads = checkpoint_org_heads(body)
    except (NoteError, ValueError, UnicodeError):
        return None
    if body.origin != origin:
        return None
    return SignedCheckpoint(body.size, body.root_hash, note, at.replace(tzinfo=None), heads)


def _first(conn, query, verifiers, origin, reader) -> SignedCheckpoint | None:
    """The first row of ``query`` whose note verifies with our keys and whose
    root is the stored tree's (a row inserted by hand is passed over)."""
    for (note,) in conn.execute(query.limit(20)):
        found = _opened(note, verifiers, origin)
        if found is not None and reader.root(found.size) == found.root:
            return found
    return None


def plan(engine, export, checkpointer, previous_note: str | None, now: dt.datetime) -> TlogPlan | None:
    """The checkpoints the package rests on; None when checkpoints are not
    signed (the package is then of the earlier format, without proofs)."""
    settings = checkpointer.settings
    if settings.signer is None:
        return None
    verifiers, origin = [settings.signer.verifier(), *settings.retired], settings.origin
    c = AccessLogCheckpoint
    signed = select(c.note).where(c.note.is_not(None))
    end_query = signed.where(c.tree_size >= export.last_seq,
                             c.created_at >= min(export.end, now)).order_by(c.tree_size, c.id)
    with engine.connect() as conn:
        end = _first(conn, end_query, verifiers, origin, tree.NodeReader(conn))
    if end is None:
        try:
            checkpointer.write_current(now)
        except Exception:
            raise TlogError("export.error.checkpoint") from None
        with engine.connect() as conn:
            end = _first(conn, end_query, verifiers, origin, tree.NodeReader(conn))
        if end is None:
            raise TlogError("export.error.checkpoint")
    with engine.connect() as conn:
        reader = tree.NodeReader(conn)
        start = _first(conn, signed.where(c.created_at <= export.start, c.tree_size <= end.size)
                       .order_by(c.created_at.desc(), c.id.desc()), verifiers, origin, reader)
        previous = None
        if previous_note:
            previous = _opened(previous_note.replace("\r\n", "\n"), verifiers, origin)
            if previous is None:
                raise TlogError("export.error.previous_unreadable")
            if previous.size > end.size or reader.root(previous.size) != previous.root:
                raise TlogError("export.error.previous_foreign")
    return TlogPlan(origin, tree.org_key(export.code), end, start, previous, settings.signer)


# ------------------------------------------------------------------ members


def members(conn, export, tlog: TlogPlan):
    """``(path, bytes or an iterable of text blocks)`` of the ``tlog/`` members."""
    yield "tlog/checkpoint.end", tlog.end.note.encode("utf-8")
    if tlog.start:
        yield "tlog/checkpoint.start", tlog.start.note.encode("utf-8")
    if tlog.previous:
        yield "tlog/checkpoint.previous", tlog.previous.note.encode("utf-8")
    context = _context(conn, export, tlog)
    yield "tlog/context_entries.jsonl", (data.decode("utf-8") + "\n" for data in context.values())
    yield "tlog/org_chain.csv", _org_chain(conn, export, tlog, set(context))
    yield "tlog/consistency.csv", _consistency(conn, tlog)


def _context(conn, export, tlog: TlogPlan) -> dict[int, bytes]:
    """The organisation's entries between the checkpoints that are not in
    ``entries.csv``, in order: before the walked range, the walk's
    stragglers, after it."""
    found: dict[int, bytes] = {}
    code = export.code

    def read(after: int, upto: int):
        for entry, cases in stored_rows(conn, after):
            if entry["seq"] > upto:
                return
            if entry["organisation"] == code:
                found[entry["seq"]] = chain.canonical(entry, cases)

    read(tlog.start_size, export.first_seq - 1)
    found.update(sorted(tlog.stragglers.items()))
    read(max(export.last_seq, tlog.start_size), tlog.end.size)
    return found


def _rows_csv(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


class _ProofMaker:
    """Inclusion proofs against the end checkpoint, leaf by leaf in order:
    the 4 lower steps from the leaf's block of 16, the rest computed once
    per block from the stored nodes."""

    def __init__(self, conn, size: int, low: int):
        self.size = size
        self.reader = tree.NodeReader(conn)
        # the nodes of level 4 and 8 under the leaves of interest, at once
        t = AccessLogTreeNode.__table__
        for level in (tree.STRIDE, 2 * tree.STRIDE):
            for idx, value in conn.execute(select(t.c.idx, t.c.hash).where(
                    t.c.level == level, t.c.idx >= (low >> level) - 1, t.c.idx <= size >> level)):
                self.reader.memo[(level, idx)] = bytes.fromhex(value)
        self.block = -1
        self.upper: list[bytes] = []

    def proof(self, index: int, block_leaves: list[bytes]) -> list[bytes]:
        block = index >> 4
        if (block + 1) << 4 > self.size:  # the last, incomplete block
            return merkle.inclusion_proof(index, self.size, self.reader.get_node)
        if block != self.block:
            self.block = block
            if block % 1024 == 0:  # forget the nodes left behind (memory stays flat)
                start = block << 4
                memo = self.reader.memo
                self.reader.memo = {k: v for k, v in memo.items()
                                    if k[0] >= 3 * tree.STRIDE or (k[1] + 1) << k[0] > start}
            self.levels = [block_leaves]
            for _ in range(3):
                below = self.levels[-1]
                self.levels.append([merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below), 2)])
            memo = self.reader.memo  # (the lower steps from the block itself, not the database)
            seeded = [((level, i), value) for level, nodes in enumerate(self.levels)
                      for i, value in enumerate(nodes, (block << 4) >> level)]
            memo.update(seeded)
            self.upper = merkle.inclusion_proof(index, self.size, self.reader.get_node)[4:]
            for key, _ in seeded:
                del memo[key]
        j = index & 15
        return [self.levels[level][(j >> level) ^ 1] for level in range(4)] + self.upper


def _org_chain(conn, export, tlog: TlogPlan, context: set[int]):
    """``org_chain.csv``: each leaf of the organisation in (start, end]."""
    size, low = tlog.end.size, tlog.start_size
    maker = _ProofMaker(conn, size, low)
    code = export.code
    t = AccessLogLeaf.__table__

    def rows():
        yield ORG_CHAIN_COLUMNS
        first = (low >> 4) << 4  # from the start of the first leaf's block
        block, leaves, mine = -1, [], []
        while first < size:
            batch = conn.execute(select(t.c.seq, t.c.organisation, t.c.org_prev, t.c.leaf_hash).where(
                t.c.seq > first, t.c.seq <= min(first + 16 * 1024, size)).order_by(t.c.seq)).all()
            if not batch:
                raise TlogError("export.error.log_incomplete")
            for seq, organisation, org_prev, leaf_hash in batch:
                index = seq - 1
                if index >> 4 != block:
                    yield from _block_rows(maker, mine, leaves, context)
                    block, leaves, mine = index >> 4, [], []
                leaves.append(bytes.fromhex(leaf_hash))
                if organisation == code and seq > low:
                    mine.append((seq, org_prev, leaf_hash))
            first = batch[-1][0]
        yield from _block_rows(maker, mine, leaves, context)

    return _rows_csv(rows())


def _block_rows(maker, mine, leaves, context):
    for seq, org_prev, leaf_hash in mine:
        proof = maker.proof(seq - 1, leaves)
        # (base64 may begin with "+": quoted like every CSV text a spreadsheet would take for a formula)
        yield (seq, "0" if seq in context else "1", org_prev, leaf_hash, neutralise(encode_proof(proof)))


def _consistency(conn, tlog: TlogPlan):
    reader = tree.NodeReader(conn)
    rows = [CONSISTENCY_COLUMNS]
    for name, old in (("start", tlog.start), ("previous", tlog.previous)):
        if old is not None:
            proof = reader.consistency_proof(old.size, tlog.end.size)
            rows.append((name, old.size, tlog.end.size, neutralise(encode_proof(proof))))
    return _rows_csv(rows)


def manifest_signature(tlog: TlogPlan, manifest: bytes) -> bytes:
    """``MANIFEST.sig``: the log's key signs the manifest's SHA-256."""
    return sign_note(manifest_note_text(manifest), [tlog.signer])

