"""The data link fills every facet of 資料1 the case page shows (issue 19):
住民記録 and 職業・勤務先 (columns of taxpayers.csv), 外国人住民
(foreign_residents.csv), 軽自動車 (columns of assessments.csv) and 分割納付約束
(payment_agreements.csv). Imported values show on the case page; files
written before the new columns still import and keep what is stored; values
of the wrong kind are refused with the line and column, and nothing changes;
demo data exported and imported into an empty database gives the same case
pages (SQLite and PostgreSQL)."""
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from intranet.datalink import importer
from intranet.datalink.dump import dump
from intranet.demo.generator import generate
from intranet.i18n import translate
from intranet.models import (
    Assessment, Case, ForeignResidentRecord, PaymentAgreement, Role, Taxpayer, TaxType,
)
from tests import factories
from tests.conftest import _empty_all_tables
from tests.helpers import login

TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 24, 0, 30)

OLD_TAXPAYERS = ("taxpayer_no,kind,name,name_kana,postal_code,address,address_extra,residency,"
                 "birth_date,gender,household_no")
RESIDENT = ("resident_no,head_of_household,relationship_to_head,ward_address,previous_address,"
            "became_resident_on,address_since,record_change_reason,record_changed_on,moved_out_on")
EMPLOYMENT = "occupation,employer_name,employer_address,employer_phone"
OLD_ASSESSMENTS = "notice_no,case_no,tax_type,fiscal_year,applicable_year,annual_amount"
VEHICLE = "vehicle_id_no,vehicle_kind,vehicle_name,displacement_cc,garage_address,plate_no"
FOREIGN = "taxpayer_no,registration_no,alias_name,nationality,residence_status,stay_until"
AGREEMENTS = "case_no,agreed_on,first_due_on,instalment_amount,instalment_count,status,note"

TAXPAYER = "P0000101,individual,転出 花子,テンシュツ ハナコ,330-0063,埼玉県さいたま市浦和区高砂1丁目1番1号,,moved_out,1980-04-01,女,7000000101"
RESIDENT_VALUES = ("５００００００１０１,転出 一郎,妻,東京都新宿区西新宿2丁目8番1号,東京都中野区中央1丁目2番3号,"
                   "H22.4.1,2015-06-01,転出,令和8年3月31日,2026-03-31")
EMPLOYMENT_VALUES = "会社員,株式会社テスト商会,東京都千代田区丸の内1丁目1番1号,０３-５５５５-０１０２"
ASSESSMENT = "N0000101,2026-000101,light_vehicle,2026,2026,10800"
VEHICLE_VALUES = "MH23S-654321,軽四輪乗用,ワゴンR,658,東京都新宿区西新宿2丁目8番1号,練馬 580 あ 56-78"


