"""C2SP signed notes and tlog checkpoint bodies with Ed25519 (issue 22,
second step).

Implements https://c2sp.org/signed-note ("note text", "signatures", "signed
note format", Ed25519 "verifier keys") with the key strings of the reference
implementation golang.org/x/mod/sumdb/note (``note.go``), and the note text
of https://c2sp.org/tlog-checkpoint ("note text": origin, tree size, root
hash, extension lines). Ed25519 comes from the ``cryptography`` package;
signing is deterministic, so the Go package's test vectors are reproduced
byte for byte (tests/unit/audit/test_signed_note.py).

A signed note is the text (UTF-8, ends with ``"\\n"``), a blank line, then one
line per signature: ``"— " name " " base64(key hash (4 bytes, big-endian) ||
Ed25519 signature)``, the prefix being U+2014 EM DASH and a space. The key
hash is the first four bytes of ``SHA-256(name || "\\n" || 0x01 || public
key)``; keys are written ``name+hash+base64(0x01 || public key)`` (verifier)
and ``PRIVATE+KEY+name+hash+base64(0x01 || seed)`` (signer).

Differences from the Go package, all stricter or additive:

- key names must also consist of graphic characters (no control, format,
  private-use or unassigned code points), not just lack spaces and ``+``;
- a message over :data:`MAX_NOTE_SIZE` bytes is rejected before parsing
  (the Go package has no byte limit; it caps signatures at 100, as here);
- :class:`KeyRing` adds a validity period per key for rotation
  (``open_note(..., at=...)``).

Every error is a :class:`NoteError` (a ``ValueError``) naming the problem,
with the Go package's wording where it has one ("malformed note", "unknown
key NAME+HASH", "ambiguous key NAME+HASH").
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
"""Signature type byte of Ed25519 keys (C2SP signed-note, "Ed25519")."""

SIG_PREFIX = "\u2014 "
"""Signature line prefix: U+2014 EM DASH, U+0020 SPACE (C2SP signed-note)."""

MAX_SIGNATURES = 100
"""As golang.org/x/mod/sumdb/note ``Open`` ("avoid spending forever parsing")."""

MAX_NOTE_SIZE = 1 << 20
"""Our own bound on a whole signed note (bytes); the Go package has none."""

_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_GRAPHIC = ("L", "M", "N", "P", "S")


class NoteError(ValueError):
    """A key, note or checkpoint is malformed or does not verify; the
    message names the problem. ``note`` holds the parsed :class:`Note` when
    the note was well formed but no known key verified it (as the Go
    package's ``UnverifiedNoteError``)."""

    def __init__(self, message: str, note: Note | None = None):
        super().__init__(message)
        self.note = note


def is_valid_name(name: str) -> bool:
    """A key name: non-empty, no ``+``, no whitespace, only graphic
    characters (Go ``isValidName`` plus the graphic rule)."""
    return (isinstance(name, str) and name != "" and "+" not in name
            and all(unicodedata.category(c)[0] in _GRAPHIC for c in name))


def key_hash(name: str, public_key: bytes) -> int:
    """``SHA-256(name || "\\n" || 0x01 || public_key)[:4]`` as a big-endian
    uint32 (Go ``keyHash``; C2SP signed-note, "signatures")."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode(s: str) -> bytes:
    """Standard base64 with padding (RFC 4648 §4), nothing else accepted."""
    if not _B64.fullmatch(s) or len(s) % 4:
        raise ValueError("not base64")
    return base64.b64decode(s, validate=True)


def _key_id(name: str, khash: int) -> str:
    return f"{name}+{khash:08x}"


def _parse_key(parts: list[str], what: str) -> tuple[str, int, bytes]:
    """``name``, ``hash``, ``base64(0x01 || key)`` → name, hash, 32 key bytes."""
    if len(parts) != 3:
        raise NoteError(f"malformed {what} key")
    name, hash16, key64 = parts
    if not is_valid_name(name):
        raise NoteError(f"malformed {what} key: invalid key name {name!r}")
    if not _HEX8.fullmatch(hash16):
        raise NoteError(f"malformed {what} key: key hash is not 8 hex digits")
    try:
        raw = _b64decode(key64)
    except (ValueError, binascii.Error):
        raise NoteError(f"malformed {what} key: key is not base64") from None
    if not raw:
        raise NoteError(f"malformed {what} key: empty key")
    if raw[0] != ALG_ED25519:
        raise NoteError(f"unknown {what} key algorithm {raw[0]:#04x}")
    if len(raw) != 33:
        raise NoteError(f"malformed {what} key: Ed25519 key of {len(raw) - 1} bytes")
    return name, int(hash16, 16), raw[1:]


class Verifier:
    """An Ed25519 verifier key: name, key hash and public key."""

    def __init__(self, name: str, public_key: bytes):
        if not is_valid_name(name):
            raise NoteError(f"invalid key name {name!r}")
        if len(public_key) != 32:
            raise NoteError(f"invalid public key size {len(public_key)}, expected 32")
        self.name = name
        self.public_key = bytes(public_key)
        self.key_hash = key_hash(name, self.public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self.public_key)

    @classmethod
    def from_key_string(cls, vkey: str) -> Verifier:
        """Parse ``name+hash+base64(0x01 || public key)`` (Go ``NewVerifier``)."""
        name, khash, pub = _parse_key(vkey.split("+", 2), "verifier")  # base64 may hold "+"
        v = cls(name, pub)
        if v.key_hash != khash:
            raise NoteError(f"invalid verifier key hash {khash:08x} for {name}")
        return v

    @property
    def key_id(self) -> str:
        """``name+hash``, as in error messages."""
        return _key_id(self.name, self.key_hash)

    def key_string(self) -> str:
        """``name+hash+base64(0x01 || public key)`` (Go ``NewEd25519VerifierKey``)."""
        b64 = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.key_id}+{b64}"

    def verify(self, msg: bytes, sig: bytes) -> bool:
        try:
            self._key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.key_string()!r})"


class Signer:
    """An Ed25519 signer key: name, key hash and the 32-byte seed."""

    def __init__(self, name: str, seed: bytes):
        if not is_valid_name(name):
            raise NoteError(f"invalid key name {name!r}")
        if len(seed) != 32:
            raise NoteError(f"invalid seed size {len(seed)}, expected 32")
        self.name = name
        self._seed = bytes(seed)
        self._key = Ed25519PrivateKey.from_private_bytes(self._seed)
        self.public_key = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_hash = key_hash(name, self.public_key)

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A new random key (Go ``GenerateKey``)."""
        key = Ed25519PrivateKey.generate()
        return cls(name, key.private_bytes(serialization.Encoding.Raw,
                                           serialization.PrivateFormat.Raw,
                                           serialization.NoEncryption()))

    @classmethod
    def from_key_string(cls, skey: str) -> Signer:
        """Parse ``PRIVATE+KEY+name+hash+base64(0x01 || seed)`` (Go
        ``NewSigner``); the hash is checked against the derived public key."""
        parts = skey.split("+", 4)
        if parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed signer key: no PRIVATE+KEY prefix")
        name, khash, seed = _parse_key(parts[2:], "signer")
        s = cls(name, seed)
        if s.key_hash != khash:
            raise NoteError(f"invalid signer key hash {khash:08x} for {name}")
        return s

    @property
    def key_id(self) -> str:
        return _key_id(self.name, self.key_hash)

    def key_string(self) -> str:
        """``PRIVATE+KEY+name+hash+base64(0x01 || seed)``. Secret."""
        b64 = base64.b64encode(bytes([ALG_ED25519]) + self._seed).decode()
        return f"PRIVATE+KEY+{self.key_id}+{b64}"

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.public_key)

    def sign(self, msg: bytes) -> bytes:
        return self._key.sign(msg)

    def __repr__(self) -> str:  # never the seed
        return f"Signer({self.key_id!r})"


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key hash and the base64 as written."""
    name: str
    key_hash: int
    base64: str

    @property
    def key_id(self) -> str:
        return _key_id(self.name, self.key_hash)


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the verified signatures and those by
    unknown keys (Go ``Note``)."""
    text: str
    sigs: tuple[Signature, ...] = ()
    unverified_sigs: tuple[Signature, ...] = ()


