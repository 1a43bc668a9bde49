"""Verify an inspection package with the log's public key alone (issue 22).

``intranet audit verify-package PACKAGE --public-key FILE`` runs this, and so
does ``docs/verify_inspection_package.py``: the same code, with the Merkle
and signed-note functions it uses pasted in (:mod:`intranet.audit.standalone`
builds it), for an inspector's own machine with Python and ``cryptography``
and nothing else. No secret is needed and none helps: the HMAC key of
``verify-export`` is not asked for.

What a package of format ``intranet-inspection-export/3`` proves, and how
(docs/audit.md, "Evidence without the key"):

1. ``MANIFEST.sig`` is a signed note (C2SP) by a trusted key, valid at the
   package's time, over the SHA-256 of ``MANIFEST``; the manifest lists every
   other member's size and SHA-256, and no member is missing or added.
2. ``tlog/checkpoint.end`` is a signed checkpoint (C2SP tlog-checkpoint) of
   the log named in the manifest, by a trusted key valid at its ``time``.
   Every entry of the organisation between ``tlog/checkpoint.start`` (the
   last checkpoint before the period; none: from the log's first entry) and
   the end checkpoint is in the package: in ``access_log/entries.csv`` if it
   occurred in the period, else in ``tlog/context_entries.jsonl``.
   ``tlog/org_chain.csv`` gives, for each, the organisation's previous leaf
   hash and an RFC 6962 inclusion proof against the end checkpoint: each
   leaf (``org_prev "\\n" canonical bytes``) must verify, each must name the
   previous one's leaf hash, the first the start checkpoint's head of the
   organisation, the last the end checkpoint's head. An entry left out
   breaks the chain; an entry added has no place in it.
3. ``tlog/consistency.csv``: the end checkpoint's tree extends the start
   checkpoint's and, if the auditor gave one, the previous inspection's
   checkpoint (``tlog/checkpoint.previous``, also signed).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import csv
import datetime as dt
import hashlib
import io
import json
import os
import sys
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from .merkle import HASH_SIZE, ProofError, verify_consistency, verify_inclusion
from .signed_note import KeyRing, NoteError, open_note, parse_checkpoint

FORMAT = "intranet-inspection-export/3"
MANIFEST = "MANIFEST"
MANIFEST_SIG = "MANIFEST.sig"
#: The first line of the note signing the manifest's SHA-256 (never a log's origin).
MANIFEST_ORIGIN = "intranet-inspection-manifest"
ENTRIES = "access_log/entries.csv"
CASES = "access_log/disclosed_cases.csv"
END_CHECKPOINT = "tlog/checkpoint.end"
START_CHECKPOINT = "tlog/checkpoint.start"
PREVIOUS_CHECKPOINT = "tlog/checkpoint.previous"
ORG_CHAIN = "tlog/org_chain.csv"
CONTEXT = "tlog/context_entries.jsonl"
CONSISTENCY = "tlog/consistency.csv"
ORG_CHAIN_COLUMNS = ("seq", "in_period", "org_prev", "leaf_hash", "inclusion_proof")
CONSISTENCY_COLUMNS = ("from", "from_size", "to_size", "proof")

#: The fields of an entry's canonical bytes (intranet.audit.chain.FIELDS).
FIELDS = (
    "seq", "kind", "event", "occurred_at", "request_id", "user_id", "login", "roles",
    "organisation", "session_id", "client_addr", "user_agent", "method", "path", "query",
    "view_name", "context_type", "context_id", "permission", "outcome", "status",
    "duration_us", "facets", "case_count", "detail",
)
INT_FIELDS = frozenset({"seq", "user_id", "session_id", "status", "duration_us", "case_count"})
ZERO = "0" * 64
NO_ORGANISATION = "(none)"
#: A cell starting with one of these was written with a quote in front
#: (intranet.tabular: a spreadsheet would take it for a formula).
FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")
MAX_PROBLEMS = 20


# ---------------------------------------------------------------- formats


def manifest_note_text(manifest: bytes) -> str:
    return f"{MANIFEST_ORIGIN}\n{hashlib.sha256(manifest).hexdigest()}\n"


def checkpoint_time(checkpoint) -> dt.datetime:
    """The ``time`` extension line of one of this log's checkpoints (UTC)."""
    for line in checkpoint.extensions:
        if line.startswith("time "):
            text = line[5:]
            if not text.endswith("Z"):
                break
            return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.timezone.utc)
    raise NoteError("checkpoint has no time line")


