"""Payment slips and dunning letters: the PDFs say the right thing, are
recorded on each case, and only for cases the user may see."""
import datetime as dt
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from intranet.calls import campaigns
from intranet.config import cvs_settings
from intranet.models import (
    Assessment, CallCampaign, CampaignStatus, ContactRecord, Installment, IssuedDocument, LetterBatch,
    MailingAddress, Role,
)
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login, swapped_settings


def pdf_pages(body: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(body)).pages]


@pytest.fixture
def people(dbsession, password_context):
    for role, name in ((Role.collector, "c1"), (Role.operator, "op1"), (Role.auditor, "au")):
        factories.user(dbsession, password_context, role, login=name)
    dbsession.commit()


def test_a_reissued_slip_prints_amounts_late_charge_and_deadline(testapp, people, dbsession, engine):
    case = factories.owed_case(dbsession, name="再発 太郎", amount=100_000, due=dt.date(2024, 7, 1),
                               fiscal_year=2024)
    dbsession.commit()
    login(testapp, "c1")
    form = testapp.get(f"/cases/{case.case_no}/slip").forms["slip-form"]
    form["deadline"] = "2026-11-29"  # a Sunday: moves to Monday 30 November
    mark = log_mark(engine)
    res = form.submit()
    assert res.content_type == "application/pdf"
    (text,) = pdf_pages(res.body)
    assert "再発 太郎 様" in text and "納付書（再発行）" in text
    assert "令和8年11月30日" in text            # the shifted deadline, in 和暦
    assert "令和6年7月1日" in text              # the due date
    assert "100,000円" in text
    # late charge as of 30 Nov 2026: 203 + 3,623 + 8,700 + 100000×9.1%×333/365 (8,302) = 20,828 → 20,800
    assert "20,800円" in text and "120,800円" in text
    doc_no = re.search(r"S2026-\d{6}", text).group(0)
    issued = dbsession.scalars(sa.select(IssuedDocument)).one()
    assert (issued.doc_no, issued.tax_total, issued.late_charge_total) == (doc_no, 100_000, 20_800)
    note = dbsession.scalars(sa.select(ContactRecord).where(ContactRecord.case_id == case.id)).one()
    assert doc_no in note.content
    request_entry, event = entries_since(engine, mark)
    assert [c.case_no for c in request_entry.cases] == [case.case_no]
    assert event.event == "document.slip" and doc_no in event.detail


def test_slip_forms_reject_bad_input(testapp, people, dbsession):
    case = factories.owed_case(dbsession)
    dbsession.commit()
    login(testapp, "c1")
    path = f"/cases/{case.case_no}/slip"
    token = csrf_token(testapp, path)
    for fields, message in (({"deadline": "2027-06-01", "installment": "1"}, "60日以内"),
                            ({"deadline": "2026-11-30"}, "期別を選んで"),
                            ({"deadline": "2026-11-30", "installment": "999999"}, "期別を選んで")):
        res = testapp.post(path, {"csrf_token": token, **fields}, status=400)
        assert message in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(IssuedDocument)) == 0


def test_operators_reach_the_slip_from_the_call_screen(testapp, people, no_phone_cases, dbsession):
    from intranet.models import CallTarget, Phone

    target = dbsession.scalars(sa.select(CallTarget)).first()
    case = target.members[0].case
    dbsession.add(Phone(taxpayer_id=case.taxpayer_id, number="03-1000-2000", digits="0310002000"))
    dbsession.commit()
    login(testapp, "op1")
    screen = testapp.get(f"/calls/targets/{target.id}/")
    slip = testapp.get(screen.html.select_one("a.slip-link")["href"])
    res = slip.forms["slip-form"].submit()
    assert res.content_type == "application/pdf" and case.taxpayer.name in pdf_pages(res.body)[0]


def test_slips_only_for_cases_the_user_may_see(testapp, people, dbsession):
    case = factories.owed_case(dbsession)  # in no campaign
    dbsession.commit()
    login(testapp, "op1")
    testapp.get(f"/cases/{case.case_no}/slip", status=403)
    login(testapp, "au")  # auditors read, never issue
    testapp.get(f"/cases/{case.case_no}/slip", status=403)


