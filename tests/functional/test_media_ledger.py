"""The media ledger as a state machine, hand-over slips that balance and the
erasure certificate that needs everything back (issue 23; seed 004 資料62
受託事業者 運用6・8, 区の対策 運用3〜6: the ward lends media by slip, the
contractor returns them by slip, the ward wipes them before a witness, and
the erasure at the contract's end accounts for every record handed out).
SQLite and PostgreSQL."""
import csv
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from intranet.audit import checklist as cl
from intranet.models import (
    ErasureRecord, HandoverSlip, Medium, MediumEvent, MediumState, Role, User,
)
from intranet.survey.media import MANUAL_KINDS, TRANSITIONS
from tests import factories
from tests.functional import test_survey
from tests.helpers import FORMULAS, csrf_token, entries_since, log_mark, login

survey = test_survey.survey  # the survey fixture (a contract, an open batch, investigators)


def _register(testapp, label):
    testapp.post("/survey/media/", {"csrf_token": csrf_token(testapp, "/survey/media/"),
                                    "label": label, "description": "暗号化USB"}, status=303)


def _slip(testapp, contract, direction, count, medium=None, status=303, handed_at="2026-11-24T09:30"):
    return testapp.post("/survey/slips/", {
        "csrf_token": csrf_token(testapp, "/survey/slips/"), "contract_id": str(contract.id),
        "direction": direction, "handed_at": handed_at, "record_count": str(count),
        "content": f"調査データ（{count}件）", "medium_id": str(medium.id) if medium else ""},
        status=status)


def _confirm(testapp, slip_id, status=303):
    return testapp.post(f"/survey/slips/{slip_id}/confirm",
                        {"csrf_token": csrf_token(testapp, "/survey/slips/")}, status=status)


def _act(testapp, medium, kind, status=303, **fields):
    return testapp.post(f"/survey/media/{medium.id}/record",
                        {"csrf_token": csrf_token(testapp, "/survey/media/"), "kind": kind, **fields},
                        status=status)


def _medium(dbsession, label):
    dbsession.expire_all()
    return dbsession.scalars(sa.select(Medium).where(Medium.label == label)).one()


def _events(dbsession, medium):
    dbsession.expire_all()
    return [(e.kind, e.contract_id, e.slip_id) for e in dbsession.scalars(
        sa.select(MediumEvent).where(MediumEvent.medium_id == medium.id)
        .order_by(MediumEvent.at, MediumEvent.id))]


