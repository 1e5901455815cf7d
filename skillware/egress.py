"""Egress allow-lists, as pure decisions: parse `host:port` patterns, match them, classify addresses.

A pattern is `host:port` or `*.suffix:port`: an exact host name, or any name strictly below a
suffix; the port is always one number. IP literals are never patterns: an operator allows names,
and the proxy checks the addresses those names resolve to (see runners/egress_proxy.py).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Addresses refused even when private egress is allowed: the cloud metadata services.
METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


@dataclass(frozen=True)
class EgressPattern:
    """One parsed allow-list entry: `suffix` is True for `*.host:port`."""

    host: str
    port: int
    suffix: bool = False

    def __str__(self) -> str:
        return f"{'*.' if self.suffix else ''}{self.host}:{self.port}"

    def matches(self, host: str, port: int) -> bool:
        """True when the concrete `host:port` is allowed by this pattern."""
        host = normalise_host(host)
        if port != self.port:
            return False
        return host.endswith("." + self.host) if self.suffix else host == self.host

    def covers(self, other: EgressPattern) -> bool:
        """True when every host:port `other` allows is also allowed by this pattern."""
        if other.port != self.port:
            return False
        if not self.suffix:
            return not other.suffix and other.host == self.host
        return other.host == self.host and other.suffix or other.host.endswith("." + self.host)


def normalise_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def is_ip_literal(host: str) -> bool:
    """True for anything an address parser would take as an address (127.1 and 0x7f000001 too)."""
    text = host.strip().strip("[]")
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(text)
        return True
    except OSError:
        pass
    last = normalise_host(text).rsplit(".", 1)[-1]
    return last.isdigit() or last.startswith("0x")


def pattern_problem(text: str) -> Optional[str]:
    """Why `text` is not a valid egress pattern, or None when it is."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"{text!r} needs a port from 1 to 65535 (host:port)"
    name = host[2:] if host.startswith("*.") else host
    if is_ip_literal(name):
        return f"{text!r} is an IP address; egress names hosts, whose addresses the proxy checks"
    labels = normalise_host(name).split(".")
    if not name or not all(_LABEL.match(label) for label in labels):
        return f"{text!r} is not a host name (letters, digits, '-' and '.'; '*.' only as a prefix)"
    return None


def parse_pattern(text: str) -> EgressPattern:
    """Parse a validated pattern; ValueError with the reason otherwise."""
    problem = pattern_problem(text)
    if problem:
        raise ValueError(problem)
    host, _, port = text.rpartition(":")
    suffix = host.startswith("*.")
    return EgressPattern(normalise_host(host[2:] if suffix else host), int(port), suffix)


def allowed_by(entry: EgressPattern, policy_patterns: Iterable[EgressPattern]) -> bool:
    """True when some policy pattern covers the manifest's entry."""
    return any(p.covers(entry) for p in policy_patterns)


def first_match(host: str, port: int, patterns: Sequence[EgressPattern]) -> Optional[EgressPattern]:
    return next((p for p in patterns if p.matches(host, port)), None)


def is_broad(pattern: EgressPattern) -> bool:
    """A wildcard over a whole top-level or second-level domain (`*.com`, `*.co.uk`)."""
    return pattern.suffix and pattern.host.count(".") < 1 + (len(pattern.host.rsplit(".", 1)[-1]) == 2)


def address_refusal(address: IPAddress, allow_private: bool) -> Optional[str]:
    """Why a resolved address may not be reached, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_refusal(address.ipv4_mapped, allow_private)
    if address in METADATA:
        return f"{address} is a cloud metadata address"
    if address.is_unspecified or address.is_multicast or (address.is_reserved and not address.is_loopback):
        return f"{address} is not a unicast host address"
    if address.is_global:
        return None
    cgnat = isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10")
    if address.is_loopback:
        kind = "loopback"
    elif address.is_link_local:
        kind = "link-local"
    elif cgnat:
        kind = "carrier-grade NAT (100.64.0.0/10)"
    elif address.is_private:
        kind = "private"
    else:
        return f"{address} is a reserved address, never reachable through egress"
    if allow_private:
        return None
    return f"{address} is a {kind} address (the policy's allow_private_egress is false)"
