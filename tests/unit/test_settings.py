"""The typed settings (intranet.config, issue 21): every ``intranet.*`` setting
parsed once at start-up, defaults as before, and a bad value stops the start
with a message naming the setting."""
import dataclasses
import datetime as dt
import pathlib
import re

import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.paster import get_appsettings

import intranet
from intranet import config
from intranet.config import SettingsError, parse_settings
from intranet.models import Role

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEY = {"intranet.audit.hmac_key": "k" * 32}


def test_defaults_are_the_ones_the_code_had():
    s = parse_settings(KEY)
    assert s.session.timeouts() == (dt.timedelta(minutes=15), dt.timedelta(minutes=600))
    assert s.session.timeouts("contractor")[0] == dt.timedelta(minutes=5)  # tablets lock sooner
    assert s.session.timeouts("collector")[0] == dt.timedelta(minutes=15)
    assert s.session.max_per_role == {"operator": 1, "contractor": 1}
    assert s.session.secure_cookie is False
    assert (s.login.max_failures, s.login.lockout) == (5, dt.timedelta(minutes=15))
    assert (s.login.throttle.max_failures, s.login.throttle.window) == (20, dt.timedelta(minutes=15))
    assert s.mfa.required_roles == {"operator", "contractor"}
    assert s.mfa.allowed_methods("operator") == ("webauthn",)
    assert s.mfa.allowed_methods("collector") == ("webauthn", "totp")
    assert (s.webauthn.rp_id, s.webauthn.origin) == ("localhost", "http://localhost:6543")
    assert s.argon2 == {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}
    assert s.network.trusted_proxies.client_addr({"REMOTE_ADDR": "10.0.0.5",
                                                  "HTTP_X_FORWARDED_FOR": "1.2.3.4"}) == "10.0.0.5"
    assert s.network.zones.describe(Role.operator) == ""
    assert not s.network.zones.monitors("127.0.0.1")  # no monitoring network unless named
    assert s.audit.hmac_key == b"k" * 32
    assert (s.audit.log.retention_years, s.audit.log.write_timeout,
            s.audit.log.require_restricted_role) == (5, 5.0, False)
    assert (s.audit.checkpoints.interval, s.audit.checkpoints.every_entries,
            s.audit.checkpoints.path, s.audit.checkpoints.retry) == (
        dt.timedelta(minutes=1), 1000, None, dt.timedelta(seconds=30))
    assert (s.training.required_roles, s.training.valid_months, s.training.due_soon_days,
            s.training.courses) == ({Role.operator, Role.contractor}, 12, 30, ())
    assert (s.cases.plan_grace_days, s.cases.status_approval, s.cases.floor_segments) == (10, False, True)
    assert (s.cases.limitation.warn_months, s.cases.limitation.shift_due_dates) == (6, False)
    assert s.cases.amount_rules.letter_after_dunning_days == 10
    assert s.cases.amount_rules.fee_on(dt.date(2026, 4, 1)) == 0
    assert s.documents.office.name == "新宿区役所 税務課 納税係"
    assert (s.documents.cvs.company_code, s.documents.cvs.limit, s.documents.cvs.module_mm) == (
        "", 300_000, 0.191)
    assert (s.calls.ward_name, s.calls.callback_number) == ("新宿区役所 税務課 納税係", "03-0000-0000")
    assert (s.calls.queue.lease, s.calls.queue.callback_grace) == (
        dt.timedelta(minutes=5), dt.timedelta(minutes=30))
    assert s.survey.no_contact_days == 60
    assert s.survey.photo_dir.endswith("survey-photos")
    assert s.screening_terms_file is None


