"""A collector's day in a real browser: import the delinquency system's files,
create a call campaign over the imported cases, and a field-survey batch."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sqlalchemy import select

from intranet.models import (
    CampaignCase, Case, Contract, OrganisationKind, Phone, Residency, Role, Taxpayer,
)
from tests import factories
from tests.e2e.conftest import log_in

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


@pytest.fixture(scope="module")
def people(served):
    app, _ = served
    session = app.registry["dbsession_factory"]()
    context = app.registry.password_context
    boss = factories.user(session, context, Role.collector, login="tanaka", is_supervisor=True)
    survey_org = factories.organisation(session, OrganisationKind.contractor)
    session.add(Contract(organisation_id=survey_org.id, name="転出者現地調査", purpose="居住確認",
                         starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31),
                         manager_name="責任 者", handler_names="取扱 者", created_by=boss.id,
                         created_at=dt.datetime(2026, 4, 1)))
    session.commit()
    session.close()


def test_a_collector_imports_data_and_starts_a_campaign_and_a_survey(served, page, people, shot):
    app, origin = served
    log_in(page, origin, "tanaka", factories.PASSWORD)

    page.goto(f"{origin}/datalink/")
    page.set_input_files("#files", sorted(str(p) for p in SAMPLES.glob("*.csv")))
    page.uncheck("input[name=dry_run]")
    with page.expect_navigation():
        page.click("#import-form button[type=submit]")
    assert page.locator("#imported").is_visible(), page.inner_text("main")[:500]
    shot(page, "01-imported")

    # a taxpayer went bankrupt: the collector records it on the case first
    session = app.registry["dbsession_factory"]()
    bankrupt = session.scalars(select(Case.case_no).join(Taxpayer).where(
        Taxpayer.residency != Residency.moved_out).order_by(Case.case_no)).first()
    session.close()
    page.goto(f"{origin}/cases/{bankrupt}/")
    page.select_option("#status-kind", "bankruptcy")
    page.fill("#status-starts", "2026-11-20")
    page.fill("#status-reason", "破産手続開始決定")
    with page.expect_navigation():
        page.click("#status-form button[type=submit]")
    assert "破産手続中" in page.inner_text("#statuses")
    shot(page, "01b-status")

    page.click("nav >> text=納付案内計画")
    page.click("a[href$='/calls/campaigns/new']")
    page.fill("#name", "12月 現年度催告")
    page.fill("#starts_on", "2026-11-01")
    page.fill("#ends_on", "2026-12-31")
    shot(page, "02-campaign-form")
    with page.expect_navigation():
        page.click("#campaign-form button[type=submit]")
    # built by the worker (issue 21): the page polls its job and reloads when done
    page.wait_for_selector("#campaign-job[data-job-state=done]")
    assert int(page.inner_text("[data-result=targets]")) > 0
    assert int(page.inner_text("#campaign-cases")) > 0
    shot(page, "03-campaign")
    session = app.registry["dbsession_factory"]()
    members = session.scalars(select(Case.case_no).join(CampaignCase)).all()
    session.close()
    assert members and bankrupt not in members  # the bankrupt case left the queue

    # the call center found the mover's mobile out of service (a wrong-number
    # call marks it unusable): now neither phone nor conversation reaches them,
    # which is whom seed 004 sends investigators to (issue 20)
    session = app.registry["dbsession_factory"]()
    for phone in session.scalars(select(Phone).join(Taxpayer).where(
            Taxpayer.residency == Residency.moved_out)):
        phone.unusable = True
    session.commit()
    session.close()

    page.click("nav >> text=現地調査")
    page.fill("#b-name", "第1回 転出者調査")
    page.fill("#b-deadline", "2027-01-31")
    with page.expect_navigation():
        page.click("#batch-form button[type=submit]")
    assert "第1回 転出者調査" in page.inner_text("main")
    shot(page, "04-survey-batch")


def test_a_collector_puts_a_taxpayer_on_a_plan_and_sees_it_default(served, page, people, shot,
                                                                   tmp_path):
    """Issue 20: the collector records a 納付誓約 (monthly plan) on an imported
    case; the case leaves the queues; a receipts import a few weeks later
    without the payment due makes the plan 不履行, first on the work list."""
    from sqlalchemy import exists

    from intranet.models import Assessment, Installment, PaymentAgreement, StatusPeriod

    app, origin = served
    session = app.registry["dbsession_factory"]()
    case_no = session.scalars(select(Case.case_no).where(
        Case.balance > 0, ~Case.agreements.any(PaymentAgreement.is_active.is_(True)),
        ~exists().where(StatusPeriod.case_id == Case.id)).order_by(Case.case_no)).first()
    other = session.execute(select(Assessment.notice_no, Installment.period_no)
                            .join(Installment, Installment.assessment_id == Assessment.id)
                            .join(Case, Case.id == Assessment.case_id)
                            .where(Case.case_no != case_no, Case.balance > 0,
                                   Installment.due_date < dt.date(2026, 11, 1))
                            .order_by(Case.case_no)).first()
    session.close()
    assert case_no and other
    log_in(page, origin, "tanaka", factories.PASSWORD)
    page.goto(f"{origin}/cases/{case_no}/")
    page.fill("#plan-signed", "2026-11-24")
    page.fill("#plan-total", "30000")
    page.fill("#plan-count", "3")
    page.fill("#plan-first", "2026-11-30")
    page.fill("#plan-reason", "延滞金は本税完納後に相談")
    shot(page, "05-plan-form")
    with page.expect_navigation():
        page.click("#plan-form button[type=submit]")
    assert page.locator(".plan[data-state=current] .plan-schedule").is_visible(), \
        page.inner_text("main")[:500]
    shot(page, "06-plan")

    clock = app.registry.clock
    clock.advance(days=20)  # 12/14: the 11/30 payment and its ten grace days are past
    try:
        receipts = tmp_path / "receipts.csv"
        receipts.write_text("receipt_no,notice_no,period_no,kind,received_on,posted_on,amount\n"
                            f"E2E-PLAN-1,{other[0]},{other[1]},tax,2026-12-10,2026-12-11,100\n",
                            encoding="utf-8")
        log_in(page, origin, "tanaka", factories.PASSWORD)
        page.goto(f"{origin}/datalink/")
        page.set_input_files("#files", [str(receipts)])
        page.uncheck("input[name=dry_run]")
        with page.expect_navigation():
            page.click("#import-form button[type=submit]")
        assert page.locator("#imported").is_visible(), page.inner_text("main")[:500]
        page.click("nav >> text=分納")
        first = page.locator("#plans tbody tr").first
        assert first.get_attribute("data-case") == case_no
        assert first.get_attribute("data-state") == "defaulted"
        shot(page, "07-plans-defaulted")
    finally:
        clock.advance(days=-20)
