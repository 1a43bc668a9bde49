"""Finding people (issue 20): address search in any notation, 宛名番号, and
the case list's filters in the URL, each bound to the facet whose items it
reads (a filter or search field a role may not see is not offered, and a
forged one is refused with 400). Runs on both backends."""
import datetime as dt
from urllib.parse import quote

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from intranet.cases.filters import CaseFilters, filter_conditions
from intranet.cases.search import Criteria, address_condition, search_cases
from intranet.models import (
    Assessment, Case, MailingAddress, Role, StatusKind, StatusPeriod, Taxpayer, TaxType,
)
from intranet.security.matrix import Facet
from intranet.text import address_key
from tests import factories
from tests.helpers import csrf_token, login

TODAY = dt.date(2026, 11, 24)  # the frozen clock's day


def url(query: str) -> str:
    """The list with ``query`` percent-encoded, as a browser sends it."""
    return "/cases/?" + quote(query, safe="=&")


def numbers(res) -> set[str]:
    return {a.text for a in res.html.select("table.data td:first-child a")}


def search(testapp, url="/cases/", **terms):
    return testapp.post(url, {"csrf_token": csrf_token(testapp, "/cases/"), **terms}, status="*")


@pytest.fixture
def collector(testapp, dbsession, password_context):
    factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    login(testapp, "c1")
    return testapp


@pytest.fixture
def operator(testapp, dbsession, password_context):
    factories.user(dbsession, password_context, Role.operator, login="op1")
    dbsession.commit()
    login(testapp, "op1")
    return testapp


@pytest.fixture
def people(dbsession):
    nishi = factories.case(dbsession, name="西 一郎", address="東京都新宿区西新宿一丁目2番3号",
                           address_extra="ハイツ西新宿 101号室", balance=80000,
                           ward_address="東京都新宿区北新宿九丁目9番9号")
    other = factories.case(dbsession, name="東 次郎", address="東京都新宿区西新宿1丁目2番4号",
                           balance=5000)
    hacchobori = factories.case(dbsession, name="八 三郎", address="東京都中央区八丁堀三丁目23番地の5",
                                balance=120000)
    hacchobori.taxpayer.mailing_address = MailingAddress(
        name="送付先", postal_code="100-0001", address="大阪府大阪市北区梅田２－４－９")
    dbsession.commit()
    return {"nishi": nishi.case_no, "other": other.case_no, "hacchobori": hacchobori.case_no}


# ---------------------------------------------------------------- address

@pytest.mark.parametrize("term", [
    "西新宿1-2-3", "西新宿１丁目２番３号", "西新宿一丁目2番3号", "西新宿一丁目二番三号",
    "新宿区西新宿1－2－3", "ﾊｲﾂ西新宿", "はいつ西新宿",
])
def test_address_search_ignores_notation_width_and_kana(collector, people, term):
    assert numbers(search(collector, address=term)) == {people["nishi"]}


def test_address_search_by_a_part_finds_every_match(collector, people):
    assert numbers(search(collector, address="西新宿一丁目2番")) == {people["nishi"], people["other"]}
    assert numbers(search(collector, address="八丁堀3-23-5")) == {people["hacchobori"]}


def test_address_search_never_reads_the_resident_record(collector, people):
    """区内住所 (resident_record facet) is not the address searched: a term
    found only there finds nothing, for every role."""
    assert numbers(search(collector, address="北新宿9-9-9")) == set()


def test_mailing_address_is_searched_only_with_the_contact_facet(collector, people, dbsession):
    assert numbers(search(collector, address="梅田2丁目4番9号")) == {people["hacchobori"]}
    scope = select(Taxpayer.id).exists()  # every case: the facet rule alone is tested
    found = search_cases(dbsession, scope, frozenset({Facet.identity}), Criteria(address="梅田2-4-9"))
    assert found.total == 0
    found = search_cases(dbsession, scope, frozenset({Facet.identity, Facet.contact}),
                         Criteria(address="梅田2-4-9"))
    assert [c.case_no for c in found.cases] == [people["hacchobori"]]