#: One value for every setting, none of them the default.
EVERY = {
    **KEY,
    "intranet.session.idle_timeout": "20",
    "intranet.session.idle_timeout.auditor": "7",
    "intranet.session.absolute_timeout": "480",
    "intranet.session.max_per_role": "operator:2",
    "intranet.session.secure_cookie": "true",
    "intranet.login.max_failures": "3",
    "intranet.login.lockout_minutes": "30",
    "intranet.login.address_max_failures": "0",
    "intranet.login.address_window_minutes": "5",
    "intranet.mfa.required_roles": "operator",
    "intranet.mfa.methods.collector": "totp",
    "intranet.webauthn.rp_id": "intranet.example",
    "intranet.webauthn.origin": "https://intranet.example",
    "intranet.argon2.time_cost": "3",
    "intranet.argon2.memory_cost": "65536",
    "intranet.argon2.parallelism": "2",
    "intranet.trusted_proxies": "10.0.0.5",
    "intranet.zones.operator": "10.20.0.0/24",
    "intranet.zones.monitoring": "10.0.9.5 ::1",
    "intranet.audit.retention_years": "7",
    "intranet.audit.write_timeout_seconds": "2.5",
    "intranet.audit.require_restricted_role": "yes",
    "intranet.audit.checkpoint_minutes": "5",
    "intranet.audit.checkpoint_entries": "50",
    "intranet.audit.checkpoint_retry_seconds": "10",
    "intranet.audit.checkpoint_file": "/var/log/cp.jsonl",
    "intranet.audit.signing_key": "PRIVATE+KEY+intranet-test+1272cb19+AcfE8Umq9zFtN7MAkn6FYUdxZvfqM0h4iAleunyxoU3+",
    "intranet.audit.log_origin": "intranet.example-ku.lg.jp/access-log",
    "intranet.audit.retired_public_keys": "intranet-test+1272cb19+ASD0gThrnV4xPnR8IO/xW64fAc2DYGr0g8alICrTcmFj",
    "intranet.training.required_roles": "contractor",
    "intranet.training.valid_months": "24",
    "intranet.training.due_soon_days": "14",
    "intranet.training.courses": "個人情報保護研修\n情報セキュリティ研修",
    "intranet.plans.grace_days": "5",
    "intranet.statuses.require_approval": "true",
    "intranet.limitation.warn_months": "3",
    "intranet.limitation.shift_due_dates": "true",
    "intranet.late_charge.floor_segments": "false",
    "intranet.documents.dunning_fee": "2026-04-01:100",
    "intranet.documents.letter_after_dunning_days": "7",
    "intranet.documents.office_name": "区役所",
    "intranet.documents.office_address": "住所",
    "intranet.documents.office_phone": "03-1111-1111",
    "intranet.documents.office_hours": "平日",
    "intranet.documents.payment_places": "窓口",
    "intranet.documents.cvs_company_code": "912345",
    "intranet.documents.cvs_limit": "250000",
    "intranet.documents.cvs_module_mm": "0.25",
    "intranet.calls.ward_name": "区",
    "intranet.calls.callback_number": "03-2222-2222",
    "intranet.calls.lease_minutes": "8",
    "intranet.calls.callback_grace_minutes": "0",
    "intranet.survey.no_contact_days": "90",
    "intranet.survey.photo_dir": "/srv/photos",
    "intranet.screening.terms_file": "/etc/intranet/terms.txt",
    "intranet.contracts.enforce": "always",
}