def checkpoint_org_heads(checkpoint) -> dict[str, tuple[int, str]]:
    """``{organisation key: (seq, leaf hash hex)}`` from the ``org`` lines."""
    heads = {}
    for line in checkpoint.extensions:
        if line.startswith("org "):
            parts = line.split(" ")
            if len(parts) != 4:
                raise NoteError(f"malformed org line {line[:60]!r}")
            heads[parts[1]] = (int(parts[2]), base64.b64decode(parts[3], validate=True).hex())
    return heads


def org_key(code: str | None) -> str:
    from urllib.parse import quote

    return NO_ORGANISATION if code is None else quote(code, safe="")


def leaf_hash_of(org_prev: str, content: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + org_prev.encode("ascii") + b"\n" + content).digest()


def encode_proof(hashes) -> str:
    return base64.b64encode(b"".join(hashes)).decode("ascii")


def decode_proof(text: str) -> list[bytes]:
    raw = base64.b64decode(text, validate=True)
    if len(raw) % HASH_SIZE:
        raise ProofError(f"proof of {len(raw)} bytes is not a list of {HASH_SIZE}-byte hashes")
    return [raw[i:i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)]


def _unquote(text: str) -> str:
    if text.startswith("'") and text.lstrip("'")[:1] in FORMULA_STARTS:
        return text[1:]
    return text



# ---------------------------------------------------------------- keys


def load_key_ring(text: str) -> KeyRing:
    """Trusted keys, one a line: ``NAME+HASH+KEY [NOT-BEFORE [NOT-AFTER]]``
    (dates YYYY-MM-DD, UTC; ``-``: unbounded); ``#`` starts a comment."""
    ring = KeyRing()
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) > 3:
            raise NoteError(f"public key file, line {number}: too many words")
        bounds = [None if w == "-" else dt.date.fromisoformat(w) for w in words[1:]] + [None, None]
        ring.add(words[0], bounds[0], bounds[1])
    if not ring.keys:
        raise NoteError("the public key file holds no key")
    return ring


# ---------------------------------------------------------------- verdict


@dataclass
class Verdict:
    ok: bool = True
    problems: list[tuple[str, str]] = field(default_factory=list)  # (Japanese, English)
    facts: list[tuple[str, str]] = field(default_factory=list)
    entries: int = 0

    def problem(self, ja: str, en: str) -> None:
        self.ok = False
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((ja, en))
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append(("問題が多すぎるため以降は省略します", "too many problems; the rest are not listed"))

    def __str__(self) -> str:
        if self.ok:
            lines = ["検証成功: この調査パッケージは公開鍵で検証できました。",
                     "VERIFIED: this inspection package verifies with the public key."]
        else:
            lines = ["検証失敗: この調査パッケージは検証できません。",
                     "NOT VERIFIED: this inspection package does not verify."]
            for ja, en in self.problems:
                lines += [f"  - {ja}", f"    {en}"]
        for ja, en in self.facts:
            lines += [f"  * {ja}", f"    {en}"]
        return "\n".join(lines)


class _Proofs:
    """Inclusion proofs of leaves in order against one root, each checked in
    full unless it shares its upper part (above the leaf's block of 16) with
    the previous proof and its block's node matches that proof's: then only
    the 4 lower steps are hashed. Any changed byte in a proof takes the full
    check (and fails it)."""

    def __init__(self, size: int, root: bytes):
        self.size, self.root = size, root
        self.known: tuple | None = None  # (block, upper proof bytes, block node)

    def check(self, leaf: bytes, index: int, raw: bytes) -> None:
        """``raw``: the proof's hashes, concatenated."""
        if len(raw) % HASH_SIZE:
            raise ProofError(f"proof of {len(raw)} bytes is not a list of {HASH_SIZE}-byte hashes")
        block = index >> 4
        if (index | 15) < self.size and len(raw) >= 4 * HASH_SIZE:
            h, sha256 = leaf, hashlib.sha256
            for level in range(4):  # (node_hash inlined: the verifier's inner loop)
                sibling = raw[level * HASH_SIZE:(level + 1) * HASH_SIZE]
                h = sha256(b"\x01" + sibling + h if index >> level & 1 else b"\x01" + h + sibling).digest()
            upper = raw[4 * HASH_SIZE:]
            known = self.known
            if known is not None and known[0] == block and known[2] == h and known[1] == upper:
                return
            verify_inclusion(leaf, index, self.size, _hashes(raw), self.root)
            self.known = (block, upper, h)
            return
        verify_inclusion(leaf, index, self.size, _hashes(raw), self.root)