@pytest.fixture
def no_phone_cases(dbsession, clock):
    cases = [factories.owed_case(dbsession, name=f"文書 {n}", phone=None, amount=10_000 * (n + 1))
             for n in range(4)]
    dbsession.add(MailingAddress(taxpayer_id=cases[0].taxpayer_id, name="送付先 商事 気付 文書 0",
                                 postal_code="530-0001", address="大阪府大阪市北区梅田1-1-1"))
    campaign = CallCampaign(name="文書", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    dbsession.commit()
    return cases


def test_a_letter_batch_has_one_page_per_case_and_must_be_sealed_with_the_right_count(
        testapp, people, no_phone_cases, dbsession, engine):
    login(testapp, "op1")
    page = testapp.get("/letters/")
    form = page.forms["letters-form"]
    assert len(form.fields["case_no"]) == 4
    form["deadline"] = "2026-12-08"
    mark = log_mark(engine)
    res = form.submit(status=303)
    created, event = entries_since(engine, mark)
    assert sorted(c.case_no for c in created.cases) == sorted(c.case_no for c in no_phone_cases)
    assert event.event == "document.letters" and '"letters": 4' in event.detail
    res = res.follow()
    assert res.html.select_one("#batch-letters").text == "4"
    pdf = testapp.get(res.request.path.rstrip("/") + "/pdf")
    pages = pdf_pages(pdf.body)
    assert len(pages) == 4
    first = next(p for p in pages if "送付先 商事" in p)
    assert "〒530-0001" in first and "大阪府大阪市北区梅田1-1-1" in first  # the mailing address wins
    assert "催" in first and "令和8年12月8日" in first and "差押え" in first
    for case, text in zip(no_phone_cases[1:], [p for p in pages if p is not first]):
        assert f"{case.balance:,}円" in text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(IssuedDocument)) == 4
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(ContactRecord)) == 4
    # enclosure: a wrong count keeps the batch open
    form = res.forms["seal-form"]
    form["counted"] = "3"
    res = form.submit(status=303).follow()
    assert "封入数不一致" in res.html.select_one("#batch-status").text
    form = res.forms["seal-form"]
    form["counted"] = "4"
    res = form.submit(status=303).follow()
    assert "封入封緘済み" in res.html.select_one("#batch-status").text
    assert "seal-form" not in res.forms
    assert dbsession.scalars(sa.select(LetterBatch)).one().counted == 4


def test_letters_only_for_cases_in_reach(testapp, people, no_phone_cases, dbsession):
    outsider = factories.owed_case(dbsession, name="圏外", phone=None)
    dbsession.commit()
    login(testapp, "op1")
    token = csrf_token(testapp, "/letters/")
    res = testapp.post("/letters/", {"csrf_token": token, "case_no": outsider.case_no,
                                     "deadline": "2026-12-08"}, status=400)
    assert "対象の案件を選んで" in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(LetterBatch)) == 0
    login(testapp, "au")
    assert "letters-form" not in testapp.get("/letters/").text


# ---------------------------------------------------------------- what letters and slips demand

def test_a_letter_batch_over_the_demo_data_never_demands_an_installment_not_yet_due(
        people, dbsession, admin_engine, wsgi_app):
    from sqlalchemy.orm import Session

    from intranet.demo.generator import generate
    from intranet.documents import service
    from intranet.models import Case, CaseStatus, Installment, User

    today, now = dt.date(2026, 11, 24), dt.datetime(2026, 11, 24, 0, 30)
    with Session(admin_engine) as owner:  # the generator resets sequences: the owner's right
        generate(owner, cases=80, seed=11, today=today, now=now)
        owner.commit()
    cases = list(dbsession.scalars(sa.select(Case).where(Case.status == CaseStatus.open)))
    not_due = {i.id for c in cases for a in c.assessments for i in a.installments
               if i.due_date >= today and i.tax_amount > i.tax_paid}
    assert not_due  # the demo has 第4期 (January) installments: the test can fail
    user = dbsession.scalars(sa.select(User).where(User.login == "c1")).one()
    batch = service.issue_letters(dbsession, cases, dt.date(2026, 12, 8), user, now, today,
                                  wsgi_app.registry.app_settings)
    assert batch.letters > 0
    demanded = [line for d in dbsession.scalars(sa.select(IssuedDocument))
                for line in __import__("json").loads(d.installments)]
    assert demanded and not {line["id"] for line in demanded} & not_due
    dues = dict(dbsession.execute(sa.select(Installment.id, Installment.due_date)).all())
    assert all(dues[line["id"]] < today for line in demanded)
    assert all(d.fee == 0 for d in dbsession.scalars(sa.select(IssuedDocument)))


