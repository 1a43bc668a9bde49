"""The navigation's permitted items are kept per process (issue 21): that is
exact only while every item's context is a fixed area whose ACL comes from
the matrix alone, never from the request, the database or the date."""
from pyramid.location import lineage

from intranet.navigation import NAV_ITEMS, nav_context
from intranet.resources import Area, Root


class NoRequest:
    """A request that refuses to be read: an ACL that reads it fails here."""

    def __getattr__(self, name):
        raise AssertionError(f"a navigation context's ACL reads request.{name}")


def test_navigation_contexts_are_fixed_areas_with_static_acls():
    first, second = Root(NoRequest()), Root(NoRequest())
    for item in NAV_ITEMS:
        for resource, other in zip(lineage(nav_context(first, item)), lineage(nav_context(second, item))):
            assert isinstance(resource, (Area, Root)), item
            acl = getattr(resource, "__acl__", None)
            if acl is None:
                continue
            acl = acl() if callable(acl) else acl
            other_acl = other.__acl__() if callable(other.__acl__) else other.__acl__
            assert list(acl) == list(other_acl), item
