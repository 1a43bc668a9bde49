"""The disclosure gate and the ACLs of objects that carry cases (issue 16).

Regression tests for what testers found: a letter batch and a call target
kept showing an operator a case a collector had call-blocked afterwards, the
call screen's log entry recorded no case, and ids of objects answered 403
when they existed and 404 when they did not."""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.calls import campaigns
from intranet.models import CallCampaign, CallTarget, CampaignCase, CampaignStatus, Role
from intranet.security.matrix import Facet
from tests import factories
from tests.functional.test_documents import pdf_pages
from tests.helpers import csrf_token, entries_since, log_mark, login


@pytest.fixture
def people(dbsession, password_context):
    users = {name: factories.user(dbsession, password_context, role, login=name)
             for role, name in ((Role.collector, "c1"), (Role.operator, "op1"),
                                (Role.auditor, "au"))}
    dbsession.commit()
    return users


def _campaign(dbsession, clock, name="ゲート"):
    campaign = CallCampaign(name=name, status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    dbsession.commit()
    return campaign


def _block(testapp, case, reason="bankruptcy"):
    """A collector flags the case "do not call" through the case page."""
    login(testapp, "c1")
    path = f"/cases/{case.case_no}/"
    testapp.post(path + "call-block", {"csrf_token": csrf_token(testapp, path),
                                       "call_block": reason}, status=303)


def _request_entry(engine, mark):
    return next(e for e in entries_since(engine, mark) if e.kind == "request")


def test_a_letter_batch_shows_an_operator_only_the_letters_still_in_scope(
        testapp, people, dbsession, clock, engine):
    cases = [factories.owed_case(dbsession, name=f"催告 {n}", phone=None, amount=10_000 * (n + 1))
             for n in range(3)]
    _campaign(dbsession, clock)
    login(testapp, "op1")
    form = testapp.get("/letters/").forms["letters-form"]
    form["deadline"] = "2026-12-08"
    batch_path = form.submit(status=303).headers["Location"].replace("http://localhost", "")
    blocked = cases[0]
    _block(testapp, blocked)

    login(testapp, "op1")
    mark = log_mark(engine)
    page = testapp.get(batch_path)
    entry = _request_entry(engine, mark)
    assert blocked.case_no not in page.text and "催告 0" not in page.text
    assert page.html.select_one("#batch-hidden") is not None and "1 通" in page.text
    assert sorted(c.case_no for c in entry.cases) == sorted(c.case_no for c in cases[1:])
    assert entry.facets == str(Facet.payment)
    # printing or sealing a batch in part is refused: the count would not match
    assert "/pdf" not in page.text
    testapp.get(batch_path + "pdf", status=403)
    testapp.post(batch_path + "seal", {"csrf_token": csrf_token(testapp, batch_path),
                                       "counted": "2"}, status=403)
    # staff reach every case: they print the whole batch
    login(testapp, "c1")
    assert len(pdf_pages(testapp.get(batch_path + "pdf").body)) == 3


def test_a_call_target_follows_its_cases_into_and_out_of_the_operators_scope(
        testapp, people, dbsession, clock, engine):
    case = factories.owed_case(dbsession, name="架電 ゲート", phone="03-5555-7001")
    _campaign(dbsession, clock)
    target = dbsession.scalars(sa.select(CallTarget)).one()
    path = f"/calls/targets/{target.id}/"
    login(testapp, "op1")
    mark = log_mark(engine)
    assert "架電 ゲート" in testapp.get(path).text
    entry = _request_entry(engine, mark)
    assert [c.case_no for c in entry.cases] == [case.case_no]
    assert {"identity", "call_log"} <= set(entry.facets.split())

    _block(testapp, case)
    login(testapp, "op1")
    denied = testapp.get(path, status=403)
    missing = testapp.get("/calls/targets/999999/", status=403)
    assert "架電 ゲート" not in denied.text
    assert denied.text.replace(path, "P") == missing.text.replace("/calls/targets/999999/", "P")
    token = csrf_token(testapp, "/calls/")
    testapp.post(path + "result", {"csrf_token": token, "disposition": "no_answer"}, status=403)
    # a collector still opens it (their scope is every case)
    login(testapp, "c1")
    testapp.get(path, status=200)


def test_a_persons_target_shows_only_its_cases_in_scope(
        testapp, people, dbsession, clock, engine):
    """One target per person (名寄せ): a case of theirs flagged "do not call"
    drops out of the call screen while the others stay."""
    kept = factories.owed_case(dbsession, name="本人 一郎", phone="03-5555-7002")
    blocked = factories.another_owed_case(dbsession, kept.taxpayer)
    _campaign(dbsession, clock)
    target = dbsession.scalars(sa.select(CallTarget)).one()
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CampaignCase)
                            .where(CampaignCase.target_id == target.id)) == 2
    _block(testapp, blocked)
    login(testapp, "op1")
    mark = log_mark(engine)
    page = testapp.get(f"/calls/targets/{target.id}/")
    assert kept.case_no in page.text and blocked.case_no not in page.text
    assert [c.case_no for c in _request_entry(engine, mark).cases] == [kept.case_no]


