"""The access log: every request and security event, fail-closed, append-only,
and chained with a keyed HMAC (see docs/audit.md)."""
from __future__ import annotations

from pyramid.tweens import EXCVIEW, INGRESS

from .checkpoints import Checkpointer
from .dbrole import check_restricted_role
from .record import AccessRecord
from .writer import AccessLogWriter


def includeme(config):
    audit = config.registry.app_settings.audit  # parsed in intranet.config
    engine = config.registry["db_engine"]
    key = audit.hmac_key
    parsed = audit.log
    if parsed.require_restricted_role:
        check_restricted_role(engine)
    config.registry.access_log = AccessLogWriter(engine, key, timeout=parsed.write_timeout)
    config.registry.access_checkpointer = Checkpointer(
        engine, key, audit.checkpoints, lock_timeout=parsed.write_timeout)
    config.add_request_method(AccessRecord, "audit", reify=True)
    config.add_tween("intranet.audit.tweens.access_log_tween_factory",
                     over="pyramid_tm.tm_tween_factory",
                     under="intranet.tweens.security_headers_tween_factory")
    config.add_tween("intranet.audit.tweens.access_capture_tween_factory",
                     under="pyramid_tm.tm_tween_factory", over=EXCVIEW)
    config.add_view_deriver("intranet.audit.derivers.audit_view", under=INGRESS,
                            over="secured_view")
    config.scan(".views")
    config.scan(".checklist_views")
