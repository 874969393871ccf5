"""Which addresses CloudFront cannot reach, and which a caller opened: one rule for every
connection the auditor makes (the probe's to origins, ``fetch``'s to caIssuers URLs).

Moved here from ``probe`` so the issuer fetch applies exactly the probe's rule without the two
fact modules importing each other.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from .options import Network
from .rules import NON_PUBLIC_NETWORKS, AddressClass

_NON_PUBLIC = tuple((ipaddress.ip_network(cidr), kind) for cidr, kind in NON_PUBLIC_NETWORKS)


def parse_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``address`` as an IP address (IPv4-mapped IPv6 as its IPv4, a scope id dropped), or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d on the wire
            return ip.ipv4_mapped
        if ip.scope_id is not None:  # fe80::1%eth0 as getaddrinfo gives it
            return ipaddress.IPv6Address(address.split("%", 1)[0])
    return ip


def address_class(address: str) -> AddressClass | None:
    """Why CloudFront cannot reach ``address``, or ``None`` when it is a public unicast address.

    A string that is not an IP address is ``None`` too (a resolver bug: the connect says so).
    """
    ip = parse_address(address)
    if ip is None:
        return None
    for network, kind in _NON_PUBLIC:
        if ip.version == network.version and ip in network:
            return kind
    # Whatever else the running Python's tables know is not globally reachable.
    return None if ip.is_global and not ip.is_multicast else AddressClass.RESERVED


def allowed(address: str, allow: Sequence[Network]) -> bool:
    """``address`` lies in one of the ranges the caller opened (``options.ALLOW_ADDRESSES``)."""
    ip = parse_address(address)
    return ip is not None and any(ip.version == n.version and ip in n for n in allow)
