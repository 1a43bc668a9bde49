"""Letter batches at scale (issue 21): creating a batch runs a fixed number
of SQL statements whatever the number of cases (their installments,
receipts, taxpayers and 送付先 are loaded together, not one case at a time,
and the issued documents are inserted together), and what the letters say
is what they said before that change: the page texts and issued-document
rows of a fixture are compared with those the code before issue 21 produced
(``data/letters_golden.json``)."""
import datetime as dt
import io
import json
import os
import re

import sqlalchemy as sa
from pypdf import PdfReader

from intranet.calls import campaigns
from intranet.models import (
    CallCampaign, CampaignStatus, ContactRecord, Installment, IssuedDocument, LetterBatch,
    MailingAddress, Receipt, ReceiptKind, Role,
)
from tests import factories
from tests.helpers import counting, login

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "letters_golden.json")


def _world(dbsession, password_context, clock, size: int) -> list:
    """``size`` cases of two installments (the first partly paid), every third
    with a 送付先, one with a long address and a 方書, in a letter campaign."""
    factories.user(dbsession, password_context, Role.operator, login="op1")
    cases = []
    for n in range(size):
        extra = {"address": "東京都新宿区西新宿二丁目8番1号 新宿区役所第一分庁舎 税務課 納税係 気付 特別室",
                 "address_extra": "3階 301号室"} if n == 1 else {}
        case = factories.owed_case(dbsession, name=f"件数 {n}", phone=None, amount=80_000 * (n + 1),
                                   **extra)
        case.assessments[0].installments.append(Installment(
            period_no=2, due_date=dt.date(2026, 8, 31), tax_amount=45_000 + n, late_charge_amount=0))
        case.assessments[0].installments[0].receipts.append(
            Receipt(kind=ReceiptKind.tax, amount=10_000 + n, received_on=dt.date(2026, 8, 1)))
        if n % 3 == 0:
            dbsession.add(MailingAddress(taxpayer_id=case.taxpayer_id, name=f"送付先 {n}",
                                         postal_code="530-0001", address="大阪府大阪市北区梅田1-1-1"))
        cases.append(case)
    campaign = CallCampaign(name="件数", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    dbsession.commit()
    return cases


def _issue(testapp, engine, size) -> list[str]:
    """The statements of the POST creating a batch of every offered case."""
    login(testapp, "op1")
    form = testapp.get("/letters/").forms["letters-form"]
    assert len(form.fields["case_no"]) == size
    form["deadline"] = "2026-12-08"
    form["enclose_debit_form"] = "1"
    with counting(engine) as statements:
        form.submit(status=303)
    return statements


def test_creating_a_letter_batch_runs_as_many_statements_for_2_cases_as_for_12(
        testapp, engine, dbsession, password_context, clock):
    from tests.conftest import _empty_all_tables

    counts = {}
    for size in (2, 12):
        _world(dbsession, password_context, clock, size)
        statements = _issue(testapp, engine, size)
        assert dbsession.scalar(sa.select(LetterBatch.letters)) == size
        counts[size] = statements
        dbsession.close()
        _empty_all_tables(engine)
    assert len(counts[2]) == len(counts[12]), "\n".join(counts[12])


def _masked(text: str, cases) -> str:
    """Numbers that depend on the database's sequences replaced by names."""
    text = re.sub(r"L\d{4}-\d{6}", "<doc_no>", text)
    for n, case in enumerate(cases):
        text = text.replace(case.case_no, f"<case {n}>")
        for a in case.assessments:
            text = text.replace(a.notice_no, f"<notice {n}-{a.fiscal_year}-{a.tax_type}>")
    return text


def letters_snapshot(testapp, dbsession, cases) -> dict:
    """The page texts of the batch just made and its issued-document rows."""
    batch = dbsession.scalars(sa.select(LetterBatch)).one()
    pdf = testapp.get(f"/letters/{batch.id}/pdf").body
    pages = [_masked(page.extract_text(), cases) for page in PdfReader(io.BytesIO(pdf)).pages]
    number = {case.id: n for n, case in enumerate(cases)}
    ids = {i.id: f"{number[case.id]}-{a.tax_type}-{i.period_no}"
           for case in cases for a in case.assessments for i in a.installments}
    documents = []
    for d in dbsession.scalars(sa.select(IssuedDocument).order_by(IssuedDocument.id)):
        lines = [{**line, "id": ids[line["id"]]} for line in json.loads(d.installments)]
        documents.append({"case": number[d.case_id], "deadline": d.deadline.isoformat(),
                          "installments": lines, "tax_total": d.tax_total,
                          "late_charge_total": d.late_charge_total, "fee": d.fee})
    records = sorted(_masked(r.content, cases) for r in dbsession.scalars(sa.select(ContactRecord)))
    return {"pages": sorted(pages), "documents": sorted(documents, key=lambda d: d["case"]),
            "contact_records": records}


def test_letters_say_what_they_said_before_issue_21(testapp, dbsession, password_context, clock):
    """Set INTRANET_WRITE_GOLDEN=1 to record the file again (only ever from
    code known to print the right letters)."""
    cases = _world(dbsession, password_context, clock, 5)
    login(testapp, "op1")
    form = testapp.get("/letters/").forms["letters-form"]
    form["deadline"] = "2026-12-08"
    form.submit(status=303)
    dbsession.expire_all()
    snapshot = letters_snapshot(testapp, dbsession, cases)
    assert len(snapshot["pages"]) == 5 and any("送付先 3" in p for p in snapshot["pages"])
    if os.environ.get("INTRANET_WRITE_GOLDEN") == "1":
        with open(GOLDEN, "w", encoding="utf-8") as f:
            json.dump(snapshot, f, ensure_ascii=False, indent=1, sort_keys=True)
            f.write("\n")
    with open(GOLDEN, encoding="utf-8") as f:
        golden = json.load(f)
    assert snapshot["pages"] == golden["pages"]
    assert snapshot == golden