def _hashes(raw: bytes) -> list[bytes]:
    return [raw[i:i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)]


# ---------------------------------------------------------------- checking


def _open_checkpoint(data: bytes, ring: KeyRing, origin: str, what: str, verdict: Verdict):
    """The checkpoint body of a signed note, or None (problem recorded)."""
    try:
        text = data.split(b"\n\n", 1)[0].decode("utf-8") + "\n"
        body = parse_checkpoint(text)
        at = checkpoint_time(body)
        open_note(data, ring, at=at)
    except (NoteError, ValueError, UnicodeDecodeError) as exc:
        verdict.problem(f"{what}の署名付きチェックポイントを検証できません: {exc}",
                        f"the {what_en(what)} signed checkpoint does not verify: {exc}")
        return None
    if body.origin != origin:
        verdict.problem(f"{what}のチェックポイントは別のログのものです（{body.origin}）",
                        f"the {what_en(what)} checkpoint is of another log ({body.origin})")
        return None
    return body


def what_en(what: str) -> str:
    return {"終了": "end", "開始": "start", "前回調査": "previous inspection's"}.get(what, what)


def manifest_lines(text: str) -> tuple[dict[str, str], list[tuple[str, int, str]]]:
    """The manifest's ``name: value`` lines and its ``file: sha256 size path``
    lines as ``(path, size, sha256)`` (also read by ``verify-export``)."""
    values, files = {}, []
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        if name == "file":
            sha, size, path = value.split(" ", 2)
            files.append((path, int(size), sha))
        else:
            values[name] = value
    return values, files


