"""Which addresses the link checker may connect to.

A record's URL comes from a data center: it must not make fedcat reach into
its own network. The host is resolved and *every* address checked; loopback,
private, link-local, multicast, unspecified and reserved addresses are refused
unless they fall in a network the config allows (``linkcheck.allow_networks``).
The connection is then made to a checked address, never re-resolved.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(Exception):
    """The host resolves to an address the link checker must not contact."""


class ResolutionFailed(Exception):
    """The host name does not resolve."""


def parse_networks(values: Sequence[str]) -> list[IPNetwork]:
    """``["127.0.0.0/8", "::1"]`` → networks (ValueError names a bad entry)."""
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values]


def _special(addr: IPAddress) -> str | None:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return _special(addr.ipv4_mapped)
    for name in ("loopback", "private", "link_local", "multicast", "unspecified", "reserved"):
        if getattr(addr, f"is_{name}"):
            return name.replace("_", "-")
    if isinstance(addr, ipaddress.IPv4Address) and addr in ipaddress.ip_network("100.64.0.0/10"):
        return "shared (carrier-grade NAT)"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    allowed: tuple[IPNetwork, ...] = ()

    def check(self, addr: IPAddress) -> None:
        """Raise AddressRefused unless ``addr`` is public or in an allowed network."""
        kind = _special(addr)
        if kind is None or any(addr.version == net.version and addr in net for net in self.allowed):
            return
        raise AddressRefused(f"{addr} is a {kind} address (not in linkcheck.allow_networks)")

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host``, each checked; raises if any one is refused."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addrs: list[IPAddress] = [literal]
        else:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise ResolutionFailed(f"cannot resolve {host!r}: {exc}") from exc
            addrs = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
        for addr in addrs:
            self.check(addr)
        return addrs
