"""axe-core (bundled by ``axe-playwright-python``) finds no serious or
critical accessibility violation on the main pages of each role (the
operator's and the investigator's pages are checked in their days)."""
from __future__ import annotations

import pytest

from intranet.models import Role
from tests import factories
from tests.e2e.conftest import log_in, violations

@pytest.fixture(scope="module")
def people(served):
    app, _ = served
    session = app.registry["dbsession_factory"]()
    context = app.registry.password_context
    factories.user(session, context, Role.collector, login="tanaka", is_supervisor=True)
    auditor = factories.user(session, context, Role.auditor, login="kansa")
    case = factories.sentinel_case(session)
    factories.campaign(session, [case])
    session.commit()
    data = {"case": case.case_no, "kansa": auditor.id}
    session.close()
    return data


PAGES = {
    "tanaka": ["/", "/cases/", "/cases/{case}/", "/calls/campaigns/", "/calls/campaigns/new",
               "/calls/handovers/", "/survey/batches/", "/survey/media/", "/datalink/", "/admin/users/",
               "/admin/users/new", "/admin/users/{kansa}/",
               "/letters/", "/late-charge", "/sessions/", "/two-factor", "/audit/checklists/"],
    "kansa": ["/audit/", "/audit/activity", "/audit/reviews/", "/audit/exports", "/audit/matrix"],
}


@pytest.mark.parametrize("who", sorted(PAGES))
def test_main_pages_have_no_serious_violations(served, page, people, who):
    _, origin = served
    page.goto(f"{origin}/login")
    found = {"/login": violations(page)}
    log_in(page, origin, who, factories.PASSWORD)
    for path in PAGES[who]:
        page.goto(origin + path.format(**people))
        found[path] = violations(page)
    assert {path: v for path, v in found.items() if v} == {}
