"""The Merkle tree over the access log and the organisations' own chains (issue 22).

Leaf ``seq - 1`` of the tree is entry ``seq``. Its input (RFC 6962 leaf data) is::

    org_prev (64 hex digits) "\\n" canonical(entry, cases)

where ``canonical`` is the HMAC chain's content (:func:`intranet.audit.chain.canonical`,
every stored field and the disclosed cases) and ``org_prev`` the leaf hash of
the previous entry of the same ``organisation`` (zeros for its first; entries
without an organisation — logins that failed, pages asked for before logging
in — make a chain of their own). Each leaf thus commits to its organisation's
previous leaf: an organisation's entries form a hash chain inside the tree,
whose head the signed checkpoints publish (:mod:`intranet.audit.checkpoints`),
so a package holding one organisation's entries proves that none of them
between two checkpoints was left out without showing anyone else's.

The tree is extended off the request path of ordinary pages, by the
checkpoint job (after at most ``intranet.audit.checkpoint_entries`` entries or
``checkpoint_minutes``), and only over entries whose HMAC links verify: a row
a database administrator forged stops the tree (and the checkpoint reports
it) instead of being signed into it. Stored: every leaf (``access_log_leaves``),
the interior nodes at levels that are multiples of :data:`STRIDE`
(``access_log_tree_nodes``) and the right edge (``access_log_tree_head``).
None of it is deleted by an archive cut.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, unquote

from sqlalchemy import insert, select, update

from ..models import AccessLogCheckpoint, AccessLogHead, AccessLogLeaf, AccessLogTreeHead, AccessLogTreeNode
from . import chain, merkle
from .verify import stored_rows

#: Interior nodes are stored at levels 4, 8, 12, ...: about n/15 rows for n
#: entries, and any node is computed from at most 8 stored ones.
STRIDE = 4
ZERO = "0" * 64
#: The key of entries without an organisation, in ``org_heads`` and in the
#: checkpoint's ``org`` lines (an organisation code is percent-encoded there,
#: so it can never read ``(none)``).
NO_ORGANISATION = "(none)"
INSERT_BATCH = 1000


class TreeError(Exception):
    """The tree cannot be extended (an entry missing or failing its HMAC link)."""


def leaf_input(org_prev: str, content: bytes) -> bytes:
    """The leaf data of an entry: its organisation's previous leaf hash (hex)
    and its canonical content."""
    return org_prev.encode("ascii") + b"\n" + content


def org_key(organisation: str | None) -> str:
    """An organisation as named in ``org_heads`` and checkpoints."""
    return NO_ORGANISATION if organisation is None else quote(organisation, safe="")


def org_code(key: str) -> str | None:
    return None if key == NO_ORGANISATION else unquote(key)


@dataclass
class TreeHead:
    """The tree as far as it reaches: size, right edge, the last entry's
    chain value and each organisation's head ``{org_key: (seq, leaf hash hex)}``."""

    size: int
    chain: str
    compact: merkle.CompactRange | None
    org_heads: dict[str, tuple[int, str]]
    root_hash: bytes | None = None  # (when there is no compact range)

    @property
    def root(self) -> bytes:
        return self.compact.root() if self.compact is not None else self.root_hash


def _read_head(conn, *, lock: bool) -> TreeHead:
    t = AccessLogTreeHead.__table__
    if lock:
        # the write lock (SQLite) or the row lock (PostgreSQL) before reading:
        # one extender at a time, and none reads a head another is moving
        done = conn.execute(update(t).where(t.c.id == 1).values(size=t.c.size)).rowcount
        if not done:
            conn.execute(insert(t).values(id=1, size=0, chain=chain.GENESIS, compact="", org_heads="{}"))
    row = conn.execute(select(t.c.size, t.c.chain, t.c.compact, t.c.org_heads).where(t.c.id == 1)).first()
    if row is None:
        return TreeHead(0, chain.GENESIS, merkle.CompactRange(), {})
    hashes = [bytes.fromhex(row.compact[i:i + 64]) for i in range(0, len(row.compact), 64)]
    heads = {k: (int(v[0]), str(v[1])) for k, v in json.loads(row.org_heads).items()}
    return TreeHead(row.size, row.chain, merkle.CompactRange(row.size, hashes), heads)


def head(conn) -> TreeHead:
    """The tree as stored (no lock)."""
    return _read_head(conn, lock=False)


