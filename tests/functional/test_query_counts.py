"""No per-row work in lists: the number of SQL statements a list page, a
letter batch (page and PDF) or an export runs does not grow with its rows
(issue 16). Each page is requested over a small and a larger world and the
statement counts compared."""
import datetime as dt

import pytest

from intranet.calls import campaigns
from intranet.models import (
    BatchState, CallCampaign, CampaignStatus, ContactKind, ContactRecord, Contract, Handover,
    HandoverStatus, PhoneCandidate, PhoneCandidateStatus, Residency, Role, SurveyBatch, SurveyTarget, SurveyTargetState,
)
from tests import factories
from tests.helpers import counting, login

SMALL, LARGE = 3, 12


def _world(dbsession, password_context, clock, size: int) -> dict:
    boss = factories.user(dbsession, password_context, Role.collector, login="boss",
                          is_supervisor=True)
    factories.user(dbsession, password_context, Role.operator, login="op")
    inv = factories.user(dbsession, password_context, Role.contractor, login="inv")
    cases = [factories.owed_case(dbsession, name=f"件数 {n}", phone=None, amount=1000 * (n + 1))
             for n in range(size)]
    campaign = CallCampaign(name="件数", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    for case in cases:
        dbsession.add(Handover(case_id=case.id, reason="相談", created_by=boss.id,
                               created_at=clock.now(), status=HandoverStatus.open))
        dbsession.add(PhoneCandidate(case_id=case.id, number="0312345678", digits="0312345678",
                                     source="調査", status=PhoneCandidateStatus.pending,
                                     registered_by=boss.id, registered_at=clock.now()))
    contract = Contract(organisation_id=inv.organisation_id, name="調査", purpose="p",
                        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31),
                        manager_name="m", handler_names="h", protections="",
                        training_required=False, created_by=boss.id, created_at=clock.now())
    dbsession.add(contract)
    dbsession.flush()
    inv.contract_id = contract.id
    batch = SurveyBatch(contract_id=contract.id, name="件数", deadline=dt.date(2026, 12, 25),
                        state=BatchState.open, created_by=boss.id, created_at=clock.now())
    dbsession.add(batch)
    dbsession.flush()
    for case in cases:
        dbsession.add(SurveyTarget(batch_id=batch.id, case_id=case.id, area="大阪府",
                                   investigator_id=inv.id, state=SurveyTargetState.pending))
    # survey candidates (issue 20): movers-out with no phone, one talked to long ago
    movers = [factories.owed_case(dbsession, name=f"転出 {n}", phone=None,
                                  residency=Residency.moved_out, address="大阪府大阪市")
              for n in range(size)]
    dbsession.add(ContactRecord(case_id=movers[0].id, kind=ContactKind.visit,
                                occurred_at=dt.datetime(2026, 6, 1), counterpart_kind="taxpayer",
                                conversation=True))
    dbsession.commit()
    return {"survey_batch": batch.id}


def _letter_batch(testapp) -> str:
    form = testapp.get("/letters/").forms["letters-form"]
    form["deadline"] = "2026-12-08"
    return form.submit(status=303).headers["Location"].replace("http://localhost", "")


#: (user, path) of every list, batch and export; "{letters}" and
#: "{survey_batch}" are filled from the world.
PAGES = [
    ("boss", "/cases/"), ("op", "/cases/"), ("op", "/letters/"), ("op", "{letters}"),
    ("op", "{letters}pdf"), ("boss", "{letters}"), ("op", "/calls/phones/"),
    ("boss", "/calls/phones/pending"), ("boss", "/calls/handovers/"),
    ("boss", "/survey/batches/{survey_batch}/"), ("boss", "/survey/batches/{survey_batch}/export"),
    ("inv", "/survey/"), ("boss", "/audit/"), ("boss", "/survey/batches/candidates"),
]


def _counts(testapp, engine, world) -> dict[tuple[str, str], int]:
    login(testapp, "op")
    world = {**world, "letters": _letter_batch(testapp)}
    counts = {}
    for user, path in PAGES:
        login(testapp, user)
        url = path.format(**world)
        # The first request may fill bounded per-process caches (the witness
        # banner's status of supervisors and auditors, at most every 30 s):
        # not per-row work, so the second request is the one counted.
        testapp.get(url, status=200)
        with counting(engine) as statements:
            testapp.get(url, status=200)
        counts[(user, path)] = len(statements)
    return counts


@pytest.fixture
def counts_at(testapp, engine, dbsession, password_context, clock):
    def measure(size):
        world = _world(dbsession, password_context, clock, size)
        return _counts(testapp, engine, world)
    return measure


def test_list_pages_batches_and_exports_run_as_many_statements_for_3_rows_as_for_12(
        counts_at, dbsession, engine):
    from tests.conftest import _empty_all_tables

    small = counts_at(SMALL)
    dbsession.close()
    _empty_all_tables(engine)
    large = counts_at(LARGE)
    assert large == small, {k: (small[k], large[k]) for k in small if small[k] != large[k]}
