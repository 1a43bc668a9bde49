"""User administration (supervisors; auditors read): the user list with its
filters, creating a user with a temporary password, one user's page (edit,
disable/enable, unlock, reset the password), and any user's live sessions
with the remote wipe (end one, or all at once). The checks and refusals are
in :mod:`intranet.accounts.users`; nothing changes unless all of them pass."""
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config
from sqlalchemy import select

from ..audit.events import AuditEvent
from ..models import Organisation, Role, User
from ..params import whole_number
from ..resources import UserContainer, UserResource
from ..security import sessions
from ..security.permissions import Permission
from ..security.throttle import throttled_addresses
from ..views.forms import posted_int
from ..views.sessions import end_and_log, ended_count, session_rows
from ..accounts import training
from ..accounts import users as accounts


#: The values of the list's yes/no filters (``active``, ``locked``; "" = either).
FLAG_VALUES = ("", "1", "0")
#: ``training=due``: users whose required training is missing, overdue or due soon.
TRAINING_VALUES = ("", "due")


def _filters(request) -> tuple[dict, bool]:
    """The list's filters from the query string; False when a value is not
    one the form offers (the page answers 400 and says so)."""
    params = request.GET
    filters = {"role": params.get("role", ""), "organisation": params.get("organisation", ""),
               "active": params.get("active", ""), "locked": params.get("locked", ""),
               "training": params.get("training", "")}
    ok = filters["role"] in ("", *(str(r) for r in Role))
    ok = ok and filters["active"] in FLAG_VALUES and filters["locked"] in FLAG_VALUES
    ok = ok and filters["training"] in TRAINING_VALUES
    if filters["organisation"] != "":
        org_id = whole_number(filters["organisation"], 12)
        ok = ok and org_id is not None and request.dbsession.get(Organisation, org_id) is not None
    if not ok:
        return {"role": "", "organisation": "", "active": "", "locked": "", "training": ""}, False
    return filters, True


@view_config(context=UserContainer, renderer="admin/users.jinja2", permission=Permission.UsersView,
             request_method="GET")
def user_list(request):
    filters, ok = _filters(request)
    query = select(User).join(User.organisation).order_by(Organisation.code, User.role, User.login)
    if filters["role"]:
        query = query.where(User.role == Role(filters["role"]))
    if filters["organisation"]:
        query = query.where(User.organisation_id == int(filters["organisation"]))
    now = request.now
    users = [u for u in request.dbsession.scalars(query).all()
             if filters["active"] in ("", "1" if u.is_valid_at(now) else "0")
             and filters["locked"] in ("", "1" if _locked(u, now) else "0")]
    training_due = training.due_user_ids(request.dbsession, request.today,
                                         request.app_settings.training)
    if filters["training"] == "due":
        users = [u for u in users if u.id in training_due]
    if not ok:
        request.response.status = 400
    can_sessions = request.has_permission(Permission.UsersSessionsManage, request.context)
    return {"users": users, "now": now, "throttle": request.app_settings.login.throttle,
            "throttled": throttled_addresses(request), "can_sessions": bool(can_sessions),
            "session_counts": sessions.live_counts(request) if can_sessions else {},
            "filters": filters, "filter_error": not ok, "roles": list(Role), "training_due": training_due,
            "organisations": _organisations(request),
            "can_manage": bool(request.has_permission(Permission.UsersManage, request.context))}


def _locked(user: User, now) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _organisations(request) -> list[Organisation]:
    return list(request.dbsession.scalars(select(Organisation).order_by(Organisation.code)))


# ---------------------------------------------------------------- creating a user

def _form_values(post=None, user: User | None = None) -> dict:
    """The form's values to show: what was posted, else the user's."""
    if post is not None:
        values = {name: post.get(name, "") for name in accounts.FIELDS if name != "password"}
        return {k: (v if isinstance(v, str) else "") for k, v in values.items()}
    if user is None:
        return {"login": "", "display_name": "", "role": "", "organisation": "",
                "is_supervisor": "", "is_team_leader": "", "valid_from": "", "valid_until": "",
                "password_mode": "generate"}
    return {"login": user.login, "display_name": user.display_name, "role": str(user.role),
            "organisation": str(user.organisation_id),
            "is_supervisor": "1" if user.is_supervisor else "",
            "is_team_leader": "1" if user.is_team_leader else "",
            "valid_from": _iso(accounts.first_day(user.valid_from)),
            "valid_until": _iso(accounts.last_day(user.valid_until)), "password_mode": "generate"}


def _iso(day) -> str:
    return day.isoformat() if day is not None else ""