def _csv(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def _files(**overrides) -> dict[str, bytes]:
    files = {
        "taxpayers.csv": _csv(f"{OLD_TAXPAYERS},{RESIDENT},{EMPLOYMENT}",
                              f"{TAXPAYER},{RESIDENT_VALUES},{EMPLOYMENT_VALUES}"),
        "cases.csv": _csv("case_no,taxpayer_no,opened_on,delinquency_category,assigned_staff",
                          "2026-000101,P0000101,2026-07-01,,"),
        "assessments.csv": _csv(f"{OLD_ASSESSMENTS},{VEHICLE}", f"{ASSESSMENT},{VEHICLE_VALUES}"),
        "foreign_residents.csv": _csv(FOREIGN, "P0000101,ＡＢ12345678,転出 花子,ベトナム,技能実習,R9.6.30"),
        "payment_agreements.csv": _csv(AGREEMENTS, "2026-000101,2026-10-15,2026-11-30,3000,4,active,月末払い"),
    }
    files.update(overrides)
    return files


@pytest.fixture
def collector(testapp, dbsession, password_context):
    factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    login(testapp, "c1")
    return testapp


def _facet(testapp, case_no: str, facet: str) -> str:
    page = testapp.get(f"/cases/{case_no}")
    return " ".join(page.html.select_one(f"#facet-{facet}").get_text(" ").split())


def _stored(dbsession) -> dict:
    dbsession.expire_all()
    tp = dbsession.scalars(sa.select(Taxpayer)).one()
    return {
        "taxpayer": {c.key: getattr(tp, c.key) for c in Taxpayer.__table__.columns if c.key != "id"},
        "assessment": {c.key: getattr(a, c.key) for a in dbsession.scalars(sa.select(Assessment))
                       for c in Assessment.__table__.columns if c.key != "id"},
        "foreign": [(f.registration_no, f.alias_name, f.nationality, f.residence_status, f.stay_until)
                    for f in dbsession.scalars(sa.select(ForeignResidentRecord))],
        "agreements": [(g.agreed_on, g.first_due_on, g.instalment_amount, g.instalment_count,
                        g.is_active, g.note) for g in dbsession.scalars(sa.select(PaymentAgreement))],
    }


def test_resident_record_columns_import_and_show_on_the_case_page(collector, dbsession):
    """資料1 基本情報: 住民番号, 世帯主氏名, 続柄, 区内住所, 転入前住所, 区民となった日,
    住所を定めた日, 住民記録の変更事由及び変更日, 転出日 (住民票の状態) — and the 転出後住所
    is the address of a mover-out. Full-width digits and 和暦 dates are read."""
    result = importer.run(dbsession, _files(), TODAY)
    assert result.ok, [str(p) for p in result.report.problems]
    dbsession.commit()
    tp = dbsession.scalars(sa.select(Taxpayer)).one()
    assert (tp.resident_no, tp.head_of_household, tp.relationship_to_head, tp.became_resident_on,
            tp.record_changed_on, tp.moved_out_on) == (
        "5000000101", "転出 一郎", "妻", dt.date(2010, 4, 1), dt.date(2026, 3, 31), dt.date(2026, 3, 31))
    text = _facet(collector, "2026-000101", "resident_record")
    for value in ("5000000101", "7000000101", "転出 一郎", "妻", "東京都新宿区西新宿2丁目8番1号",
                  "東京都中野区中央1丁目2番3号", "2010-04-01", "2015-06-01", "転出", "2026-03-31"):
        assert value in text
    assert "埼玉県さいたま市浦和区高砂1丁目1番1号" in _facet(collector, "2026-000101", "identity")


def test_employment_columns_import_and_show_on_the_case_page(collector, dbsession):
    """資料1 基本情報: 職業, 勤務先の名称・勤務先の住所・勤務先の電話番号."""
    assert importer.run(dbsession, _files(), TODAY).ok
    dbsession.commit()
    text = _facet(collector, "2026-000101", "employment")
    for value in ("会社員", "株式会社テスト商会", "東京都千代田区丸の内1丁目1番1号", "03-5555-0102"):
        assert value in text


def test_foreign_residents_file_imports_and_shows_on_the_case_page(collector, dbsession):
    """資料1 基本情報（外国人含）: 外国人登録番号, 外国人通称名, 国籍, 在留資格, 在留期間."""
    result = importer.run(dbsession, _files(), TODAY)
    assert vars(result.counts["foreign_residents"]) == {"added": 1, "changed": 0, "unchanged": 0}
    dbsession.commit()
    text = _facet(collector, "2026-000101", "foreign_resident")
    for value in ("AB12345678", "転出 花子", "ベトナム", "技能実習", "2027-06-30"):
        assert value in text
    # a later file changes the record (one per taxpayer)
    result = importer.run(dbsession, {"foreign_residents.csv": _csv(
        FOREIGN, "P0000101,AB12345678,転出 花子,ベトナム,特定技能,2029-06-30")}, TODAY)
    assert vars(result.counts["foreign_residents"]) == {"added": 0, "changed": 1, "unchanged": 0}
    dbsession.commit()
    assert "特定技能" in _facet(collector, "2026-000101", "foreign_resident")


def test_vehicle_columns_import_and_show_on_the_case_page(collector, dbsession):
    """資料1 軽自動車税課税情報: 車体識別番号, 車種, 車名, 排気量, 定置場, 標識番号."""
    assert importer.run(dbsession, _files(), TODAY).ok
    dbsession.commit()
    a = dbsession.scalars(sa.select(Assessment)).one()
    assert (a.tax_type, a.displacement_cc) == (TaxType.light_vehicle, 658)
    text = _facet(collector, "2026-000101", "assessment")
    for value in ("MH23S-654321", "軽四輪乗用", "ワゴンR", "658cc", "東京都新宿区西新宿2丁目8番1号",
                  "練馬 580 あ 56-78"):
        assert value in text


def test_payment_agreements_file_imports_and_shows_on_the_case_page(collector, dbsession):
    """資料1 収納情報: 分割納付約束の有無及びその内容 — matched on case and 約束日, so a
    later file may end an agreement."""
    assert importer.run(dbsession, _files(), TODAY).ok
    dbsession.commit()
    text = _facet(collector, "2026-000101", "payment")
    assert "2026-10-15" in text and "月末払い" in text and "2026-11-30" in text
    assert translate("ja", "agreement.ended") not in text.split("分割納付約束")[-1]
    result = importer.run(dbsession, {"payment_agreements.csv": _csv(
        AGREEMENTS, "2026-000101,2026-10-15,2026-11-30,3000,4,ended,不履行")}, TODAY)
    assert vars(result.counts["payment_agreements"]) == {"added": 0, "changed": 1, "unchanged": 0}
    dbsession.commit()
    text = _facet(collector, "2026-000101", "payment").split("分割納付約束")[-1]
    assert translate("ja", "agreement.ended") in text and "不履行" in text


def test_files_without_the_new_columns_import_and_keep_what_is_stored(dbsession):
    """資料1 住民記録・職業・勤務先 and 軽自動車: a taxpayers.csv or assessments.csv
    written before these columns existed still imports, updates the older
    columns, and leaves the stored 資料1 values as they are; a file with only
    some of them writes only those."""
    assert importer.run(dbsession, _files(), TODAY).ok
    dbsession.commit()
    before = _stored(dbsession)
    old = {"taxpayers.csv": _csv(OLD_TAXPAYERS, TAXPAYER.replace("転出 花子", "転出 華子")),
           "assessments.csv": _csv(OLD_ASSESSMENTS, ASSESSMENT.replace(",10800", ",12900"))}
    result = importer.run(dbsession, old, TODAY)
    assert result.ok, [str(p) for p in result.report.problems]
    assert result.counts["taxpayers"].changed == result.counts["assessments"].changed == 1
    dbsession.commit()
    after = _stored(dbsession)
    assert after["taxpayer"]["name"] == "転出 華子" and after["assessment"]["annual_amount"] == 12900
    for key in ("resident_no", "head_of_household", "ward_address", "became_resident_on", "moved_out_on",
                "occupation", "employer_name", "employer_phone"):
        assert after["taxpayer"][key] == before["taxpayer"][key] is not None
    for key in ("vehicle_id_no", "vehicle_kind", "vehicle_name", "displacement_cc", "garage_address",
                "plate_no"):
        assert after["assessment"][key] == before["assessment"][key] is not None
    assert after["foreign"] == before["foreign"] and after["agreements"] == before["agreements"]
    # only the 職業 column: the rest is kept, an empty cell clears
    partial = {"taxpayers.csv": _csv(f"{OLD_TAXPAYERS},occupation,employer_name",
                                     f"{TAXPAYER},自営業,")}
    assert importer.run(dbsession, partial, TODAY).ok
    dbsession.commit()
    now = _stored(dbsession)["taxpayer"]
    assert (now["occupation"], now["employer_name"], now["employer_phone"], now["resident_no"]) == (
        "自営業", None, "03-5555-0102", "5000000101")


@pytest.mark.parametrize("file,header,row,line,column,key", [
    # 住民記録: 区民となった日 that does not exist
    ("taxpayers.csv", f"{OLD_TAXPAYERS},{RESIDENT}",
     f"{TAXPAYER},{RESIDENT_VALUES.replace('H22.4.1', '2010-02-30')}", 2, "became_resident_on",
     "datalink.error.date"),
    # 転出日 in an era that had ended
    ("taxpayers.csv", f"{OLD_TAXPAYERS},{RESIDENT}",
     f"{TAXPAYER},{RESIDENT_VALUES.replace(',2026-03-31', ',平成31年5月1日')}", 2, "moved_out_on",
     "datalink.error.date"),
    # 排気量 not a whole number
    ("assessments.csv", f"{OLD_ASSESSMENTS},{VEHICLE}", f"{ASSESSMENT},{VEHICLE_VALUES.replace(',658,', ',658cc,')}",
     2, "displacement_cc", "datalink.error.int"),
    # 在留期間 not a date
    ("foreign_residents.csv", FOREIGN, "P0000101,AB12345678,,ベトナム,技能実習,来年", 2, "stay_until",
     "datalink.error.date"),
    # 国籍 required
    ("foreign_residents.csv", FOREIGN, "P0000101,AB12345678,,,技能実習,", 2, "nationality",
     "datalink.error.required"),
    # 分割納付約束: an unknown status, a negative amount, a count in kanji
    ("payment_agreements.csv", AGREEMENTS, "2026-000101,2026-10-15,2026-11-30,3000,4,maybe,", 2, "status",
     "datalink.error.choice"),
    ("payment_agreements.csv", AGREEMENTS, "2026-000101,2026-10-15,2026-11-30,-3000,4,active,", 2,
     "instalment_amount", "datalink.error.amount"),
    ("payment_agreements.csv", AGREEMENTS, "2026-000101,2026-10-15,2026-11-30,3000,四,active,", 2,
     "instalment_count", "datalink.error.int"),
])
def test_values_of_the_wrong_kind_are_refused_and_nothing_changes(dbsession, file, header, row, line,
                                                                   column, key):
    """資料1 住民記録・外国人住民・軽自動車・分割納付約束: a bad date, a displacement
    that is not a whole number, an unknown choice are reported with file, line
    and column (a Japanese and an English message, never the value), and
    nothing of any file is stored or changed."""
    assert importer.run(dbsession, _files(), TODAY).ok
    dbsession.commit()
    before = _stored(dbsession)
    # an otherwise good change in another file is not applied either
    other = {"cases.csv": _csv("case_no,taxpayer_no,opened_on,delinquency_category,assigned_staff",
                               "2026-000101,P0000101,2026-07-01,現年,担当 一")}
    result = importer.run(dbsession, {**other, file: _csv(header, row)}, TODAY)
    assert [(p.file, p.line, p.column, p.key) for p in result.report.problems] == [(file, line, column, key)]
    assert translate("ja", key) and translate("en", key)
    dbsession.commit()
    assert _stored(dbsession) == before
    assert dbsession.scalar(sa.select(Case.delinquency_category)) is None


def test_a_wrong_value_is_shown_on_the_upload_page(collector, dbsession):
    """資料1 軽自動車 排気量: the upload page lists file, line and column."""
    files = _files(**{"assessments.csv": _csv(f"{OLD_ASSESSMENTS},{VEHICLE}",
                                               f"{ASSESSMENT},{VEHICLE_VALUES.replace(',658,', ',６５８cc,')}")})
    from tests.helpers import csrf_token

    res = collector.post("/datalink/", {"csrf_token": csrf_token(collector, "/datalink/"), "encoding": ""},
                         upload_files=[("files", name, data) for name, data in files.items()], status=400)
    problems = res.html.select_one("#problems").text
    assert "assessments.csv:2 [displacement_cc]" in problems and translate("ja", "datalink.error.int") in problems
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Taxpayer)) == 0


