"""The keyed chain and its verifier, fed broken chains of every kind."""
import copy
import datetime as dt
import hashlib

import pytest

from intranet.audit import chain

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
    assert (result.ok, result.broken_seq, result.reason) == (False, seq, "audit.verify.mismatch")


def test_altering_a_disclosed_case_breaks_the_entry():
    rows = make_log()
    rows[2] = (rows[2][0], [(99, "2026-000099")])
    assert check(rows).broken_seq == 3


@pytest.mark.parametrize("bit", [0, 17, 255])
def test_a_flipped_bit_in_a_chain_value_is_caught(bit):
    rows = make_log()
    value = bytearray(bytes.fromhex(rows[3][0]["chain"]))
    value[bit // 8] ^= 1 << (bit % 8)
    rows[3][0]["chain"] = value.hex()
    assert check(rows).broken_seq == 4


def test_a_removed_entry_is_a_gap_at_its_sequence_number():
    rows = make_log()
    del rows[2]
    result = check(rows)
    assert (result.broken_seq, result.reason) == (3, "audit.verify.gap")


def test_an_inserted_entry_is_caught():
    rows = make_log()
    forged = copy.deepcopy(rows[2])
    forged[0]["seq"] = 4
    rows.insert(3, forged)  # now 1 2 3 4' 4 5 6
    assert check(rows).broken_seq == 4


def test_a_duplicated_entry_is_caught():
    rows = make_log()
    rows.insert(3, copy.deepcopy(rows[2]))  # 1 2 3 3 4 ...
    result = check(rows)
    assert (result.broken_seq, result.reason) == (3, "audit.verify.duplicate")


def test_swapped_entries_are_caught():
    rows = make_log()
    rows[1], rows[2] = rows[2], rows[1]
    assert check(rows).broken_seq == 2


def test_swapped_contents_with_renumbered_sequences_are_caught():
    rows = make_log()
    a, b = copy.deepcopy(rows[1]), copy.deepcopy(rows[2])
    a[0]["seq"], b[0]["seq"] = 3, 2
    rows[1], rows[2] = b, a
    assert check(rows).broken_seq == 2


def test_a_wrong_first_sequence_number_is_caught():
    rows = make_log()[1:]
    assert check(rows).broken_seq == 1


def test_an_attacker_who_recomputes_an_unkeyed_hash_is_caught():
    rows = make_log()
    rows[2][0]["login"] = "someone-else"
    previous = rows[1][0]["chain"]
    for entry, cases in rows[2:]:  # recompute everything after the edit, without the key
        previous = hashlib.sha256(previous.encode() + b"\n" + chain.canonical(entry, cases)).hexdigest()
        entry["chain"] = previous
    assert check(rows).broken_seq == 3


def test_an_attacker_with_another_key_is_caught():
    forged = make_log(key=b"attacker-key-0123456789abcdef0123")
    assert check(forged).broken_seq == 1


def test_removing_the_newest_entries_is_caught_by_a_checkpoint():
    rows = make_log()
    checkpoints = {6: rows[5][0]["chain"]}
    assert check(rows, checkpoints=checkpoints).ok
    result = check(rows[:4], checkpoints=checkpoints)
    assert (result.ok, result.broken_seq, result.reason) == (False, 5, "audit.verify.truncated")


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
    assert (result.broken_seq, result.reason) == (5, "audit.verify.checkpoint_mismatch")


def test_verification_can_start_after_an_archive_cut():
    rows = make_log()
    result = check(rows[3:], start_seq=3, start_chain=rows[2][0]["chain"])
    assert result.ok and result.checked == 3
    assert check(rows[3:], start_seq=3, start_chain=chain.GENESIS).broken_seq == 4


def test_canonical_content_is_stable_and_covers_every_field():
    entry = {name: f"v-{name}" for name in chain.FIELDS}
    content = chain.canonical(entry, [(1, "2026-000001")]).decode()
    for name in chain.FIELDS:
        assert f'"{name}":"v-{name}"' in content
    assert chain.canonical(dict(reversed(list(entry.items()))), [(1, "2026-000001")]).decode() == content
