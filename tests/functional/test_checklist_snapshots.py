"""確認記録票 snapshots (issue 23): completing a checklist keeps the system's
records shown next to each item as they were; later views show that record
beside what the system says today and flag the items that changed; the
inspection package carries the kept text (SQLite and PostgreSQL).

Seed 004 (区外転出者の現地調査), 特記事項15–17: the ward checks the
contractor's protections on site and keeps the record of that check. A
record that recomputes itself from today's data would not say what the
inspector saw (issue 23: "a completed 確認記録票 can therefore say
something different next month")."""
import csv
import datetime as dt
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from intranet.audit import checklist as cl
from intranet.audit import export
from intranet.models import Contract, HandoverSlip, InspectionChecklist, Organisation, User
from tests.functional.test_checklists import fill, people, start  # noqa: F401  (people: a fixture)
from tests.helpers import csrf_token, entries_since, log_mark, login

NONE_JA = "完了時の記録なし（この機能の導入前に完了）"
SLIPS_BEFORE = "受け渡し票 0件（受領未確認 0件）"
SLIPS_AFTER = "受け渡し票 1件（受領未確認 1件）"


def completed(testapp, dbsession, people, contract=True) -> str:  # noqa: F811
    """An auditor completes a checklist of 2026-11-20 (the test clock: 24 November)."""
    login(testapp, "audit")
    page = start(testapp, people["org"], contract=people["contract"] if contract else "").follow()
    form = page.forms["checklist-form"]
    fill(form)
    form["place"] = "委託先事務所"
    form.submit("action", value="complete", status=303)
    return page.request.path


def kept(dbsession) -> dict:
    dbsession.expire_all()
    checklist = dbsession.scalars(sa.select(InspectionChecklist)).one()
    return {"taken_at": checklist.evidence_taken_at,
            **{row.code: row.evidence_snapshot for row in checklist.items}}


def change_the_world(dbsession, people):  # noqa: F811
    """After completion: a slip handed before the inspection is recorded late,
    and the contract's person responsible is renamed."""
    boss = dbsession.scalars(sa.select(User).where(User.login == "boss")).one()
    dbsession.add(HandoverSlip(contract_id=people["contract"], direction="to_contractor",
                               handed_at=dt.datetime(2026, 11, 10, 1), content="調査対象一覧",
                               record_count=40, handed_by=boss.id))
    dbsession.get(Contract, people["contract"]).manager_name = "後任 次郎"
    dbsession.commit()


def cells(page, code):
    row = page.html.select_one(f"#checklist-items tr[data-item={code}]")
    kept_cell = row.select_one("td.evidence.kept")
    return (kept_cell.text if kept_cell else None), row.select_one("td.evidence.current").text, row


def test_the_completed_checklist_shows_what_it_showed_and_what_changed(
        testapp, dbsession, engine, people):  # noqa: F811
    mark = log_mark(engine)
    url = completed(testapp, dbsession, people)
    stored = kept(dbsession)
    assert stored["taken_at"] == dt.datetime(2026, 11, 24, 0, 30)  # the moment of completion
    assert json.loads(stored["handover_slips"]) == [
        {"key": "checklist.evidence.slips", "params": {"total": 0, "unconfirmed": 0}, "ja": SLIPS_BEFORE}]
    assert json.loads(stored["responsible_persons"])[0]["params"]["manager"] == "責任 太郎"
    assert json.loads(stored["locked_storage"]) == []  # an item without facts: kept as none
    assert [e.event for e in entries_since(engine, mark, "event") if e.event.startswith("checklist.")] == [
        "checklist.created", "checklist.completed"]

    page = testapp.get(url)
    assert page.html.select_one("#snapshot-summary").text.startswith("完了時の記録と現在のシステム上の記録は一致")
    assert "完了時の記録（" in page.html.select_one("#col-kept").text
    assert page.html.select_one("#col-current").text == "現在のシステム上の記録"
    assert page.html.select("tr.differs") == []

    change_the_world(dbsession, people)
    page = testapp.get(url)
    old, new, row = cells(page, "handover_slips")
    assert SLIPS_BEFORE in old and SLIPS_AFTER in new and SLIPS_AFTER not in old
    assert row["data-differs"] == "1" and "完了時から変更あり" in new
    old, new, row = cells(page, "responsible_persons")
    assert "責任 太郎" in old and "後任 次郎" in new and "後任 次郎" not in old
    assert "完了時から変更あり" in new
    old, new, row = cells(page, "training")  # unchanged: shown twice, not flagged
    assert old == new and "完了時から変更あり" not in new and not row.get("data-differs")
    assert sorted(tr["data-item"] for tr in page.html.select("tr.differs")) == [
        "handover_slips", "responsible_persons"]
    summary = page.html.select_one("#snapshot-summary")
    assert "変わった項目が 2件" in summary.text and "warning" in summary["class"]
    assert kept(dbsession) == stored  # viewing changed nothing

    testapp.set_cookie("lang", "en")
    page = testapp.get(url)
    old, new, _ = cells(page, "handover_slips")
    assert "0 hand-over slips (0 unconfirmed)" in old and "1 hand-over slips (1 unconfirmed)" in new
    assert "Changed since completion" in new and "受け渡し票" not in page.text
    old, _, _ = cells(page, "responsible_persons")
    assert "person responsible 責任 太郎" in old
    assert "Records kept at completion" in page.html.select_one("#col-kept").text
    assert page.html.select_one("#col-current").text == "What the system says today"