def _new_page(request, errors=(), status=200):
    request.response.status = status
    return render_to_response("admin/user_new.jinja2", {
        "errors": list(errors), "form": _form_values(request.POST if request.method == "POST" else None),
        "roles": list(Role), "organisations": _organisations(request),
    }, request=request, response=request.response)


def _refused(request, action: str, errors, user: User | None = None) -> None:
    request.audit.event(AuditEvent.UserRefused, "failure", user=user, action=action,
                        reasons=list(errors), by=request.identity.login)


@view_config(context=UserContainer, name="new", permission=Permission.UsersManage,
             request_method="GET")
def user_new_form(request):
    return _new_page(request)


@view_config(context=UserContainer, name="new", permission=Permission.UsersManage,
             request_method="POST")
def user_create(request):
    """A new account with a temporary password (generated and shown once, or
    typed by the supervisor): the user must change it at the first login."""
    dbsession, post = request.dbsession, request.POST
    account = accounts.read_form(dbsession, post, with_login=True)
    errors = account.errors
    if account.login is not None and accounts.login_taken(dbsession, account.login):
        errors.append("account.error.login_taken")
    accounts.fit_contract(dbsession, account, None, request.now)
    password, problems = accounts.temporary_password(post, account.login or "", None,
                                                     request.registry.password_context)
    errors.extend(problems)
    if errors:
        _refused(request, "create", errors)
        return _new_page(request, errors, 400)
    user = User(login=account.login, display_name=account.display_name, role=account.role,
                organisation=account.organisation, is_supervisor=account.is_supervisor,
                is_team_leader=account.is_team_leader, is_active=True,
                valid_from=account.valid_from, valid_until=account.valid_until,
                password_hash=request.registry.password_context.hash(password),
                must_change_password=True, failed_logins=0, created_at=request.now)
    dbsession.add(user)
    dbsession.flush()
    generated = post.get("password_mode", "generate") != "typed"
    request.audit.event(AuditEvent.UserCreated, user=user, by=request.identity.login,
                        after=accounts.logged_state(user), password="generated" if generated else "typed")
    return _password_page(request, user, password if generated else None, created=True)


def _password_page(request, user: User, password: str | None, created: bool):
    """The result of a create or reset: a generated password is shown here
    once (the response is never stored: Cache-Control no-store) and nowhere else."""
    return render_to_response("admin/user_password.jinja2", {
        "user": user, "password": password, "created": created,
        "user_path": (request.resource_path(request.context, str(user.id), "") if created
                      else request.resource_path(request.context)),
    }, request=request, response=request.response)


# ---------------------------------------------------------------- one user

def _user_page(request, errors=(), status=200, form=None):
    user = request.context.user
    request.response.status = status
    can_manage = bool(request.has_permission(Permission.UsersManage, request.context))
    can_sessions = bool(request.has_permission(Permission.UsersSessionsManage, request.context))
    return render_to_response("admin/user.jinja2", {
        "user": user, "errors": list(errors), "now": request.now,
        "form": form or _form_values(user=user), "roles": list(Role),
        "organisations": _organisations(request), "can_manage": can_manage,
        "locked": _locked(user, request.now),
        "can_sessions": can_sessions,
        "session_count": len(sessions.live_sessions(request, user)) if can_sessions else 0,
        "is_self": user.id == request.identity.id,
    }, request=request, response=request.response)


@view_config(context=UserResource, permission=Permission.UsersView, request_method="GET")
def user_page(request):
    return _user_page(request)


@view_config(context=UserResource, name="edit", permission=Permission.UsersManage,
             request_method="POST")
def user_edit(request):
    """Display name, role, organisation, flags and validity window."""
    user, dbsession = request.context.user, request.dbsession
    account = accounts.read_form(dbsession, request.POST, with_login=False)
    errors = account.errors
    accounts.fit_contract(dbsession, account, user, request.now)
    if not errors:
        errors.extend(accounts.supervisor_refusals(
            dbsession, request.identity, user, role=account.role,
            is_supervisor=account.is_supervisor, is_active=user.is_active,
            valid_from=account.valid_from, valid_until=account.valid_until, now=request.now))
    if errors:
        _refused(request, "edit", errors, user)
        return _user_page(request, errors, 400, form=_form_values(request.POST))
    before = accounts.snapshot(user)
    user.display_name, user.role = account.display_name, account.role
    user.organisation = account.organisation
    user.is_supervisor, user.is_team_leader = account.is_supervisor, account.is_team_leader
    user.valid_from, user.valid_until = account.valid_from, account.valid_until
    changed = accounts.changes(before, accounts.snapshot(user))
    if user.contract is not None and user.contract.organisation_id != user.organisation.id:
        # Moved to another organisation: no longer under that one's contract.
        changed["contract"] = [user.contract_id, None]
        user.contract = None
    if changed:
        request.audit.event(AuditEvent.UserChanged, user=user, by=request.identity.login,
                            changes=changed)
    return HTTPSeeOther(request.resource_path(request.context, query={"saved": "1"}))


