"""Network zones, trusted proxies and login throttling per address, through an
app configured with them (the shared test app leaves them off).

The access log is shared by every test of a run, all at the same frozen time,
so each test here uses client addresses of its own.
"""
import json

import pytest
import webtest
from sqlalchemy import select

import intranet
from intranet.models import Role, User
from intranet.security.sessions import COOKIE_NAME
from tests import factories
from tests.helpers import entries_since, log_mark, login

NETWORK_SETTINGS = {
    "intranet.zones.collector": "10.30.0.0/16 2001:db8:30::/48",
    "intranet.zones.operator": "10.20.0.0/24 10.20.1.0/24",
    # auditors and contractors: no setting, unrestricted
    "intranet.trusted_proxies": "10.0.0.5 10.0.0.6",
    "intranet.login.address_max_failures": "5",
    "intranet.login.address_window_minutes": "15",
}

OUTSIDE = "203.0.113.9"


@pytest.fixture(scope="module")
def network_app(app_settings):
    app = intranet.main({}, **{**app_settings, **NETWORK_SETTINGS})
    yield app
    app.registry["db_engine"].dispose()


@pytest.fixture
def client(network_app, clock, dbsession):
    """A browser on the network app: ``client(addr)``, move it with ``at``."""
    original = network_app.registry.clock
    network_app.registry.clock = clock

    def make(addr, forwarded=None):
        environ = {"REMOTE_ADDR": addr}
        if forwarded is not None:
            environ["HTTP_X_FORWARDED_FOR"] = forwarded
        return webtest.TestApp(network_app, extra_environ=environ)

    yield make
    network_app.registry.clock = original


def at(browser, addr, forwarded=None):
    """The same browser (cookies and all) from another address."""
    browser.extra_environ = {"REMOTE_ADDR": addr}
    if forwarded is not None:
        browser.extra_environ["HTTP_X_FORWARDED_FOR"] = forwarded
    return browser


@pytest.fixture
def people(dbsession, password_context):
    made = {
        "collector": factories.user(dbsession, password_context, Role.collector, login="c1"),
        "boss": factories.user(dbsession, password_context, Role.collector, login="boss",
                               is_supervisor=True),
        "operator": factories.user(dbsession, password_context, Role.operator, login="o1"),
        "auditor": factories.user(dbsession, password_context, Role.auditor, login="a1"),
    }
    made["case"] = factories.case(dbsession)
    dbsession.commit()
    return made


def events(entries, name):
    return [e for e in entries if e.event == name]


def zone_page(res):
    assert res.status_code == 403
    assert "この端末の場所からは利用できません" in res.text
    return res


# ---- zones


def test_inside_the_zone_works_and_outside_is_denied_without_a_login_loop(client, people, engine):
    case_page = f"/cases/{people['case'].case_no}/"
    browser = client("10.30.4.5")
    assert login(browser, "c1").status_code == 303
    assert people["case"].case_no in browser.get(case_page).text
    browser.get("/")

    at(browser, OUTSIDE)
    mark = log_mark(engine)
    zone_page(browser.get(case_page, status=403))
    res = zone_page(browser.get("/", status=403))
    assert people["case"].case_no not in res.text
    assert "login" not in (res.location or "")          # still logged in: no login loop
    assert res.html.select_one("form[action='/logout']")  # and may log out
    entries = entries_since(engine, mark)
    requests = [e for e in entries if e.kind == "request"]
    assert [(e.path, e.outcome, e.status, e.case_count, e.client_addr) for e in requests] == [
        (case_page, "denied", 403, 0, OUTSIDE), ("/", "denied", 403, 0, OUTSIDE)]
    denials = events(entries, "zone.denied")
    assert len(denials) == 2
    assert all(e.outcome == "denied" and e.login == "c1" and e.client_addr == OUTSIDE
               for e in denials)
    assert json.loads(denials[0].detail) == {"role": "collector",
                                             "zone": "10.30.0.0/16 2001:db8:30::/48"}

    # Back inside, the same session works again.
    at(browser, "10.30.4.5")
    browser.get(case_page, status=200)


