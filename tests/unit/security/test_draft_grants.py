"""Campaign drafts (issue 25): who may see, draft and review is the matrix's
``DRAFT_GRANTS``; a draft's ACL and the lists' reach follow from it alone."""
from pyramid.authorization import ACLHelper

from intranet.security import matrix, principals
from intranet.security.permissions import Permission as P
from intranet.models import Role

EVERYONE = ["system.Everyone", "system.Authenticated"]


def _permits(acl, held, permission) -> bool:
    class Context:
        __acl__ = acl
    return bool(ACLHelper().permits(Context(), [*EVERYONE, *held], permission))


LEADER_7 = [principals.role(Role.operator), principals.TEAM_LEADER, principals.team_leader_of(7)]
LEADER_8 = [principals.role(Role.operator), principals.TEAM_LEADER, principals.team_leader_of(8)]
OPERATOR = [principals.role(Role.operator)]
SUPERVISOR = [principals.role(Role.collector), principals.SUPERVISOR]
COLLECTOR = [principals.role(Role.collector)]
AUDITOR = [principals.role(Role.auditor)]


def test_a_draft_is_its_organisation_s_leaders_to_write_and_the_supervisors_to_review():
    acl = matrix.draft_acl(7)
    assert _permits(acl, LEADER_7, P.CampaignDraftsWrite) and _permits(acl, LEADER_7, P.CampaignDraftsView)
    assert not _permits(acl, LEADER_7, P.CampaignDraftsReview)
    for held in (LEADER_8, OPERATOR, COLLECTOR):
        assert not any(_permits(acl, held, p) for p in (P.CampaignDraftsView, P.CampaignDraftsWrite,
                                                         P.CampaignDraftsReview)), held
    assert _permits(acl, SUPERVISOR, P.CampaignDraftsReview) and not _permits(acl, SUPERVISOR,
                                                                              P.CampaignDraftsWrite)
    assert _permits(acl, AUDITOR, P.CampaignDraftsView)
    assert not _permits(acl, AUDITOR, P.CampaignDraftsReview) and not _permits(acl, AUDITOR, P.CampaignDraftsWrite)


def test_a_missing_draft_is_known_only_to_who_sees_every_organisation_s():
    acl = matrix.draft_acl(every_draft_only=True)
    assert _permits(acl, SUPERVISOR, P.CampaignDraftsView) and _permits(acl, AUDITOR, P.CampaignDraftsView)
    assert not _permits(acl, LEADER_7, P.CampaignDraftsView)


def test_the_container_lets_any_leader_draft_for_its_own_organisation():
    acl = matrix.draft_acl()
    assert _permits(acl, LEADER_8, P.CampaignDraftsWrite)
    assert not _permits(acl, OPERATOR, P.CampaignDraftsView) and not _permits(acl, COLLECTOR, P.CampaignDraftsView)


def test_the_lists_reach_follows_the_same_grants():
    assert matrix.draft_reach(LEADER_7) == frozenset({7})
    assert matrix.draft_reach(SUPERVISOR) is None and matrix.draft_reach(AUDITOR) is None
    assert matrix.draft_reach(OPERATOR) == frozenset() and matrix.draft_reach(COLLECTOR) == frozenset()
