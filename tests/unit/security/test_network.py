"""Parsing addresses, zones and trusted proxies (intranet.security.network)."""
import ipaddress

import pytest
from pyramid import testing
from pyramid.exceptions import ConfigurationError

from intranet.config import zones_from_settings
from intranet.models import Role
from intranet.security.network import (
    TrustedProxies, Zones, parse_address, parse_networks,
)
from tests.conftest import TEST_SETTINGS


def test_networks_are_separated_by_spaces_commas_or_lines():
    assert parse_networks("s", "10.20.0.0/24 10.0.0.5,2001:db8::/48\n 192.0.2.1/32") == (
        ipaddress.ip_network("10.20.0.0/24"), ipaddress.ip_network("10.0.0.5/32"),
        ipaddress.ip_network("2001:db8::/48"), ipaddress.ip_network("192.0.2.1/32"))
    assert parse_networks("s", "") == parse_networks("s", None) == ()


@pytest.mark.parametrize("bad", ["10.20.0.300", "10.20.0.1/24", "10.20.0.0/33", "proxy.example",
                                 "10.0.0.5:8080", "*"])
def test_a_bad_network_names_the_setting_and_the_value(bad):
    with pytest.raises(ConfigurationError) as error:
        parse_networks("intranet.zones.operator", f"10.20.1.0/24 {bad}")
    message = str(error.value)
    assert message.startswith("intranet.zones.operator:") and repr(bad) in message


@pytest.mark.parametrize(("value", "expected"), [
    ("10.1.2.3", "10.1.2.3"), (" 10.1.2.3 ", "10.1.2.3"), ("2001:db8::1", "2001:db8::1"),
    ("::ffff:10.1.2.3", "10.1.2.3"),  # IPv4-mapped: the IPv4 address
    ("", None), ("unknown", None), ("10.1.2.3:443", None), ("[2001:db8::1]", None),
    ("10.1.2", None), (None, None),
])
def test_parse_address(value, expected):
    address = parse_address(value)
    assert (str(address) if address is not None else None) == expected


def test_zones_from_settings_restrict_only_the_roles_named():
    zones = zones_from_settings({"intranet.zones.operator": "10.20.0.0/24 10.20.1.0/24",
                                 "intranet.zones.contractor": "2001:db8:40::/48",
                                 "intranet.session.idle_timeout": "15"})
    assert zones.allows(Role.operator, "10.20.1.99")
    assert not zones.allows(Role.operator, "10.20.2.1")
    assert zones.allows(Role.contractor, "2001:db8:40::7")
    assert not zones.allows(Role.contractor, "10.20.0.1")   # IPv4 against an IPv6 zone
    assert zones.allows(Role.collector, "203.0.113.9")      # no setting: unrestricted
    assert zones.allows("auditor", None)
    assert zones.describe(Role.operator) == "10.20.0.0/24 10.20.1.0/24"
    assert zones.describe(Role.collector) == ""


@pytest.mark.parametrize("addr", [None, "", "garbage", "10.20.0.1:80"])
def test_a_restricted_role_is_denied_an_unreadable_address(addr):
    zones = Zones({Role.operator: parse_networks("s", "10.20.0.0/24")})
    assert not zones.allows(Role.operator, addr)


def test_unknown_role_and_empty_zone_fail_with_a_clear_message():
    with pytest.raises(ConfigurationError, match=r"intranet\.zones\.operater: 'operater' is not a role"):
        zones_from_settings({"intranet.zones.operater": "10.20.0.0/24"})
    with pytest.raises(ConfigurationError, match=r"intranet\.zones\.operator is empty"):
        zones_from_settings({"intranet.zones.operator": "  "})


def _environ(peer, forwarded=None):
    environ = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    return environ


PROXIES = TrustedProxies(parse_networks("intranet.trusted_proxies", "10.0.0.5 10.0.0.6 10.9.0.0/16"))


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("10.0.0.5", "10.20.0.7", "10.20.0.7"),                          # one trusted proxy
    ("10.0.0.5", " 10.20.0.7 ", "10.20.0.7"),
    ("10.0.0.6", "203.0.113.1, 10.20.0.7, 10.9.3.4", "10.20.0.7"),   # a chain: skip the proxies
    ("10.0.0.5", "10.20.0.7, 203.0.113.1", "203.0.113.1"),           # a forged left part is ignored
    ("10.0.0.5", "10.0.0.6", "10.0.0.5"),                            # proxies only: the peer
    ("10.0.0.5", None, "10.0.0.5"),
    ("10.0.0.5", "", "10.0.0.5"),
    ("10.0.0.5", "not-an-address", "10.0.0.5"),                      # garbage: the peer
    ("10.0.0.5", "10.20.0.7, garbage", "10.0.0.5"),
    ("10.0.0.5", " , ", "10.0.0.5"),
    ("10.0.0.5", "10.20.0.7:51234", "10.0.0.5"),
    ("10.0.0.5", "10.20.0.7" + ", 10.9.0.1" * 200, "10.0.0.5"),       # overlong
    ("10.0.0.5", "2001:db8::7", "2001:db8::7"),
    ("10.0.0.5", "::ffff:10.20.0.7", "10.20.0.7"),
    ("203.0.113.9", "10.20.0.7", "203.0.113.9"),                     # not a proxy: header ignored
    ("", "10.20.0.7", ""),
])
def test_forwarded_for_is_read_only_from_trusted_proxies(peer, forwarded, client):
    assert PROXIES.client_addr(_environ(peer, forwarded)) == client


def test_without_trusted_proxies_the_header_is_always_ignored():
    assert TrustedProxies().client_addr(_environ("10.0.0.5", "10.20.0.7")) == "10.0.0.5"


@pytest.mark.parametrize(("settings", "message"), [
    ({"intranet.trusted_proxies": "10.0.0.5 10.0.0.0/8x"}, "intranet.trusted_proxies: '10.0.0.0/8x'"),
    ({"intranet.zones.contractor": "192.168.1.1/16"}, "intranet.zones.contractor: '192.168.1.1/16'"),
    ({"intranet.zones.supervisor": "10.0.0.0/8"}, "intranet.zones.supervisor: 'supervisor' is not a role"),
])
def test_bad_settings_fail_when_included(settings, message):
    config = testing.setUp(settings={**TEST_SETTINGS, **settings})
    try:
        with pytest.raises(ConfigurationError) as error:
            config.include("intranet.config")  # the typed settings, parsed first of all
        assert message in str(error.value)
    finally:
        testing.tearDown()

