"""The Merkle tree over the access log and the signed checkpoints (issue 22).

The checkpoint job extends the tree (RFC 6962 leaves over each entry's
canonical bytes and its organisation's previous leaf) and signs a C2SP
checkpoint naming the size, the root, the time and every organisation's
chain head. Checked against an independent recomputation from the entries,
on SQLite and PostgreSQL; and as a database administrator would attack it."""
import base64
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.audit import chain, merkle, tree
from intranet.audit.signed_note import KeyRing, open_note, parse_checkpoint
from intranet.models import (
    AccessLogCase, AccessLogCheckpoint, AccessLogEntry, AccessLogLeaf, AccessLogTreeNode, Role,
)
from tests import factories
from tests.helpers import TEST_PUBLIC_KEY, TREE_TABLES, drop_log_guards, healthz, login

KEY = b"test-access-log-key-0123456789abcdef"
START = dt.datetime(2026, 11, 24, 0, 30)


def _entries(conn):
    """Every entry with its cases, as the chain covers them."""
    rows = conn.execute(sa.select(AccessLogEntry.__table__).order_by(AccessLogEntry.seq)).mappings().all()
    cases = {}
    for seq, case_id, case_no in conn.execute(sa.select(
            AccessLogCase.entry_seq, AccessLogCase.case_id, AccessLogCase.case_no)
            .order_by(AccessLogCase.entry_seq, AccessLogCase.position)):
        cases.setdefault(seq, []).append((case_id, case_no))
    return [(dict(r), cases.get(r["seq"], [])) for r in rows]


def _expected_leaves(conn):
    """The leaf hashes and org links recomputed from the entries alone."""
    heads, out = {}, []
    for entry, cases in _entries(conn):
        prev = heads.get(entry["organisation"], "0" * 64)
        leaf = merkle.leaf_hash(prev.encode() + b"\n" + chain.canonical(entry, cases))
        out.append((entry["seq"], entry["organisation"], prev, leaf))
        heads[entry["organisation"]] = leaf.hex()
    return out


def _browse(testapp, clock, n=3):
    for _ in range(n):
        clock.advance(seconds=1)
        testapp.get("/login")


def test_checkpoints_sign_the_tree_of_every_entry_with_each_organisation_head(
        app_of_own, tmp_path, password_context):
    app, testapp = app_of_own(**{"intranet.audit.checkpoint_entries": "4"})
    clock = app.registry.clock
    session = app.registry["dbsession_factory"]()
    factories.user(session, password_context, Role.collector, login="col1")
    factories.user(session, password_context, Role.operator, login="op1")
    session.commit()
    session.close()
    for who in ("col1", "op1"):
        login(testapp, who)
        _browse(testapp, clock)
        testapp.reset()
    _browse(testapp, clock, 30)  # past 32 leaves: stored nodes at level 4
    engine = app.registry["db_engine"]
    with engine.connect() as conn:
        expected = _expected_leaves(conn)
        stored = conn.execute(sa.select(AccessLogLeaf.seq, AccessLogLeaf.organisation,
                                        AccessLogLeaf.org_prev, AccessLogLeaf.leaf_hash)
                              .order_by(AccessLogLeaf.seq)).all()
        rows = conn.execute(sa.select(AccessLogCheckpoint.__table__).order_by(AccessLogCheckpoint.id)).all()
        nodes = conn.execute(sa.select(AccessLogTreeNode.level, AccessLogTreeNode.idx,
                                       AccessLogTreeNode.hash)).all()
    assert len({org for _, org, _, _ in expected}) >= 3  # None, the ward, the call center
    signed = [r for r in rows if r.note]
    assert len(signed) >= 3 and all(r.note for r in rows)
    last = signed[-1]
    # every leaf up to the last checkpoint, as recomputed from the entries alone
    assert [(s, o, p, bytes.fromhex(h)) for s, o, p, h in stored] == expected[:last.tree_size]
    hashes = [leaf for *_, leaf in expected]
    ring = KeyRing()
    ring.add(TEST_PUBLIC_KEY)
    for row in signed:
        note = open_note(row.note.encode(), ring)
        body = parse_checkpoint(note.text)
        assert body.origin == "test.invalid/intranet/access-log"
        assert body.size == row.tree_size == row.seq
        assert body.root_hash == merkle.root(hashes[:row.tree_size]) == bytes.fromhex(row.root)
        assert body.extensions[0] == "time " + row.created_at.isoformat(timespec="microseconds") + "Z"
        heads = {}
        for seq, org, _, leaf in expected[:row.tree_size]:
            heads[tree.org_key(org)] = f"{seq} {base64.b64encode(leaf).decode()}"
        assert body.extensions[1:] == tuple(f"org {k} {v}" for k, v in sorted(heads.items()))
    # stored interior nodes: level 4, 8, ... as the RFC tree has them
    assert nodes
    for level, idx, value in nodes:
        assert level % tree.STRIDE == 0
        assert merkle.root(hashes[idx << level:(idx + 1) << level]) == bytes.fromhex(value)
    # proofs from the stored tree verify against the signed roots
    with engine.connect() as conn:
        reader = tree.NodeReader(conn)
        first, final = signed[0], signed[-1]
        for index in range(final.tree_size):
            merkle.verify_inclusion(hashes[index], index, final.tree_size,
                                    reader.inclusion_proof(index, final.tree_size), bytes.fromhex(final.root))
        merkle.verify_consistency(first.tree_size, final.tree_size, bytes.fromhex(first.root),
                                  bytes.fromhex(final.root),
                                  reader.consistency_proof(first.tree_size, final.tree_size))
    assert app.registry.access_checkpointer.status(START)["tree"] == "ok"
    assert '"note": ' in (tmp_path / "checkpoints.jsonl").read_text()  # witnessed outside too


