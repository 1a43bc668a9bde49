"""口座振替の申込追跡 (issue 20): an operator's or collector's 口座振替の案内
opens an application that goes 申込書送付 → 返送受付 (→ 不備 → 再送) and
becomes 登録済 only when the data link's direct_debits.csv delivers an
active account registered on or after the encouragement (SQLite and
PostgreSQL).

Practice: wards encourage 口座振替 on every contact with a delinquent
taxpayer and mail the 口座振替依頼書; the bank registers the account and the
tax system learns of it by its own file (docs/collections.md).
"""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.models import (
    ApplicationState, CallAttempt, DirectDebitAccount, DirectDebitApplication, FormSentVia, Role,
)
from tests import factories
from tests.functional import test_calls
from tests.functional.test_call_actions import post_call
from tests.functional.test_calls import next_call, target_id
from tests.helpers import csrf_token, entries_since, log_mark, login

staff, owed, campaign = test_calls.staff, test_calls.owed, test_calls.campaign

DEBIT_HEADER = ("case_no,bank_name,branch_name,account_holder,start_fiscal_year,start_period_no,"
                "cancelled_on,failure_reason")


def _applications(dbsession, case_id=None):
    dbsession.expire_all()
    stmt = sa.select(DirectDebitApplication).order_by(DirectDebitApplication.id)
    if case_id is not None:
        stmt = stmt.where(DirectDebitApplication.case_id == case_id)
    return list(dbsession.scalars(stmt))


def _post(testapp, case, name, status=303, **fields):
    path = f"/cases/{case.case_no}/"
    return testapp.post(path + name, {"csrf_token": csrf_token(testapp, path), **fields},
                        status=status)


def _import_debits(testapp, rows: list[str], header=DEBIT_HEADER):
    login(testapp, "c1")
    fields = {"csrf_token": csrf_token(testapp, "/datalink/"), "encoding": "utf-8"}
    text = "\n".join([header, *rows]) + "\n"
    res = testapp.post("/datalink/", fields,
                       upload_files=[("files", "direct_debits.csv", text.encode())])
    assert res.status_int == 200, res.text
    return res


@pytest.fixture
def people(dbsession, password_context):
    for role, name in ((Role.collector, "c1"), (Role.operator, "op1"), (Role.auditor, "au"),
                       (Role.contractor, "inv")):
        factories.user(dbsession, password_context, role, login=name, training=True)
    dbsession.commit()


def test_an_operators_encouragement_opens_one_application_per_case_and_again_adds_a_step(
        testapp, campaign, dbsession, clock):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    post_call(testapp, tid, result="reached", actions=["promise", "direct_debit"],
              promise_amount="30,000", promise_on="2026-12-10", memo="申込書を送付予定")
    attempt = dbsession.scalars(sa.select(CallAttempt)).one()
    apps = _applications(dbsession)
    assert apps, "the call's direct-debit action opened no application"
    members = {m.case_id for m in attempt.target.members}
    assert {a.case_id for a in apps} == members
    for app in apps:
        assert (app.state, app.encouraged_on, app.attempt_id, app.encouraged_by) == (
            ApplicationState.encouraged, clock.today(), attempt.id, attempt.operator_id)
        assert [s.state for s in app.steps] == [ApplicationState.encouraged]
    # the operator sees the application on the case page (bank_flag facet), no forms
    case_no = attempt.target.members[0].case.case_no
    page = testapp.get(f"/cases/{case_no}/")
    section = page.html.select_one("#debit-applications .debit-application")
    assert section["data-state"] == "encouraged" and "勧奨済" in section.text
    assert page.html.select_one("#debit-encourage-form") is None
    assert page.html.select_one(".debit-step-form") is None
    # an incoming call encouraging again: the same application, one more step
    clock.advance(days=2)
    login(testapp, "op1")
    path = f"/cases/{case_no}/incoming"
    testapp.post(path, [("csrf_token", csrf_token(testapp, path)), ("result", "reached"),
                        ("action", "direct_debit")], status=303)
    [app] = _applications(dbsession, attempt.target.members[0].case_id)
    assert [s.state for s in app.steps] == [ApplicationState.encouraged] * 2
    assert app.encouraged_on == clock.today() - dt.timedelta(days=2)  # the report counts from the first