def extend(conn, key: bytes, upto: int | None = None) -> TreeHead:
    """Add the entries after the tree's size, up to ``upto`` (default: the
    log's head), in the caller's transaction; returns the new head. Raises
    :class:`TreeError` when an entry is missing or its HMAC link does not
    verify (nothing of this call is stored then, once the caller rolls back)."""
    state = _read_head(conn, lock=True)
    if upto is None:
        upto = conn.scalar(select(AccessLogHead.seq)) or 0
    if upto <= state.size:
        return state
    leaves, nodes = [], []
    compact, heads, previous, expected = state.compact, state.org_heads, state.chain, state.size + 1
    leaf_hash, link, canonical = merkle.leaf_hash, chain.link, chain.canonical
    for entry, cases in stored_rows(conn, state.size):
        seq = entry["seq"]
        if seq > upto:
            break
        if seq != expected:
            raise TreeError(f"entry {expected} is missing (archived before the tree reached it?)")
        content = canonical(entry, cases)
        if link(key, previous, content) != entry["chain"]:
            raise TreeError(f"entry {seq}: chain link does not verify; the tree stops before it")
        org = org_key(entry["organisation"])
        org_prev = heads[org][1] if org in heads else ZERO
        leaf = leaf_hash(leaf_input(org_prev, content))
        hex_leaf = leaf.hex()
        leaves.append({"seq": seq, "organisation": entry["organisation"], "org_prev": org_prev,
                       "leaf_hash": hex_leaf})
        for level, idx, h in compact.append(leaf)[STRIDE::STRIDE]:
            nodes.append({"level": level, "idx": idx, "hash": h.hex()})
        heads[org] = (seq, hex_leaf)
        previous, expected = entry["chain"], seq + 1
        if len(leaves) >= INSERT_BATCH:
            _store(conn, leaves, nodes)
    if expected <= upto:
        raise TreeError(f"entry {expected} is missing")
    _store(conn, leaves, nodes)
    new = TreeHead(compact.size, previous, compact, heads)
    conn.execute(update(AccessLogTreeHead.__table__).where(AccessLogTreeHead.id == 1).values(
        size=new.size, chain=new.chain, compact="".join(h.hex() for h in compact.hashes),
        org_heads=json.dumps({k: list(v) for k, v in sorted(heads.items())}, separators=(",", ":"))))
    return new


def _store(conn, leaves: list, nodes: list) -> None:
    if leaves:
        conn.execute(insert(AccessLogLeaf.__table__), leaves)
    if nodes:
        conn.execute(insert(AccessLogTreeNode.__table__), nodes)
    leaves.clear()
    nodes.clear()


def head_at(conn, size: int, current: TreeHead, chain_value: str) -> TreeHead:
    """The tree as it was at ``size`` (at most ``current.size``; entry
    ``size``'s chain value is ``chain_value``): its root from the stored
    nodes, each organisation's head from its leaves."""
    if size == current.size:
        return current
    t = AccessLogLeaf.__table__
    heads = {}
    for key in current.org_heads:
        code = org_code(key)
        row = conn.execute(select(t.c.seq, t.c.leaf_hash).where(
            t.c.organisation.is_(None) if code is None else t.c.organisation == code,
            t.c.seq <= size).order_by(t.c.seq.desc()).limit(1)).first()
        if row is not None:
            heads[key] = (row.seq, row.leaf_hash)
    return TreeHead(size, chain_value, None, heads, NodeReader(conn).root(size))