def test_an_existing_log_gets_its_tree_on_the_first_checkpoint_in_steps_or_at_once(app_of_own):
    """Entries written before the tree existed (as after the upgrade): one
    checkpoint builds their leaves; extending in several steps stores the
    same leaves and nodes as at once."""
    app, testapp = app_of_own(**{"intranet.audit.checkpoint_entries": "100000",
                                 "intranet.audit.checkpoint_minutes": "1000"})
    clock = app.registry.clock
    for _ in range(40):
        clock.advance(seconds=1)
        testapp.get("/login")
    engine = app.registry["db_engine"]
    with engine.begin() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AccessLogLeaf)) <= 1
        for upto in (7, 16, 17, 33):
            head = tree.extend(conn, KEY, upto)
            assert head.size == upto
    with engine.connect() as conn:
        expected = _expected_leaves(conn)
        head = tree.head(conn)
        stored = conn.execute(sa.select(AccessLogLeaf.seq, AccessLogLeaf.leaf_hash)
                              .order_by(AccessLogLeaf.seq)).all()
    assert head.root == merkle.root([leaf for *_, leaf in expected[:33]])
    assert [bytes.fromhex(h) for _, h in stored] == [leaf for *_, leaf in expected[:33]]
    seq, _ = app.registry.access_checkpointer.write_current(clock.now())
    with engine.connect() as conn:
        assert tree.head(conn).root == merkle.root([leaf for *_, leaf in _expected_leaves(conn)[:seq]])


def test_a_forged_entry_stops_the_tree_and_is_reported_not_signed(app_of_own):
    app, testapp = app_of_own(**{"intranet.audit.checkpoint_entries": "1000",
                                 "intranet.audit.checkpoint_minutes": "1000"})
    clock = app.registry.clock
    _browse(testapp, clock, 4)  # a checkpoint (and the tree) at entry 1 only
    engine = app.registry["db_engine"]
    with engine.begin() as conn:
        size = tree.head(conn).size
        drop_log_guards(conn, "access_log")
        conn.execute(sa.update(AccessLogEntry.__table__)
                     .where(AccessLogEntry.seq == size + 1).values(path="/forged"))
    checkpointer = app.registry.access_checkpointer
    checkpointer.write_current(clock.now())
    status = checkpointer.status(clock.now())
    assert status["tree"] == "stopped" and status["status"] == "degraded"
    assert f"entry {size + 1}: chain link does not verify" in checkpointer.tree_problem
    with engine.connect() as conn:
        assert tree.head(conn).size == size
        newest = conn.execute(sa.select(AccessLogCheckpoint.__table__).order_by(AccessLogCheckpoint.id.desc())
                              ).first()
    assert newest.seq > size and newest.note is None and newest.root is None  # HMAC checkpoint only


