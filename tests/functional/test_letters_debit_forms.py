"""A letter batch encloses a 口座振替依頼書 for the cases whose direct-debit
application waits for one (勧奨済・不備; issue 20): the letter says so, the
application moves to 申込書送付 via the batch, the batch page counts them."""
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from intranet.calls import campaigns
from intranet.models import (
    ApplicationState as S, CallCampaign, CampaignStatus, DirectDebitApplication, DirectDebitStep,
    FormSentVia, LetterBatch, Role, User,
)
from tests import factories
from tests.helpers import entries_since, log_mark, login

ENCLOSED = "同封物: 口座振替依頼書"


def pdf_pages(body: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(body)).pages]


@pytest.fixture
def world(dbsession, password_context, clock):
    """Four cases a letter may go to (no phone, in a running campaign): one
    encouraged, one with no application, one whose form came back incomplete,
    one already registered."""
    c1 = factories.user(dbsession, password_context, Role.collector, login="c1")
    names = {"encouraged": "同封 勧奨", "none": "同封 なし", "deficient": "同封 不備",
             "registered": "同封 登録"}
    cases = {key: factories.owed_case(dbsession, name=name, phone=None, amount=20_000)
             for key, name in names.items()}
    campaign = CallCampaign(name="同封", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    since = dt.date(2026, 11, 2)
    apps = {}
    for key in ("encouraged", "deficient", "registered"):
        state = S(key)
        app = DirectDebitApplication(case_id=cases[key].id, state=state, state_since=since,
                                     encouraged_on=since, encouraged_by=c1.id,
                                     registered_on=since if state == S.registered else None)
        app.steps.append(DirectDebitStep(state=state, happened_on=since, note="",
                                         recorded_by=c1.id, recorded_at=clock.now()))
        dbsession.add(app)
        apps[key] = app
    dbsession.commit()
    return {"cases": cases, "apps": {k: a.id for k, a in apps.items()}, "names": names}


def _submit(testapp, enclose: bool):
    login(testapp, "c1")
    form = testapp.get("/letters/").forms["letters-form"]
    assert len(form.fields["case_no"]) == 4
    assert form["enclose_debit_form"].checked is False   # never by default
    form["enclose_debit_form"].checked = enclose
    form["deadline"] = "2026-12-08"
    return form.submit(status=303).follow()


def _steps(dbsession, app_id):
    return dbsession.scalars(sa.select(DirectDebitStep).where(
        DirectDebitStep.application_id == app_id).order_by(DirectDebitStep.id)).all()


def _state(dbsession, app_id):
    return dbsession.scalar(sa.select(DirectDebitApplication.state).where(
        DirectDebitApplication.id == app_id))


def test_the_form_goes_with_the_letters_of_cases_awaiting_one(testapp, world, dbsession, engine, clock):
    mark = log_mark(engine)
    page = _submit(testapp, enclose=True)
    batch = dbsession.scalars(sa.select(LetterBatch)).one()
    assert batch.letters == 4
    # the batch page counts the forms enclosed
    assert page.html.select_one("#batch-debit-forms").text == "口座振替依頼書の同封: 2通"
    events = [e for e in entries_since(engine, mark) if e.event == "document.letters"]
    assert len(events) == 1 and '"debit_forms": 2' in events[0].detail
    # encouraged and deficient move to 申込書送付 via this batch, dated today
    apps = world["apps"]
    for key in ("encouraged", "deficient"):
        assert _state(dbsession, apps[key]) == S.form_sent
        last = _steps(dbsession, apps[key])[-1]
        assert (last.state, last.via, last.batch_id, last.happened_on) == (
            S.form_sent, FormSentVia.letter_batch, batch.id, clock.today())
        assert len(_steps(dbsession, apps[key])) == 2
    # registered stays as it was, without a step
    assert _state(dbsession, apps["registered"]) == S.registered
    assert len(_steps(dbsession, apps["registered"])) == 1
    # the case without an application gets none, and no step anywhere else
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(DirectDebitApplication)) == 3
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(DirectDebitStep).where(
        DirectDebitStep.batch_id == batch.id)) == 2
    # the PDF: the enclosure line and its instruction on those two letters only
    pages = pdf_pages(testapp.get(page.request.path.rstrip("/") + "/pdf").body)
    by_name = {key: next(p for p in pages if f"{name} 様" in p)
               for key, name in world["names"].items()}
    for key in ("encouraged", "deficient"):
        assert ENCLOSED in by_name[key] and "返送" in by_name[key], by_name[key]
        assert "差押え" in by_name[key]   # the rest of the letter is still there
    for key in ("none", "registered"):
        assert "口座振替" not in by_name[key], by_name[key]


def test_unchecked_nothing_is_enclosed_and_no_application_moves(testapp, world, dbsession, engine):
    mark = log_mark(engine)
    page = _submit(testapp, enclose=False)
    assert page.html.select_one("#batch-debit-forms") is None
    events = [e for e in entries_since(engine, mark) if e.event == "document.letters"]
    assert len(events) == 1 and "debit_forms" not in events[0].detail
    for key, app_id in world["apps"].items():
        assert _state(dbsession, app_id) == S(key)
        assert len(_steps(dbsession, app_id)) == 1
    pages = pdf_pages(testapp.get(page.request.path.rstrip("/") + "/pdf").body)
    assert len(pages) == 4 and not any("口座振替" in p for p in pages)


def test_no_letter_no_form(testapp, world, dbsession, password_context, clock, monkeypatch):
    """A case offered on the form but owing nothing when the batch is made
    (paid in between) gets no letter, so neither a form nor a step."""
    from intranet.documents import views

    paid = factories.case(dbsession, name="同封 完納", phone=None)
    c1 = dbsession.scalars(sa.select(User).where(User.login == "c1")).one()
    app = DirectDebitApplication(case_id=paid.id, state=S.encouraged, state_since=dt.date(2026, 11, 2),
                                 encouraged_on=dt.date(2026, 11, 2), encouraged_by=c1.id)
    app.steps.append(DirectDebitStep(state=S.encouraged, happened_on=dt.date(2026, 11, 2), note="",
                                     recorded_by=c1.id, recorded_at=clock.now()))
    dbsession.add(app)
    dbsession.commit()
    original = views._candidates
    monkeypatch.setattr(views, "_candidates", lambda request: original(request) + [
        request.dbsession.get(type(paid), paid.id)])
    login(testapp, "c1")
    form = testapp.get("/letters/").forms["letters-form"]
    assert len(form.fields["case_no"]) == 5
    form["enclose_debit_form"].checked = True
    page = form.submit(status=303).follow()
    assert dbsession.scalars(sa.select(LetterBatch)).one().letters == 4
    assert page.html.select_one("#batch-debit-forms").text == "口座振替依頼書の同封: 2通"
    assert _state(dbsession, app.id) == S.encouraged and len(_steps(dbsession, app.id)) == 1
