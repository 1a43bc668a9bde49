"""A ward runs its accounts from the UI (issue 19): supervisors list, create
and change users; every refusal says why and changes nothing; every change
is logged with before/after values and never a password."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa
import webtest

from intranet.models import (
    AccessLogEntry, Contract, LoginSession, Organisation, OrganisationKind, Role, User,
)
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login

TYPED = "Typed-Temp-2026"


@pytest.fixture
def world(dbsession, password_context, clock):
    boss = factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    deputy = factories.user(dbsession, password_context, Role.collector, login="deputy",
                            is_supervisor=True)
    col = factories.user(dbsession, password_context, Role.collector, login="col")
    op = factories.user(dbsession, password_context, Role.operator, login="op")
    inv = factories.user(dbsession, password_context, Role.contractor, login="inv")
    aud = factories.user(dbsession, password_context, Role.auditor, login="aud")
    locked = factories.user(dbsession, password_context, Role.operator, login="locked-op")
    locked.locked_until = clock.now() + dt.timedelta(minutes=10)
    locked.failed_logins = 5
    gone = factories.user(dbsession, password_context, Role.collector, login="gone")
    gone.is_active = False
    dbsession.commit()
    orgs = {o.kind: o.id for o in dbsession.scalars(sa.select(Organisation))}
    return {"boss": boss.id, "deputy": deputy.id, "col": col.id, "op": op.id, "inv": inv.id,
            "aud": aud.id, "locked": locked.id, "gone": gone.id, "orgs": orgs}


def _post(testapp, path, status=303, token_path="/admin/users/", **fields):
    return testapp.post(path, {"csrf_token": csrf_token(testapp, token_path), **fields}, status=status)


def _form(world, **over):
    fields = {"login": "new-user", "display_name": "新人 太郎", "role": "collector",
              "organisation": str(world["orgs"][OrganisationKind.ward]), "valid_from": "",
              "valid_until": "", "password_mode": "generate"}
    fields.update(over)
    return {k: v for k, v in fields.items() if v is not None}


def _users(dbsession) -> int:
    return dbsession.scalar(sa.select(sa.func.count()).select_from(User))


def _log_text(engine, mark) -> str:
    return " ".join(f"{e.detail} {e.query} {e.path}" for e in entries_since(engine, mark))


def _errors(res) -> str:
    return res.html.select_one("#account-errors").text


# ---------------------------------------------------------------- the list

def _logins(res):
    return sorted(tr.select("td")[0].text for tr in res.html.select("#user-list tbody tr")
                  if tr.select_one("a.user-link"))


def test_the_list_filters(testapp, world):
    login(testapp, "boss")
    assert _logins(testapp.get("/admin/users/?role=operator")) == ["locked-op", "op"]
    contractor_org = world["orgs"][OrganisationKind.contractor]
    assert _logins(testapp.get(f"/admin/users/?organisation={contractor_org}")) == ["inv", "locked-op", "op"]
    assert _logins(testapp.get("/admin/users/?active=0")) == ["gone"]
    assert _logins(testapp.get("/admin/users/?locked=1")) == ["locked-op"]
    assert "gone" not in _logins(testapp.get("/admin/users/?active=1&locked=0"))
    assert len(_logins(testapp.get("/admin/users/?role=&organisation=&active=&locked="))) == 8


def test_the_training_due_filter(testapp, world, dbsession, password_context, clock):
    """``training=due``: outsourced users whose required training is missing,
    overdue or due within ``intranet.training.due_soon_days`` (seed 000
    特記事項10, seed 004 特記事項18); each is marked on the list with a link
    to its training records. Ward staff and auditors are never due."""
    today = (clock.now() + dt.timedelta(hours=9)).date()
    factories.user(dbsession, password_context, Role.operator, login="untrained", training=False)
    lapsed = factories.user(dbsession, password_context, Role.contractor, login="lapsed", training=False)
    factories.training_record(dbsession, lapsed, trained_on=today - dt.timedelta(days=400),
                              next_due=today - dt.timedelta(days=1))
    soon = factories.user(dbsession, password_context, Role.operator, login="soon", training=False)
    factories.training_record(dbsession, soon, trained_on=today - dt.timedelta(days=300),
                              next_due=today + dt.timedelta(days=10))
    dbsession.commit()
    login(testapp, "boss")
    res = testapp.get("/admin/users/?training=due")
    assert _logins(res) == ["lapsed", "soon", "untrained"]
    badges = {a["href"] for a in res.html.select("#user-list a.training-due")}
    assert badges == {f"/admin/users/{u.id}/training" for u in (lapsed, soon)} | {
        f"/admin/users/{dbsession.scalar(sa.select(User.id).where(User.login == 'untrained'))}/training"}
    everyone = testapp.get("/admin/users/")
    assert len(everyone.html.select("#user-list a.training-due")) == 3
    assert "op" in _logins(everyone)


@pytest.mark.parametrize("query", ["role=king", "active=2", "locked=yes", "organisation=abc", "training=yes",
                                   "organisation=999999", "organisation=%C2%B2", "role=%00"])
def test_a_bad_filter_is_a_400_that_says_so(testapp, world, query):
    login(testapp, "boss")
    res = testapp.get(f"/admin/users/?{query}", status=400)
    assert "絞り込みの条件が正しくありません" in res.html.select_one("#filter-error").text


# ---------------------------------------------------------------- creating

def test_a_supervisor_creates_a_user_with_a_generated_password(testapp, world, dbsession, engine,
                                                               wsgi_app, password_context):
    login(testapp, "boss")
    assert testapp.get("/admin/users/").html.select_one("#user-new-link") is not None
    mark = log_mark(engine)
    res = _post(testapp, "/admin/users/new", 200, **_form(world))
    password = res.html.select_one("#temporary-password").text
    assert len(password) == 19
    user = dbsession.scalar(sa.select(User).where(User.login == "new-user"))
    assert user.must_change_password and user.is_active and user.role == Role.collector
    assert password_context.verify(password, user.password_hash)
    assert password not in user.password_hash
    events = [e for e in entries_since(engine, mark, kind="event") if e.event == "user.created"]
    assert len(events) == 1 and events[0].login == "new-user"
    detail = json.loads(events[0].detail)
    assert detail["by"] == "boss" and detail["after"]["role"] == "collector"
    assert detail["password"] == "generated"
    log = _log_text(engine, mark)
    assert password not in log and user.password_hash not in log and "新人" not in log
    # the new user logs in with it and must change it first
    newcomer = webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "10.0.0.9"})
    login(newcomer, "NEW-USER", password)
    assert newcomer.get("/", status=303).location.endswith("/password")
    # the page is shown once: the user page never shows it
    assert password not in testapp.get(f"/admin/users/{user.id}/").text


def test_a_typed_password_is_checked_and_not_shown(testapp, world, dbsession, engine, password_context):
    login(testapp, "boss")
    weak = _post(testapp, "/admin/users/new", 400, **_form(world, password_mode="typed", password="short"))
    assert "12文字以上" in _errors(weak)
    with_login = _post(testapp, "/admin/users/new", 400,
                       **_form(world, password_mode="typed", password="new-user-Pass-1"))
    assert "ユーザーIDを含めない" in _errors(with_login)
    empty = _post(testapp, "/admin/users/new", 400, **_form(world, password_mode="typed", password=""))
    assert "仮パスワードを入力" in _errors(empty)
    assert dbsession.scalar(sa.select(User).where(User.login == "new-user")) is None
    mark = log_mark(engine)
    res = _post(testapp, "/admin/users/new", 200, **_form(world, password_mode="typed", password=TYPED))
    assert res.html.select_one("#temporary-password") is None and TYPED not in res.text
    user = dbsession.scalar(sa.select(User).where(User.login == "new-user"))
    assert password_context.verify(TYPED, user.password_hash) and user.must_change_password
    assert TYPED not in _log_text(engine, mark)


@pytest.mark.parametrize("over, message", [
    ({"login": "BOSS"}, "既に使われています"),
    ({"login": "bad login!"}, "ユーザーIDは半角英数字"),
    ({"login": ""}, "ユーザーIDは半角英数字"),
    ({"display_name": ""}, "氏名を100文字以内"),
    ({"role": "king"}, "役割が正しくありません"),
    ({"organisation": "999999"}, "所属が正しくありません"),
    ({"organisation": "x"}, "所属が正しくありません"),
    ({"role": "operator", "is_supervisor": "1"}, "管理者の指定は徴収職員"),
    ({"role": "collector", "is_team_leader": "1"}, "責任者の指定はコールセンター"),
    ({"valid_from": "2026-12-01", "valid_until": "2026-11-30"}, "終了日が開始日より前"),
    ({"valid_from": "2026-02-30"}, "日付が正しくありません"),
    ({"valid_until": "9999-12-31"}, "日付が正しくありません"),
])
def test_create_refusals_say_why_and_create_nothing(testapp, world, dbsession, engine, over, message):
    login(testapp, "boss")
    before = _users(dbsession)
    mark = log_mark(engine)
    res = _post(testapp, "/admin/users/new", 400, **_form(world, **over))
    assert message in _errors(res)
    assert _users(dbsession) == before
    refused = [e for e in entries_since(engine, mark, kind="event") if e.event == "user.refused"]
    assert len(refused) == 1 and refused[0].outcome == "failure"


@pytest.fixture
def contract(dbsession, world):
    org = world["orgs"][OrganisationKind.contractor]
    c = Contract(organisation_id=org, name="現地調査", purpose="p", starts_on=dt.date(2026, 10, 1),
                 ends_on=dt.date(2027, 3, 31), manager_name="m", handler_names="h", protections="",
                 training_required=False, created_by=world["boss"], created_at=dt.datetime(2026, 9, 1))
    dbsession.add(c)
    dbsession.commit()
    return c


def test_contractor_accounts_stay_inside_their_contract(testapp, world, dbsession, contract):
    login(testapp, "boss")
    org = str(world["orgs"][OrganisationKind.contractor])
    outside = _post(testapp, "/admin/users/new", 400,
                    **_form(world, role="contractor", organisation=org, valid_until="2027-06-30"))
    assert "委託契約の期間外" in _errors(outside)
    before = _post(testapp, "/admin/users/new", 400,
                   **_form(world, role="contractor", organisation=org, valid_from="2026-09-01"))
    assert "委託契約の期間外" in _errors(before)
    assert dbsession.scalar(sa.select(User).where(User.login == "new-user")) is None
    # blank ends take the contract's first and last day
    _post(testapp, "/admin/users/new", 200, **_form(world, role="contractor", organisation=org))
    user = dbsession.scalar(sa.select(User).where(User.login == "new-user"))
    assert (user.valid_from, user.valid_until) == contract.window()
    # an edit outside it is refused too
    res = _post(testapp, f"/admin/users/{user.id}/edit", 400, token_path=f"/admin/users/{user.id}/",
                **_form(world, login=None, role="contractor", organisation=org, valid_from="2026-10-01",
                        valid_until="2027-04-01"))
    assert "委託契約の期間外" in _errors(res)


# ---------------------------------------------------------------- one user

def test_the_user_page_links_sessions_keys_and_training(testapp, world):
    login(testapp, "boss")
    page = testapp.get(f"/admin/users/{world['inv']}/")
    assert "inv" in page.html.select_one("h1").text
    links = {a["href"] for a in page.html.select("#account-links a")}
    assert {f"/admin/users/{world['inv']}/sessions", f"/admin/keys/{world['inv']}/",
            f"/admin/users/{world['inv']}/training"} <= links
    for form in ("user-edit-form", "user-disable-form", "user-reset-form"):
        assert page.html.select_one(f"#{form}") is not None
    assert f"/admin/users/{world['inv']}/" in {
        a["href"] for a in testapp.get("/admin/users/").html.select("a.user-link")}
    testapp.get("/admin/users/999999/", status=404)


def test_an_edit_is_logged_with_before_and_after(testapp, world, dbsession, engine):
    login(testapp, "boss")
    mark = log_mark(engine)
    _post(testapp, f"/admin/users/{world['col']}/edit", token_path=f"/admin/users/{world['col']}/",
          **_form(world, login=None, display_name="改名 花子", role="collector", is_supervisor="1",
                  valid_until="2027-03-31"))
    user = dbsession.get(User, world["col"])
    assert user.display_name == "改名 花子" and user.is_supervisor
    assert user.valid_until == dt.datetime(2027, 3, 31, 15, 0)
    event = [e for e in entries_since(engine, mark, kind="event") if e.event == "user.changed"][0]
    changes = json.loads(event.detail)["changes"]
    assert changes["is_supervisor"] == [False, True]
    assert changes["valid_until"] == [None, "2027-03-31"]
    assert changes["display_name"] == "changed"
    assert "改名" not in _log_text(engine, mark) and "テスト col" not in _log_text(engine, mark)
    page = testapp.get(f"/admin/users/{world['col']}/")
    assert page.html.select_one("#acc-until")["value"] == "2027-03-31"


@pytest.mark.parametrize("who, over, message", [
    ("boss", {"role": "collector"}, "自分自身の管理者の指定は外せません"),
    ("boss", {"role": "operator"}, "自分自身の管理者の指定は外せません"),
    ("boss", {"role": "collector", "is_supervisor": "1", "valid_until": "2026-11-01"},
     "自分自身のアカウントは無効にできません"),
    ("op", {"role": "operator", "is_supervisor": "1",
            "organisation": None}, "管理者の指定は徴収職員"),
    ("col", {"role": "collector", "valid_from": "2027-01-02", "valid_until": "2027-01-01"},
     "終了日が開始日より前"),
    ("col", {"role": "collector", "organisation": "424242"}, "所属が正しくありません"),
    ("col", {"role": "auditor-ish"}, "役割が正しくありません"),
])
def test_edit_refusals_change_nothing(testapp, world, dbsession, who, over, message):
    login(testapp, "boss")
    user_id = world[who]
    before = dbsession.get(User, user_id)
    snapshot = (before.display_name, before.role, before.is_supervisor, before.valid_until,
                before.organisation_id)
    fields = _form(world, login=None, display_name="変えたい", **over)
    if over.get("organisation", "") is None:
        fields["organisation"] = str(world["orgs"][OrganisationKind.contractor])
    res = _post(testapp, f"/admin/users/{user_id}/edit", 400, token_path=f"/admin/users/{user_id}/",
                **fields)
    assert message in _errors(res)
    dbsession.expire_all()
    after = dbsession.get(User, user_id)
    assert (after.display_name, after.role, after.is_supervisor, after.valid_until,
            after.organisation_id) == snapshot


def test_the_last_supervisor_stays_one(testapp, world, dbsession):
    dbsession.get(User, world["deputy"]).is_active = False
    dbsession.commit()
    login(testapp, "boss")
    path = f"/admin/users/{world['boss']}/"
    demote = _post(testapp, path + "edit", 400, token_path=path,
                   **_form(world, login=None, display_name="ボス", role="collector"))
    assert "利用可能な管理者がほかにいない" in _errors(demote)
    disable = _post(testapp, path + "disable", 400, token_path=path)
    assert "自分自身のアカウントは無効にできません" in _errors(disable)
    assert "利用可能な管理者がほかにいない" in _errors(disable)
    dbsession.expire_all()
    boss = dbsession.get(User, world["boss"])
    assert boss.is_supervisor and boss.is_active


def test_disable_ends_every_session_and_enable_restores(testapp, world, dbsession, engine, wsgi_app):
    device = webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "10.0.0.7"})
    login(device, "col")
    device.get("/", status=200)
    login(testapp, "boss")
    mark = log_mark(engine)
    path = f"/admin/users/{world['col']}/"
    _post(testapp, path + "disable", token_path=path)
    assert "/login" in device.get("/", status=303).location
    assert login(device, "col").status_int == 200  # refused: disabled
    dbsession.expire_all()
    assert not dbsession.get(User, world["col"]).is_active
    live = dbsession.scalar(sa.select(sa.func.count()).select_from(LoginSession).where(
        LoginSession.user_id == world["col"], LoginSession.ended_at.is_(None)))
    assert live == 0
    _post(testapp, path + "enable", token_path=path)
    dbsession.expire_all()
    assert dbsession.get(User, world["col"]).is_active
    events = {e.event: json.loads(e.detail) for e in entries_since(engine, mark, kind="event")
              if e.event.startswith("user.")}
    assert events["user.disabled"]["changes"] == {"is_active": [True, False]}
    assert events["user.disabled"]["sessions_ended"] == 1
    assert events["user.enabled"]["changes"] == {"is_active": [False, True]}
    assert login(device, "col").status_int == 303


def test_unlock(testapp, world, dbsession, engine):
    login(testapp, "boss")
    path = f"/admin/users/{world['locked']}/"
    assert testapp.get(path).html.select_one("#user-unlock-form") is not None
    mark = log_mark(engine)
    _post(testapp, path + "unlock", token_path=path)
    dbsession.expire_all()
    user = dbsession.get(User, world["locked"])
    assert user.locked_until is None and user.failed_logins == 0
    event = [e for e in entries_since(engine, mark, kind="event") if e.event == "user.unlocked"][0]
    assert json.loads(event.detail)["changes"]["failed_logins"] == [5, 0]


def test_reset_password(testapp, world, dbsession, engine, wsgi_app, password_context):
    device = webtest.TestApp(wsgi_app, extra_environ={"REMOTE_ADDR": "10.0.0.8"})
    login(device, "col")
    login(testapp, "boss")
    path = f"/admin/users/{world['col']}/"
    reused = _post(testapp, path + "reset-password", 400, token_path=path, password_mode="typed",
                   password=factories.PASSWORD)
    assert "現在と同じパスワード" in _errors(reused)
    weak = _post(testapp, path + "reset-password", 400, token_path=path, password_mode="typed",
                 password="abc")
    assert "12文字以上" in _errors(weak)
    device.get("/", status=200)  # nothing changed so far
    mark = log_mark(engine)
    res = _post(testapp, path + "reset-password", 200, token_path=path)
    password = res.html.select_one("#temporary-password").text
    assert "/login" in device.get("/", status=303).location
    dbsession.expire_all()
    user = dbsession.get(User, world["col"])
    assert user.must_change_password and password_context.verify(password, user.password_hash)
    event = [e for e in entries_since(engine, mark, kind="event") if e.event == "user.password_reset"][0]
    assert json.loads(event.detail)["sessions_ended"] == 1
    log = _log_text(engine, mark)
    assert password not in log and user.password_hash not in log
    assert password not in testapp.get(path).text
    login(device, "col", password)
    assert device.get("/cases/", status=303).location.split("?")[0].endswith("/password")


def test_a_supervisor_resets_no_own_password_here(testapp, world, dbsession):
    login(testapp, "boss")
    path = f"/admin/users/{world['boss']}/"
    res = _post(testapp, path + "reset-password", 400, token_path=path)
    assert "パスワード変更」の画面" in _errors(res)
    dbsession.expire_all()
    assert not dbsession.get(User, world["boss"]).must_change_password
    testapp.get("/", status=200)


# ---------------------------------------------------------------- who may

ACTIONS = ["edit", "disable", "enable", "unlock", "reset-password"]


def test_auditors_read_only(testapp, world, dbsession):
    login(testapp, "aud")
    testapp.get("/admin/users/?role=operator", status=200)
    page = testapp.get(f"/admin/users/{world['col']}/", status=200)
    assert not page.html.select("form[method=post]") or all(
        not f["action"].startswith("/admin") for f in page.html.select("form[method=post]"))
    assert page.html.select_one("#user-new-link") is None
    testapp.get("/admin/users/new", status=403)
    token = csrf_token(testapp, "/")
    testapp.post("/admin/users/new", {"csrf_token": token, **_form(world)}, status=403)
    for action in ACTIONS:
        testapp.post(f"/admin/users/{world['col']}/{action}", {"csrf_token": token, **_form(world)},
                     status=403)
    dbsession.expire_all()
    assert dbsession.scalar(sa.select(User).where(User.login == "new-user")) is None
    assert dbsession.get(User, world["col"]).is_active


@pytest.mark.parametrize("who", ["col", "op", "inv"])
def test_others_are_denied(testapp, world, who):
    login(testapp, who)
    for path in ("/admin/users/", f"/admin/users/{world['col']}/", "/admin/users/new"):
        testapp.get(path, status=403)
    token = csrf_token(testapp, "/")
    testapp.post("/admin/users/new", {"csrf_token": token, **_form(world)}, status=403)
    for action in ACTIONS:
        testapp.post(f"/admin/users/{world['col']}/{action}", {"csrf_token": token}, status=403)


def test_a_forged_form_is_refused(testapp, world, dbsession):
    login(testapp, "boss")
    testapp.post("/admin/users/new", _form(world), status=400)
    testapp.post(f"/admin/users/{world['col']}/disable", {"csrf_token": "forged"}, status=400)
    dbsession.expire_all()
    assert dbsession.get(User, world["col"]).is_active
    assert dbsession.scalar(sa.select(User).where(User.login == "new-user")) is None


def test_no_password_or_hash_in_any_log_row(testapp, world, dbsession, engine):
    login(testapp, "boss")
    mark = log_mark(engine)
    res = _post(testapp, "/admin/users/new", 200, **_form(world, login="row-check"))
    password = res.html.select_one("#temporary-password").text
    user = dbsession.scalar(sa.select(User).where(User.login == "row-check"))
    reset = _post(testapp, f"/admin/users/{user.id}/reset-password", 200, token_path=f"/admin/users/{user.id}/")
    second = reset.html.select_one("#temporary-password").text
    dbsession.expire_all()
    hashed = dbsession.get(User, user.id).password_hash
    rows = dbsession.execute(sa.select(AccessLogEntry).where(AccessLogEntry.seq > mark)).scalars().all()
    dumped = json.dumps([{c.name: str(getattr(r, c.key)) for c in AccessLogEntry.__table__.columns}
                         for r in rows], ensure_ascii=False)
    assert password not in dumped and second not in dumped and hashed not in dumped


def test_moving_to_another_organisation_leaves_the_contract(testapp, world, dbsession, engine, contract):
    inv = dbsession.get(User, world["inv"])
    inv.contract_id = contract.id
    inv.valid_from, inv.valid_until = contract.window()
    dbsession.commit()
    login(testapp, "boss")
    mark = log_mark(engine)
    path = f"/admin/users/{world['inv']}/"
    _post(testapp, path + "edit", token_path=path,
          **_form(world, login=None, role="contractor", organisation=str(world["orgs"][OrganisationKind.ward])))
    dbsession.expire_all()
    assert dbsession.get(User, world["inv"]).contract_id is None
    event = [e for e in entries_since(engine, mark, kind="event") if e.event == "user.changed"][0]
    changes = json.loads(event.detail)["changes"]
    assert changes["contract"] == [contract.id, None]
    assert changes["organisation"] == ["org-contractor", "org-ward"]


def test_refusals_speak_english_too(testapp, world, dbsession):
    login(testapp, "boss")
    testapp.set_cookie("lang", "en")
    res = _post(testapp, "/admin/users/new", 400, **_form(world, login="Boss"))
    assert "already taken" in _errors(res)
    bad = testapp.get("/admin/users/?active=maybe", status=400)
    assert "filter value is not valid" in bad.html.select_one("#filter-error").text
    path = f"/admin/users/{world['boss']}/"
    own = _post(testapp, path + "disable", 400, token_path=path)
    assert "cannot disable your own account" in _errors(own)


def test_the_database_refuses_logins_differing_only_in_case(dbsession, password_context):
    """Logins are compared case-insensitively, so the database itself holds
    one of "Kato" and "kato" (migration 0023): two supervisors creating them
    at the same moment cannot both pass the form's check."""
    factories.user(dbsession, password_context, Role.collector, login="Kato")
    savepoint = dbsession.begin_nested()
    with pytest.raises(sa.exc.IntegrityError):
        factories.user(dbsession, password_context, Role.collector, login="kato")
    savepoint.rollback()
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(User)
                            .where(sa.func.lower(User.login) == "kato")) == 1