# -- the round trip ------------------------------------------------------------

FACETS = ("identity", "resident_record", "foreign_resident", "employment", "assessment")


def _pages(testapp, case_nos) -> dict:
    found = {}
    for case_no in case_nos:
        html = testapp.get(f"/cases/{case_no}").html
        found[case_no] = {f: " ".join(html.select_one(f"#facet-{f}").get_text(" ").split()) for f in FACETS}
        payment = html.select_one("#facet-payment").get_text(" ")
        found[case_no]["agreements"] = " ".join(payment.split("分割納付約束")[-1].split())
    return found


def _fields(dbsession, case_nos) -> dict:
    """Every 資料1 item of the new facets, from the models."""
    found = {}
    for case in dbsession.scalars(sa.select(Case).where(Case.case_no.in_(case_nos))):
        tp = case.taxpayer
        f = tp.foreign_resident
        found[case.case_no] = (
            tuple(getattr(tp, c) for c in (
                "resident_no", "household_no", "head_of_household", "relationship_to_head", "ward_address",
                "previous_address", "became_resident_on", "address_since", "record_change_reason",
                "record_changed_on", "moved_out_on", "residency", "address", "occupation", "employer_name",
                "employer_address", "employer_phone")),
            (f.registration_no, f.alias_name, f.nationality, f.residence_status, f.stay_until) if f else None,
            sorted((a.notice_no, a.vehicle_id_no, a.vehicle_kind, a.vehicle_name, a.displacement_cc,
                    a.garage_address, a.plate_no) for a in case.assessments),
            sorted((g.agreed_on, g.first_due_on, g.instalment_amount, g.instalment_count, g.is_active, g.note)
                   for g in case.agreements))
    return found