def _count(dbsession, model):
    return dbsession.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_medium_goes_through_the_ledger_by_slips_and_ward_records(testapp, survey, dbsession, clock,
                                                                   engine):
    """Registered → lent (slip to the contractor) → returned only when the ward
    confirms the return slip → wiped before a witness → lent again → lost with
    a report → found (back, to be wiped) → wiped → disposed. Every refusal
    says why and stores nothing; every event carries the lending's contract."""
    contract = survey["contract"]
    mark = log_mark(engine)
    login(testapp, "boss")
    _register(testapp, "USB-101")
    usb = _medium(dbsession, "USB-101")
    assert usb.state == MediumState.registered and _events(dbsession, usb) == [("registered", None, None)]
    _slip(testapp, contract, "to_contractor", 50, usb)
    lend = dbsession.scalars(sa.select(HandoverSlip)).one()
    usb = _medium(dbsession, "USB-101")
    assert (usb.state, usb.contract_id) == (MediumState.lent, contract.id)
    assert _events(dbsession, usb)[-1] == ("lent", contract.id, lend.id)

    stored = (_count(dbsession, MediumEvent), _count(dbsession, HandoverSlip))
    # The tester's case: a wipe while lent out is refused with the way forward.
    res = _act(testapp, usb, "wiped", status=400, witness="立会 職員")
    assert "媒体 USB-101 は「貸出中」のため消去を記録できません" in res.text
    assert "区の職員が受領を確認してから消去してください" in res.text
    # ... and so the checklist still says the medium is out.
    boss = dbsession.scalars(sa.select(User).where(User.login == "boss")).one()
    checklist = cl.create(dbsession, organisation=contract.organisation, inspected_on=clock.today(),
                          contract=contract, user=boss, now=clock.now())
    facts = [(f.key, f.params) for f in cl.evidence(dbsession, checklist)["media_returned"]]
    assert facts == [("checklist.evidence.media_out", {"count": 1, "labels": "USB-101"})]
    dbsession.rollback()
    for kind in ("disposed", "found"):
        assert "「貸出中」" in _act(testapp, usb, kind, status=400, report="x").text
    res = _slip(testapp, contract, "to_contractor", 5, usb, status=400)   # lent twice
    assert "貸し出せるのは未使用か消去済みの媒体だけです" in res.text
    testapp.post("/lang", {"csrf_token": csrf_token(testapp), "lang": "en"}, status=303)
    res = _act(testapp, usb, "wiped", status=400, witness="w")
    assert "Medium USB-101 is “Lent” and cannot be recorded as wiped" in res.text
    testapp.post("/lang", {"csrf_token": csrf_token(testapp), "lang": "ja"}, status=303)
    assert (_count(dbsession, MediumEvent), _count(dbsession, HandoverSlip)) == stored

    # The contractor returns it: still lent (返却確認待ち) until the ward confirms.
    clock.advance(minutes=2)
    login(testapp, "k1")
    _slip(testapp, contract, "to_ward", 30, usb, handed_at="2026-11-24T09:31")
    back = dbsession.scalars(sa.select(HandoverSlip).where(HandoverSlip.direction == "to_ward")).one()
    res = _slip(testapp, contract, "to_ward", 30, usb, status=400, handed_at="2026-11-24T09:31")
    assert "確認待ちの返却の受け渡し票がすでにあります" in res.text
    login(testapp, "boss")
    assert _medium(dbsession, "USB-101").state == MediumState.lent
    page = testapp.get("/survey/media/")
    assert "貸出中（返却確認待ち）" in page.html.select_one('tr[data-medium="USB-101"]').text
    clock.advance(minutes=1)
    _confirm(testapp, back.id)
    usb = _medium(dbsession, "USB-101")
    assert usb.state == MediumState.returned
    assert _events(dbsession, usb)[-1] == ("returned", contract.id, back.id)
    # Returned: not lent again before a wipe; a wipe needs its witness.
    assert "返却された媒体は先に消去" in _slip(testapp, contract, "to_contractor", 5, usb, status=400).text
    assert "立会者の氏名を入力してください" in _act(testapp, usb, "wiped", status=400, witness=" ").text
    _act(testapp, usb, "wiped", witness="徴収 職員", note="専用ソフトで消去")
    usb = _medium(dbsession, "USB-101")
    assert usb.state == MediumState.wiped
    wipe = dbsession.scalars(sa.select(MediumEvent).where(MediumEvent.kind == "wiped")).one()
    assert (wipe.contract_id, wipe.witness, wipe.recorded_by) == (contract.id, "徴収 職員", boss.id)

    # Wiped media are reusable: lent again, then lost, found, wiped, disposed.
    clock.advance(minutes=2)
    _slip(testapp, contract, "to_contractor", 10, usb, handed_at="2026-11-24T09:35")
    assert "紛失の報告" in _act(testapp, usb, "lost", status=400, report="").text
    _act(testapp, usb, "lost", report="11/24 調査先で紛失。調査対象10件。委託先責任者から報告を受けた。")
    assert _medium(dbsession, "USB-101").state == MediumState.lost
    assert "「紛失」" in _act(testapp, usb, "wiped", status=400, witness="w").text
    _act(testapp, usb, "found", report="11/24 調査員の車内で発見")
    assert _medium(dbsession, "USB-101").state == MediumState.returned   # must be wiped now
    assert "先に消去を記録してください" in _act(testapp, usb, "disposed", status=400).text
    _act(testapp, usb, "wiped", witness="徴収 職員")
    _act(testapp, usb, "disposed", note="物理破壊")
    usb = _medium(dbsession, "USB-101")
    assert usb.state == MediumState.disposed
    assert [(k, c) for k, c, _ in _events(dbsession, usb)] == [
        ("registered", None), ("lent", contract.id), ("returned", contract.id),
        ("wiped", contract.id), ("lent", contract.id), ("lost", contract.id),
        ("found", contract.id), ("wiped", contract.id), ("disposed", contract.id)]
    assert "貸し出せるのは未使用か消去済み" in _slip(testapp, contract, "to_contractor", 1, usb,
                                                status=400).text
    # Every change is logged, by ids only (no witness names, no report text).
    logged = [json.loads(e.detail) for e in entries_since(engine, mark, kind="event")
              if e.event == "survey.medium"]
    assert [d["kind"] for d in logged] == [k for k, _, _ in _events(dbsession, usb)]
    assert all(d.get("contract") in (None, contract.id) for d in logged)
    assert not any("職員" in str(d) or "紛失" in str(d) for d in logged)
    # The medium's page lists every event with the states before and after.
    page = testapp.get(f"/survey/media/{usb.id}/")
    rows = page.html.select("#medium-%d .medium-events tbody tr" % usb.id)
    assert [r["data-kind"] for r in rows] == [k for k, _, _ in _events(dbsession, usb)]
    assert "消去済 → 貸出中" in rows[4].text and f"No. {back.id}" in rows[2].text


