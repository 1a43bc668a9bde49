"""The ``intranet`` command: ``intranet <subcommand> <ini> [options]``."""
from __future__ import annotations

import argparse
import getpass
import sys
import time

import transaction
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import func, select

from ..clock import SystemClock
from ..config import argon2_params
from ..db import MIGRATIONS, get_engine
from ..models import Organisation, OrganisationKind, Role, User
from ..security.passwords import make_context, policy_problems
from . import audit, backup, datalink, latecharge, plans
from .common import ini_settings, tm_session


def initdb(args) -> int:
    """Create or upgrade the schema: ``alembic upgrade head``."""
    settings = ini_settings(args.ini)
    cfg = AlembicConfig(args.ini)
    cfg.set_main_option("script_location", MIGRATIONS)  # (the package's own, whatever the ini says)
    cfg.attributes["settings"] = settings
    cfg.attributes["configure_logging"] = False
    alembic_command.upgrade(cfg, "head")
    _catch_up_tree(settings)
    return 0


def _catch_up_tree(settings) -> None:
    """Bring the access log's Merkle tree up to the log's head (issue 22),
    here rather than in the first request after an upgrade that added it
    (about 40 s per million entries, once)."""
    from ..audit import tree
    from ..config import SettingsError, hmac_key

    try:
        key = hmac_key(settings)
    except SettingsError:
        return  # (no log key: nothing can have been logged with it)
    engine = get_engine(settings)
    try:
        with engine.begin() as conn:
            before = tree.head(conn).size
            after = tree.extend(conn, key).size
    except tree.TreeError as exc:
        print(f"the access log's Merkle tree was not brought up to date: {exc}; run "
              "`intranet audit verify` / アクセスログの木を更新できませんでした", file=sys.stderr)
        return
    finally:
        engine.dispose()
    if after > before:
        print(f"access log: Merkle tree extended by {after - before} entries to {after} / "
              "アクセスログの木を更新しました")


def grant_app_role(args) -> int:
    """Give a PostgreSQL role exactly the grants the application needs
    (docs/audit.md, "Production database roles"); run as the schema owner."""
    from sqlalchemy import text

    from ..audit.dbrole import grant_statements

    settings = ini_settings(args.ini)
    engine = get_engine(settings)
    if engine.dialect.name != "postgresql":
        print("grant-app-role needs PostgreSQL / PostgreSQL でのみ使用できます", file=sys.stderr)
        return 2
    try:
        with engine.begin() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": args.role}):
                print(f"no role {args.role!r} (CREATE ROLE ... LOGIN first) / ロールがありません",
                      file=sys.stderr)
                return 2
            statements = grant_statements(conn, args.role)
            if not args.print_only:
                for statement in statements:
                    conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
    for statement in statements:
        print(statement + ";")
    if args.print_only:
        print("-- printed only; nothing was granted", file=sys.stderr)
    return 0


def demo_data(args) -> int:
    from ..demo.calls import create_demo_campaign
    from ..demo.contractors import create_demo_paperwork
    from ..demo.generator import create_demo_users, generate

    settings = ini_settings(args.ini)
    clock = SystemClock()
    context = make_context(argon2_params(settings))
    with transaction.manager:
        dbsession = tm_session(settings)
        if args.if_empty and dbsession.scalar(select(func.count()).select_from(User)):
            print("demo data already present; nothing to do")
            return 0
        started = time.monotonic()
        if not dbsession.scalar(select(func.count()).select_from(User)):
            create_demo_users(dbsession, context.hash(args.password), clock.now())
        counts = generate(dbsession, cases=args.cases, seed=args.seed,
                          today=clock.today(), now=clock.now())
        campaign = create_demo_campaign(dbsession, clock.today(), clock.now())
        create_demo_paperwork(dbsession, clock.now())
    print(f"demo data: {counts.cases} cases, {counts.taxpayers} taxpayers, "
          f"{counts.installments} installments, a call campaign of {campaign['targets']} "
          f"targets in {time.monotonic() - started:.1f}s")
    return 0


def _log_event(settings, event, who: dict, **detail) -> None:
    """An access-log event for a change made from the command line (who ran
    it: the OS user); never a password."""
    import json
    import uuid

    from ..audit import chain
    from ..config import hmac_key
    from ..audit.writer import AccessLogWriter

    fields = {name: None for name in chain.FIELDS if name != "seq"}
    fields.update(who)
    fields.update(kind="event", event=event, occurred_at=SystemClock().now(),
                  request_id=uuid.uuid4().hex, outcome="success", case_count=0,
                  view_name=f"intranet {detail.pop('command')}",
                  detail=json.dumps({**detail, "os_user": getpass.getuser()}, sort_keys=True,
                                    ensure_ascii=False))
    engine = get_engine(settings)
    try:
        AccessLogWriter(engine, hmac_key(settings)).append([(fields, [])])
    finally:
        engine.dispose()


def _print_problems(problems) -> None:
    from ..i18n import translate

    for key in problems:
        print(translate("ja", key), "/", translate("en", key), file=sys.stderr)


