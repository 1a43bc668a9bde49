"""The application's settings, parsed and checked once at start-up (issue 21).

:func:`parse_settings` turns the ``intranet.*`` lines of the ini file into one
frozen :class:`AppSettings`, made of one small object per area. The
application stores it as ``registry.app_settings`` (``request.app_settings``);
code reads typed values from it instead of ``settings.get("intranet.…")``.

A malformed value stops the application at start with a :class:`SettingsError`
that names the setting (``intranet.session.idle_timeout = abc`` →
"intranet.session.idle_timeout must be a whole number …"). Every setting, its
type and default is listed in docs/operations.md ("Settings").

This is the only module that reads ``intranet.*`` settings. The types stay
with their areas (``AmountRules`` in intranet.taxes.owed, ``CvsSettings`` in
intranet.documents.barcode, …); their parsers live here, and the command line
uses the same ones (:func:`hmac_key`, :func:`audit_settings`, …) so a
subcommand refuses the ini the application would refuse. There is one copy:
views read ``request.app_settings.<area>``, never a registry attribute of
their own (``registry.amount_rules``, ``registry.session_limits`` … are gone).

The object is frozen: a test that needs other values builds them with
:func:`parse_settings` or ``dataclasses.replace`` and swaps
``registry.app_settings`` (``with_settings``/``swapped_settings`` in
tests/helpers.py).
"""
from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool

from .accounts.training import COURSE_MAX, OUTSOURCED_ROLES, TrainingSettings
from .audit.checkpoints import DEFAULT_ORIGIN, CheckpointSettings
from .audit.signed_note import NoteError, Signer, Verifier, format_checkpoint
from .audit.settings import DEFAULT_WRITE_TIMEOUT_SECONDS, RETENTION_FLOOR_YEARS, AuditSettings
from .calls.queue import QueueSettings
from .contracts.rules import ContractSettings, Enforce
from .cases.limitation import LimitationSettings
from .cases.plans import DEFAULT_GRACE_DAYS
from .documents.barcode import DEFAULT_LIMIT as CVS_DEFAULT_LIMIT
from .documents.barcode import MAX_AMOUNT as CVS_MAX_AMOUNT
from .documents.barcode import CvsSettings
from .documents.content import Office
from .models import Role
from .security.passwords import DEFAULTS as ARGON2_DEFAULTS
from .security.network import MONITORING_ZONE, ZONE_PREFIX, TrustedProxies, Zones, parse_networks
from .security.second_factor import DEFAULT_REQUIRED as DEFAULT_MFA_REQUIRED
from .security.second_factor import METHODS as MFA_METHODS
from .security.sessions import DEFAULT_MAX_PER_ROLE, parse_limits
from .security.throttle import ThrottleSettings
from .survey.selection import DEFAULT_NO_CONTACT_DAYS
from .taxes.owed import AmountRules, fee_schedule

#: The monitoring network (issue 24): not a role's zone.
MONITORING_SETTING = "intranet.zones.monitoring"

T = TypeVar("T")

ROLES = frozenset(str(role) for role in Role)


class SettingsError(ConfigurationError, ValueError):
    """A setting of the ini file is malformed; the message names it. (Also a
    ValueError: a malformed value, whichever area's parser found it.)"""


# ---- readers: each names the setting when the value is wrong


