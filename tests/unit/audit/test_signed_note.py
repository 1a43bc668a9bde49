"""C2SP signed notes and checkpoint bodies (intranet/audit/signed_note.py).

The PeterNeumann/EnochRoot keys, the signed note and its signature lines,
the key manglings and the malformed-message table are the test vectors of
golang.org/x/mod/sumdb/note ``note_test.go`` (golang/mod, commit
02c991387e35f9e4c0a9b7ce137717055f8d716d): ``TestNewVerifier``,
``TestNewSigner``, ``TestSign``, ``TestVerifierList``, ``TestOpen``. Ed25519
signing is deterministic (RFC 8032), so ``sign_note`` must reproduce the Go
output byte for byte. Checkpoint bodies follow https://c2sp.org/tlog-checkpoint.
"""
import base64
import datetime as dt
import hashlib
import re

import pytest

from intranet.audit import merkle
from intranet.audit.signed_note import (
    KeyRing,
    NoteError,
    Signature,
    Signer,
    Verifier,
    format_checkpoint,
    open_note,
    parse_checkpoint,
    sign_note,
)

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = ("If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n")
PETER_SIG = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
             "RZb6KE6RyyBwJnAM=\n")
ENOCH_SIG = ("— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLo"
             "x33WWd1RvMc+QQ=\n")
PETER = Signature("PeterNeumann", 0xC74F20A3, PETER_SIG.split(" ")[2][:-1])
ENOCH = Signature("EnochRoot", 0xAF0CFE78, ENOCH_SIG.split(" ")[2][:-1])
UTC = dt.timezone.utc


def peter():
    return Verifier.from_key_string(PETER_VKEY)


def enoch():
    return Verifier.from_key_string(ENOCH_VKEY)


# ---- keys (note_test.go TestNewVerifier, TestNewSigner, TestGenerateKey) ----

def test_go_verifier_key_parses_and_round_trips():
    v = peter()
    assert (v.name, v.key_hash) == ("PeterNeumann", 0xC74F20A3)
    assert v.key_string() == PETER_VKEY
    assert v.key_id == "PeterNeumann+c74f20a3"


def test_go_signer_key_parses_and_matches_verifier():
    s = Signer.from_key_string(PETER_SKEY)
    assert s.key_string() == PETER_SKEY
    assert s.verifier().key_string() == PETER_VKEY
    assert "AYEKF" not in repr(s)  # the seed never shows


def _manglings(key):
    b = key.encode()
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if (i, j) != (0, len(b)):
                yield b[i:j].decode("utf-8", "replace")
    for i in range(len(b)):
        yield (b[:i] + bytes([b[i] + 1]) + b[i + 1:]).decode("utf-8", "replace")


@pytest.mark.parametrize("parse, key", [(Verifier.from_key_string, PETER_VKEY),
                                        (Signer.from_key_string, PETER_SKEY)])
def test_go_key_manglings_are_rejected(parse, key):
    """Every proper substring and every single-byte increment fails."""
    for bad in _manglings(key):
        with pytest.raises(NoteError):
            parse(bad)


