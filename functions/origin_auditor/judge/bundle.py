"""Judge a PEM bundle offline as the chain a server at ``host`` would send, before a deploy.

The order of the certificate blocks is the order the server will send, so the chain is judged
exactly like one an origin sent; on top come what only a bundle can show: a private key inside
it, and whether the key given with it belongs to its leaf.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ..model import AddressReport, Finding, Severity, Target, TargetResult, Verdict
from ..present.certs import summarize_cert
from ..rules import EXPIRY_WARN_DAYS, Code
from ..trust import TrustStore
from ..x509.issuers import IssuerTrail
from ..x509.pem import KeyPairing
from .chain import judge_chain
from .findings import finding

# What the findings of a bundle name as their address: there is no IP address offline.
BUNDLE_ADDRESS = "bundle"


def judge_bundle(ders: Sequence[bytes], host: str, *, contains_key: bool, key: KeyPairing | None,
                 trust: TrustStore, at: dt.datetime,
                 warn_days: int = EXPIRY_WARN_DAYS,
                 issuers: Mapping[str, IssuerTrail] | None = None) -> TargetResult:
    """The bundle's result as if an origin at ``host`` sent ``ders`` in this order.

    issuers: what the caIssuers URLs led to (``fetch.issuer_trails``): exact wording only.

    contains_key: the bundle holds a PRIVATE KEY block.
    key: how the key given alongside compares with the leaf (``None``: no key given).
    """
    findings: list[Finding] = []
    if contains_key:
        findings.append(finding(
            Code.BUNDLE_CONTAINS_KEY,
            "The bundle contains a PRIVATE KEY block. Keep the key in its own file with tight "
            "permissions: a bundle is copied, attached to tickets and served as a chain file.",
            BUNDLE_ADDRESS, severity=Severity.WARN,
            hint="Remove the key block from the bundle; keep the key in its own file with restricted "
                 "permissions and pass it separately (--key)."))
    findings += judge_chain(ders, host, trust=trust, at=at, warn_days=warn_days, address=BUNDLE_ADDRESS,
                            issuers=issuers)
    if key is not None:
        findings += _pairing_findings(key)
    return TargetResult(
        target=Target(host=host, port=443), verdict=Verdict.of(findings), findings=tuple(findings),
        addresses=(AddressReport(BUNDLE_ADDRESS, None, None, tuple(summarize_cert(d) for d in ders)),),
        reproduce="")


def _pairing_findings(key: KeyPairing) -> list[Finding]:
    if not key.leaf_parses:
        return [finding(Code.KEY_MISMATCH, f"The key could not be checked against the leaf: {key.error}.",
                        BUNDLE_ADDRESS, severity=Severity.WARN,
                        hint="Fix the leaf certificate block, then check again.")]
    if key.matches is False:
        return [finding(
            Code.KEY_MISMATCH,
            "The private key does not belong to the leaf certificate: a server configured with "
            "this pair cannot complete a TLS handshake (or refuses to start).", BUNDLE_ADDRESS,
            severity=Severity.FAIL,
            hint="Pair the certificate with the key it was issued for (compare `openssl x509 -noout "
                 "-pubkey` with `openssl pkey -pubout`).")]
    if key.error is not None:
        # Not a proven mismatch, so only a warning; but the pairing the user asked about
        # is unverified, which KEY_MISMATCH is about (no handshake happens offline).
        return [finding(Code.KEY_MISMATCH, f"The key could not be checked against the leaf: {key.error}.",
                        BUNDLE_ADDRESS, severity=Severity.WARN,
                        hint="Provide the unencrypted PEM private key the certificate was issued for.")]
    return []
