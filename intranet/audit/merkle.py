"""RFC 6962 / RFC 9162 Merkle tree: hashes, an incremental compact range,
inclusion and consistency proofs and their verifiers (issue 22, first step).

Standard library only. The tree is the one of RFC 9162 §2.1.1 (RFC 6962 §2.1)
with SHA-256: leaf hash ``SHA-256(0x00 || data)``, interior node
``SHA-256(0x01 || left || right)``, empty tree ``SHA-256()``, and an n-leaf
tree split at the largest power of two smaller than n.

Nodes are named as in transparency-dev/merkle's storage model: ``(level,
index)`` is the perfect subtree of ``2**level`` leaves starting at leaf
``index * 2**level``. :func:`inclusion_proof` and :func:`consistency_proof`
read only such nodes (``get_node(level, index)``), so a later slice can serve
them from stored nodes; the ``*_from_leaves`` helpers compute from a list.

:func:`verify_inclusion` and :func:`verify_consistency` use only ``hashlib``
and :data:`VERIFIER_NAMES` (``HASH_SIZE``, ``ProofError``, ``node_hash`` and
three small helpers), so they can be copied into a standalone verifier
(tests/unit/audit/test_merkle.py runs such a copy).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() — RFC 9162 §2.1.1."""

GetNode = Callable[[int, int], bytes]

VERIFIER_NAMES = ("HASH_SIZE", "ProofError", "node_hash", "_check_hashes", "_inclusion_length",
                  "verify_inclusion", "_consistency_length", "verify_consistency")
"""What a standalone verifier copies (with ``import hashlib`` and postponed
annotations: the signatures name ``Sequence``)."""


class ProofError(ValueError):
    """A proof does not verify; the message names the reason."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d0}) = SHA-256(0x00 || d0) — RFC 9162 §2.1.1."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) — RFC 9162 §2.1.1."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1) — RFC 9162 §2.1.1's k."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash of a list of leaf hashes — RFC 6962 §2.1 /
    RFC 9162 §2.1.1 (the definition, recursive; see :class:`CompactRange`
    for building roots incrementally)."""

    def mth(start: int, end: int) -> bytes:
        n = end - start
        if n == 1:
            return leaf_hashes[start]
        k = _split(n)
        return node_hash(mth(start, start + k), mth(start + k, end))

    if not leaf_hashes:
        return EMPTY_ROOT
    return mth(0, len(leaf_hashes))


class CompactRange:
    """The right edge of a tree of ``size`` leaves: one perfect-subtree hash
    per set bit of ``size``, largest first (transparency-dev/merkle's compact
    range ``[0, size)``). O(log n) memory; :meth:`append` is amortised O(1)
    hashes, :meth:`root` O(log n)."""

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()):
        hashes = list(hashes)
        if size < 0 or len(hashes) != bin(size).count("1"):
            raise ValueError(f"a compact range of size {size} holds {bin(max(size, 0)).count('1')} "
                             f"hashes, not {len(hashes)}")
        self.size = size
        self.hashes = hashes

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf hash; return the nodes ``(level, index, hash)``
        it completes (the leaf itself first), for a caller that stores them."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf)} bytes, expected {HASH_SIZE}")
        index, level, h = self.size, 0, leaf
        done = [(0, index, h)]
        while index & 1:
            h = node_hash(self.hashes.pop(), h)
            index >>= 1
            level += 1
            done.append((level, index, h))
        self.hashes.append(h)
        self.size += 1
        return done

    def root(self) -> bytes:
        """MTH of the leaves so far (RFC 9162 §2.1.1): the right edge folded
        from the right, as the recursive split does."""
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h


# ---- proof generation (RFC 9162 §2.1.3.1 PATH, §2.1.4.1 PROOF/SUBPROOF)

def _subtree_from_nodes(get_node: GetNode) -> Callable[[int, int], bytes]:
    """MTH(D[start:end]) for the subtrees the RFC recursion visits (start is
    a multiple of a power of two >= end - start): the perfect subtrees of the
    range, largest first, folded from the right."""

    def subtree(start: int, end: int) -> bytes:
        peaks = []
        pos = start
        for level in range((end - start).bit_length() - 1, -1, -1):
            if (end - start) >> level & 1:
                peaks.append(get_node(level, pos >> level))
                pos += 1 << level
        h = peaks[-1]
        for left in reversed(peaks[:-1]):
            h = node_hash(left, h)
        return h

    return subtree


def _path(m: int, start: int, end: int, subtree) -> list[bytes]:
    """PATH(m, D[start:end]) — RFC 9162 §2.1.3.1, leaf to root."""
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, start, start + k, subtree) + [subtree(start + k, end)]
    return _path(m - k, start + k, end, subtree) + [subtree(start, start + k)]