def test_go_bad_verifier_keys_with_adjusted_hash():
    with pytest.raises(NoteError, match="Ed25519 key of 36 bytes"):  # wrong length
        Verifier.from_key_string(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(NoteError, match="unknown verifier key algorithm"):
        Verifier.from_key_string("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_generated_keys_are_self_consistent():
    s = Signer.generate("EnochRoot")
    v = Verifier.from_key_string(s.verifier().key_string())
    assert Signer.from_key_string(s.key_string()).key_hash == v.key_hash == s.key_hash
    sig = s.sign(b"hi")
    assert v.verify(b"hi", sig)
    assert not v.verify(b"hi", bytes([sig[0] ^ 1]) + sig[1:])
    assert not v.verify(b"hj", sig)


def test_key_hash_is_sha256_prefix():
    v = peter()
    digest = hashlib.sha256(b"PeterNeumann\n\x01" + v.public_key).digest()
    assert digest[:4] == bytes.fromhex("c74f20a3")


@pytest.mark.parametrize("name", ["", "a+b", "a b", "a\tb", "a\u3000b", "a\u200bb", "a\x00b", "a\ue000b"])
def test_bad_key_names_are_rejected(name):
    with pytest.raises(NoteError, match="invalid key name"):
        Signer(name, bytes(32))


def test_unicode_graphic_names_are_accepted():
    s = Signer("監査ログ.example", bytes(32))
    assert Verifier.from_key_string(s.verifier().key_string()).name == "監査ログ.example"


# ---- signing and opening (note_test.go TestSign, TestOpen) ----

def test_go_sign_vector():
    msg = sign_note(TEXT, [Signer.from_key_string(PETER_SKEY)])
    assert msg == (TEXT + "\n" + PETER_SIG).encode()


def test_sign_rejects_text_without_final_newline():
    with pytest.raises(NoteError, match="malformed note"):
        sign_note("abc", [Signer.from_key_string(PETER_SKEY)])


def test_go_open_one_verified_one_unknown():
    n = open_note((TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode(), [peter()])
    assert n.text == TEXT
    assert n.sigs == (PETER,)
    assert n.unverified_sigs == (ENOCH,)


def test_go_open_both_verified():
    n = open_note((TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode(), [peter(), enoch()])
    assert n.sigs == (PETER, ENOCH) and n.unverified_sigs == ()


def test_go_open_no_known_key():
    with pytest.raises(NoteError, match="no verifiable signatures") as e:
        open_note((TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode(), [])
    assert e.value.note.unverified_sigs == (PETER, ENOCH)
    assert "unknown key PeterNeumann+c74f20a3" in str(e.value)


def test_go_open_ambiguous_key_only_when_used():
    with pytest.raises(NoteError, match="ambiguous key EnochRoot\\+af0cfe78"):
        open_note((TEXT + "\n" + ENOCH_SIG).encode(), [enoch(), peter(), enoch()])
    assert open_note((TEXT + "\n" + PETER_SIG).encode(), [enoch(), peter(), enoch()]).sigs == (PETER,)


def test_go_open_too_many_signatures():
    for verifiers in ([peter()], []):
        with pytest.raises(NoteError, match="malformed note: more than 100"):
            open_note((TEXT + "\n" + PETER_SIG * 101).encode(), verifiers)
    assert open_note((TEXT + "\n" + PETER_SIG * 100).encode(), [peter()]).sigs == (PETER,)


def test_go_open_invalid_signature():
    msg = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="signature does not verify for key PeterNeumann\\+c74f20a3"):
        open_note(msg.encode(), [peter()])


def test_go_open_duplicates_dropped():
    enoch_abcd = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    msg = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd
    n = open_note(msg.encode(), [peter()])
    assert n.sigs == (PETER,)
    assert n.unverified_sigs == (ENOCH, Signature("EnochRoot", 0xAF0CFE78, enoch_abcd.split(" ")[2][:-1]))


@pytest.mark.parametrize("msg", [
    TEXT.encode(),
    (TEXT + "\n").encode(),
    (TEXT + "\n" + PETER_SIG[:-1]).encode(),
    ("\x01" + TEXT + "\n" + PETER_SIG).encode(),
    b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
    (TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
     "gKvqfqdngotpRZb6KE6RyyBwJnAM=").encode(),
    (TEXT + "\n" + PETER_SIG + "Unexpected line.\n").encode(),
])
def test_go_open_malformed_messages(msg):
    with pytest.raises(NoteError, match="malformed note"):
        open_note(msg, [peter()])


# ---- round trips and tampering ----

@pytest.fixture(scope="module")
def keys():
    return Signer.generate("audit.example/log"), Signer.generate("audit.example/witness")


def test_round_trip_one_and_two_keys(keys):
    a, b = keys
    text = format_checkpoint("audit.example/log", 3, merkle.EMPTY_ROOT)
    assert open_note(sign_note(text, [a]), [a.verifier()]).text == text
    n = open_note(sign_note(text, [a, b]), [a.verifier(), b.verifier()])
    assert [s.name for s in n.sigs] == [a.name, b.name]
    assert open_note(sign_note(text, [a, b]), [b.verifier()]).unverified_sigs[0].name == a.name


def test_flipped_byte_in_text_or_signature(keys):
    a, _ = keys
    msg = sign_note("hello\n", [a])
    with pytest.raises(NoteError, match="signature does not verify"):
        open_note(msg.replace(b"hello", b"hellp"), [a.verifier()])
    line = msg.split(b"\n")[-2]
    raw = bytearray(base64.b64decode(line.split(b" ")[-1]))
    raw[10] ^= 1
    bad = msg.replace(line.split(b" ")[-1], base64.b64encode(bytes(raw)))
    with pytest.raises(NoteError, match="signature does not verify"):
        open_note(bad, [a.verifier()])


def test_missing_blank_line(keys):
    a, _ = keys
    msg = sign_note("hello\n", [a])
    with pytest.raises(NoteError, match="malformed note"):
        open_note(msg.replace(b"\n\n", b"\n"), [a.verifier()])


def test_unknown_key_only_and_wrong_hash(keys):
    a, b = keys
    msg = sign_note("hello\n", [b])
    with pytest.raises(NoteError, match="unknown key audit.example/witness"):
        open_note(msg, [a.verifier()])
    # a known name with another key (hash) is an unknown key, not a known one
    impostor = Signer.generate(a.name)
    with pytest.raises(NoteError, match=re.escape(f"unknown key {impostor.key_id}")):
        open_note(sign_note("hello\n", [impostor]), [a.verifier()])


def test_key_ring_rotation(keys):
    old, new = keys
    ring = KeyRing()
    ring.add(old.verifier().key_string(), not_after=dt.date(2026, 6, 1))
    ring.add(new.verifier(), not_before=dt.date(2026, 5, 1))
    both = sign_note("cp\n", [old, new])
    at_overlap = dt.datetime(2026, 5, 15, tzinfo=UTC)
    assert len(open_note(both, ring, at=at_overlap).sigs) == 2
    with pytest.raises(NoteError, match="key audit.example/log\\+[0-9a-f]{8} expired on 2026-06-01"):
        open_note(sign_note("cp\n", [old]), ring, at=dt.datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(NoteError, match="not valid before 2026-05-01"):
        open_note(sign_note("cp\n", [new]), ring, at=dt.datetime(2026, 4, 30, tzinfo=UTC))
    assert open_note(sign_note("cp\n", [new]), ring, at=dt.datetime(2027, 1, 1, tzinfo=UTC)).sigs
    assert open_note(sign_note("cp\n", [old]), ring).sigs  # no time given: periods not checked
    with pytest.raises(NoteError, match="timezone-aware"):
        ring.add(old.verifier(), not_after=dt.datetime(2026, 1, 1))


def test_oversized_note_rejected(keys):
    a, _ = keys
    with pytest.raises(NoteError, match="larger than"):
        sign_note("x" * (1 << 20) + "\n", [a])


# ---- checkpoint body (C2SP tlog-checkpoint) ----

def test_checkpoint_spec_example_parses():
    """The example of https://c2sp.org/tlog-checkpoint."""
    cp = parse_checkpoint("example.com/behind-the-sofa\n20852163\n"
                          "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
    assert (cp.origin, cp.size, len(cp.root_hash), cp.extensions) == (
        "example.com/behind-the-sofa", 20852163, 32, ())


def test_checkpoint_round_trip():
    root = merkle.root([merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")])
    text = format_checkpoint("intranet.example/audit", 2, root, ["time 1764532800"])
    assert text == ("intranet.example/audit\n2\n" + base64.b64encode(root).decode()
                    + "\ntime 1764532800\n")
    cp = parse_checkpoint(text)
    assert (cp.origin, cp.size, cp.root_hash, cp.extensions) == (
        "intranet.example/audit", 2, root, ("time 1764532800",))
    assert parse_checkpoint(format_checkpoint("o", 0, merkle.EMPTY_ROOT)).size == 0


R = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize("text", [
    f"o\n1\n{R}",                       # no final newline
    "o\n1\n",                           # no root
    f"\n1\n{R}\n",                      # empty origin
    f"o\n01\n{R}\n",                    # leading zero
    f"o\n+1\n{R}\n",
    f"o\n 1\n{R}\n",
    f"o\n1_0\n{R}\n",
    f"o\n-1\n{R}\n",
    f"o\n{1 << 64}\n{R}\n",             # over uint64
    f"o\n1\n{base64.b64encode(bytes(31)).decode()}\n",
    f"o\n1\n{R[:-1]}\n",
    f"o\n1\n{R}\n\n",                   # empty extension line
    f"o\n1\n{R}\next\x01\n",
])
def test_checkpoint_parse_rejects(text):
    with pytest.raises(NoteError, match="malformed checkpoint"):
        parse_checkpoint(text)


def test_checkpoint_format_rejects():
    for args in [("", 1, bytes(32)), ("o\nx", 1, bytes(32)), ("o", -1, bytes(32)),
                 ("o", 1 << 64, bytes(32)), ("o", 1, bytes(31)), ("o", True, bytes(32))]:
        with pytest.raises(NoteError, match="malformed checkpoint"):
            format_checkpoint(*args)
    with pytest.raises(NoteError, match="empty extension"):
        format_checkpoint("o", 1, bytes(32), [""])
