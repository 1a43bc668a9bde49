"""月報: the month's direct-debit encouragements and their registrations
within 30, 60 and 90 days (issue 20), on the page, in the CSV and the Excel
file; a call center's staff count only their own organisation's."""
import datetime as dt
import io

import openpyxl
import pytest

from intranet.models import (
    ApplicationState as S, DirectDebitApplication, DirectDebitStep, Organisation, OrganisationKind,
    Role,
)
from tests import factories
from tests.helpers import login

# The clock's today is 2026-11-24: for August (last day 08-31) the 30- and
# 60-day windows have closed (09-30, 10-30), the 90-day one has not (11-29).
AUG = dt.date(2026, 8, 1)


@pytest.fixture
def applications(dbsession, password_context, clock):
    factories.user(dbsession, password_context, Role.collector, login="c1")
    op1 = factories.user(dbsession, password_context, Role.operator, login="op1")
    factories.user(dbsession, password_context, Role.operator, login="lead", is_team_leader=True)
    rival = Organisation(code="cc-rival", name="他社コールセンター", kind=OrganisationKind.contractor)
    dbsession.add(rival)
    dbsession.flush()
    zz = factories.user(dbsession, password_context, Role.operator, login="zz", organisation=rival)
    n = iter(range(100))

    def application(user, encouraged_on, registered_after=None):
        case = factories.case(dbsession, name=f"口振 {next(n)}", phone=None)
        registered_on = (encouraged_on + dt.timedelta(days=registered_after)
                         if registered_after is not None else None)
        state = S.registered if registered_on else S.encouraged
        app = DirectDebitApplication(case_id=case.id, state=state,
                                     state_since=registered_on or encouraged_on,
                                     encouraged_on=encouraged_on, encouraged_by=user.id,
                                     registered_on=registered_on)
        app.steps.append(DirectDebitStep(state=S.encouraged, happened_on=encouraged_on, note="",
                                         recorded_by=user.id, recorded_at=clock.now()))
        if registered_on:
            app.steps.append(DirectDebitStep(state=S.registered, happened_on=registered_on,
                                             note="データ連携", recorded_by=None,
                                             recorded_at=clock.now()))
        dbsession.add(app)

    aug3 = dt.date(2026, 8, 3)
    application(op1, aug3, 10)     # within 30
    application(op1, aug3, 45)     # within 60
    application(op1, aug3, 100)    # after 90: counted in no window
    application(op1, dt.date(2026, 8, 31))   # the month's last day, not registered
    application(zz, dt.date(2026, 8, 5), 5)  # the rival call center's
    application(op1, dt.date(2026, 7, 31), 3)  # the month before
    application(op1, dt.date(2026, 9, 1), 3)   # the month after
    application(op1, dt.date(2026, 11, 2))     # this month: every window still open
    dbsession.commit()


def cohort(res):
    rows = {}
    for tr in res.html.select("#debit-cohort tbody tr"):
        key = tr.get("data-window") or tr["data-row"]
        rows[key] = ([td.text for td in tr.select("td[data-col]")],
                     tr.select_one("[data-pending]") is not None)
    states = {tr["data-state"]: tr.select_one("td").text for tr in res.html.select("#debit-states tbody tr")}
    return rows, states


def monthly(testapp, month="2026-08", **kw):
    return testapp.get("/calls/reports/", {"kind": "monthly", "month": month, **kw})


def test_ward_staff_see_every_application_encouraged_in_the_month(testapp, applications):
    login(testapp, "c1")
    rows, states = cohort(monthly(testapp))
    assert rows == {
        "encouraged": (["5"], False),
        "30": (["2", "40.0%"], False),    # 10 days (op1), 5 days (rival)
        "60": (["3", "60.0%"], False),    # and 45 days
        "90": (["3", "60.0%"], True),     # 100 days is too late; 08-31 + 90 is still to come
    }
    assert states == {"encouraged": "1", "form_sent": "0", "returned": "0", "deficient": "0",
                      "registered": "4", "withdrawn": "0"}


@pytest.mark.parametrize("login_name", ["op1", "lead"])
def test_a_call_centers_staff_count_their_organisations_applications_only(
        testapp, applications, login_name):
    login(testapp, login_name)
    rows, states = cohort(monthly(testapp))
    assert rows == {
        "encouraged": (["4"], False),
        "30": (["1", "25.0%"], False),
        "60": (["2", "50.0%"], False),
        "90": (["2", "50.0%"], True),
    }
    assert states["registered"] == "3" and states["encouraged"] == "1"
    login(testapp, "zz")   # and the rival's operator sees its own one
    rows, _ = cohort(monthly(testapp))
    assert rows["encouraged"] == (["1"], False) and rows["30"] == (["1", "100.0%"], False)


def test_windows_not_over_are_pending_and_an_old_month_is_final(testapp, applications):
    login(testapp, "c1")
    rows, _ = cohort(monthly(testapp, "2026-11"))
    assert rows["encouraged"] == (["1"], False)
    assert all(rows[d] == (["0", "0.0%"], True) for d in ("30", "60", "90"))
    rows, _ = cohort(monthly(testapp, "2026-07"))
    assert rows == {"encouraged": (["1"], False), "30": (["1", "100.0%"], False),
                    "60": (["1", "100.0%"], False), "90": (["1", "100.0%"], False)}
    rows, _ = cohort(monthly(testapp, "2026-06"))   # nobody encouraged: no rate
    assert rows["encouraged"] == (["0"], False) and rows["30"] == (["0", "—"], False)
    daily = testapp.get("/calls/reports/", {"kind": "daily", "date": "2026-11-24"})
    assert daily.html.select_one("#debit-cohort") is None


def test_the_csv_and_excel_files_carry_the_cohort(testapp, applications):
    login(testapp, "lead")
    lines = monthly(testapp, format="csv").body.decode("utf-8-sig").splitlines()
    start = lines.index("勧奨月,区分,件数,登録率（%）,集計")
    assert lines[start + 1:start + 5] == [
        "2026-08,勧奨件数,4,,", "2026-08,30日以内に登録,1,25.0,確定",
        "2026-08,60日以内に登録,2,50.0,確定", "2026-08,90日以内に登録,2,50.0,集計中"]
    assert "2026-08,現在の状態: 登録済,3,," in lines
    book = openpyxl.load_workbook(io.BytesIO(monthly(testapp, format="xlsx").body))
    rows = list(book["口座振替"].iter_rows(values_only=True))
    assert rows[0] == ("勧奨月", "区分", "件数", "登録率（%）", "集計")
    assert rows[1] == ("2026-08", "勧奨件数", 4, None, None)
    assert rows[4] == ("2026-08", "90日以内に登録", 2, 50.0, "集計中")
    assert ("2026-08", "現在の状態: 勧奨済（申込書未送付）", 1, None, None) in rows
    login(testapp, "c1")
    lines = monthly(testapp, format="csv").body.decode("utf-8-sig").splitlines()
    assert "2026-08,勧奨件数,5,," in lines
