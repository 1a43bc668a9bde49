"""Training records (研修・従事者教育) and the login gate, through the whole app.

Seed 000 (納税コールセンター): 委託の内容7 「オペレータ研修計画の策定及び実施」 and
特記事項10 「乙は、乙の従業員に対する個人情報の適正な管理及び情報セキュリティに関する
教育を実施しなければならない」. Seed 004 (区外転出者の現地調査): 特記事項18, the same
for the servicer's 従事者. The ward records each course; outsourced staff whose
required training is missing or overdue cannot log in."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa
import webtest

import intranet
from intranet.models import Contract, Organisation, OrganisationKind, Role, TrainingRecord, User
from intranet.survey.contracts import CONTRACT_COURSE
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login


@pytest.fixture
def people(dbsession, password_context):
    """A supervisor, a plain collector, an auditor; in the call center an
    untrained operator, a trained colleague and their team leader (責任者);
    an operator of another call center."""
    ids = {}
    for login_name, role, kw in (
            ("boss", Role.collector, {"is_supervisor": True}), ("plain", Role.collector, {}),
            ("audit", Role.auditor, {}), ("new", Role.operator, {"training": False}),
            ("mate", Role.operator, {}), ("lead", Role.operator, {"is_team_leader": True})):
        ids[login_name] = factories.user(dbsession, password_context, role, login=login_name, **kw).id
    rival = Organisation(code="cc-rival", name="他社コールセンター", kind=OrganisationKind.contractor)
    dbsession.add(rival)
    dbsession.flush()
    ids["zz"] = factories.user(dbsession, password_context, Role.operator, login="zz", organisation=rival).id
    dbsession.commit()
    return ids


def _url(ids, who):
    return f"/admin/users/{ids[who]}/training"


def _add(testapp, url, status=303, **fields):
    form = {"course": "個人情報保護・情報セキュリティ研修", "trained_on": "2026-11-20", "trainer": "研修 太郎",
            "next_due": "", **fields}
    return testapp.post(url, {**form, "csrf_token": csrf_token(testapp, url)}, status=status)


def _records(dbsession, user_id):
    dbsession.expire_all()
    return dbsession.scalars(sa.select(TrainingRecord).where(TrainingRecord.user_id == user_id)).all()


def _refusal(engine, mark):
    entry = [e for e in entries_since(engine, mark, kind="event") if e.event == "login.failure"][-1]
    return json.loads(entry.detail)["reason"]


def test_login_is_refused_until_training_is_recorded_then_allowed(testapp, people, dbsession, engine):
    mark = log_mark(engine)
    res = login(testapp, "new")
    assert res.status_code == 200 and "研修（従事者教育）の受講記録がない" in res.text
    assert _refusal(engine, mark) == "training_missing"
    # A wrong password says nothing about training (no oracle).
    res = login(testapp, "new", password="Wrong-Password-99")
    assert "研修" not in res.text and "正しくありません" in res.text

    login(testapp, "boss")
    page = testapp.get(_url(people, "new"))
    assert page.html.select_one("#training-standing")["data-state"] == "missing"
    mark = log_mark(engine)
    _add(testapp, _url(people, "new"))
    [row] = _records(dbsession, people["new"])
    assert (row.course, row.trained_on, row.trainer, row.next_due, row.recorded_by) == (
        "個人情報保護・情報セキュリティ研修", dt.date(2026, 11, 20), "研修 太郎", dt.date(2027, 11, 20),
        people["boss"])  # next due: the default 12 months later
    [event] = [e for e in entries_since(engine, mark, kind="event") if e.event == "training.recorded"]
    assert event.outcome == "success"
    assert json.loads(event.detail).items() >= {"course": row.course, "trained_on": "2026-11-20",
                                                "trainer": "研修 太郎", "next_due": "2027-11-20",
                                                "by": "boss"}.items()
    page = testapp.get(_url(people, "new"))
    assert page.html.select_one("#training-standing")["data-state"] == "ok"
    assert [td.text for td in page.html.select("#training-records tbody tr")[0].select("td")][:4] == [
        "2026-11-20", "個人情報保護・情報セキュリティ研修", "研修 太郎", "2027-11-20"]
    assert login(testapp, "new").status_code == 303


def test_records_are_listed_newest_first(testapp, people, dbsession):
    login(testapp, "boss")
    _add(testapp, _url(people, "new"), trained_on="2025-10-01", next_due="2026-10-01", course="旧研修")
    _add(testapp, _url(people, "new"), trained_on="2026-11-01", course="新研修")
    rows = testapp.get(_url(people, "new")).html.select("#training-records tbody tr")
    assert [tr.select("td")[1].text for tr in rows] == ["新研修", "旧研修"]
    assert [tr.select("td")[4]["data-status"] for tr in rows] == ["ok", "overdue"]


def test_overdue_training_refuses_login(testapp, people, dbsession, password_context, engine):
    user = dbsession.get(User, people["new"])
    factories.training_record(dbsession, user, trained_on=dt.date(2025, 11, 1), next_due=dt.date(2026, 11, 23))
    dbsession.commit()
    mark = log_mark(engine)
    res = login(testapp, "new")
    assert res.status_code == 200 and "受講期限が過ぎている" in res.text
    assert _refusal(engine, mark) == "training_overdue"
    testapp.get("/", status=303)  # not logged in
    # due today still counts
    dbsession.execute(sa.update(TrainingRecord).where(TrainingRecord.user_id == user.id)
                      .values(next_due=dt.date(2026, 11, 24)))
    dbsession.commit()
    assert login(testapp, "new").status_code == 303


def test_the_refusal_in_english(testapp, people):
    testapp.set_cookie("lang", "en")
    res = login(testapp, "new")
    assert "your required training (privacy and security) is not recorded" in res.text


@pytest.mark.parametrize("fields,message", [
    ({"course": ""}, "研修名を入力"),
    ({"course": "あ" * 101}, "研修名を入力"),
    ({"trainer": ""}, "講師・実施者を入力"),
    ({"trainer": "x\x00y"}, "講師・実施者を入力"),
    ({"trained_on": ""}, "受講日を YYYY-MM-DD"),
    ({"trained_on": "2026-02-30"}, "受講日を YYYY-MM-DD"),
    ({"trained_on": "yesterday"}, "受講日を YYYY-MM-DD"),
    ({"trained_on": "2026-11-25"}, "未来の日付は入力できません"),
    ({"next_due": "2026-11-20"}, "受講日より後の日付"),
    ({"next_due": "2026-11-01"}, "受講日より後の日付"),
    ({"next_due": "2027-13-01"}, "受講日より後の日付"),
])
def test_each_bad_input_is_refused_and_nothing_is_stored(testapp, people, dbsession, fields, message):
    login(testapp, "boss")
    res = _add(testapp, _url(people, "new"), status=400, **fields)
    assert message in res.html.select_one(".error").text
    assert _records(dbsession, people["new"]) == []
    assert res.html.select_one("#training-form")  # the form again, with what was typed


def test_a_configured_course_list_is_enforced(testapp, people, dbsession, app_settings, clock):
    app = intranet.main({}, **{**app_settings, "intranet.training.courses": "個人情報保護研修\n電話応対研修"})
    app.registry.clock = clock
    try:
        client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
        login(client, "boss")
        page = client.get(_url(people, "new"))
        assert [o.text for o in page.html.select("#course option")] == ["個人情報保護研修", "電話応対研修"]
        _add(client, _url(people, "new"), status=400, course="自由な研修")
        _add(client, _url(people, "new"), course="電話応対研修")
        assert [r.course for r in _records(dbsession, people["new"])] == ["電話応対研修"]
    finally:
        app.registry["db_engine"].dispose()


def test_with_the_setting_off_nobody_is_gated(people, app_settings, clock):
    """``intranet.training.required_roles`` empty: no kind of outsourced work requires it."""
    app = intranet.main({}, **{**app_settings, "intranet.training.required_roles": ""})
    app.registry.clock = clock
    try:
        client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
        assert login(client, "new").status_code == 303
        login(client, "boss")
        page = client.get(_url(people, "new"))
        assert page.html.select_one("#training-standing")["data-state"] == "not_required"
    finally:
        app.registry["db_engine"].dispose()


def test_only_the_call_center_required(people, app_settings, clock, dbsession, password_context):
    app = intranet.main({}, **{**app_settings, "intranet.training.required_roles": "contractor"})
    app.registry.clock = clock
    factories.user(dbsession, password_context, Role.contractor, login="k-new", training=False)
    dbsession.commit()
    try:
        client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.1"})
        assert login(client, "new").status_code == 303          # operators: not required here
        assert login(client, "k-new").status_code == 200        # investigators: required
    finally:
        app.registry["db_engine"].dispose()


@pytest.mark.parametrize("who,get,post", [
    ("audit", 200, 403),     # auditors read, never record
    ("plain", 403, 403),     # a collector without the supervisor flag
    ("mate", 403, 403),      # an operator of the same organisation
])
def test_who_reads_and_who_records(testapp, people, dbsession, who, get, post):
    login(testapp, who)
    page = testapp.get(_url(people, "new"), status=get)
    if get == 200:
        assert page.html.select_one("#training-form") is None
    token = csrf_token(testapp, "/")
    testapp.post(_url(people, "new"), {"csrf_token": token, "course": "x", "trainer": "y",
                                       "trained_on": "2026-11-20"}, status=post)
    assert _records(dbsession, people["new"]) == []


def test_the_team_leader_records_for_its_own_organisations_other_users_only(testapp, people, dbsession):
    """Seed 000 委託の内容7: the call center plans and runs its operators'
    training, so its 責任者 records it — for the other users of its own
    organisation (a bound condition of the matrix), never another
    organisation's, never its own."""
    login(testapp, "lead")
    assert testapp.get(_url(people, "new")).html.select_one("#training-form")
    _add(testapp, _url(people, "new"))
    assert len(_records(dbsession, people["new"])) == 1
    testapp.get(_url(people, "zz"), status=403)
    testapp.post(_url(people, "zz"), {"csrf_token": csrf_token(testapp, "/"), "course": "x", "trainer": "y",
                                      "trained_on": "2026-11-20"}, status=403)
    page = testapp.get(_url(people, "lead"))     # it may read its own records ...
    assert page.html.select_one("#training-form") is None
    testapp.post(_url(people, "lead"), {"csrf_token": csrf_token(testapp, "/"), "course": "x", "trainer": "y",
                                        "trained_on": "2026-11-20"}, status=403)   # ... not certify itself
    testapp.get("/admin/users/999999/training", status=403)   # a missing id: as out of reach
    testapp.get("/admin/users/", status=403)                  # and nothing else of the admin area
    testapp.get(f"/admin/users/{people['new']}/sessions", status=403)
    assert len(_records(dbsession, people["lead"])) == 1 and len(_records(dbsession, people["zz"])) == 1


