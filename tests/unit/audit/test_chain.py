"""The keyed chain and its verifier, fed broken chains of every kind: every
break is reported with its kind and sequence number, and no intact entry is."""
import copy
import datetime as dt
import hashlib

import pytest

from intranet.audit import chain
from intranet.audit.chain import Break

KEY = b"unit-test-key-0123456789abcdef0123"


def make_log(n=6, key=KEY):
    rows, previous = [], chain.GENESIS
    for seq in range(1, n + 1):
        entry = {name: None for name in chain.FIELDS}
        entry.update(seq=seq, kind="request", occurred_at=dt.datetime(2026, 11, 24, 0, 30, seq),
                     request_id=f"r{seq}", login="c1", outcome="allowed", status=200,
                     path=f"/cases/2026-{seq:06d}/", case_count=1)
        cases = [(seq, f"2026-{seq:06d}")]
        previous = chain.link(key, previous, chain.canonical(entry, cases))
        rows.append(({**entry, "chain": previous}, cases))
    return rows


def check(rows, **kw):
    return chain.verify(KEY, rows, **kw)


def test_an_untouched_log_verifies():
    result = check(make_log())
    assert result.ok and result.checked == 6 and result.last_seq == 6
    assert result.findings == [] and str(result) == "OK: 6 entries verified, last seq 6"


def test_an_empty_log_verifies():
    assert check([]).ok


@pytest.mark.parametrize("field,value", [
    ("login", "c2"), ("outcome", "denied"), ("status", 403), ("path", "/cases/"),
    ("occurred_at", dt.datetime(2026, 11, 24, 0, 30, 59)), ("client_addr", "10.0.0.9"),
    ("case_count", 0),
])
@pytest.mark.parametrize("seq", [1, 3, 6])
def test_altering_any_field_of_any_entry_breaks_at_that_entry(field, value, seq):
    rows = make_log()
    rows[seq - 1][0][field] = value
    result = check(rows)
    # only the edited entry: the next one links to its stored chain value and verifies
    assert (result.ok, result.kinds()) == (False, [(Break.Mismatch, seq)])
    assert result.checked == 5 and result.first.key == "audit.verify.mismatch"


def test_altering_a_disclosed_case_breaks_the_entry():
    rows = make_log()
    rows[2] = (rows[2][0], [(99, "2026-000099")])
    assert check(rows).kinds() == [(Break.Mismatch, 3)]


