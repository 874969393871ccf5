"""Does the leaf cover the name CloudFront sends (or, with Host forwarded, the origin domain)?"""

from __future__ import annotations

from cryptography import x509

from ..model import Finding
from ..present.text import clean
from ..rules import Code
from ..x509.names import leaf_names
from .findings import finding
from .wording import cn

# How many names a HOSTNAME_MISMATCH message lists; the rest are counted.
MAX_NAMES_SHOWN = 10


def hostname_findings(leaf: x509.Certificate, server_name: str,
                      address: str | None, origin_domain: str | None = None) -> list[Finding]:
    """Does the leaf cover ``server_name`` (the SNI) or, when given, ``origin_domain``?

    AWS (502 troubleshooting): the certificate must match the origin domain name OR the Host
    header CloudFront forwards; with Host forwarded the alias goes out as SNI, so a
    certificate for either name is accepted (``origin_domain`` is then the second name).
    """
    out: list[Finding] = []
    names = leaf_names(leaf)
    if names is None:
        return [finding(Code.CERT_MALFORMED,
                        f"The leaf certificate '{cn(leaf)}' has extensions that do not parse, so "
                        "the names it covers cannot be read; CloudFront rejects it (502).", address)]
    if names.cn_only:
        out.append(finding(
            Code.CERT_CN_ONLY,
            f"The leaf certificate '{cn(leaf)}' has no subjectAltName extension; only its common "
            "name can match. CloudFront's documented requirement is a matching domain name, and "
            "clients are dropping CN matching: do not rely on it.", address))
    if any(names.covers(n) for n in (server_name, origin_domain) if n is not None):
        return out
    shown = clean(server_name, 120)
    dns_names, ips = names.dns, names.ips
    listed_names = [*dns_names[:MAX_NAMES_SHOWN], *(str(x) for x in ips[:MAX_NAMES_SHOWN])
                    ][:MAX_NAMES_SHOWN]
    total = len(dns_names) + len(ips)
    listed = ", ".join(clean(n, 100) for n in listed_names) or "no names"
    more = f" and {total - len(listed_names)} more" if total > len(listed_names) else ""
    if origin_domain is None:
        out.append(finding(
            Code.HOSTNAME_MISMATCH,
            f"The certificate does not cover '{shown}', the name CloudFront sends (SNI/Host); it "
            f"covers {listed}{more}. CloudFront drops the connection (502).", address,
            hint=f"Add '{shown}' to the certificate's subjectAltName, or change the origin domain "
                 "name / stop forwarding the viewer's Host header to this origin."))
        return out
    origin = clean(origin_domain, 120)
    out.append(finding(
        Code.HOSTNAME_MISMATCH,
        f"The certificate covers neither '{shown}' nor '{origin}'; it covers {listed}{more}. With "
        f"the viewer's Host header forwarded, CloudFront sends '{shown}' as SNI and accepts a "
        f"certificate for either that name or the origin domain name '{origin}'; with neither it "
        "drops the connection (502).", address,
        hint=f"Serve a certificate covering '{shown}' (for SNI '{shown}') or '{origin}', or stop "
             "forwarding the viewer's Host header to this origin."))
    return out
