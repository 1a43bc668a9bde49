"""Every list page runs as many SQL statements for 3 rows as for 40 (issue 21).

Each list is requested through the whole app (session, traversal, ACL,
disclosure gate, view, templates, access-log append) by every role whose
scope changes its query, over a world with ``SMALL`` and then ``LARGE`` rows
of each kind the lists show; the statement counts must be equal. A list
whose count grows with its rows runs a query per row (an N+1): load the rows
it shows with the list's own query (eager loading) or one set-based query.

The case list is also requested on its last page (the pager must not cost
more deep in the list) and with a filter and a search."""
import datetime as dt
import re

import pytest

from intranet.models import (
    ApplicationState, ContactKind, ContactRecord, Contract, DirectDebitApplication, FlagState,
    Role, ScreenedRecord, ScreeningFlag, StatusKind, StatusPeriod, User,
)
from intranet.survey import media as ledger
from tests import factories
from tests.functional.test_query_counts import _letter_batch, _world
from tests.helpers import counting, csrf_token, login

SMALL, LARGE = 3, 40


def _more(dbsession, password_context, clock, size: int) -> None:
    """Rows of every other kind a list shows, ``size`` of each, on the world's
    cases (tests/functional/test_query_counts.py builds campaigns, call
    targets, hand-overs, phone candidates, survey targets and movers)."""
    from intranet.models import Case

    boss = dbsession.query(User).filter_by(login="boss").one()
    clerk = factories.user(dbsession, password_context, Role.collector, login="clerk")
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    cases = dbsession.query(Case).order_by(Case.id).all()
    for n, case in enumerate(cases[:size]):
        case.agreements.append(factories._plan(note=f"plan {n}"))
        dbsession.add(DirectDebitApplication(
            case_id=case.id, state=ApplicationState.deficient, state_since=dt.date(2026, 11, 10),
            encouraged_on=dt.date(2026, 11, 1), encouraged_by=clerk.id))
        dbsession.add(StatusPeriod(
            case_id=case.id, kind=list(StatusKind)[0], starts_on=dt.date(2026, 11, 1),
            ends_on=dt.date(2026, 11, 2), legal_basis="", reason="",
            recorded_by=clerk.id, recorded_at=clock.now()))
        contact = ContactRecord(case_id=case.id, kind=ContactKind.visit,
                                occurred_at=dt.datetime(2026, 10, 1), content=f"記録 {n}",
                                staff_name="職員")
        dbsession.add(contact)
        dbsession.flush()
        dbsession.add(ScreeningFlag(
            record_type=ScreenedRecord.contact_record, record_id=contact.id, field="note",
            case_id=case.id, categories="criminal_record", terms="記録", reason="必要", flagged_by=clerk.id,
            flagged_at=clock.now(), organisation_id=clerk.organisation_id,
            state=FlagState.pending))
        ledger.register(dbsession, f"USB-{n:03d}", "媒体", user=boss, now=clock.now())
        dbsession.add(Contract(organisation_id=boss.organisation_id, name=f"契約 {n}", purpose="p",
                               starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31),
                               manager_name="m", handler_names="h", protections="",
                               training_required=False, created_by=boss.id,
                               created_at=clock.now()))
        factories.campaign(dbsession, [case])
        factories.user(dbsession, password_context, Role.operator, login=f"op{n:03d}")
    dbsession.commit()


#: (user, path) of every list page; the user's role decides its scope
#: (boss: a supervising collector, every case; op: an operator, the cases of
#: active campaigns; inv: an investigator, own targets; audit: an auditor).
PAGES = [
    ("boss", "/cases/"), ("op", "/cases/"), ("audit", "/cases/"),
    ("boss", "/cases/?page={last}"), ("op", "/cases/?page={last}"),
    ("boss", "/cases/?balance_min=1"), ("boss", "/cases/?tax_type=resident&fiscal_year=2026"),
    ("boss", "/cases/plans"), ("audit", "/cases/plans"),
    ("boss", "/cases/debits"), ("audit", "/cases/debits"), ("boss", "/cases/limitation"),
    ("boss", "/admin/statuses/"), ("boss", "/admin/users/"), ("boss", "/admin/contracts/"),
    ("boss", "/screening/"), ("audit", "/screening/"),
    ("boss", "/calls/campaigns/"), ("boss", "/calls/handovers/"), ("boss", "/calls/reports"),
    ("op", "/calls/"), ("op", "/calls/phones/"), ("boss", "/calls/phones/pending"),
    ("op", "/letters/"), ("op", "{letters}"), ("boss", "{letters}"),
    ("boss", "/survey/batches/"), ("boss", "/survey/batches/{survey_batch}/"),
    ("boss", "/survey/batches/candidates"), ("boss", "/survey/media/"),
    ("boss", "/survey/slips/"), ("inv", "/survey/"),
    ("boss", "/audit/"), ("audit", "/audit/"), ("audit", "/audit/activity"),
    ("audit", "/audit/reviews/"), ("audit", "/audit/checklists/"),
]

#: (user, form fields) of case searches (POST: the terms are personal data).
SEARCHES = [("boss", {"name": "件数"}), ("op", {"name": "件数"}), ("boss", {"case_no": "2026"})]


def _counts(testapp, engine, world) -> dict[tuple[str, str], int]:
    login(testapp, "op")
    world = {**world, "letters": _letter_batch(testapp)}
    counts = {}
    for user, path in PAGES:
        login(testapp, user)
        url = path.format(**world, last=_last_page(testapp) if "{last}" in path else "")
        # The first request may fill bounded per-process caches (the witness
        # banner's status, at most every 30 s): not per-row work.
        first = testapp.get(url, status="*")
        assert first.status_int == 200, (user, url, first.status)
        with counting(engine) as statements:
            testapp.get(url, status=200)
        counts[(user, path)] = len(statements)
    for user, fields in SEARCHES:
        login(testapp, user)
        token = csrf_token(testapp, "/cases/")
        testapp.post("/cases/", {"csrf_token": token, **fields}, status=200)
        with counting(engine) as statements:
            testapp.post("/cases/", {"csrf_token": token, **fields}, status=200)
        counts[(user, f"search {sorted(fields)}")] = len(statements)
    return counts


def _last_page(testapp) -> int:
    """The number of the case list's last page for the logged-in user (1 of
    1 with the small world, 2 of 2 with the large one for a collector)."""
    found = re.search(r"1 / (\d+) ページ", testapp.get("/cases/").text)
    return int(found.group(1)) if found else 1


@pytest.fixture
def counts_at(testapp, engine, dbsession, password_context, clock):
    def measure(size):
        world = _world(dbsession, password_context, clock, size)
        _more(dbsession, password_context, clock, size)
        return _counts(testapp, engine, world)
    return measure


def test_every_list_page_runs_as_many_statements_for_3_rows_as_for_40(counts_at, dbsession,
                                                                        engine):
    from tests.conftest import _empty_all_tables

    small = counts_at(SMALL)
    dbsession.close()
    _empty_all_tables(engine)
    large = counts_at(LARGE)
    assert large == small, {k: (small[k], large[k]) for k in small if small[k] != large[k]}
