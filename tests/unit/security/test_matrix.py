"""The permission matrix says what the foundation issue and the seeds require."""
from pyramid.authorization import DENY_ALL, Allow

from intranet.models import Role
from intranet.security import matrix
from intranet.security.matrix import ROLE_FACETS, Facet
from intranet.security.permissions import Permission


def test_collector_and_auditor_see_every_facet():
    assert ROLE_FACETS[Role.collector] == set(Facet)
    assert ROLE_FACETS[Role.auditor] == set(Facet)


def test_operator_facets_exclude_what_the_call_center_does_not_need():
    assert ROLE_FACETS[Role.operator] == {
        Facet.identity, Facet.verification, Facet.contact, Facet.assessment, Facet.payment,
        Facet.bank_flag, Facet.corporation, Facet.call_log}
    for hidden in (Facet.resident_record, Facet.foreign_resident, Facet.employment,
                   Facet.bank_account, Facet.representative, Facet.negotiation, Facet.staff):
        assert hidden not in ROLE_FACETS[Role.operator]


def test_contractor_sees_only_the_identity_facet():
    assert ROLE_FACETS[Role.contractor] == {Facet.identity}


def test_every_facet_has_a_permission_member_and_labels():
    for facet in Facet:
        assert Permission(f"case:{facet}:view") is facet.permission
        assert matrix.FACETS[facet].label_ja and matrix.FACETS[facet].label_en


def test_only_supervisors_manage_users():
    acl = matrix.global_acl()
    holders = {principal for _, principal, perms in acl if Permission.UsersManage in perms}
    assert holders == {"supervisor"}
    assert all(action == Allow for action, _, _ in acl)


def test_case_permissions_are_facets_plus_case_actions():
    perms = matrix.case_permissions(Role.operator)
    assert Permission.CaseView in perms
    assert Permission.CaseBankAccountView not in perms
    assert Permission.CaseBankFlagView in perms


def test_facets_for_principals_unions_roles():
    assert matrix.facets_for_principals({"role:contractor"}) == {Facet.identity}
    assert matrix.facets_for_principals({"user:1"}) == set()
    assert matrix.facets_for_principals({"role:operator", "role:auditor"}) == set(Facet)


def test_root_acl_ends_in_deny_all():
    from intranet.resources import Root

    assert Root(None).__acl__()[-1] == DENY_ALL
