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
import sys
import zipfile
import zlib
from dataclasses import dataclass, field

from .merkle import HASH_SIZE, ProofError, node_hash, verify_consistency, verify_inclusion
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


def canonical(content: dict) -> bytes:
    """The bytes the log's chain and tree cover: the fields and ``cases``
    as JSON with sorted keys, no spaces, UTF-8."""
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _unquote(text: str) -> str:
    if text.startswith("'") and text.lstrip("'")[:1] in FORMULA_STARTS:
        return text[1:]
    return text


def entry_from_row(row: list[str], index: dict[str, int]) -> dict:
    """The chained fields of an ``entries.csv`` row, as the log stored them."""
    empty = set(row[index["empty_strings"]].split())
    content = {}
    for name in FIELDS:
        value = row[index[name]]
        if value == "":
            content[name] = "" if name in empty else None
        elif name in INT_FIELDS:
            content[name] = int(value)
        elif name == "occurred_at":
            content[name] = dt.datetime.fromisoformat(value).isoformat(timespec="microseconds")
        else:
            content[name] = _unquote(value)
    return content


def _occurred(content: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(content["occurred_at"])


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
        self.known: tuple | None = None  # (block, upper proof, block node)

    @staticmethod
    def _block_node(leaf: bytes, index: int, lower) -> bytes:
        h = leaf
        for level, sibling in enumerate(lower):
            h = node_hash(sibling, h) if index >> level & 1 else node_hash(h, sibling)
        return h

    def check(self, leaf: bytes, index: int, proof: list[bytes]) -> None:
        block = index >> 4
        if (index | 15) < self.size and len(proof) >= 4:
            upper = b"".join(proof[4:])
            node = self._block_node(leaf, index, proof[:4])
            if self.known is not None and self.known[:2] == (block, upper) and self.known[2] == node:
                return
            verify_inclusion(leaf, index, self.size, proof, self.root)
            self.known = (block, upper, node)
            return
        verify_inclusion(leaf, index, self.size, proof, self.root)


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


def _read_manifest(archive, ring: KeyRing, verdict: Verdict):
    try:
        raw = archive.read(MANIFEST)
        values, files = {}, []
        for line in raw.decode("utf-8").splitlines():
            name, _, value = line.partition(": ")
            if name == "file":
                sha, size, path = value.split(" ", 2)
                files.append((path, int(size), sha))
            else:
                values[name] = value
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


def _check_files(archive, files, verdict: Verdict) -> None:
    names = set(archive.namelist()) - {MANIFEST, MANIFEST_SIG}
    listed = {p for p, _, _ in files}
    for name in sorted(names - listed):
        verdict.problem(f"{name}: MANIFEST にないファイルです", f"{name}: not in the manifest")
    for name in sorted(listed - names):
        verdict.problem(f"{name}: ファイルがありません", f"{name}: missing")
    for name, size, sha in files:
        if name not in names:
            continue
        digest, length = hashlib.sha256(), 0
        try:
            with archive.open(name) as f:
                while block := f.read(1 << 20):
                    digest.update(block)
                    length += len(block)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            verdict.problem(f"{name}: 読めません（{exc}）", f"{name}: unreadable ({exc})")
            continue
        if length != size or digest.hexdigest() != sha:
            verdict.problem(f"{name}: SHA-256 または大きさが MANIFEST と違います",
                            f"{name}: SHA-256 or size differs from the manifest")


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
                verify_consistency(old.size, end.size, old.root_hash, end.root_hash, decode_proof(row[3]))
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


def _entry_rows(archive):
    """``(seq, content)`` of entries.csv with the disclosed cases, in order."""
    from itertools import groupby

    with archive.open(CASES) as raw_cases:
        cases_reader = csv.reader(io.TextIOWrapper(raw_cases, encoding="utf-8-sig", newline=""))
        index = {name: n for n, name in enumerate(next(cases_reader, []))}
        groups = groupby(cases_reader, key=lambda r: int(r[index["entry_seq"]]))
        groups = ((seq, [[int(r[index["case_id"]]), _unquote(r[index["case_no"]])] for r in rows])
                  for seq, rows in groups)
        pending = next(groups, None)
        with archive.open(ENTRIES) as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
            header = {name: n for n, name in enumerate(next(reader, []))}
            for row in reader:
                content = entry_from_row(row, header)
                seq = content["seq"]
                disclosed = []
                if pending is not None and pending[0] == seq:
                    disclosed, pending = pending[1], next(groups, None)
                content["cases"] = disclosed
                yield seq, content
        if pending is not None:
            yield pending[0], None  # cases of no entry


def _context_rows(archive):
    with archive.open(CONTEXT) as raw:
        for line in raw:
            data = line.rstrip(b"\n")
            content = json.loads(data)
            yield content["seq"], content, data


def _walk(archive, values: dict, checkpoints: dict, verdict: Verdict) -> None:
    """The organisation's chain from the start checkpoint to the end one."""
    end, start = checkpoints["end"], checkpoints.get("start")
    code, key = values["organisation"], org_key(values["organisation"])
    period = values["period"].split(" ")[0]
    date_from, date_to = (dt.date.fromisoformat(d) for d in period.split(".."))
    jst = dt.timezone(dt.timedelta(hours=9))
    period_start = dt.datetime.combine(date_from, dt.time(), jst).astimezone(dt.timezone.utc).replace(tzinfo=None)
    period_end = (dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), jst)
                  .astimezone(dt.timezone.utc).replace(tzinfo=None))
    start_size = start.size if start else 0
    expected = checkpoint_org_heads(start).get(key, (0, ZERO))[1] if start else ZERO
    if start is not None and checkpoint_time(start).replace(tzinfo=None) > period_start:
        verdict.problem("開始のチェックポイントが期間の始まりより後です",
                        "the start checkpoint is later than the period's start")
    end_time = checkpoint_time(end).replace(tzinfo=None)
    proofs = _Proofs(end.size, end.root_hash)
    entries, context = _entry_rows(archive), _context_rows(archive)
    next_entry, next_context = next(entries, None), next(context, None)
    last_seq, count, in_package = start_size, 0, 0
    with archive.open(ORG_CHAIN) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        if tuple(next(reader, ())) != ORG_CHAIN_COLUMNS:
            verdict.problem(f"{ORG_CHAIN}: 見出しが違います", f"{ORG_CHAIN}: unexpected header")
            return
        for row in reader:
            try:
                seq, in_period, org_prev, stored_leaf = int(row[0]), row[1] == "1", row[2], row[3]
                proof = decode_proof(row[4])
            except (ValueError, IndexError, binascii.Error, ProofError) as exc:
                verdict.problem(f"{ORG_CHAIN}: 読めない行 {row[:1]}（{exc}）", f"{ORG_CHAIN}: unreadable row {row[:1]} ({exc})")
                return
            if not last_seq < seq <= end.size:
                verdict.problem(f"エントリ {seq}: 順序が違うか範囲外です",
                                f"entry {seq}: out of order or outside the checkpoints' range")
            last_seq = seq
            if in_period:
                if next_entry is None or next_entry[0] != seq or next_entry[1] is None:
                    verdict.problem(f"エントリ {seq}: entries.csv にありません（除かれたエントリ）",
                                    f"entry {seq}: missing from entries.csv (an entry was left out)")
                    continue
                content, data = next_entry[1], canonical(next_entry[1])
                next_entry = next(entries, None)
                in_package += 1
            else:
                if next_context is None or next_context[0] != seq:
                    verdict.problem(f"エントリ {seq}: {CONTEXT} にありません",
                                    f"entry {seq}: missing from {CONTEXT}")
                    continue
                _, content, data = next_context
                next_context = next(context, None)
            count += 1
            leaf = leaf_hash_of(org_prev, data)
            if leaf.hex() != stored_leaf:
                verdict.problem(f"エントリ {seq}: 内容がリーフハッシュと一致しません（改変）",
                                f"entry {seq}: its content does not match its leaf hash (altered)")
            if content.get("organisation") != code:
                verdict.problem(f"エントリ {seq}: この組織のエントリではありません",
                                f"entry {seq}: not an entry of this organisation")
            occurred = _occurred(content)
            if (period_start <= occurred < period_end) != in_period:
                verdict.problem(f"エントリ {seq}: 期間内外の区分が日時と合いません",
                                f"entry {seq}: in or out of the period, against its time")
            if org_prev != expected:
                verdict.problem(f"エントリ {seq}: 組織のチェーンが途切れています（前のエントリが欠けています）",
                                f"entry {seq}: the organisation's chain is broken (an entry before it is missing)")
            expected = leaf.hex()
            try:
                proofs.check(leaf, seq - 1, proof)
            except ProofError as exc:
                verdict.problem(f"エントリ {seq}: 包含証明が検証できません: {exc}",
                                f"entry {seq}: the inclusion proof does not verify: {exc}")
            if not verdict.ok and len(verdict.problems) > MAX_PROBLEMS:
                return
    if next_entry is not None:
        verdict.problem(f"エントリ {next_entry[0]}: 組織のチェーンにないエントリです（追加されたエントリ）",
                        f"entry {next_entry[0]}: not in the organisation's chain (an added entry)")
    if next_context is not None:
        verdict.problem(f"エントリ {next_context[0]}: 組織のチェーンにないエントリです",
                        f"entry {next_context[0]}: not in the organisation's chain")
    head = checkpoint_org_heads(end).get(key, (0, ZERO))[1]
    if expected != head:
        verdict.problem("組織のチェーンの末尾が終了チェックポイントの先頭と一致しません（エントリが欠けています）",
                        "the organisation's chain does not end at the end checkpoint's head "
                        "(entries are missing)")
    if in_package != int(values.get("entries", -1)):
        verdict.problem(f"entries.csv の {in_package} 件が MANIFEST の {values.get('entries')} 件と違います",
                        f"{in_package} entries in entries.csv, the manifest says {values.get('entries')}")
    verdict.entries = in_package
    if verdict.ok:
        verdict.facts.append((
            f"組織 {code} のエントリは、開始のチェックポイント（{start_size}件）から終了のチェックポイント"
            f"（{end.size}件、{end_time:%Y-%m-%d %H:%M:%S} UTC）までの {count} 件がすべて含まれ、うち期間内は"
            f" {in_package} 件です",
            f"every entry of {code} from the start checkpoint ({start_size} entries) to the end "
            f"checkpoint ({end.size} entries, {end_time:%Y-%m-%d %H:%M:%S} UTC) is in the package: "
            f"{count}, of which {in_package} in the period"))


def verify_package(path, ring: KeyRing) -> Verdict:
    """Check a package with trusted public keys only; every problem found is
    in the verdict (none is skipped: there is no option to skip a check)."""
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
        _check_files(archive, files, verdict)
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
            _walk(archive, values, checkpoints, verdict)
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