def test_a_correction_without_the_action_removes_the_untouched_application(
        testapp, campaign, dbsession):
    login(testapp, "op1")
    tid = target_id(next_call(testapp))
    post_call(testapp, tid, result="reached", actions=["direct_debit"])
    original = dbsession.scalars(sa.select(CallAttempt)).one()
    assert _applications(dbsession)
    # corrected, keeping the action: the application follows the correction
    post_call(testapp, tid, result="reached", actions=["direct_debit", "slip_reissue"],
              corrects=str(original.id))
    correction = dbsession.scalars(sa.select(CallAttempt).where(
        CallAttempt.corrects_id == original.id)).one()
    apps = _applications(dbsession)
    assert {a.attempt_id for a in apps} == {correction.id}
    assert all(len(a.steps) == 1 for a in apps)
    # corrected again, now without it: gone (the call records remain)
    post_call(testapp, tid, result="reached", actions=["slip_reissue"], corrects=str(correction.id))
    assert _applications(dbsession) == []
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(CallAttempt)) == 3


def test_the_collectors_flow_from_counter_to_registration_by_the_data_link(
        testapp, people, dbsession, clock, engine):
    case = factories.owed_case(dbsession, name="口座 振替", phone=None)
    other = factories.owed_case(dbsession, name="別人 次郎", phone=None)
    dbsession.commit()
    mark = log_mark(engine)
    login(testapp, "c1")
    today = clock.today()
    _post(testapp, case, "debit-encourage", on=(today - dt.timedelta(days=20)).isoformat(),
          handed="1", note="窓口で案内")
    [app] = _applications(dbsession, case.id)
    assert app.state == ApplicationState.form_sent
    assert [(s.state, s.via) for s in app.steps] == [
        (ApplicationState.encouraged, None), (ApplicationState.form_sent, FormSentVia.hand)]
    _post(testapp, case, "debit-step", application=str(app.id), state="returned",
          on=(today - dt.timedelta(days=15)).isoformat())
    # 不備 needs what was wrong
    res = _post(testapp, case, "debit-step", status=400, application=str(app.id),
                state="deficient", on=(today - dt.timedelta(days=10)).isoformat())
    assert "不備の内容" in res.html.select_one("#debit-errors").text
    _post(testapp, case, "debit-step", application=str(app.id), state="deficient",
          on=(today - dt.timedelta(days=10)).isoformat(), note="届出印相違")
    _post(testapp, case, "debit-step", application=str(app.id), state="form_sent", via="mail",
          on=(today - dt.timedelta(days=9)).isoformat())
    _post(testapp, case, "debit-step", application=str(app.id), state="returned",
          on=(today - dt.timedelta(days=5)).isoformat())
    [app] = _applications(dbsession, case.id)
    assert [s.state for s in app.steps] == [
        "encouraged", "form_sent", "returned", "deficient", "form_sent", "returned"]
    assert app.state == ApplicationState.returned and app.state_since == today - dt.timedelta(days=5)
    # the follow-up list shows it, waiting 5 days
    row = testapp.get("/cases/debits").html.select_one(f"#debits tr[data-case='{case.case_no}']")
    assert row["data-state"] == "returned" and "口座 振替" in row.text
    # an account for another case registers nothing here; a cancelled one neither
    _import_debits(testapp, [
        f"{other.case_no},みずほ銀行,新宿支店,ベツジン ジロウ,2026,3,,",
        f"{case.case_no},ゆうちょ銀行,〇一八店,コウザ フリカエ,2026,2,{today.isoformat()},",
    ])
    assert _applications(dbsession, case.id)[0].state == ApplicationState.returned
    # the bank registered it: the next file carries the account, with 口座登録日
    _import_debits(testapp, [
        f"{case.case_no},三井住友銀行,新宿支店,コウザ フリカエ,2026,4,,,"
        f"{(today - dt.timedelta(days=2)).isoformat()}",
    ], header=DEBIT_HEADER + ",registered_on")
    [app] = _applications(dbsession, case.id)
    account = dbsession.scalars(sa.select(DirectDebitAccount).where(
        DirectDebitAccount.case_id == case.id, DirectDebitAccount.start_period_no == 4)).one()
    assert (app.state, app.registered_on, app.account_id) == (
        ApplicationState.registered, today - dt.timedelta(days=2), account.id)
    assert app.steps[-1].recorded_by is None and account.first_seen_on == today
    assert _applications(dbsession, other.id) == []
    kinds = [e.event for e in entries_since(engine, mark, "event")]
    assert kinds.count("debit.encouraged") == 1 and kinds.count("debit.step") == 4
    assert kinds.count("debit.registered") == 1 and kinds.count("debit.refused") == 1
    # off the list; the month's cohort counts it registered within 30 days
    page = testapp.get("/cases/debits")
    assert page.html.select_one(f"#debits tr[data-case='{case.case_no}']") is None
    month = (today - dt.timedelta(days=20)).strftime("%Y-%m")
    cohort = page.html.select_one(f"#debit-cohorts tr[data-month='{month}']")
    assert cohort.select("td")[0].text == "1"
    assert cohort.select_one("td[data-days='30']").text.startswith("1（100.0%）")
    # a closed application takes no step
    res = _post(testapp, case, "debit-step", status=400, application=str(app.id),
                state="withdrawn")
    assert "現在の状態" in res.html.select_one("#debit-errors").text


