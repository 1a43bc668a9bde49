"""The chain covers the same bytes as before issue 21 made it faster.

``canonical`` now builds its mapping in sorted key order for one encoder made
once, and ``link`` calls ``hmac.digest``; the bytes and the MAC must be those
of ``json.dumps(..., sort_keys=True)`` and ``hmac.new``, or every stored
entry would stop verifying. Checked three ways: against the reference code
(copied here as it was), against values recorded from the code before the
change for 60 entries of awkward content, and (tests/functional/
test_chain_compat.py) against chains the writer stored in a database."""
import datetime as dt
import hashlib
import hmac
import json
import random

from intranet.audit import chain

KEY = b"issue-21-golden-key"

#: Recorded with intranet/audit/chain.py before issue 21 (commit 387ad47) over
#: ``awkward_entries()``: the last chain value and the SHA-256 of every
#: canonical content in order.
GOLDEN_CHAIN = "f73addc2d3f38f711922574b5c82384b4fddf73865788f103da47cb122b354a5"
GOLDEN_CONTENT_SHA256 = "c8a4cc978104f9c72121a6b2a8c1b8e6a7839d376925506f675dec056321fd3e"


def reference_canonical(entry: dict, cases) -> bytes:
    """chain.canonical as it was before issue 21."""
    def value(v):
        return v.isoformat(timespec="microseconds") if isinstance(v, dt.datetime) else v
    content = {name: value(entry.get(name)) for name in chain.FIELDS}
    content["cases"] = [[int(case_id), str(case_no)] for case_id, case_no in cases]
    return json.dumps(content, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def reference_link(key: bytes, previous: str, content: bytes) -> str:
    """chain.link as it was before issue 21."""
    return hmac.new(key, previous.encode("ascii") + b"\n" + content, hashlib.sha256).hexdigest()


def awkward_entries():
    """Quotes, backslashes, control characters, line separators, emoji,
    formulas, HTML, NULLs, empty strings, negative and large numbers."""
    rnd = random.Random(21)
    texts = ["", "田中 太郎", "=HYPERLINK(\"x\")", "a\"b\\c", "tab\there", "cr\rlf\n", "\x00\x1f\x7f",
             "😀 emoji", "\u2028sep", "'quoted", "null", "</script>", "café", "Ω≈ç√"]
    for seq in range(1, 61):
        e = {name: None for name in chain.FIELDS}
        for name in chain.FIELDS:
            r = rnd.random()
            if name == "seq":
                e[name] = seq
            elif name == "occurred_at":
                e[name] = dt.datetime(2026, 10, 1) + dt.timedelta(microseconds=rnd.randrange(10**12))
            elif name in ("user_id", "session_id", "status", "duration_us", "case_count"):
                e[name] = None if r < 0.2 else rnd.randrange(-5, 10**9)
            else:
                e[name] = None if r < 0.2 else rnd.choice(texts) + (str(rnd.randrange(100)) if r > 0.6 else "")
        cases = [(rnd.randrange(1, 10**6), rnd.choice(texts)) for _ in range(rnd.randrange(3))]
        yield e, cases


def test_the_chain_over_awkward_entries_is_the_one_recorded_before_issue_21():
    previous, digest = chain.GENESIS, hashlib.sha256()
    for entry, cases in awkward_entries():
        content = chain.canonical(entry, cases)
        assert content == reference_canonical(entry, cases)
        digest.update(content)
        previous = chain.link(KEY, previous, content)
    assert (previous, digest.hexdigest()) == (GOLDEN_CHAIN, GOLDEN_CONTENT_SHA256)


def test_canonical_and_link_equal_the_reference_whatever_the_key_order_and_missing_fields():
    rows = list(awkward_entries())
    for entry, cases in rows:
        shuffled = dict(reversed(list(entry.items())))
        partial = {k: v for k, v in entry.items() if v is not None}  # a missing field is null
        for variant in (shuffled, partial):
            assert chain.canonical(variant, cases) == reference_canonical(entry, cases)
        content = reference_canonical(entry, cases)
        assert chain.link(KEY, chain.GENESIS, content) == reference_link(KEY, chain.GENESIS, content)


def test_encode_takes_the_mapping_verify_export_builds():
    for entry, cases in awkward_entries():
        content = dict.fromkeys(chain.SORTED)
        for name in chain.FIELDS:
            value = entry[name]
            content[name] = value.isoformat(timespec="microseconds") if isinstance(value, dt.datetime) else value
        content["cases"] = [[int(i), str(n)] for i, n in cases]
        assert chain.encode(content) == reference_canonical(entry, cases)