def test_a_missing_page_outside_the_zone_gets_the_zone_page(client, people):
    browser = client("10.20.1.9")
    login(browser, "o1")
    browser.get("/", status=200)
    at(browser, "10.20.2.9")  # the next /24: outside
    zone_page(browser.get("/no-such-page", status=403))
    zone_page(browser.get("/cases/", status=403))


def test_in_english_too(client, people):
    browser = client("10.30.4.6")
    login(browser, "c1")
    at(browser, "2001:db8:31::1")
    browser.set_cookie("lang", "en")
    assert "Not available from this network" in browser.get("/", status=403).text


def test_roles_without_a_zone_are_unaffected(client, people, engine):
    browser = client(OUTSIDE)
    mark = log_mark(engine)
    assert login(browser, "a1").status_code == 303
    browser.get(f"/cases/{people['case'].case_no}/", status=200)
    assert not events(entries_since(engine, mark), "zone.denied")


def test_login_from_outside_is_refused_whatever_the_password(client, people, engine, dbsession):
    mark = log_mark(engine)
    right = login(client("198.51.100.20"), "c1", status=403)
    wrong = login(client("198.51.100.20"), "c1", "Wrong-password-1", status=403)
    for res in (right, wrong):
        assert "この端末の場所からは利用できません" in res.text
        assert "正しくありません" not in res.text
        assert COOKIE_NAME not in res.headers.get("Set-Cookie", "")
    assert right.html.select_one("#login-error").text == wrong.html.select_one("#login-error").text
    failures = events(entries_since(engine, mark), "login.failure")
    assert [(e.login, json.loads(e.detail), e.client_addr) for e in failures] == [
        ("c1", {"reason": "zone"}, "198.51.100.20")] * 2
    # Not counted against the account: outsiders cannot lock it.
    dbsession.expire_all()
    assert dbsession.scalars(select(User.failed_logins).where(User.login == "c1")).one() == 0
    # Unknown ids still get the usual answer.
    assert "正しくありません" in login(client("198.51.100.20"), "nobody").text


# ---- trusted proxies


def test_a_trusted_proxy_passes_on_the_client_address(client, people, engine):
    browser = client("10.0.0.5", forwarded="10.30.7.7")
    mark = log_mark(engine)
    assert login(browser, "c1").status_code == 303
    browser.get("/", status=200)
    assert {e.client_addr for e in entries_since(engine, mark)} == {"10.30.7.7"}


def test_a_chain_of_proxies_gives_the_right_most_untrusted_address(client, people, engine):
    browser = client("10.0.0.6", forwarded="10.30.9.9, 10.30.7.8, 10.0.0.5")
    login(browser, "c1")
    mark = log_mark(engine)
    browser.get("/", status=200)
    assert {e.client_addr for e in entries_since(engine, mark)} == {"10.30.7.8"}
    # A client cannot prepend an inside address to slip in through the proxies.
    at(browser, "10.0.0.6", forwarded="10.30.9.9, 203.0.113.77, 10.0.0.5")
    zone_page(browser.get("/", status=403))


def test_a_forged_header_from_an_ordinary_client_changes_nothing(client, people, engine):
    mark = log_mark(engine)
    res = login(client(OUTSIDE, forwarded="10.30.7.7"), "c1", status=403)
    assert "この端末の場所からは利用できません" in res.text
    assert {e.client_addr for e in entries_since(engine, mark)} == {OUTSIDE}


@pytest.mark.parametrize("garbage", ["unknown", "10.30.7.7:443", "", "10.30.7.7, , ",
                                     "10.30.7.7;proto=https", "x" * 5000])
def test_a_garbage_header_from_a_proxy_falls_back_to_the_proxy(client, people, engine, garbage):
    browser = client("10.30.1.1")
    login(browser, "c1")
    at(browser, "10.0.0.5", forwarded=garbage)
    mark = log_mark(engine)
    zone_page(browser.get("/", status=403))  # the proxy itself is outside the collectors' zone
    assert {e.client_addr for e in entries_since(engine, mark)} == {"10.0.0.5"}


# ---- throttling per address


