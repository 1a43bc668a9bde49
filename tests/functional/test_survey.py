"""Field survey: batches of movers-out, investigators who see exactly their own
targets and only the identity facet (SQLite and PostgreSQL)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.models import (
    BatchState, Contract, Residency, Role, SurveyBatch, SurveyTarget, SurveyTargetState, User,
)
from intranet.security.matrix import Facet
from intranet.survey.batches import MAX_TARGETS
from tests import factories
from tests.helpers import FORMULAS, HTML, csrf_token, entries_since, log_mark, login, xlsx_formulas


@pytest.fixture
def survey(dbsession, password_context):
    boss = factories.user(dbsession, password_context, Role.collector, login="boss")
    k1 = factories.user(dbsession, password_context, Role.contractor, login="k1")
    k2 = factories.user(dbsession, password_context, Role.contractor, login="k2")
    contract = Contract(organisation_id=k1.organisation_id, name="現地調査", purpose="居住確認",
                        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31),
                        manager_name="責任者", handler_names="k1\nk2", protections="",
                        training_required=False, created_by=boss.id, created_at=dt.datetime(2026, 11, 1))
    dbsession.add(contract)
    dbsession.flush()
    for k in (k1, k2):
        k.contract_id = contract.id
    sentinel = factories.sentinel_case(dbsession)
    sentinel.taxpayer.residency = Residency.moved_out
    sentinel.taxpayer.address = "大阪府大阪市北区梅田1丁目 S3NT-IDN"
    # seed 004: movers-out who owe overdue tax and cannot be reached by phone
    for phone in sentinel.taxpayer.phones:
        phone.unusable = True
    other = factories.owed_case(dbsession, name="別件 花子", phone=None, residency=Residency.moved_out,
                                address="北海道札幌市中央区北1条西2丁目")
    factories.case(dbsession, name="区内 住民")  # not moved out: never in a batch
    dbsession.commit()
    return {"contract": contract, "sentinel": sentinel, "other": other, "k1": k1, "k2": k2}


def make_batch(testapp, survey):
    login(testapp, "boss")
    token = csrf_token(testapp, "/survey/batches/")
    res = testapp.post("/survey/batches/", {"csrf_token": token, "contract_id": str(survey["contract"].id),
                                            "name": "11月 区外転出者", "deadline": "2026-12-25"},
                       status=303).follow()
    path = res.request.path.rstrip("/") + "/"
    for area, who in (("大阪府", survey["k1"]), ("北海道", survey["k2"])):
        testapp.post(path + "assign", {"csrf_token": csrf_token(testapp, path), "area": area,
                                       "investigator_id": str(who.id)}, status=303)
    testapp.post(path + "open", {"csrf_token": csrf_token(testapp, path)}, status=303)
    return path


def test_a_batch_takes_movers_out_and_is_assigned_by_area(testapp, survey, dbsession):
    make_batch(testapp, survey)
    batch = dbsession.scalars(sa.select(SurveyBatch).where(SurveyBatch.name == "11月 区外転出者")).one()
    assert batch.state == BatchState.open
    by_case = {t.case_id: (t.area, t.investigator_id) for t in batch.targets}
    assert by_case == {survey["sentinel"].id: ("大阪府大阪市", survey["k1"].id),
                       survey["other"].id: ("北海道札幌市", survey["k2"].id)}


def test_an_investigator_sees_only_own_targets_and_only_the_identity_facet(testapp, survey, dbsession, engine):
    make_batch(testapp, survey)
    login(testapp, "k1")
    mine = testapp.get("/survey/")
    assert "S3NT-IDN" in mine.text and "別件 花子" not in mine.text
    target = testapp.get(mine.html.select_one("#my-targets a")["href"])
    shown = target.text
    assert "S3NT-IDN" in shown and "令和8年12月25日" in shown
    for facet, sentinel in factories.SENTINELS.items():
        if facet != Facet.identity:
            for page in (mine, target):
                assert sentinel not in page.text, facet
    assert "watermark" in shown and "k1" in target.html.select_one(".watermark")["data-mark"]
    # another investigator's target: denied and logged; the case page: denied
    other = dbsession.scalars(sa.select(SurveyTarget).where(
        SurveyTarget.case_id == survey["other"].id)).one()  # (the sentinel's old batch is closed)
    mark = log_mark(engine)
    denied = testapp.get(f"/survey/targets/{other.id}/", status=403)
    assert "別件" not in denied.text
    (entry,) = entries_since(engine, mark, kind="request")
    assert (entry.outcome, entry.login, entry.context_type) == ("denied", "k1", "SurveyTargetResource")
    res = testapp.get(f"/cases/{survey['sentinel'].case_no}/", status=403)
    for sentinel in factories.SENTINELS.values():
        assert sentinel not in res.text
    testapp.get("/cases/", status=403)


def test_targets_close_with_the_batch_and_outside_the_contract(testapp, survey, dbsession, clock):
    make_batch(testapp, survey)
    login(testapp, "k1")
    href = testapp.get("/survey/").html.select_one("#my-targets a")["href"]
    target = dbsession.scalars(sa.select(SurveyTarget).join(SurveyTarget.batch).where(
        SurveyTarget.case_id == survey["sentinel"].id, SurveyBatch.state == BatchState.open)).one()
    target.state = SurveyTargetState.closed
    dbsession.commit()
    testapp.get(href, status=403)
    assert "S3NT-IDN" not in testapp.get("/survey/").text


def test_batches_over_500_are_refused(testapp, survey, dbsession):
    for n in range(MAX_TARGETS):
        factories.owed_case(dbsession, name=f"転出 {n}", phone=None, residency=Residency.moved_out,
                            address="千葉県千葉市中央区")
    dbsession.commit()
    login(testapp, "boss")
    res = testapp.post("/survey/batches/", {"csrf_token": csrf_token(testapp, "/survey/batches/"),
                                            "contract_id": str(survey["contract"].id), "name": "多すぎ",
                                            "deadline": "2026-12-25"}, status=400)
    assert "最大500件" in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(SurveyBatch).where(
        SurveyBatch.state != BatchState.closed)) == 0
    # narrowed to one prefecture it fits
    testapp.post("/survey/batches/", {"csrf_token": csrf_token(testapp, "/survey/batches/"),
                                      "contract_id": str(survey["contract"].id), "name": "大阪",
                                      "deadline": "2026-12-25", "prefecture": "大阪府"}, status=303)
    assert dbsession.scalars(sa.select(SurveyBatch).where(
        SurveyBatch.state != BatchState.closed)).one().name == "大阪"


def test_investigator_sessions_lock_after_five_idle_minutes(testapp, survey, clock):
    make_batch(testapp, survey)
    login(testapp, "k1")
    testapp.get("/survey/", status=200)
    clock.advance(minutes=4)
    testapp.get("/survey/", status=200)
    clock.advance(minutes=5, seconds=1)
    res = testapp.get("/survey/", status=303)
    assert "expired=1" in res.location
    # collectors keep the ordinary 15 minutes
    login(testapp, "boss")
    clock.advance(minutes=6)
    testapp.get("/survey/batches/", status=200)


def test_other_roles_and_investigators_cannot_manage_batches(testapp, survey, dbsession, password_context):
    factories.user(dbsession, password_context, Role.operator, login="op")
    dbsession.commit()
    login(testapp, "op")
    testapp.get("/survey/batches/", status=403)
    testapp.get("/survey/", status=403)
    login(testapp, "k1")
    testapp.get("/survey/batches/", status=403)


def jpeg_with_gps() -> bytes:
    import io

    from PIL import ExifTags, Image

    img = Image.new("RGB", (64, 48), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (139.0, 41.0, 30.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


REPORT = {"visited_at": "2026-11-24T08:45", "residence": "lives", "nameplate": "present",
          "nameplate_name": "センチネル", "tenure": "rented", "landlord_name": "梅田管理株式会社",
          "landlord_contact": "06-0000-0000", "slip_handed_to": "本人", "memo": "在宅"}


def report(testapp, href, status=303, upload=None, **fields):
    form = {**REPORT, **fields, "csrf_token": csrf_token(testapp, href)}
    files = [("photos", name, data) for name, data in (upload or [])]
    return testapp.post(href.rstrip("/") + "/report", form, upload_files=files, status=status)


def test_a_report_with_a_photo_is_stored_without_exif_and_versioned(testapp, survey, dbsession, engine):
    import io

    from PIL import Image

    from intranet.models import SurveyPhoto, SurveyReport

    make_batch(testapp, survey)
    login(testapp, "k1")
    href = testapp.get("/survey/").html.select_one("#my-targets a")["href"]
    report(testapp, href, upload=[("house.jpg", jpeg_with_gps())])
    page = testapp.get(href)
    assert "梅田管理株式会社" in page.text and "S3NT-SUR" not in page.text  # not the sentinel's old report
    src = page.html.select_one("img.survey-photo")["src"]
    mark = log_mark(engine)
    photo = testapp.get(src)
    assert photo.content_type == "image/jpeg"
    stored = Image.open(io.BytesIO(photo.body))
    assert dict(stored.getexif()) == {} and stored.size == (64, 48)
    (entry,) = entries_since(engine, mark, kind="request")
    assert entry.facets == "survey" and entry.case_count == 1
    # a correction is a new version; the investigator sees the latest, staff the history
    report(testapp, href, residence="not_living", memo="空室")
    page = testapp.get(href)
    assert "居住していない" in page.text and len(page.html.select("section.report")) == 1
    # another investigator cannot fetch the photo
    login(testapp, "k2")
    testapp.get(src, status=403)
    login(testapp, "boss")
    page = testapp.get(href)
    assert len(page.html.select("section.report")) == 2
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(SurveyReport)) == 3  # + the sentinel's
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(SurveyPhoto)) == 1
    case_page = testapp.get(f"/cases/{survey['sentinel'].case_no}/")
    assert "梅田管理株式会社" in case_page.text and "S3NT-SUR" in case_page.text


@pytest.mark.parametrize("upload,message", [
    ([("notes.jpg", b"%PDF-1.4 not an image")], "JPEGまたはPNG"),
    ([("big.jpg", b"\xff\xd8" + b"0" * (8 * 1024 * 1024 + 10))], "8MB"),
    ([("x.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")], "JPEGまたはPNG"),
    ([(f"p{n}.jpg", b"x") for n in range(6)], "5枚まで"),
])
def test_bad_uploads_get_a_clear_error_and_store_nothing(testapp, survey, dbsession, upload, message):
    from intranet.models import SurveyReport

    make_batch(testapp, survey)
    login(testapp, "k1")
    href = testapp.get("/survey/").html.select_one("#my-targets a")["href"]
    res = report(testapp, href, status=400, upload=upload)
    assert message in res.html.select_one(".error").text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(SurveyReport)) == 1  # the sentinel's


def test_report_fields_are_checked(testapp, survey):
    make_batch(testapp, survey)
    login(testapp, "k1")
    href = testapp.get("/survey/").html.select_one("#my-targets a")["href"]
    res = report(testapp, href, status=400, residence="maybe", visited_at="2030-01-01T10:00")
    errors = res.html.select_one(".error").text
    assert "居住の有無" in errors and "訪問日時" in errors


def test_collectors_review_progress_and_export_results(testapp, survey, dbsession, engine):
    import io

    import openpyxl

    path = make_batch(testapp, survey)
    login(testapp, "k1")
    href = testapp.get("/survey/").html.select_one("#my-targets a")["href"]
    report(testapp, href)
    login(testapp, "boss")
    page = testapp.get(path)
    progress = {td["data-key"]: td.text for td in page.html.select("#progress td")}
    assert progress == {"targets": "2", "reported": "1", "lives": "1", "not_living": "0",
                        "unknown": "0", "pending": "1"}
    mark = log_mark(engine)
    res = testapp.get(path + "export", {"format": "csv"})
    assert res.body.startswith(b"\xef\xbb\xbf")
    lines = res.body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("案件番号,氏名,郵便番号") and len(lines) == 3
    assert any("梅田管理株式会社" in line and "居住している" in line for line in lines)
    request_entry, event = entries_since(engine, mark)
    assert request_entry.case_count == 2 and event.event == "survey.export"
    book = openpyxl.load_workbook(io.BytesIO(testapp.get(path + "export", {"format": "xlsx"}).body))
    assert len(list(book["調査結果"].iter_rows())) == 3
    # investigators neither review nor export
    login(testapp, "k1")
    testapp.get(path, status=403)
    testapp.get(path + "export", status=403)


def test_the_export_holds_planted_formulas_as_inert_text(testapp, survey, dbsession):
    """OWASP "CSV Injection": formulas typed into a survey report by an outsourced
    investigator come out of the batch export as text with a leading quote, in
    the CSV and in the Excel file (string cells, no ``<f>`` element)."""
    import csv
    import io

    import openpyxl

    from intranet.models import SurveyReport

    path = make_batch(testapp, survey)
    hyperlink, plus_formula, plus, minus, at, tab, cr, wide = FORMULAS
    planted = {
        "k1": {"nameplate_name": hyperlink, "landlord_name": plus_formula, "landlord_contact": plus,
               "slip_handed_to": minus, "memo": at},
        "k2": {"nameplate_name": HTML, "landlord_name": wide, "landlord_contact": "x",
               "slip_handed_to": "x", "memo": "-"},
    }
    for who, fields in planted.items():
        login(testapp, who)
        report(testapp, testapp.get("/survey/").html.select_one("#my-targets a")["href"], **fields)
    # The form strips surrounding white space; a tab or CR can still be stored
    # another way (an older version, a fix in the database).
    k2_report = dbsession.scalars(sa.select(SurveyReport).where(
        SurveyReport.landlord_name == wide)).one()
    k2_report.landlord_contact, k2_report.slip_handed_to = tab, cr
    dbsession.commit()
    planted["k2"].update(landlord_contact=tab, slip_handed_to=cr)
    columns = {"nameplate_name": "表札の名前", "landlord_name": "家主・管理会社",
               "landlord_contact": "連絡先", "slip_handed_to": "連絡票", "memo": "メモ"}
    expected = [{columns[k]: v if v == HTML else "'" + v for k, v in fields.items()}
                for fields in planted.values()]

    login(testapp, "boss")
    res = testapp.get(path + "export", {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(res.body.decode("utf-8-sig"), newline="")))
    assert sorted([{c: row[c] for c in columns.values()} for row in rows], key=str) == sorted(
        expected, key=str)

    body = testapp.get(path + "export", {"format": "xlsx"}).body
    assert xlsx_formulas(body) == []
    sheet = openpyxl.load_workbook(io.BytesIO(body))["調査結果"]
    header, *values = [list(r) for r in sheet.iter_rows(values_only=True)]
    cells = [{c: row[header.index(c)] for c in columns.values()} for row in values]
    # (XML reads a stored CR back as a line feed: the cell still starts with the quote)
    assert sorted(cells, key=str) == sorted(
        [{c: v.replace("\r", "\n") for c, v in row.items()} for row in expected], key=str)
    assert {c.data_type for row in sheet.iter_rows(min_row=2) for c in row
            if c.column_letter in "KMNOP"} == {"s"}
    assert [r[header.index("写真枚数")] for r in values] == [0, 0]  # numbers stay numbers


def test_erasure_disables_the_contract_users_and_closes_their_targets(testapp, survey, dbsession, engine):
    import webtest as wt

    from intranet.models import ErasureRecord, User

    make_batch(testapp, survey)
    tablet = wt.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "10.9.0.2"})
    login(tablet, "k1")
    href = tablet.get("/survey/").html.select_one("#my-targets a")["href"]
    survey["boss"] = dbsession.scalars(sa.select(User).where(User.login == "boss")).one()
    survey["boss"].is_supervisor = True
    dbsession.commit()
    login(testapp, "boss")
    path = f"/admin/contracts/{survey['contract'].id}/"
    fields = {"csrf_token": csrf_token(testapp, path), "erased_on": "2026-11-24",
              "method": "専用ソフトによる上書き消去", "witness_name": "徴収 職員", "items": "タブレット2台",
              "records_erased": "0", "devices": "タブレット T-01\nタブレット T-02"}
    res = testapp.post(path + "erase", fields, upload_files=[("certificate", "c.txt", b"plain text")],
                       status=400)
    assert "PDFまたはJPEG/PNG" in res.text
    testapp.post(path + "erase", fields,
                 upload_files=[("certificate", "c.jpg", jpeg_with_gps())], status=303)
    record = dbsession.scalars(sa.select(ErasureRecord)).one()
    assert record.certificate_type == "image/jpeg" and b"SpyCam" not in record.certificate
    dbsession.expire_all()
    assert not dbsession.get(User, survey["k1"].id).is_active
    tablet.get(href, status=303)          # the tablet's session ended
    assert "利用できません" in login(tablet, "k1").text
    target = dbsession.scalars(sa.select(SurveyTarget).join(SurveyTarget.batch).where(
        SurveyBatch.contract_id == survey["contract"].id)).first()
    assert target.state == SurveyTargetState.closed
    res = testapp.post(path + "erase", {**fields, "csrf_token": csrf_token(testapp, path)},
                       upload_files=[("certificate", "c.pdf", b"%PDF-1.4 ...")], status=400)
    assert "消去済み" in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(ErasureRecord)) == 1


def test_a_hand_over_slip_needs_a_user_of_the_other_side_to_confirm(testapp, survey, dbsession, password_context):
    from intranet.models import HandoverSlip, Medium, MediumEvent

    factories.user(dbsession, password_context, Role.collector, login="c2")
    dbsession.add(Medium(label="USB-007", description="暗号化USB"))
    dbsession.commit()
    medium = dbsession.scalars(sa.select(Medium)).one()
    login(testapp, "boss")
    form = {"csrf_token": csrf_token(testapp, "/survey/slips/"), "contract_id": str(survey["contract"].id),
            "direction": "to_contractor", "handed_at": "2026-11-24T09:00", "record_count": "2",
            "content": "調査対象一覧（2件）", "medium_id": str(medium.id)}
    testapp.post("/survey/slips/", form, status=303)
    slip = dbsession.scalars(sa.select(HandoverSlip)).one()
    assert "未確認" in testapp.get("/survey/slips/").text
    # the sender, and another ward user, cannot confirm a slip the contractor receives
    for who in ("boss", "c2"):
        login(testapp, who)
        res = testapp.post(f"/survey/slips/{slip.id}/confirm",
                           {"csrf_token": csrf_token(testapp, "/survey/slips/")}, status=400)
        assert "受け取った側" in res.text
    # the contractor cannot record a slip the ward sends
    login(testapp, "k1")
    res = testapp.post("/survey/slips/", {**form, "csrf_token": csrf_token(testapp, "/survey/slips/")},
                       status=400)
    assert "渡した側" in res.text
    testapp.post(f"/survey/slips/{slip.id}/confirm", {"csrf_token": csrf_token(testapp, "/survey/slips/")},
                 status=303)
    dbsession.expire_all()
    assert dbsession.get(HandoverSlip, slip.id).confirmed_by == survey["k1"].id
    assert [e.kind for e in dbsession.scalars(sa.select(MediumEvent))] == ["lent"]
    testapp.get("/survey/media/", status=403)
    login(testapp, "boss")
    ledger = testapp.get("/survey/media/")
    assert "USB-007" in ledger.text and "貸出" in ledger.text
    # still lent: a wipe is refused (issue 23; tests/functional/test_media_ledger.py)
    res = testapp.post(f"/survey/media/{medium.id}/record",
                       {"csrf_token": csrf_token(testapp, "/survey/media/"), "kind": "wiped",
                        "witness": "立会 職員", "note": "完全消去"}, status=400)
    assert "消去できるのは返却された媒体だけです" in res.text
    assert [e.kind for e in dbsession.scalars(sa.select(MediumEvent))] == ["lent"]


def test_targets_can_be_assigned_by_hand(testapp, survey, dbsession):
    login(testapp, "boss")
    token = csrf_token(testapp, "/survey/batches/")
    page = testapp.post("/survey/batches/", {"csrf_token": token, "contract_id": str(survey["contract"].id),
                                             "name": "手動", "deadline": "2026-12-25"}, status=303).follow()
    form = page.forms["hand-form"]
    boxes = form.fields["target_id"]
    boxes[0].checked = True
    form["investigator_id"] = str(survey["k2"].id)
    form.submit(status=303)
    batch = dbsession.scalars(sa.select(SurveyBatch).where(SurveyBatch.name == "手動")).one()
    assert sorted((t.investigator_id or 0) for t in batch.targets) == sorted([0, survey["k2"].id])
    res = testapp.post(page.request.path.rstrip("/") + "/open",
                       {"csrf_token": csrf_token(testapp, page.request.path)}, status=400)
    assert "割り当てられていない" in res.text


@pytest.fixture
def media(survey, dbsession, password_context):
    """USB-A lent to k1's contract, USB-B lent to another contract, USB-C lent to
    k1's contract and returned, USB-D never lent."""
    from intranet.models import Medium, MediumEvent

    boss = dbsession.scalars(sa.select(User).where(User.login == "boss")).one()
    other = Contract(organisation_id=survey["contract"].organisation_id, name="別契約", purpose="p",
                     starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31), manager_name="m",
                     handler_names="h", protections="", training_required=False, created_by=boss.id,
                     created_at=dt.datetime(2026, 11, 1))
    dbsession.add(other)
    dbsession.flush()
    found = {}
    for label in ("USB-A", "USB-B", "USB-C", "USB-D"):
        found[label] = Medium(label=label)
        dbsession.add(found[label])
    dbsession.flush()
    at = dt.datetime(2026, 11, 10)
    for label, contract, kind in (("USB-A", survey["contract"], "lent"), ("USB-B", other, "lent"),
                                  ("USB-C", survey["contract"], "lent"),
                                  ("USB-C", survey["contract"], "returned")):
        at += dt.timedelta(hours=1)
        dbsession.add(MediumEvent(medium_id=found[label].id, kind=kind, at=at, recorded_by=boss.id,
                                  contract_id=contract.id))
        found[label].state, found[label].contract_id = kind, contract.id
    dbsession.commit()
    return {label: medium.id for label, medium in found.items()}


