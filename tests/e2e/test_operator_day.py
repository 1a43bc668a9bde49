"""An operator's day in a real browser, by keyboard where the work is
repetitive: log in with the key, take the next call, record one call with a
promise and a direct-debit encouragement, hand a case over to staff, look up
an incoming caller and reissue a payment slip (the PDF downloads), record an
incoming call from a caller not in the queue and one without a case."""
from __future__ import annotations

import pytest
import webtest

import datetime as dt

import sqlalchemy as sa

from intranet.models import (
    ActionKind, ApplicationState, CallAttempt, CallTarget, CampaignStatus, DirectDebitApplication,
    Handover, IncomingReason, Promise, Role,
)
from tests import factories
from tests.e2e.conftest import log_in_with_key, register_key, usb_key, violations, wait_for_jobs
from tests.helpers import csrf_token, login

CAMPAIGN = {"name": "11月 現年度 納付案内", "starts_on": "2026-11-24", "ends_on": "2026-12-25",
            "weekday_start": "09:00", "weekday_end": "20:00", "saturday_start": "", "saturday_end": "",
            "max_attempts": "6", "min_interval_minutes": "240", "daily_limit": "2", "weekly_limit": "5",
            "tax_type": "", "fiscal_year": "", "delinquency": "any", "category": "", "balance_min": "",
            "balance_max": "", "phone": "any"}


@pytest.fixture(scope="module")
def people(served):
    app, _ = served
    session = app.registry["dbsession_factory"]()
    context = app.registry.password_context
    boss = factories.user(session, context, Role.collector, login="boss", is_supervisor=True)
    op = factories.user(session, context, Role.operator, login="op1")
    for name, phone, amount in (("大口 一郎", "03-1111-0001", 90000), ("少額 三郎", "03-1111-0003", 5000),
                                ("相談 四郎", "03-1111-0004", 40000)):
        factories.owed_case(session, name=name, phone=phone, amount=amount)
    # no known number: the letter workflow (催告書)
    letters = [factories.owed_case(session, name=name, phone=None, amount=20000)
               for name in ("催告 五郎", "破産 六郎")]
    # A caller not in the queue: their campaign of this fiscal year closed.
    caller = factories.owed_case(session, name="受電 七郎", kana="ジュデン シチロウ", phone="03-4444-0007",
                                 amount=18000)
    factories.campaign(session, [caller], status=CampaignStatus.closed, starts_on=dt.date(2026, 6, 1),
                       ends_on=dt.date(2026, 7, 31))
    session.commit()
    data = {"boss": boss.id, "op": op.id, "bankrupt": letters[1].case_no, "caller": caller.case_no,
            "caller_id": caller.id}
    session.close()
    # The collector's part (tested in test_collector_day): an active campaign.
    staff = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    login(staff, "boss")
    res = staff.post("/calls/campaigns/new", {**CAMPAIGN, "csrf_token": csrf_token(staff, "/calls/campaigns/new")})
    path = res.location.split("localhost", 1)[-1].rstrip("/") + "/"
    wait_for_jobs(app)  # the build is a background job (issue 21)
    staff.post(path + "activate", {"csrf_token": csrf_token(staff, path)}, status=303)
    return data


