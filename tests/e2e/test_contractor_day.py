"""A field investigator's day on a tablet (768×1024): log in with the key,
see only their own targets, file a report with a photo, and be locked out
after five idle minutes."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import webtest
from PIL import Image

from intranet.models import Contract, Residency, Role, ScreeningFlag, SurveyPhoto, SurveyReport
from tests import factories
from tests.e2e.conftest import TABLET, log_in_with_key, register_key, usb_key, violations
from tests.helpers import csrf_token, login


@pytest.fixture(scope="module")
def people(served):
    app, _ = served
    session = app.registry["dbsession_factory"]()
    context = app.registry.password_context
    boss = factories.user(session, context, Role.collector, login="boss", is_supervisor=True)
    k1 = factories.user(session, context, Role.contractor, login="k1")
    k2 = factories.user(session, context, Role.contractor, login="k2")
    contract = Contract(organisation_id=k1.organisation_id, name="現地調査", purpose="居住確認",
                        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2027, 1, 31),
                        manager_name="責任者", handler_names="k1\nk2", protections="",
                        training_required=False, created_by=boss.id, created_at=dt.datetime(2026, 11, 1))
    session.add(contract)
    session.flush()
    k1.contract_id = k2.contract_id = contract.id
    # seed 004: movers-out owing overdue tax, with no phone (issue 20)
    mine = factories.owed_case(session, name="調査 一郎", phone=None, residency=Residency.moved_out,
                               address="大阪府大阪市北区梅田1丁目")
    theirs = factories.owed_case(session, name="別件 花子", phone=None, residency=Residency.moved_out,
                                 address="北海道札幌市中央区北1条西2丁目")
    session.commit()
    data = {"k1": k1.id, "contract": contract.id, "mine": mine.case_no, "theirs": theirs.case_no}
    ids = {"k1": k1.id, "k2": k2.id}
    session.close()
    staff = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    login(staff, "boss")
    res = staff.post("/survey/batches/", {"csrf_token": csrf_token(staff, "/survey/batches/"),
                                          "contract_id": str(data["contract"]), "name": "11月 区外転出者",
                                          "deadline": "2026-12-25"}, status=303).follow()
    path = res.request.path.rstrip("/") + "/"
    for area, who in (("大阪府", ids["k1"]), ("北海道", ids["k2"])):
        staff.post(path + "assign", {"csrf_token": csrf_token(staff, path), "area": area,
                                     "investigator_id": str(who)}, status=303)
    staff.post(path + "open", {"csrf_token": csrf_token(staff, path)}, status=303)
    return data


def photo(tmp_path):
    path = tmp_path / "entrance.jpg"
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 200)).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return path


@pytest.mark.viewport(TABLET)
def test_an_investigator_reports_on_a_tablet_and_is_locked_when_idle(served, page, people, shot, tmp_path):
    app, origin = served
    usb_key(page)
    register_key(page, origin, "boss", factories.PASSWORD, people["k1"], "KEY-K1")
    log_in_with_key(page, origin, "k1", factories.PASSWORD)

    page.goto(f"{origin}/survey/")
    shot(page, "01-my-targets")
    assert violations(page) == []
    assert "大阪府" in page.inner_text("main") and "北海道" not in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]  # no sideways scroll
    for case_no in (people["theirs"], people["mine"]):   # investigators never open case pages
        assert page.goto(f"{origin}/cases/{case_no}/").status in (403, 404)

    page.goto(f"{origin}/survey/")
    with page.expect_navigation():
        page.click("main a[href*='/survey/targets/']")
    page.fill("#visited_at", "2026-11-24T09:45")
    for name, value in (("residence", "lives"), ("nameplate", "present"), ("tenure", "rented")):
        page.check(f"input[name={name}][value={value}]")
    page.fill("#nameplate_name", "調査")
    page.set_input_files("#photos", str(photo(tmp_path)))
    # A memo naming a religion, a welfare status and a criminal record (seed
    # 004 収集禁止事項, issue 23): refused, the words highlighted, nothing stored.
    page.fill("#memo", "本人は創価学会の会員で生活保護を受けており前科がある")
    shot(page, "02-report-form")
    assert violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")
    shot(page, "03-screening-hit")
    assert page.locator("#screening-hits").is_visible()
    assert sorted(page.locator("#screening-hits mark").all_inner_texts()) == ["前科", "創価学会", "生活保護"]
    assert violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    session = app.registry["dbsession_factory"]()
    assert session.query(SurveyReport).count() == 0
    session.close()
    # the investigator rewrites the memo (the rest of the form is kept; the
    # photo is chosen again) and files the report
    assert page.input_value("#nameplate_name") == "調査"
    assert page.is_checked("input[name=residence][value=lives]")
    page.fill("#memo", "在宅。表札あり。")
    page.set_input_files("#photos", str(photo(tmp_path)))
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")
    shot(page, "04-report-filed")
    session = app.registry["dbsession_factory"]()
    assert session.query(SurveyReport).count() == 1 and session.query(SurveyPhoto).count() == 1
    assert session.query(ScreeningFlag).count() == 0
    session.close()

    app.registry.clock.advance(minutes=5, seconds=1)   # the tablet lies idle
    page.goto(f"{origin}/survey/")
    assert "/login" in page.url
    shot(page, "05-locked")