class NodeReader:
    """``get_node(level, index)`` over the stored tree, for proofs: stored
    levels read directly, the others folded from the stored level below
    (memoised for the reader's life; make one per proof batch)."""

    def __init__(self, conn):
        self.conn = conn
        self.memo: dict[tuple[int, int], bytes] = {}

    def _stored(self, level: int, first: int, count: int) -> list[bytes]:
        memo = self.memo
        known = [memo.get((level, i)) for i in range(first, first + count)]
        if None not in known:
            return known
        if level == 0:
            t = AccessLogLeaf.__table__
            rows = self.conn.execute(select(t.c.seq, t.c.leaf_hash).where(
                t.c.seq.between(first + 1, first + count)).order_by(t.c.seq)).all()
            found = {seq - 1: h for seq, h in rows}
        else:
            t = AccessLogTreeNode.__table__
            rows = self.conn.execute(select(t.c.idx, t.c.hash).where(
                t.c.level == level, t.c.idx.between(first, first + count - 1))).all()
            found = dict(rows)
        try:
            layer = [bytes.fromhex(found[i]) for i in range(first, first + count)]
        except KeyError as exc:
            raise TreeError(f"tree node ({level}, {exc.args[0]}) is not stored") from None
        for i, value in enumerate(layer, first):
            memo[(level, i)] = value
        return layer

    def get_node(self, level: int, index: int) -> bytes:
        known = self.memo.get((level, index))
        if known is not None:
            return known
        base = level - level % STRIDE
        width = 1 << (level - base)
        layer = self._stored(base, index * width, width)
        while len(layer) > 1:
            layer = [merkle.node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
        self.memo[(level, index)] = layer[0]
        return layer[0]

    def root(self, size: int) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        return merkle._subtree_from_nodes(self.get_node)(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return merkle.inclusion_proof(index, size, self.get_node)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return merkle.consistency_proof(old_size, new_size, self.get_node)


def verify(conn, *, limit: int = 20) -> tuple[int, list[str]]:
    """Recompute the stored tree from the entries (``intranet audit
    verify-tree``): every leaf and its organisation link, every stored node,
    the head, and the root of every checkpoint that names one. Returns the
    leaves checked and the problems found (at most ``limit``). Entries
    removed by an archive cut are taken as their stored leaves (their
    content is in the archive file, checked by ``verify-archive``)."""
    problems: list[str] = []
    stored_head = head(conn)
    roots = dict(conn.execute(select(AccessLogCheckpoint.tree_size, AccessLogCheckpoint.root)
                              .where(AccessLogCheckpoint.root.is_not(None))).all())
    t = AccessLogLeaf.__table__
    stored = conn.execute(select(t.c.seq, t.c.organisation, t.c.org_prev, t.c.leaf_hash)
                          .order_by(t.c.seq)).yield_per(5000)
    entries = stored_rows(conn, 0)
    pending = next(entries, None)
    compact, heads, nodes = merkle.CompactRange(), {}, {}
    node_t = AccessLogTreeNode.__table__
    checked = 0

    def problem(text):
        if len(problems) < limit:
            problems.append(text)

    for seq, organisation, org_prev, leaf in stored:
        if seq != compact.size + 1:
            problem(f"leaf {compact.size + 1} is missing")
            break
        key_ = org_key(organisation)
        if org_prev != heads.get(key_, ZERO):
            problem(f"leaf {seq}: its organisation link is not the previous leaf of {key_}")
        while pending is not None and pending[0]["seq"] < seq:
            pending = next(entries, None)
        if pending is not None and pending[0]["seq"] == seq:
            entry, cases = pending
            if entry["organisation"] != organisation:
                problem(f"leaf {seq}: organisation differs from the entry's")
            if merkle.leaf_hash(leaf_input(org_prev, chain.canonical(entry, cases))).hex() != leaf:
                problem(f"leaf {seq}: does not match its entry")
        for level, idx, value in compact.append(bytes.fromhex(leaf))[STRIDE::STRIDE]:
            nodes[(level, idx)] = value
        heads[key_] = leaf
        checked += 1
        if seq in roots and compact.root().hex() != roots[seq]:
            problem(f"checkpoint at {seq}: its root is not the tree's")
        if len(nodes) >= 5000:
            _check_nodes(conn, node_t, nodes, problem)
    _check_nodes(conn, node_t, nodes, problem)
    if stored_head.size != compact.size or stored_head.root != compact.root():
        problem(f"the tree head ({stored_head.size}) is not the tree of the stored leaves ({compact.size})")
    return checked, problems


def _check_nodes(conn, t, nodes: dict, problem) -> None:
    if not nodes:
        return
    levels = {level for level, _ in nodes}
    for level in levels:
        wanted = {idx: v for (lv, idx), v in nodes.items() if lv == level}
        found = dict(conn.execute(select(t.c.idx, t.c.hash).where(
            t.c.level == level, t.c.idx.between(min(wanted), max(wanted)))).all())
        for idx, value in wanted.items():
            if found.get(idx) != value.hex():
                problem(f"tree node ({level}, {idx}) is missing or wrong")
    nodes.clear()