def test_an_account_older_than_the_encouragement_is_not_its_registration(
        testapp, people, dbsession, clock):
    case = factories.owed_case(dbsession, name="既存 口座", phone=None)
    dbsession.commit()
    today = clock.today()
    _import_debits(testapp, [f"{case.case_no},りそな銀行,本店,キゾン コウザ,2025,1,,"])
    clock.advance(days=1)
    login(testapp, "c1")
    _post(testapp, case, "debit-encourage")
    # the same account delivered again after the encouragement
    _import_debits(testapp, [f"{case.case_no},りそな銀行,本店,キゾン コウザ,2025,1,,"])
    [app] = _applications(dbsession, case.id)
    assert app.state == ApplicationState.encouraged and app.encouraged_on == today + dt.timedelta(days=1)
    # without 口座登録日 a new account counts from the day it was first delivered
    _import_debits(testapp, [f"{case.case_no},りそな銀行,本店,キゾン コウザ,2026,1,,"])
    [app] = _applications(dbsession, case.id)
    assert (app.state, app.registered_on) == (ApplicationState.registered, clock.today())


@pytest.mark.parametrize("fields,message", [
    ({"state": "form_sent", "on": "2099-01-01", "via": "mail"}, "未来"),
    ({"state": "form_sent", "on": "2026-02-30", "via": "mail"}, "日付を正しく"),
    ({"state": "form_sent"}, "送付方法"),
    ({"state": "form_sent", "via": "fax"}, "送付方法"),
    ({"state": "registered"}, "現在の状態"),
    ({"state": "deficient"}, "現在の状態"),      # nothing was returned yet
    ({"state": "returned", "note": "x" * 201}, "200文字"),
    ({"state": "returned", "on": "2026-01-01"}, "以降"),
    ({"state": "returned", "application": "999999"}, "見つかりません"),
    ({"state": "returned", "application": "abc"}, "見つかりません"),
])
def test_bad_steps_are_refused_with_a_message_and_nothing_stored(
        testapp, people, dbsession, fields, message):
    case = factories.owed_case(dbsession, phone=None)
    dbsession.commit()
    login(testapp, "c1")
    _post(testapp, case, "debit-encourage")
    [app] = _applications(dbsession, case.id)
    res = _post(testapp, case, "debit-step", status=400,
                **{"application": str(app.id), **fields})
    assert message in res.html.select_one("#debit-errors").text
    [app] = _applications(dbsession, case.id)
    assert app.state == ApplicationState.encouraged and len(app.steps) == 1