def test_every_setting_is_parsed():
    s = parse_settings(EVERY)
    assert s.session.timeouts() == (dt.timedelta(minutes=20), dt.timedelta(minutes=480))
    assert s.session.timeouts("auditor")[0] == dt.timedelta(minutes=7)
    assert s.session.max_per_role == {"operator": 2} and s.session.secure_cookie
    assert (s.login.max_failures, s.login.lockout) == (3, dt.timedelta(minutes=30))
    assert (s.login.throttle.max_failures, s.login.throttle.window) == (0, dt.timedelta(minutes=5))
    assert s.mfa.required_roles == {"operator"} and s.mfa.allowed_methods("collector") == ("totp",)
    assert (s.webauthn.rp_id, s.webauthn.origin) == ("intranet.example", "https://intranet.example")
    assert s.argon2 == {"time_cost": 3, "memory_cost": 65536, "parallelism": 2}
    assert s.network.trusted_proxies.client_addr({"REMOTE_ADDR": "10.0.0.5",
                                                  "HTTP_X_FORWARDED_FOR": "10.20.0.7"}) == "10.20.0.7"
    assert s.network.zones.describe(Role.operator) == "10.20.0.0/24"
    assert s.network.zones.monitors("10.0.9.5") and s.network.zones.monitors("::1")
    assert not s.network.zones.monitors("10.0.9.6") and not s.network.zones.monitors(None)
    assert (s.audit.log.retention_years, s.audit.log.write_timeout,
            s.audit.log.require_restricted_role) == (7, 2.5, True)
    assert (s.audit.checkpoints.interval, s.audit.checkpoints.every_entries,
            s.audit.checkpoints.path, s.audit.checkpoints.retry) == (
        dt.timedelta(minutes=5), 50, "/var/log/cp.jsonl", dt.timedelta(seconds=10))
    assert s.audit.checkpoints.signer.key_id == "intranet-test+1272cb19"
    assert s.audit.checkpoints.origin == "intranet.example-ku.lg.jp/access-log"
    assert [v.key_id for v in s.audit.checkpoints.retired] == ["intranet-test+1272cb19"]
    assert (s.training.required_roles, s.training.valid_months, s.training.due_soon_days,
            s.training.courses) == ({Role.contractor}, 24, 14, ("個人情報保護研修", "情報セキュリティ研修"))
    assert (s.cases.plan_grace_days, s.cases.status_approval, s.cases.floor_segments) == (5, True, False)
    assert (s.cases.limitation.warn_months, s.cases.limitation.shift_due_dates) == (3, True)
    assert s.cases.amount_rules.letter_after_dunning_days == 7
    assert s.cases.amount_rules.fee_on(dt.date(2026, 4, 1)) == 100
    assert dataclasses.astuple(s.documents.office) == ("区役所", "住所", "03-1111-1111", "平日", "窓口")
    assert (s.documents.cvs.company_code, s.documents.cvs.limit, s.documents.cvs.module_mm) == (
        "912345", 250_000, 0.25)
    assert (s.calls.ward_name, s.calls.callback_number) == ("区", "03-2222-2222")
    assert (s.calls.queue.lease, s.calls.queue.callback_grace) == (dt.timedelta(minutes=8), dt.timedelta(0))
    assert (s.survey.no_contact_days, s.survey.photo_dir) == (90, "/srv/photos")
    assert s.screening_terms_file == "/etc/intranet/terms.txt"


def _read_by_config() -> set[str]:
    """The names intranet.config reads (per-role names by their prefix)."""
    source = (ROOT / "intranet" / "config.py").read_text(encoding="utf-8")
    return (set(re.findall(r'"(intranet\.[a-z0-9_.]*[a-z0-9_])"', source))
            | {f"intranet.argon2.{key}" for key in config.ARGON2_DEFAULTS} | {"intranet.zones"})


def test_every_setting_read_is_in_the_documented_table_and_back():
    docs = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    table = docs[docs.index("## Settings"):]
    documented = {name.removesuffix(".<role>")
                  for name in re.findall(r"^\| `(intranet\.[^`]+)` \|", table, re.M)}
    assert _read_by_config() - documented == set()
    assert documented - _read_by_config() == set()


def test_the_every_setting_test_sets_every_setting():
    per_role = {"intranet.session.idle_timeout.auditor": "intranet.session.idle_timeout",
                "intranet.mfa.methods.collector": "intranet.mfa.methods",
                "intranet.zones.operator": "intranet.zones"}
    assert _read_by_config() - {per_role.get(name, name) for name in EVERY} == set()


