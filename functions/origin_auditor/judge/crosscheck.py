"""The strict verifier as a cross-check on the judge's own findings.

The positional checks explain most rejections in CloudFront's terms; the strict verifier
(``x509.verify``) knows Web PKI rules they do not spell out (basic constraints, EKU, forbidden
signature algorithms). Anything it rejects that the findings do not already explain is
reported, never swallowed.
"""

from __future__ import annotations

import datetime as dt
import logging

from ..model import Finding, Severity
from ..present.text import clean
from ..rules import CODES, Code
from ..trust import TrustStore
from ..x509.chain import ChainAnalysis
from ..x509.verify import Rejection, VerifierReason, strict_verify
from .findings import finding

logger = logging.getLogger(__name__)

# Which of the judge's own finding codes already explain a rejection of each category.
_EXPLAINED_BY: dict[VerifierReason, frozenset[Code]] = {
    VerifierReason.PUBLIC_KEY: frozenset({Code.KEY_UNSUPPORTED}),
    VerifierReason.SIGNATURE_ALGORITHM: frozenset({Code.SIGNATURE_WEAK}),
    VerifierReason.VALIDITY_TIME: frozenset({Code.CERT_EXPIRED, Code.CERT_NOT_YET_VALID}),
    VerifierReason.NAME: frozenset({Code.HOSTNAME_MISMATCH, Code.CERT_CN_ONLY}),
    VerifierReason.OTHER: frozenset(),
}

# The code for a rejection nothing explains. A key rejection the key check missed is still
# an invalid chain for CloudFront (CHAIN_INVALID names the verifier's reason).
_UNEXPLAINED_CODE: dict[VerifierReason, Code] = {
    VerifierReason.PUBLIC_KEY: Code.CHAIN_INVALID,
    VerifierReason.SIGNATURE_ALGORITHM: Code.SIGNATURE_WEAK,
    VerifierReason.VALIDITY_TIME: Code.CERT_EXPIRED,
    VerifierReason.NAME: Code.HOSTNAME_MISMATCH,
    VerifierReason.OTHER: Code.CHAIN_INVALID,
}


def _verify(a: ChainAnalysis, name: str, trust: TrustStore, at: dt.datetime) -> Rejection | None:
    assert a.leaf is not None
    return strict_verify(a.leaf.cert, [p.cert for p in a.path[1:]], name, store=trust.store, at=at)


def cross_check(a: ChainAnalysis, server_name: str, *, trust: TrustStore, at: dt.datetime,
                findings: list[Finding], address: str | None,
                origin_domain: str | None = None) -> list[Finding]:
    """Run the strict verifier on the correctly ordered path; return the findings, amended
    with what it rejects that the positional checks did not explain.

    With ``origin_domain`` (Host forwarded) a certificate for either name is acceptable, as
    in ``hostname_findings``: a rejection for the SNI name only is retried with the origin
    domain, so a name CloudFront accepts never turns into CHAIN_INVALID.
    """
    if a.leaf is None or a.end != "trusted":
        return findings  # the path itself already failed; nothing more to learn
    rejection = _verify(a, server_name, trust, at)
    if (rejection is not None and origin_domain is not None
            and rejection.reason == VerifierReason.NAME):
        rejection = _verify(a, origin_domain, trust, at)
    if rejection is None:
        return findings
    reason = rejection.reason
    # The verifier's message may quote the certificate: cleaned like any certificate text.
    msg = clean(rejection.message, 400)
    codes = {f.code for f in findings}
    logger.debug("strict verifier rejected chain for %s (%s): %s", server_name, reason.name, msg)
    if reason == VerifierReason.SIGNATURE_ALGORITHM and Code.SIGNATURE_WEAK in codes:
        # The rules doc: a weak hash is a failure of trust once a strict verifier rejects it.
        return [finding(f.code, f"{f.message} A strict verifier rejects the chain for it ({msg}), "
                        "so treat it as a failure.", f.address, hint=f.hint, severity=Severity.FAIL)
                if f.code == Code.SIGNATURE_WEAK else f for f in findings]
    if codes & _EXPLAINED_BY[reason]:
        return findings
    code = _UNEXPLAINED_CODE[reason]
    # The path reaches a trusted root here, so "untrusted root" would be wrong: the chain is
    # invalid for a Web PKI reason (not a CA, EKU, constraints) the verifier names.
    return [*findings, finding(
        code,
        f"A strict X.509 verifier (Web PKI rules, trust store {trust.source}) rejects the chain even "
        f"though its order and completeness are right: {msg}. CloudFront rejects invalid "
        "certificates and drops the connection (502).", address, severity=Severity.FAIL,
        hint=CODES[code].fix if code == Code.CHAIN_INVALID else
        f"Reissue the certificate (or get the CA's current intermediate); {CODES[code].fix}")]