def _paid_late_case(dbsession, **kw):
    """本税 65,000 due 2025-06-30, paid in full on 2026-03-31: only 延滞金 is left
    (132 + 2,370 + 1,458 = 3,960 → 3,900 yen, 地方税法20条の4の2⑤)."""
    from intranet.models import Receipt, ReceiptKind

    case = factories.owed_case(dbsession, phone=None, amount=65_000, due=dt.date(2025, 6, 30),
                               fiscal_year=2025, **kw)
    installment = case.assessments[0].installments[0]
    installment.receipts.append(Receipt(kind=ReceiptKind.tax, amount=65_000,
                                        received_on=dt.date(2026, 3, 31)))
    case.balance = 3_900
    dbsession.flush()
    return case, installment


@pytest.fixture
def letter_campaign(dbsession, clock):
    def build():
        campaign = CallCampaign(name="催告", status=CampaignStatus.active,
                                starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 12, 31),
                                created_at=clock.now())
        dbsession.add(campaign)
        dbsession.flush()
        campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
        dbsession.commit()
    return build


def test_a_case_with_only_fixed_late_charge_is_demanded(testapp, people, dbsession, letter_campaign):
    case, _ = _paid_late_case(dbsession, name="延滞 花子")
    letter_campaign()
    login(testapp, "op1")
    form = testapp.get("/letters/").forms["letters-form"]
    assert form.fields["case_no"][0]._value == case.case_no
    form["deadline"] = "2026-12-08"
    res = form.submit(status=303).follow()
    (text,) = pdf_pages(testapp.get(res.request.path.rstrip("/") + "/pdf").body)
    assert "延滞 花子" in text and "3,900円" in text and "督促手数料" not in text
    issued = dbsession.scalars(sa.select(IssuedDocument)).one()
    assert (issued.tax_total, issued.late_charge_total, issued.fee) == (0, 3_900, 0)


def test_letters_wait_for_the_dunning_notice_and_carry_its_fee_only(
        testapp, people, dbsession, letter_campaign, wsgi_app, monkeypatch):
    from intranet.documents import service
    from intranet.models import User
    from intranet.config import parse_settings

    early = factories.owed_case(dbsession, name="督促 直後", phone=None)
    early.assessments[0].installments[0].dunning_sent_on = dt.date(2026, 11, 20)  # +10: 30 Nov
    sent = factories.owed_case(dbsession, name="督促 済み", phone=None)
    sent.assessments[0].installments[0].dunning_sent_on = dt.date(2026, 7, 15)
    unknown = factories.owed_case(dbsession, name="督促 不明", phone=None)
    letter_campaign()
    login(testapp, "op1")
    offered = {f._value for f in testapp.get("/letters/").forms["letters-form"].fields["case_no"]}
    assert offered == {sent.case_no, unknown.case_no}
    settings = parse_settings({**wsgi_app.registry.settings,
                               "intranet.documents.dunning_fee": "2026-04-01:100"})
    user = dbsession.scalars(sa.select(User).where(User.login == "c1")).one()
    service.issue_letters(dbsession, [early, sent, unknown], dt.date(2026, 12, 8), user,
                          dt.datetime(2026, 11, 24, 0, 30), dt.date(2026, 11, 24), settings)
    fees = {d.case_id: d.fee for d in dbsession.scalars(sa.select(IssuedDocument))}
    assert fees == {sent.id: 100, unknown.id: 0}  # the 督促状's fee; a letter creates none
    assert settings.cases.amount_rules.case(early, dt.date(2026, 11, 30)).letter_items(10)


