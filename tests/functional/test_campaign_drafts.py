"""Campaign drafts by the call center (issue 25; seed 000, 委託の内容1
「納付案内計画の立案」): the call center's 責任者 drafts a campaign and sees
counts only; a ward supervisor reviews the cases it would reach and
approves (the campaign is created and built), returns or rejects it; only
an approved draft becomes a campaign; every step is logged."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from intranet.calls import campaigns as campaign_service
from intranet.calls import creation
from intranet.calls import drafts as draft_service
from intranet.models import (
    CallCampaign, CallTarget, CampaignDraft, DraftState, Organisation, OrganisationKind, Role,
)
from tests import factories
from tests.functional.test_calls import CAMPAIGN_FORM, next_call, target_id
from tests.helpers import counting, csrf_token, entries_since, log_mark, login, run_jobs

DRAFT_FORM = {**CAMPAIGN_FORM, "name": "12月 現年度 納付案内（案）",
              "reason": "年末の納期限前に現年度の未納者へ案内するため"}
SLOTS = {"first": "A", "second": "B"}


@pytest.fixture
def world(dbsession, password_context):
    """A call center with a leader and an operator, another call center with
    its own leader, a ward supervisor, a plain collector, an auditor; four
    owed cases (one without a number) and two marked cases."""
    center = factories.organisation(dbsession, OrganisationKind.contractor)
    other = Organisation(code="org-other-center", name="別のコールセンター", kind=OrganisationKind.contractor)
    dbsession.add(other)
    dbsession.flush()
    users = {}
    for login_name, role, extra in (
            ("lead", Role.operator, {"is_team_leader": True, "organisation": center}),
            ("op", Role.operator, {"organisation": center}),
            ("lead2", Role.operator, {"is_team_leader": True, "organisation": other}),
            ("boss", Role.collector, {"is_supervisor": True}),
            ("col", Role.collector, {}),
            ("au", Role.auditor, {})):
        users[login_name] = factories.user(dbsession, password_context, role, login=login_name, **extra)
    for n in range(3):
        factories.owed_case(dbsession, name=f"試験氏名{n}", phone=f"03-3100-000{n}", amount=10000 + 60000 * n)
    factories.owed_case(dbsession, name="試験氏名X", phone=None, amount=5000)
    markers = factories.MarkerSet(SLOTS)
    marked = [factories.marked_case(dbsession, markers, slot) for slot in SLOTS]
    dbsession.commit()
    return {"users": users, "markers": markers, "marked": marked, "other": other}


def _token(testapp, path="/"):
    return csrf_token(testapp, "/")  # one token per session; "/" has the logout form


def create_draft(testapp, **overrides) -> str:
    res = testapp.post("/calls/drafts/new", {**DRAFT_FORM, **overrides, "csrf_token": _token(testapp)},
                       status=303)
    return res.location.split("localhost", 1)[-1]


def post(testapp, path, action, status=303, **fields):
    return testapp.post(path + action, {**fields, "csrf_token": _token(testapp, path)}, status=status)


def shown_counts(page) -> dict:
    return {dd["data-count"]: int(dd.text) for dd in page.html.select("[data-count]")}


def assert_no_case_data(world, text: str) -> None:
    """No planted marker, no case number, no taxpayer name of any case."""
    assert not world["markers"].found(text), world["markers"].found(text)
    for case in world["marked"]:
        assert case.case_no not in text
    assert "試験氏名" not in text


def test_a_leader_drafts_and_sees_counts_only_and_a_supervisor_approves_and_operators_get_the_queue(
        testapp, world, dbsession, engine):
    login(testapp, "lead")
    mark = log_mark(engine)
    path = create_draft(testapp)
    draft = dbsession.scalars(sa.select(CampaignDraft)).one()
    assert (draft.state, draft.organisation_id, draft.created_by) == (
        DraftState.draft, world["users"]["lead"].organisation_id, world["users"]["lead"].id)
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallCampaign)) == 0
    page = testapp.get(path)
    counts = shown_counts(page)
    # four owed cases and two marked ones, one person each; one without a usable number
    assert counts == {"cases": 6, "targets": 6, "no_phone": 1}
    bands = {td["data-band"]: int(td.text) for td in page.html.select("[data-band]")}
    assert sum(bands.values()) == 6 and bands["lt10k"] == 3 and bands["100k"] == 1
    # counts only: no case, name, number, marker; no link to the cases
    for url in (path, "/calls/drafts/", path + "edit"):
        assert_no_case_data(world, testapp.get(url).text)
    assert page.html.select_one("a[href$='/cases']") is None
    testapp.get(path + "cases", status=403)
    # before it is submitted, the ward's list does not show it (its page is readable)
    login(testapp, "boss")
    assert testapp.get("/calls/drafts/").html.select("tr[data-draft]") == []
    testapp.get(path, status=200)
    login(testapp, "lead")
    post(testapp, path, "submit")
    events = [(e.event, json.loads(e.detail)) for e in entries_since(engine, mark, kind="event")
              if e.event.startswith("campaign_draft.")]
    assert events == [
        ("campaign_draft.created", {"draft": draft.id, "state": "draft", "cases": 6, "targets": 6}),
        ("campaign_draft.submitted", {"draft": draft.id, "state": "submitted", "cases": 6, "targets": 6})]
    # the leader cannot approve their own draft
    post(testapp, path, "approve", status=403)

    login(testapp, "boss")
    listing = testapp.get("/calls/drafts/")
    assert listing.html.select_one(f"tr[data-draft='{draft.id}']")["data-state"] == "submitted"
    review = testapp.get(path + "cases")
    linked = {a.text for a in review.html.select("#draft-cases a")}
    assert {c.case_no for c in world["marked"]} <= linked and len(linked) == 6
    assert shown_counts(review) == {"cases": 6, "targets": 6, "no_phone": 1}
    mark = log_mark(engine)
    res = post(testapp, path, "approve", comment="")
    dbsession.expire_all()
    draft = dbsession.get(CampaignDraft, draft.id)
    campaign = dbsession.scalars(sa.select(CallCampaign)).one()
    assert (draft.state, draft.campaign_id, draft.reviewed_by) == (
        DraftState.approved, campaign.id, world["users"]["boss"].id)
    assert res.location.endswith(f"/calls/campaigns/{campaign.id}/")
    assert (campaign.name, campaign.starts_on, campaign.daily_limit, campaign.status) == (
        DRAFT_FORM["name"], dt.date(2026, 11, 24), 2, "draft")
    events = [(e.event, json.loads(e.detail)) for e in entries_since(engine, mark, kind="event")]
    assert [name for name, _ in events] == ["campaign_draft.approved", "campaign.created", "job.queued"]
    assert events[0][1]["campaign"] == campaign.id and events[0][1]["cases"] == 6
    # the build makes exactly what the leader was shown
    run_jobs(testapp)
    page = testapp.get(f"/calls/campaigns/{campaign.id}/")
    built = {span["data-result"]: int(span.text) for span in page.html.select("[data-result]")}
    assert built == {"cases": 6, "targets": 6, "no_phone": 1}
    assert page.html.select_one("#campaign-draft a")["href"].endswith(f"/calls/drafts/{draft.id}")
    post(testapp, f"/calls/campaigns/{campaign.id}/", "activate")

    login(testapp, "op")
    res = next_call(testapp)
    assert target_id(res) is not None
    # the leader's draft page now names the campaign, still without cases
    login(testapp, "lead")
    page = testapp.get(path)
    assert page.html.select_one("#draft-state")["data-state"] == "approved"
    assert_no_case_data(world, page.text)


@pytest.mark.parametrize("flt", [
    {}, {"phone": "known"}, {"phone": "unknown"}, {"balance_min": "20000"}, {"tax_type": "light_vehicle"},
    {"delinquency": "past"}, {"fiscal_year": "2026", "balance_max": "10000"}, {"plan_defaulted": "1"}])
def test_the_counts_equal_what_the_build_makes(world, dbsession, clock, flt):
    from intranet.calls.forms import parse_campaign

    form, errors = parse_campaign({**CAMPAIGN_FORM, **flt}, clock.today())
    assert not errors.errors
    counted = draft_service.counts(dbsession, form.filter, clock.today())
    campaign, _ = creation.create(dbsession, form, created_by=world["users"]["boss"].id,
                                          now=clock.now(), today=clock.today())
    built = campaign_service.build(dbsession, campaign, form.filter, clock.today(), clock.now())
    assert {k: counted[k] for k in built} == built
    assert sum(counted["bands"].values()) == counted["cases"]
    dbsession.rollback()


def test_an_operator_who_is_not_leader_cannot_draft_nor_see_drafts(testapp, world):
    login(testapp, "lead")
    path = create_draft(testapp)
    # the leader drafts; it never creates a campaign itself
    testapp.get("/calls/campaigns/new", status=403)
    login(testapp, "op")
    testapp.get("/calls/drafts/", status=403)
    testapp.get("/calls/drafts/new", status=403)
    testapp.post("/calls/drafts/new", {**DRAFT_FORM, "csrf_token": _token(testapp, "/")}, status=403)
    testapp.get(path, status=403)
    # a collector who is not a supervisor neither
    login(testapp, "col")
    testapp.get("/calls/drafts/", status=403)
    testapp.get(path, status=403)


def test_a_leader_of_another_call_center_cannot_see_or_change_the_draft(testapp, world, dbsession):
    login(testapp, "lead")
    path = create_draft(testapp)
    login(testapp, "lead2")
    listing = testapp.get("/calls/drafts/")
    assert listing.html.select("tr[data-draft]") == []
    missing = testapp.get("/calls/drafts/999999/", status=403)
    for suffix in ("", "edit"):
        res = testapp.get(path + suffix, status=403)
        assert res.status_code == missing.status_code
    post(testapp, path, "submit", status=403)
    post(testapp, path, "edit", status=403, **DRAFT_FORM)
    assert dbsession.scalar(sa.select(CampaignDraft.state)) == DraftState.draft
    # who sees every draft learns that a missing one does not exist
    login(testapp, "boss")
    testapp.get("/calls/drafts/999999/", status=404)


@pytest.mark.parametrize("decision", ["return", "reject"])
def test_a_returned_or_rejected_draft_never_becomes_a_campaign(testapp, world, dbsession, engine, decision):
    login(testapp, "lead")
    path = create_draft(testapp)
    post(testapp, path, "submit")
    login(testapp, "boss")
    res = post(testapp, path, decision, status=400, comment="")  # a comment is required
    assert "コメントを入力してください" in res.text
    post(testapp, path, decision, comment="対象が広すぎます。滞納繰越に絞ってください。")
    dbsession.expire_all()
    draft = dbsession.scalars(sa.select(CampaignDraft)).one()
    assert draft.state == {"return": DraftState.returned, "reject": DraftState.rejected}[decision]
    mark = log_mark(engine)
    res = post(testapp, path, "approve", status=400)
    assert "承認待ちの案のみ" in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallCampaign)) == 0
    (refused,) = entries_since(engine, mark, kind="event")
    assert (refused.event, json.loads(refused.detail)) == (
        "campaign_draft.refused", {"draft": draft.id, "action": "approve", "state": str(draft.state)})
    login(testapp, "lead")
    page = testapp.get(path)
    assert "滞納繰越に絞ってください" in page.html.select_one("#draft-comment").text
    if decision == "reject":
        post(testapp, path, "submit", status=400)
        testapp.get(path + "edit", status=400)
    else:  # changed and submitted again, then approved
        post(testapp, path, "edit", **{**DRAFT_FORM, "delinquency": "past"})
        post(testapp, path, "submit")
        login(testapp, "boss")
        post(testapp, path, "approve")
        assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallCampaign)) == 1
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallTarget)) == 0


def test_a_submitted_draft_cannot_be_changed_and_an_approved_one_not_approved_twice(testapp, world, dbsession):
    login(testapp, "lead")
    path = create_draft(testapp)
    post(testapp, path, "submit")
    post(testapp, path, "edit", status=400, **DRAFT_FORM)
    post(testapp, path, "submit", status=400)
    login(testapp, "boss")
    post(testapp, path, "approve")
    post(testapp, path, "approve", status=400)
    post(testapp, path, "reject", status=400, comment="x")
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallCampaign)) == 1


@pytest.mark.parametrize("fields, message", [
    ({"reason": ""}, "立案の理由を入力してください"),
    ({"reason": "x" * 2001}, "立案の理由を入力してください"),
    ({"starts_on": "2026-12-10", "ends_on": "2026-12-01"}, "期間が正しくありません"),
    ({"weekday_start": "21:00", "weekday_end": "09:00"}, "架電時間帯が正しくありません"),
    ({"weekday_start": "9時"}, "時間帯"),
    ({"daily_limit": "99"}, ""),
    ({"max_attempts": "0"}, ""),
    ({"balance_min": "50000", "balance_max": "100"}, ""),
    ({"reason": "宗教上の理由で支払わない人が多いため"}, "収集が禁止されている事項"),
])
def test_a_bad_draft_is_refused_with_a_message_and_nothing_is_stored(testapp, world, dbsession, fields, message):
    login(testapp, "lead")
    res = testapp.post("/calls/drafts/new", {**DRAFT_FORM, **fields, "csrf_token": _token(testapp)}, status=400)
    assert res.html.select_one(".error[role=alert]") is not None
    assert message in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CampaignDraft)) == 0


def test_free_text_is_escaped_and_events_carry_no_text(testapp, world, engine):
    login(testapp, "lead")
    mark = log_mark(engine)
    path = create_draft(testapp, reason='<script>alert(1)</script> =HYPERLINK("http://x")',
                        name="<b>案</b>")
    page = testapp.get(path)
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert "<b>案</b>" not in page.text
    for entry in entries_since(engine, mark, kind="event"):
        assert "script" not in (entry.detail or "") and "HYPERLINK" not in (entry.detail or "")


def test_auditors_read_drafts_and_change_nothing(testapp, world, dbsession):
    login(testapp, "lead")
    path = create_draft(testapp)
    post(testapp, path, "submit")
    login(testapp, "au")
    assert testapp.get("/calls/drafts/").html.select("tr[data-draft]")
    page = testapp.get(path)
    assert page.html.select_one("#draft-review") is None and page.html.select_one("#draft-actions") is None
    testapp.get(path + "cases", status=403)
    for action in ("approve", "return", "reject", "submit", "edit"):
        post(testapp, path, action, status=403, comment="x")
    assert dbsession.scalar(sa.select(CampaignDraft.state)) == DraftState.submitted


def test_the_matrix_page_shows_who_may_draft_and_who_may_approve(testapp, world):
    login(testapp, "boss")
    page = testapp.get("/audit/matrix")
    text = page.text
    assert "calls:drafts:write" in text and "calls:drafts:review" in text
    assert "○（責任者・自社の案）" in text


def test_the_counts_are_one_statement_whatever_the_number_of_cases(world, dbsession, engine, clock):
    """One COUNT over THE selection (plus the build's own look-up of printed
    納期限 that fall on closed days): independent of rows, no case in Python."""
    from intranet.calls.campaigns import CampaignFilter

    with counting(engine) as statements:
        counted = draft_service.counts(dbsession, CampaignFilter(), clock.today())
    assert counted["cases"] == 6
    assert len(statements) <= 2, statements
    assert sum("count(" in s.lower() for s in statements) == 1


def test_errors_are_shown_in_english_too(testapp, world, dbsession):
    login(testapp, "lead")
    testapp.post("/lang", {"csrf_token": _token(testapp), "lang": "en"}, status=303)
    res = testapp.post("/calls/drafts/new", {**DRAFT_FORM, "reason": "", "daily_limit": "99",
                                             "csrf_token": _token(testapp)}, status=400)
    assert "Enter the reason (at most 2,000 characters)." in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CampaignDraft)) == 0


def test_the_supervisors_home_page_lists_drafts_waiting_for_review(testapp, world, dbsession):
    """Issue 25: a submitted draft waits on the ward supervisors' home page
    (linked, oldest first); a draft not yet submitted or already decided does
    not; nobody else sees the section."""
    users = world["users"]
    waiting = factories.campaign_draft(dbsession, users["lead"], name="年末の納付案内")
    factories.campaign_draft(dbsession, users["lead"], state=DraftState.draft)
    factories.campaign_draft(dbsession, users["lead2"], state=DraftState.rejected)
    dbsession.commit()
    login(testapp, "boss")
    home = testapp.get("/", status=200)
    section = home.html.select_one("#waiting-drafts")
    assert [li["data-draft"] for li in section.select("li")] == [str(waiting.id)]
    assert "年末の納付案内" in section.text and "1件" in section.text
    assert section.select_one(f"a[href='/calls/drafts/{waiting.id}/']")
    for other in ("col", "lead", "op", "au"):
        testapp.reset()
        login(testapp, other)
        assert testapp.get("/", status=200).html.select_one("#waiting-drafts") is None, other