@pytest.mark.parametrize("state", list(MediumState))
def test_ward_records_are_allowed_only_from_their_states(testapp, survey, dbsession, state):
    """Each manual transition (消去・廃棄・紛失・発見) from each state: allowed
    exactly where the state machine allows it; lending and return never by
    hand (they go by slips)."""
    medium = Medium(label=f"USB-{state}", state=state,
                    contract_id=None if state == MediumState.registered else survey["contract"].id)
    dbsession.add(medium)
    dbsession.commit()
    login(testapp, "boss")
    for kind in ("lent", "returned", "registered"):
        assert "記録の種類を選んでください" in _act(testapp, medium, kind, status=400).text
    for kind in MANUAL_KINDS:
        allowed, after = TRANSITIONS[kind]
        fields = {"witness": "立会 者", "report": "報告"}
        if state in allowed:
            _act(testapp, medium, kind, **fields)
            assert _medium(dbsession, medium.label).state == after
            medium = _medium(dbsession, medium.label)
            medium.state = state   # back to the state under test
            dbsession.commit()
        else:
            res = _act(testapp, medium, kind, status=400, **fields)
            assert f"媒体 {medium.label} は「" in res.text
            assert _medium(dbsession, medium.label).state == state
    assert _count(dbsession, MediumEvent) == sum(state in TRANSITIONS[k][0] for k in MANUAL_KINDS)


def test_contractors_and_auditors_do_not_record_in_the_ledger(testapp, survey, dbsession, password_context):
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    medium = Medium(label="USB-R", state=MediumState.wiped)
    dbsession.add(medium)
    dbsession.commit()
    for who in ("k1", "audit"):
        login(testapp, who)
        testapp.post(f"/survey/media/{medium.id}/record",
                     {"csrf_token": csrf_token(testapp), "kind": "disposed"}, status=403)
        assert _medium(dbsession, "USB-R").state == MediumState.wiped
    login(testapp, "audit")
    page = testapp.get(f"/survey/media/{medium.id}/")   # auditors read the ledger
    assert "消去済" in page.text and not page.html.select("form.medium-form")


def _supervisor(dbsession):
    boss = dbsession.scalars(sa.select(User).where(User.login == "boss")).one()
    boss.is_supervisor = True
    dbsession.commit()