def _read_manifest(archive, ring: KeyRing, verdict: Verdict):
    try:
        raw = archive.read(MANIFEST)
        values, files = manifest_lines(raw.decode("utf-8"))
    except (KeyError, UnicodeDecodeError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        verdict.problem(f"MANIFEST がないか読めません: {exc}", f"MANIFEST missing or unreadable: {exc}")
        return None, None
    try:
        signed = archive.read(MANIFEST_SIG)
        at = dt.datetime.fromisoformat(values["generated_at"]).astimezone(dt.timezone.utc)
        note = open_note(signed, ring, at=at)
        if note.text != manifest_note_text(raw):
            raise NoteError("the signed digest is not the MANIFEST's SHA-256 (MANIFEST edited)")
    except (KeyError, ValueError, NoteError, zipfile.BadZipFile, zlib.error) as exc:
        verdict.problem(f"MANIFEST の署名を検証できません: {exc}", f"the MANIFEST signature does not verify: {exc}")
    if values.get("format") != FORMAT:
        verdict.problem(f"この形式は公開鍵で検証できません（{values.get('format')}）",
                        f"this format cannot be verified with a public key ({values.get('format')}); "
                        "packages made before issue 22 verify with `intranet audit verify-export`")
        return None, None
    return values, files


def member_problems(archive, files) -> list[tuple[str, str]]:
    """``(Japanese, English)`` for each member not as the manifest lists it
    (``files``: ``(path, size, sha256)``): added, missing, unreadable, or of
    another size or SHA-256. Also used by ``verify-export``."""
    problems = []
    names = set(archive.namelist()) - {MANIFEST, MANIFEST_SIG}
    listed = {p for p, _, _ in files}
    for name in sorted(names - listed):
        problems.append((f"{name}: MANIFEST にないファイルです", f"{name}: not in the manifest"))
    for name in sorted(listed - names):
        problems.append((f"{name}: ファイルがありません", f"{name}: missing"))
    for name, size, sha in files:
        if name not in names:
            continue
        digest, length = hashlib.sha256(), 0
        try:
            with archive.open(name) as f:
                while block := f.read(1 << 20):
                    digest.update(block)
                    length += len(block)
        # CRC errors land here, and corrupt deflate data as zlib.error
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            problems.append((f"{name}: 読めません（{exc}）", f"{name}: unreadable ({exc})"))
            continue
        if length != size or digest.hexdigest() != sha:
            problems.append((f"{name}: SHA-256 または大きさが MANIFEST と違います",
                             f"{name}: SHA-256 or size differs from the manifest"))
    return problems


def _consistency(archive, checkpoints: dict, verdict: Verdict) -> None:
    end = checkpoints["end"]
    wanted = {name for name in ("start", "previous") if checkpoints.get(name) is not None}
    with archive.open(CONSISTENCY) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        if tuple(next(reader, ())) != CONSISTENCY_COLUMNS:
            verdict.problem(f"{CONSISTENCY}: 見出しが違います", f"{CONSISTENCY}: unexpected header")
            return
        for row in reader:
            name = row[0]
            old = checkpoints.get(name)
            if old is None or name not in wanted:
                verdict.problem(f"{CONSISTENCY}: 不明な行 {name}", f"{CONSISTENCY}: unexpected row {name}")
                continue
            wanted.discard(name)
            try:
                if (int(row[1]), int(row[2])) != (old.size, end.size):
                    raise ProofError(f"the proof is for sizes {row[1]}..{row[2]}, "
                                     f"the checkpoints are {old.size}..{end.size}")
                verify_consistency(old.size, end.size, old.root_hash, end.root_hash,
                                   decode_proof(_unquote(row[3])))
            except (ProofError, ValueError, binascii.Error) as exc:
                verdict.problem(f"{name} から終了チェックポイントまでの一貫性証明が検証できません: {exc}",
                                f"the consistency proof from the {name} checkpoint to the end one "
                                f"does not verify: {exc}")
            else:
                verdict.facts.append((
                    f"{'前回調査' if name == 'previous' else '開始'}のチェックポイント（{old.size}件）から"
                    f"終了のチェックポイント（{end.size}件）まで、ログは書き換えられず追記のみです",
                    f"the log at the end checkpoint ({end.size} entries) extends the "
                    f"{'previous inspection' if name == 'previous' else 'start'} checkpoint "
                    f"({old.size} entries) without change"))
    for name in sorted(wanted):
        verdict.problem(f"{name} からの一貫性証明がありません", f"no consistency proof from the {name} checkpoint")


class _RowContent:
    """An ``entries.csv`` row's canonical bytes, organisation and time: each
    cell written as the log's JSON encoder writes it (text through the
    encoder's own C string function), the pieces joined by one template in
    sorted-key order (the verifier's inner loop)."""

    def __init__(self, header: list[str]):
        index = {name: n for n, name in enumerate(header)}
        self.columns = [(name, index[name], 1 if name in INT_FIELDS else 2 if name == "occurred_at" else 0)
                        for name in _SORTED if name != "cases"]
        self.empty_at = index["empty_strings"]
        self.org_at, self.at_at = index["organisation"], index["occurred_at"]
        self.template = "{" + ",".join(f'"{name}":%s' for name in _SORTED) + "}"

    def __call__(self, row: list[str], cases: str) -> tuple[bytes, str | None, dt.datetime]:
        parts = []
        append = parts.append
        empty = row[self.empty_at]
        at = None
        for name, n, kind in self.columns:
            value = row[n]
            if not value:
                append('""' if empty and name in empty.split() else "null")
            elif not kind:
                append(_string(_unquote(value) if value[0] == "'" else value))
            elif kind == 1:
                append(repr(int(value)))
            else:
                at = dt.datetime.fromisoformat(value)
                append('"' + at.isoformat(timespec="microseconds") + '"')
        parts.insert(_CASES_AT, cases)
        organisation = row[self.org_at]
        if organisation and organisation[0] == "'":
            organisation = _unquote(organisation)
        return (self.template % tuple(parts)).encode("utf-8"), organisation or None, at


_SORTED = tuple(sorted((*FIELDS, "cases")))
_CASES_AT = _SORTED.index("cases")
_string = json.encoder.encode_basestring


def _csv_rows(archive, name: str):
    raw = archive.open(name)
    return csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))