def _raw(settings: Mapping[str, Any], name: str) -> str | None:
    value = settings.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _int(settings, name: str, default: int, low: int | None = None, high: int | None = None) -> int:
    raw = _raw(settings, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (f"from {low} to {high}" if high is not None else f"at least {low}")
        raise SettingsError(f"{name} must be {bounds}, not {value}")
    return value


def _float(settings, name: str, default: float, low: float, high: float | None = None,
           *, above: bool = False) -> float:
    """A number; ``above``: strictly more than ``low``."""
    raw = _raw(settings, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if (value <= low if above else value < low) or (high is not None and value > high):
        lower = f"more than {low}" if above else f"at least {low}"
        raise SettingsError(f"{name} must be {lower}" + (f" and at most {high}" if high is not None else "")
                            + f", not {raw}")
    return value


def _bool(settings, name: str, default: bool) -> bool:
    raw = _raw(settings, name)
    if raw is None:
        return default
    if raw.lower() not in {"true", "yes", "on", "y", "t", "1", "false", "no", "off", "n", "f", "0"}:
        raise SettingsError(f"{name} must be true or false, not {raw!r}")
    return asbool(raw)


def _str(settings, name: str, default: str) -> str:
    value = settings.get(name)
    return default if value is None or not str(value).strip() else str(value).strip()


def _roles(settings, name: str, default: str) -> frozenset[str]:
    raw = settings.get(name)
    raw = default if raw is None else str(raw)
    roles = frozenset(raw.replace(",", " ").split())
    unknown = sorted(roles - ROLES)
    if unknown:
        raise SettingsError(f"{name}: unknown role {', '.join(unknown)} "
                            f"(roles: {', '.join(sorted(ROLES))})")
    return roles


def _area(name: str, parse: Callable[[], T]) -> T:
    """A value parser of another module (``parse_limits``, ``parse_networks``);
    its error becomes a SettingsError that names the setting."""
    try:
        return parse()
    except SettingsError:
        raise
    except (ValueError, RuntimeError, ConfigurationError) as exc:
        message = str(exc)
        raise SettingsError(message if "intranet." in message else f"{name}: {message}") from exc


def _per_role(settings, prefix: str) -> dict[str, str]:
    """``<prefix>.<role>`` settings; an unknown role is an error (a typo
    would otherwise be silently ignored)."""
    found = {}
    for key, value in settings.items():
        if key.startswith(prefix + "."):
            role = key[len(prefix) + 1:]
            if role not in ROLES:
                raise SettingsError(f"{key}: unknown role {role!r} (roles: {', '.join(sorted(ROLES))})")
            found[role] = str(value)
    return found


# ---- the areas


#: Idle timeouts that differ by role (minutes) when not set: investigators'
#: tablets lock sooner.
ROLE_IDLE_DEFAULTS = {"contractor": 5}


@dataclass(frozen=True)
class SessionSettings:
    """``intranet.session.*``."""

    idle_timeout: dt.timedelta = dt.timedelta(minutes=15)
    absolute_timeout: dt.timedelta = dt.timedelta(minutes=600)
    #: ``idle_timeout.<role>`` (minutes; default :data:`ROLE_IDLE_DEFAULTS`)
    idle_by_role: Mapping[str, dt.timedelta] = field(default_factory=lambda: {
        role: dt.timedelta(minutes=m) for role, m in ROLE_IDLE_DEFAULTS.items()})
    #: concurrent sessions of each limited role (``max_per_role``)
    max_per_role: Mapping[str, int] = field(default_factory=lambda: {"operator": 1, "contractor": 1})
    #: cookies only over HTTPS, and HSTS
    secure_cookie: bool = False

    def timeouts(self, role: str | None = None) -> tuple[dt.timedelta, dt.timedelta]:
        """(idle, absolute). A role's idle timeout can only shorten the global
        one: the global setting is the ward's limit for everyone."""
        idle = self.idle_timeout
        if role is not None and role in self.idle_by_role:
            idle = min(idle, self.idle_by_role[role])
        return idle, self.absolute_timeout


def _session(settings) -> SessionSettings:
    idle = _int(settings, "intranet.session.idle_timeout", 15, 1, 24 * 60)
    by_role = {role: dt.timedelta(minutes=m) for role, m in ROLE_IDLE_DEFAULTS.items()}
    for role in _per_role(settings, "intranet.session.idle_timeout"):
        by_role[role] = dt.timedelta(minutes=_int(
            settings, f"intranet.session.idle_timeout.{role}", 0, 1, 24 * 60))
    raw_limits = settings.get("intranet.session.max_per_role")
    limits = _area("intranet.session.max_per_role", lambda: parse_limits(
        DEFAULT_MAX_PER_ROLE if raw_limits is None else str(raw_limits)))
    return SessionSettings(
        idle_timeout=dt.timedelta(minutes=idle),
        absolute_timeout=dt.timedelta(minutes=_int(
            settings, "intranet.session.absolute_timeout", 600, 1, 7 * 24 * 60)),
        idle_by_role=MappingProxyType(by_role), max_per_role=MappingProxyType(limits),
        secure_cookie=_bool(settings, "intranet.session.secure_cookie", False))


@dataclass(frozen=True)
class LoginSettings:
    """``intranet.login.*``: the account lockout; the per-address throttle
    (``address_max_failures``, ``address_window_minutes``) is ``throttle``."""

    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    throttle: ThrottleSettings = ThrottleSettings(20, dt.timedelta(minutes=15))


def _whole(settings, name: str, default: int, minimum: int) -> int:
    value = settings.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum:
        raise SettingsError(f"{name} must be a whole number of at least {minimum} (is {value!r})")
    return number


def throttle_settings(settings) -> ThrottleSettings:
    """``intranet.login.address_max_failures`` (0: off) and ``address_window_minutes``."""
    return ThrottleSettings(
        max_failures=_whole(settings, "intranet.login.address_max_failures", 20, 0),
        window=dt.timedelta(minutes=_whole(settings, "intranet.login.address_window_minutes", 15, 1)))


def _login(settings) -> LoginSettings:
    return LoginSettings(
        max_failures=_int(settings, "intranet.login.max_failures", 5, 1, 100),
        lockout=dt.timedelta(minutes=_int(settings, "intranet.login.lockout_minutes", 15, 1, 24 * 60)),
        throttle=throttle_settings(settings))


@dataclass(frozen=True)
class MfaSettings:
    """``intranet.mfa.required_roles`` and ``intranet.mfa.methods.<role>``."""

    required_roles: frozenset[str] = frozenset(DEFAULT_MFA_REQUIRED.split())
    #: the methods each role may use (every role present)
    methods: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def allowed_methods(self, role: str) -> tuple[str, ...]:
        if role in self.methods:
            return self.methods[role]
        return ("webauthn",) if role in self.required_roles else MFA_METHODS


def _mfa(settings) -> MfaSettings:
    required = _roles(settings, "intranet.mfa.required_roles", DEFAULT_MFA_REQUIRED)
    methods = {}
    for role, raw in _per_role(settings, "intranet.mfa.methods").items():
        names = tuple(raw.split())
        unknown = [m for m in names if m not in MFA_METHODS]
        if unknown:
            raise SettingsError(f"intranet.mfa.methods.{role}: unknown method {', '.join(unknown)} "
                                f"(methods: {', '.join(MFA_METHODS)})")
        methods[role] = names
    return MfaSettings(required, MappingProxyType(methods))


@dataclass(frozen=True)
class WebAuthnSettings:
    """``intranet.webauthn.rp_id`` and ``origin`` (default ``http://<rp_id>:6543``)."""

    rp_id: str = "localhost"
    origin: str = "http://localhost:6543"


def _webauthn(settings) -> WebAuthnSettings:
    rp_id = _str(settings, "intranet.webauthn.rp_id", "localhost")
    origin = _str(settings, "intranet.webauthn.origin", f"http://{rp_id}:6543")
    if not origin.startswith(("https://", "http://")):
        raise SettingsError(f"intranet.webauthn.origin must be an http(s) URL, not {origin!r}")
    return WebAuthnSettings(rp_id, origin)


@dataclass(frozen=True)
class AuditArea:
    """``intranet.audit.*``: the chain key, the log's own settings and the checkpoints."""

    hmac_key: bytes
    log: AuditSettings
    checkpoints: CheckpointSettings


MIN_KEY_LENGTH = 32


def hmac_key(settings) -> bytes:
    """``intranet.audit.hmac_key`` (``env:NAME`` reads the environment); the
    command line reads it too (``intranet audit …``)."""
    value = str(settings.get("intranet.audit.hmac_key") or "")
    if value.startswith("env:"):
        value = os.environ.get(value[4:], "")
    if len(value) < MIN_KEY_LENGTH:
        raise SettingsError(
            f"intranet.audit.hmac_key must be set to at least {MIN_KEY_LENGTH} characters "
            "(the access log's chain key; keep it outside the database)")
    return value.encode("utf-8")


def audit_settings(settings) -> AuditSettings:
    """``intranet.audit.retention_years``, ``write_timeout_seconds``, ``require_restricted_role``."""
    years = _int(settings, "intranet.audit.retention_years", RETENTION_FLOOR_YEARS)
    if years < RETENTION_FLOOR_YEARS:
        raise SettingsError(
            f"intranet.audit.retention_years = {years} is below the floor of "
            f"{RETENTION_FLOOR_YEARS} years (the limitation period of local-tax collection, "
            f"enforced by the database triggers) / アクセスログの保存期間は"
            f"{RETENTION_FLOOR_YEARS}年未満にできません")
    return AuditSettings(
        retention_years=years,
        write_timeout=_float(settings, "intranet.audit.write_timeout_seconds",
                             DEFAULT_WRITE_TIMEOUT_SECONDS, 0, 600, above=True),
        require_restricted_role=_bool(settings, "intranet.audit.require_restricted_role", False))


def checkpoint_settings(settings) -> CheckpointSettings:
    """``intranet.audit.checkpoint_minutes``, ``checkpoint_entries``,
    ``checkpoint_retry_seconds`` (all positive), ``checkpoint_file``,
    ``signing_key`` and ``log_origin``."""
    origin = _str(settings, "intranet.audit.log_origin", DEFAULT_ORIGIN)
    try:
        format_checkpoint(origin, 0, bytes(32))
    except NoteError:
        raise SettingsError(f"intranet.audit.log_origin: not a checkpoint origin: {origin!r}") from None
    return CheckpointSettings(
        interval=dt.timedelta(minutes=_float(settings, "intranet.audit.checkpoint_minutes", 1, 0, above=True)),
        every_entries=_int(settings, "intranet.audit.checkpoint_entries", 1000, 1),
        path=_raw(settings, "intranet.audit.checkpoint_file"),
        retry=dt.timedelta(seconds=_float(settings, "intranet.audit.checkpoint_retry_seconds", 30, 0,
                                          above=True)),
        signer=signing_key(settings), origin=origin, retired=retired_public_keys(settings))


def retired_public_keys(settings) -> tuple[Verifier, ...]:
    """``intranet.audit.retired_public_keys``: the public keys
    (``NAME+HASH+KEY``, whitespace-separated) of signing keys no longer in
    use, whose checkpoints an inspection package may still start from."""
    words = str(settings.get("intranet.audit.retired_public_keys") or "").split()
    try:
        return tuple(Verifier.from_key_string(word) for word in words)
    except NoteError as exc:
        raise SettingsError(f"intranet.audit.retired_public_keys: {exc}") from None


def signing_key(settings) -> Signer | None:
    """``intranet.audit.signing_key``: the Ed25519 key that signs the
    checkpoints, as ``PRIVATE+KEY+name+hash+key`` (``intranet audit keygen``
    makes one); ``env:NAME`` reads it from the environment, ``file:PATH``
    from a file. Unset or empty: checkpoints are not signed (``/healthz``
    says so). A key source that yields nothing (an ``env:`` variable not set,
    an empty file) refuses the start, as a missing ``hmac_key`` does: a
    production host whose environment file lost the key must not go on
    writing unsigned checkpoints unnoticed."""
    value = str(settings.get("intranet.audit.signing_key") or "").strip()
    if not value:
        return None
    if value.startswith("env:"):
        name = value[4:]
        value = os.environ.get(name, "").strip()
        if not value:
            raise SettingsError(
                f"intranet.audit.signing_key: the environment variable {name} is empty or not set "
                f"(leave the setting empty to run without signed checkpoints) / "
                f"署名鍵の環境変数 {name} が設定されていません")
    elif value.startswith("file:"):
        value_path = value[5:]
        try:
            with open(value_path, encoding="ascii") as f:
                value = f.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"intranet.audit.signing_key: cannot read {value_path}: "
                                f"{type(exc).__name__}") from None
        if not value:
            raise SettingsError(f"intranet.audit.signing_key: {value_path} is empty / 署名鍵のファイルが空です")
    try:
        return Signer.from_key_string(value)
    except NoteError as exc:  # (the message never holds the key)
        raise SettingsError(f"intranet.audit.signing_key: {exc}") from None


def _audit(settings) -> AuditArea:
    return AuditArea(hmac_key=hmac_key(settings), log=audit_settings(settings),
                     checkpoints=checkpoint_settings(settings))


@dataclass(frozen=True)
class CallSettings:
    """``intranet.calls.*``: what the operator's script says, and the queue's leases."""

    ward_name: str = "新宿区役所 税務課 納税係"
    callback_number: str = "03-0000-0000"
    queue: QueueSettings = QueueSettings()


def _calls(settings) -> CallSettings:
    lease = _int(settings, "intranet.calls.lease_minutes", 5, 1, 24 * 60)
    grace = _int(settings, "intranet.calls.callback_grace_minutes", 30, 0, 24 * 60)
    return CallSettings(
        ward_name=_str(settings, "intranet.calls.ward_name", CallSettings.ward_name),
        callback_number=_str(settings, "intranet.calls.callback_number", CallSettings.callback_number),
        queue=QueueSettings(dt.timedelta(minutes=lease), dt.timedelta(minutes=grace)))


@dataclass(frozen=True)
class CaseSettings:
    """Plans, statuses, limitation and what is owed (``intranet.plans.*``,
    ``intranet.statuses.*``, ``intranet.limitation.*``, ``intranet.late_charge.*``
    and the amount rules of ``intranet.documents.*``)."""

    plan_grace_days: int
    status_approval: bool
    limitation: LimitationSettings
    amount_rules: AmountRules

    @property
    def floor_segments(self) -> bool:
        """``intranet.late_charge.floor_segments``."""
        return self.amount_rules.floor_segments


def amount_rules(settings) -> AmountRules:
    """``intranet.late_charge.floor_segments`` (default true),
    ``intranet.documents.dunning_fee`` (``YYYY-MM-DD:yen`` lines; none: no fee)
    and ``intranet.documents.letter_after_dunning_days`` (default 10)."""
    raw_fee = settings.get("intranet.documents.dunning_fee")
    try:
        fee_on = fee_schedule(raw_fee)
    except ValueError as exc:
        raise SettingsError(f"intranet.documents.dunning_fee: {exc}") from None
    return AmountRules(_bool(settings, "intranet.late_charge.floor_segments", True), fee_on,
                       _int(settings, "intranet.documents.letter_after_dunning_days", 10, 0))


def limitation_settings(settings) -> LimitationSettings:
    """``intranet.limitation.warn_months`` (1..120, default 6) and
    ``intranet.limitation.shift_due_dates`` (default false)."""
    return LimitationSettings(_int(settings, "intranet.limitation.warn_months", 6, 1, 120),
                              _bool(settings, "intranet.limitation.shift_due_dates", False))


def _cases(settings) -> CaseSettings:
    return CaseSettings(
        plan_grace_days=_int(settings, "intranet.plans.grace_days", DEFAULT_GRACE_DAYS, 0, 90),
        status_approval=_bool(settings, "intranet.statuses.require_approval", False),
        limitation=limitation_settings(settings), amount_rules=amount_rules(settings))


@dataclass(frozen=True)
class DocumentSettings:
    """``intranet.documents.*``: the sender printed on letters and the CVS slips."""

    office: Office
    cvs: CvsSettings


def cvs_settings(settings) -> CvsSettings:
    """``intranet.documents.cvs_company_code`` (6 digits, or empty: no
    barcode), ``cvs_limit`` (yen) and ``cvs_module_mm`` (the bar width)."""
    code = (settings.get("intranet.documents.cvs_company_code") or "").strip()
    if code and not re.fullmatch(r"[0-9]{6}", code):
        raise SettingsError(
            "intranet.documents.cvs_company_code must be the 6 digits of the ward's 収納企業コード "
            f"(GS1 company code without its leading 4), or empty for no barcode (is {code!r})")
    try:
        limit = _int(settings, "intranet.documents.cvs_limit", CVS_DEFAULT_LIMIT, 1, CVS_MAX_AMOUNT)
    except SettingsError:
        raise SettingsError("intranet.documents.cvs_limit must be a whole number of yen from 1 "
                            f"to {CVS_MAX_AMOUNT:,} (the barcode has six digits; is "
                            f"{settings.get('intranet.documents.cvs_limit')!r})") from None
    try:
        module = _float(settings, "intranet.documents.cvs_module_mm", CvsSettings.module_mm, 0.15, 0.4)
    except SettingsError:
        raise SettingsError("intranet.documents.cvs_module_mm must be between 0.15 and 0.4 "
                            f"(is {settings.get('intranet.documents.cvs_module_mm')!r})") from None
    return CvsSettings(code, limit, module)


def office(settings) -> Office:
    """The sender printed on letters and slips (``intranet.documents.office_*``,
    ``payment_places``)."""
    return Office(
        _str(settings, "intranet.documents.office_name", "新宿区役所 税務課 納税係"),
        _str(settings, "intranet.documents.office_address", "〒160-8484 東京都新宿区歌舞伎町1-4-1"),
        _str(settings, "intranet.documents.office_phone", "03-0000-0000"),
        _str(settings, "intranet.documents.office_hours", "平日 8時30分〜17時"),
        _str(settings, "intranet.documents.payment_places",
             "区役所税務課窓口・特別出張所、金融機関（ゆうちょ銀行を含む）、コンビニエンスストア"))


def _documents(settings) -> DocumentSettings:
    return DocumentSettings(office=office(settings), cvs=cvs_settings(settings))


@dataclass(frozen=True)
class SurveySettings:
    """``intranet.survey.*``."""

    no_contact_days: int = 60
    photo_dir: str = ""


def _survey(settings) -> SurveySettings:
    return SurveySettings(
        no_contact_days=_int(settings, "intranet.survey.no_contact_days", DEFAULT_NO_CONTACT_DAYS, 1, 3650),
        photo_dir=_str(settings, "intranet.survey.photo_dir",
                       os.path.join(os.getcwd(), "var", "survey-photos")))


@dataclass(frozen=True)
class NetworkSettings:
    """``intranet.trusted_proxies`` and ``intranet.zones.<role>``."""

    trusted_proxies: TrustedProxies
    zones: Zones


def zones_from_settings(settings) -> Zones:
    """``intranet.zones.<role>``: the networks a role may work from (a role
    not named is unrestricted); ``intranet.zones.monitoring``: the monitoring
    network (unset: none)."""
    by_role = {}
    monitoring = ()
    for key, value in settings.items():
        if not key.startswith(ZONE_PREFIX):
            continue
        name = key[len(ZONE_PREFIX):]
        if key == MONITORING_SETTING:
            monitoring = _area(key, lambda: parse_networks(key, value))
            continue
        try:
            role = Role(name)
        except ValueError:
            raise SettingsError(
                f"{key}: {name!r} is not a role (roles: {', '.join(r.value for r in Role)}; "
                f"or {ZONE_PREFIX}{MONITORING_ZONE})"
            ) from None
        networks = _area(key, lambda: parse_networks(key, value))
        if not networks:
            raise SettingsError(
                f"{key} is empty: list the role's networks, or remove the setting to leave "
                f"the role unrestricted")
        by_role[role] = networks
    return Zones(by_role, monitoring)


def _network(settings) -> NetworkSettings:
    return NetworkSettings(
        trusted_proxies=TrustedProxies(_area("intranet.trusted_proxies", lambda: parse_networks(
            "intranet.trusted_proxies", settings.get("intranet.trusted_proxies")))),
        zones=zones_from_settings(settings))


def argon2_params(settings) -> Mapping[str, int]:
    """``intranet.argon2.*`` (the command line hashes passwords without the application)."""
    return MappingProxyType({key: _int(settings, f"intranet.argon2.{key}", default, 1)
                             for key, default in ARGON2_DEFAULTS.items()})


@dataclass(frozen=True)
class AppSettings:
    """Every ``intranet.*`` setting, typed (see the module docstring)."""

    session: SessionSettings
    login: LoginSettings
    mfa: MfaSettings
    webauthn: WebAuthnSettings
    argon2: Mapping[str, int]
    network: NetworkSettings
    audit: AuditArea
    training: TrainingSettings
    cases: CaseSettings
    calls: CallSettings
    documents: DocumentSettings
    survey: SurveySettings
    contracts: ContractSettings
    #: ``intranet.screening.terms_file`` (None: the built-in list)
    screening_terms_file: str | None = None


def training_settings(settings) -> TrainingSettings:
    """``intranet.training.required_roles`` (operator and/or contractor),
    ``valid_months`` (1..120), ``due_soon_days`` (0..366), ``courses`` (one a line)."""
    roles = _roles(settings, "intranet.training.required_roles", "operator contractor")
    outside = sorted(roles - {str(r) for r in OUTSOURCED_ROLES})
    if outside:
        raise SettingsError("intranet.training.required_roles: only operator and contractor "
                            f"(outsourced work) may require training, not {outside}")
    courses = tuple(line.strip() for line in str(settings.get("intranet.training.courses") or "").splitlines()
                    if line.strip())
    if any(len(course) > COURSE_MAX for course in courses):
        raise SettingsError(f"intranet.training.courses: at most {COURSE_MAX} characters each")
    return TrainingSettings(
        frozenset(Role(name) for name in roles),
        _int(settings, "intranet.training.valid_months", 12, 1, 120),
        _int(settings, "intranet.training.due_soon_days", 30, 0, 366), courses)


def _contracts(settings) -> ContractSettings:
    """``intranet.contracts.enforce``: ``organisation`` (an outsourced user
    must be under a contract once their organisation has one of that kind)
    or ``always`` (every outsourced user must be)."""
    raw = _str(settings, "intranet.contracts.enforce", Enforce.organisation.value)
    try:
        return ContractSettings(Enforce(raw))
    except ValueError:
        raise SettingsError("intranet.contracts.enforce must be 'organisation' or 'always', "
                            f"not {raw!r}") from None


#: Settings named ``<prefix><role or zone>`` (read by iterating, not by name).
FAMILIES = ("intranet.session.idle_timeout.", "intranet.mfa.methods.", ZONE_PREFIX)


class _ReadNames(dict):
    """The settings, remembering every name read with ``get``."""

    def __init__(self, settings: Mapping[str, Any]):
        super().__init__(settings)
        self.read: set[str] = set()

    def get(self, name, default=None):
        self.read.add(name)
        return super().get(name, default)


def _unknown(settings: _ReadNames) -> None:
    """A misspelt ``intranet.*`` name would otherwise be ignored and its
    default used in silence (``intranet.sesion.idle_timeout``): refuse it,
    with the nearest known name."""
    import difflib

    for name in sorted(settings):
        if not name.startswith("intranet.") or name in settings.read or name.startswith(FAMILIES):
            continue
        near = difflib.get_close_matches(name, sorted(settings.read), n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise SettingsError(f"{name}: unknown setting{hint}; the settings are listed in "
                            "docs/operations.md")


def parse_settings(settings: Mapping[str, Any]) -> AppSettings:
    """The typed settings; raises :class:`SettingsError` naming a bad
    setting, or an ``intranet.*`` name the application does not know."""
    settings = _ReadNames(settings)
    parsed = AppSettings(
        session=_session(settings), login=_login(settings), mfa=_mfa(settings),
        webauthn=_webauthn(settings), argon2=argon2_params(settings), network=_network(settings),
        audit=_audit(settings),
        training=training_settings(settings),
        cases=_cases(settings), calls=_calls(settings), documents=_documents(settings),
        survey=_survey(settings), contracts=_contracts(settings),
        screening_terms_file=_raw(settings, "intranet.screening.terms_file"))
    _unknown(settings)
    return parsed


def app_settings(request) -> AppSettings:
    """``request.app_settings``."""
    return request.registry.app_settings


def includeme(config):
    # First of all: nothing else starts with a malformed setting.
    config.registry.app_settings = parse_settings(config.get_settings())
    config.add_request_method(app_settings, "app_settings", property=True, reify=True)