def _erase(testapp, path, records, status):
    fields = {"csrf_token": csrf_token(testapp, path), "erased_on": "2026-11-24",
              "method": "専用ソフトによる上書き消去", "witness_name": "徴収 職員",
              "items": "調査データ", "records_erased": str(records),
              "devices": "タブレット T-01\n<script>alert(1)</script>"}
    return testapp.post(path + "erase", fields, upload_files=[("certificate", "c.pdf", b"%PDF-1.4 c")],
                        status=status)


def test_the_contract_page_balances_slips_and_the_certificate_waits_for_everything(
        testapp, survey, dbsession, clock):
    """50 records handed out on USB-201, 30 returned: the page flags 20 neither
    returned nor erased; the certificate is refused (listing the records, the
    unconfirmed slip and the medium) until the medium is back and wiped and
    the erased count makes up the rest."""
    contract = survey["contract"]
    _supervisor(dbsession)
    login(testapp, "boss")
    _register(testapp, "USB-201")
    usb = _medium(dbsession, "USB-201")
    _slip(testapp, contract, "to_contractor", 50, usb)
    clock.advance(minutes=2)
    login(testapp, "k1")
    _slip(testapp, contract, "to_ward", 30, usb, handed_at="2026-11-24T09:31")
    back = dbsession.scalars(sa.select(HandoverSlip).where(HandoverSlip.direction == "to_ward")).one()
    login(testapp, "boss")
    path = f"/admin/contracts/{contract.id}/"
    page = testapp.get(path)
    records = [td.text for td in page.html.select("#balance-records td")]
    assert records == ["50", "0", "30", "—"]
    differences = page.html.select_one("#balance-differences").text
    assert "差異: 50件が未返却・未消去です。" in differences
    assert f"受け渡し票 No. {back.id}（30件）の返却が区で未確認です。" in differences
    assert "媒体 USB-201 が「貸出中」です" in differences
    assert len(page.html.select("#contract-slips tbody tr[data-slip]")) == 2
    assert [r["data-kind"] for r in page.html.select("#contract-media tbody tr")] == ["lent"]

    res = _erase(testapp, path, 20, status=400)
    assert "消去証明を記録できません" in res.text
    assert "差異: 30件が未返却・未消去です。" in res.text       # 50 - 0 confirmed - 20 erased
    assert "媒体 USB-201 が「貸出中」です" in res.text
    assert _count(dbsession, ErasureRecord) == 0

    clock.advance(minutes=1)
    _confirm(testapp, back.id)
    page = testapp.get(path)
    assert "差異: 20件が未返却・未消去です。" in page.html.select_one("#balance-differences").text
    assert "「返却済（未消去）」" in page.html.select_one("#balance-differences").text
    res = _erase(testapp, path, 20, status=400)      # records balance, the medium is not wiped
    refusal = res.html.select_one(".error").text
    assert "媒体 USB-201 が「返却済（未消去）」です" in refusal and "差異:" not in refusal
    _act(testapp, usb, "wiped", witness="徴収 職員")
    res = _erase(testapp, path, 25, status=400)
    assert "返却・消去の件数が渡した件数を5件上回っています" in res.text
    res = _erase(testapp, path, 20, status=303)
    record = dbsession.scalars(sa.select(ErasureRecord)).one()
    assert (record.records_erased, record.devices) == (20, "タブレット T-01\n<script>alert(1)</script>")
    page = testapp.get(path)
    assert [td.text for td in page.html.select("#balance-records td")] == ["50", "30", "0", "20"]
    assert "差異はありません" in page.html.select_one("#balance-differences").text
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert [r["data-kind"] for r in page.html.select("#contract-media tbody tr")] == [
        "lent", "returned", "wiped"]