def test_throttling_starts_at_the_limit_and_tells_nothing_about_accounts(client, people, engine):
    mark = log_mark(engine)
    for attempt in range(5):
        res = login(client("198.51.100.30"), "nobody", f"Wrong-password-{attempt}", status=200)
        assert "正しくありません" in res.text
    unknown = login(client("198.51.100.30"), "nobody", status=429)
    known = login(client("198.51.100.30"), "a1", status=429)  # even the right password
    for res in (unknown, known):
        assert "この接続元からのログイン失敗が多いため" in res.text
        assert COOKIE_NAME not in res.headers.get("Set-Cookie", "")
    assert unknown.html.select_one("#login-error").text == known.html.select_one("#login-error").text
    entries = entries_since(engine, mark)
    assert len(events(entries, "login.failure")) == 5  # refusals are not failures
    throttled = events(entries, "login.throttled")
    assert [(e.outcome, e.login, e.client_addr) for e in throttled] == [
        ("denied", None, "198.51.100.30")] * 2
    posts = [e for e in entries if e.kind == "request" and e.method == "POST"]
    assert [(e.status, e.outcome) for e in posts[-2:]] == [(429, "denied")] * 2


def test_throttling_is_per_address_and_ends_with_the_window(client, people, clock):
    for _ in range(5):
        login(client("198.51.100.40"), "nobody", "Wrong-password-1")
    login(client("198.51.100.40"), "a1", status=429)
    assert login(client("198.51.100.41"), "a1").status_code == 303  # another address
    clock.advance(minutes=14)
    login(client("198.51.100.40"), "a1", status=429)
    clock.advance(minutes=1, seconds=1)  # the failures are now more than 15 minutes old
    assert login(client("198.51.100.40"), "a1").status_code == 303


def test_failures_of_every_kind_count_and_zone_refusals_too(client, people):
    for _ in range(3):
        login(client("198.51.100.50"), "c1", status=403)         # outside the zone
    login(client("198.51.100.50"), "nobody", "Wrong-password-1")
    login(client("198.51.100.50"), "a1", "Wrong-password-1")    # a known account
    login(client("198.51.100.50"), "a1", status=429)


def test_supervisors_see_throttled_addresses_and_failure_counts(client, people, clock):
    for attempt in range(6):  # the 5th locks the account, the 6th is throttled
        login(client("198.51.100.60"), "a1", "Wrong-password-1", status=429 if attempt == 5 else 200)
    boss = client("10.30.0.10")
    login(boss, "boss")
    res = boss.get("/admin/users/")
    section = res.html.select_one("#throttled-addresses")
    rows = {tr.select("td")[0].text: [td.text for td in tr.select("td")]
            for tr in section.select("tbody tr")}
    assert rows["198.51.100.60"][1] == "5"  # the refused 6th attempt is not a failure
    users = {tr.select("td")[0].text: [td.text.strip() for td in tr.select("td")]
             for tr in res.html.select("table")[0].select("tbody tr")}
    assert "ロック中" in users["a1"][5] and users["a1"][6] == "5"
    assert users["boss"][6] == "0"
    clock.advance(minutes=16)
    login(boss, "boss")
    res = boss.get("/admin/users/")
    assert "198.51.100.60" not in res.html.select_one("#throttled-addresses").text


@pytest.mark.parametrize("role", [Role.operator, Role.contractor])
def test_others_do_not_see_the_throttled_addresses(client, dbsession, password_context, role):
    factories.user(dbsession, password_context, role, login="u")
    dbsession.commit()
    browser = client("10.20.0.99")
    login(browser, "u")
    browser.get("/admin/users/", status=403)


@pytest.mark.parametrize("settings", [
    {"intranet.zones.operator": "10.20.0.0/24 10.20.300.0/24"},
    {"intranet.trusted_proxies": "proxy.example"},
    {"intranet.login.address_window_minutes": "soon"},
])
def test_bad_network_settings_stop_the_app_at_startup(app_settings, settings):
    from pyramid.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match=list(settings)[0].replace(".", r"\.")):
        intranet.main({}, **{**app_settings, **settings})
