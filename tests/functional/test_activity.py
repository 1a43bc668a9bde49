"""Activity views per organisation and period, and the monthly log review."""
import datetime as dt
import json
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from intranet.audit import activity
from intranet.models import LogReview, Organisation, OrganisationKind, Role
from tests import factories
from tests.helpers import csrf_token, login, synthetic_entry

J = dt.datetime  # JST wall-clock times below


@pytest.fixture
def contractor(dbsession, password_context, wsgi_app):
    """A contractor of its own (the log outlives tests, so a fresh code) with
    one month of activity in October 2026, plus entries that must not count."""
    code = f"act-{uuid.uuid4().hex[:8]}"
    org = Organisation(code=code, name="調査委託 株式会社", kind=OrganisationKind.contractor)
    dbsession.add(org)
    dbsession.flush()
    user = factories.user(dbsession, password_context, Role.operator, login=f"{code}-op", training=False)
    factories.training_record(dbsession, user, trained_on=dt.date(2026, 4, 10))
    user.organisation = org
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    factories.user(dbsession, password_context, Role.collector, login="staff")
    dbsession.commit()
    op = user.login
    e = synthetic_entry
    rows = [
        e(J(2026, 10, 1, 0, 0), op, code, cases=[90]),                      # first minute: counts, off hours
        e(J(2026, 10, 5, 9, 0), op, code, kind="event", event="login.success", outcome="success"),
        e(J(2026, 10, 5, 10, 0), op, code, cases=[1, 2]),
        e(J(2026, 10, 5, 10, 1), op, code, cases=[2, 3]),
        e(J(2026, 10, 5, 11, 0), op, code, cases=[4]),
        e(J(2026, 10, 5, 11, 5), op, code, outcome="denied", path="/admin/users/"),
        e(J(2026, 10, 5, 22, 0), op, code, cases=[1]),                      # weekday night
        e(J(2026, 10, 6, 9, 0), op, code, kind="event", event="login.failure", outcome="failure"),
        e(J(2026, 10, 6, 9, 1), op, code, kind="event", event="account.locked", outcome="locked"),
        e(J(2026, 10, 10, 11, 0), op, code, cases=[5]),                     # a Saturday
        e(J(2026, 10, 13, 14, 0), op, code, cases=range(100, 220)),         # 120 cases: bulk
        e(J(2026, 10, 14, 15, 0), op, code, path="/calls/reports/export",
          detail=json.dumps({"download": True, "rows": 42})),
        # not this organisation, or not this period
        e(J(2026, 10, 5, 10, 0), "someone", "org-other", cases=[7, 8, 9]),
        e(J(2026, 9, 30, 23, 59), op, code, cases=[7]),
        e(J(2026, 11, 1, 0, 0), op, code, cases=[8]),
    ]
    wsgi_app.registry.access_log.append(rows)
    return {"code": code, "login": op, "org_id": org.id}


