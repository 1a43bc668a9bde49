"""intranet.audit.* settings: parsed once at start-up; a retention period
below the 5-year floor, or a role check without PostgreSQL, stops the start."""
import pytest

import intranet
from intranet.audit.settings import AuditSettings
from intranet.config import SettingsError, audit_settings
from tests.conftest import TEST_SETTINGS


def test_defaults():
    assert audit_settings({}) == AuditSettings(retention_years=5, write_timeout=5.0,
                                               require_restricted_role=False)


def test_values_are_parsed():
    parsed = audit_settings({"intranet.audit.retention_years": "7",
                             "intranet.audit.write_timeout_seconds": "1.5",
                             "intranet.audit.require_restricted_role": "true"})
    assert parsed == AuditSettings(retention_years=7, write_timeout=1.5, require_restricted_role=True)


@pytest.mark.parametrize("name, value, message", [
    ("retention_years", "4", "below the floor of 5 years"),
    ("retention_years", "0", "below the floor of 5 years"),
    ("retention_years", "five", "must be a whole number"),
    ("write_timeout_seconds", "0", "more than 0"),
    ("write_timeout_seconds", "-1", "more than 0"),
    ("write_timeout_seconds", "soon", "must be a number"),
])
def test_invalid_values_are_refused(name, value, message):
    with pytest.raises(SettingsError, match=message):
        audit_settings({f"intranet.audit.{name}": value})


def test_the_application_does_not_start_below_the_retention_floor(tmp_path):
    settings = {**TEST_SETTINGS, "sqlalchemy.url": f"sqlite:///{tmp_path}/x.sqlite",
                "intranet.audit.retention_years": "3"}
    with pytest.raises(SettingsError, match="retention_years = 3 is below the floor") as refused:
        intranet.main({}, **settings)
    assert "5年未満にできません" in str(refused.value)


def test_a_role_check_on_sqlite_does_not_start(tmp_path):
    settings = {**TEST_SETTINGS, "sqlalchemy.url": f"sqlite:///{tmp_path}/x.sqlite",
                "intranet.audit.require_restricted_role": "true"}
    with pytest.raises(RuntimeError, match="needs PostgreSQL"):
        intranet.main({}, **settings)