def _case_groups(archive):
    """``(entry seq, rows)`` of disclosed_cases.csv in order, and a function
    giving the rows' JSON as the canonical bytes hold it."""
    from itertools import groupby

    reader = _csv_rows(archive, CASES)
    index = {name: n for n, name in enumerate(next(reader, []))}
    seq_at, id_at, no_at = index["entry_seq"], index["case_id"], index["case_no"]

    def as_json(rows) -> str:
        return "[" + ",".join(f"[{int(r[id_at])!r},{_string(_unquote(r[no_at]))}]" for r in rows) + "]"
    return groupby(reader, key=lambda r: int(r[seq_at])), as_json


@dataclass
class _Part:
    """What one pass over the package found for the entries in ``(lo, hi]``."""
    problems: list = field(default_factory=list)
    count: int = 0        # chain rows in the part
    in_package: int = 0   # of which in entries.csv
    last_leaf: str | None = None  # the whole chain's last leaf (the last part only)


def _check_part(path, values: dict, start_size: int, start_head: str, end_size: int, end_root: bytes,
                lo: int, hi: int, last: bool) -> _Part:
    """One pass over the organisation's chain and its entries, checking in
    full the entries numbered in ``(lo, hi]``: each row in order and linked
    to the previous one (the first to ``start_head``), paired with its entry
    (``entries.csv`` with its cases, or a context line), whose content gives
    its leaf hash, of the organisation, in or out of the period as said, and
    in the end checkpoint's tree by its proof. Several processes each take a
    part (each reads the whole files; deflate streams cannot be entered in
    the middle); the last one also checks what is left over."""
    part = _Part()
    problems = part.problems

    def problem(ja, en):
        if len(problems) <= MAX_PROBLEMS:
            problems.append((ja, en))

    code = values["organisation"]
    period_start, period_end = _period_bounds(values)
    proofs = _Proofs(end_size, end_root)
    sha256, b64decode = hashlib.sha256, base64.b64decode
    with zipfile.ZipFile(path) as archive:
        entries = _csv_rows(archive, ENTRIES)
        header = next(entries, [])
        try:
            encode = _RowContent(header)
        except KeyError as exc:
            problem(f"{ENTRIES}: 列 {exc} がありません", f"{ENTRIES}: no column {exc}")
            return part
        seq_at = header.index("seq")
        groups, cases_json = _case_groups(archive)
        next_cases = next(groups, None)
        context = archive.open(CONTEXT)
        next_context = context.readline()
        next_entry = next(entries, None)
        # (ASCII cells without commas or quotes: split, four times faster than the csv module)
        chain_rows = io.BufferedReader(archive.open(ORG_CHAIN), 1 << 20)
        if chain_rows.readline().rstrip(b"\r\n").split(b",") != [c.encode() for c in ORG_CHAIN_COLUMNS]:
            problem(f"{ORG_CHAIN}: 見出しが違います", f"{ORG_CHAIN}: unexpected header")
            return part
        last_seq, expected = start_size, start_head
        for line in chain_rows:
            try:
                text, flag, org_prev, stored_leaf, proof = line.rstrip(b"\r\n").decode("ascii").split(",")
                seq, in_period = int(text), flag == "1"
            except (ValueError, UnicodeDecodeError) as exc:
                problem(f"{ORG_CHAIN}: 読めない行 {line[:12]!r}（{exc}）",
                        f"{ORG_CHAIN}: unreadable row {line[:12]!r} ({exc})")
                return part
            mine = lo < seq <= hi
            source = None
            if in_period:
                if next_entry is not None and next_entry[seq_at] == text:
                    disclosed = "[]"
                    if next_cases is not None and next_cases[0] == seq:
                        if mine:
                            disclosed = cases_json(next_cases[1])
                        next_cases = next(groups, None)
                    source = (next_entry, disclosed)
                    next_entry = next(entries, None)
                elif mine:
                    problem(f"エントリ {seq}: entries.csv にありません（除かれたエントリ）",
                            f"entry {seq}: missing from entries.csv (an entry was left out)")
            else:
                data = next_context.rstrip(b"\n")
                if data and json.loads(data).get("seq") == seq:
                    source = data
                    next_context = context.readline()
                elif mine:
                    problem(f"エントリ {seq}: {CONTEXT} にありません", f"entry {seq}: missing from {CONTEXT}")
            if mine:
                if not last_seq < seq <= end_size:
                    problem(f"エントリ {seq}: 順序が違うか範囲外です",
                            f"entry {seq}: out of order or outside the checkpoints' range")
                if org_prev != expected:
                    problem(f"エントリ {seq}: 組織のチェーンが途切れています（前のエントリが欠けています）",
                            f"entry {seq}: the organisation's chain is broken (an entry before it is missing)")
                if source is not None:
                    part.count += 1
                    if in_period:
                        part.in_package += 1
                        data, organisation, occurred = encode(*source)
                    else:
                        content = json.loads(data)
                        organisation = content.get("organisation")
                        occurred = dt.datetime.fromisoformat(content["occurred_at"])
                    leaf = sha256(b"\x00" + org_prev.encode("ascii") + b"\n" + data).digest()
                    if leaf.hex() != stored_leaf:
                        problem(f"エントリ {seq}: 内容がリーフハッシュと一致しません（改変）",
                                f"entry {seq}: its content does not match its leaf hash (altered)")
                    if organisation != code:
                        problem(f"エントリ {seq}: この組織のエントリではありません",
                                f"entry {seq}: not an entry of this organisation")
                    if (period_start <= occurred < period_end) != in_period:
                        problem(f"エントリ {seq}: 期間内外の区分が日時と合いません",
                                f"entry {seq}: in or out of the period, against its time")
                    try:
                        proofs.check(leaf, seq - 1, b64decode(_unquote(proof), validate=True))
                    except (ProofError, ValueError, binascii.Error) as exc:
                        problem(f"エントリ {seq}: 包含証明が検証できません: {exc}",
                                f"entry {seq}: the inclusion proof does not verify: {exc}")
                if len(problems) > MAX_PROBLEMS:
                    return part
            last_seq, expected = seq, stored_leaf  # (each part confirms its rows' leaf hashes)
        if last:
            part.last_leaf = expected
            if next_entry is not None:
                problem(f"エントリ {next_entry[seq_at]}: 組織のチェーンにないエントリです（追加されたエントリ）",
                        f"entry {next_entry[seq_at]}: not in the organisation's chain (an added entry)")
            if next_cases is not None:
                problem(f"エントリ {next_cases[0]} の閲覧案件: 対応するエントリがありません",
                        f"disclosed cases of entry {next_cases[0]} belong to no exported entry")
            if next_context:
                problem(f"{CONTEXT}: 組織のチェーンにないエントリがあります",
                        f"{CONTEXT}: an entry that is not in the organisation's chain")
    return part


