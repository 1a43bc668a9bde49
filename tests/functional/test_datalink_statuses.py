"""徴収状態 through the data link (issue 18, point 4): ``case_statuses.csv``
rows are upserted on case, kind and start; a status in force keeps the case
out of a new call campaign; bad rows are refused with file, line and column,
and nothing is stored (SQLite and PostgreSQL)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.calls import campaigns
from intranet.datalink import importer
from intranet.datalink.dump import dump
from intranet.models import StatusKind, StatusPeriod
from tests import factories

TODAY = dt.date(2026, 11, 24)
HEADER = "case_no,kind,starts_on,ends_on,reason"


def _file(*rows: str) -> dict[str, bytes]:
    return {"case_statuses.csv": ("\r\n".join((HEADER, *rows)) + "\r\n").encode("cp932")}


def _periods(dbsession):
    return dbsession.execute(sa.select(StatusPeriod.case_id, StatusPeriod.kind, StatusPeriod.starts_on,
                                       StatusPeriod.ends_on, StatusPeriod.reason,
                                       StatusPeriod.recorded_by)
                             .order_by(StatusPeriod.id)).all()


def _matching(dbsession):
    return {c.case_id for c in campaigns.matching_cases(dbsession, campaigns.CampaignFilter(), TODAY)}


def test_imported_statuses_exclude_the_case_and_a_later_file_ends_them(dbsession):
    bankrupt = factories.owed_case(dbsession, name="破産 一郎", phone="03-5555-8101")
    ended = factories.owed_case(dbsession, name="猶予 二郎", phone="03-5555-8102")
    dbsession.commit()
    assert {bankrupt.id, ended.id} <= _matching(dbsession)

    result = importer.run(dbsession, _file(
        f"{bankrupt.case_no},bankruptcy,2026-11-01,,破産手続開始決定",
        f"{ended.case_no},deferral,2026-06-01,2026-09-30,",
        f"{ended.case_no},deferral,2026-10-01,,災害"), TODAY)
    assert result.ok, [str(p) for p in result.report.problems]
    dbsession.commit()
    assert vars(result.counts["case_statuses"]) == {"added": 3, "changed": 0, "unchanged": 0}
    assert _periods(dbsession) == [
        (bankrupt.id, StatusKind.bankruptcy, dt.date(2026, 11, 1), None, "破産手続開始決定", None),
        (ended.id, StatusKind.deferral, dt.date(2026, 6, 1), dt.date(2026, 9, 30), "", None),
        (ended.id, StatusKind.deferral, dt.date(2026, 10, 1), None, "災害", None)]
    assert dbsession.scalar(sa.select(StatusPeriod.legal_basis).where(
        StatusPeriod.case_id == bankrupt.id)) == "破産法"
    matching = _matching(dbsession)
    assert bankrupt.id not in matching and ended.id not in matching

    # a later file ends the deferral (matched on case, kind and start): the case is back
    result = importer.run(dbsession, _file(f"{ended.case_no},deferral,2026-10-01,2026-11-20,災害"), TODAY)
    assert result.ok, [str(p) for p in result.report.problems]
    dbsession.commit()
    assert vars(result.counts["case_statuses"]) == {"added": 0, "changed": 1, "unchanged": 0}
    matching = _matching(dbsession)
    assert ended.id in matching and bankrupt.id not in matching
    # the dump gives the periods back, and importing it changes nothing
    again = importer.run(dbsession, dump(dbsession), TODAY)
    assert again.ok, [str(p) for p in again.report.problems]
    assert vars(again.counts["case_statuses"]) == {"added": 0, "changed": 0, "unchanged": 3}


def test_an_import_without_the_file_leaves_statuses_alone(dbsession):
    case = factories.owed_case(dbsession, phone="03-5555-8103")
    dbsession.commit()
    assert importer.run(dbsession, _file(f"{case.case_no},seizure,2026-11-01,,"), TODAY).ok
    dbsession.commit()
    cases = dump(dbsession)["cases.csv"]
    result = importer.run(dbsession, {"cases.csv": cases}, TODAY)
    assert result.ok and "case_statuses" not in {n for n, c in result.counts.items() if c.added or c.changed}
    dbsession.commit()
    assert len(_periods(dbsession)) == 1


@pytest.mark.parametrize(("rows", "line", "column", "key"), [
    (["{a},deferral,2026-11-10,2026-11-01,"], 2, "ends_on", "datalink.error.status_end_before_start"),
    (["{a},deferral,2026-01-01,2026-03-31,", "{a},deferral,2026-03-31,,"], 3, "starts_on",
     "datalink.error.status_overlap"),
    (["{a},seizure,2026-10-01,,"], 2, "starts_on", "datalink.error.status_overlap"),  # vs stored
    (["{a},破産,2026-11-01,,"], 2, "kind", "datalink.error.choice"),
    (["2099-999999,deferral,2026-11-01,,"], 2, "case_no", "datalink.error.orphan"),
])
def test_bad_rows_are_refused_with_their_line_and_nothing_is_stored(dbsession, rows, line, column, key):
    case = factories.owed_case(dbsession, phone="03-5555-8104")
    dbsession.commit()
    assert importer.run(dbsession, _file(f"{case.case_no},seizure,2026-09-01,,差押"), TODAY).ok
    dbsession.commit()
    before = _periods(dbsession)
    good = f"{case.case_no},claim,2026-11-01,,交付要求"
    result = importer.run(dbsession, _file(good, *(r.format(a=case.case_no) for r in rows)), TODAY)
    dbsession.commit()
    problems = [(p.file, p.line, p.column, p.key) for p in result.report.problems]
    assert ("case_statuses.csv", line + 1, column, key) in problems, problems
    assert _periods(dbsession) == before


def test_a_period_recorded_on_the_case_page_counts_against_an_overlapping_row(dbsession):
    case = factories.owed_case(dbsession, phone="03-5555-8105")
    dbsession.add(StatusPeriod(case_id=case.id, kind=StatusKind.suspension, starts_on=dt.date(2026, 5, 1),
                               ends_on=None, legal_basis="", reason="", recorded_by=None,
                               recorded_at=dt.datetime(2026, 5, 1),
                               approved_at=dt.datetime(2026, 5, 1)))
    dbsession.commit()
    result = importer.run(dbsession, _file(f"{case.case_no},suspension,2026-12-01,2027-01-31,"), TODAY)
    assert [str(p) for p in result.report.problems] == [
        "case_statuses.csv:2 [starts_on] datalink.error.status_overlap"]
    # a different kind may overlap
    assert importer.run(dbsession, _file(f"{case.case_no},seizure,2026-12-01,2027-01-31,"), TODAY).ok