def test_an_operator_works_the_queue_by_keyboard(served, page, people, shot):
    app, origin = served
    usb_key(page)
    register_key(page, origin, "boss", factories.PASSWORD, people["op"], "KEY-OP1")
    log_in_with_key(page, origin, "op1", factories.PASSWORD)

    page.goto(f"{origin}/calls/")
    shot(page, "01-desk")
    assert violations(page) == []
    assert page.evaluate("document.activeElement.id") == "next-call"  # Enter takes the next call
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/calls/targets/" in page.url
    shot(page, "02-call")
    assert violations(page) == []

    # one call, one result, two actions: a promise and direct-debit encouragement
    page.focus("input[name=result][value=reached]")
    page.keyboard.press("Space")
    for action in ("promise", "direct_debit"):
        page.focus(f"input[name=action][value={action}]")
        page.keyboard.press("Space")
    page.focus("#promise_amount")
    page.keyboard.type("30000")
    page.focus("#promise_on")
    page.keyboard.type("12102026")  # the date field takes the digits in the locale's order
    with page.expect_navigation():
        page.keyboard.press("Enter")
    shot(page, "03-after-promise")
    session = app.registry["dbsession_factory"]()
    assert session.query(Promise).count() == 1
    call = session.scalars(sa.select(CallAttempt)).one()
    assert {a.kind for a in call.actions} == {ActionKind.promise, ActionKind.direct_debit}
    # the encouragement opened the case's direct-debit application (勧奨済)
    applications = session.scalars(sa.select(DirectDebitApplication)).all()
    assert applications and {(a.attempt_id, a.state) for a in applications} == {
        (call.id, ApplicationState.encouraged)}
    session.close()

    page.goto(f"{origin}/calls/")
    with page.expect_navigation():
        page.click("#next-call")
    page.check("input[name=result][value=reached]")
    page.check("input[name=action][value=handover]")
    page.fill("#handover_reason", "分納の相談を希望。担当職員から折り返し。")
    with page.expect_navigation():
        page.click("#result-form button[type=submit]")
    session = app.registry["dbsession_factory"]()
    assert session.query(Handover).count() == 1
    session.close()

    page.goto(f"{origin}/calls/lookup")
    page.fill("#l-phone", "0311110003")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    shot(page, "04-lookup")
    with page.expect_navigation():
        page.click("table.data tbody a")
    with page.expect_navigation():
        page.click("a.button[href$='/slip']")
    shot(page, "05-slip-form")
    with page.expect_download() as download:
        page.click("#slip-form button[type=submit]")
    assert download.value.suggested_filename.endswith(".pdf")

    # An incoming call from a caller not in the queue (their campaign closed):
    # found by kana, recorded with a slip reissue; it is no outgoing attempt.
    page.goto(f"{origin}/calls/lookup")
    page.fill("#l-name", "ジュデン")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert people["caller"] in page.inner_text("#lookup-results")
    with page.expect_navigation():
        page.click("#lookup-results a.incoming")
    shot(page, "05b-incoming")
    assert violations(page) == []
    page.check("input[name=action][value=slip_reissue]")
    page.fill("#memo", "督促状を見て電話。納付書を再送。")
    with page.expect_navigation():
        page.click("#incoming-form button[type=submit]")
    assert page.is_visible("#lookup-notice")
    # and one without a case: a wrong number, for the statistics
    with page.expect_navigation():
        page.click("#incoming-no-case")
    page.check("input[name=reason][value=wrong_number]")
    with page.expect_navigation():
        page.click("#incoming-form button[type=submit]")
    session = app.registry["dbsession_factory"]()
    incoming = session.scalars(sa.select(CallAttempt).where(CallAttempt.incoming.is_(True))
                               .order_by(CallAttempt.id)).all()
    assert [(c.case_id, c.incoming_reason) for c in incoming] == [
        (people["caller_id"], None), (None, IncomingReason.wrong_number)]
    assert [a.kind for a in incoming[0].actions] == [ActionKind.slip_reissue]
    assert sum(t.attempts for t in session.scalars(sa.select(CallTarget))) == 2  # the two outgoing calls
    session.close()

    # Dunning letters for the cases with no number; then staff learn that one
    # taxpayer went bankrupt and flag the case "do not call".
    page.goto(f"{origin}/letters/")
    with page.expect_navigation():
        page.click("#letters-form button[type=submit]")
    batch_url = page.url
    assert "破産 六郎" not in page.content()  # the batch page shows case numbers and totals
    assert people["bankrupt"] in page.content()
    staff = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    login(staff, "boss")
    case_path = f"/cases/{people['bankrupt']}/"
    staff.post(case_path + "call-block", {"csrf_token": csrf_token(staff, case_path),
                                          "call_block": "bankruptcy"}, status=303)
    page.goto(batch_url)
    shot(page, "06-letters-after-call-block")
    assert people["bankrupt"] not in page.content()
    assert page.is_visible("#batch-hidden")
    assert page.locator("a[href$='/pdf']").count() == 0
    assert page.goto(batch_url.rstrip("/") + "/pdf").status == 403