def _as_datetime(value: dt.date | dt.datetime | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        if value is not None and value.tzinfo is None:
            raise NoteError("validity bounds must be timezone-aware datetimes or dates")
        return value
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class TrustedKey:
    """A verifier with its validity period ``[not_before, not_after)``; a
    date means 00:00 UTC of that day; ``None`` means unbounded."""
    verifier: Verifier
    not_before: dt.date | dt.datetime | None = None
    not_after: dt.date | dt.datetime | None = None

    def check(self, at: dt.datetime) -> None:
        """Raise :class:`NoteError` unless the key was valid at ``at``."""
        if at.tzinfo is None:
            raise NoteError("the checkpoint time must be timezone-aware")
        start, end = _as_datetime(self.not_before), _as_datetime(self.not_after)
        if start is not None and at < start:
            raise NoteError(f"key {self.verifier.key_id} not valid before {start.isoformat()}")
        if end is not None and at >= end:
            raise NoteError(f"key {self.verifier.key_id} expired on {end.isoformat()}")


@dataclass
class KeyRing:
    """The verifiers a reader trusts, each with a validity period, for key
    rotation: a new key is added with ``not_before`` while the old one gets
    ``not_after``, and the log signs with both during the overlap.

    With ``open_note(msg, ring, at=t)``, a signature by a known key that was
    not valid at ``t`` (the time the checkpoint claims, e.g. when it was
    signed) is an error, even if another key verified: the log never signs
    with a retired key, so such a signature means the retired key is being
    used by someone. Without ``at`` periods are not checked.
    """
    keys: list[TrustedKey] = field(default_factory=list)

    def add(self, verifier: Verifier | str, not_before=None, not_after=None) -> TrustedKey:
        if isinstance(verifier, str):
            verifier = Verifier.from_key_string(verifier)
        for bound in (not_before, not_after):
            _as_datetime(bound)  # reject naive datetimes now, not at first use
        key = TrustedKey(verifier, not_before, not_after)
        self.keys.append(key)
        return key

    def lookup(self, name: str, khash: int) -> TrustedKey | None:
        """The key with this name and hash; ``None`` if unknown; an error if
        listed twice (Go ``VerifierList``'s "ambiguous key")."""
        found = [k for k in self.keys if k.verifier.name == name and k.verifier.key_hash == khash]
        if len(found) > 1:
            raise NoteError(f"ambiguous key {_key_id(name, khash)}")
        return found[0] if found else None


def _check_text(text: str) -> None:
    """UTF-8 text without ASCII control characters except newline."""
    if any(c < " " and c != "\n" for c in text):
        raise NoteError("malformed note: control character")


def sign_note(text: str, signers: Sequence[Signer]) -> bytes:
    """Sign ``text`` with each signer, in order (Go ``Sign`` for a new note;
    C2SP signed-note, "signed note format"): the text, a blank line and one
    ``— name base64(hash || signature)`` line per signer."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("malformed note: text must end with a newline")
    _check_text(text)
    if not signers:
        raise NoteError("no signers")
    body = text.encode()
    lines = []
    for s in signers:
        if not is_valid_name(s.name):
            raise NoteError("invalid signer")
        blob = s.key_hash.to_bytes(4, "big") + s.sign(body)
        lines.append(f"{SIG_PREFIX}{s.name} {base64.b64encode(blob).decode()}\n")
    msg = body + b"\n" + "".join(lines).encode()
    if len(msg) > MAX_NOTE_SIZE:
        raise NoteError(f"note larger than {MAX_NOTE_SIZE} bytes")
    return msg


def open_note(msg: bytes, verifiers: KeyRing | Iterable[Verifier],
              at: dt.datetime | None = None) -> Note:
    """Parse and verify a signed note (Go ``Open``).

    Each signature by a known key (name and hash) must verify, else
    "signature does not verify for key NAME+HASH"; signatures by unknown
    keys are kept in ``Note.unverified_sigs``, but at least one known key
    must have verified ("note has no verifiable signatures"). Repeated
    signatures by one key are dropped. With ``at``, known keys must have
    been valid then (:class:`KeyRing`).
    """
    ring = verifiers if isinstance(verifiers, KeyRing) else KeyRing([TrustedKey(v) for v in verifiers])
    if len(msg) > MAX_NOTE_SIZE:
        raise NoteError(f"malformed note: larger than {MAX_NOTE_SIZE} bytes")
    try:
        decoded = msg.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("malformed note: not UTF-8") from None
    _check_text(decoded)
    split = msg.rfind(b"\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, sigs = msg[:split + 1], msg[split + 2:]
    if not sigs or not sigs.endswith(b"\n"):
        raise NoteError("malformed note: no signature lines or no final newline")
    lines = sigs.decode()[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")

    verified: list[Signature] = []
    unknown: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    seen_unknown: set[str] = set()
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"malformed note: signature line without the em dash prefix: {line[:40]!r}")
        line = line[len(SIG_PREFIX):]
        name, _, b64 = line.partition(" ")
        try:
            raw = _b64decode(b64)
        except (ValueError, binascii.Error):
            raw = b""
        if not is_valid_name(name) or len(raw) < 5:
            raise NoteError(f"malformed note: bad signature line for {name[:40]!r}")
        khash, sig = int.from_bytes(raw[:4], "big"), raw[4:]
        entry = Signature(name, khash, b64)
        key = ring.lookup(name, khash)
        if key is None:
            if line not in seen_unknown:
                seen_unknown.add(line)
                unknown.append(entry)
            continue
        if (name, khash) in seen:
            continue
        seen.add((name, khash))
        if not key.verifier.verify(text, sig):
            raise NoteError(f"signature does not verify for key {entry.key_id}")
        if at is not None:
            key.check(at)
        verified.append(entry)

    note = Note(text.decode(), tuple(verified), tuple(unknown))
    if not verified:
        names = ", ".join(s.key_id for s in unknown)
        raise NoteError(f"note has no verifiable signatures (unknown key {names})", note)
    return note


# ---- tlog checkpoint body (C2SP tlog-checkpoint, "note text") ----


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint body: origin, tree size, root hash, extension lines."""
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def _check_line(value: str, what: str) -> None:
    if not isinstance(value, str) or value == "":
        raise NoteError(f"malformed checkpoint: empty {what}")
    if "\n" in value or any(c < " " for c in value):
        raise NoteError(f"malformed checkpoint: control character in {what}")


def format_checkpoint(origin: str, size: int, root_hash: bytes, extensions: Iterable[str] = ()) -> str:
    """``origin\\nsize\\nbase64(root)\\n`` then one line per extension
    (C2SP tlog-checkpoint, "note text"); the result is a note text."""
    _check_line(origin, "origin")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 1 << 64:
        raise NoteError(f"malformed checkpoint: tree size {size!r}")
    if len(root_hash) != 32:
        raise NoteError(f"malformed checkpoint: root hash of {len(root_hash)} bytes, expected 32")
    extensions = tuple(extensions)
    for ext in extensions:
        _check_line(ext, "extension line")
    lines = [origin, str(size), base64.b64encode(bytes(root_hash)).decode(), *extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body strictly: non-empty origin, decimal size
    without leading zeros below 2**64, canonical base64 of a 32-byte root,
    non-empty extension lines, final newline."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("malformed checkpoint: no final newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("malformed checkpoint: fewer than three lines")
    origin, size_s, root_s, *extensions = lines
    _check_line(origin, "origin")
    if not _DECIMAL.fullmatch(size_s) or int(size_s) >= 1 << 64:
        raise NoteError(f"malformed checkpoint: tree size {size_s[:30]!r}")
    try:
        root_hash = _b64decode(root_s)
    except (ValueError, binascii.Error):
        raise NoteError("malformed checkpoint: root hash is not base64") from None
    if len(root_hash) != 32 or base64.b64encode(root_hash).decode() != root_s:
        raise NoteError(f"malformed checkpoint: root hash of {len(root_hash)} bytes, expected 32")
    for ext in extensions:
        _check_line(ext, "extension line")
    return Checkpoint(origin, int(size_s), root_hash, tuple(extensions))
