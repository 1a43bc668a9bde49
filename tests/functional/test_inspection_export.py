"""The inspection package: exactly the period's entries of one organisation,
every file listed with its SHA-256 in an HMAC-signed manifest, and any edited
byte caught offline by ``verify-export``."""
import csv
import datetime as dt
import io
import json
import uuid
import zipfile

import pytest
import sqlalchemy as sa

from intranet.audit import export
from intranet.models import (
    AccessLogEntry, CheckResult, Contract, InspectionChecklist, InspectionChecklistItem, ErasureRecord, HandoverSlip, Medium, MediumEvent, Organisation,
    OrganisationKind, Role,
)
from intranet.scripts.cli import main
from tests import factories
from intranet.audit.package_verifier import verify_package
from tests.helpers import entries_since, log_mark, login, synthetic_entry, trusted_test_keys
from tests.unit.scripts.test_cli import _ini

J = dt.datetime
PERIOD = {"date_from": "2026-10-01", "date_to": "2026-10-31"}


@pytest.fixture
def contractor(dbsession, password_context, wsgi_app):
    code = f"exp-{uuid.uuid4().hex[:8]}"
    org = Organisation(code=code, name="架電委託 株式会社", kind=OrganisationKind.contractor)
    dbsession.add(org)
    dbsession.flush()
    boss = factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    op = factories.user(dbsession, password_context, Role.operator, login=f"{code}-op")
    op.organisation = org
    contract = Contract(organisation_id=org.id, name="架電業務委託", purpose="電話催告",
                        starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31),
                        manager_name="責任 者", handler_names="取扱 者", created_by=boss.id,
                        created_at=J(2026, 4, 1))
    medium = Medium(label=f"USB-{code}")
    dbsession.add_all([contract, medium])
    dbsession.flush()
    dbsession.add_all([
        HandoverSlip(contract_id=contract.id, direction="to_contractor", handed_at=J(2026, 10, 2, 1),
                     content="架電対象一覧", record_count=120, handed_by=boss.id, medium_id=medium.id),
        MediumEvent(medium_id=medium.id, kind="lent", at=J(2026, 10, 2, 1), contract_id=contract.id,
                    recorded_by=boss.id, note=""),
        ErasureRecord(contract_id=contract.id, erased_on=dt.date(2026, 10, 30), method="上書き消去",
                      witness_name="立会 職員", items="架電対象一覧", certificate=b"%PDF-1.4 cert",
                      certificate_type="application/pdf", recorded_by=boss.id, recorded_at=J(2026, 10, 30)),
    ])
    dbsession.add(InspectionChecklist(
        organisation_id=org.id, contract_id=contract.id, inspected_on=dt.date(2026, 11, 20),
        place="委託先事務所", inspectors="監査 太郎", created_by=boss.id, created_at=J(2026, 11, 20),
        completed_by=boss.id, completed_at=J(2026, 11, 20, 3),
        items=[InspectionChecklistItem(position=1, code="locked_storage", result=CheckResult.met,
                                       note="施錠を確認"),
               InspectionChecklistItem(position=2, code="entry_log", result=CheckResult.not_met,
                                       note="記入漏れ")]))
    dbsession.commit()
    e = synthetic_entry
    rows = [
        e(J(2026, 9, 30, 23, 59), op.login, code, cases=[1]),       # before
        e(J(2026, 10, 1, 0, 0), op.login, code, cases=[2, 3]),
        e(J(2026, 10, 1, 0, 0), "other", "org-other", cases=[4]),   # another organisation
        e(J(2026, 10, 5, 10, 0), op.login, code, kind="event", event="login.success",
          outcome="success", detail='{"a": ""}'),
        e(J(2026, 10, 15, 10, 0), op.login, code, outcome="denied", path="/admin/users/"),
        e(J(2026, 10, 31, 23, 59), op.login, code, cases=[5]),
        e(J(2026, 11, 1, 0, 0), op.login, code, cases=[6]),          # after
    ]
    rows[3][0]["user_agent"] = ""  # an empty string must survive the CSV
    wsgi_app.registry.access_log.append(rows)
    return {"code": code, "org_id": org.id, "login": op.login}


