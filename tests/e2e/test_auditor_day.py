"""An auditor's day in a real browser: find who viewed a case in the access
log, open the entry, and download the inspection package, which verifies."""
from __future__ import annotations

import pytest

from intranet.audit import export
from intranet.models import Role
from tests import factories
from tests.e2e.conftest import log_in


@pytest.fixture(scope="module")
def people(served):
    app, _ = served
    session = app.registry["dbsession_factory"]()
    context = app.registry.password_context
    factories.user(session, context, Role.auditor, login="kansa")
    staff = factories.user(session, context, Role.collector, login="suzuki")
    case = factories.case(session)
    session.commit()
    data = {"case": case.case_no, "org": staff.organisation.code}
    session.close()
    return data


def test_an_auditor_finds_who_viewed_a_case_and_takes_the_package(served, page, people, shot, tmp_path):
    app, origin = served
    log_in(page, origin, "suzuki", factories.PASSWORD)     # a collector opens the case
    page.goto(f"{origin}/cases/{people['case']}/")
    assert people["case"] in page.inner_text("h1")

    log_in(page, origin, "kansa", factories.PASSWORD)
    page.click("nav >> text=アクセスログ")
    page.fill("#a-case_no", people["case"])
    with page.expect_navigation():
        page.click("form[role=search] button[type=submit]")
    rows = page.locator("table.data tbody tr")
    assert "suzuki" in [rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())]
    shot(page, "01-who-viewed-the-case")
    with page.expect_navigation():
        rows.filter(has_text="suzuki").first.locator("a").first.click()
    assert people["case"] in page.content()
    shot(page, "02-log-entry")

    page.click("nav >> text=立入調査資料")
    page.select_option("#x-organisation", people["org"])
    shot(page, "03-export-form")
    with page.expect_download() as download:
        page.click("#export-form button[type=submit]")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name.startswith(f"inspection-{people['org']}-")
    result = export.verify_file(path, app.registry.access_log.key)
    assert result.ok, result.problems
    assert result.entries >= 2  # the collector's login and case view at least
