"""Whole-lineage ACLs of the objects that carry cases: what Pyramid's
ACLHelper decides for each role on each kind, walking from the object to the
root, for objects in and out of the role's scope (issue 16). The tables here
are the specification; intranet.security.matrix.BOUND_GRANTS must agree."""
import datetime as dt
from types import SimpleNamespace

import pytest
from pyramid.authorization import ACLHelper, Authenticated, Everyone

from intranet.models import (
    BatchState, CallBlock, CallTarget, CampaignCase, CampaignStatus, Contract, Handover,
    HandoverStatus, IssuedDocument, LetterBatch, BatchStatus, PhoneCandidate,
    PhoneCandidateStatus, Role, SurveyBatch, SurveyTarget, SurveyTargetState, TargetStatus,
)
from intranet.resources import Root
from intranet.security import principals
from intranet.security.permissions import Permission as P
from tests import factories

TODAY = dt.date(2026, 11, 24)


def _target(dbsession, campaign, cases, key):
    target = CallTarget(campaign_id=campaign.id, group_key=key, status=TargetStatus.queued,
                        oldest_due_on=TODAY, balance_key=0, due_at=dt.datetime(2026, 11, 1))
    dbsession.add(target)
    dbsession.flush()
    for case in cases:
        dbsession.query(CampaignCase).filter_by(campaign_id=campaign.id, case_id=case.id).update(
            {"target_id": target.id})
    return target


@pytest.fixture
def world(dbsession, password_context):
    boss = factories.user(dbsession, password_context, Role.collector, login="boss")
    inv_a = factories.user(dbsession, password_context, Role.contractor, login="inv-a")
    inv_b = factories.user(dbsession, password_context, Role.contractor, login="inv-b")
    reached, blocked, outside = (factories.case(dbsession, name=n) for n in ("圏内", "停止", "圏外"))
    blocked.call_block = CallBlock.bankruptcy
    active = factories.campaign(dbsession, [reached, blocked])
    closed = factories.campaign(dbsession, [outside], status=CampaignStatus.closed)
    t_reached = _target(dbsession, active, [reached], "a")
    t_blocked = _target(dbsession, active, [blocked], "b")
    t_closed = _target(dbsession, closed, [outside], "c")
    handover = Handover(case_id=reached.id, reason="相談", created_by=boss.id,
                        created_at=dt.datetime(2026, 11, 2), status=HandoverStatus.open)
    candidate = PhoneCandidate(case_id=reached.id, number="0312345678", digits="0312345678",
                               source="s", status=PhoneCandidateStatus.pending,
                               registered_by=boss.id, registered_at=dt.datetime(2026, 11, 2))
    dbsession.add_all([handover, candidate])

    def letters(*cases):
        batch = LetterBatch(created_by=boss.id, created_at=dt.datetime(2026, 11, 2), deadline=TODAY,
                            letters=len(cases), status=BatchStatus.printed, pdf=b"")
        dbsession.add(batch)
        dbsession.flush()
        for n, case in enumerate(cases):
            dbsession.add(IssuedDocument(doc_no=f"L-{batch.id}-{n}", kind="letter", case_id=case.id,
                                         batch_id=batch.id, issued_at=dt.datetime(2026, 11, 2),
                                         issued_by=boss.id, deadline=TODAY, tax_total=1,
                                         late_charge_total=0, fee=0, installments="[]"))
        return batch

    mixed, whole = letters(reached, blocked), letters(reached)
    contract = Contract(organisation_id=inv_a.organisation_id, name="調査", purpose="p",
                        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31),
                        manager_name="m", handler_names="h", protections="",
                        training_required=False, created_by=boss.id, created_at=dt.datetime(2026, 11, 1))
    dbsession.add(contract)
    dbsession.flush()
    survey_batch = SurveyBatch(contract_id=contract.id, name="b", deadline=dt.date(2026, 12, 25),
                               state=BatchState.open, created_by=boss.id,
                               created_at=dt.datetime(2026, 11, 1))
    dbsession.add(survey_batch)
    dbsession.flush()
    s_target = SurveyTarget(batch_id=survey_batch.id, case_id=outside.id, area="大阪府",
                            investigator_id=inv_a.id, state=SurveyTargetState.pending)
    dbsession.add(s_target)
    dbsession.commit()
    return SimpleNamespace(
        inv_a=inv_a, inv_b=inv_b, t_reached=t_reached, t_blocked=t_blocked, t_closed=t_closed,
        handover=handover, candidate=candidate, mixed=mixed, whole=whole,
        survey_batch=survey_batch, s_target=s_target)


