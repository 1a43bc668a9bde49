"""The list "時効が近い" (issue 18, point 5): installments whose right to
collect expires within six months (intranet.limitation.warn_months), for
collectors and auditors, with its CSV. Today is 2026-11-24 (the clock
fixture): the horizon is 2027-05-24."""
import csv
import datetime as dt
import io

import pytest

from intranet.models import Receipt, ReceiptKind, Role, StatusKind, StatusPeriod
from tests import factories
from tests.functional.test_query_counts import counting
from tests.helpers import login

D = dt.date


@pytest.fixture
def people(dbsession, password_context):
    for role, name in ((Role.collector, "c1"), (Role.operator, "op1"), (Role.auditor, "au")):
        factories.user(dbsession, password_context, role, login=name)
    dbsession.commit()


@pytest.fixture
def world(dbsession, clock):
    soon = factories.owed_case(dbsession, name="時効 近子", amount=30000, due=D(2022, 2, 24),
                               fiscal_year=2021)            # expires 2027-02-24: in 3 months
    later = factories.owed_case(dbsession, name="時効 遠子", amount=20000, due=D(2024, 6, 30),
                                fiscal_year=2024)           # expires 2029-06-30: in 3 years
    renewed = factories.owed_case(dbsession, name="時効 更新", amount=50000, due=D(2021, 1, 4),
                                  fiscal_year=2020)         # 2026-01-04, renewed by a payment
    inst = renewed.assessments[0].installments[0]
    inst.receipts.append(Receipt(kind=ReceiptKind.tax, amount=10000, received_on=D(2022, 1, 6)))
    seized = factories.owed_case(dbsession, name="時効 差押", amount=40000, due=D(2021, 6, 30),
                                 fiscal_year=2021)          # postponed while the seizure lasts
    dbsession.add(StatusPeriod(case_id=seized.id, kind=StatusKind.seizure,
                               starts_on=D(2024, 5, 1), recorded_at=clock.now(),
                               approved_at=clock.now()))
    dbsession.commit()
    return {"soon": soon, "later": later, "renewed": renewed, "seized": seized}


def test_the_list_shows_what_expires_within_six_months_in_expiry_order(testapp, people, world):
    login(testapp, "c1")
    page = testapp.get("/cases/limitation")
    rows = page.html.select("#limitation tbody tr")
    assert [r["data-case"] for r in rows] == [world["renewed"].case_no, world["soon"].case_no]
    renewed, soon = rows
    # 2022-01-06 partial payment (承認): runs anew, ends 2027-01-06
    assert "2027-01-06" in renewed.select_one(".expires").text
    assert "一部納付" in renewed.select_one(".rule").text and "40,000" in renewed.text
    assert "2027-02-24" in soon.select_one(".expires").text
    assert "地方税法18条①" in soon.select_one(".rule").text and "30,000" in soon.text
    assert world["later"].case_no not in page.text
    assert world["seized"].case_no not in page.text
    assert "/cases/limitation" in page.html.select_one("nav").decode()


def test_sort_by_case_number_and_a_bad_sort_is_refused(testapp, people, world):
    login(testapp, "c1")
    page = testapp.get("/cases/limitation?sort=case")
    shown = [r["data-case"] for r in page.html.select("#limitation tbody tr")]
    assert shown == sorted(shown) and len(shown) == 2
    testapp.get("/cases/limitation?sort=balance;drop", status=400)


def test_the_csv_holds_the_same_rows(testapp, people, world):
    login(testapp, "au")
    res = testapp.get("/cases/limitation?format=csv")
    assert res.content_type == "text/csv"
    table = list(csv.reader(io.StringIO(res.body.decode("utf-8-sig"))))
    assert table[0][0] == "案件番号"
    assert table[1:] == [
        [world["renewed"].case_no, "特別区民税・都民税", "2020", "1", "2021-01-04", "40000",
         table[1][6], "2027-01-06", "一部納付（承認）で更新（民法152条①）"],
        [world["soon"].case_no, "特別区民税・都民税", "2021", "1", "2022-02-24", "30000",
         table[2][6], "2027-02-24", "法定納期限の翌日から5年（地方税法18条①）"],
    ]
    assert all(int(row[6]) > int(row[5]) for row in table[1:])  # late charges accrue


def test_operators_may_not_see_it(testapp, people, world):
    login(testapp, "op1")
    testapp.get("/cases/limitation", status=403)
    testapp.get("/cases/limitation?format=csv", status=403)


def test_the_query_count_does_not_grow_with_the_rows(testapp, people, dbsession, engine):
    def run():
        with counting(engine) as statements:
            testapp.get("/cases/limitation")
        return len(statements)

    login(testapp, "c1")
    factories.owed_case(dbsession, name="件数 0", due=D(2022, 2, 1))
    dbsession.commit()
    small = run()
    for n in range(1, 8):
        case = factories.owed_case(dbsession, name=f"件数 {n}", due=D(2022, 2, n + 1))
        dbsession.add(StatusPeriod(case_id=case.id, kind=StatusKind.claim, starts_on=D(2023, 1, 5),
                                   ends_on=D(2023, 3, 1), recorded_at=dt.datetime(2023, 1, 5),
                                   approved_at=dt.datetime(2023, 1, 5)))
    dbsession.commit()
    assert run() == small
