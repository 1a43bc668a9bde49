"""Shared helpers of the call-center views."""
from pyramid.httpexceptions import HTTPSeeOther

from ...security.matrix import Facet
from .. import queue

#: What the call screen shows of each case (each still subject to the user's facets).
CALL_SCREEN_FACETS = (Facet.identity, Facet.verification, Facet.contact, Facet.payment,
                      Facet.bank_flag, Facet.call_log)


def queue_settings(request) -> queue.QueueSettings:
    return request.app_settings.calls.queue


def redirect(request, resource, *elements, **query):
    return HTTPSeeOther(request.resource_path(resource, *elements, query=query or None))