def _state_change(request, action: str, event: AuditEvent, *, is_active: bool):
    user, dbsession = request.context.user, request.dbsession
    errors = accounts.supervisor_refusals(
        dbsession, request.identity, user, role=user.role, is_supervisor=user.is_supervisor,
        is_active=is_active, valid_from=user.valid_from, valid_until=user.valid_until,
        now=request.now)
    if errors:
        _refused(request, action, errors, user)
        return _user_page(request, errors, 400)
    before = user.is_active
    user.is_active = is_active
    detail = {"changes": {"is_active": [before, is_active]}} if before != is_active else {}
    if not is_active:
        detail["sessions_ended"] = sessions.revoke_sessions(dbsession, user, request.now)
    request.audit.event(event, user=user, by=request.identity.login, **detail)
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=UserResource, name="disable", permission=Permission.UsersManage,
             request_method="POST")
def user_disable(request):
    """Disable the account; every session of it ends at once."""
    return _state_change(request, "disable", AuditEvent.UserDisabled, is_active=False)


@view_config(context=UserResource, name="enable", permission=Permission.UsersManage,
             request_method="POST")
def user_enable(request):
    return _state_change(request, "enable", AuditEvent.UserEnabled, is_active=True)


@view_config(context=UserResource, name="unlock", permission=Permission.UsersManage,
             request_method="POST")
def user_unlock(request):
    """Lift a lockout after failed logins."""
    user = request.context.user
    before = {"locked_until": user.locked_until.isoformat(timespec="seconds")
              if user.locked_until else None, "failed_logins": user.failed_logins}
    user.locked_until, user.failed_logins = None, 0
    request.audit.event(AuditEvent.UserUnlocked, user=user, by=request.identity.login,
                        changes={name: [value, None if name == "locked_until" else 0]
                                 for name, value in before.items()})
    return HTTPSeeOther(request.resource_path(request.context))


@view_config(context=UserResource, name="reset-password", permission=Permission.UsersManage,
             request_method="POST")
def user_reset_password(request):
    """A new temporary password: the user must change it at the next login,
    and every session of the account ends now."""
    user, dbsession = request.context.user, request.dbsession
    if user.id == request.identity.id:  # one's own: /password (the current one is asked)
        errors = ["account.error.self_reset"]
    else:
        password, errors = accounts.temporary_password(request.POST, user.login, user.password_hash,
                                                       request.registry.password_context)
    if errors:
        _refused(request, "reset_password", errors, user)
        return _user_page(request, errors, 400)
    user.password_hash = request.registry.password_context.hash(password)
    user.must_change_password = True
    ended = sessions.revoke_sessions(dbsession, user, request.now)
    generated = request.POST.get("password_mode", "generate") != "typed"
    request.audit.event(AuditEvent.UserPasswordReset, user=user, by=request.identity.login,
                        password="generated" if generated else "typed", sessions_ended=ended)
    return _password_page(request, user, password if generated else None, created=False)


@view_config(context=UserResource, name="sessions", renderer="admin/user_sessions.jinja2",
             permission=Permission.UsersSessionsManage, request_method="GET")
def user_sessions(request):
    user = request.context.user
    return {"user": user, "rows": session_rows(request, user), "ended": ended_count(request)}


@view_config(context=UserResource, name="revoke", permission=Permission.UsersSessionsManage,
             request_method="POST")
def user_session_revoke(request):
    """Remote wipe of one session of this user (a lost tablet): the device is
    logged out at its next request, on every app process."""
    user = request.context.user
    session_id = posted_int(request, "session_id")
    if session_id is None:
        raise HTTPBadRequest()
    if session_id not in {s.id for s in sessions.live_sessions(request, user)}:
        raise HTTPNotFound()  # another user's session, or no longer live
    return end_and_log(request, user, [session_id], "sessions", one=True)


@view_config(context=UserResource, name="revoke-all", permission=Permission.UsersSessionsManage,
             request_method="POST")
def user_session_revoke_all(request):
    """Remote wipe of every live session of this user at once."""
    user = request.context.user
    ids = [s.id for s in sessions.live_sessions(request, user)]
    return end_and_log(request, user, ids, "sessions")
