"""The one ``openssl s_client`` line builder: how a person sees what CloudFront sees."""

from __future__ import annotations

import shlex

from ..model import Target
from ..rules import LEGACY_PROTOCOLS, Offer
from ..x509.names import ip_literal

_OPENSSL_PROTOCOL_FLAGS = {"SSLv3": "ssl3", "TLSv1": "tls1", "TLSv1.1": "tls1_1", "TLSv1.2": "tls1_2"}


def openssl_command(target: Target, address: str | None = None, *, cipher: str | None = None,
                    offer: Offer | None = None) -> str:
    """The ``openssl s_client`` line that shows what CloudFront sees from this origin.

    Connects to ``address`` (IPv6 in brackets) when given, else the host. SNI = the name
    CloudFront sends; no ``-servername`` when that is an IP literal (neither CloudFront nor the
    probe sends an IP as SNI). Protocol flags limit it to what the origin's OriginSslProtocols
    allow; ``cipher`` (an OpenSSL cipher string) limits the suites offered too; ``offer`` limits
    the key exchange groups and signature schemes to that CloudFront offer's (``-groups``,
    ``-sigalgs``), so a failure that is only theirs is reproduced too.
    """
    host = address or target.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    parts = ["openssl", "s_client", "-connect", shlex.quote(f"{host}:{target.port}")]
    if ip_literal(target.sni) is None:
        parts += ["-servername", shlex.quote(target.sni)]
    allowed = [p for p in target.protocols if p in _OPENSSL_PROTOCOL_FLAGS]
    if len(allowed) == 1:
        parts.append(f"-{_OPENSSL_PROTOCOL_FLAGS[allowed[0]]}")
    elif allowed:
        # s_client has one "-tls1_x" per protocol; with several allowed, exclude the others.
        parts += [f"-no_{flag}" for proto, flag in _OPENSSL_PROTOCOL_FLAGS.items()
                  if proto not in allowed] + ["-no_tls1_3"]
    if any(p in LEGACY_PROTOCOLS for p in allowed):
        # OpenSSL 3 refuses TLS 1.0/1.1 at the default security level.
        parts += ["-cipher", shlex.quote(f"{cipher or 'DEFAULT'}:@SECLEVEL=0")]
    elif cipher:
        parts += ["-cipher", shlex.quote(cipher)]
    if offer is not None:
        parts += ["-groups", shlex.quote(":".join(offer.groups)),
                  "-sigalgs", shlex.quote(offer.openssl_sigalgs)]
    parts += ["-showcerts", "</dev/null"]
    return " ".join(parts)
