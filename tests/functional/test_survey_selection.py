"""Survey selection as seed 004 means it (issue 20): 区外に転出した滞納者で
「電話、郵便等で接触できない」者. Each rule is shown by a case that fails only
that rule; the issue's two examples (a case owing only an installment not yet
due; a case with a mobile number and a staff contact the day before) are not
candidates. Collectors see why each candidate is eligible, untick or add cases
one by one, and remove or add targets of a draft batch (SQLite and PostgreSQL)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from intranet.models import (
    BatchState, CallBlock, CallRecord, ContactKind, ContactRecord, Contract, Counterpart,
    DocumentKind, IssuedDocument, Residency, Role, StatusKind, StatusPeriod, SurveyBatch,
    SurveyTarget,
)
from intranet.config import SettingsError
from intranet.survey import selection
from intranet.survey.batches import MAX_TARGETS
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login, typed_settings

TODAY = dt.date(2026, 11, 24)
NOW = dt.datetime(2026, 11, 24, 0, 30)


def mover(dbsession, name, **kw):
    """Eligible on its own: moved out, 本税 overdue since June, no phone, no talk."""
    kw.setdefault("phone", None)
    kw.setdefault("residency", Residency.moved_out)
    kw.setdefault("address", "大阪府大阪市北区梅田1丁目")
    return factories.owed_case(dbsession, name=name, **kw)


def talk(dbsession, case, at, counterpart=Counterpart.taxpayer, conversation=True,
         kind=ContactKind.phone):
    dbsession.add(ContactRecord(case_id=case.id, kind=kind, occurred_at=at,
                                counterpart_kind=counterpart, conversation=conversation,
                                content="", staff_name="職員"))


def returned(dbsession, case, on=dt.date(2026, 11, 1)):
    from intranet.models import User
    uid = dbsession.scalar(sa.select(User.id).limit(1))
    dbsession.add(IssuedDocument(kind=DocumentKind.slip, doc_no=f"S-{case.id}", case_id=case.id,
                                 issued_by=uid, issued_at=dt.datetime(2026, 10, 20),
                                 deadline=dt.date(2026, 11, 30), installments="[]", tax_total=1,
                                 late_charge_total=0, returned_on=on, return_reason="moved"))


@pytest.fixture
def boss(dbsession, password_context):
    return factories.user(dbsession, password_context, Role.collector, login="boss")


@pytest.fixture
def world(dbsession, boss):
    c = {}
    c["eligible"] = mover(dbsession, "適格 一郎")
    # 1 overdue: the first example, only an installment not yet due
    c["future_only"] = mover(dbsession, "将来 二郎", due=dt.date(2026, 12, 25))
    # paid in full: nothing overdue
    c["paid"] = mover(dbsession, "完納 三郎")
    inst = c["paid"].assessments[0].installments[0]
    from intranet.models import Receipt, ReceiptKind
    inst.receipts.append(Receipt(kind=ReceiptKind.tax, amount=inst.tax_amount,
                                 received_on=dt.date(2026, 6, 20)))
    # 2 moved out
    c["in_ward"] = mover(dbsession, "区内 四郎", residency=Residency.ward,
                         address="東京都新宿区西新宿1丁目")
    # 3 not excluded: a status in force, a plan flag, an open batch
    c["bankrupt"] = mover(dbsession, "破産 五郎")
    dbsession.add(StatusPeriod(case_id=c["bankrupt"].id, kind=StatusKind.bankruptcy,
                               starts_on=dt.date(2026, 10, 1), legal_basis="破産法", reason="",
                               recorded_at=NOW, approved_at=NOW))
    c["installment_flag"] = mover(dbsession, "分納 六郎", call_block=CallBlock.installment)
    c["do_not_call"] = mover(dbsession, "拒否 七郎", call_block=CallBlock.do_not_call)  # still eligible
    # 4 not reachable
    c["usable_phone"] = mover(dbsession, "電話 八郎", phone="090-1111-2222")
    c["unusable_phone"] = mover(dbsession, "番号違 九郎", phone="090-1111-3333")
    c["unusable_phone"].taxpayer.phones[0].unusable = True
    c["phone_and_return"] = mover(dbsession, "返戻 十郎", phone="090-1111-4444")
    # 5 no recent conversation
    c["talked"] = mover(dbsession, "会話 十一")
    talk(dbsession, c["talked"], NOW - dt.timedelta(days=1))
    c["talked_long_ago"] = mover(dbsession, "会話 十二")
    talk(dbsession, c["talked_long_ago"], NOW - dt.timedelta(days=61))
    c["family_only"] = mover(dbsession, "家族 十三")
    talk(dbsession, c["family_only"], NOW - dt.timedelta(days=1), counterpart=Counterpart.family)
    c["no_answer"] = mover(dbsession, "不在 十四")
    talk(dbsession, c["no_answer"], NOW - dt.timedelta(days=1), conversation=False)
    c["reached_call"] = mover(dbsession, "架電 十五")
    dbsession.add(CallRecord(case_id=c["reached_call"].id, called_at=NOW - dt.timedelta(days=3),
                             result="promise", note=""))
    c["imported_talk"] = mover(dbsession, "交渉 十六")
    dbsession.add(ContactRecord(case_id=c["imported_talk"].id, kind=ContactKind.negotiation,
                                occurred_at=NOW - dt.timedelta(days=10), content=""))
    # the second example: a mobile number and a staff contact the day before
    c["example_two"] = mover(dbsession, "例示 十七", phone="080-9999-0000")
    talk(dbsession, c["example_two"], NOW - dt.timedelta(days=1), kind=ContactKind.visit)
    dbsession.flush()
    returned(dbsession, c["phone_and_return"])
    dbsession.commit()
    return c


EXPECTED = {
    "eligible": [], "future_only": ["survey.rule.not_overdue"], "paid": ["survey.rule.not_overdue"],
    "in_ward": ["survey.rule.not_moved_out"], "bankrupt": ["survey.rule.excluded"],
    "installment_flag": ["survey.rule.excluded"], "do_not_call": [],
    "usable_phone": ["survey.rule.reachable"], "unusable_phone": [], "phone_and_return": [],
    "talked": ["survey.rule.recent_conversation"], "talked_long_ago": [], "family_only": [],
    "no_answer": [], "reached_call": ["survey.rule.recent_conversation"],
    "imported_talk": ["survey.rule.recent_conversation"],
    "example_two": ["survey.rule.reachable", "survey.rule.recent_conversation"],
}


def test_each_rule_is_shown_by_a_case_failing_only_that_rule(dbsession, world):
    checked = selection.check(dbsession, [c.id for c in world.values()], TODAY)
    assert {name: checked[c.id].failures for name, c in world.items()} == EXPECTED
    chosen = {c.case.id for c in selection.candidates(dbsession, TODAY)}
    assert chosen == {world[name].id for name, failures in EXPECTED.items() if not failures}


def test_the_number_of_days_without_conversation_is_a_setting(dbsession, world):
    assert world["talked_long_ago"].id in {c.case.id for c in selection.candidates(dbsession, TODAY)}
    assert world["talked_long_ago"].id not in {
        c.case.id for c in selection.candidates(dbsession, TODAY, days=90)}
    assert world["talked"].id not in {c.case.id for c in selection.candidates(dbsession, TODAY, days=1)}
    for bad in ("0", "-1", "abc", "4000"):
        with pytest.raises(SettingsError, match="intranet.survey.no_contact_days"):
            typed_settings(**{"intranet.survey.no_contact_days": bad})
    assert typed_settings().survey.no_contact_days == 60


def test_an_open_batch_keeps_its_cases_out_of_the_next(dbsession, world, boss):
    contract = _contract(dbsession, boss)
    batch = SurveyBatch(contract_id=contract.id, name="前回", deadline=dt.date(2026, 12, 20),
                        state=BatchState.open, created_by=boss.id, created_at=NOW)
    dbsession.add(batch)
    dbsession.flush()
    dbsession.add(SurveyTarget(batch_id=batch.id, case_id=world["eligible"].id, area="大阪府大阪市",
                               state="pending"))
    dbsession.commit()
    failures = selection.check(dbsession, [world["eligible"].id], TODAY)[world["eligible"].id].failures
    assert failures == ["survey.rule.excluded"]


def _contract(dbsession, boss):
    contract = Contract(organisation_id=boss.organisation_id, name="現地調査R8", purpose="居住確認",
                        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31),
                        manager_name="責任者", handler_names="k1", protections="",
                        training_required=False, created_by=boss.id, created_at=NOW)
    dbsession.add(contract)
    dbsession.flush()
    return contract


def test_collectors_see_why_untick_and_add_by_number_then_edit_the_draft(
        testapp, dbsession, world, boss, engine):
    contract = _contract(dbsession, boss)
    dbsession.commit()
    login(testapp, "boss")
    page = testapp.get("/survey/batches/candidates")
    rows = {tr["data-case"]: tr for tr in page.html.select("#candidates tbody tr[data-case]")}
    assert set(rows) == {world[n].case_no for n, f in EXPECTED.items() if not f}
    eligible = rows[world["eligible"].case_no]
    assert "2026-06-30" in eligible.select_one("[data-rule=overdue]").text
    assert eligible.select_one("[data-rule=no_phone]") is not None
    assert "2026-11-01" in rows[world["phone_and_return"].case_no].select_one("[data-rule=returned]").text
    assert rows[world["phone_and_return"].case_no].select_one("[data-rule=no_phone]") is None
    assert "区外転出" in eligible.text

    # an ineligible case added by number: refused with why, nothing created
    form = page.forms["candidates-form"]
    form["contract_id"] = str(contract.id)
    form["name"] = "12月 区外転出者"
    form["deadline"] = "2026-12-25"
    form["case_nos"] = f"{world['example_two'].case_no}\n9999-999999"
    res = form.submit(status=400)
    refused = {tr.select("td")[0].text: tr.select("td")[1].text for tr in res.html.select("#refused tr")[1:]}
    assert "使用できる電話番号があり" in refused[world["example_two"].case_no]
    assert "会話あり" in refused[world["example_two"].case_no]
    assert "該当する事案がない" in refused["9999-999999"]
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(SurveyBatch)) == 0

    # untick one and create the draft
    form = res.forms["candidates-form"]
    form["case_nos"] = ""
    for box in form.fields["case_id"]:
        if box._value == str(world["talked_long_ago"].id):
            box.checked = False
    mark = log_mark(engine)
    draft = form.submit(status=303).follow()
    batch = dbsession.scalars(sa.select(SurveyBatch)).one()
    taken = {t.case_id for t in batch.targets}
    assert world["talked_long_ago"].id not in taken
    assert world["eligible"].id in taken and batch.state == BatchState.draft
    assert [e.event for e in entries_since(engine, mark, "event")] == ["survey.batch.created"]

    # remove one target, add one back by number, refuse an ineligible one
    path = draft.request.path
    target = next(t for t in batch.targets if t.case_id == world["eligible"].id)
    testapp.post(path + "remove", {"csrf_token": csrf_token(testapp, path),
                                   "target_id": str(target.id)}, status=303)
    res = testapp.post(path + "add", {"csrf_token": csrf_token(testapp, path),
                                      "case_no": world["future_only"].case_no}, status=400)
    assert "納期限を過ぎた未納がない" in res.html.select_one("#batch-errors").text
    testapp.post(path + "add", {"csrf_token": csrf_token(testapp, path),
                                "case_no": world["talked_long_ago"].case_no}, status=303)
    res = testapp.post(path + "add", {"csrf_token": csrf_token(testapp, path),
                                      "case_no": world["talked_long_ago"].case_no}, status=400)
    assert "すでにこのバッチ" in res.text
    dbsession.expire_all()
    taken = {t.case_id for t in dbsession.get(SurveyBatch, batch.id).targets}
    assert world["eligible"].id not in taken and world["talked_long_ago"].id in taken
    assert world["future_only"].id not in taken

    # once open, targets can no longer be removed or added
    dbsession.get(SurveyBatch, batch.id).state = BatchState.open
    dbsession.commit()
    some = dbsession.get(SurveyBatch, batch.id).targets[0]
    res = testapp.post(path + "remove", {"csrf_token": csrf_token(testapp, path),
                                         "target_id": str(some.id)}, status=400)
    assert "開始前" in res.text
    testapp.post(path + "add", {"csrf_token": csrf_token(testapp, path),
                                "case_no": world["eligible"].case_no}, status=400)
    dbsession.expire_all()
    assert len(dbsession.get(SurveyBatch, batch.id).targets) == len(taken)


def test_more_than_500_ticked_are_refused(testapp, dbsession, boss):
    contract = _contract(dbsession, boss)
    cases = [mover(dbsession, f"転出 {n}", address="千葉県千葉市中央区") for n in range(MAX_TARGETS + 1)]
    dbsession.commit()
    login(testapp, "boss")
    token = csrf_token(testapp, "/survey/batches/candidates")
    fields = [("csrf_token", token), ("selected", "1"), ("contract_id", str(contract.id)),
              ("name", "多すぎ"), ("deadline", "2026-12-25")]
    fields += [("case_id", str(c.id)) for c in cases]
    res = testapp.post("/survey/batches/", fields, status=400)
    assert "最大500件" in res.text
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(SurveyBatch)) == 0
    testapp.post("/survey/batches/", fields[:-1], status=303)


def test_only_survey_managers_see_candidates(testapp, dbsession, password_context, world):
    for role, name in ((Role.operator, "op"), (Role.auditor, "au"), (Role.contractor, "inv")):
        factories.user(dbsession, password_context, role, login=name)
    dbsession.commit()
    for name in ("op", "au"):
        login(testapp, name)
        res = testapp.get("/survey/batches/candidates", status=403)
        assert world["eligible"].taxpayer.name not in res.text
