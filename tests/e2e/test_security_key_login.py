"""Issue 9 in a real browser: a supervisor registers a security key for an
operator through Chromium's virtual authenticator (the DevTools WebAuthn
domain), the operator logs in with password and key and opens a case; with
the password alone, or with a key that was never registered, no case page."""
from __future__ import annotations

import pytest

from intranet.models import Role, SecurityKey
from tests import factories
from tests.e2e.conftest import log_in, usb_key


@pytest.fixture(scope="module")
def people(served):
    app, _ = served
    session = app.registry["dbsession_factory"]()
    context = app.registry.password_context
    boss = factories.user(session, context, Role.collector, login="boss", is_supervisor=True)
    op = factories.user(session, context, Role.operator, login="op1")
    case = factories.case(session)
    factories.campaign(session, [case])
    session.commit()
    data = {"boss": boss.id, "op": op.id, "case": case.case_no}
    session.close()
    return data


def test_a_supervisor_registers_a_key_and_the_operator_logs_in_with_it(served, page, people, shot):
    app, origin = served
    usb_key(page)
    case_url = f"{origin}/cases/{people['case']}/"

    log_in(page, origin, "op1", factories.PASSWORD)       # no key yet
    assert "第二要素" in page.inner_text("#login-error")
    page.goto(case_url)
    assert page.url.startswith(f"{origin}/login")

    log_in(page, origin, "boss", factories.PASSWORD)
    # (This step failed twice in about fifteen full runs under load with the
    # keys page redirected to the login page; say what the login page said.)
    assert "/login" not in page.url, (page.url, page.inner_text("main")[:300])
    page.goto(f"{origin}/admin/keys/{people['op']}/")
    assert "/login" not in page.url, (page.url, page.inner_text("main")[:300])
    page.fill("#key-label", "KEY-001")
    shot(page, "01-register-key")
    page.click("#key-register-button")
    page.wait_for_selector("#key-list tr[data-key]")
    shot(page, "02-key-registered")
    session = app.registry["dbsession_factory"]()
    assert [k.label for k in session.query(SecurityKey).filter_by(user_id=people["op"])] == ["KEY-001"]
    session.close()

    log_in(page, origin, "op1", factories.PASSWORD)       # password alone
    page.wait_for_url("**/second-factor**")
    shot(page, "03-second-factor")
    page.goto(case_url)
    assert page.url.startswith(f"{origin}/login")

    log_in(page, origin, "op1", factories.PASSWORD)       # password and key
    page.wait_for_url("**/second-factor**")
    page.click("#security-key-button")
    page.wait_for_url(lambda url: "/second-factor" not in url)
    page.goto(case_url)
    assert page.url == case_url and people["case"] in page.content()
    shot(page, "04-case-page")


def test_a_key_that_was_never_registered_is_refused(served, page, people, shot):
    _, origin = served
    usb_key(page)
    log_in(page, origin, "op1", factories.PASSWORD)
    page.wait_for_url("**/second-factor**")
    page.click("#security-key-button")
    error = page.wait_for_selector("[data-webauthn-error]:not([hidden])")
    assert error.inner_text()
    shot(page, "refused")
    page.goto(f"{origin}/cases/{people['case']}/")
    assert page.url.startswith(f"{origin}/login")