def expected_seqs(engine, code):
    start, end = J(2026, 9, 30, 15), J(2026, 10, 31, 15)
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(AccessLogEntry.seq).where(
            AccessLogEntry.organisation == code, AccessLogEntry.occurred_at >= start,
            AccessLogEntry.occurred_at < end).order_by(AccessLogEntry.seq)))


def download(testapp, code):
    login(testapp, "audit")
    return testapp.get("/audit/exports", {"organisation": code, "download": "1", **PERIOD})


def read_csv(archive, name):
    return list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8-sig", newline="")))


def test_the_package_holds_exactly_the_period_and_organisation(testapp, engine, wsgi_app, contractor, tmp_path):
    mark = log_mark(engine)
    res = download(testapp, contractor["code"])
    assert res.content_type == "application/zip"
    assert f'inspection-{contractor["code"]}-20261001-20261031.zip' in res.headers["Content-Disposition"]
    path = tmp_path / "p.zip"
    path.write_bytes(res.body)
    archive = zipfile.ZipFile(path)
    entries = read_csv(archive, export.ENTRIES)
    expected = expected_seqs(engine, contractor["code"])
    assert [int(r["seq"]) for r in entries] == expected and len(expected) == 4
    assert {r["organisation"] for r in entries} == {contractor["code"]}
    assert archive.read(export.ENTRIES).startswith(b"\xef\xbb\xbf")
    cases = read_csv(archive, export.CASES)
    assert [(int(r["entry_seq"]), r["case_no"]) for r in cases] == [
        (expected[0], "9999-000002"), (expected[0], "9999-000003"), (expected[3], "9999-000005")]
    names = set(archive.namelist())
    assert {"users.csv", "contracts.csv", "checklists.csv", "handover_slips.csv", "media_ledger.csv", "erasure_records.csv",
            "permission_matrix.csv", "activity_summary.html", export.CHECKPOINTS, export.WORKBOOK,
            "MANIFEST"} <= names
    assert archive.read(next(n for n in names if n.startswith("erasure_certificates/"))) == b"%PDF-1.4 cert"
    assert read_csv(archive, "handover_slips.csv")[0]["件数"] == "120"
    users = {r["ユーザーID"]: r for r in read_csv(archive, "users.csv")}
    # Training from training_records (issue 19), the latest taken by the period's end.
    assert {k: users[contractor["login"]][k] for k in ("研修受講日", "研修名", "研修実施者", "次回受講期限")} == {
        "研修受講日": "2026-04-01", "研修名": "個人情報保護・情報セキュリティ研修", "研修実施者": "研修 講師",
        "次回受講期限": "2099-03-31"}
    checklist = read_csv(archive, "checklists.csv")
    assert [(r["項目コード"], r["備考"]) for r in checklist] == [
        ("locked_storage", "施錠を確認"), ("entry_log", "記入漏れ")]
    # Completed before snapshots (issue 23, migration 0031): said so, not recomputed.
    assert {r["完了時の根拠（システム記録）"] for r in checklist} == {"完了時の記録なし（この機能の導入前に完了）"}
    assert "架電委託 株式会社" in archive.read("activity_summary.html").decode()
    manifest = archive.read("MANIFEST").decode()
    assert "entries: 4\n" in manifest and "chain_status: ok" in manifest

    result = export.verify_file(path, wsgi_app.registry.access_log.key)
    assert result.ok, result.problems
    assert result.entries == 4

    (logged,) = [e for e in entries_since(engine, mark) if e.path == "/audit/exports"]
    detail = json.loads(logged.detail)
    assert detail["rows"] == 4 and detail["download"] is True
    assert detail["organisation"] == contractor["code"]


