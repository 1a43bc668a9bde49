"""Authorization, parametrized from the permission matrix itself."""
import datetime as dt

import pytest
import webtest
from pyramid.response import Response

import intranet
from intranet.models import CampaignStatus, Role
from intranet.resources import Root
from intranet.security.matrix import FACETS, ROLE_FACETS, Facet
from tests import factories
from tests.helpers import login

#: Roles whose scope reaches a case that is in an active call campaign.
REACHES_CAMPAIGN_CASE = {Role.collector: True, Role.auditor: True, Role.operator: True,
                         Role.contractor: False}


@pytest.fixture
def sentinel_case(dbsession):
    case = factories.sentinel_case(dbsession)
    factories.campaign(dbsession, [case])
    dbsession.commit()
    return case


@pytest.mark.parametrize("facet", list(Facet))
@pytest.mark.parametrize("role", list(Role))
def test_case_page_shows_a_facet_iff_the_matrix_allows_it(
        testapp, dbsession, password_context, sentinel_case, role, facet):
    factories.user(dbsession, password_context, role, login="u1")
    dbsession.commit()
    login(testapp, "u1")
    reached = REACHES_CAMPAIGN_CASE[role]
    res = testapp.get(f"/cases/{sentinel_case.case_no}/", status=200 if reached else 403)
    expected = reached and facet in ROLE_FACETS[role]
    shown = factories.SENTINELS[facet] in res.text
    section = f'id="facet-{facet}"' in res.text
    assert (shown, section) == (expected, expected), (
        f"{role} {'must' if expected else 'must not'} see {facet} ({FACETS[facet].label_ja})")


def test_every_facet_has_a_sentinel_and_a_template():
    import importlib.resources

    templates = importlib.resources.files("intranet") / "templates" / "cases" / "facets"
    for facet in Facet:
        assert facet in factories.SENTINELS
        assert (templates / f"{facet}.jinja2").is_file()


def test_operator_keeps_the_case_to_the_end_of_the_fiscal_year_then_loses_it(
        testapp, dbsession, password_context, clock):
    """The call center's entrusted scope (issue 20): a caller with a letter in
    hand is found after their campaign ended, until 31 March (年度末)."""
    case = factories.case(dbsession)
    factories.campaign(dbsession, [case], ends_on=clock.today())
    factories.user(dbsession, password_context, Role.operator, login="op")
    dbsession.commit()
    login(testapp, "op")
    testapp.get(f"/cases/{case.case_no}/", status=200)
    clock.advance(days=1)
    login(testapp, "op")
    testapp.get(f"/cases/{case.case_no}/", status=200)
    clock.advance(days=(dt.date(2027, 4, 1) - clock.today()).days)  # the next fiscal year
    login(testapp, "op")
    testapp.get(f"/cases/{case.case_no}/", status=403)


@pytest.mark.parametrize("status,starts_on,ends_on,allowed", [
    (CampaignStatus.draft, dt.date(2026, 11, 1), dt.date(2026, 12, 31), False),  # not entrusted yet
    (CampaignStatus.closed, dt.date(2026, 11, 1), dt.date(2026, 12, 31), True),  # closed this year
    (CampaignStatus.closed, dt.date(2026, 1, 5), dt.date(2026, 3, 31), False),   # last fiscal year
    (CampaignStatus.active, dt.date(2026, 12, 1), dt.date(2026, 12, 31), False),  # not started
])
def test_operator_reaches_cases_of_campaigns_of_this_fiscal_year_only(
        testapp, dbsession, password_context, status, starts_on, ends_on, allowed):
    case = factories.case(dbsession)
    factories.campaign(dbsession, [case], status=status, starts_on=starts_on, ends_on=ends_on)
    factories.user(dbsession, password_context, Role.operator, login="op")
    dbsession.commit()
    login(testapp, "op")
    testapp.get(f"/cases/{case.case_no}/", status=200 if allowed else 403)


def _case_set(dbsession):
    """Cases in an active, a draft, an expired and no campaign."""
    cases = [factories.case(dbsession, name=f"山田 {i}") for i in range(8)]
    factories.campaign(dbsession, cases[0:3])
    factories.campaign(dbsession, cases[2:4], status=CampaignStatus.draft)
    factories.campaign(dbsession, cases[4:6], starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 3, 31))
    return cases


def _listed(testapp) -> set[str]:
    """Every case number the list shows, over all its pages."""
    listed, page = set(), 1
    while True:
        res = testapp.get(f"/cases/?page={page}", status="*")
        if res.status_code != 200:
            return listed
        rows = {a.text for a in res.html.select("table.data td:first-child a")}
        if not rows:
            return listed
        listed |= rows
        page += 1


@pytest.mark.parametrize("role", list(Role))
def test_list_shows_exactly_the_cases_whose_page_is_allowed(testapp, dbsession, password_context, role):
    cases = _case_set(dbsession)
    factories.user(dbsession, password_context, role, login="u1")
    dbsession.commit()
    login(testapp, "u1")
    allowed = {c.case_no for c in cases
               if testapp.get(f"/cases/{c.case_no}/", status="*").status_code == 200}
    assert _listed(testapp) == allowed
    expected_count = {Role.collector: 8, Role.auditor: 8, Role.operator: 3, Role.contractor: 0}[role]
    assert len(allowed) == expected_count


def test_a_view_registered_without_permission_is_denied(app_settings, clock, dbsession, password_context):
    config = intranet.make_configurator(app_settings)
    config.add_view(lambda request: Response("UNGUARDED-BODY"), context=Root, name="unguarded")
    app = config.make_wsgi_app()
    app.registry.clock = clock
    testapp = webtest.TestApp(app)
    factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    dbsession.commit()
    testapp.get("/unguarded", status=303)  # anonymous: to the login page
    login(testapp, "boss")
    res = testapp.get("/unguarded", status=403)
    assert "UNGUARDED-BODY" not in res.text


def test_anonymous_gets_no_case_data(testapp, sentinel_case):
    res = testapp.get(f"/cases/{sentinel_case.case_no}/", status=303)
    assert "/login" in res.location
    assert "S3NT" not in res.text
