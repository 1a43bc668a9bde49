"""The access log's settings, parsed and checked once at start-up."""
from __future__ import annotations

from dataclasses import dataclass


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