def test_the_flag_counts_only_on_operators(testapp, people, dbsession, password_context):
    """is_team_leader on a collector is ignored by the principals (matrix.TEAM_LEADER_ROLES)."""
    factories.user(dbsession, password_context, Role.collector, login="odd", is_team_leader=True)
    dbsession.commit()
    login(testapp, "odd")
    testapp.get(_url(people, "new"), status=403)


def test_contract_activation_checks_training_records(testapp, people, dbsession, password_context):
    """Seed 004 特記事項18: a contract requiring training activates only users
    with a current record; a training date given on the contract page records one
    (trainer: the contract's person responsible). users.privacy_trained_on alone
    no longer counts."""
    k = factories.user(dbsession, password_context, Role.contractor, login="k1", training=False,
                       privacy_trained_on=dt.date(2026, 10, 1))
    old = factories.user(dbsession, password_context, Role.contractor, login="k2", training=False)
    factories.training_record(dbsession, old, trained_on=dt.date(2025, 1, 1), next_due=dt.date(2026, 1, 1))
    contract = Contract(organisation_id=k.organisation_id, name="現地調査", purpose="p",
                        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31), manager_name="調査 責任者",
                        handler_names="h", protections="", training_required=True, created_by=people["boss"],
                        created_at=dt.datetime(2026, 11, 1))
    dbsession.add(contract)
    dbsession.commit()
    login(testapp, "boss")
    path = f"/admin/contracts/{contract.id}/"
    token = csrf_token(testapp, path)
    for user in (k, old):   # no record / an overdue one: refused
        res = testapp.post(path + "link", {"csrf_token": token, "user_id": str(user.id), "active": "1"}, status=400)
        assert "従事者教育" in res.text
    res = testapp.post(path + "link", {"csrf_token": token, "user_id": str(k.id), "active": "1",
                                       "trained_on": "2026-11-25"}, status=400)   # not in the future
    assert "未来の日付" in res.text and _records(dbsession, k.id) == []
    testapp.post(path + "link", {"csrf_token": token, "user_id": str(k.id), "active": "1",
                                 "trained_on": "2026-10-20"}, status=303)
    [row] = _records(dbsession, k.id)
    assert (row.course, row.trained_on, row.trainer, row.next_due) == (
        CONTRACT_COURSE, dt.date(2026, 10, 20), "調査 責任者", dt.date(2027, 10, 20))
    assert dbsession.get(User, k.id).is_active
    login(testapp, "k1", status=303)


