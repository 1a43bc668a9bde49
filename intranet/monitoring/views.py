"""``/healthz`` and ``/metrics``: for the monitoring network only
(``Permission.HealthView`` / ``MetricsView``, held by the principal of
``intranet.zones.monitoring``), no personal data, never cached."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from pyramid.response import Response
from pyramid.view import view_config

from ..resources import Root
from ..security.permissions import Permission
from . import health
from .metrics import exposition


@view_config(context=Root, name="healthz", renderer="json", permission=Permission.HealthView,
             request_method=("GET", "HEAD"))
def healthz(request):
    """200 and ``{"status": "ok", ...}``, or 503 and ``"degraded"`` with the
    parts that are not: database, access_log (writer and witness), worker."""
    report = health.report(request.registry, request.now)
    if report["status"] != health.OK:
        request.response.status = 503
    request.response.cache_control = "no-store"
    return report


@view_config(context=Root, name="metrics", permission=Permission.MetricsView, request_method="GET")
def metrics(request):
    """Prometheus text format."""
    return Response(body=exposition(request.registry, request.now),
                    headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})
