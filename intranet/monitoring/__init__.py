"""Monitoring (issue 24): ``/healthz`` and ``/metrics`` for the ward's
monitoring network, and the per-request metrics behind them.

Who may read them is the matrix's business (``matrix.ZONE_ACTIONS``: the
principal of a request from ``intranet.zones.monitoring``); neither says
anything about a person. See docs/operations.md, "Monitoring".
"""
from __future__ import annotations

#: The paths the monitoring network reads; its reads of them are not written
#: to the access log (intranet.audit.tweens), anyone else's are.
MONITORING_PATHS = frozenset({"/healthz", "/metrics"})


def includeme(config):
    # outermost but the security headers: the time includes the log's write
    config.add_tween("intranet.monitoring.metrics.request_metrics_tween_factory",
                     over="intranet.audit.tweens.access_log_tween_factory",
                     under="intranet.tweens.security_headers_tween_factory")
    config.scan(".views")