def _role_label(role):
    from intranet.i18n import translate

    return translate("ja", f"role.{role}")


def test_the_matrix_page_shows_the_team_leader_flag_and_its_actions(testapp, people):
    from pyramid.authorization import ACLHelper

    from intranet.resources import Root
    from intranet.security import matrix, principals, report

    built = report.build()
    # The survey servicer's 取扱責任者 carries the flag too (incident reports, issue 25).
    assert built.team_leader_roles == (Role.operator, Role.contractor)

    class Context:
        __acl__ = Root.__acl__(None)

    def permits(held, permission):
        return bool(ACLHelper().permits(Context(), ["system.Everyone", "system.Authenticated", *held], permission))

    for role in built.team_leader_roles:
        held = matrix.role_principal(role)
        leader = [held, principals.TEAM_LEADER, principals.team_leader_role(role)]
        for row in built.actions:
            if row.cells[role] == report.TEAM_LEADER:
                assert permits(leader, row.detail) and not permits([held], row.detail)
            elif row.cells[role] is None:
                assert not permits(leader, row.detail)
    login(testapp, "audit")
    res = testapp.get("/audit/matrix")
    assert res.html.select_one("#matrix-team-leader-roles td").text == "、".join(
        _role_label(r) for r in (Role.operator, Role.contractor))
    cells = {(tr["data-key"], td["data-role"]): td.text for tr in res.html.select("#matrix-actions tbody tr")
             for td in tr.select("td")}
    assert cells[("calls:reports:team", "operator")] == "○（責任者）"
    assert cells[("calls:reports:team", "collector")] == "—"
    assert cells[("admin:training:record", "operator")] == "○（責任者・自社の他の利用者又は自社の報告）"
    assert cells[("calls:reports:team", "contractor")] == "—"   # a survey leader has no call figures
    assert cells[("incidents:reports:file", "contractor")] == cells[("incidents:reports:file", "operator")] == "○（責任者）"
    assert cells[("admin:training:record", "collector")] == "○（管理者）"
    assert cells[("admin:training:view", "auditor")] == "○"
    assert cells[("admin:training:record", "auditor")] == "—"
    assert cells[("admin:training:record", "contractor")] == "—"


def test_an_upload_instead_of_a_date_is_a_bad_input_not_an_error(testapp, people, dbsession):
    login(testapp, "boss")
    url = _url(people, "new")
    res = testapp.post(url, {"csrf_token": csrf_token(testapp, url), "course": "c", "trainer": "t"},
                       upload_files=[("trained_on", "d.txt", b"2026-11-20"), ("next_due", "e.txt", b"x")],
                       status=400)
    assert "受講日を YYYY-MM-DD" in res.text and _records(dbsession, people["new"]) == []
