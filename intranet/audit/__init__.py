"""The access log: every request and security event, fail-closed, append-only,
and chained with a keyed HMAC (see docs/audit.md)."""
from __future__ import annotations

import datetime as dt

from pyramid.tweens import EXCVIEW, INGRESS

from .checkpoints import Checkpointer
from .record import AccessRecord
from .writer import AccessLogWriter

MIN_KEY_LENGTH = 32


def hmac_key(settings) -> bytes:
    """``intranet.audit.hmac_key`` (``env:NAME`` reads the environment)."""
    import os

    value = settings.get("intranet.audit.hmac_key", "")
    if value.startswith("env:"):
        value = os.environ.get(value[4:], "")
    if len(value) < MIN_KEY_LENGTH:
        raise RuntimeError(
            f"intranet.audit.hmac_key must be set to at least {MIN_KEY_LENGTH} characters "
            "(the access log's chain key; keep it outside the database)")
    return value.encode("utf-8")


def includeme(config):
    settings = config.get_settings()
    engine = config.registry["db_engine"]
    config.registry.access_log = AccessLogWriter(engine, hmac_key(settings))
    config.registry.access_checkpointer = Checkpointer(
        engine,
        interval=dt.timedelta(minutes=int(settings.get("intranet.audit.checkpoint_minutes", 15))),
        path=settings.get("intranet.audit.checkpoint_file") or None, key=hmac_key(settings))
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
