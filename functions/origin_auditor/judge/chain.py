"""Judge a chain as sent, the way CloudFront will: every check, in report order. No I/O.

Input: the certificates exactly as sent (DER, in order), the name CloudFront sends, a trust
store and a moment. Output: ``Finding`` objects with a message saying what is wrong and why
CloudFront cares, and a hint saying how to fix it.

Two checks look alike but are not redundant:

* the *positional* check (``path``): ``chain[i]`` must be directly issued by ``chain[i + 1]``.
  OpenSSL, Go and browsers build a path from the sent certificates in any order and so pass a
  chain CloudFront drops. This is why the path is built by hand (``x509.chain``).
* the *strict verifier* (``crosscheck``) runs on the correctly ordered path. It knows Web PKI
  rules the other checks do not spell out; anything it rejects that they did not explain is
  reported, never swallowed.

Nothing here raises on hostile input: malformed DER, absurd dates, enormous SAN lists and
names with NUL bytes become findings (or are ignored) instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

from ..model import Finding
from ..rules import EXPIRY_WARN_DAYS, Code
from ..trust import TrustStore
from ..x509.chain import ChainAnalysis, analyze_chain, parse_chain
from ..x509.issuers import IssuerTrail
from .crosscheck import cross_check
from .findings import finding
from .hostname import hostname_findings
from .keys import key_findings
from .path import path_findings
from .signatures import signature_findings
from .validity import utc, validity_findings

logger = logging.getLogger(__name__)


def judge_chain(chain: Sequence[bytes], server_name: str, *, trust: TrustStore, at: dt.datetime,
                warn_days: int = EXPIRY_WARN_DAYS, address: str | None = None,
                origin_domain: str | None = None, truncated: bool = False,
                issuers: Mapping[str, IssuerTrail] | None = None) -> list[Finding]:
    """Every finding about a chain as sent (``judge_chain_path`` without the path)."""
    return judge_chain_path(chain, server_name, trust=trust, at=at, warn_days=warn_days, address=address,
                            origin_domain=origin_domain, truncated=truncated, issuers=issuers)[0]


def judge_chain_path(chain: Sequence[bytes], server_name: str, *, trust: TrustStore, at: dt.datetime,
                     warn_days: int = EXPIRY_WARN_DAYS, address: str | None = None,
                     origin_domain: str | None = None, truncated: bool = False,
                     issuers: Mapping[str, IssuerTrail] | None = None,
                     ) -> tuple[list[Finding], ChainAnalysis | None]:
    """Every finding about a chain as sent, checked for ``server_name`` at moment ``at``.

    origin_domain: a second name the certificate may cover instead of ``server_name`` (the
        origin domain when CloudFront forwards the viewer's Host and sends the alias as SNI).
    truncated: the probe stopped reading, so ``chain`` may lack certificates that were sent;
        a path that ends early is then "could not be judged", not CHAIN_INCOMPLETE.
    issuers: what following the caIssuers URLs found above incomplete paths, keyed by the
        SHA-256 of the path's top certificate (``fetch.issuer_trails``); it words
        CHAIN_INCOMPLETE / CHAIN_UNTRUSTED_ROOT exactly and never changes a verdict.

    Returns the findings and the issuing path they were judged on (None when the chain is
    empty or could not be analysed; reports draw it beside the chain as sent).
    An empty chain yields nothing (the probe says why none was seen). Never raises.
    """
    if not chain:
        return [], None
    a: ChainAnalysis | None = None
    at = utc(at)
    try:
        sent, malformed = parse_chain(chain)
        a = analyze_chain(sent, trust, malformed)
        trail = issuers.get(a.path[-1].sha256) if issuers and a.path else None
        findings = path_findings(a, trust, address, truncated=truncated, trail=trail)
        if a.leaf is None and not a.leaf_malformed:
            return findings, a
        # The certificates after a malformed leaf are still what was sent: their dates, keys
        # and signatures are judged; names and the strict path need the leaf, so they are not.
        findings += validity_findings(a, at, warn_days, address)
        if a.leaf is not None:
            findings += hostname_findings(a.leaf.cert, server_name, address, origin_domain)
        findings += key_findings(a, address)
        findings += signature_findings(a, trust, address)
        return cross_check(a, server_name, trust=trust, at=at, findings=findings, address=address,
                           origin_domain=origin_domain), a
    except Exception as exc:  # never let one chain abort the run
        # A bug or a certificate shaped in a way nobody foresaw must cost this one chain, not
        # the whole run, and must not look like a pass.
        logger.exception("judge_chain failed for %s", server_name)
        return [finding(Code.CERT_MALFORMED,
                        f"The certificate chain could not be judged ({type(exc).__name__}); treat it "
                        "as broken until checked by hand.", address,
                        hint="Run the openssl line in the report and inspect the chain.")], a