def test_the_erasure_form_needs_the_count_and_the_devices(testapp, survey, dbsession):
    _supervisor(dbsession)
    login(testapp, "boss")
    path = f"/admin/contracts/{survey['contract'].id}/"
    fields = {"csrf_token": csrf_token(testapp, path), "erased_on": "2026-11-24", "method": "m",
              "witness_name": "w", "items": "i", "records_erased": "二十", "devices": " "}
    res = testapp.post(path + "erase", fields, upload_files=[("certificate", "c.pdf", b"%PDF-1.4")],
                       status=400)
    assert "消去した件数を数字で入力してください" in res.text
    assert "消去に使用・対象とした機器（タブレット等）を入力してください" in res.text
    assert _count(dbsession, ErasureRecord) == 0


def test_the_package_holds_every_event_of_the_contracts_media(
        testapp, survey, dbsession, clock, password_context):
    """media_ledger.csv: lendings, returns, wipes, losses and finds of the
    organisation's contracts, each with its contract, slip and the states
    before and after; free text quoted against formulas."""
    contract = survey["contract"]
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    dbsession.commit()
    login(testapp, "boss")
    _register(testapp, "USB-301")
    usb = _medium(dbsession, "USB-301")
    _slip(testapp, contract, "to_contractor", 40, usb)
    clock.advance(minutes=2)
    login(testapp, "k1")
    _slip(testapp, contract, "to_ward", 40, usb, handed_at="2026-11-24T09:31")
    back = dbsession.scalars(sa.select(HandoverSlip).where(HandoverSlip.direction == "to_ward")).one()
    login(testapp, "boss")
    _confirm(testapp, back.id)
    _act(testapp, usb, "wiped", witness=FORMULAS[0], note="=HYPERLINK(\"http://x\")")
    login(testapp, "audit")
    res = testapp.get("/audit/exports", {"organisation": contract.organisation.code, "download": "1",
                                         "date_from": "2026-11-01", "date_to": "2026-11-30"})
    archive = zipfile.ZipFile(io.BytesIO(res.body))
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open("media_ledger.csv"), encoding="utf-8-sig",
                                                newline="")))
    lend = dbsession.scalars(sa.select(HandoverSlip).where(HandoverSlip.direction == "to_contractor")).one()
    assert [(r["媒体"], r["記録"], r["契約番号"], r["受け渡し票番号"], r["状態（前）"], r["状態（後）"], r["遷移"])
            for r in rows] == [
        ("USB-301", "貸出", str(contract.id), str(lend.id), "未使用", "貸出中", "可"),
        ("USB-301", "返却", str(contract.id), str(back.id), "貸出中", "返却済（未消去）", "可"),
        ("USB-301", "消去", str(contract.id), "", "返却済（未消去）", "消去済", "可")]
    assert rows[2]["立会者"].startswith("'") and rows[2]["備考"] == "'=HYPERLINK(\"http://x\")"
    slips = list(csv.DictReader(io.TextIOWrapper(archive.open("handover_slips.csv"),
                                                 encoding="utf-8-sig", newline="")))
    assert [(s["件数"], s["媒体"]) for s in slips] == [("40", "USB-301"), ("40", "USB-301")]


def test_photos_are_taken_with_the_camera_and_not_kept_in_the_gallery(testapp, survey, dbsession):
    """The report form asks the tablet for its camera; the investigator's pages
    say photos stay out of the gallery (issue 23: remote wipe ends sessions,
    not what the gallery holds)."""
    from tests.functional.test_survey import make_batch

    make_batch(testapp, survey)
    login(testapp, "k1")
    mine = testapp.get("/survey/")
    assert "ギャラリー（カメラロール）に写真を残してはいけません" in mine.html.select_one("#photo-rule").text
    target = testapp.get(mine.html.select_one("#my-targets a")["href"])
    field = target.html.select_one("input#photos")
    assert (field["accept"], field["capture"]) == ("image/*", "environment")
    assert field["aria-describedby"] == "survey-photo-camera"
    testapp.post("/lang", {"csrf_token": csrf_token(testapp), "lang": "en"}, status=303)
    assert "must not be kept in the tablet's gallery" in testapp.get("/survey/").html.select_one(
        "#photo-rule").text
