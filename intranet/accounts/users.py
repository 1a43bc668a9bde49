"""Accounts as supervisors run them from the UI (issue 19): reading and
checking the account form, the refusals, temporary passwords, and what the
access log records of a change.

Every check here returns message keys (``account.error.*`` and the policy's
``password.*``) and changes nothing; the views apply a change only when the
list is empty, so a refused request leaves the account as it was.

Validity window and contracts: the form takes dates (JST, both days
included). An account of a contractor-kind organisation that has contracts
must lie inside the period of one of them (not erased): the user's own
contract when it is linked to one (``User.contract_id``), else any contract
of its organisation, those in force now first. A blank start or end is filled
from that contract, so no such account outlives its contract. Organisations
without any contract (the ward, auditors, a call center not yet registered)
have no such bound.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from ..clock import JST_OFFSET, jst_date, jst_midnight
from ..models import Contract, Organisation, OrganisationKind, Role, User
from ..params import parse_date, text, whole_number
from ..security import matrix
from ..security.passwords import MAX_LENGTH, policy_problems

LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
DISPLAY_NAME_MAX = 100

#: Generated temporary passwords: no look-alike characters (0/O, 1/l/I).
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
GENERATED_GROUPS = 4
GENERATED_GROUP_LENGTH = 4


def generate_password() -> str:
    """A temporary password such as ``Ab3d-x9Kq-...``: 16 random characters
    (about 94 bits) in groups, meeting the policy."""
    while True:
        groups = ["".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_GROUP_LENGTH))
                  for _ in range(GENERATED_GROUPS)]
        password = "-".join(groups)
        if (any(c.isupper() for c in password) and any(c.islower() for c in password)
                and any(c.isdigit() for c in password) and not policy_problems(password)):
            return password


# ---------------------------------------------------------------- dates

def window_start(day: dt.date | None) -> dt.datetime | None:
    """The first day of a validity window (JST) as naive UTC: its midnight."""
    return None if day is None else jst_midnight(day)


def window_end(day: dt.date | None) -> dt.datetime | None:
    """The last day of a validity window (JST, included) as naive UTC: the
    midnight after it (``User.valid_until`` is exclusive)."""
    return None if day is None else jst_midnight(day + dt.timedelta(days=1))


def first_day(moment: dt.datetime | None) -> dt.date | None:
    return None if moment is None else jst_date(moment)


def last_day(moment: dt.datetime | None) -> dt.date | None:
    return None if moment is None else (moment + JST_OFFSET - dt.timedelta(microseconds=1)).date()


def valid_at(is_active: bool, valid_from, valid_until, now: dt.datetime) -> bool:
    """``User.is_valid_at`` for values not (yet) on a user."""
    return (is_active and (valid_from is None or valid_from <= now)
            and (valid_until is None or now < valid_until))


# ---------------------------------------------------------------- the form

#: The form's fields, as the page shows them again after a refusal.
FIELDS = ("login", "display_name", "role", "organisation", "is_supervisor", "is_team_leader",
          "valid_from", "valid_until", "password_mode", "password")


@dataclass
class Account:
    """What the form asks for (create: with a login id)."""

    display_name: str = ""
    role: Role | None = None
    organisation: Organisation | None = None
    is_supervisor: bool = False
    is_team_leader: bool = False
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    login: str | None = None
    errors: list[str] = field(default_factory=list)


def _add(errors: list[str], key: str) -> None:
    if key not in errors:
        errors.append(key)


def read_form(dbsession, post, *, with_login: bool) -> Account:
    """The account the form describes; malformed or unknown values are
    ``errors`` (message keys), never exceptions."""
    account = Account()
    errors = account.errors
    if with_login:
        login = text(post.get("login"), 64)
        if not login or not LOGIN.match(login):
            _add(errors, "account.error.login")
        else:
            account.login = login
    name = text(post.get("display_name"), DISPLAY_NAME_MAX)
    if not name:
        _add(errors, "account.error.display_name")
    else:
        account.display_name = name
    try:
        account.role = Role(post.get("role", ""))
    except ValueError:
        _add(errors, "account.error.role")
    org_id = whole_number(post.get("organisation", ""), 12)
    account.organisation = dbsession.get(Organisation, org_id) if org_id is not None else None
    if account.organisation is None:
        _add(errors, "account.error.organisation")
    account.is_supervisor = post.get("is_supervisor") == "1"
    account.is_team_leader = post.get("is_team_leader") == "1"
    days = {}
    for name in ("valid_from", "valid_until"):
        value = post.get(name, "")
        if value == "":
            days[name] = None
            continue
        try:
            days[name] = parse_date(value)
        except ValueError:
            days[name] = None
            _add(errors, "account.error.date")
    account.valid_from = window_start(days["valid_from"])
    account.valid_until = window_end(days["valid_until"])
    if account.role is not None:
        errors.extend(k for k in matrix.account_problems(account.role, account.is_supervisor,
                                                         account.is_team_leader) if k not in errors)
    if (account.valid_from is not None and account.valid_until is not None
            and account.valid_until <= account.valid_from):
        _add(errors, "account.error.window")
    return account


def login_taken(dbsession, login: str) -> bool:
    """Whether an account has this login id, compared as logins are (case-insensitive)."""
    return dbsession.scalar(select(func.count()).select_from(User)
                            .where(func.lower(User.login) == login.lower())) > 0


def fit_contract(dbsession, account: Account, user: User | None, now: dt.datetime) -> None:
    """Keep the validity window of a contractor-kind organisation's account
    inside a contract's period (see the module docstring): blank ends are
    filled from it; outside every contract is ``account.error.contract``."""
    org = account.organisation
    if org is None or org.kind != OrganisationKind.contractor:
        return
    contracts = []
    if user is not None and user.contract is not None and user.contract.organisation_id == org.id:
        contracts = [user.contract]
    else:
        contracts = list(dbsession.scalars(
            select(Contract).where(Contract.organisation_id == org.id, Contract.erased_at.is_(None))
            .order_by(Contract.starts_on, Contract.id)))
    if not contracts:
        return
    # Contracts in force now first, then future ones, then past ones.
    contracts.sort(key=lambda c: (0 if c.window()[0] <= now < c.window()[1]
                                  else 1 if now < c.window()[0] else 2))
    for contract in contracts:
        start, end = contract.window()
        valid_from = account.valid_from or start
        valid_until = account.valid_until or end
        if start <= valid_from < valid_until <= end:
            account.valid_from, account.valid_until = valid_from, valid_until
            return
    _add(account.errors, "account.error.contract")


def active_supervisors(dbsession, now: dt.datetime, excluding: int | None = None) -> int:
    """Accounts whose supervisor flag counts (matrix.SUPERVISOR_ROLES), active
    and inside their validity window now, besides ``excluding``."""
    query = select(func.count()).select_from(User).where(
        User.is_supervisor.is_(True), User.role.in_(sorted(matrix.SUPERVISOR_ROLES)),
        User.is_active.is_(True),
        or_(User.valid_from.is_(None), User.valid_from <= now),
        or_(User.valid_until.is_(None), User.valid_until > now))
    if excluding is not None:
        query = query.where(User.id != excluding)
    return dbsession.scalar(query)


def supervisor_refusals(dbsession, actor: User, user: User, *, role, is_supervisor, is_active,
                        valid_from, valid_until, now: dt.datetime) -> list[str]:
    """Refusals about supervisors when ``user`` would become as given: a
    supervisor does not demote or disable themselves, and the last active
    supervisor stays one (or nobody could administer users any more)."""
    errors = []
    counted_before = (user.is_supervisor and user.role in matrix.SUPERVISOR_ROLES
                      and user.is_valid_at(now))
    counted_after = (is_supervisor and role in matrix.SUPERVISOR_ROLES
                     and valid_at(is_active, valid_from, valid_until, now))
    if user.id == actor.id:
        if not (is_supervisor and role in matrix.SUPERVISOR_ROLES):
            errors.append("account.error.self_supervisor")
        if not valid_at(is_active, valid_from, valid_until, now):
            errors.append("account.error.self_disable")
    if counted_before and not counted_after and active_supervisors(dbsession, now, user.id) == 0:
        errors.append("account.error.last_supervisor")
    return errors


def temporary_password(post, login: str, current_hash: str | None, context) -> tuple[str | None, list[str]]:
    """The temporary password the form asks for: generated (``password_mode``
    ``generate``, the default) or typed by the supervisor, checked against the
    policy and, on a reset, against the current password."""
    if post.get("password_mode", "generate") != "typed":
        return generate_password(), []
    password = post.get("password", "")
    if not isinstance(password, str) or not password:
        return None, ["account.error.password_required"]
    if len(password) > MAX_LENGTH:
        return None, ["password.too_long"]
    problems = policy_problems(password, login)
    if not problems and current_hash and context.verify(password, current_hash):
        problems.append("password.error.same")
    return (None, problems) if problems else (password, [])


# ---------------------------------------------------------------- the log

def snapshot(user: User) -> dict:
    """What the log compares before and after a change: codes, flags, dates
    (JST days); never a password, a hash or the display name (personal data:
    the log says only that it changed)."""
    return {
        "role": str(user.role),
        "organisation": user.organisation.code if user.organisation is not None else None,
        "is_supervisor": bool(user.is_supervisor),
        "is_team_leader": bool(user.is_team_leader),
        "is_active": bool(user.is_active),
        "valid_from": _day(first_day(user.valid_from)),
        "valid_until": _day(last_day(user.valid_until)),
        "display_name": user.display_name,
    }


def _day(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def changes(before: dict, after: dict) -> dict:
    """``{field: [before, after]}`` of what differs; the display name only as ``"changed"``."""
    diff = {}
    for name, old in before.items():
        new = after.get(name)
        if old != new:
            diff[name] = "changed" if name == "display_name" else [old, new]
    return diff


def logged_state(user: User) -> dict:
    """A new account's values for the log (as :func:`snapshot`, without the name)."""
    state = snapshot(user)
    state.pop("display_name")
    return state
