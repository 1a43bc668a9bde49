"""Collection statuses (issue 18, point 4): a collector records 破産, 執行停止,
徴収猶予 ...; while in force the case leaves call campaigns (and so the
operators' scope), letter candidates and survey batches, and only ward staff
and auditors ever see the kind."""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.calls import campaigns
from intranet.models import (
    CallCampaign, CallTarget, CampaignCase, CampaignStatus, Residency, Role, StatusPeriod,
)
from intranet.survey.batches import movers_out
from tests import factories
from tests.helpers import csrf_token, login


@pytest.fixture
def people(dbsession, password_context):
    for role, name in ((Role.collector, "c1"), (Role.operator, "op1"), (Role.auditor, "au")):
        factories.user(dbsession, password_context, role, login=name)
    dbsession.commit()


def _record(testapp, case, status=303, **fields):
    path = f"/cases/{case.case_no}/"
    return testapp.post(path + "status", {"csrf_token": csrf_token(testapp, path), **fields},
                        status=status)


def _campaign(dbsession, clock):
    campaign = CallCampaign(name="状態", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    dbsession.commit()
    return campaign


def test_a_bankruptcy_takes_the_case_out_of_every_queue_and_hides_its_kind(
        testapp, people, dbsession, clock):
    called = factories.owed_case(dbsession, name="破産 一郎", phone="03-5555-8001")
    lettered = factories.owed_case(dbsession, name="破産 二郎", phone=None)
    moved = factories.owed_case(dbsession, name="破産 三郎", phone=None, residency=Residency.moved_out)
    _campaign(dbsession, clock)
    target = dbsession.scalars(sa.select(CallTarget).join(CampaignCase)
                               .where(CampaignCase.case_id == called.id)).one()
    login(testapp, "op1")
    testapp.get(f"/cases/{called.case_no}/", status=200)

    login(testapp, "c1")
    for case in (called, lettered, moved):
        _record(testapp, case, kind="bankruptcy", starts_on="2026-11-20", reason="破産手続開始決定")
    page = testapp.get(f"/cases/{called.case_no}/")
    row = page.html.select_one("#statuses tr[data-kind=bankruptcy]")
    assert "破産手続中" in row.text and "破産法" in row.text and "継続中" in row.text
    # letters: the no-phone case is no longer a candidate
    assert lettered.case_no not in testapp.get("/letters/").text
    # survey: not among the movers-out a new batch would take
    assert moved.id not in {c.id for c in movers_out(dbsession, clock.today())}
    # calls: a new campaign does not take them
    dbsession.expire_all()
    second = CallCampaign(name="次", status=CampaignStatus.draft, starts_on=dt.date(2026, 12, 1),
                          ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(second)
    dbsession.flush()
    chosen = {c.case_id for c in campaigns.matching_cases(dbsession, campaigns.CampaignFilter(),
                                                          clock.today())}
    assert not chosen & {called.id, lettered.id, moved.id}
    dbsession.rollback()

    # operators: out of scope at once, the kind never shown
    login(testapp, "op1")
    denied = testapp.get(f"/cases/{called.case_no}/", status=403)
    assert "破産" not in denied.text
    testapp.get(f"/calls/targets/{target.id}/", status=403)
    assert "破産" not in testapp.get("/calls/lookup").text
    # auditors read it
    login(testapp, "au")
    assert "破産手続中" in testapp.get(f"/cases/{called.case_no}/").text


def test_a_status_ends_and_the_case_comes_back(testapp, people, dbsession, clock):
    case = factories.owed_case(dbsession, name="猶予 四郎", phone="03-5555-8002")
    _campaign(dbsession, clock)
    login(testapp, "c1")
    _record(testapp, case, kind="deferral", starts_on="2026-11-01", reason="災害による徴収猶予")
    period = dbsession.scalars(sa.select(StatusPeriod)).one()
    login(testapp, "op1")
    testapp.get(f"/cases/{case.case_no}/", status=403)
    login(testapp, "c1")
    _record(testapp, case, period=str(period.id), ends_on="2026-11-23")
    dbsession.expire_all()
    assert dbsession.get(StatusPeriod, period.id).ends_on == dt.date(2026, 11, 23)
    login(testapp, "op1")
    testapp.get(f"/cases/{case.case_no}/", status=200)


@pytest.mark.parametrize("fields, message", [
    ({"kind": "suspension", "starts_on": "2026-11-20", "ends_on": "2026-11-01"}, "終了日が開始日より前です"),
    ({"kind": "nonsense", "starts_on": "2026-11-20"}, "種別を選んでください"),
    ({"kind": "seizure", "starts_on": "2026-13-40"}, "YYYY-MM-DD"),
    ({"kind": "seizure", "starts_on": "2026-11-01", "reason": "x" * 1001}, "1000文字以内"),
    ({"period": "999999", "ends_on": "2026-11-30"}, "終了を記録できる期間"),
])
def test_bad_status_input_is_refused_with_a_message_and_nothing_stored(
        testapp, people, dbsession, fields, message):
    case = factories.owed_case(dbsession, name="入力 五郎")
    dbsession.commit()
    login(testapp, "c1")
    res = _record(testapp, case, status=400, **fields)
    assert message in res.html.select_one("#status-errors").text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(StatusPeriod)) == 0


def test_overlapping_periods_of_one_kind_are_refused(testapp, people, dbsession):
    case = factories.owed_case(dbsession, name="重複 六郎")
    dbsession.commit()
    login(testapp, "c1")
    _record(testapp, case, kind="seizure", starts_on="2026-10-01", ends_on="2026-10-31")
    res = _record(testapp, case, status=400, kind="seizure", starts_on="2026-10-15")
    assert "重なっています" in res.text
    _record(testapp, case, kind="seizure", starts_on="2026-11-01")  # after it: fine
    _record(testapp, case, kind="claim", starts_on="2026-10-15")    # another kind: fine
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(StatusPeriod)) == 3