def test_a_draft_shows_only_todays_records(testapp, dbsession, people):  # noqa: F811
    login(testapp, "audit")
    page = start(testapp, people["org"], contract=people["contract"]).follow()
    page.forms["checklist-form"].submit("action", value="save", status=303)
    change_the_world(dbsession, people)
    page = testapp.get(page.request.path)
    assert page.html.select_one("#col-kept") is None and page.html.select("td.evidence.kept") == []
    assert page.html.select_one("#col-current").text == "システム上の記録"
    assert page.html.select_one("#snapshot-summary") is None and page.html.select("tr.differs") == []
    assert SLIPS_AFTER in cells(page, "handover_slips")[1]
    assert set(kept(dbsession).values()) == {None}  # nothing kept before completion


def test_posting_again_does_not_touch_the_kept_records(testapp, dbsession, people):  # noqa: F811
    url = completed(testapp, dbsession, people)
    before = kept(dbsession)
    change_the_world(dbsession, people)
    token = csrf_token(testapp, url)
    for action in ("save", "complete"):
        res = testapp.post(url, {"csrf_token": token, "action": action, "inspectors": "監査 二",
                                 "result-training": "not_met"}, status=400)
        assert "完了済みのため、変更できません" in res.text
    assert kept(dbsession) == before

    # Nor through the domain: keeping again is refused, and a kept item refuses a new value.
    checklist = dbsession.scalars(sa.select(InspectionChecklist)).one()
    with pytest.raises(cl.ChecklistError, match="completed"):
        cl.keep_evidence(dbsession, checklist, dt.datetime(2026, 12, 1))
    with pytest.raises(ValueError, match="cannot be changed"):
        checklist.items[0].evidence_snapshot = "[]"
    assert kept(dbsession) == before


def test_a_checklist_completed_before_snapshots_says_so(testapp, dbsession, people):  # noqa: F811
    """Migration 0031 leaves earlier completed checklists without a snapshot:
    what they showed cannot be known, and today's records are not passed off as it."""
    url = completed(testapp, dbsession, people)
    with dbsession.begin_nested():  # as migrated: the columns added empty
        dbsession.execute(sa.update(InspectionChecklist).values(evidence_taken_at=None))
        dbsession.execute(sa.text("UPDATE inspection_checklist_items SET evidence_snapshot = NULL"))
    dbsession.commit()
    change_the_world(dbsession, people)
    page = testapp.get(url)
    assert page.html.select_one("#snapshot-none").text == NONE_JA
    assert page.html.select_one("#col-kept") is None and page.html.select("tr.differs") == []
    assert page.html.select_one("#col-current").text == "現在のシステム上の記録"
    assert SLIPS_AFTER in cells(page, "handover_slips")[1]
    testapp.set_cookie("lang", "en")
    assert "completed before this feature" in testapp.get(url).html.select_one("#snapshot-none").text


def read_checklists_csv(testapp, wsgi_app, tmp_path, code):
    res = testapp.get("/audit/exports", {"organisation": code, "download": "1",
                                         "date_from": "2026-10-01", "date_to": "2026-10-31"})
    path = tmp_path / "package.zip"
    path.write_bytes(res.body)
    result = export.verify_file(path, wsgi_app.registry.access_log.key)
    assert result.ok, result.problems
    with zipfile.ZipFile(path) as archive:
        text = archive.read("checklists.csv").decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_package_carries_the_kept_text(testapp, dbsession, wsgi_app, tmp_path, people):  # noqa: F811
    """checklists.csv gains a last column with the Japanese text kept at
    completion; the columns before it are unchanged, a hostile contract name
    stays inert, and the package still verifies."""
    contract = dbsession.get(Contract, people["contract"])
    contract.name = '=HYPERLINK("http://evil.example/","x")'
    contract.manager_name = "<script>alert(1)</script>"
    dbsession.commit()
    url = completed(testapp, dbsession, people)
    page = testapp.get(url)
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    change_the_world(dbsession, people)

    code = dbsession.get(Organisation, people["org"]).code
    rows = read_checklists_csv(testapp, wsgi_app, tmp_path, code)
    assert tuple(rows[0]) == cl.ROW_HEADERS and rows[0][-1] == "完了時の根拠（システム記録）"
    assert rows[0][:16] == ["確認記録票番号", "委託先", "契約", "実施日", "場所", "確認者", "委託先立会者",
                            "番号", "項目コード", "確認項目", "根拠", "結果", "備考", "総評", "完了者", "完了日時"]
    by_code = {r[8]: r for r in rows[1:]}
    assert by_code["handover_slips"][-1] == SLIPS_BEFORE  # as kept, not today's
    assert by_code["responsible_persons"][-1] == (
        "'=HYPERLINK(\"http://evil.example/\",\"x\"): 取扱責任者 <script>alert(1)</script>、取扱者 2名")
    assert by_code["locked_storage"][-1] == ""

    with dbsession.begin_nested():  # completed before snapshots (migration 0031)
        dbsession.execute(sa.update(InspectionChecklist).values(evidence_taken_at=None))
        dbsession.execute(sa.text("UPDATE inspection_checklist_items SET evidence_snapshot = NULL"))
    dbsession.commit()
    rows = read_checklists_csv(testapp, wsgi_app, tmp_path, code)
    assert {r[-1] for r in rows[1:]} == {NONE_JA}
