"""A ward runs its accounts from the UI, in a real browser (issue 19): a
collector supervisor creates a user, the new user logs in with the temporary
password shown once, is made to change it, and then reaches the home page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from intranet.models import Organisation, OrganisationKind, Role, User
from tests import factories
from tests.e2e.conftest import log_in, violations

NEW_PASSWORD = "My-Own-Secret-2026"


@pytest.fixture(scope="module")
def people(served):
    app, _ = served
    session = app.registry["dbsession_factory"]()
    factories.user(session, app.registry.password_context, Role.collector, login="kakaricho",
                   is_supervisor=True)
    ward = factories.organisation(session, OrganisationKind.ward)
    session.commit()
    data = {"ward": ward.id}
    session.close()
    return data


def test_a_supervisor_creates_a_user_who_must_change_the_password(served, page, people, shot):
    app, origin = served
    log_in(page, origin, "kakaricho", factories.PASSWORD)
    page.goto(f"{origin}/admin/users/")
    with page.expect_navigation():
        page.click("#user-new-link")
    page.fill("#acc-login", "shinjin")
    page.fill("#acc-name", "新人 一郎")
    page.select_option("#acc-role", "collector")
    page.select_option("#acc-org", str(people["ward"]))
    page.check("#new-password-generate")
    assert violations(page) == []
    shot(page, "01-new-user-form")
    with page.expect_navigation():
        page.click("#user-new-form button[type=submit]")
    temporary = page.inner_text("#temporary-password").strip()
    assert len(temporary) == 19
    assert violations(page) == []
    shot(page, "02-temporary-password-shown-once")

    # The new user logs in with it and is sent to change it, whatever they open.
    log_in(page, origin, "shinjin", temporary)
    assert page.url.split("?")[0].endswith("/password")
    assert page.locator("#password-forced").is_visible()
    page.goto(f"{origin}/cases/")
    assert page.url.split("?")[0].endswith("/password")
    assert violations(page) == []
    shot(page, "03-forced-change")
    page.fill("#current", temporary)
    page.fill("#new", NEW_PASSWORD)
    page.fill("#again", NEW_PASSWORD)
    with page.expect_navigation():
        page.click("#password-form button[type=submit]")
    assert "/password" not in page.url
    page.goto(f"{origin}/")
    assert page.url.rstrip("/") == origin
    assert "新人 一郎" in page.inner_text(".user-box")
    shot(page, "04-home")

    session = app.registry["dbsession_factory"]()
    user = session.scalar(select(User).where(User.login == "shinjin"))
    assert not user.must_change_password and user.organisation_id == people["ward"]
    assert session.scalar(select(Organisation.kind).where(Organisation.id == user.organisation_id)) == "ward"
    session.close()

    # The supervisor sees the account as valid, the temporary password gone.
    log_in(page, origin, "kakaricho", factories.PASSWORD)
    page.goto(f"{origin}/admin/users/{user.id}/")
    assert "仮パスワード" not in page.inner_text("#account-state")
    assert violations(page) == []
    shot(page, "05-user-page")