def test_demo_data_exported_and_imported_into_an_empty_database_shows_the_same_facets(
        testapp, dbsession, engine, admin_engine, password_context, monkeypatch):
    """資料1 every item the case page shows: demo data → every data-link file
    (CP932, the default of the imports) → an empty database → the same
    住民記録, 外国人住民, 職業・勤務先, 軽自動車 and 分割納付約束 on the case
    pages, and the same model fields."""
    monkeypatch.setattr(importer, "COPY_FROM", 1)  # PostgreSQL: every insert by COPY
    with Session(admin_engine) as owner:
        generate(owner, cases=120, seed=1, today=TODAY, now=NOW)
        owner.commit()
    picks = []
    for name, condition in (
            ("foreign", Taxpayer.foreign_resident.has()), ("agreement", Case.agreements.any()),
            ("ended agreement", Case.agreements.any(PaymentAgreement.is_active.is_(False))),
            ("vehicle", Case.assessments.any(Assessment.vehicle_id_no.is_not(None))),
            ("moved out", Taxpayer.moved_out_on.is_not(None)), ("employer", Taxpayer.employer_name.is_not(None)),
            ("household member", Taxpayer.relationship_to_head == "子")):
        found = dbsession.scalars(sa.select(Case.case_no).join(Taxpayer).where(condition)
                                  .order_by(Case.case_no).limit(2)).all()
        assert found, name  # the demo data has every kind
        picks += found
    picks = sorted(set(picks))
    files = dump(dbsession, encoding="cp932")
    assert {"foreign_residents.csv", "payment_agreements.csv"} <= set(files)
    expected_fields = _fields(dbsession, picks)
    factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    login(testapp, "c1")
    expected_pages = _pages(testapp, picks)
    dbsession.close()
    _empty_all_tables(engine)

    result = importer.run(dbsession, files, TODAY)
    assert result.ok, [str(p) for p in result.report.problems[:5]]
    factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    assert _fields(dbsession, picks) == expected_fields
    login(testapp, "c1")
    assert _pages(testapp, picks) == expected_pages
    # and a second import of the same files changes nothing
    again = importer.run(dbsession, files, TODAY)
    assert all(c.added == 0 and c.changed == 0 for c in again.counts.values()), again.counts


