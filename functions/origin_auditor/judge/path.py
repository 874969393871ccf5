"""Findings about the chain as sent: parseable, in issuing order, complete, trusted, lean.

CloudFront checks that each certificate is issued by the next one and never fetches a missing
intermediate; browsers do both for themselves, which is why these findings exist.
"""

from __future__ import annotations

from ..model import Finding, Severity
from ..present.certs import name_text
from ..present.text import clean
from ..rules import Code
from ..trust import TrustStore
from ..x509.chain import ChainAnalysis
from .findings import finding
from .wording import cn


def path_findings(a: ChainAnalysis, trust: TrustStore, address: str | None, *,
                  truncated: bool = False) -> list[Finding]:
    """Malformed certificates, order, completeness, the root the path ends in, extras."""
    out: list[Finding] = []
    for pos in a.malformed:
        leaf_note = (" It is the leaf (the first certificate sent), so the hostname could not be "
                     "checked and no other certificate was judged in its place."
                     if pos == 0 else "")
        out.append(finding(
            Code.CERT_MALFORMED,
            f"Certificate #{pos + 1} of the chain as sent is not valid X.509 DER; CloudFront cannot "
            f"parse it and drops the connection.{leaf_note}", address))
    if a.leaf is None:
        return out
    leaf = a.leaf
    if not a.in_order:
        sent = " → ".join(cn(s.cert) for s in a.sent)
        correct = " → ".join(cn(p.cert) for p in a.path)
        out.append(finding(
            Code.CHAIN_WRONG_ORDER,
            f"The certificates are not in issuing order. Sent: {sent}. Issuing order: {correct}. "
            "OpenSSL and browsers reorder the chain silently, so it works for them; CloudFront "
            "checks that each certificate is issued by the next one and drops the connection (502).",
            address,
            hint="Serve leaf first, then each certificate's issuer; `origin-auditor check-bundle "
                 "FILE --host NAME --fix OUT.pem` writes the bundle in the right order."))
    missing = name_text(a.missing_issuer) if a.missing_issuer is not None else "?"
    if a.end == "incomplete" and truncated:
        # The probe stopped reading: the issuer may well have been sent after the cut, so
        # "was not sent" would be a guess. The probe's CHAIN_TOO_LARGE carries the verdict.
        last = a.path[-1]
        n = len(a.sent) + len(a.malformed)
        out.append(finding(
            Code.CHAIN_TOO_LARGE,
            f"The probe stopped reading the certificates after {n} certificate{'s' if n != 1 else ''}; "
            f"the issuer of '{cn(last.cert)}' ({missing}) is not among them "
            "and the rest was not judged, so whether the chain is complete is unknown.", address,
            severity=Severity.INFO,
            hint="Serve only leaf and intermediates, then check again."))
    elif a.end == "incomplete":
        last = a.path[-1]
        # The URL is the certificate maker's text: cleaned like every other certificate field.
        aia = clean(a.missing_aia, 300) if a.missing_aia else None
        where = (f" It can be downloaded from {aia} (the caIssuers URL in "
                 f"'{cn(last.cert)}').") if aia else (
            f" '{cn(last.cert)}' names no caIssuers URL; get it from your CA.")
        out.append(finding(
            Code.CHAIN_INCOMPLETE,
            f"The chain is incomplete: the issuer of '{cn(last.cert)}' ({missing}) was not sent and "
            f"is not a trusted root ({trust.source}).{where} Browsers fetch a missing "
            "intermediate themselves; CloudFront does not and drops the connection (502). If that "
            "issuer is a private root instead, the chain cannot be trusted by CloudFront at all.",
            address,
            hint="Serve the full chain: leaf, then every intermediate (e.g. fullchain.pem, not "
                 "cert.pem)" + (f"; add the certificate from {aia}." if aia else ".")))
    elif a.end == "untrusted_issuer":
        last = a.path[-1]
        out.append(finding(
            Code.CHAIN_UNTRUSTED_ROOT,
            f"'{cn(last.cert)}' claims to be issued by {missing}, but no trusted "
            f"root with that name and key signed it ({trust.source}); CloudFront drops the "
            "connection (502).", address))
    elif a.end == "self_signed":
        end = a.path[-1]
        if end.sha256 == leaf.sha256:
            out.append(finding(
                Code.CERT_SELF_SIGNED,
                f"The leaf certificate '{cn(leaf.cert)}' is self-signed. CloudFront only accepts "
                "certificates leading to a root on Mozilla's included CA list and drops the "
                "connection (502).", address))
        else:
            out.append(finding(
                Code.CHAIN_UNTRUSTED_ROOT,
                f"The chain ends in the self-signed root '{cn(end.cert)}', which is not a trusted "
                f"root ({trust.source}); a private CA? CloudFront only trusts Mozilla's included "
                "CAs and drops the connection (502).", address))
    out += _extras(a, address)
    return out


def _extras(a: ChainAnalysis, address: str | None) -> list[Finding]:
    """Duplicates, certificates off the path, and a sent root."""
    out: list[Finding] = []
    extras: list[str] = []
    if a.duplicates:
        extras.append("duplicates of " + ", ".join(sorted({f"'{cn(s.cert)}'" for s in a.duplicates})))
    if a.unrelated:
        extras.append("certificates not on the leaf's issuing path: "
                      + ", ".join(f"'{cn(s.cert)}' (#{s.position + 1})" for s in a.unrelated[:10]))
    if extras:
        gap = (" (with the chain incomplete, some of these may belong above the missing issuer)"
               if a.end == "incomplete" and a.unrelated else "")
        out.append(finding(
            Code.CHAIN_EXTRA_CERTS,
            f"The chain carries extra certificates: {'; '.join(extras)}{gap}. They cost bytes on every "
            "handshake and, sent between chain members, break the order CloudFront requires.",
            address))
    if a.root_sent and a.in_order:
        out.append(finding(
            Code.CHAIN_INCLUDES_ROOT,
            f"The trusted root '{cn(a.path[-1].cert)}' is sent at the end of the chain. That is "
            "allowed; CloudFront already has it, so it only adds bytes.", address))
    return out