def offered(page) -> set[str]:
    return {o.text for o in page.html.select("#medium_id option") if o.get("value")}


def test_the_slip_form_offers_contractors_only_their_contracts_media(testapp, survey, media):
    login(testapp, "k1")
    assert offered(testapp.get("/survey/slips/")) == {"USB-A"}
    testapp.get("/survey/media/", status=403)
    login(testapp, "boss")  # the ward sees every medium
    assert offered(testapp.get("/survey/slips/")) == {"USB-A", "USB-B", "USB-C", "USB-D"}


def test_a_slip_with_another_contracts_medium_is_refused(testapp, survey, media, dbsession):
    from intranet.models import HandoverSlip, MediumEvent

    def slip_form(medium_id):
        return {"csrf_token": csrf_token(testapp, "/survey/slips/"),
                "contract_id": str(survey["contract"].id), "direction": "to_ward",
                "handed_at": "2026-11-24T09:00", "record_count": "3",
                "content": "調査結果（3件）", "medium_id": str(medium_id)}

    def stored():
        return (dbsession.scalar(sa.select(sa.func.count()).select_from(HandoverSlip)),
                dbsession.scalar(sa.select(sa.func.count()).select_from(MediumEvent)))

    before = stored()
    login(testapp, "k1")
    for label in ("USB-B", "USB-C", "USB-D"):  # another contract's, returned, never lent
        res = testapp.post("/survey/slips/", slip_form(media[label]), status=400)
        assert "自社の契約に貸し出し中の媒体だけを選べます" in res.text
        assert offered(res) == {"USB-A"}
    res = testapp.post("/survey/slips/", slip_form(999999), status=400)
    assert "自社の契約に貸し出し中の媒体だけを選べます" in res.text
    testapp.post("/lang", {"csrf_token": csrf_token(testapp), "lang": "en"}, status=303)
    res = testapp.post("/survey/slips/", slip_form(media["USB-B"]), status=400)
    assert "only media lent to your own contract can be chosen" in res.text
    assert stored() == before                      # nothing stored
    testapp.post("/survey/slips/", slip_form(media["USB-A"]), status=303)
    slip = dbsession.scalars(sa.select(HandoverSlip)).one()
    assert slip.medium_id == media["USB-A"] and slip.direction == "to_ward"
    login(testapp, "boss")  # the ward may name any medium, but one that exists
    res = testapp.post("/survey/slips/", {**slip_form(999999), "direction": "to_contractor"}, status=400)
    assert "That medium is not in the media ledger" in res.text