def test_the_workbook_holds_the_same_entries(testapp, engine, contractor):
    import openpyxl

    res = download(testapp, contractor["code"])
    archive = zipfile.ZipFile(io.BytesIO(res.body))
    book = openpyxl.load_workbook(io.BytesIO(archive.read(export.WORKBOOK)), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("連番", "日時", "ユーザーID")
    assert [r[0] for r in rows[1:]] == expected_seqs(engine, contractor["code"])
    assert rows[1][1] == "2026-10-01 00:00:00"


def _rewrite(source, target, name, change):
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            new.writestr(info.filename, change(data) if info.filename == name else data)


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


def test_editing_any_byte_of_any_file_fails_verification(testapp, wsgi_app, contractor, tmp_path):
    key = wsgi_app.registry.access_log.key
    path = tmp_path / "p.zip"
    path.write_bytes(download(testapp, contractor["code"]).body)
    names = zipfile.ZipFile(path).namelist()
    assert len(names) >= 12
    for name in names:
        edited = tmp_path / "edited.zip"
        _rewrite(path, edited, name, _flip)
        if name == "MANIFEST.sig":  # the public key's business (test_inspection_package_proofs.py)
            assert not verify_package(edited, trusted_test_keys()).ok
            continue
        result = export.verify_file(edited, key)
        assert not result.ok, name
    extra = tmp_path / "extra.zip"
    _rewrite(path, extra, "", lambda d: d)
    with zipfile.ZipFile(extra, "a") as z:
        z.writestr("note.txt", "added")
    assert "note.txt: not in the manifest" in export.verify_file(extra, key).problems
    assert not export.verify_file(path, b"another-key-0123456789abcdef0123456789").ok
    raw = bytearray(path.read_bytes())
    # inside the largest member's compressed data (a fixed offset may fall
    # in a data descriptor, which readers ignore, once the layout changes)
    largest = max(zipfile.ZipFile(path).infolist(), key=lambda i: i.compress_size)
    assert largest.compress_size > 400
    raw[largest.header_offset + largest.compress_size // 2] ^= 0xFF
    (tmp_path / "raw.zip").write_bytes(bytes(raw))
    assert not export.verify_file(tmp_path / "raw.zip", key).ok


def test_a_forged_entry_with_a_matching_manifest_still_fails_its_chain_link(
        testapp, wsgi_app, contractor, tmp_path):
    """Someone holding the key could re-sign a manifest, but cannot make an
    altered entry's own chain link verify without recomputing every later one."""
    key = wsgi_app.registry.access_log.key
    path = tmp_path / "p.zip"
    path.write_bytes(download(testapp, contractor["code"]).body)
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    text = files[export.ENTRIES].decode("utf-8-sig").replace("/admin/users/", "/cases/")
    files[export.ENTRIES] = ("\ufeff" + text).encode()
    values, listed, _, _ = export._parse_manifest(files["MANIFEST"].decode())
    import hashlib

    body = "".join(f"{k}: {v}\n" for k, v in values.items())
    body += "".join(f"file: {hashlib.sha256(files[p]).hexdigest()} {len(files[p])} {p}\n" for p, _, _ in listed)
    files["MANIFEST"] = (body + f"hmac-sha256: {export._signature(key, body)}\n").encode()
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    result = export.verify_file(forged, key)
    assert not result.ok and any("chain link" in p for p in result.problems)


@pytest.mark.parametrize("who,status", [("audit", 200), ("boss", 403), ("op", 403)])
def test_only_auditors_export(testapp, contractor, who, status):
    login(testapp, contractor["login"] if who == "op" else who)
    testapp.get("/audit/exports", status=status)
    testapp.get("/audit/exports", {"organisation": contractor["code"], "download": "1", **PERIOD},
                status=status)


@pytest.mark.parametrize("params,message", [
    ({"download": "1"}, "組織を選んでください"),
    ({"download": "1", "organisation": "nope"}, "組織が見つかりません"),
    ({"download": "1", "date_from": "2026-11-30", "date_to": "2026-11-01"}, "開始日が終了日より後"),
])
def test_bad_export_requests_are_explained(testapp, contractor, params, message):
    login(testapp, "audit")
    if "organisation" not in params and "date_from" in params:
        params = {**params, "organisation": contractor["code"]}
    res = testapp.get("/audit/exports", params, status=400)
    assert message in res.html.select_one(".error").text


def test_the_cli_exports_and_verifies(tmp_path, capsys):
    ini = _ini(tmp_path)
    assert main(["initdb", ini]) == 0
    engine = sa.create_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    with engine.begin() as conn:
        conn.execute(sa.insert(Organisation.__table__).values(code="cli-co", name="委託", kind="contractor"))
    from intranet.audit.writer import AccessLogWriter

    key = b"cli-test-access-log-key-0123456789abcdef"
    AccessLogWriter(engine, key).append(
        [synthetic_entry(J(2026, 10, d, 10), "op", "cli-co", cases=[d]) for d in range(1, 11)])
    out = tmp_path / "package.zip"
    assert main(["audit", "export", ini, "--organisation", "cli-co", "--from", "2026-10-01",
                 "--to", "2026-10-31", "--output", str(out), "--quiet"]) == 0
    assert "10 entries" in capsys.readouterr().out
    assert main(["audit", "verify-export", ini, str(out)]) == 0
    assert "10 entries verified" in capsys.readouterr().out
    with engine.connect() as conn:
        detail = conn.scalar(sa.select(AccessLogEntry.detail).where(AccessLogEntry.event == "audit.exported"))
    assert json.loads(detail)["rows"] == 10
    assert main(["audit", "export", ini, "--organisation", "cli-co", "--from", "2026-10-01",
                 "--to", "2026-10-31", "--output", str(out), "--quiet"]) == 2  # never overwrites
    edited = tmp_path / "edited.zip"
    _rewrite(out, edited, "users.csv", lambda d: d + b" ")
    assert main(["audit", "verify-export", ini, str(edited)]) == 1
    assert "users.csv: SHA-256 or size differs" in capsys.readouterr().err
    assert main(["audit", "verify", ini]) == 0  # the export's own event kept the chain intact


def test_a_log_missing_the_entry_before_the_period_is_refused(tmp_path, capsys):
    """Entries before the period removed without an archive cut: the segment
    cannot be anchored, so no package is made."""
    ini = _ini(tmp_path)
    assert main(["initdb", ini]) == 0
    engine = sa.create_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    fields, _ = synthetic_entry(J(2026, 10, 3, 10), "op", "cli-co")
    with engine.begin() as conn:
        conn.execute(sa.insert(Organisation.__table__).values(code="cli-co", name="委託", kind="contractor"))
        conn.execute(sa.insert(AccessLogEntry.__table__).values(**fields, seq=7, chain="0" * 64))
    out = tmp_path / "package.zip"
    assert main(["audit", "export", ini, "--organisation", "cli-co", "--from", "2026-10-01",
                 "--to", "2026-10-31", "--output", str(out), "--quiet"]) == 1
    assert "期間の直前のログがありません" in capsys.readouterr().err
    assert not out.exists()


def _plant_formulas(wsgi_app, dbsession, contractor):
    """Formula text where users reach the package: the access log (user agent,
    path, query, a login typed at the login form) and the contract's records."""
    from tests.helpers import FORMULAS, HTML

    e = synthetic_entry
    rows = []
    for n, text in enumerate([*FORMULAS, HTML, "'=quoted"]):
        fields, cases = e(J(2026, 10, 20, 10, n), text if n % 2 else contractor["login"], contractor["code"],
                          cases=[n + 1], path="/cases/" if n % 3 else text)
        fields.update(user_agent=text, query=text, view_name=text)
        rows.append((fields, cases))
    wsgi_app.registry.access_log.append(rows)
    slip = dbsession.scalars(sa.select(HandoverSlip)).one()
    slip.content = FORMULAS[0]
    dbsession.scalars(sa.select(MediumEvent)).one().note = FORMULAS[3]
    dbsession.scalars(sa.select(Contract)).one().name = FORMULAS[7]
    dbsession.commit()
    return rows


def test_formulas_in_the_log_and_records_are_inert_and_the_package_still_verifies(
        testapp, wsgi_app, dbsession, contractor, tmp_path):
    """OWASP "CSV Injection": text a spreadsheet would run (a user agent, a
    typed login, a path, a slip's content) is quoted in every CSV and is a
    string cell in the workbook; verify-export removes the quote again, so
    every entry's chain link still verifies."""
    import openpyxl

    from tests.helpers import HTML, xlsx_formulas

    rows = _plant_formulas(wsgi_app, dbsession, contractor)
    path = tmp_path / "p.zip"
    path.write_bytes(download(testapp, contractor["code"]).body)
    archive = zipfile.ZipFile(path)
    entries = read_csv(archive, export.ENTRIES)
    planted = [f for f, _ in rows]

    def written(text):
        return text if text == HTML else "'" + text

    by_agent = {r["user_agent"]: r for r in entries if r["user_agent"]}
    assert sorted(by_agent) == sorted(written(f["user_agent"]) for f in planted)
    for fields in planted:
        row = by_agent[written(fields["user_agent"])]
        assert row["query"] == row["view_name"] == written(fields["query"])
        assert row["login"] == (written(fields["login"]) if fields["login"] != contractor["login"]
                                else contractor["login"])
        assert row["seq"].isdigit() and row["status"] == "200"
    assert read_csv(archive, "handover_slips.csv")[0]["内容"] == "'" + planted[0]["user_agent"]
    assert read_csv(archive, "media_ledger.csv")[0]["備考"] == "'-1"
    assert read_csv(archive, "contracts.csv")[0]["契約名"] == "'＝1+2"

    workbook = archive.read(export.WORKBOOK)
    assert xlsx_formulas(workbook) == []
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).worksheets[0]
    header = [c.value for c in sheet[1]]
    paths = {r[header.index("パス")] for r in sheet.iter_rows(min_row=2, values_only=True)}
    # (XML reads a stored CR back as a line feed: the cell still starts with the quote)
    assert {written(f["path"]).replace("\r", "\n") for f in planted if f["path"] != "/cases/"} <= paths
    assert {type(r[0]) for r in sheet.iter_rows(min_row=2, values_only=True)} == {int}

    result = export.verify_file(path, wsgi_app.registry.access_log.key)
    assert result.ok, result.problems
    assert result.entries == 4 + len(planted)


def test_a_package_of_the_first_format_without_quotes_still_verifies(
        testapp, wsgi_app, dbsession, contractor, tmp_path, monkeypatch):
    """Packages made before the quoting (format /1) are read as written: a value
    that happened to begin with a quote is not changed."""
    from intranet import tabular

    _plant_formulas(wsgi_app, dbsession, contractor)
    monkeypatch.setattr(export, "FORMAT", "intranet-inspection-export/1")
    monkeypatch.setattr(export, "FORMAT_SIGNED", "intranet-inspection-export/1")
    monkeypatch.setattr(tabular, "neutralise", lambda value: value)
    path = tmp_path / "old.zip"
    path.write_bytes(download(testapp, contractor["code"]).body)
    assert "'=quoted" in {r["user_agent"] for r in read_csv(zipfile.ZipFile(path), export.ENTRIES)}
    result = export.verify_file(path, wsgi_app.registry.access_log.key)
    assert result.ok, result.problems


def _resigned(path, tmp_path, key, edit):
    """The package with ``edit(lines)`` applied to the rows of entries.csv and
    the manifest signed again with the key (someone holding it)."""
    import hashlib

    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    header, *lines = files[export.ENTRIES].decode("utf-8-sig").split("\r\n")[:-1]
    text = "\r\n".join([header, *edit(lines)]) + "\r\n"
    files[export.ENTRIES] = ("\ufeff" + text).encode()
    values, listed, _, _ = export._parse_manifest(files["MANIFEST"].decode())
    body = "".join(f"{k}: {v}\n" for k, v in values.items())
    body += "".join(f"file: {hashlib.sha256(files[p]).hexdigest()} {len(files[p])} {p}\n"
                    for p, _, _ in listed)
    files["MANIFEST"] = (body + f"hmac-sha256: {export._signature(key, body)}\n").encode()
    out = tmp_path / f"edited-{uuid.uuid4().hex[:6]}.zip"
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out


def test_checking_in_parallel_reports_what_one_process_reports(
        testapp, wsgi_app, contractor, tmp_path, monkeypatch):
    """verify-export checks blocks of rows in several processes (issue 21): an
    intact package passes there; a tampered entry, a removed one or two rows
    swapped, each at a block boundary (here every row is a block), get
    exactly the report of the walk in one process."""
    from intranet.audit import export_check

    key = wsgi_app.registry.access_log.key
    path = tmp_path / "p.zip"
    path.write_bytes(download(testapp, contractor["code"]).body)
    answers = []
    check = export_check.check_parallel
    monkeypatch.setattr(export_check, "check_parallel", lambda *a, **kw: answers.append(check(*a, **kw))
                        or answers[-1])
    monkeypatch.setattr(export, "PARALLEL_ENTRIES", 0)
    monkeypatch.setattr(export_check, "BLOCK_CHARS", 1)  # one row a block

    intact = export.verify_file(path, key, workers=2)
    assert intact.ok and intact.entries == export.verify_file(path, key, workers=1).entries == 4
    assert answers == [4]  # the parallel check answered on its own

    def tampered(lines):
        assert "login.success" in lines[1]
        return [lines[0], lines[1].replace("login.success", "login.failure"), *lines[2:]]

    def removed(lines):
        return [lines[0], *lines[2:]]

    def swapped(lines):
        return [lines[0], lines[2], lines[1], *lines[3:]]

    for edit, expected in [(tampered, "chain link does not verify"),
                           (removed, "the manifest says"), (swapped, "out of order")]:
        edited = _resigned(path, tmp_path, key, edit)
        answers.clear()
        parallel = export.verify_file(edited, key, workers=2)
        serial = export.verify_file(edited, key, workers=1)
        # The parallel check declined (or counted fewer rows than the manifest): the walk reported.
        assert len(answers) == 1 and answers[0] != 4
        assert not parallel.ok and parallel.problems == serial.problems
        assert any(expected in p for p in parallel.problems), parallel.problems


def test_the_same_data_makes_the_same_package(engine, wsgi_app, contractor):
    """Two exports of the same data at the same generated time are the same
    bytes, the workbook's parts included (their ZIP time stamps were the
    wall clock's: issue 21)."""
    key = wsgi_app.registry.access_log.key
    with engine.connect() as conn:
        org = conn.execute(sa.select(Organisation).where(Organisation.code == contractor["code"])).one()
        plan = export.plan(conn, org, dt.date(2026, 10, 1), dt.date(2026, 10, 31), J(2026, 11, 24))
    first = b"".join(export.stream(engine, key, plan))
    second = b"".join(export.stream(engine, key, plan))
    assert plan.entries and first == second
    archive = zipfile.ZipFile(io.BytesIO(first))
    workbook = zipfile.ZipFile(io.BytesIO(archive.read(export.WORKBOOK)))
    assert {part.date_time for part in workbook.infolist()} <= {
        (1980, 1, 1, 0, 0, 0), archive.getinfo(export.WORKBOOK).date_time}