def test_a_slip_covers_overdue_amounts_and_adds_installments_not_yet_due_on_request(
        testapp, people, dbsession):
    from intranet.models import Installment

    case = factories.owed_case(dbsession, name="分納 次郎", amount=40_000)
    assessment = case.assessments[0]
    assessment.installments.append(Installment(period_no=4, due_date=dt.date(2027, 2, 1),
                                               tax_amount=30_000, late_charge_amount=0))
    dbsession.commit()
    later = assessment.installments[-1]
    login(testapp, "c1")
    page = testapp.get(f"/cases/{case.case_no}/slip")
    assert "納期限前の期別" in page.text
    boxes = {b["value"]: b.has_attr("checked") for b in page.html.select("input[name=installment]")}
    assert boxes == {str(assessment.installments[0].id): True, str(later.id): False}
    form = page.forms["slip-form"]
    form["deadline"] = "2026-12-08"
    form.submit()
    assert dbsession.scalars(sa.select(IssuedDocument)).one().tax_total == 40_000
    form = testapp.get(f"/cases/{case.case_no}/slip").forms["slip-form"]
    form["deadline"] = "2026-12-08"
    form.set("installment", True, index=1)
    form.submit()
    totals = sorted(d.tax_total for d in dbsession.scalars(sa.select(IssuedDocument)))
    assert totals == [40_000, 70_000]


# ---------------------------------------------------------------- convenience-store barcode

REQUIRE_TOOLS = os.environ.get("INTRANET_REQUIRE_BROWSER") == "1"


@dataclass(frozen=True)
class Symbol:
    data: str
    gs1: bool  # zbar saw FNC1 first: GS1-128, not plain Code 128


def _reader_missing() -> str | None:
    if not shutil.which("pdftoppm"):
        return "pdftoppm not found (apt-get install poppler-utils)"
    try:
        import pyzbar.pyzbar  # noqa: F401  (loads libzbar)
    except ImportError as exc:
        return f"pyzbar or libzbar missing ({exc}; make install-test, apt-get install libzbar0)"
    return None


@pytest.fixture(scope="session")
def read_barcodes():
    """PDF page → 600 dpi image (pdftoppm) → every Code 128 symbol zbar finds.
    Skips without the tools, unless INTRANET_REQUIRE_BROWSER=1 (CI, where
    .ci/run installs them)."""
    problem = _reader_missing()
    if problem:
        if REQUIRE_TOOLS:
            pytest.fail(f"INTRANET_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(f"reading barcodes needs poppler-utils and libzbar: {problem}; "
                    "set INTRANET_REQUIRE_BROWSER=1 to make this an error")
    import ctypes

    from PIL import Image
    from pyzbar import pyzbar, wrapper

    modifiers = wrapper.LIBZBAR.zbar_symbol_get_modifiers
    modifiers.restype, modifiers.argtypes = ctypes.c_uint, [ctypes.POINTER(wrapper.zbar_symbol)]
    ZBAR_MOD_GS1 = 0

    def read(pdf: bytes, tmp_path) -> list[Symbol]:
        (tmp_path / "slip.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "600", "-gray", "-png", "-singlefile", "-f", "1",
                        str(tmp_path / "slip.pdf"), str(tmp_path / "page")], check=True)
        found = []
        original = pyzbar._decode_symbols

        def with_modifiers(symbols):  # pyzbar does not expose zbar's GS1 flag
            for symbol in symbols:
                gs1 = bool(modifiers(symbol) >> ZBAR_MOD_GS1 & 1)
                for decoded in original([symbol]):
                    found.append(Symbol(decoded.data.decode("ascii"), gs1))
                    yield decoded

        pyzbar._decode_symbols = with_modifiers
        try:
            with Image.open(tmp_path / "page.png") as image:
                pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.CODE128])
        finally:
            pyzbar._decode_symbols = original
        return found

    return read


@pytest.fixture
def cvs(wsgi_app):
    """The ward has a 収納企業コード (the app's parsed settings, swapped)."""
    with swapped_settings(wsgi_app, "documents",
                          cvs=cvs_settings({"intranet.documents.cvs_company_code": "912345"})) as settings:
        yield settings.documents.cvs