def _period_bounds(values: dict) -> tuple[dt.datetime, dt.datetime]:
    """The period's bounds in UTC (naive, as the log stores times)."""
    period = values["period"].split(" ")[0]
    date_from, date_to = (dt.date.fromisoformat(d) for d in period.split(".."))
    jst = dt.timezone(dt.timedelta(hours=9))

    def utc(day):
        return dt.datetime.combine(day, dt.time(), jst).astimezone(dt.timezone.utc).replace(tzinfo=None)
    return utc(date_from), utc(date_to + dt.timedelta(days=1))


#: Packages of at least this many entries are checked by several processes.
PARALLEL_ENTRIES = 20_000


def _walk(path, values: dict, checkpoints: dict, verdict: Verdict, workers: int | None = None) -> None:
    """The organisation's chain from the start checkpoint to the end one, in
    ``workers`` parts (processes) for a large package."""
    end, start = checkpoints["end"], checkpoints.get("start")
    key = org_key(values["organisation"])
    period_start, _ = _period_bounds(values)
    start_size = start.size if start else 0
    start_head = checkpoint_org_heads(start).get(key, (0, ZERO))[1] if start else ZERO
    if start is not None and checkpoint_time(start).replace(tzinfo=None) > period_start:
        verdict.problem("開始のチェックポイントが期間の始まりより後です",
                        "the start checkpoint is later than the period's start")
    workers = workers or os.cpu_count() or 1
    if workers < 2 or int(values.get("entries", 0)) < PARALLEL_ENTRIES:
        workers = 1
    bounds = [start_size + (end.size - start_size) * k // workers for k in range(workers + 1)]
    bounds[0], bounds[-1] = -1, 1 << 63  # (rows out of range: the first or the last part reports them)
    args = [(path, values, start_size, start_head, end.size, end.root_hash, bounds[k], bounds[k + 1],
             k == workers - 1) for k in range(workers)]
    if workers == 1:
        parts = [_check_part(*args[0])]
    else:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_check_part, *zip(*args)))
    for part in parts:
        for problem in part.problems:
            verdict.problem(*problem)
    count, in_package = sum(p.count for p in parts), sum(p.in_package for p in parts)
    head = checkpoint_org_heads(end).get(key, (0, ZERO))[1]
    if parts[-1].last_leaf != head:
        verdict.problem("組織のチェーンの末尾が終了チェックポイントの先頭と一致しません（エントリが欠けています）",
                        "the organisation's chain does not end at the end checkpoint's head "
                        "(entries are missing)")
    if in_package != int(values.get("entries", -1)):
        verdict.problem(f"entries.csv の {in_package} 件が MANIFEST の {values.get('entries')} 件と違います",
                        f"{in_package} entries in entries.csv, the manifest says {values.get('entries')}")
    verdict.entries = in_package
    if verdict.ok:
        end_time = checkpoint_time(end).replace(tzinfo=None)
        code = values["organisation"]
        verdict.facts.append((
            f"組織 {code} のエントリは、開始のチェックポイント（{start_size}件）から終了のチェックポイント"
            f"（{end.size}件、{end_time:%Y-%m-%d %H:%M:%S} UTC）までの {count} 件がすべて含まれ、うち期間内は"
            f" {in_package} 件です",
            f"every entry of {code} from the start checkpoint ({start_size} entries) to the end "
            f"checkpoint ({end.size} entries, {end_time:%Y-%m-%d %H:%M:%S} UTC) is in the package: "
            f"{count}, of which {in_package} in the period"))


