"""Acceptance of issue 9 in a real browser: a supervisor registers a security
key for an operator through Chromium's virtual authenticator (the DevTools
WebAuthn domain), the operator logs in with password and key and opens a case;
with the password alone, or without the key, no case page is reachable."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import Protocol, Transport, VirtualAuthenticatorOptions
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from intranet.models import Role, SecurityKey
from tests import factories


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


def usb_key(driver):
    options = VirtualAuthenticatorOptions(protocol=Protocol.CTAP2, transport=Transport.USB,
                                          has_resident_key=False, has_user_verification=False,
                                          is_user_consenting=True)
    driver.add_virtual_authenticator(options)


def log_in(driver, origin, login):
    driver.delete_all_cookies()
    driver.get(f"{origin}/login")
    driver.find_element(By.ID, "login").send_keys(login)
    driver.find_element(By.ID, "password").send_keys(factories.PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()


def wait_for(driver, condition, timeout=15):
    return WebDriverWait(driver, timeout).until(condition)


def test_a_supervisor_registers_a_key_and_the_operator_logs_in_with_it(served, driver, people):
    app, origin = served
    usb_key(driver)

    # Without a key an operator gets no further than the password.
    log_in(driver, origin, "op1")
    assert "第二要素" in driver.find_element(By.ID, "login-error").text
    driver.get(f"{origin}/cases/{people['case']}/")
    assert driver.current_url.startswith(f"{origin}/login")

    # The supervisor registers the key plugged into this terminal, in person.
    log_in(driver, origin, "boss")
    driver.get(f"{origin}/admin/keys/{people['op']}/")
    driver.find_element(By.ID, "key-label").send_keys("KEY-001")
    driver.find_element(By.ID, "key-register-button").click()
    wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#key-list tr[data-key]")))
    session = app.registry["dbsession_factory"]()
    assert [k.label for k in session.query(SecurityKey).filter_by(user_id=people["op"])] == ["KEY-001"]
    session.close()

    # Password alone: the second step, and no case page.
    log_in(driver, origin, "op1")
    wait_for(driver, EC.url_contains("/second-factor"))
    driver.get(f"{origin}/cases/{people['case']}/")
    assert driver.current_url.startswith(f"{origin}/login")

    # Password and key: in, and the case opens.
    log_in(driver, origin, "op1")
    wait_for(driver, EC.url_contains("/second-factor"))
    driver.find_element(By.ID, "security-key-button").click()
    wait_for(driver, lambda d: "/second-factor" not in d.current_url)
    driver.get(f"{origin}/cases/{people['case']}/")
    assert driver.current_url == f"{origin}/cases/{people['case']}/"
    assert people["case"] in driver.page_source


def test_another_key_is_refused(served, driver, people):
    _, origin = served
    usb_key(driver)  # a key that was never registered
    log_in(driver, origin, "op1")
    wait_for(driver, EC.url_contains("/second-factor"))
    driver.find_element(By.ID, "security-key-button").click()
    error = wait_for(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, "[data-webauthn-error]")))
    assert error.text
    driver.get(f"{origin}/cases/{people['case']}/")
    assert driver.current_url.startswith(f"{origin}/login")
