"""User administration is for supervisors; auditors read the list."""
import datetime as dt

import pytest

from intranet.models import Role
from tests import factories
from tests.helpers import login


def test_supervisor_sees_users_with_lock_and_validity(testapp, dbsession, password_context, clock):
    factories.user(dbsession, password_context, Role.collector, login="boss", is_supervisor=True)
    factories.user(dbsession, password_context, Role.contractor, login="gone",
                   valid_until=clock.now() - dt.timedelta(days=1))
    locked = factories.user(dbsession, password_context, Role.operator, login="locked")
    locked.locked_until = clock.now() + dt.timedelta(minutes=10)
    dbsession.commit()
    login(testapp, "boss")
    assert "ユーザー管理" in testapp.get("/").text
    res = testapp.get("/admin/users/")
    rows = {tr.select("td")[0].text: tr.text for tr in res.html.select("tbody tr")}
    assert set(rows) == {"boss", "gone", "locked"}
    assert "ロック中" in rows["locked"] and "利用不可" in rows["gone"] and "利用可" in rows["boss"]


@pytest.mark.parametrize("role", [Role.collector, Role.operator, Role.contractor])
def test_others_are_denied(testapp, dbsession, password_context, role):
    factories.user(dbsession, password_context, role, login="u")
    dbsession.commit()
    login(testapp, "u")
    testapp.get("/admin/users/", status=403)
    assert "ユーザー管理" not in testapp.get("/").text


def test_auditors_read_the_user_list(testapp, dbsession, password_context):
    factories.user(dbsession, password_context, Role.auditor, login="audit")
    dbsession.commit()
    login(testapp, "audit")
    res = testapp.get("/admin/users/")
    assert [tr.select("td")[0].text for tr in res.html.select("tbody tr")] == ["audit"]
    assert not res.html.select('form[method="post"][action^="/admin"]')