def test_address_search_counts_and_pages_by_case_number(dbsession):
    """The count and the page's ids read the cases alone, and a criterion on
    the taxpayer (the name) joins them: totals, pages and order are the
    list's, with or without the name."""
    yotsuya = [factories.case(dbsession, name="四谷 花子" if i % 2 else "四谷 太郎",
                              address=f"東京都新宿区四谷{i % 4 + 1}丁目{i + 1}番") for i in range(60)]
    factories.case(dbsession, name="四谷 花子", address="東京都新宿区新宿1丁目1番1号")
    dbsession.commit()
    scope, every = select(Taxpayer.id).exists(), frozenset(Facet)
    expected = sorted(c.case_no for c in yotsuya)
    pages = [search_cases(dbsession, scope, every, Criteria(address="四谷"), page=n) for n in (1, 2, 3)]
    assert [(p.total, p.pages, len(p.cases)) for p in pages] == [(60, 2, 50), (60, 2, 10), (60, 2, 0)]
    assert [c.case_no for p in pages for c in p.cases] == expected
    assert all(c.taxpayer.address.startswith("東京都新宿区四谷") for p in pages for c in p.cases)
    named = search_cases(dbsession, scope, every, Criteria(address="四谷", name="花子"))
    assert (named.total, [c.case_no for c in named.cases]) == (30, expected[1::2])


def test_address_condition_probes_the_case_index_on_postgresql():
    """On PostgreSQL the taxpayers found select their cases by ``= ANY(ARRAY(…))``
    (probes of ix_cases_taxpayer_id, never a hash join over every case, see
    docs/search.md); elsewhere by a plain ``IN`` (not ``(… IN …) = 1``, which
    SQLite would not serve from the index)."""
    stmt = select(Case.id).where(address_condition("西新宿1-2-3", frozenset(Facet)))
    assert "cases.taxpayer_id = ANY (array((SELECT taxpayers.id" in str(
        stmt.compile(dialect=postgresql.dialect()))
    on_sqlite = str(stmt.compile(dialect=sqlite.dialect()))
    assert "cases.taxpayer_id IN (SELECT taxpayers.id" in on_sqlite and "= 1" not in on_sqlite


def test_every_orm_write_refreshes_the_search_form(dbsession, people):
    taxpayer = dbsession.scalars(select(Taxpayer).where(Taxpayer.name == "東 次郎")).one()
    assert taxpayer.search_address == address_key("東京都新宿区西新宿1丁目2番4号")
    taxpayer.address = "東京都渋谷区道玄坂二丁目1番1号"
    dbsession.flush()
    dbsession.expire(taxpayer)
    assert taxpayer.search_address == "東京都渋谷区道玄坂2-1-1"


def test_hostile_address_terms_are_harmless(collector, people):
    for term in ["%", "_", "' OR 1=1 --", "<script>alert(1)</script>", "\\", "丁目"]:
        res = search(collector, address=term)
        assert res.status_int == 200
        assert "<script>alert(1)" not in res.text
    assert numbers(search(collector, address="%")) == set()


def test_address_terms_never_appear_in_the_url(collector, people):
    res = search(collector, address="西新宿1-2-3")
    assert "西新宿" not in res.request.url


# ---------------------------------------------------------------- 宛名番号

def test_taxpayer_number_is_an_exact_search(collector, people, dbsession):
    number = dbsession.scalars(select(Taxpayer.taxpayer_no).where(Taxpayer.name == "八 三郎")).one()
    assert numbers(search(collector, taxpayer_no=number)) == {people["hacchobori"]}
    wide = number.translate(str.maketrans("0123456789T", "０１２３４５６７８９Ｔ"))
    assert numbers(search(collector, taxpayer_no=wide)) == {people["hacchobori"]}
    assert numbers(search(collector, taxpayer_no=number[:-1])) == set()


# ---------------------------------------------------------------- filters

@pytest.fixture
def filtered(dbsession):
    """Cases differing in one filtered item each."""
    def make(name, balance, tax_type=TaxType.resident, year=2026, category=None, staff=None):
        c = factories.case(dbsession, name=name, balance=balance)
        c.delinquency_category, c.assigned_staff = category, staff
        c.assessments.append(Assessment(tax_type=tax_type, fiscal_year=year, applicable_year=year,
                                        notice_no=f"9{c.id:011d}", annual_amount=balance))
        return c
    made = {
        "resident25": make("区民 二五", 30000, year=2025, category="現年", staff="山田"),
        "vehicle26": make("軽自 二六", 10800, tax_type=TaxType.light_vehicle, category="滞繰",
                          staff="佐藤"),
        "big": make("高額 滞納", 900000, category="滞繰", staff="山田"),
    }
    dbsession.flush()
    dbsession.add_all([
        StatusPeriod(case_id=made["big"].id, kind=StatusKind.seizure, starts_on=dt.date(2026, 10, 1),
                     recorded_at=dt.datetime(2026, 10, 1), approved_at=dt.datetime(2026, 10, 1)),
        # ended: not in force
        StatusPeriod(case_id=made["resident25"].id, kind=StatusKind.seizure,
                     starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 3, 31),
                     recorded_at=dt.datetime(2026, 1, 1), approved_at=dt.datetime(2026, 1, 1)),
        # not approved: not in force
        StatusPeriod(case_id=made["vehicle26"].id, kind=StatusKind.bankruptcy,
                     starts_on=dt.date(2026, 11, 1), recorded_at=dt.datetime(2026, 11, 1)),
    ])
    dbsession.commit()
    return {k: v.case_no for k, v in made.items()}


