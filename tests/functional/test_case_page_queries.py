"""The case page runs a bounded number of SQL statements for every role,
whatever the number of installments, receipts, calls, contacts, plans,
direct-debit applications, status periods, letters and survey reports the
case holds, and no relationship is loaded lazily while the templates render
(issue 21: ≤ 8 statements per request, counted with the session lookup and
the access-log append)."""
import contextlib
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from intranet.models import (
    ApplicationState, CallRecord, ContactKind, ContactRecord, DirectDebitApplication,
    DirectDebitStep, Installment, Receipt, ReceiptKind, Role, StatusKind, StatusPeriod,
    SurveyReport, SurveyTarget,
)
from tests import factories
from tests.functional.test_query_counts import counting
from tests.helpers import login

#: Statements per case page request: session + user (1), case + taxpayer
#: (1), the case's ACL grants, which the disclosure gate reuses for its scope
#: check (1; none for roles reaching every case: only the scopes of the roles
#: the request holds are asked), every facet's rows (SQLite 1; PostgreSQL 2:
#: the child rows by their parents' ids, see intranet.cases.page_loading), the
#: access-log append. SQLite: lock the head, insert the entry, insert its
#: case, move the head (4). PostgreSQL: open the transaction, bound its waits
#: and lock the head in one simple-protocol query, then insert both and move
#: the head in one statement (2; intranet.audit.writer).
STATEMENTS = {"sqlite": 8, "postgresql": 7}
#: roles whose scope is every case: no grants query
NO_GRANTS_QUERY = {"collector", "boss", "audit"}
MAX_STATEMENTS = 8  # issue 21


def _case(dbsession, n: int):
    """A case with every facet filled and ``n`` of each repeated row."""
    c = factories.sentinel_case(dbsession)
    author = factories._staff_author(dbsession)
    a = c.assessments[0]
    target = dbsession.query(SurveyTarget).filter_by(case_id=c.id).one()
    for i in range(1, n):
        inst = Installment(period_no=i + 1, due_date=dt.date(2026, 6, 1) + dt.timedelta(days=i),
                           tax_amount=1000, late_charge_amount=0)
        inst.receipts.append(Receipt(kind=ReceiptKind.tax, amount=100, received_on=dt.date(2026, 7, 1)))
        a.installments.append(inst)
        c.agreements.append(factories._plan(note=f"plan {i}"))
        c.contacts.append(ContactRecord(kind=ContactKind.visit, occurred_at=dt.datetime(2026, 10, 1, 1, i),
                                        content=f"contact {i}", staff_name="職員A"))
        c.calls.append(CallRecord(called_at=dt.datetime(2026, 11, 1, 1, i), phone_number="03-0000-0000",
                                  result="不在", note=f"call {i}"))
    dbsession.flush()
    for i in range(n):
        dbsession.add(DirectDebitApplication(
            case_id=c.id, state=ApplicationState.deficient, state_since=dt.date(2026, 11, 10),
            encouraged_on=dt.date(2026, 11, 1), encouraged_by=author.id,
            steps=[DirectDebitStep(state=ApplicationState.encouraged, happened_on=dt.date(2026, 11, 1),
                                   note="step", recorded_at=dt.datetime(2026, 11, 1, 1))]))
        dbsession.add(StatusPeriod(case_id=c.id, kind=list(StatusKind)[0],
                                   starts_on=dt.date(2020, 1, 1) + dt.timedelta(days=40 * i),
                                   ends_on=dt.date(2020, 1, 1) + dt.timedelta(days=40 * i + 30),
                                   recorded_by=author.id, recorded_at=dt.datetime(2026, 1, 1),
                                   approved_by=author.id, approved_at=dt.datetime(2026, 1, 1)))
    for i in range(1, n):
        dbsession.add(SurveyReport(target_id=target.id, version=i + 1, submitted_by=author.id,
                                   submitted_at=dt.datetime(2026, 11, 2), visited_at=dt.datetime(2026, 11, 2),
                                   residence="lives", nameplate="present", nameplate_name="表札",
                                   tenure="rented", landlord_name="大家", memo=""))
    dbsession.flush()
    factories.campaign(dbsession, [c])
    return c


ROLES = {"collector": dict(role=Role.collector), "boss": dict(role=Role.collector, is_supervisor=True),
         "op": dict(role=Role.operator), "audit": dict(role=Role.auditor)}


@contextlib.contextmanager
def no_lazy_loads():
    """Fail the request (500) if anything loads a relationship lazily."""
    def refuse(state):
        if state.is_relationship_load:
            raise AssertionError(f"lazy load during the case page: {state.statement}")

    sa.event.listen(Session, "do_orm_execute", refuse)
    try:
        yield
    finally:
        sa.event.remove(Session, "do_orm_execute", refuse)


@pytest.fixture
def statements_at(testapp, engine, dbsession, password_context):
    for name, kw in ROLES.items():
        kw = dict(kw)
        factories.user(dbsession, password_context, kw.pop("role"), login=name, **kw)

    def measure(n):
        c = _case(dbsession, n)
        dbsession.commit()
        out = {}
        for name in ROLES:
            login(testapp, name)
            url = f"/cases/{c.case_no}/"
            testapp.get(url, status=200)  # fills the 30-second caches (test_query_counts)
            with no_lazy_loads(), counting(engine) as statements:
                page = testapp.get(url, status=200)
            out[name] = (len(statements), page.text)
        return out
    return measure


def test_the_case_page_runs_the_same_few_statements_for_1_row_or_30_of_each(
        statements_at, engine):
    """1 installment/receipt/plan/contact/call/application/status/report
    against 30 of each: the same statements, none of them a lazy load."""
    small = statements_at(1)
    large = statements_at(30)
    backend = engine.dialect.name
    for name in ROLES:
        expected = STATEMENTS[backend] - (name in NO_GRANTS_QUERY)
        assert small[name][0] == large[name][0] == expected, (name, small[name][0], large[name][0])
        assert large[name][0] <= MAX_STATEMENTS
    # the 30 rows are shown (the collector sees every facet)
    text = large["collector"][1]
    assert text.count("contact 2") >= 1 and "call 29" in text and "plan 29" in text
    assert text.count('class="debit-application"') == 30