def test_only_collectors_record_statuses(testapp, people, dbsession, clock):
    case = factories.owed_case(dbsession, name="権限 七郎", phone="03-5555-8003")
    _campaign(dbsession, clock)
    for user in ("op1", "au"):
        login(testapp, user)
        page = testapp.get(f"/cases/{case.case_no}/")
        assert "status-form" not in page.text
        testapp.post(f"/cases/{case.case_no}/status",
                     {"csrf_token": csrf_token(testapp, f"/cases/{case.case_no}/"),
                      "kind": "bankruptcy", "starts_on": "2026-11-01"}, status=403)
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(StatusPeriod)) == 0


def test_the_case_page_splits_what_is_overdue_from_what_is_not_yet_due(
        testapp, people, dbsession):
    """Issue 18, point 1: only tax whose 納期限 has passed (and its charges) is
    demandable; a later 期 is shown apart and never counted."""
    from intranet.models import Installment

    # 100,000円 overdue since 1 July: a late charge over the 1,000-yen floor
    case = factories.owed_case(dbsession, name="期別 八郎", amount=100_000, due=dt.date(2026, 6, 30))
    case.assessments[0].installments.append(Installment(
        period_no=4, due_date=dt.date(2027, 1, 31), tax_amount=12_000, late_charge_amount=0))
    dbsession.commit()
    login(testapp, "c1")
    split = testapp.get(f"/cases/{case.case_no}/").html.select_one("#owed-split")

    def yen(element_id):
        return int(split.select_one(f"#{element_id}").text.replace(",", "").rstrip("円"))

    assert yen("owed-tax-overdue") == 100_000 and yen("owed-not-due") == 12_000
    assert yen("owed-lc-accruing") > 0 and yen("owed-fee") == 0
    assert yen("owed-overdue") == (yen("owed-tax-overdue") + yen("owed-lc-accruing")
                                   + yen("owed-lc-fixed") + yen("owed-fee"))


@pytest.fixture
def approving_app(app_settings, clock):
    """The application of a ward that wants a supervisor's approval."""
    import webtest

    import intranet

    app = intranet.main({}, **{**app_settings, "intranet.statuses.require_approval": "true"})
    app.registry.clock = clock
    yield webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
    app.registry["db_engine"].dispose()


def test_where_the_ward_wants_it_a_status_counts_only_once_another_supervisor_approves(
        approving_app, dbsession, password_context, clock):
    testapp = approving_app
    factories.user(dbsession, password_context, Role.collector, login="boss1", is_supervisor=True)
    factories.user(dbsession, password_context, Role.collector, login="boss2", is_supervisor=True)
    factories.user(dbsession, password_context, Role.collector, login="c1")
    factories.user(dbsession, password_context, Role.operator, login="op1")
    case = factories.owed_case(dbsession, name="承認 九郎", phone="03-5555-8009")
    _campaign(dbsession, clock)
    login(testapp, "boss1")
    _record(testapp, case, kind="suspension", starts_on="2026-11-20", reason="生活困窮")
    period = dbsession.scalars(sa.select(StatusPeriod)).one()
    assert period.approved_at is None
    assert "承認待ち" in testapp.get(f"/cases/{case.case_no}/").html.select_one("#statuses").text
    login(testapp, "op1")
    testapp.get(f"/cases/{case.case_no}/", status=200)  # pending: the case stays in the queue
    # nobody approves their own record; plain collectors may not approve at all
    login(testapp, "boss1")
    page = testapp.get("/admin/statuses/")
    assert case.case_no in page.html.select_one("#approvals").text
    res = testapp.post("/admin/statuses/", {"csrf_token": csrf_token(testapp, "/admin/statuses/"),
                                            "period": str(period.id)}, status=400)
    assert "別の管理者" in res.text
    login(testapp, "c1")
    testapp.get("/admin/statuses/", status=403)
    login(testapp, "boss2")
    testapp.post("/admin/statuses/", {"csrf_token": csrf_token(testapp, "/admin/statuses/"),
                                      "period": str(period.id)}, status=303)
    dbsession.expire_all()
    assert dbsession.get(StatusPeriod, period.id).approved_at is not None
    assert case.case_no not in testapp.get("/admin/statuses/").html.select_one("#approvals").text
    login(testapp, "op1")
    testapp.get(f"/cases/{case.case_no}/", status=403)  # approved: out of the queue
