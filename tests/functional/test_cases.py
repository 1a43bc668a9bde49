"""Case list, search and page: behaviour and bad input."""
import pytest

from intranet.models import Role
from tests import factories
from tests.helpers import csrf_token, login


@pytest.fixture
def collector(testapp, dbsession, password_context):
    factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    login(testapp, "c1")
    return testapp


def search(testapp, **terms):
    return testapp.post("/cases/", {"csrf_token": csrf_token(testapp, "/cases/"), **terms}, status="*")


def numbers(res) -> set[str]:
    return {a.text for a in res.html.select("table.data td:first-child a")}


@pytest.fixture
def people(dbsession):
    made = {
        "tanaka": factories.case(dbsession, name="田中 太郎", kana="タナカ タロウ", phone="03-1234-5678",
                                 notice_no="123456789012"),
        "suzuki": factories.case(dbsession, name="鈴木 花子", kana="スズキ ハナコ", phone="090-8765-4321"),
        "nophone": factories.case(dbsession, name="佐藤 次郎", kana="サトウ ジロウ", phone=None),
    }
    dbsession.commit()
    return {k: v.case_no for k, v in made.items()}


@pytest.mark.parametrize("term", ["田中", "田中　太郎", "タナカ", "ﾀﾅｶ", "たなか", "ﾀﾅｶ ﾀﾛｳ"])
def test_name_search_ignores_width_kana_and_spaces(collector, people, term):
    assert numbers(search(collector, name=term)) == {people["tanaka"]}


@pytest.mark.parametrize("term", ["0312345678", "03-1234-5678", "０３－１２３４－５６７８", "1234-5678"])
def test_phone_search_matches_digits_in_any_width(collector, people, term):
    assert numbers(search(collector, phone=term)) == {people["tanaka"]}


def test_notice_number_and_case_number_search(collector, people):
    assert numbers(search(collector, notice_no="１２３４５６７８９０１２")) == {people["tanaka"]}
    assert numbers(search(collector, case_no=people["suzuki"])) == {people["suzuki"]}


def test_search_terms_never_appear_in_the_url(collector, people):
    res = search(collector, name="鈴木")
    assert res.request.method == "POST" and "鈴木" not in res.request.url
    assert 'method="post"' in res.text


def test_hostile_search_terms_are_harmless(collector, people):
    for term in ["%", "_", "' OR 1=1 --", "<script>alert(1)</script>", "\\"]:
        res = search(collector, name=term)
        assert res.status_code == 200 and numbers(res) == set()
        assert "<script>alert(1)</script>" not in res.text


def test_overlong_search_term_gets_a_clear_400(collector, people):
    res = search(collector, name="あ" * 101)
    assert res.status_code == 400 and "100文字以内" in res.text


def test_list_pages_fifty_at_a_time(collector, dbsession):
    for i in range(55):
        factories.case(dbsession, name=f"山本 {i}")
    dbsession.commit()
    first = collector.get("/cases/")
    assert len(numbers(first)) == 50 and "55件" in first.text and "1 / 2 ページ" in first.text
    second = collector.get("/cases/?page=2")
    assert len(numbers(second)) == 5 and not numbers(first) & numbers(second)
    # the pager keeps the search terms in the form body
    res = search(collector, name="山本", page="2")
    assert len(numbers(res)) == 5


@pytest.mark.parametrize("path", [
    "/cases/2026-999999/", "/cases/not-a-case/", "/cases/..%2F..%2Fetc/", "/cases/" + "9" * 5000 + "/",
    "/cases/2026-000001%00/", "/nothing-here",
])
def test_missing_or_malformed_case_numbers_are_404(collector, people, path):
    res = collector.get(path, status=404)
    assert "ページが見つかりません" in res.text


def test_case_page_shows_balance_and_installments(collector, dbsession):
    case = factories.sentinel_case(dbsession)
    dbsession.commit()
    res = collector.get(f"/cases/{case.case_no}/")
    assert "10,800円" in res.text and "-9,800円" in res.text  # 調定額 and 過不足額
    assert "昭和" in res.text or "令和" in res.text or "平成" in res.text  # 和暦 birth date


