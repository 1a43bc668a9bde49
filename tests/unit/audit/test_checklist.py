"""The checklist's domain data: items, which apply to whom, the evidence the
system holds, completion and the rows of the export."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from intranet.audit import checklist as cl
from intranet.audit.checklist import ITEMS, Scope
from intranet.messages import MESSAGES
from intranet.models import (
    CheckResult, Contract, ErasureRecord, HandoverSlip, Medium, MediumEvent, Organisation,
    OrganisationKind, Role, TrainingRecord, User,
)

DAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 3, 0)


def test_items_have_stable_codes_labels_in_both_languages_and_sources():
    codes = [item.code for item in ITEMS]
    assert len(codes) == len(set(codes))
    for item in ITEMS:
        assert len(item.code) <= 40 and item.code.isidentifier()
        ja, en = MESSAGES[item.label]
        assert ja and en
        assert item.sources and all(s.startswith(("資料62", "資料77")) for s in item.sources)
        # An item of one kind of work cites only that kind's document.
        if item.scope == Scope.call_center:
            assert all(s.startswith("資料77") for s in item.sources), item.code
        if item.scope == Scope.field_survey:
            assert all(s.startswith("資料62") for s in item.sources), item.code
    for result in CheckResult:
        assert f"checklist.result.{result}" in MESSAGES


def test_applicable_items_by_kind_of_work():
    survey = {i.code for i in cl.applicable_items({Scope.field_survey})}
    calls = {i.code for i in cl.applicable_items({Scope.call_center})}
    assert {"tablet_locked_bag", "id_cards", "media_ledger", "erasure_certified"} <= survey - calls
    assert {"entry_log", "ward_system_only"} <= calls - survey
    assert {"training", "confidentiality", "no_copies", "no_subcontracting"} <= survey & calls
    both = cl.applicable_items({Scope.field_survey, Scope.call_center})
    assert both == ITEMS  # in form order


def _org(dbsession, code):
    org = Organisation(code=code, name=f"委託先 {code}", kind=OrganisationKind.contractor)
    dbsession.add(org)
    dbsession.flush()
    return org


def _user(dbsession, org, login, role=Role.contractor, trained_on=None, next_due=None, **kw):
    """A user; ``trained_on``: a training record (the evidence reads records,
    not users.privacy_trained_on)."""
    user = User(login=login, display_name=login, role=role, organisation_id=org.id, password_hash="!",
                failed_logins=0, created_at=dt.datetime(2026, 1, 1), **kw)
    dbsession.add(user)
    dbsession.flush()
    if trained_on is not None:
        dbsession.add(TrainingRecord(user_id=user.id, course="従事者教育", trained_on=trained_on, trainer="t",
                                     next_due=next_due, recorded_by=user.id, recorded_at=dt.datetime(2026, 1, 1)))
        dbsession.flush()
    return user


def _contract(dbsession, org, name="現地調査", starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31)):
    contract = Contract(organisation_id=org.id, name=name, purpose="p", starts_on=starts_on, ends_on=ends_on,
                        manager_name="責任 者", handler_names="取扱 一\n\n取扱 二\n取扱 三\n", created_by=0,
                        created_at=dt.datetime(2026, 4, 1))
    dbsession.add(contract)
    dbsession.flush()
    return contract


def test_organisation_scopes_come_from_its_users_and_contracts(dbsession):
    calls, survey, unknown = _org(dbsession, "cc"), _org(dbsession, "sv"), _org(dbsession, "new")
    _user(dbsession, calls, "op", Role.operator)
    _contract(dbsession, survey)
    assert cl.organisation_scopes(dbsession, calls.id) == {Scope.call_center}
    assert cl.organisation_scopes(dbsession, survey.id) == {Scope.field_survey}
    assert cl.organisation_scopes(dbsession, unknown.id) == {Scope.call_center, Scope.field_survey}


@pytest.fixture
def survey_world(dbsession):
    """A field-survey contractor with users, media, slips and an ended contract."""
    org = _org(dbsession, "sv")
    ward = _org(dbsession, "ward")
    clerk = _user(dbsession, ward, "clerk", Role.collector)
    contract = _contract(dbsession, org)
    old = _contract(dbsession, org, "前年度", dt.date(2025, 4, 1), dt.date(2026, 3, 31))
    trained = dt.date(2026, 4, 10)
    for n, (trained_on, active) in enumerate([(trained, True), (trained, True), (None, True),
                                              (dt.date(2026, 12, 1), True), (trained, False)]):
        _user(dbsession, org, f"inv{n}", contract_id=contract.id, trained_on=trained_on,
              is_active=active)
    # Outside the contract's window: not counted.
    _user(dbsession, org, "gone", contract_id=contract.id, trained_on=trained,
          valid_until=dt.datetime(2026, 10, 1))
    usb1, usb2, usb3 = (Medium(label=f"USB-0{n}") for n in (1, 2, 3))
    dbsession.add_all([usb1, usb2, usb3])
    dbsession.flush()
    at = dt.datetime(2026, 11, 1, 1)
    dbsession.add_all([
        MediumEvent(medium_id=usb1.id, kind="lent", at=at, contract_id=contract.id, recorded_by=clerk.id),
        MediumEvent(medium_id=usb1.id, kind="returned", at=at + dt.timedelta(days=5), recorded_by=clerk.id),
        MediumEvent(medium_id=usb2.id, kind="lent", at=at, contract_id=contract.id, recorded_by=clerk.id),
        # Lent after the inspection day (JST): not yet known on the day.
        MediumEvent(medium_id=usb3.id, kind="lent", at=dt.datetime(2026, 11, 20, 15, 30),
                    contract_id=contract.id, recorded_by=clerk.id),
        HandoverSlip(contract_id=contract.id, direction="to_contractor", handed_at=at, content="対象一覧",
                     record_count=10, handed_by=clerk.id, confirmed_by=clerk.id,
                     confirmed_at=at + dt.timedelta(hours=1)),
        HandoverSlip(contract_id=contract.id, direction="to_ward", handed_at=at, content="結果",
                     record_count=10, handed_by=clerk.id),
        # Confirmed only after the inspection day: unconfirmed as of then.
        HandoverSlip(contract_id=old.id, direction="to_ward", handed_at=at, content="返却",
                     record_count=3, handed_by=clerk.id, confirmed_by=clerk.id,
                     confirmed_at=dt.datetime(2026, 11, 21, 1)),
    ])
    dbsession.flush()
    return {"org": org, "contract": contract, "old": old, "clerk": clerk}


def _checklist(dbsession, world, contract=None, day=DAY):
    return cl.create(dbsession, organisation=world["org"], inspected_on=day, contract=contract,
                     user=world["clerk"], now=NOW)


def _facts(facts, code):
    return [(f.key, f.params) for f in facts[code]]


def test_evidence_for_the_whole_organisation(dbsession, survey_world):
    facts = cl.evidence(dbsession, _checklist(dbsession, survey_world))
    assert _facts(facts, "responsible_persons") == [
        ("checklist.evidence.persons", {"contract": "前年度", "manager": "責任 者", "handlers": 3}),
        ("checklist.evidence.persons", {"contract": "現地調査", "manager": "責任 者", "handlers": 3})]
    # Four active users valid that day, of whom two were trained by then.
    assert _facts(facts, "training") == [("checklist.evidence.training", {"trained": 2, "total": 4}),
                                         ("checklist.evidence.no_training_plan", {"year": 2026})]
    assert _facts(facts, "media_ledger") == [("checklist.evidence.media_lent", {"count": 2})]
    # USB-02 is still lent; USB-01 came back but was never wiped (issue 23).
    assert _facts(facts, "media_returned") == [
        ("checklist.evidence.media_out", {"count": 1, "labels": "USB-02"}),
        ("checklist.evidence.media_unwiped", {"count": 1, "labels": "USB-01"})]
    assert _facts(facts, "handover_slips") == [("checklist.evidence.slips", {"total": 3, "unconfirmed": 2})]
    # The previous year's contract ended without a recorded erasure.
    assert _facts(facts, "erasure_certified") == [("checklist.evidence.erasures", {"count": 0}),
                                                  ("checklist.evidence.erasure_missing", {"count": 1})]
    for code, items in facts.items():
        assert code in cl.ITEM_BY_CODE
        for fact in items:
            MESSAGES[fact.key][0].format(**fact.params)


def test_evidence_for_one_contract_and_its_erasure(dbsession, survey_world):
    old, clerk = survey_world["old"], survey_world["clerk"]
    dbsession.add(ErasureRecord(contract_id=old.id, erased_on=dt.date(2026, 4, 5), method="上書き",
                                witness_name="立会", items="全データ", certificate=b"%PDF",
                                certificate_type="application/pdf", recorded_by=clerk.id, recorded_at=NOW))
    dbsession.flush()
    facts = cl.evidence(dbsession, _checklist(dbsession, survey_world, contract=old))
    assert _facts(facts, "erasure_certified") == [("checklist.evidence.erasures", {"count": 1})]
    assert _facts(facts, "handover_slips") == [("checklist.evidence.slips", {"total": 1, "unconfirmed": 1})]
    assert _facts(facts, "training") == [("checklist.evidence.training", {"trained": 0, "total": 0}),
                                         ("checklist.evidence.no_training_plan", {"year": 2026})]
    assert _facts(facts, "media_returned") == [("checklist.evidence.media_all_back", {})]


def test_a_wipe_recorded_while_lent_leaves_the_medium_out(dbsession, survey_world):
    """Issue 23: a wipe recorded before revision 0030 while the medium was
    still lent (no return in between, no contract on the wipe) does not bring
    it back: the checklist lists it as not returned, never 「未返却の媒体は
    ありません」. Once returned and wiped it is cleared."""
    contract, clerk = survey_world["contract"], survey_world["clerk"]
    usb = dbsession.scalars(sa.select(Medium).where(Medium.label == "USB-02")).one()
    dbsession.add(MediumEvent(medium_id=usb.id, kind="wiped", at=dt.datetime(2026, 11, 3, 1),
                              recorded_by=clerk.id))
    dbsession.flush()
    checklist = _checklist(dbsession, survey_world, contract=contract)
    facts = cl.evidence(dbsession, checklist)
    assert ("checklist.evidence.media_out", {"count": 1, "labels": "USB-02"}) in _facts(facts, "media_returned")
    assert "checklist.evidence.media_all_back" not in [k for k, _ in _facts(facts, "media_returned")]
    usb1 = dbsession.scalars(sa.select(Medium).where(Medium.label == "USB-01")).one()
    for medium, kinds in ((usb, ("returned", "wiped")), (usb1, ("wiped",))):
        for n, kind in enumerate(kinds):
            dbsession.add(MediumEvent(medium_id=medium.id, kind=kind, contract_id=contract.id,
                                      at=dt.datetime(2026, 11, 10, 1 + n), recorded_by=clerk.id,
                                      witness="立会 者"))
    dbsession.flush()
    facts = cl.evidence(dbsession, checklist)
    assert _facts(facts, "media_returned") == [("checklist.evidence.media_all_back", {})]


def test_an_organisation_without_contracts_has_only_the_basic_facts(dbsession):
    org = _org(dbsession, "cc")
    ward = _org(dbsession, "ward")
    _user(dbsession, org, "op", Role.operator, trained_on=dt.date(2026, 1, 1))
    # Trained, but past its next-due date on the inspection day: not counted (seed 000, 特記事項10).
    _user(dbsession, org, "op2", Role.operator, trained_on=dt.date(2025, 1, 1), next_due=dt.date(2026, 1, 1))
    clerk = _user(dbsession, ward, "clerk", Role.collector)
    checklist = cl.create(dbsession, organisation=org, inspected_on=DAY, contract=None, user=clerk, now=NOW)
    facts = cl.evidence(dbsession, checklist)
    assert set(facts) == {"responsible_persons", "training", "incident_reports"}
    assert _facts(facts, "responsible_persons") == [("checklist.evidence.no_contract", {})]
    assert _facts(facts, "incident_reports") == [   # issue 25: none filed
        ("checklist.evidence.incidents", {"total": 0, "filed": 0, "acknowledged": 0, "closed": 0})]
    assert _facts(facts, "training") == [("checklist.evidence.training", {"trained": 1, "total": 2}),
                                         ("checklist.evidence.no_training_plan", {"year": 2026})]


def test_create_complete_and_the_rules_of_completion(dbsession, survey_world):
    checklist = _checklist(dbsession, survey_world)
    assert checklist.inspectors == "clerk" and all(row.result is None for row in checklist.items)
    with pytest.raises(cl.ChecklistError, match="duplicate"):
        _checklist(dbsession, survey_world)
    answers = cl.Answers(inspectors="clerk", results={row.code: CheckResult.met for row in checklist.items})
    answers.results["training"] = None
    assert cl.completion_problems(checklist, answers, DAY) == ["checklist.error.missing_results"]
    with pytest.raises(cl.ChecklistError, match="missing_results"):
        cl.complete(checklist, answers, survey_world["clerk"], NOW, DAY)
    assert checklist.completed_at is None and checklist.items[0].result is None  # nothing changed
    answers.results["training"] = CheckResult.not_applicable
    assert cl.completion_problems(checklist, answers, DAY - dt.timedelta(days=1)) == ["checklist.error.future"]
    cl.complete(checklist, answers, survey_world["clerk"], NOW, DAY)
    assert checklist.completed and checklist.completed_by == survey_world["clerk"].id
    with pytest.raises(cl.ChecklistError, match="completed"):
        cl.save(checklist, answers)


def test_export_returns_completed_checklists_in_range_as_plain_rows(dbsession, survey_world):
    clerk, org = survey_world["clerk"], survey_world["org"]
    done = []
    for day in (dt.date(2026, 4, 20), DAY, dt.date(2027, 4, 2)):
        checklist = _checklist(dbsession, survey_world, contract=survey_world["contract"], day=day)
        results = {row.code: CheckResult.met for row in checklist.items}
        results["training"] = CheckResult.not_met
        cl.complete(checklist, cl.Answers(inspectors="監査 一", place="事務所", results=results,
                                          notes={"training": "1名未受講"}), clerk, NOW, day)
        done.append(checklist)
    _checklist(dbsession, survey_world, day=dt.date(2026, 6, 1))  # a draft: never exported
    dbsession.flush()

    found = cl.checklists_for(dbsession, org.id, dt.date(2026, 4, 1), dt.date(2027, 3, 31))
    assert [c.id for c in found] == [done[0].id, done[1].id]
    assert cl.checklists_for(dbsession, org.id + 1000, dt.date(2026, 4, 1), dt.date(2027, 3, 31)) == []

    rows = cl.checklist_rows(found)
    assert len(rows) == 2 * len(done[0].items)
    assert all(list(row) == list(cl.ROW_HEADERS) for row in rows)
    training = next(r for r in rows if r["項目コード"] == "training" and r["実施日"] == "2026-11-20")
    assert training["結果"] == "不適合" and training["備考"] == "1名未受講"
    assert training["確認項目"] == MESSAGES["checklist.item.training"][0]
    assert training["根拠"] == "資料62 特記事項18、資料77 特記事項10"
    assert training["委託先"] == org.name and training["契約"] == "現地調査"
    assert training["完了者"] == "clerk" and training["完了日時"] == "2026-11-20 12:00"
    # The evidence kept at completion (issue 23), as the Japanese text shown then.
    kept = json.loads(next(r for r in done[1].items if r.code == "training").evidence_snapshot)
    assert training["完了時の根拠（システム記録）"] == " ／ ".join(
        MESSAGES[fact["key"]][0].format(**fact["params"]) for fact in kept)
    assert [fact["key"] for fact in kept] == ["checklist.evidence.training", "checklist.evidence.no_training_plan"]
    assert list(cl.ROW_HEADERS)[-1] == "完了時の根拠（システム記録）"
    assert all(isinstance(v, str) for row in rows for v in row.values())