def create_user(args) -> int:
    """A user, as the admin pages create one: with ``--temporary`` (or
    ``--generate``, which prints a generated password once) the user must
    change the password at the first login."""
    from ..accounts.users import generate_password, logged_state
    from ..audit.events import AuditEvent
    from ..audit.record import user_fields
    from ..security.matrix import account_problems

    from ..config import hmac_key

    settings = ini_settings(args.ini)
    hmac_key(settings)  # the creation is logged: no key, no change
    flags = account_problems(Role(args.role), args.supervisor, args.team_leader)
    if args.generate:
        password = generate_password()
    else:
        password = args.password if args.password is not None or flags else _prompt_password()
    problems = flags or policy_problems(password, args.login)
    if problems:
        _print_problems(problems)
        return 2
    clock = SystemClock()
    temporary = args.temporary or args.generate
    with transaction.manager:
        dbsession = tm_session(settings)
        if dbsession.scalar(select(User).where(func.lower(User.login) == args.login.lower())):
            print(f"user {args.login!r} already exists", file=sys.stderr)
            return 2
        org = dbsession.scalar(select(Organisation).where(Organisation.code == args.org))
        if org is None:
            org = Organisation(code=args.org, name=args.org_name or args.org,
                               kind=OrganisationKind(args.org_kind))
            dbsession.add(org)
        user = User(
            login=args.login, display_name=args.name or args.login, role=Role(args.role),
            organisation=org, is_supervisor=args.supervisor, is_team_leader=args.team_leader,
            is_active=True, password_hash=make_context(argon2_params(settings)).hash(password), failed_logins=0,
            created_at=clock.now(), password_changed_at=None if temporary else clock.now(),
            must_change_password=temporary,
        )
        dbsession.add(user)
        dbsession.flush()
        state, who = logged_state(user), user_fields(user)
    _log_event(settings, AuditEvent.UserCreated, who, command="create-user",
               after=state, password="generated" if args.generate else "typed",
               temporary=temporary)
    print(f"created user {args.login!r} ({args.role})")
    if args.generate:
        print(f"temporary password / 仮パスワード (shown once): {password}")
    return 0


def reset_password(args) -> int:
    """A new temporary password (generated and printed once): every session
    of the user ends and the password must be changed at the next login.
    Also lifts a lockout. For a ward whose last supervisor is locked out."""
    from ..accounts.users import generate_password
    from ..audit.events import AuditEvent
    from ..audit.record import user_fields
    from ..security.sessions import revoke_sessions

    from ..config import hmac_key

    settings = ini_settings(args.ini)
    hmac_key(settings)  # the reset is logged: no key, no change
    password = generate_password()
    clock = SystemClock()
    with transaction.manager:
        dbsession = tm_session(settings)
        user = dbsession.scalar(select(User).where(func.lower(User.login) == args.login.lower()))
        if user is None:
            print(f"no user {args.login!r} / ユーザーがいません", file=sys.stderr)
            return 2
        user.password_hash = make_context(argon2_params(settings)).hash(password)
        user.must_change_password = True
        user.locked_until, user.failed_logins = None, 0
        ended = revoke_sessions(dbsession, user, clock.now())
        who = user_fields(user)
    _log_event(settings, AuditEvent.UserPasswordReset, who, command="reset-password",
               password="generated", sessions_ended=ended)
    print(f"temporary password / 仮パスワード for {args.login!r} (shown once): {password}")
    return 0


def _prompt_password() -> str:
    first = getpass.getpass("Password / パスワード: ")
    if first != getpass.getpass("Again / 再入力: "):
        raise SystemExit("passwords differ / パスワードが一致しません")
    return first


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="intranet", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("initdb", help="create or upgrade the database schema")
    s.add_argument("ini")
    s.set_defaults(func=initdb)

    s = sub.add_parser("db", help="database roles (PostgreSQL)")
    db_sub = s.add_subparsers(dest="db_command", required=True)
    g = db_sub.add_parser("grant-app-role", help="grant a role exactly what the application needs "
                          "(run as the schema owner; docs/audit.md)")
    g.add_argument("ini")
    g.add_argument("role")
    g.add_argument("--print", dest="print_only", action="store_true",
                   help="only print the statements")
    g.set_defaults(func=grant_app_role)

    s = sub.add_parser("demo-data", help="load synthetic demo data and demo users")
    s.add_argument("ini")
    s.add_argument("--cases", type=int, default=300)
    s.add_argument("--seed", type=int, default=2026)
    s.add_argument("--if-empty", action="store_true", help="do nothing if users exist")
    s.add_argument("--password", default="demo-Password-2026",
                   help="password of the demo users (development only)")
    s.set_defaults(func=demo_data)

    s = sub.add_parser("create-user", help="create a user (prompts for the password)")
    s.add_argument("ini")
    s.add_argument("login")
    s.add_argument("--role", required=True, choices=[r.value for r in Role])
    s.add_argument("--name", help="display name")
    s.add_argument("--org", default="ward", help="organisation code")
    s.add_argument("--org-name")
    s.add_argument("--org-kind", default="ward", choices=[k.value for k in OrganisationKind])
    s.add_argument("--supervisor", action="store_true")
    s.add_argument("--team-leader", action="store_true", help="the call center's 責任者 (operators)")
    s.add_argument("--temporary", action="store_true",
                   help="the user must change the password at the first login")
    s.add_argument("--generate", action="store_true",
                   help="generate a temporary password and print it once (implies --temporary)")
    s.add_argument("--password", help=argparse.SUPPRESS)  # for scripts and tests
    s.set_defaults(func=create_user)

    s = sub.add_parser("reset-password", help="set a generated temporary password (printed once); "
                       "ends the user's sessions and lifts a lockout")
    s.add_argument("ini")
    s.add_argument("login")
    s.set_defaults(func=reset_password)

    audit.add_parser(sub)
    backup.add_parser(sub)
    latecharge.add_parser(sub)
    datalink.add_parser(sub)
    plans.add_parser(sub)
    from ..jobs import worker  # issue 21
    worker.add_parser(sub)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