@pytest.mark.parametrize("query, expected", [
    ("tax_type=light_vehicle", {"vehicle26"}),
    ("tax_type=resident", {"resident25", "big"}),
    ("fiscal_year=2025", {"resident25"}),
    ("tax_type=resident&fiscal_year=2026", {"big"}),
    ("category=滞繰", {"vehicle26", "big"}),
    ("staff=山田", {"resident25", "big"}),
    ("staff=山田&category=滞繰", {"big"}),
    ("status=seizure", {"big"}),
    ("status=bankruptcy", set()),
    ("status=none", {"resident25", "vehicle26"}),
    ("balance_min=20000", {"resident25", "big"}),
    ("balance_max=30000", {"resident25", "vehicle26"}),
    ("balance_min=10800&balance_max=30000", {"resident25", "vehicle26"}),
    ("balance_min=1,000,000", set()),
])
def test_filters(collector, filtered, query, expected):
    res = collector.get(url(query), status=200)
    assert numbers(res) == {filtered[k] for k in expected}


def test_filters_stay_in_the_url_through_search_and_pages(collector, filtered):
    res = collector.get(url("staff=山田&balance_min=20000&tax_type=resident"))
    action = res.html.select_one("form.search-form")["action"]
    assert "staff=" in action and "balance_min=20000" in action
    assert res.html.select_one("#f-staff")["value"] == "山田"
    assert res.html.select_one("#f-tax_type option[selected]")["value"] == "resident"
    # searching keeps the filters: the search narrows the filtered list
    found = search(collector, url=action, name="高額")
    assert numbers(found) == {filtered["big"]}
    assert numbers(search(collector, url=action, name="区民")) == {filtered["resident25"]}
    assert numbers(search(collector, url=action, name="軽自")) == set()


@pytest.mark.parametrize("query", [
    "tax_type=income", "fiscal_year=20266", "fiscal_year=１９９０", "fiscal_year=1800",
    "balance_min=-5", "balance_min=abc", "balance_max=1e9", "balance_min=100&balance_max=50",
    "balance_min=8460060639",  # beyond the balance column (PostgreSQL integer): was a 500
    "status=married", "staff=" + "長" * 101, "category=\x00",
])
def test_bad_filter_values_are_refused(collector, filtered, query):
    res = collector.get(url(query), status=400)
    assert "絞り込み条件" in res.text


def test_bad_filter_message_in_english(collector, filtered):
    collector.set_cookie("lang", "en")
    res = collector.get("/cases/?tax_type=income", status=400)
    assert "The filter (Tax type) is not available" in res.text


def test_operator_is_offered_only_the_filters_of_its_facets(operator, filtered):
    res = operator.get("/cases/")
    offered = {e["name"] for e in res.html.select(".filter-form select, .filter-form input")}
    assert offered == {"tax_type", "fiscal_year", "balance_min", "balance_max"}
    assert "山田" not in res.text and "滞繰" not in res.text


@pytest.mark.parametrize("query", ["staff=山田", "category=滞繰", "status=seizure", "status=none"])
def test_operator_forging_a_staff_facet_filter_is_refused(operator, filtered, query):
    """滞納区分, 担当者 and the statuses are the staff facet: a filter on them
    would tell an operator which cases carry them, so it is refused."""
    res = operator.get(url(query), status=400)
    assert numbers(res) == set()  # none of these cases is in the operator's scope anyway


def test_operator_filters_stay_inside_the_scope(operator, dbsession, filtered):
    """Filters are ANDed with the scope clause: an operator sees only the
    cases of an active campaign, however the filters are set."""
    in_campaign = factories.case(dbsession, name="架電 対象", balance=900000)
    factories.campaign(dbsession, [in_campaign])
    dbsession.commit()
    assert numbers(operator.get("/cases/?balance_min=100000")) == {in_campaign.case_no}
    assert numbers(operator.get("/cases/?tax_type=resident")) == set()


def test_hostile_filter_values_are_escaped(collector, dbsession):
    c = factories.case(dbsession, name="攻撃 例")
    c.assigned_staff = "<script>alert(1)</script>"
    dbsession.commit()
    res = collector.get("/cases/?staff=%3Cscript%3Ealert(1)%3C/script%3E", status=200)
    assert numbers(res) == {c.case_no}
    assert "<script>alert(1)" not in res.text and "&lt;script&gt;" in res.text