def _held(role: Role, user_id: int = 0) -> list[str]:
    return [Everyone, Authenticated, principals.role(role), principals.user(user_id)]


def _granted(dbsession, path: tuple[str, ...], held) -> set[P]:
    request = SimpleNamespace(dbsession=dbsession, today=TODAY)
    context = Root(request)
    for name in path:
        context = context[name]
    helper = ACLHelper()
    return {p for p in P if helper.permits(context, held, p)}


ROLES = (Role.collector, Role.auditor, Role.operator, Role.contractor)

#: (object, expected grants per role in ROLES order)
EXPECTED = [
    (("calls", "targets", "t_reached"),
     [{P.CallTargetView}, {P.CallTargetView}, {P.CallTargetView, P.CallTargetRecord}, set()]),
    (("calls", "targets", "t_blocked"),  # do-not-call: out of the operators' scope
     [{P.CallTargetView}, {P.CallTargetView}, set(), set()]),
    (("calls", "targets", "t_closed"),  # the campaign is closed
     [{P.CallTargetView}, {P.CallTargetView}, set(), set()]),
    (("calls", "handovers", "handover"),
     [{P.HandoversView, P.HandoversResolve}, {P.HandoversView}, set(), set()]),
    (("calls", "phones", "candidate"), [{P.PhoneCandidatesConfirm}, set(), set(), set()]),
    (("letters", "mixed"),  # one letter out of the operator's scope: read the rest, no print
     [{P.LettersView, P.LettersIssue, P.LettersSeal}, {P.LettersView}, {P.LettersView}, set()]),
    (("letters", "whole"),
     [{P.LettersView, P.LettersIssue, P.LettersSeal}, {P.LettersView},
      {P.LettersView, P.LettersIssue, P.LettersSeal}, set()]),
    (("survey", "batches", "survey_batch"),
     [{P.SurveyReview, P.SurveyManage}, {P.SurveyReview}, set(), set()]),
]


@pytest.mark.parametrize("path, expected", EXPECTED, ids=[e[0][-1] for e in EXPECTED])
def test_each_role_holds_on_each_object_what_its_scope_and_the_matrix_give(
        world, dbsession, path, expected):
    *containers, attribute = path
    obj_path = (*containers, str(getattr(world, attribute).id))
    granted = {role: _granted(dbsession, obj_path, _held(role, world.inv_a.id)) for role in ROLES}
    assert granted == dict(zip(ROLES, expected))


def test_a_survey_target_belongs_to_its_investigator_alone(world, dbsession):
    path = ("survey", "targets", str(world.s_target.id))
    assert _granted(dbsession, path, _held(Role.contractor, world.inv_a.id)) == {
        P.SurveyTargetView, P.SurveyReport}
    assert _granted(dbsession, path, _held(Role.contractor, world.inv_b.id)) == set()
    assert _granted(dbsession, path, _held(Role.collector)) == {P.SurveyTargetView}
    assert _granted(dbsession, path, _held(Role.operator)) == set()
    # the investigator's own grant ends with the contract period
    world.s_target.batch.contract.ends_on = dt.date(2026, 11, 23)
    dbsession.commit()
    assert _granted(dbsession, path, _held(Role.contractor, world.inv_a.id)) == set()


def test_missing_ids_grant_only_roles_that_see_every_object(dbsession):
    for path in (("calls", "targets", "424242"), ("letters", "424242"),
                 ("survey", "targets", "424242"), ("calls", "handovers", "424242")):
        assert _granted(dbsession, path, _held(Role.operator)) == set()
        assert _granted(dbsession, path, _held(Role.contractor, 1)) == set()
        assert _granted(dbsession, path, _held(Role.collector)), path
