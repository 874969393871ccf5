"""Findings about the chain as sent: parseable, in issuing order, complete, trusted, lean.

CloudFront checks that each certificate is issued by the next one and never fetches a missing
intermediate; browsers do both for themselves, which is why these findings exist.
"""

from __future__ import annotations

from ..model import Finding, Severity
from ..options import FETCH_MAX_HOPS
from ..present.certs import name_text
from ..present.text import clean
from ..rules import Code
from ..trust import TrustStore
from ..x509.chain import ChainAnalysis
from ..x509.issuers import FetchedCert, IssuerTrail
from .findings import finding
from .wording import cn


def path_findings(a: ChainAnalysis, trust: TrustStore, address: str | None, *,
                  truncated: bool = False, trail: IssuerTrail | None = None) -> list[Finding]:
    """Malformed certificates, order, completeness, the root the path ends in, extras.

    trail: what following the caIssuers URLs above an incomplete path found (``fetch``); None
        when nothing was fetched. It makes the message exact, never the verdict: the chain as
        sent stays incomplete, whatever a fetch found (CloudFront never fetches).
    """
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
        out.append(_incomplete(a, trust, address, trail))
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


_DROPS = "CloudFront does not and drops the connection (502)"


def _fetched(f: FetchedCert) -> str:
    return f"'{cn(f.cert)}' ({name_text(f.cert.subject)}; SHA-256 {f.sha256}; from {clean(f.url, 300)})"


def _incomplete(a: ChainAnalysis, trust: TrustStore, address: str | None,
                trail: IssuerTrail | None) -> Finding:
    """CHAIN_INCOMPLETE, or CHAIN_UNTRUSTED_ROOT when the fetched path ends at a private root:
    exact when the issuers could be fetched, both possibilities when they could not."""
    last = a.path[-1]
    top = cn(last.cert)
    missing = name_text(a.missing_issuer) if a.missing_issuer is not None else "?"
    facts = f"the issuer of '{top}' ({missing}) was not sent and is not a trusted root ({trust.source})."
    head = f"The chain is incomplete: {facts}"
    if trail is not None and trail.end == "trusted" and trail.missing and trail.anchor is not None:
        certs = trail.missing
        n = len(certs)
        order = ", then ".join(f"'{cn(f.cert)}'" for f in certs)
        return finding(
            Code.CHAIN_INCOMPLETE,
            f"{head} {n} intermediate certificate{'s' if n != 1 else ''} between '{top}' and the "
            f"trusted root '{cn(trail.anchor)}' {'were' if n != 1 else 'was'} not sent: "
            f"{'; '.join(_fetched(f) for f in certs)}. Fetched through the caIssuers URLs and "
            "verified signature by signature: an intermediate is missing, not a private CA. "
            f"Browsers fetch a missing intermediate themselves; {_DROPS}.",
            address,
            hint=f"Serve the full chain: the certificates already sent, in issuing order, then {order} "
                 "(e.g. fullchain.pem, not cert.pem); `origin-auditor check HOST --write-chain OUT.pem` "
                 "writes that chain.")
    if trail is not None and trail.private_root is not None:
        root = trail.private_root
        between = trail.missing
        via = (f" through {'; '.join(_fetched(f) for f in between)}" if between else "")
        return finding(
            Code.CHAIN_UNTRUSTED_ROOT,
            f"The chain leads to a private CA: {facts} Following the caIssuers URLs (signatures "
            f"verified) leads{via} to the self-signed "
            f"root {_fetched(root)}, which is not a trusted root: a private CA. Sending the missing "
            f"certificate{'s' if between else ''} would not help; CloudFront only trusts Mozilla's "
            "included CAs and drops the connection (502).", address)
    aia = clean(a.missing_aia, 300) if a.missing_aia else None
    both = (" Either an intermediate is missing or the chain belongs to a private CA. Browsers fetch "
            "a missing intermediate themselves; CloudFront does not and drops the connection (502), "
            "and a private CA's chain it cannot trust at all (502).")
    return finding(
        Code.CHAIN_INCOMPLETE, head + both + _why_unknown(a, trail, aia), address,
        hint="Serve the full chain: leaf, then every intermediate (e.g. fullchain.pem, not "
             "cert.pem)" + (f"; add the certificate from {aia}" if aia else "")
             + "; if the CA is private, use a certificate from a publicly trusted CA.")


def _why_unknown(a: ChainAnalysis, trail: IssuerTrail | None, aia: str | None) -> str:
    """Why the fetch could not tell which (a sentence, leading space), naming the URL."""
    top = cn(a.path[-1].cert)
    if trail is None:
        return (f" The issuer was not fetched to tell which; its caIssuers URL (in '{top}') is {aia}."
                if aia else f" '{top}' names no caIssuers URL to fetch it from; get it from your CA.")
    so_far = (f" Fetched and verified so far: {'; '.join(_fetched(f) for f in trail.certificates)}."
              if trail.certificates else "")
    at = f"'{cn(trail.at)}'" if trail.at is not None else "the last certificate"
    url = clean(trail.url, 300) if trail.url else "?"
    if trail.end == "untrusted_issuer" and trail.certificates:
        last = trail.certificates[-1]
        return (f"{so_far} '{cn(last.cert)}' claims to be issued by {name_text(last.cert.issuer)}, "
                "but no trusted root with that name and key signed it.")
    reason = {
        "no_url": f"{at} names no caIssuers URL to fetch its issuer from",
        "failed": f"fetching {url} (the caIssuers URL in {at}) failed: {clean(trail.error or '?', 300)}",
        "not_issuer": f"{url} (the caIssuers URL in {at}) serves no certificate that signed {at}",
        "loop": f"the caIssuers URL in {at} leads back onto the path ({url}): a loop",
        "hops": f"the path was still not complete after {FETCH_MAX_HOPS} fetches, the most followed",
    }.get(trail.stopped or "", "the fetch could not tell")
    return f"{so_far} Which one could not be told: {reason}."


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
