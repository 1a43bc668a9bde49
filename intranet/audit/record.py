"""What one request did, collected while it runs (``request.audit``).

Views and security code tell the record what they disclosed or what happened:

* ``disclose(cases, facets)`` — a page showed these cases with these facets;
  only the disclosure gate calls it (``request.disclosure.show``, see
  :mod:`intranet.security.disclosure`), after keeping what scope and matrix allow,
* ``request.audit.event(AuditEvent.LoginFailure, user=..., reason=...)`` — a security
  event (login, logout, session end, lockout), stored as an entry of its own,
* ``request.audit.outcome = "denied"`` — error views say what really happened.

The tweens in :mod:`intranet.audit.tweens` fill in the rest and write it.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from ..security.principals import logged_roles
from .events import AuditEvent

#: Query parameters recorded with their values; others are recorded as ``name=*``.
SAFE_QUERY_PARAMS = frozenset({
    "page", "expired", "next", "lang",
    # the auditors' log search (no resident data: dates, staff, case numbers)
    "date_from", "date_to", "login", "role", "case_no", "outcome", "path", "kind",
    "organisation",  # activity and inspection exports: an organisation code
})

OUTCOME_BY_STATUS = {400: "bad_request", 401: "unauthenticated", 403: "denied", 404: "not_found"}


def clip(value, length: int):
    """``value`` as text of at most ``length`` characters; a NUL (which
    PostgreSQL cannot store, and a client may put in a path or a query) is
    written as ``\\x00``."""
    if value is None:
        return None
    value = str(value).replace("\x00", "\\x00")
    return value if len(value) <= length else value[: length - 1] + "…"


def safe_query(request) -> str | None:
    try:
        params = request.GET
    except UnicodeDecodeError:  # not UTF-8: the request is refused (400); say so
        return "(not UTF-8)"
    parts = []
    for name, value in params.items():
        name = clip(name, 40)
        parts.append(f"{name}={clip(value, 80)}" if name in SAFE_QUERY_PARAMS else f"{name}=*")
    return clip("&".join(parts), 512) if parts else None


@dataclass
class Event:
    name: AuditEvent
    outcome: str
    user: dict = field(default_factory=dict)  # user_id, login, roles, organisation
    session_id: int | None = None
    detail: dict = field(default_factory=dict)


def user_fields(user) -> dict:
    """The log's copy of who a user is (taken while the user is still loaded)."""
    if user is None:
        return {"user_id": None, "login": None, "roles": None, "organisation": None}
    return {
        "user_id": user.id, "login": user.login,
        # the roles the security policy grants, not the raw flags
        "roles": logged_roles(user.__principals__()),
        "organisation": user.organisation.code if user.organisation else None,
    }


class AccessRecord:
    def __init__(self, request):
        self.request_id = uuid.uuid4().hex
        self.started = time.perf_counter()
        self.occurred_at = request.registry.clock.now()
        self.view_name: str | None = None
        self.error_view: str | None = None
        self.permission: str | None = None
        self.outcome: str | None = None
        self.cases: list[tuple[int, str]] = []
        self.facets: list[str] = []
        self.events: list[Event] = []
        self.detail: dict = {}  # facts about the request itself (rows exported, ...)
        # identity, captured inside the request's transaction
        self.user = user_fields(None)
        self.session_id = None
        self.context_type = self.context_id = None

    # ---- called by views and security code

    def disclose(self, cases, facets) -> None:
        """Record that the response shows ``cases`` (Case objects) with ``facets``."""
        seen = {case_id for case_id, _ in self.cases}
        for case in cases:
            if case.id not in seen:
                self.cases.append((case.id, case.case_no))
                seen.add(case.id)
        for facet in facets:
            if str(facet) not in self.facets:
                self.facets.append(str(facet))

    def event(self, name: AuditEvent, outcome: str = "success", *, user=None, session_id=None,
              **detail) -> None:
        """A security event; ``user`` is the account it concerns (None: unknown).
        A name that is not an :class:`AuditEvent` raises ``ValueError`` here,
        in the view that typed it, not later in the log."""
        self.events.append(Event(AuditEvent(name), outcome, user_fields(user), session_id, detail))

    def note(self, **detail) -> None:
        """Facts about this request for its entry, e.g. ``rows=1200`` for an
        export (never personal data)."""
        self.detail.update(detail)

    # ---- called by the tweens

    def capture(self, request) -> None:
        """Who asked and about what (needs the request's open transaction)."""
        context = getattr(request, "context", None)
        if context is not None:
            self.context_type = type(context).__name__
            self.context_id = clip(getattr(context, "audit_id", None), 64)
        login_session = request.login_session
        if login_session is not None:
            self.session_id = login_session.id
            self.user = user_fields(login_session.user)

    def final_outcome(self, status: int) -> str:
        if self.outcome:
            return self.outcome
        if status >= 500:
            return "error"
        return OUTCOME_BY_STATUS.get(status, "allowed" if status < 400 else "bad_request")

    def witness_failure(self, request, reason: str) -> list[tuple[dict, list]]:
        """The event row saying a checkpoint witness failed (no personal data)."""
        event = Event(AuditEvent.CheckpointFailed, "failure", user_fields(None), None,
                      {"reason": reason})
        return [self._event_row(self._common(request), event,
                                clip(self.view_name or self.error_view, 128))]

    def _common(self, request) -> dict:
        return {
            "occurred_at": self.occurred_at,
            "request_id": self.request_id,
            "client_addr": clip(request.client_addr, 64),
            "user_agent": clip(request.user_agent, 255),
            "method": clip(request.method, 8),
            "path": clip(request.path, 512),
            "query": safe_query(request),
        }

    @staticmethod
    def _event_row(common: dict, event: Event, view_name) -> tuple[dict, list]:
        return ({
            **common, **event.user, "kind": "event", "event": event.name.value,
            "session_id": event.session_id,
            "view_name": view_name, "context_type": None, "context_id": None,
            "permission": None, "outcome": event.outcome, "status": None, "duration_us": None,
            "facets": None, "case_count": 0,
            "detail": clip(json.dumps(event.detail, ensure_ascii=False, sort_keys=True), 400)
            if event.detail else None,
        }, [])

    def entries(self, request, status: int | None, error: bool,
                download: bool = False) -> list[tuple[dict, list]]:
        """The rows to append: the request entry, then one per event.
        ``download``: the response was a file to save (an export)."""
        outcome = "error" if error else self.final_outcome(status)
        detail = {**self.detail, **({"download": True} if download else {})}
        common = self._common(request)
        request_entry = {
            **common, **self.user, "kind": "request", "event": None,
            "session_id": self.session_id,
            "view_name": clip(self.view_name or self.error_view, 128),
            "context_type": self.context_type, "context_id": self.context_id,
            "permission": clip(self.permission, 64), "outcome": outcome,
            "status": status, "duration_us": int((time.perf_counter() - self.started) * 1e6),
            "facets": clip(" ".join(self.facets), 400) or None,
            "case_count": len(self.cases),
            "detail": clip(json.dumps(detail, ensure_ascii=False, sort_keys=True), 400)
            if detail else None,
        }
        return [(request_entry, list(self.cases))] + [
            self._event_row(common, event, request_entry["view_name"]) for event in self.events]
