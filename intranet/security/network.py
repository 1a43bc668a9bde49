"""Where a request comes from: the client address behind trusted reverse
proxies, and the network zones each role may work from (docs/security.md).

* ``intranet.trusted_proxies``: addresses or networks of the reverse proxies
  in front of the app. Only when the direct peer (``REMOTE_ADDR``) is one of
  them is ``X-Forwarded-For`` read, and then its right-most address that is
  not itself a trusted proxy is the client. Otherwise the header is ignored.
* ``intranet.zones.<role>``: the networks a role may work from. A role
  without the setting is unrestricted.
* ``intranet.zones.monitoring``: the monitoring network (issue 24). A request
  from it holds the principal ``zone:monitoring``, logged in or not, which
  the matrix grants ``/healthz`` and ``/metrics`` only. Unset: nobody.

``request.client_addr`` is replaced by the resolved address, so the access
log, sessions, zones and login throttling all see the same one. Bad values
fail at startup with the setting's name.
"""
from __future__ import annotations

import ipaddress

from pyramid.exceptions import ConfigurationError

from ..models.users import Role

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ZONE_PREFIX = "intranet.zones."
#: The zone of the monitoring network (not a role): ``intranet.zones.monitoring``.
MONITORING_ZONE = "monitoring"
#: Longer X-Forwarded-For values are ignored (a proxy chain is a few entries).
MAX_FORWARDED_LENGTH = 1024


def parse_networks(setting: str, value: str | None) -> tuple[Network, ...]:
    """Addresses and networks separated by spaces, commas or new lines
    (``10.20.0.0/24 10.0.0.5 2001:db8::/48``); an address is a one-host network."""
    tokens = (value or "").replace(",", " ").split()
    networks = []
    for token in tokens:
        try:
            networks.append(ipaddress.ip_network(token, strict=True))
        except ValueError as exc:
            raise ConfigurationError(
                f"{setting}: {token!r} is not an IP address or network in CIDR notation "
                f"({exc})") from None
    return tuple(networks)


def parse_address(value) -> Address | None:
    """One address, or None for anything else (empty, a port, a name, garbage).
    An IPv4-mapped IPv6 address counts as the IPv4 address."""
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: Address, networks) -> bool:
    return any(address in network for network in networks)


class TrustedProxies:
    def __init__(self, networks: tuple[Network, ...] = ()):
        self.networks = networks

    def client_addr(self, environ) -> str | None:
        """The client's address for this WSGI environ (see the module docstring)."""
        peer = environ.get("REMOTE_ADDR")
        if not self.networks:
            return peer
        peer_address = parse_address(peer)
        if peer_address is None or not _within(peer_address, self.networks):
            return peer
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if not forwarded or len(forwarded) > MAX_FORWARDED_LENGTH:
            return peer
        for part in reversed(forwarded.split(",")):
            address = parse_address(part)
            if address is None:
                return peer  # garbage where a proxy's entry should be: trust nothing
            if not _within(address, self.networks):
                return str(address)
        return peer  # proxies all the way: the peer is as good as any


class Zones:
    """The networks of each restricted role."""

    def __init__(self, by_role: dict[Role, tuple[Network, ...]] | None = None,
                 monitoring: tuple[Network, ...] = ()):
        self.by_role = dict(by_role or {})
        self.monitoring = monitoring

    def monitors(self, client_addr: str | None) -> bool:
        """Whether the address is in the monitoring network."""
        address = parse_address(client_addr)
        return address is not None and _within(address, self.monitoring)

    def allows(self, role, client_addr: str | None) -> bool:
        networks = self.by_role.get(Role(role))
        if networks is None:
            return True
        address = parse_address(client_addr)
        return address is not None and _within(address, networks)

    def describe(self, role) -> str:
        """The role's zone as configured (for the log), or "" when unrestricted."""
        return " ".join(str(n) for n in self.by_role.get(Role(role), ()))

def client_addr(request) -> str | None:
    """``request.client_addr``: the peer, or the client behind a trusted proxy."""
    return request.app_settings.network.trusted_proxies.client_addr(request.environ)


def outside_zone(request) -> bool:
    """``request.outside_zone``: whether the logged-in user is working from
    outside the network zones of its role (then it has no principals)."""
    user = request.identity
    return user is not None and not request.app_settings.network.zones.allows(user.role, request.client_addr)


def in_monitoring_zone(request) -> bool:
    """``request.in_monitoring_zone``: the client is in ``intranet.zones.monitoring``."""
    return request.app_settings.network.zones.monitors(request.client_addr)


def includeme(config):
    # Replaces WebOb's own client_addr, which believes any X-Forwarded-For.
    config.add_request_method(client_addr, "client_addr", property=True, reify=True)
    config.add_request_method(outside_zone, "outside_zone", property=True, reify=True)
    config.add_request_method(in_monitoring_zone, "in_monitoring_zone", property=True, reify=True)
