"""The inspection package verified with the public key alone (issue 22).

``verify-package`` needs no secret: signed checkpoints, an inclusion proof
per entry, the organisation's own chain between two checkpoints and the
consistency proof from the previous inspection. Each way to falsify the
evidence is tried and must fail with a message naming the problem. Some
attacks are made by someone who can even sign a new manifest (as if they
held the signing key at export time): the checkpoints signed earlier still
give them away."""
import base64
import csv
import datetime as dt
import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from intranet.audit import export, merkle
from intranet.audit.package_verifier import (
    END_CHECKPOINT, FORMAT, ORG_CHAIN, PREVIOUS_CHECKPOINT, load_key_ring, manifest_note_text,
    verify_package,
)
from intranet.audit.signed_note import KeyRing, Signer, format_checkpoint, sign_note
from intranet.scripts.cli import main
from tests.conftest import TEST_SETTINGS
from tests.functional.test_inspection_export import PERIOD, contractor, download  # noqa: F401
from tests.helpers import TEST_PUBLIC_KEY, synthetic_entry, trusted_test_keys

SIGNER = Signer.from_key_string(TEST_SETTINGS["intranet.audit.signing_key"])
J = dt.datetime


@pytest.fixture
def package(testapp, contractor, tmp_path):  # noqa: F811
    path = tmp_path / "package.zip"
    path.write_bytes(download(testapp, contractor["code"]).body)
    return path


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _repack(path, tmp_path, files: dict, *, resign: bool, name="forged.zip"):
    """Write ``files``; with ``resign`` the manifest lists their new hashes
    and is signed again with the log's key."""
    if resign:
        lines = files["MANIFEST"].decode().splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith("file: ")]
        listed = [line.split(" ", 3)[3].rstrip("\n") for line in lines if line.startswith("file: ")]
        listed = [p for p in listed if p in files]
        body = kept[:-1] + [f"file: {hashlib.sha256(files[p]).hexdigest()} {len(files[p])} {p}\n"
                            for p in listed] + kept[-1:]
        files["MANIFEST"] = "".join(body).encode()
        files["MANIFEST.sig"] = sign_note(manifest_note_text(files["MANIFEST"]), [SIGNER])
    out = tmp_path / name
    with zipfile.ZipFile(out, "w") as z:
        for member, data in files.items():
            z.writestr(member, data)
    return out


def _csv(data: bytes):
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _csv_bytes(rows, bom=True) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def _problems(path, ring=None) -> str:
    verdict = verify_package(path, ring or trusted_test_keys())
    assert not verdict.ok
    return "\n".join(en for _, en in verdict.problems)


def test_a_package_verifies_with_the_public_key_alone(package, wsgi_app):
    verdict = verify_package(package, trusted_test_keys())
    assert verdict.ok, verdict.problems
    assert verdict.entries == 4
    text = str(verdict)
    assert "検証成功" in text and "VERIFIED" in text
    files = _members(package)
    assert f"format: {FORMAT}" in files["MANIFEST"].decode()
    assert {END_CHECKPOINT, ORG_CHAIN, "tlog/consistency.csv", "tlog/context_entries.jsonl",
            "MANIFEST.sig"} <= set(files)
    # every entry of the organisation in the period has its own proof, O(log n) hashes
    chain_rows = _csv(files[ORG_CHAIN])[1:]
    in_period = [r for r in chain_rows if r[1] == "1"]
    assert len(in_period) == 4
    size = int(files[END_CHECKPOINT].decode().split("\n")[1])
    for row in chain_rows:
        assert len(base64.b64decode(row[4])) // 32 <= size.bit_length()
    # the before/after entries of the fixture are the organisation's too: in the context file
    assert len(chain_rows) - len(in_period) == 2
    # and the HMAC verifier still reads the new format
    assert export.verify_file(package, wsgi_app.registry.access_log.key).ok