@pytest.mark.parametrize(("name", "value"), [
    ("intranet.session.idle_timeout", "abc"),
    ("intranet.session.idle_timeout", "-5"),
    ("intranet.session.idle_timeout", "0"),
    ("intranet.session.idle_timeout.operater", "5"),       # no such role
    ("intranet.session.idle_timeout.contractor", "soon"),
    ("intranet.session.absolute_timeout", "1.5"),
    ("intranet.session.max_per_role", "admin:1"),           # no such role
    ("intranet.session.secure_cookie", "maybe"),
    ("intranet.login.max_failures", "0"),
    ("intranet.login.lockout_minutes", "x"),
    ("intranet.login.address_max_failures", "-1"),
    ("intranet.login.address_window_minutes", "0"),
    ("intranet.mfa.required_roles", "operator supervisor"),  # a flag, not a role
    ("intranet.mfa.methods.operator", "sms"),
    ("intranet.mfa.methods.admin", "totp"),
    ("intranet.webauthn.origin", "intranet.example"),
    ("intranet.argon2.memory_cost", "lots"),
    ("intranet.trusted_proxies", "proxy.example"),
    ("intranet.zones.operater", "10.0.0.0/8"),
    ("intranet.zones.monitoring", "prometheus.example"),
    ("intranet.audit.hmac_key", "short"),
    ("intranet.audit.retention_years", "4"),
    ("intranet.audit.write_timeout_seconds", "0"),
    ("intranet.audit.require_restricted_role", "sometimes"),
    ("intranet.contracts.enforce", "sometimes"),
    ("intranet.audit.checkpoint_minutes", "0"),
    ("intranet.audit.checkpoint_entries", "many"),
    ("intranet.audit.checkpoint_retry_seconds", "-1"),
    ("intranet.audit.signing_key", "PRIVATE+KEY+intranet-test+1272cb19+AAAA"),
    ("intranet.audit.signing_key", "file:/nonexistent/signing.key"),
    # a key source that yields nothing refuses the start (issue 24): unset = unsigned
    ("intranet.audit.signing_key", "env:INTRANET_TEST_SIGNING_KEY_NEVER_SET"),
    ("intranet.audit.log_origin", "two\tparts"),
    ("intranet.audit.retired_public_keys", "not-a-key"),
    ("intranet.training.required_roles", "collector"),     # ward staff: not outsourced
    ("intranet.training.required_roles", "operater"),
    ("intranet.training.valid_months", "0"),
    ("intranet.training.due_soon_days", "400"),
    ("intranet.training.courses", "x" * 101),
    ("intranet.plans.grace_days", "91"),
    ("intranet.statuses.require_approval", "2"),
    ("intranet.limitation.warn_months", "0"),
    ("intranet.limitation.shift_due_dates", "perhaps"),
    ("intranet.late_charge.floor_segments", "floor"),
    ("intranet.documents.dunning_fee", "100"),
    ("intranet.documents.letter_after_dunning_days", "-1"),
    ("intranet.documents.cvs_company_code", "91234"),
    ("intranet.documents.cvs_limit", "1000000"),
    ("intranet.documents.cvs_module_mm", "1"),
    ("intranet.calls.lease_minutes", "0"),
    ("intranet.calls.callback_grace_minutes", "half an hour"),
    ("intranet.survey.no_contact_days", "4000"),
])
def test_a_bad_value_is_refused_naming_the_setting(name, value):
    with pytest.raises(SettingsError, match=re.escape(name)) as refused:
        parse_settings({**KEY, name: value})
    assert isinstance(refused.value, ConfigurationError) and isinstance(refused.value, ValueError)


def test_a_bad_value_stops_the_application_before_anything_starts(tmp_path):
    settings = {**KEY, "sqlalchemy.url": f"sqlite:///{tmp_path}/never.sqlite",
                "intranet.session.idle_timeout": "abc"}
    with pytest.raises(SettingsError, match=r"^intranet\.session\.idle_timeout must be a whole number, not 'abc'"):
        intranet.main({}, **settings)
    assert not (tmp_path / "never.sqlite").exists()  # refused before the database was opened