def test_activity_counts_one_organisation_and_period(dbsession, contractor):
    org = dbsession.get(Organisation, contractor["org_id"])
    result = activity.build(dbsession, org, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    days = {d.day.day: d for d in result.days}
    assert sorted(days) == [1, 5, 6, 10, 13, 14]
    assert days[5].cases == 4 and days[5].requests == 5 and days[5].denied == 1 and days[5].logins == 1
    assert days[5].off_hours == 1                              # 22:00
    assert days[1].off_hours == 1 and days[10].off_hours == 1  # midnight, Saturday
    assert days[6].failures == 1 and days[6].lockouts == 1
    assert days[13].cases == 120
    assert result.bulk_threshold == activity.BULK_FLOOR and [d.day.day for d in result.bulk] == [13]
    assert [(d.login, d.rows) for d in result.downloads] == [(contractor["login"], 42)]
    (user,) = result.users
    assert (user.login, user.requests, user.cases, user.active_days) == (contractor["login"], 9, 126, 5)
    assert result.anomaly_counts() == {"denied": 1, "off_hours": 3, "bulk": 1, "failures": 1,
                                       "lockouts": 1, "downloads": 1}


def test_bulk_threshold_follows_the_median():
    assert activity.bulk_threshold([]) == activity.BULK_FLOOR
    assert activity.bulk_threshold([5, 10, 15]) == activity.BULK_FLOOR
    assert activity.bulk_threshold([40, 60, 80, 500]) == 210


def test_office_time():
    assert activity.is_office_time(J(2026, 10, 5, 8, 0))
    assert not activity.is_office_time(J(2026, 10, 5, 20, 0))
    assert not activity.is_office_time(J(2026, 10, 12, 10, 0))   # スポーツの日
    assert not activity.is_office_time(J(2026, 12, 29, 10, 0))   # year-end closure


def test_the_activity_page_links_each_figure_to_its_entries(testapp, contractor):
    login(testapp, "audit")
    res = testapp.get("/audit/activity", {"organisation": contractor["code"],
                                         "date_from": "2026-10-01", "date_to": "2026-10-31"})
    link = res.html.select_one("#denied-table-%s tbody a" % contractor["code"])
    assert link.text == "1"
    query = parse_qs(urlsplit(link["href"]).query)
    assert query == {"login": [contractor["login"]], "date_from": ["2026-10-05"],
                     "date_to": ["2026-10-05"], "outcome": ["denied"]}
    entries = testapp.get(link["href"])
    assert "1件" in entries.html.select_one(".result-count").text
    cases = {tr.select("td")[0].text: tr.select("td")[2].text for tr in res.html.select("#cases-table tbody tr")}
    assert cases["2026-10-13"] == "120" and cases["2026-10-05"] == "4"
    # The users' table shows the latest training record (training_records, issue 19).
    assert "2026-04-10" in res.text
    assert res.html.select_one("#users-table tbody tr")["data-login"] == contractor["login"]


@pytest.mark.parametrize("params,message", [
    ({"date_from": "2026-13-01"}, "日付の形式"),
    ({"date_from": "2026-10-31", "date_to": "2026-10-01"}, "開始日が終了日より後"),
    ({"date_from": "2025-01-01", "date_to": "2026-10-01"}, "1年以内"),
    ({"organisation": "nope"}, "組織が見つかりません"),
])
def test_bad_activity_parameters_are_explained(testapp, contractor, params, message):
    login(testapp, "audit")
    res = testapp.get("/audit/activity", {"organisation": contractor["code"], **params}, status=400)
    assert message in res.html.select_one(".error").text


@pytest.mark.parametrize("who,status", [("audit", 200), ("boss", 200), ("staff", 403)])
def test_who_sees_activity_and_reviews(testapp, contractor, who, status):
    login(testapp, who)
    testapp.get("/audit/activity", status=status)
    testapp.get("/audit/reviews/", status=status)
    testapp.get("/audit/reviews/2026-10", status=status)


def test_operators_see_no_activity(testapp, contractor):
    login(testapp, contractor["login"])
    testapp.get("/audit/activity", {"organisation": contractor["code"]}, status=403)


def test_unsigned_ended_months_are_overdue(testapp, contractor):
    login(testapp, "audit")
    res = testapp.get("/audit/reviews/")
    states = {tr["data-month"]: tr.select("td")[1].text for tr in res.html.select("#review-months tbody tr")}
    assert states["2026-10"] == "期限超過" and states["2026-11"] == "集計中（月末まで）"
    month = testapp.get("/audit/reviews/2026-10")
    assert month.html.select_one("#overdue")
    section = month.html.select_one(f"#org-{contractor['code']}")
    assert section.select_one(f"#bulk-table-{contractor['code']}")
    current = testapp.get("/audit/reviews/2026-11")
    assert current.html.select_one("#in-progress") and not current.html.select_one("#sign-form")


def test_a_month_is_signed_off_once_with_a_finding(testapp, dbsession, contractor, clock):
    login(testapp, "boss")
    page = testapp.get("/audit/reviews/2026-10")
    form = page.forms["sign-form"]
    form["finding"] = "時間外アクセス2件は残業申請済みを確認。"
    form.submit(status=303)
    review = dbsession.query(LogReview).one()
    assert review.month == dt.date(2026, 10, 1) and review.finding.startswith("時間外")
    assert json.loads(review.counts)[contractor["code"]]["off_hours"] == 3
    assert review.reviewed_at == clock.now()
    res = testapp.get("/audit/reviews/")
    row = res.html.select_one("tr[data-month='2026-10']")
    assert row.select("td")[1].text == "確認済み" and "テスト boss" in row.text
    signed = testapp.get("/audit/reviews/2026-10")
    assert not signed.html.select_one("#sign-form") and "残業申請済み" in signed.text
    token = csrf_token(testapp, "/audit/reviews/")
    again = testapp.post("/audit/reviews/2026-10", {"csrf_token": token, "finding": "再確認"}, status=400)
    assert "すでに確認済み" in again.text
    assert dbsession.query(LogReview).count() == 1


@pytest.mark.parametrize("month,finding,message", [
    ("2026-11", "異常なし", "終了していない月"),
    ("2026-10", "   ", "所見を2000文字以内"),
    ("2026-10", "あ" * 2001, "所見を2000文字以内"),
])
def test_refused_sign_offs_store_nothing(testapp, dbsession, contractor, month, finding, message):
    login(testapp, "audit")
    token = csrf_token(testapp, "/audit/reviews/")
    res = testapp.post(f"/audit/reviews/{month}", {"csrf_token": token, "finding": finding}, status=400)
    assert message in " ".join(e.text for e in res.html.select(".error"))
    assert dbsession.query(LogReview).count() == 0


def test_others_cannot_sign(testapp, dbsession, contractor):
    login(testapp, "staff")
    token = csrf_token(testapp, "/")
    testapp.post("/audit/reviews/2026-10", {"csrf_token": token, "finding": "x"}, status=403)
    assert dbsession.query(LogReview).count() == 0


@pytest.mark.parametrize("name", ["2026-13", "2030-01", "2026-1", "x"])
def test_unknown_months_are_not_found(testapp, contractor, name):
    login(testapp, "audit")
    testapp.get(f"/audit/reviews/{name}", status=404)