def test_flipping_any_byte_of_any_member_fails(package, tmp_path):
    files = _members(package)
    for name in files:
        edited = dict(files)
        data = bytearray(edited[name])
        data[len(data) // 2] ^= 0x01
        edited[name] = bytes(data)
        problems = _problems(_repack(package, tmp_path, edited, resign=False))
        if name == "MANIFEST":
            assert "MANIFEST signature does not verify" in problems, problems
        elif name == "MANIFEST.sig":
            assert "MANIFEST signature does not verify" in problems, problems
        else:
            assert f"{name}: SHA-256 or size differs from the manifest" in problems, (name, problems)


def test_dropping_an_entry_of_the_period_fails_even_with_a_new_signed_manifest(package, tmp_path):
    files = _members(package)
    entries = _csv(files[export.ENTRIES])
    chain_rows = _csv(files[ORG_CHAIN])
    dropped = entries[2][0]
    # from entries.csv only: its place in the chain is empty
    only = dict(files, **{export.ENTRIES: _csv_bytes([r for r in entries if r[0] != dropped])})
    problems = _problems(_repack(package, tmp_path, only, resign=True))
    assert f"entry {dropped}: missing from entries.csv (an entry was left out)" in problems
    assert "entries in entries.csv, the manifest says" in problems
    # from the chain as well: the next entry's link names the dropped one
    both = dict(only, **{ORG_CHAIN: _csv_bytes([r for r in chain_rows if r[0] != dropped], bom=False)})
    problems = _problems(_repack(package, tmp_path, both, resign=True, name="both.zip"))
    assert "the organisation's chain is broken (an entry before it is missing)" in problems
    # the last entries dropped: the chain no longer ends at the signed head
    tail = dict(files, **{ORG_CHAIN: _csv_bytes(chain_rows[:-1], bom=False)})
    context = files["tlog/context_entries.jsonl"].decode().splitlines(keepends=True)[:-1]
    tail["tlog/context_entries.jsonl"] = "".join(context).encode()
    problems = _problems(_repack(package, tmp_path, tail, resign=True, name="tail.zip"))
    assert "does not end at the end checkpoint's head" in problems


def test_a_forged_or_altered_entry_fails(package, tmp_path):
    files = _members(package)
    entries = _csv(files[export.ENTRIES])
    header = entries[0]
    # altered: its content no longer gives its leaf hash
    altered = [list(r) for r in entries]
    altered[2][header.index("path")] = "/altered/"
    edited = dict(files, **{export.ENTRIES: _csv_bytes(altered)})
    problems = _problems(_repack(package, tmp_path, edited, resign=True))
    assert f"entry {entries[2][0]}: its content does not match its leaf hash (altered)" in problems
    # added: a copy of an entry under a new number has no place in the chain
    forged = [list(r) for r in entries]
    extra = list(forged[-1])
    extra[0] = str(int(extra[0]) + 1)
    forged.append(extra)
    edited = dict(files, **{export.ENTRIES: _csv_bytes(forged)})
    problems = _problems(_repack(package, tmp_path, edited, resign=True, name="added.zip"))
    assert f"entry {extra[0]}: not in the organisation's chain (an added entry)" in problems


def test_swapped_proofs_fail(package, tmp_path):
    files = _members(package)
    rows = _csv(files[ORG_CHAIN])
    rows[1][4], rows[2][4] = rows[2][4], rows[1][4]
    edited = dict(files, **{ORG_CHAIN: _csv_bytes(rows, bom=False)})
    problems = _problems(_repack(package, tmp_path, edited, resign=True))
    assert f"entry {rows[1][0]}: the inclusion proof does not verify" in problems


def test_unknown_expired_and_foreign_checkpoints_fail(package, tmp_path):
    other = Signer.generate("someone-else")
    ring = KeyRing()
    ring.add(other.verifier())
    problems = _problems(package, ring)
    assert "note has no verifiable signatures (unknown key intranet-test+1272cb19)" in problems
    expired = KeyRing()
    expired.add(TEST_PUBLIC_KEY, not_after=dt.date(2020, 1, 1))
    problems = _problems(package, expired)
    assert "key intranet-test+1272cb19 expired on 2020-01-01" in problems
    # an end checkpoint of another tree, signed with the genuine key: the proofs do not hold
    files = _members(package)
    note = files[END_CHECKPOINT].decode()
    origin, size, _root, *rest = note.split("\n\n")[0].split("\n")
    fake = format_checkpoint(origin, int(size), hashlib.sha256(b"another tree").digest(), rest)
    edited = dict(files, **{END_CHECKPOINT: sign_note(fake, [SIGNER])})
    problems = _problems(_repack(package, tmp_path, edited, resign=True))
    assert "the inclusion proof does not verify" in problems and "root mismatch" in problems


def test_the_link_to_the_previous_inspection(testapp, wsgi_app, contractor, package, tmp_path):  # noqa: F811
    previous = _members(package)[END_CHECKPOINT].decode()
    # more of the organisation's entries after the first package
    wsgi_app.registry.access_log.append([synthetic_entry(J(2026, 11, 2, 9), "x", contractor["code"])])
    res = testapp.post("/audit/exports", {
        "organisation": contractor["code"], "download": "1", **PERIOD,
        "previous_checkpoint": previous, "csrf_token": _csrf(testapp)})
    second = tmp_path / "second.zip"
    second.write_bytes(res.body)
    verdict = verify_package(second, trusted_test_keys())
    assert verdict.ok, verdict.problems
    assert any("extends the previous inspection checkpoint" in en for _, en in verdict.facts)
    assert _members(second)[PREVIOUS_CHECKPOINT].decode() == previous
    # a consistency proof from an unrelated checkpoint (same size, another root) fails
    files = _members(second)
    origin, size, _root, *rest = previous.split("\n\n")[0].split("\n")
    unrelated = sign_note(format_checkpoint(origin, int(size), hashlib.sha256(b"x").digest(), rest), [SIGNER])
    edited = dict(files, **{PREVIOUS_CHECKPOINT: unrelated})
    problems = _problems(_repack(second, tmp_path, edited, resign=True))
    assert "the consistency proof from the previous checkpoint to the end one does not verify" in problems
    # and the application refuses to make a package from it
    res = testapp.post("/audit/exports", {
        "organisation": contractor["code"], "download": "1", **PERIOD,
        "previous_checkpoint": unrelated.decode(), "csrf_token": _csrf(testapp)}, status=409)
    assert "このログと一致しません" in res.html.select_one(".error").text
    res = testapp.post("/audit/exports", {
        "organisation": contractor["code"], "download": "1", **PERIOD,
        "previous_checkpoint": "=HYPERLINK(\"x\")<script>", "csrf_token": _csrf(testapp)}, status=409)
    assert "読めないか" in res.html.select_one(".error").text
    assert "<script>" not in res.text.split("<textarea")[0]
    # a checkpoint of this log's size and root, signed by another key: refused as well
    forged = sign_note(previous.split("\n\n")[0] + "\n", [Signer.generate("someone")]).decode()
    res = testapp.post("/audit/exports", {
        "organisation": contractor["code"], "download": "1", **PERIOD,
        "previous_checkpoint": forged, "csrf_token": _csrf(testapp)}, status=409)
    assert "このログの鍵の署名がありません" in res.html.select_one(".error").text


def _csrf(testapp):
    return testapp.get("/audit/exports").html.find("input", {"name": "csrf_token"})["value"]


def test_the_cli_and_the_standalone_script_give_the_same_verdict(package, tmp_path, capsys):
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# the ward's checkpoint key\n{TEST_PUBLIC_KEY} 2026-01-01 -\n")
    assert load_key_ring(keys.read_text()).keys[0].not_before == dt.date(2026, 1, 1)
    assert main(["audit", "verify-package", str(package), "--public-key", str(keys)]) == 0
    assert "VERIFIED" in capsys.readouterr().out
    script = Path(__file__).parents[2] / "docs" / "verify_inspection_package.py"
    done = subprocess.run([sys.executable, "-I", str(script), str(package), "--public-key", str(keys)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "検証成功" in done.stdout
    files = _members(package)
    files[export.ENTRIES] = files[export.ENTRIES].replace(b"/admin/users/", b"/cases/xxxxxx")
    forged = _repack(package, tmp_path, files, resign=False)
    assert main(["audit", "verify-package", str(forged), "--public-key", str(keys)]) == 1
    done = subprocess.run([sys.executable, "-I", str(script), str(forged), "--public-key", str(keys)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1 and "検証失敗" in done.stderr
    assert "access_log/entries.csv: SHA-256 or size differs from the manifest" in done.stderr


def test_proof_sizes_are_logarithmic():
    """RFC 9162 paths: at most ceil(log2 n) hashes (checked on the module the
    package uses, for sizes around powers of two)."""
    for size in (1, 2, 3, 15, 16, 17, 1000, 1 << 20, (1 << 20) + 1):
        for index in {0, size // 2, size - 1}:
            assert merkle._inclusion_length(index, size) <= max(1, (size - 1).bit_length())


def test_several_processes_give_the_verdict_of_one(package, tmp_path, monkeypatch):
    from intranet.audit import package_verifier

    monkeypatch.setattr(package_verifier, "PARALLEL_ENTRIES", 1)
    files = _members(package)
    rows = _csv(files[ORG_CHAIN])
    rows[1][4], rows[3][4] = rows[3][4], rows[1][4]
    swapped = _repack(package, tmp_path, dict(files, **{ORG_CHAIN: _csv_bytes(rows, bom=False)}), resign=True)
    for path in (package, swapped):
        one = verify_package(path, trusted_test_keys(), workers=1)
        two = verify_package(path, trusted_test_keys(), workers=2)
        assert (one.ok, one.entries, one.problems) == (two.ok, two.entries, two.problems)
    assert verify_package(package, trusted_test_keys(), workers=2).ok
    assert not verify_package(swapped, trusted_test_keys(), workers=2).ok


def test_after_a_key_rotation_packages_start_from_checkpoints_of_the_retired_key(fresh_database, tmp_path):
    """Key A signs until the rotation, key B after it; with A listed as
    retired, a package of a period that began under A starts from A's
    checkpoint and verifies with both keys, each within its validity."""
    from sqlalchemy.orm import Session

    import intranet
    from intranet.models import Organisation, OrganisationKind
    from tests.conftest import FrozenClock

    old, new = Signer.generate("ward-2026"), Signer.generate("ward-2027")
    code = "rot-org"
    app_a = intranet.main({}, **{**fresh_database, "intranet.audit.signing_key": old.key_string()})
    app_a.registry.clock = FrozenClock(J(2026, 9, 30, 10))  # 19:00 JST, before the period
    engine = app_a.registry["db_engine"]
    with Session(engine) as session:
        session.add(Organisation(code=code, name="委託", kind=OrganisationKind.contractor))
        session.commit()
    app_a.registry.access_log.append([synthetic_entry(J(2026, 9, 30, 18), "op", code)])
    app_a.registry.access_checkpointer.write_current(J(2026, 9, 30, 10))
    app_b = intranet.main({}, **{**fresh_database, "intranet.audit.signing_key": new.key_string(),
                                 "intranet.audit.retired_public_keys": old.verifier().key_string()})
    app_b.registry.access_log.append([synthetic_entry(J(2026, 10, 2 + n, 9), "op", code) for n in range(3)])
    with Session(engine) as session:
        org = session.query(Organisation).filter_by(code=code).one()
        plan = export.plan(session.connection(), org, dt.date(2026, 10, 1), dt.date(2026, 10, 31),
                           J(2026, 11, 5), app_b.registry.access_checkpointer)
    assert plan.tlog.start is not None and plan.tlog.start.size >= 1
    path = tmp_path / "rotated.zip"
    path.write_bytes(b"".join(export.stream(engine, app_b.registry.access_log.key, plan)))
    both = KeyRing()
    both.add(old.verifier(), not_after=dt.date(2026, 10, 15))
    both.add(new.verifier(), not_before=dt.date(2026, 10, 15))
    verdict = verify_package(path, both)
    assert verdict.ok, verdict.problems
    assert verdict.entries == 3
    only_new = KeyRing()
    only_new.add(new.verifier())
    assert "the start signed checkpoint does not verify: note has no verifiable signatures" in _problems(
        path, only_new)
    for app in (app_a, app_b):
        app.registry["db_engine"].dispose()


def test_a_package_without_signed_checkpoints_is_of_the_earlier_format(engine, wsgi_app, contractor, tmp_path):  # noqa: F811
    """Without a signing key (or as made before issue 22) a package is of
    format /2: ``verify-export`` checks it with the HMAC key as before, and
    ``verify-package`` says it cannot, naming the command that can."""
    from sqlalchemy.orm import Session

    from intranet.models import Organisation

    with Session(engine) as session:
        org = session.query(Organisation).filter_by(code=contractor["code"]).one()
        plan = export.plan(session.connection(), org, dt.date(2026, 10, 1), dt.date(2026, 10, 31),
                           J(2026, 11, 5))
    path = tmp_path / "old.zip"
    path.write_bytes(b"".join(export.stream(engine, wsgi_app.registry.access_log.key, plan)))
    files = _members(path)
    assert "format: intranet-inspection-export/2" in files["MANIFEST"].decode()
    assert not any(name.startswith("tlog/") or name == "MANIFEST.sig" for name in files)
    assert export.verify_file(path, wsgi_app.registry.access_log.key).ok
    assert "packages made before issue 22 verify with `intranet audit verify-export`" in _problems(path)