def test_list_columns_follow_the_matrix(testapp, dbsession, password_context):
    case = factories.sentinel_case(dbsession)
    factories.campaign(dbsession, [case])
    factories.user(dbsession, password_context, Role.operator, login="op")
    dbsession.commit()
    login(testapp, "op")
    res = testapp.get("/cases/")
    assert case.case_no in res.text and "S3NT-IDN" in res.text
    assert "S3NT-STF" not in res.text  # operators do not see assigned staff
    assert "担当者" not in res.text


def test_operator_cannot_search_by_facets_it_may_not_see(testapp, dbsession, password_context):
    # operators see identity/contact/assessment, so these fields are offered
    # (address and 宛名番号 are identity items: issue 20)
    factories.user(dbsession, password_context, Role.operator, login="op")
    dbsession.commit()
    login(testapp, "op")
    res = testapp.get("/cases/")
    assert {i["name"] for i in res.html.select(".search-form input:not([type=hidden])")} == {
        "case_no", "name", "address", "taxpayer_no", "phone", "notice_no"}


def test_contractor_has_no_case_list(testapp, dbsession, password_context):
    factories.user(dbsession, password_context, Role.contractor, login="ct")
    dbsession.commit()
    login(testapp, "ct")
    testapp.get("/cases/", status=403)
    home = testapp.get("/")
    assert "案件検索" not in home.text
    assert [a.text for a in home.html.select("nav.main-nav a")] == ["ホーム", "調査対象", "受け渡し票", "ログイン中の端末"]


def test_english_case_page(collector, dbsession):
    case = factories.sentinel_case(dbsession)
    dbsession.commit()
    collector.set_cookie("lang", "en")
    res = collector.get(f"/cases/{case.case_no}/")
    assert "Identity" in res.text and "Date of birth" in res.text and "1980-04-01" in res.text


def test_case_page_shows_the_late_charge_breakdown(collector, dbsession):
    import datetime as dt

    case = factories.owed_case(dbsession, amount=100_000, due=dt.date(2024, 7, 1), fiscal_year=2024)
    dbsession.commit()
    cell = collector.get(f"/cases/{case.case_no}/").html.select_one("td.late-charge")
    # 203 (2.4%, 31 days) + 3,623 (8.7%, 152 days) + 8,700 (2025) + 8,177 (9.1%, 328 days of 2026)
    assert cell.summary.text == "20,700円"
    rows = [[td.text for td in tr.select("td")] for tr in cell.select("table.breakdown tr")]
    assert rows[0] == ["2024-07-02〜2024-08-01", "31日", "100,000円", "2.4%", "203円"]
    assert rows[-1] == ["2026-01-01〜2026-11-24", "328日", "100,000円", "9.1%", "8,177円"]


def test_late_charge_calculator_page(testapp, dbsession, password_context):
    from intranet.models import Role as R

    factories.user(dbsession, password_context, R.operator, login="op9")
    factories.user(dbsession, password_context, R.contractor, login="k9")
    dbsession.commit()
    login(testapp, "op9")
    res = testapp.get("/late-charge", {"tax": "56400", "due": "2026-02-02", "paid": "2026-05-29"})
    assert "1,300円" in res.html.select_one("#late-charge-result h2").text  # 中央市's example
    assert len(res.html.select("#late-charge-result tbody tr")) == 2
    res = testapp.get("/late-charge", {"tax": "abc", "due": "2026-02-30", "paid": ""}, status=400)
    assert "本税額" in res.text and "YYYY-MM-DD" in res.text
    login(testapp, "k9")  # contractors have no payment facet
    testapp.get("/late-charge", status=403)


def test_the_amount_column_says_it_is_the_overdue_amount_as_of_the_last_import(collector, people):
    res = collector.get("/cases/")
    th = res.html.find("th", attrs={"aria-describedby": "balance-help"})
    assert th is not None and th.text == "未納額"
    help_text = res.html.select_one("#balance-help").text
    assert "最後の取込の日時点" in help_text and "納期限前の本税は含みません" in help_text
    collector.set_cookie("lang", "en")
    help_text = collector.get("/cases/").html.select_one("#balance-help").text
    assert "overdue (demandable) amount as of the day of the last import" in help_text