def _subproof(m: int, start: int, end: int, whole: bool, subtree) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b) — RFC 9162 §2.1.4.1."""
    n = end - start
    if m == n:
        return [] if whole else [subtree(start, end)]
    k = _split(n)
    if m <= k:
        return _subproof(m, start, start + k, whole, subtree) + [subtree(start + k, end)]
    return _subproof(m - k, start + k, end, False, subtree) + [subtree(start, start + k)]


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves
    (RFC 9162 §2.1.3.1), from perfect-subtree hashes ``get_node(level, i)``."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    return _path(index, 0, size, _subtree_from_nodes(get_node))


def consistency_proof(old_size: int, new_size: int, get_node: GetNode) -> list[bytes]:
    """PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1); empty when
    old_size is 0 or equals new_size."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    return _subproof(old_size, 0, new_size, True, _subtree_from_nodes(get_node))


def inclusion_proof_from_leaves(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """:func:`inclusion_proof` over a list of leaf hashes (RFC 9162 §2.1.3.1)."""
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    return _path(index, 0, size, lambda s, e: root(leaf_hashes[s:e]))


def consistency_proof_from_leaves(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """:func:`consistency_proof` over a list of leaf hashes (RFC 9162 §2.1.4.1)."""
    new_size = len(leaf_hashes)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    return _subproof(old_size, 0, new_size, True, lambda s, e: root(leaf_hashes[s:e]))


# ---- verification (RFC 9162 §2.1.3.2, §2.1.4.2); stdlib only, copyable

def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for i, h in enumerate(hashes):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ProofError(f"{what} {i} is not a {HASH_SIZE}-byte hash")


def _inclusion_length(index: int, size: int) -> int:
    """Length of PATH(index, D[size]): the levels where index and size - 1
    differ, plus the left siblings above them (transparency-dev/merkle's
    inner + border)."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> None:
    """Check that ``leaf_hash`` is entry ``index`` of the tree of
    ``size`` leaves whose root is ``root`` — RFC 9162 §2.1.3.2. Returns None;
    raises :class:`ProofError` naming the problem."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is out of range for tree size {size}")
    _check_hashes("leaf hash", [leaf_hash])
    _check_hashes("root", [root])
    _check_hashes("proof node", proof)
    expected = _inclusion_length(index, size)
    if len(proof) != expected:
        raise ProofError(f"wrong proof length: {len(proof)} nodes, expected {expected} "
                         f"for index {index} in tree size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    if r != root:
        raise ProofError(f"root mismatch: the proof gives {r.hex()}, expected {root.hex()}")


def _consistency_length(old_size: int, new_size: int) -> int:
    """Length of PROOF(old_size, D[new_size]) for 0 < old_size < new_size:
    the inclusion path of old_size's last perfect subtree in new_size, plus
    that subtree itself unless old_size is a power of two."""
    level = (old_size & -old_size).bit_length() - 1
    index = (old_size - 1) >> level
    length = _inclusion_length(index, ((new_size - 1) >> level) + 1)
    return length + (1 if index else 0)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check that the tree of ``new_size`` leaves with ``new_root`` extends
    the one of ``old_size`` leaves with ``old_root`` — RFC 9162 §2.1.4.2.
    Equal sizes need equal roots and an empty proof; size 0 needs the empty
    tree's root and an empty proof. Returns None; raises :class:`ProofError`."""
    if old_size < 0:
        raise ProofError(f"old size {old_size} is negative")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} > new size {new_size}")
    _check_hashes("root", [old_root, new_root])
    _check_hashes("proof node", proof)
    if old_size == 0 or old_size == new_size:
        if proof:
            raise ProofError(f"wrong proof length: {len(proof)} nodes, expected 0 "
                             f"from size {old_size} to size {new_size}")
        if old_size == 0 and old_root != hashlib.sha256(b"").digest():
            raise ProofError("old root is not the empty tree's root for size 0")
        if old_size == new_size and old_root != new_root:
            raise ProofError(f"root mismatch: different roots for the same size {old_size}")
        return
    expected = _consistency_length(old_size, new_size)
    if len(proof) != expected:
        raise ProofError(f"wrong proof length: {len(proof)} nodes, expected {expected} "
                         f"from size {old_size} to size {new_size}")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    if fr != old_root:
        raise ProofError(f"old root mismatch: the proof gives {fr.hex()}, expected {old_root.hex()}")
    if sr != new_root:
        raise ProofError(f"new root mismatch: the proof gives {sr.hex()}, expected {new_root.hex()}")