def test_the_tree_tables_refuse_update_delete_and_replace(app_of_own):
    app, testapp = app_of_own(**{"intranet.audit.checkpoint_entries": "1"})
    _browse(testapp, app.registry.clock, 20)
    engine = app.registry["db_engine"]
    attempts = [
        "UPDATE access_log_leaves SET leaf_hash = org_prev WHERE seq = 1",
        "DELETE FROM access_log_leaves WHERE seq = 1",
        "UPDATE access_log_tree_nodes SET hash = 'x' WHERE level = 4",
        "DELETE FROM access_log_tree_nodes",
    ]
    if engine.dialect.name == "postgresql":
        attempts += [f"TRUNCATE {t}" for t in TREE_TABLES]
    else:
        attempts += ["INSERT OR REPLACE INTO access_log_leaves (seq, organisation, org_prev, leaf_hash) "
                     "VALUES (1, NULL, 'a', 'b')"]
    for statement in attempts:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))


def test_keygen_makes_a_secret_file_of_its_own_and_prints_the_public_key(tmp_path, capsys):
    import os
    import stat

    from intranet.audit.signed_note import Signer, Verifier
    from intranet.scripts.cli import main

    path = tmp_path / "signing.key"
    assert main(["audit", "keygen", "--name", "ward.example/2027", "--output", str(path)]) == 0
    public = capsys.readouterr().out.strip()
    signer = Signer.from_key_string(path.read_text().strip())
    assert Verifier.from_key_string(public).key_string() == signer.verifier().key_string()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = path.read_bytes()
    assert main(["audit", "keygen", "--name", "ward.example/2027", "--output", str(path)]) == 2
    assert path.read_bytes() == before and "not overwritten" in capsys.readouterr().err


def test_health_says_whether_checkpoints_are_signed_and_the_tree_grows(app_of_own):
    app, testapp = app_of_own()
    health = healthz(testapp).json["access_log"]
    assert health["tree"] == "ok" and health["checkpoints_signed"] is True
    app, testapp = app_of_own(**{"intranet.audit.signing_key": ""})
    assert healthz(testapp).json["access_log"]["checkpoints_signed"] is False


def test_verify_tree_recomputes_leaves_nodes_and_roots_and_names_what_was_changed(app_of_own):
    app, testapp = app_of_own(**{"intranet.audit.checkpoint_entries": "5"})
    _browse(testapp, app.registry.clock, 40)
    engine = app.registry["db_engine"]
    with engine.connect() as conn:
        checked, problems = tree.verify(conn)
        size = tree.head(conn).size
    assert problems == [] and checked == size >= 35
    with engine.begin() as conn:
        drop_log_guards(conn, "access_log_leaves", "access_log_tree_nodes")
        conn.execute(sa.text("UPDATE access_log_leaves SET leaf_hash = :h WHERE seq = 7"), {"h": "ab" * 32})
        conn.execute(sa.text("DELETE FROM access_log_tree_nodes WHERE level = 4 AND idx = 1"))
    with engine.connect() as conn:
        _, problems = tree.verify(conn)
    assert "leaf 7: does not match its entry" in problems
    assert "leaf 8: its organisation link is not the previous leaf of (none)" in problems
    assert "tree node (4, 1) is missing or wrong" in problems
    assert any(p.startswith("checkpoint at ") and p.endswith("its root is not the tree's") for p in problems)


@pytest.mark.postgresql
def test_a_locked_tree_head_delays_a_checkpoint_by_the_write_timeout_at_most(app_of_own, database):
    """An administrator's lock on the tree's head row: the request that
    makes a checkpoint due waits at most ``write_timeout_seconds``, is
    answered, and the checkpoint is written without a signature; the tree
    catches up at the next checkpoint."""
    import time

    if not database["sqlalchemy.url"].startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    app, testapp = app_of_own(**{"intranet.audit.checkpoint_entries": "2",
                                 "intranet.audit.write_timeout_seconds": "1"})
    clock = app.registry.clock
    _browse(testapp, clock, 3)
    engine = app.registry["db_engine"]
    blocker = engine.connect()
    try:
        transaction = blocker.begin()
        blocker.execute(sa.text("SELECT size FROM access_log_tree_head WHERE id = 1 FOR UPDATE"))
        started = time.monotonic()
        _browse(testapp, clock, 2)
        assert time.monotonic() - started < 4
        assert app.registry.access_checkpointer.tree_problem is not None
        transaction.rollback()
    finally:
        blocker.close()
    _browse(testapp, clock, 2)
    assert app.registry.access_checkpointer.tree_problem is None
    with engine.connect() as conn:
        assert tree.verify(conn)[1] == []
