"""Names as certificates and TLS use them.

``ip_literal`` is the auditor's one IP-literal parser: the probe (is this host an address to
connect to, or a name to resolve and send as SNI?), the name checks (IP SAN vs DNS SAN) and the
CLI's ``--resolve`` all ask the same question and must get the same answer.
"""

from __future__ import annotations

import ipaddress

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