@pytest.mark.parametrize("bit", [0, 17, 255])
def test_a_flipped_bit_in_a_chain_value_is_caught(bit):
    rows = make_log()
    value = bytearray(bytes.fromhex(rows[3][0]["chain"]))
    value[bit // 8] ^= 1 << (bit % 8)
    rows[3][0]["chain"] = value.hex()
    # entry 5 links to the recomputed value of 4, so only 4 is reported
    result = check(rows)
    assert result.kinds() == [(Break.Mismatch, 4)] and result.checked == 5


def test_a_removed_entry_is_a_gap_at_its_sequence_number():
    rows = make_log()
    del rows[2]
    result = check(rows)
    assert result.kinds() == [(Break.Gap, 3)] and result.first.upto == 3
    # entry 4 cannot be checked without 3; 5 and 6 verify
    assert (result.checked, result.unverifiable) == (4, 1)


def test_a_checkpoint_at_the_missing_entry_lets_the_next_one_verify():
    rows = make_log()
    checkpoints = {3: rows[2][0]["chain"]}
    del rows[1:3]
    result = check(rows, checkpoints=checkpoints)
    assert result.kinds() == [(Break.Gap, 2)] and result.first.upto == 3
    assert (result.checked, result.unverifiable) == (4, 0)


def test_an_inserted_entry_is_caught():
    rows = make_log()
    forged = copy.deepcopy(rows[2])
    forged[0]["seq"] = 4
    rows.insert(3, forged)  # now 1 2 3 4' 4 5 6
    result = check(rows)
    assert result.kinds() == [(Break.Mismatch, 4), (Break.Duplicate, 4)]
    assert result.checked == 5  # 1-3, then 5 and 6 (linked to the real 4)


def test_a_duplicated_entry_is_caught():
    rows = make_log()
    rows.insert(3, copy.deepcopy(rows[2]))  # 1 2 3 3 4 ...
    result = check(rows)
    assert result.kinds() == [(Break.Duplicate, 3)] and result.checked == 6


def test_swapped_entries_are_caught():
    rows = make_log()
    rows[1], rows[2] = rows[2], rows[1]
    result = check(rows)
    assert result.kinds() == [(Break.Gap, 2), (Break.Duplicate, 2)]
    assert result.checked == 4  # 1, 4, 5, 6 (3 came before its predecessor)


def test_swapped_contents_with_renumbered_sequences_are_caught():
    rows = make_log()
    a, b = copy.deepcopy(rows[1]), copy.deepcopy(rows[2])
    a[0]["seq"], b[0]["seq"] = 3, 2
    rows[1], rows[2] = b, a
    result = check(rows)
    # entry 4 links to the chain value stored with the content of 3, now at 2
    assert result.kinds() == [(Break.Mismatch, 2), (Break.Mismatch, 3)] and result.checked == 4


def test_a_wrong_first_sequence_number_is_caught():
    rows = make_log()[1:]
    assert check(rows).kinds() == [(Break.Gap, 1)]


def test_an_attacker_who_recomputes_an_unkeyed_hash_is_caught():
    rows = make_log()
    rows[2][0]["login"] = "someone-else"
    previous = rows[1][0]["chain"]
    for entry, cases in rows[2:]:  # recompute everything after the edit, without the key
        previous = hashlib.sha256(previous.encode() + b"\n" + chain.canonical(entry, cases)).hexdigest()
        entry["chain"] = previous
    # every chain value from 3 on was rewritten: each of those entries is changed
    assert check(rows).kinds() == [(Break.Mismatch, seq) for seq in range(3, 7)]


def test_an_attacker_with_another_key_is_caught():
    forged = make_log(key=b"attacker-key-0123456789abcdef0123")
    assert check(forged).kinds() == [(Break.Mismatch, seq) for seq in range(1, 7)]


def test_removing_the_newest_entries_is_caught_by_a_checkpoint():
    rows = make_log()
    checkpoints = {6: rows[5][0]["chain"]}
    assert check(rows, checkpoints=checkpoints).ok
    result = check(rows[:4], checkpoints=checkpoints)
    assert (result.ok, result.kinds()) == (False, [(Break.Truncated, 5)])
    assert result.first.upto == 6 and result.checked == 4


def test_a_rewritten_tail_does_not_match_the_checkpoint():
    rows = make_log()
    checkpoints = {5: rows[4][0]["chain"]}
    forged = make_log(key=KEY)  # same key (an insider): rebuild a different history
    forged[4][0]["login"] = "x"
    previous = forged[3][0]["chain"]
    for entry, cases in forged[4:]:
        previous = chain.link(KEY, previous, chain.canonical(entry, cases))
        entry["chain"] = previous
    result = check(forged, checkpoints=checkpoints)
    assert result.kinds() == [(Break.CheckpointMismatch, 5)]


def test_verification_can_start_after_an_archive_cut():
    rows = make_log()
    result = check(rows[3:], start_seq=3, start_chain=rows[2][0]["chain"])
    assert result.ok and result.checked == 3
    assert check(rows[3:], start_seq=3, start_chain=chain.GENESIS).kinds() == [(Break.Mismatch, 4)]


def test_canonical_content_is_stable_and_covers_every_field():
    entry = {name: f"v-{name}" for name in chain.FIELDS}
    content = chain.canonical(entry, [(1, "2026-000001")]).decode()
    for name in chain.FIELDS:
        assert f'"{name}":"v-{name}"' in content
    assert chain.canonical(dict(reversed(list(entry.items()))), [(1, "2026-000001")]).decode() == content


def test_several_breaks_are_all_reported_and_nothing_else():
    rows = make_log(12)
    checkpoints = {9: rows[8][0]["chain"], 12: rows[11][0]["chain"]}
    rows[2][0]["login"] = "someone-else"                # 3 edited
    rows[9][0]["chain"] = "f" * 64                      # 10's chain value edited
    del rows[5:7]                                       # 6 and 7 removed
    rows[-1][0]["outcome"] = "denied"                   # 12 edited (at a checkpoint)
    result = check(rows, checkpoints=checkpoints)
    assert result.kinds() == [(Break.Mismatch, 3), (Break.Gap, 6), (Break.Mismatch, 10),
                              (Break.Mismatch, 12)]
    assert [f.upto for f in result.sorted()] == [None, 7, None, None]
    # 1 2 4 5 9 11 verified, 8 cannot be (7 is gone); the checkpoint at 9 holds
    assert (result.checked, result.unverifiable, result.last_seq) == (6, 1, 12)
    assert str(result).startswith("BROKEN: 4 findings, the first at seq 3 (mismatch)")


def test_findings_beyond_the_limit_are_counted_per_kind():
    rows = make_log(10)
    for entry, _ in rows[:8]:
        entry["login"] = "x"
    del rows[9]
    result = check(rows, checkpoints={10: "0" * 64}, report=chain.Report(limit=3))
    assert result.kinds() == [(Break.Mismatch, 1), (Break.Mismatch, 2), (Break.Mismatch, 3),
                              (Break.Truncated, 10)]
    assert result.omitted == {Break.Mismatch: 5} and result.total == 9 and not result.ok


def test_untrusted_claims_are_only_tried_as_predecessors():
    rows = make_log()
    real = rows[2][0]["chain"]
    del rows[1:3]
    groups = [(3, set(), {"1" * 64, real})]  # e.g. a forged checkpoint and an unproven cut
    result = check(rows, checkpoints=groups)
    assert result.kinds() == [(Break.Gap, 2)] and result.unverifiable == 0
    # an untrusted value beyond the end is not truncation
    assert check(make_log(), checkpoints=[(9, set(), {"2" * 64})]).ok


def test_a_trusted_checkpoint_that_disagrees_with_the_start_is_reported():
    rows = make_log()
    result = check(rows[3:], start_seq=3, start_chain=rows[2][0]["chain"],
                   checkpoints=[(2, {"4" * 64}, set()), (3, {"3" * 64}, set())])
    assert result.kinds() == [(Break.CheckpointMismatch, 3)]  # below the start: archived


def test_seal_covers_every_field_and_the_kind():
    at = dt.datetime(2026, 11, 24, 0, 30, 0, 123456)
    mac = chain.seal(KEY, "checkpoint", 5, "a" * 64, at)
    assert chain.seal_ok(KEY, mac, "checkpoint", 5, "a" * 64, at)
    for fields in [(6, "a" * 64, at), (5, "b" * 64, at), (5, "a" * 64, at.replace(microsecond=0))]:
        assert not chain.seal_ok(KEY, mac, "checkpoint", *fields)
    assert not chain.seal_ok(KEY, mac, "cut", 5, "a" * 64, at)
    assert not chain.seal_ok(b"another-key-0123456789abcdef012345", mac, "checkpoint", 5, "a" * 64, at)
    assert not chain.seal_ok(KEY, None, "checkpoint", 5, "a" * 64, at)


def test_every_kind_reason_and_source_has_a_message():
    from intranet.messages import MESSAGES

    keys = ([f"audit.verify.{k}" for k in chain.Break] + [f"audit.verify.reason.{r}" for r in chain.Reason]
            + [f"audit.verify.source.{s}" for s in chain.Source])
    assert [k for k in keys if k not in MESSAGES] == []
