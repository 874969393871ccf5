"""Names as certificates and TLS use them (RFC 6125), and the names a leaf certificate covers.

``ip_literal`` is the auditor's one IP-literal parser: the probe (is this host an address to
connect to, or a name to resolve and send as SNI?), the name checks (IP SAN vs DNS SAN) and the
CLI's ``--resolve`` all ask the same question and must get the same answer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def ip_literal(text: str) -> IPAddress | None:
    """The address if ``text`` is an IP literal, else None.

    Accepts IPv6 in brackets (``[::1]``, as URLs and ``HOST:PORT`` spell it) and a zone id
    (``fe80::1%eth0``; ``ipaddress`` keeps it in ``str()``). Never raises.
    """
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def normalize_dns(name: str) -> str | None:
    """Lower-case A-label form of a DNS name without the trailing dot; None if it cannot be."""
    if "\x00" in name:
        return None
    name = name.rstrip(".")
    if not name:
        return None
    if name.isascii():
        return name.lower()
    try:
        return name.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None


def dns_name_matches(server: str, patterns: Sequence[str]) -> bool:
    """RFC 6125 matching of an (already normalized) server name against certificate names.

    A wildcard is accepted only as the entire left-most label, covers exactly one label and
    needs at least two labels after it: ``*.example.com`` matches ``a.example.com`` but not
    ``example.com``, ``a.b.example.com``; ``f*.example.com`` and ``*.com`` match nothing.
    Linear in the number of patterns (set lookups), so a 20,000-name SAN stays cheap.
    """
    exact: set[str] = set()
    wild: set[str] = set()
    for p in patterns:
        if not isinstance(p, str) or "\x00" in p:
            continue
        name = p.rstrip(".").lower()
        if "*" not in name:
            exact.add(name)
        elif name.startswith("*.") and "*" not in name[2:] and "." in name[2:]:
            wild.add(name[2:])
    if "*" in server:
        return False
    if server in exact:
        return True
    first, _, rest = server.partition(".")
    return bool(first) and bool(rest) and rest in wild


@dataclass(frozen=True)
class LeafNames:
    """The names a leaf certificate covers, read the way RFC 6125 reads them.

    dns: the subjectAltName's DNS names as written (not normalized); the common name(s) when
        ``cn_only``. Entries that do not read are left out.
    ips: the subjectAltName's IP addresses.
    cn_only: the certificate has no subjectAltName extension at all, so (RFC 6125) only its
        common name can match.
    """

    dns: tuple[str, ...]
    ips: tuple[IPAddress, ...]
    cn_only: bool

    def covers(self, name: str) -> bool:
        """``name`` (an IP literal or a DNS name, any case, IDNA or not) is covered."""
        ip = ip_literal(name)
        if ip is not None:
            return ip in self.ips
        norm = normalize_dns(name)
        return norm is not None and dns_name_matches(norm, self.dns)


def leaf_names(cert: x509.Certificate) -> LeafNames | None:
    """The names ``cert`` covers; None when its extensions do not parse (duplicate or
    malformed), so which names it covers cannot be read. Never raises."""
    try:
        san: x509.SubjectAlternativeName | None = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    except Exception:  # duplicate or malformed extensions
        return None
    if san is None:
        # RFC 6125: the CN is only looked at when there is no SAN extension at all.
        try:
            cns = tuple(v for v in (a.value for a in cert.subject.get_attributes_for_oid(
                NameOID.COMMON_NAME)) if isinstance(v, str))
        except Exception:  # an unreadable CN covers nothing
            cns = ()
        return LeafNames(cns, (), cn_only=True)
    try:
        return LeafNames(tuple(san.get_values_for_type(x509.DNSName)),
                         tuple(x for x in san.get_values_for_type(x509.IPAddress)
                               if isinstance(x, ipaddress.IPv4Address | ipaddress.IPv6Address)),
                         cn_only=False)
    except Exception:  # unreadable entries cover nothing
        return LeafNames((), (), cn_only=False)
