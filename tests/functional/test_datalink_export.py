"""Exporting work back to the delinquency system: since the last export, recorded, logged."""
import datetime as dt
import io
import zipfile

import sqlalchemy as sa

from intranet.calls import campaigns
from intranet.models import (
    CallAttempt, CallCampaign, CallTarget, CampaignStatus, DataExport, Disposition, Handover,
    HandoverStatus, Role,
)
from tests import factories
from tests.helpers import csrf_token, entries_since, log_mark, login


def test_export_since_the_last_one(testapp, dbsession, password_context, clock, engine):
    c1 = factories.user(dbsession, password_context, Role.collector, login="c1")
    op = factories.user(dbsession, password_context, Role.operator, login="op")
    case = factories.owed_case(dbsession, name="出力 太郎", phone="03-4444-0001")
    campaign = CallCampaign(name="出力", status=CampaignStatus.active, starts_on=dt.date(2026, 11, 1),
                            ends_on=dt.date(2026, 12, 31), created_at=clock.now())
    dbsession.add(campaign)
    dbsession.flush()
    campaigns.build(dbsession, campaign, campaigns.CampaignFilter(), clock.today(), clock.now())
    target = dbsession.scalars(sa.select(CallTarget)).one()
    dbsession.add(CallAttempt(target_id=target.id, operator_id=op.id, called_at=clock.now(),
                              phone_number="03-4444-0001", disposition=Disposition.consultation,
                              memo="分納の相談"))
    dbsession.add(Handover(case_id=case.id, target_id=target.id, reason="分納の相談", created_by=op.id,
                           created_at=clock.now(), status=HandoverStatus.open))
    dbsession.commit()
    assert c1.id
    login(testapp, "c1")
    clock.advance(minutes=5)
    token = csrf_token(testapp, "/datalink/export")
    mark = log_mark(engine)
    res = testapp.post("/datalink/export", {"csrf_token": token})
    assert res.content_type == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(res.body))
    calls = files.read("call_results.csv").decode("utf-8-sig").splitlines()
    assert len(calls) == 2 and case.case_no in calls[1] and "consultation" in calls[1]
    assert "分納の相談" in files.read("handovers.csv").decode("utf-8-sig")
    request_entry, event = entries_since(engine, mark)
    assert [c.case_no for c in request_entry.cases] == [case.case_no]
    assert event.event == "datalink.export"
    # the next export starts where this one ended: nothing new
    clock.advance(minutes=5)
    res = testapp.post("/datalink/export", {"csrf_token": csrf_token(testapp, "/datalink/export")})
    calls = zipfile.ZipFile(io.BytesIO(res.body)).read("call_results.csv").decode("utf-8-sig").splitlines()
    assert len(calls) == 1
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(DataExport)) == 2
    assert "SHA-256" in testapp.get("/datalink/export").text
    login(testapp, "op")
    testapp.get("/datalink/export", status=403)
