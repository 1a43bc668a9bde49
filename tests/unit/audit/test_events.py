"""Every event name the package records is an AuditEvent member, never a bare string."""
import ast
import pathlib
import re
import types

import pytest

import intranet
from intranet.audit.events import AuditEvent
from intranet.audit.record import AccessRecord
from intranet.messages import MESSAGES
from intranet.models import AccessLogEntry

PACKAGE = pathlib.Path(intranet.__file__).parent
NAME = re.compile(r"[a-z_]+(\.[a-z_]+)*")
UNDOTTED = {AuditEvent.Logout}  # stored without a dot since the first log entry; kept readable


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE.parent), ast.parse(path.read_text("utf-8"), str(path))


def _is_text(node) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant)
                                               and isinstance(node.value, str))


def _is_event_column(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "event"


def _audit_event_names(node):
    """Every ``AuditEvent.<name>`` used inside ``node``."""
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
                and sub.value.id == "AuditEvent"):
            yield sub.attr


def test_the_scan_finds_the_emitters():
    calls = [node for _, tree in _sources() for node in ast.walk(tree)
             if isinstance(node, ast.Call) and _is_event_column(node.func)]
    assert len(calls) > 40  # the scan below looks at the real call sites


def test_no_event_name_is_typed_as_a_string():
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            where = f"{path}:{getattr(node, 'lineno', '?')}"
            # request.audit.event("login.failure", ...)
            if isinstance(node, ast.Call) and _is_event_column(node.func) and node.args:
                if _is_text(node.args[0]):
                    found.append(where)
            # fields.update(kind="event", event="audit.archived", ...)
            if isinstance(node, ast.Call):
                found += [where for kw in node.keywords if kw.arg == "event" and _is_text(kw.value)]
            # AccessLogEntry.event == "login.failure" (and !=, in_ lists)
            if isinstance(node, ast.Compare) and _is_event_column(node.left):
                found += [where for right in node.comparators if _is_text(right)]
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("in_", "not_in") and _is_event_column(node.func.value)):
                found += [where for arg in node.args for sub in ast.walk(arg) if _is_text(sub)]
    assert found == []


def test_every_member_used_exists():
    used = {name for _, tree in _sources() for name in _audit_event_names(tree)}
    assert used - set(AuditEvent.__members__) == set()
    # and every member is recorded somewhere (a member nobody emits is dead)
    assert set(AuditEvent.__members__) - used == set()


def test_values_are_unique_dotted_and_fit_the_column():
    values = [member.value for member in AuditEvent]
    assert len(AuditEvent.__members__) == len(values) == len(set(values))  # no aliases
    assert [v for v in values if not NAME.fullmatch(v)] == []
    assert [m for m in AuditEvent if "." not in m.value and m not in UNDOTTED] == []
    assert max(map(len, values)) <= AccessLogEntry.__table__.c.event.type.length


def test_every_member_has_a_label_in_the_log_viewer():
    assert [m for m in AuditEvent if f"audit.event.{m.value}" not in MESSAGES] == []


def _record():
    clock = types.SimpleNamespace(now=lambda: None)
    return AccessRecord(types.SimpleNamespace(registry=types.SimpleNamespace(clock=clock)))


def test_the_record_refuses_an_unknown_name():
    record = _record()
    with pytest.raises(ValueError):
        record.event("login.failed")
    assert record.events == []


def test_the_record_stores_the_plain_value():
    record = _record()
    record.event(AuditEvent.LoginFailure, "failure", reason="required")
    request = types.SimpleNamespace(client_addr="127.0.0.1", user_agent="t", method="POST",
                                    path="/login", GET={})
    (_, _), (event_row, _) = record.entries(request, 400, error=False)
    assert event_row["event"] == "login.failure" and type(event_row["event"]) is str
