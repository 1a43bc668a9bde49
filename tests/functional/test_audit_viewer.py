"""The auditors' access-log viewer."""
import pytest

from intranet.models import Role
from intranet.security.matrix import ROLE_ACTIONS
from intranet.security.permissions import Permission
from tests import factories
from tests.helpers import log_mark, entries_since, login


@pytest.fixture
def people(dbsession, password_context):
    users = {role: factories.user(dbsession, password_context, role, login=f"{role}-a")
             for role in Role}
    cases = [factories.case(dbsession, name=f"閲覧 {i}") for i in range(3)]
    factories.campaign(dbsession, cases[:1])
    dbsession.commit()
    return users, cases


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_the_matrix_allows_can_open_the_log(testapp, people, role):
    login(testapp, f"{role}-a")
    allowed = Permission.AuditLogView in ROLE_ACTIONS[role]
    res = testapp.get("/audit/", status=200 if allowed else 403)
    nav = res.html.select_one("nav")
    assert ("アクセスログ" in nav.text) == allowed
    testapp.get("/audit/1", status=200 if allowed else (403, 404))
    assert allowed == (role == Role.auditor)


def test_who_viewed_case_x_is_one_click_from_the_case_page(testapp, people, engine):
    users, cases = people
    target = cases[0]
    # a collector opens the case page, an operator lists it, someone else opens another case
    login(testapp, "collector-a")
    testapp.get(f"/cases/{target.case_no}/")
    testapp.get(f"/cases/{cases[1].case_no}/")
    login(testapp, "operator-a")
    testapp.get("/cases/")
    login(testapp, "auditor-a")
    page = testapp.get(f"/cases/{target.case_no}/")
    link = page.html.find("a", string="この案件の閲覧履歴")
    mark = log_mark(engine)
    res = testapp.get(link["href"])
    rows = res.html.select("table.data tbody tr")
    logins = [row.select("td")[2].text for row in rows]
    # newest first: the auditor's own view, the operator's list, the collector's page
    assert logins == ["auditor-a", "operator-a", "collector-a"]
    # viewing the log is itself logged
    (entry,) = entries_since(engine, mark, kind="request")
    assert entry.path == "/audit/" and entry.query == f"case_no={target.case_no}"
    assert entry.permission == Permission.AuditLogView


def test_search_filters_and_entry_page(testapp, people, engine):
    users, cases = people
    login(testapp, "collector-a", password="Wrong-Password-1")
    login(testapp, "collector-a")
    testapp.get(f"/cases/{cases[2].case_no}/")
    testapp.get("/cases/2026-999999/", status=404)
    login(testapp, "auditor-a")
    res = testapp.get("/audit/", {"login": "collector-a", "outcome": "failure"})
    assert "ログイン失敗" in res.text and len(res.html.select("table.data tbody tr")) == 1
    res = testapp.get("/audit/", {"login": "COLLECTOR-A", "outcome": "not_found"})
    (row,) = res.html.select("table.data tbody tr")
    assert "/cases/2026-999999/" in row.text
    res = testapp.get("/audit/", {"role": "collector", "path": "/cases/", "kind": "request",
                                  "case_no": cases[2].case_no})
    (row,) = res.html.select("table.data tbody tr")
    entry = testapp.get(row.find("a")["href"])
    assert cases[2].case_no in entry.text and "case:page:view" in entry.text
    assert "intranet.cases.views.case_detail" in entry.text
    assert "本人特定" in entry.text  # facets by their labels
    res = testapp.get("/audit/", {"date_from": "2026-11-24", "date_to": "2026-11-24",
                                  "login": "collector-a"})
    assert len(res.html.select("table.data tbody tr")) >= 4
    res = testapp.get("/audit/", {"date_from": "2026-11-25", "login": "collector-a"})
    assert res.html.select("table.data tbody tr") == []


@pytest.mark.parametrize("params", [
    {"date_from": "2026-13-45"}, {"role": "root"}, {"outcome": "<script>"}, {"login": "x" * 500},
])
def test_bad_search_terms_get_a_clear_400(testapp, people, params):
    login(testapp, "auditor-a")
    res = testapp.get("/audit/", params, status=400)
    assert "検索条件に誤りがあります" in res.text
    assert "<script>" not in res.text


@pytest.mark.parametrize("path", ["/audit/999999999", "/audit/abc", "/audit/" + "9" * 40])
def test_missing_entries_are_404(testapp, people, path):
    login(testapp, "auditor-a")
    testapp.get(path, status=404)


def test_log_pages_in_fifties(testapp, people):
    login(testapp, "auditor-a")
    for _ in range(60):
        testapp.get("/")
    res = testapp.get("/audit/", {"login": "auditor-a", "path": "/"})
    assert len(res.html.select("table.data tbody tr")) == 50
    nxt = res.html.find("a", string="次へ")
    res = testapp.get(nxt["href"])
    assert "login=auditor-a" in nxt["href"]
    assert len(res.html.select("table.data tbody tr")) >= 10