def test_ids_of_objects_out_of_reach_answer_like_missing_ones(testapp, people, dbsession, clock):
    """No existence oracle: 403 and the same page for an object out of reach
    and for an id with nothing behind it, also with a view name appended;
    roles that see every object learn that a missing one is missing."""
    case = factories.owed_case(dbsession, name="圏外 ゲート", phone=None)
    _campaign(dbsession, clock)
    login(testapp, "c1")
    form = testapp.get("/letters/").forms["letters-form"]
    form["deadline"] = "2026-12-08"
    batch_path = form.submit(status=303).headers["Location"].replace("http://localhost", "")
    _block(testapp, case)
    login(testapp, "op1")
    for existing, missing in ((batch_path, "/letters/999999/"),
                              (batch_path + "pdf", "/letters/999999/pdf"),
                              (batch_path + "nothing", "/letters/999999/nothing"),
                              (f"/admin/users/{people['c1'].id}/sessions",
                               "/admin/users/999999/sessions")):
        first = testapp.get(existing, status=403)
        second = testapp.get(missing, status=403)
        assert first.text.replace(existing, "P") == second.text.replace(missing, "P"), existing
    login(testapp, "c1")
    testapp.get("/letters/999999/", status=404)
    testapp.get("/calls/targets/999999/", status=404)


def test_the_supervisor_flag_counts_only_on_roles_the_matrix_allows(
        testapp, dbsession, password_context, engine):
    factories.user(dbsession, password_context, Role.operator, login="flagged", is_supervisor=True)
    dbsession.commit()
    login(testapp, "flagged")
    mark = log_mark(engine)
    testapp.get("/admin/users/", status=403)
    entry = _request_entry(engine, mark)
    assert entry.roles == "operator"


def test_the_incoming_lookup_links_only_to_targets_of_campaigns_running_today(
        testapp, people, dbsession, clock):
    """"Campaign running today" is one rule (CallCampaign.active_on): the
    lookup used to check the status only, and could link a caller to the
    target of a campaign whose dates had ended."""
    from tests.functional.test_resource_acls import _target

    case = factories.owed_case(dbsession, name="着信 ゲート", phone="03-5555-7003")
    running = factories.campaign(dbsession, [case])
    ended = factories.campaign(dbsession, [case], starts_on=dt.date(2026, 10, 1),
                               ends_on=dt.date(2026, 11, 23))  # status still "active"
    targets = {c.id: _target(dbsession, c, [case], f"k{c.id}").id for c in (running, ended)}
    dbsession.commit()
    login(testapp, "op1")
    res = testapp.post("/calls/lookup", {"csrf_token": csrf_token(testapp, "/calls/lookup"),
                                         "phone": "0355557003"})
    links = [a["href"] for a in res.html.select("#lookup-results a.button:not(.incoming)")]
    assert links == [f"/calls/targets/{targets[running.id]}"], case.case_no
    testapp.get(f"/calls/targets/{targets[ended.id]}/", status=403)