def expected_barcode(notice_no: str, reissue: int, deadline: str, amount: int) -> str:
    """Written out from docs/taxes.md, independently of intranet.documents.barcode:
    (91) 912345 | notice no. zero-filled right to 21 | reissue | YYMMDD | 0 | amount (6) | CD,
    the check digit by modulus 10 with weights 3, 1, 3, … from the digit next to it.
    Worked example (quoted with its answer in a public slip printer's source as
    a check of its implementation of GS1 Japan's guideline; docs/taxes.md):
    (91)912345 012345678901234567890 1 010331 0 123000 → check digit 3."""
    body = f"91912345{notice_no:0<21}{reissue}{deadline}0{amount:06d}"
    weighted = sum(int(d) * (3, 1)[i % 2] for i, d in enumerate(reversed(body)))
    return body + str((10 - weighted % 10) % 10)


def _issue_slip(testapp, case, deadline="2026-11-29"):
    form = testapp.get(f"/cases/{case.case_no}/slip").forms["slip-form"]
    form["deadline"] = deadline
    return form.submit()


def test_expected_barcode_worked_example():
    assert expected_barcode("012345678901234567890", 1, "010331", 123_000) == (
        "91" "912345" "012345678901234567890" "1" "010331" "0" "123000" "3")


def test_a_slip_within_the_limit_carries_the_gs1_128_barcode_stores_read(
        testapp, people, dbsession, cvs, read_barcodes, tmp_path):
    case = factories.owed_case(dbsession, amount=100_000, due=dt.date(2024, 7, 1), fiscal_year=2024)
    notice_no = case.assessments[0].notice_no
    dbsession.commit()
    login(testapp, "c1")
    res = _issue_slip(testapp, case)
    # 100,000 + 20,800 late charge, deadline Monday 30 November 2026; first reissue
    expected = expected_barcode(notice_no, 1, "261130", 120_800)
    assert read_barcodes(res.body, tmp_path) == [Symbol(expected, gs1=True)]
    (text,) = pdf_pages(res.body)
    assert f"(91){expected[2:]}" in text                    # the digits under the bars
    assert "コンビニエンスストア" in text
    # Issued again for the same notice: the second reissue.
    again = _issue_slip(testapp, case)
    assert read_barcodes(again.body, tmp_path) == [
        Symbol(expected_barcode(notice_no, 2, "261130", 120_800), gs1=True)]


def test_no_barcode_above_300000_yen(testapp, people, dbsession, cvs, read_barcodes, tmp_path):
    within = factories.owed_case(dbsession, amount=300_000, due=dt.date(2026, 11, 10))
    above = factories.owed_case(dbsession, amount=300_001, due=dt.date(2026, 11, 10))
    dbsession.commit()
    login(testapp, "c1")
    res = _issue_slip(testapp, within, "2026-11-30")  # late charge under 1,000円: none
    assert [s.data[37:43] for s in read_barcodes(res.body, tmp_path)] == ["300000"]
    res = _issue_slip(testapp, above, "2026-11-30")
    assert read_barcodes(res.body, tmp_path) == []
    (text,) = pdf_pages(res.body)
    assert "300,001円" in text and "コンビニ" not in text and "(91)" not in text
    assert "金融機関（ゆうちょ銀行を含む）" in text          # the office's other places stay


def test_without_a_company_code_no_barcode_and_no_store_named(testapp, people, dbsession):
    case = factories.owed_case(dbsession, amount=10_000)
    dbsession.commit()
    login(testapp, "c1")
    (text,) = pdf_pages(_issue_slip(testapp, case).body)
    assert "コンビニ" not in text and "(91)" not in text
    assert "区役所税務課窓口・特別出張所、金融機関（ゆうちょ銀行を含む）" in text


def test_no_barcode_for_a_slip_of_two_notices(testapp, people, dbsession, cvs):
    case = factories.owed_case(dbsession, amount=10_000)
    other = Assessment(tax_type=case.assessments[0].tax_type, fiscal_year=2025, applicable_year=2025,
                       notice_no="800000000001", annual_amount=5_000)
    other.installments.append(Installment(period_no=1, due_date=dt.date(2026, 6, 30), tax_amount=5_000,
                                          late_charge_amount=0))
    case.assessments.append(other)
    dbsession.commit()
    login(testapp, "c1")
    form = testapp.get(f"/cases/{case.case_no}/slip").forms["slip-form"]
    assert len(form.fields["installment"]) == 2
    for field in form.fields["installment"]:
        field.checked = True
    (text,) = pdf_pages(form.submit().body)
    assert "800000000001" in text and "コンビニ" not in text and "(91)" not in text