def test_the_dump_in_cp932_reports_what_it_cannot_hold(dbsession):
    """資料1 氏名・外国人通称名: the data-link files in CP932 never replace 𠮷
    (U+20BB7): every place is reported by file, line, key and column; in
    UTF-8 the same data is written and reads back."""
    from intranet.datalink.encoding import UnencodableError

    files = _files(**{"foreign_residents.csv": _csv(FOREIGN, "P0000101,AB12345678,転出 花子,ベトナム,技能実習,")})
    assert importer.run(dbsession, files, TODAY).ok
    dbsession.flush()
    tp = dbsession.scalars(sa.select(Taxpayer)).one()
    tp.head_of_household = "𠮷田 一郎"
    tp.foreign_resident.alias_name = "𠮷田 花子"
    dbsession.flush()
    with pytest.raises(UnencodableError) as raised:
        dump(dbsession, encoding="cp932")
    assert [(p.file, p.line, p.key, p.column, p.codepoint) for p in raised.value.problems] == [
        ("taxpayers.csv", 2, "P0000101", "head_of_household", "U+20BB7"),
        ("foreign_residents.csv", 2, "P0000101", "alias_name", "U+20BB7")]
    again = importer.run(dbsession, dump(dbsession, encoding="utf-8"), TODAY)
    assert again.ok and all(c.changed == c.added == 0 for c in again.counts.values())
