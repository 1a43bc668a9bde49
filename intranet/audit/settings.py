"""The access log's settings, parsed and checked once at start-up."""
from __future__ import annotations

from dataclasses import dataclass

from pyramid.settings import asbool

#: The retention floor in years: the limitation period of local-tax
#: collection, and what the database triggers enforce (alembic 0018) whatever
#: the setting says. ``intranet.audit.retention_years`` may only be longer.
RETENTION_FLOOR_YEARS = 5

DEFAULT_WRITE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class AuditSettings:
    #: entries are kept this long before they may be archived (docs/audit.md)
    retention_years: int = RETENTION_FLOOR_YEARS
    #: longest wait of a log write for a lock (and longest statement), seconds
    write_timeout: float = DEFAULT_WRITE_TIMEOUT_SECONDS
    #: refuse to start when the database role could bypass the log's triggers
    require_restricted_role: bool = False


def audit_settings(settings) -> AuditSettings:
    """``intranet.audit.*``; an invalid value raises ``RuntimeError`` (the
    application does not start)."""
    def number(name, parse, default):
        value = settings.get(f"intranet.audit.{name}")
        if value is None or str(value).strip() == "":
            return default
        try:
            return parse(str(value).strip())
        except ValueError:
            raise RuntimeError(f"intranet.audit.{name} must be a number, not {value!r}") from None

    years = number("retention_years", int, RETENTION_FLOOR_YEARS)
    if years < RETENTION_FLOOR_YEARS:
        raise RuntimeError(
            f"intranet.audit.retention_years = {years} is below the floor of "
            f"{RETENTION_FLOOR_YEARS} years (the limitation period of local-tax collection, "
            f"enforced by the database triggers) / アクセスログの保存期間は"
            f"{RETENTION_FLOOR_YEARS}年未満にできません")
    timeout = number("write_timeout_seconds", float, DEFAULT_WRITE_TIMEOUT_SECONDS)
    if not 0 < timeout <= 600:
        raise RuntimeError(
            f"intranet.audit.write_timeout_seconds must be more than 0 and at most 600, not {timeout}")
    return AuditSettings(
        retention_years=years, write_timeout=timeout,
        require_restricted_role=asbool(settings.get("intranet.audit.require_restricted_role", False)))