def test_an_application_of_another_case_cannot_be_stepped_through_this_one(
        testapp, people, dbsession):
    first = factories.owed_case(dbsession, phone=None)
    second = factories.owed_case(dbsession, phone=None)
    dbsession.commit()
    login(testapp, "c1")
    _post(testapp, first, "debit-encourage")
    [app] = _applications(dbsession, first.id)
    res = _post(testapp, second, "debit-step", status=400, application=str(app.id),
                state="withdrawn")
    assert "見つかりません" in res.text
    assert _applications(dbsession, first.id)[0].state == ApplicationState.encouraged


def test_hostile_notes_are_shown_as_text(testapp, people, dbsession):
    case = factories.owed_case(dbsession, phone=None)
    dbsession.commit()
    login(testapp, "c1")
    hostile = '<script>alert(1)</script>=HYPERLINK("http://x","y")'
    _post(testapp, case, "debit-encourage", note=hostile)
    page = testapp.get(f"/cases/{case.case_no}/")
    assert "<script>alert(1)" not in page.text
    assert hostile in page.html.select_one(".debit-steps").text


def test_who_may_see_and_record(testapp, people, dbsession):
    """Collectors record; auditors read the list and the case; operators see
    the application on cases they reach but change nothing here;
    investigators reach none of it."""
    case = factories.owed_case(dbsession, phone=None)
    dbsession.commit()
    login(testapp, "c1")
    _post(testapp, case, "debit-encourage")
    [app] = _applications(dbsession, case.id)
    login(testapp, "au")
    assert testapp.get("/cases/debits").html.select_one(f"#debits tr[data-case='{case.case_no}']")
    page = testapp.get(f"/cases/{case.case_no}/")
    assert page.html.select_one("#debit-encourage-form") is None
    for name, fields in (("debit-encourage", {}), ("debit-step", {"application": str(app.id),
                                                                   "state": "withdrawn"})):
        _post(testapp, case, name, status=403, **fields)
    login(testapp, "op1")
    testapp.get("/cases/debits", status=403)
    testapp.post(f"/cases/{case.case_no}/debit-encourage",
                 {"csrf_token": csrf_token(testapp, "/")}, status=403)
    login(testapp, "inv")
    testapp.get("/cases/debits", status=403)
    assert len(_applications(dbsession, case.id)[0].steps) == 1


def test_the_list_filters_by_state_and_rejects_unknown_states(testapp, people, dbsession):
    sent = factories.owed_case(dbsession, phone=None)
    waiting = factories.owed_case(dbsession, phone=None)
    dbsession.commit()
    login(testapp, "c1")
    _post(testapp, sent, "debit-encourage", handed="1")
    _post(testapp, waiting, "debit-encourage")
    page = testapp.get("/cases/debits", {"state": "form_sent"})
    assert [tr["data-case"] for tr in page.html.select("#debits tbody tr")] == [sent.case_no]
    assert "申込書送付済 1" in page.html.select_one(".result-count").text
    res = testapp.get("/cases/debits", {"state": "registered"}, status=400)
    assert {tr["data-case"] for tr in res.html.select("#debits tbody tr")} == {sent.case_no,
                                                                               waiting.case_no}


def test_steps_keep_their_order_and_dates(dbsession, people, clock):
    """Unit-level: the domain refuses a step before the current state's day."""
    from intranet.cases import debits

    case = factories.owed_case(dbsession, phone=None)
    dbsession.flush()
    collector = dbsession.scalars(sa.select(factories.User).where(factories.User.login == "c1")).one()
    today = clock.today()
    app = debits.encourage(dbsession, case, collector.id, today, clock.now())
    with pytest.raises(debits.DebitError) as err:
        debits.advance(app, ApplicationState.returned, today - dt.timedelta(days=1), collector.id,
                       clock.now(), today)
    assert err.value.key == "debit.error.before"
    debits.advance(app, ApplicationState.returned, today, collector.id, clock.now(), today)
    assert app.state == ApplicationState.returned
    dbsession.rollback()