def test_a_misspelt_setting_stops_the_application_naming_the_nearest_one(tmp_path):
    """A typo would otherwise leave the default in force in silence (e.g. a
    20-minute idle timeout meant, 15 in force)."""
    with pytest.raises(SettingsError, match=re.escape(
            "intranet.sesion.idle_timeout: unknown setting (did you mean intranet.session.idle_timeout?)")):
        parse_settings({**KEY, "intranet.sesion.idle_timeout": "20"})
    with pytest.raises(SettingsError, match=r"^intranet\.nonsense: unknown setting"):
        parse_settings({**KEY, "intranet.nonsense": "1"})
    settings = {**KEY, "sqlalchemy.url": f"sqlite:///{tmp_path}/never.sqlite", "intranet.mfa.requried": "operator"}
    with pytest.raises(SettingsError, match=r"intranet\.mfa\.requried: unknown setting \(did you mean"):
        intranet.main({}, **settings)
    assert not (tmp_path / "never.sqlite").exists()
    # per-role and per-zone families, and other packages' settings, pass
    parse_settings({**KEY, "intranet.session.idle_timeout.auditor": "7", "pyramid.reload_templates": "false",
                    "sqlalchemy.pool_size": "5"})


def test_the_signing_key_comes_from_the_environment_or_a_file_and_never_shows_in_errors(
        tmp_path, monkeypatch):
    """Issue 22: ``env:NAME`` and ``file:PATH`` as for the HMAC key; unset:
    checkpoints are not signed; a wrong key stops the start without printing it."""
    from intranet.audit.signed_note import Signer

    secret = Signer.generate("ward-2027").key_string()
    monkeypatch.setenv("SIGNING", secret)
    assert parse_settings({**KEY, "intranet.audit.signing_key": "env:SIGNING"}).audit.checkpoints.signer.name == \
        "ward-2027"
    (tmp_path / "key").write_text(secret + "\n")
    parsed = parse_settings({**KEY, "intranet.audit.signing_key": f"file:{tmp_path / 'key'}"})
    assert parsed.audit.checkpoints.signer.key_string() == secret
    assert parse_settings(KEY).audit.checkpoints.signer is None
    assert parse_settings({**KEY, "intranet.audit.signing_key": ""}).audit.checkpoints.signer is None
    # named but empty: a lost key is a refusal to start, not unsigned checkpoints (issue 24)
    monkeypatch.setenv("SIGNING", "")
    with pytest.raises(SettingsError, match="SIGNING is empty or not set"):
        parse_settings({**KEY, "intranet.audit.signing_key": "env:SIGNING"})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SettingsError, match="is empty"):
        parse_settings({**KEY, "intranet.audit.signing_key": f"file:{tmp_path / 'empty'}"})
    broken = secret[:-6] + "AAAAAA"
    with pytest.raises(SettingsError, match="intranet.audit.signing_key") as refused:
        parse_settings({**KEY, "intranet.audit.signing_key": broken})
    # PRIVATE+KEY+name+hash+<base64 key>: the base64 may hold "+" itself
    assert secret.split("+", 4)[4][:20] not in str(refused.value)


def test_the_ini_files_shipped_parse(monkeypatch):
    from intranet.audit.signed_note import Signer

    monkeypatch.setenv("INTRANET_AUDIT_KEY", "p" * 40)
    monkeypatch.setenv("INTRANET_AUDIT_SIGNING_KEY", Signer.generate("ward").key_string())
    development = parse_settings(get_appsettings(str(ROOT / "development.ini")))
    production = parse_settings(get_appsettings(str(ROOT / "production.ini")))
    assert not development.session.secure_cookie and production.session.secure_cookie
    assert production.audit.hmac_key == b"p" * 40  # env:INTRANET_AUDIT_KEY
    assert production.mfa.required_roles == {"operator", "contractor"}


def test_the_object_is_frozen_and_tests_replace_it():
    from tests.helpers import with_settings

    s = parse_settings(KEY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.session.idle_timeout = dt.timedelta(minutes=1)
    changed = with_settings(s, "webauthn", origin="http://localhost:1234")
    assert changed.webauthn.origin == "http://localhost:1234" and s.webauthn.origin == "http://localhost:6543"
    assert changed.session is s.session
