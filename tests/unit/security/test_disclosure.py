"""The disclosure gate is the only way case data is recorded as shown, and
what it grants comes from the matrix (issue 16)."""
import pathlib
import re
from types import SimpleNamespace

import intranet
from intranet.models import Role
from intranet.security import principals
from intranet.security.disclosure import DisclosureGate
from intranet.security.matrix import Condition, Facet

PACKAGE = pathlib.Path(intranet.__file__).parent


def _gate(*held):
    return DisclosureGate(SimpleNamespace(principals={"system.Everyone", *held}))


def test_only_the_gate_records_disclosed_cases():
    """Views ask the gate; none records a disclosure (or checks a case) by hand."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "disclosure.py" and re.search(r"audit\.disclose\(", text):
            offenders.append(str(path.relative_to(PACKAGE)))
        if re.search(r"has_permission\([^)]*CaseResource\(", text):
            offenders.append(f"{path.relative_to(PACKAGE)}: per-case has_permission")
    assert offenders == []


def test_the_gate_grants_the_roles_facets_in_display_order():
    gate = _gate(principals.role(Role.operator), principals.user(7))
    assert gate.granted([Facet.call_log, Facet.bank_account, Facet.identity]) == (
        Facet.identity, Facet.call_log)
    assert gate.facet_condition(Facet.payment) == Condition.in_scope
    assert gate.facet_condition(Facet.negotiation) is None


def test_an_investigator_sees_the_survey_facet_only_as_their_own_report():
    gate = _gate(principals.role(Role.contractor), principals.user(7))
    assert gate.granted([Facet.identity, Facet.survey, Facet.contact]) == (
        Facet.identity, Facet.survey)
    assert gate.facet_condition(Facet.survey) == Condition.own_report
    assert gate.facets == {Facet.identity}


def test_no_role_no_facet():
    gate = _gate(principals.user(7))
    assert gate.granted(Facet) == () and not gate.reaches_every_case
    assert _gate(principals.role(Role.auditor)).reaches_every_case