def verify_package(path, ring: KeyRing, *, workers: int | None = None) -> Verdict:
    """Check a package with trusted public keys only; every problem found is
    in the verdict (none is skipped: there is no option to skip a check).
    ``workers``: processes checking the entries of a large package (default
    ``os.cpu_count()``)."""
    verdict = Verdict()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        verdict.problem(f"ZIP として読めません: {exc}", f"not a readable ZIP: {exc}")
        return verdict
    with archive:
        values, files = _read_manifest(archive, ring, verdict)
        if values is None:
            return verdict
        for problem in member_problems(archive, files):
            verdict.problem(*problem)
        if not verdict.ok:
            return verdict  # the members below are not the ones the manifest names
        origin = values.get("tlog_origin", "")
        checkpoints = {"end": _open_checkpoint(archive.read(END_CHECKPOINT), ring, origin, "終了", verdict)}
        names = set(archive.namelist())
        for name, member, what in (("start", START_CHECKPOINT, "開始"),
                                   ("previous", PREVIOUS_CHECKPOINT, "前回調査")):
            if member in names:
                checkpoints[name] = _open_checkpoint(archive.read(member), ring, origin, what, verdict)
                if checkpoints[name] is None:
                    return verdict
        if checkpoints["end"] is None:
            return verdict
        if PREVIOUS_CHECKPOINT not in names:
            verdict.facts.append(("前回調査のチェックポイントは指定されていません",
                                  "no previous inspection's checkpoint was given"))
        try:
            _consistency(archive, checkpoints, verdict)
            _walk(path, values, checkpoints, verdict, workers)
        except (KeyError, ValueError, NoteError, zipfile.BadZipFile, zlib.error, UnicodeDecodeError) as exc:
            verdict.problem(f"パッケージの内容が読めません: {exc}", f"the package's content is unreadable: {exc}")
    return verdict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify an inspection package of the intranet's access log with the "
                    "log's public key (no secret needed) / 調査パッケージを公開鍵で検証します")
    parser.add_argument("package", help="the inspection package (ZIP)")
    parser.add_argument("--public-key", required=True, metavar="FILE",
                        help="trusted public keys, one a line: NAME+HASH+KEY [NOT-BEFORE [NOT-AFTER]]")
    args = parser.parse_args(argv)
    try:
        with open(args.public_key, encoding="utf-8") as f:
            ring = load_key_ring(f.read())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"公開鍵ファイルを読めません / cannot read the public key file: {exc}", file=sys.stderr)
        return 2
    verdict = verify_package(args.package, ring)
    print(verdict, file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1
