"""The RFC 6962 / RFC 9162 Merkle tree (intranet/audit/merkle.py).

Known-answer vectors are the RFC 6962 reference leaves, roots and proofs of
transparency-dev/merkle ``proof/verify_test.go`` (``leaves``, ``roots``,
``inclusionProofs``, ``consistencyProofs``; the same table as
certificate-transparency-go's merkle tests). That file numbers inclusion
leaves from 1; here indices are 0-based. The property tests follow its
``corruptInclusionProof``/``corruptConsistencyProof`` probes.
"""
import inspect
import math

import pytest

from intranet.audit import merkle
from intranet.audit.merkle import ProofError


def h(s):
    return bytes.fromhex(s)


LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243",
                         "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
ROOTS = [h(x) for x in (  # tree sizes 1..8
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
INCLUSION = [  # (index, size, proof)
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [  # (old_size, new_size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
LEAF_HASHES = [merkle.leaf_hash(d) for d in LEAVES]


def node_store(leaf_hashes):
    """get_node(level, index) over every perfect subtree of the leaves, as a
    later slice's node table would hold them."""
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return lambda level, index: levels[level][index]


def test_hash_primitives():
    """RFC 9162 §2.1.1: empty root SHA-256(), leaf and node domain separation."""
    assert merkle.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.root([]) == merkle.EMPTY_ROOT
    assert merkle.leaf_hash(b"") == ROOTS[0]
    assert merkle.node_hash(LEAF_HASHES[0], LEAF_HASHES[1]) == ROOTS[1]


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size):
    """Roots of the reference tree at sizes 1..8 (verify_test.go ``roots``)."""
    assert merkle.root(LEAF_HASHES[:size]) == ROOTS[size - 1]
    cr = merkle.CompactRange()
    for leaf in LEAF_HASHES[:size]:
        cr.append(leaf)
    assert cr.size == size and cr.root() == ROOTS[size - 1]


@pytest.mark.parametrize("index,size,proof", INCLUSION)
def test_reference_inclusion_proofs(index, size, proof):
    """verify_test.go ``inclusionProofs``: generated exactly, and verified."""
    proof = [h(p) for p in proof]
    assert merkle.inclusion_proof_from_leaves(index, LEAF_HASHES[:size]) == proof
    assert merkle.inclusion_proof(index, size, node_store(LEAF_HASHES)) == proof
    merkle.verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize("old,new,proof", CONSISTENCY)
def test_reference_consistency_proofs(old, new, proof):
    """verify_test.go ``consistencyProofs``: generated exactly, and verified."""
    proof = [h(p) for p in proof]
    assert merkle.consistency_proof_from_leaves(old, LEAF_HASHES[:new]) == proof
    assert merkle.consistency_proof(old, new, node_store(LEAF_HASHES)) == proof
    merkle.verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


# ---- properties over sizes 1..64

N = 64
BIG = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(N)]
BIG_NODES = node_store(BIG)
BIG_ROOTS = [merkle.root(BIG[:n]) for n in range(N + 1)]


def test_compact_range_matches_root_at_every_size():
    cr = merkle.CompactRange()
    assert cr.root() == merkle.EMPTY_ROOT
    for n, leaf in enumerate(BIG, start=1):
        done = cr.append(leaf)
        assert cr.root() == BIG_ROOTS[n]
        assert len(cr.hashes) == bin(n).count("1")
        for level, index, node in done:  # the nodes it reports are the tree's
            assert node == BIG_NODES(level, index)
        again = merkle.CompactRange(cr.size, cr.hashes)  # resumable from its state
        assert again.root() == BIG_ROOTS[n]
    with pytest.raises(ValueError):
        merkle.CompactRange(3, cr.hashes[:1])


def flip(proof, i):
    wrong = list(proof)
    wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
    return wrong


def inclusion_tamperings(index, size, proof):
    root = BIG_ROOTS[size]
    leaf = BIG[index]
    yield leaf, index - 1, size, proof, root
    yield leaf, index + 1, size, proof, root
    yield leaf, index ^ 2, size, proof, root
    yield leaf, index, size * 2, proof, root
    yield leaf, index, size // 2, proof, root
    # Not size + 1: a path can have the same shape in two sizes (index 0 of 3
    # and of 4), so an inclusion proof alone does not pin the size; the
    # signed checkpoint binds size and root together.
    yield merkle.leaf_hash(b"wrong"), index, size, proof, root
    yield leaf, index, size, proof, merkle.EMPTY_ROOT
    yield leaf, index, size, proof + [root], root
    yield leaf, index, size, [root] + proof, root
    for i in range(len(proof)):
        yield leaf, index, size, flip(proof, i), root
    if proof:
        yield leaf, index, size, proof[:-1], root


def nodes_within(size):
    """BIG_NODES, refusing any node that a log of ``size`` entries has not
    completed yet (what stored nodes at that size would hold)."""
    def get_node(level, index):
        assert (index + 1) << level <= size, (level, index, size)
        return BIG_NODES(level, index)
    return get_node


def test_every_inclusion_proof_verifies_and_no_tampering_does():
    for size in range(1, N + 1):
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, nodes_within(size))
            assert proof == merkle.inclusion_proof_from_leaves(index, BIG[:size])
            assert len(proof) <= math.ceil(math.log2(size))
            merkle.verify_inclusion(BIG[index], index, size, proof, BIG_ROOTS[size])
            for args in inclusion_tamperings(index, size, proof):
                with pytest.raises(ProofError):
                    merkle.verify_inclusion(*args)


def consistency_tamperings(old, new, proof):
    r1, r2 = BIG_ROOTS[old], BIG_ROOTS[new]
    yield old - 1, new, r1, r2, proof
    yield old + 1, new, r1, r2, proof
    yield old ^ 2, new, r1, r2, proof
    yield old, new * 2, r1, r2, proof
    yield old, new // 2, r1, r2, proof
    yield old, new, merkle.leaf_hash(b"wrong"), r2, proof
    yield old, new, r1, merkle.leaf_hash(b"wrong"), proof
    yield old, new, r2, r1, proof
    yield old, new, r1, r2, []
    yield old, new, r1, r2, proof + [r1]
    yield old, new, r1, r2, proof + [r2]
    yield old, new, r1, r2, [r1] + proof
    yield old, new, r1, r2, [proof[0]] + proof
    yield old, new, r1, r2, proof[:-1]
    for i in range(len(proof)):
        yield old, new, r1, r2, flip(proof, i)


def test_every_consistency_proof_verifies_and_no_tampering_does():
    for new in range(1, N + 1):
        for old in range(0, new + 1):
            proof = merkle.consistency_proof(old, new, nodes_within(new))
            assert proof == merkle.consistency_proof_from_leaves(old, BIG[:new])
            assert len(proof) <= math.ceil(math.log2(new)) + 1
            merkle.verify_consistency(old, new, BIG_ROOTS[old], BIG_ROOTS[new], proof)
            if not proof:
                continue  # trivial cases are covered below
            for args in consistency_tamperings(old, new, proof):
                with pytest.raises(ProofError):
                    merkle.verify_consistency(*args)


def test_proof_length_is_logarithmic_at_a_million():
    """The proof for entry 123,456 of 1,000,000 has ceil(log2 n) nodes at most."""
    size = 1_000_000
    fake = lambda level, index: merkle.leaf_hash(f"{level}/{index}".encode())  # noqa: E731
    assert len(merkle.inclusion_proof(123_456, size, fake)) <= math.ceil(math.log2(size))
    assert len(merkle.consistency_proof(999_999, size, fake)) <= math.ceil(math.log2(size)) + 1


@pytest.mark.parametrize("args,message", [
    ((LEAF_HASHES[0], 1, 1, [], ROOTS[0]), "out of range"),
    ((LEAF_HASHES[0], 0, 0, [], merkle.EMPTY_ROOT), "out of range"),
    ((LEAF_HASHES[0], 0, 2, [], ROOTS[1]), "wrong proof length"),
    ((LEAF_HASHES[0], 0, 2, [LEAF_HASHES[0]], ROOTS[1]), "root mismatch"),
    ((b"short", 0, 1, [], ROOTS[0]), "32-byte"),
])
def test_inclusion_errors_name_the_problem(args, message):
    with pytest.raises(ProofError, match=message):
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("args,message", [
    ((2, 1, ROOTS[1], ROOTS[0], []), "old size 2 > new size 1"),
    ((1, 1, ROOTS[0], ROOTS[1], []), "root mismatch"),
    ((1, 1, ROOTS[0], ROOTS[0], [ROOTS[0]]), "wrong proof length"),
    ((0, 1, ROOTS[0], ROOTS[0], []), "empty tree"),
    ((1, 2, ROOTS[0], ROOTS[1], []), "wrong proof length"),
    ((1, 2, ROOTS[1], ROOTS[0], [LEAF_HASHES[1]]), "root mismatch"),
])
def test_consistency_errors_name_the_problem(args, message):
    with pytest.raises(ProofError, match=message):
        merkle.verify_consistency(*args)


def test_trivial_consistency():
    """Size 0 is consistent with anything (given the empty root); equal sizes
    need equal roots and no proof."""
    merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, ROOTS[4], [])
    merkle.verify_consistency(5, 5, ROOTS[4], ROOTS[4], [])
    with pytest.raises(ValueError):
        merkle.consistency_proof(3, 2, BIG_NODES)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(2, 2, BIG_NODES)


def test_verifiers_run_standalone():
    """The verifiers copied out with only hashlib (as a standalone verifier
    script will hold them) check the reference proofs and reject a bad one."""
    source = ["from __future__ import annotations", "import hashlib", "HASH_SIZE = 32"]
    source += [inspect.getsource(getattr(merkle, name)) for name in merkle.VERIFIER_NAMES[1:]]
    namespace = {"__name__": "standalone"}
    exec(compile("\n".join(source), "standalone", "exec"), namespace)  # noqa: S102
    for index, size, proof in INCLUSION:
        namespace["verify_inclusion"](LEAF_HASHES[index], index, size, [h(p) for p in proof],
                                      ROOTS[size - 1])
    for old, new, proof in CONSISTENCY:
        namespace["verify_consistency"](old, new, ROOTS[old - 1], ROOTS[new - 1], [h(p) for p in proof])
    with pytest.raises(namespace["ProofError"], match="root mismatch"):
        namespace["verify_consistency"](6, 7, ROOTS[6], ROOTS[5], [h(p) for p in CONSISTENCY[-1][2]])