def test_filter_conditions_read_the_stored_overdue_amount(dbsession, filtered):
    """The amount filter is Case.balance: THE overdue amount of
    intranet.taxes.owed (installments past their 納期限), not a second sum."""
    scope = select(Taxpayer.id).exists()
    page = search_cases(dbsession, scope, frozenset(Facet), Criteria(),
                        filters=filter_conditions(CaseFilters(balance_min=900000), TODAY))
    assert [c.case_no for c in page.cases] == [filtered["big"]]


# ---------------------------------------------------------------- the data link fills the key

def test_the_data_link_fills_and_refreshes_the_search_address(dbsession):
    """Imported taxpayers (Core inserts and updates, not the ORM) get their
    search form too, and a changed address refreshes it."""
    from intranet.datalink import importer

    header = ("taxpayer_no,kind,name,name_kana,postal_code,address,address_extra,residency,"
              "birth_date,gender,household_no")

    def taxpayers(address):
        row = f"A0000001,individual,住所 太郎,ジュウショ タロウ,160-0023,{address},コーポ西 203,ward,,,"
        return {"taxpayers.csv": "\r\n".join([header, row, ""]).encode("cp932")}

    assert importer.run(dbsession, taxpayers("東京都新宿区西新宿一丁目2番3号"), TODAY).ok
    stored = lambda: dbsession.scalars(  # noqa: E731
        select(Taxpayer.search_address).where(Taxpayer.taxpayer_no == "A0000001")).one()
    assert stored() == "東京都新宿区西新宿1-2-3こーぽ西203"
    result = importer.run(dbsession, taxpayers("東京都新宿区西新宿二丁目8番1号"), TODAY)
    assert result.ok and result.counts["taxpayers"].changed == 1
    assert stored() == "東京都新宿区西新宿2-8-1こーぽ西203"


def test_a_scope_of_grants_counts_up_to_the_cap_and_says_there_are_more(
        testapp, dbsession, password_context, monkeypatch):
    """The call center's entrusted scope is evaluated case by case, so its
    list counts at most ``SCOPED_COUNT_CAP`` matches (docs/performance.md,
    "Operators' case list"): past it the list says there are more, shows the
    first ones in case order (never the scope's last ones, which the
    nearer-end read of an exact count would give) and asks for a narrower
    search. A search within the cap is counted exactly. A collector's scope
    (every case) is always counted exactly."""
    from intranet.cases import views

    monkeypatch.setattr(views, "SCOPED_COUNT_CAP", 3)
    cases = [factories.case(dbsession, name=f"架電 {n}", balance=10000 + n) for n in range(5)]
    factories.campaign(dbsession, cases)
    factories.user(dbsession, password_context, Role.operator, login="op1")
    factories.user(dbsession, password_context, Role.collector, login="c1")
    dbsession.commit()
    ordered = sorted(c.case_no for c in cases)
    login(testapp, "op1")
    res = testapp.get("/cases/")
    assert res.html.select_one(".result-count[data-capped]") is not None
    assert "3件を超えています" in res.text
    assert [a.text for a in res.html.select("table.data td:first-child a")] == ordered[:3]
    exact = testapp.get("/cases/?balance_min=10003")   # two match: within the cap
    assert exact.html.select_one(".result-count[data-capped]") is None and "2件" in exact.text
    assert numbers(exact) == {c.case_no for c in cases[3:]}
    login(testapp, "c1")
    res = testapp.get("/cases/")
    assert res.html.select_one(".result-count[data-capped]") is None
    assert f"{len(cases)}件" in res.html.select_one(".result-count").text


def test_search_cases_with_a_cap_never_reads_from_the_end(dbsession):
    """A capped total is not the list's end: every page is read from the
    start (a page past the cap is empty)."""
    cases = [factories.case(dbsession, name=f"上限 {n}") for n in range(7)]
    dbsession.commit()
    ordered = sorted(c.case_no for c in cases)
    scope = Case.id.in_([c.id for c in cases])
    page = search_cases(dbsession, scope, set(Facet), Criteria(), 1, count_cap=5)
    assert (page.total, page.capped, [c.case_no for c in page.cases]) == (5, True, ordered[:5])
    exact = search_cases(dbsession, scope, set(Facet), Criteria(), 1, count_cap=7)
    assert (exact.total, exact.capped, len(exact.cases)) == (7, False, 7)
    assert search_cases(dbsession, scope, set(Facet), Criteria(), 2, count_cap=5).cases == []
