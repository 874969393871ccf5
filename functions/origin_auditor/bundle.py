"""Check and fix a PEM certificate bundle offline, before it is deployed to an origin.

The bundle is judged exactly like a chain an origin sends (``judge.judge_bundle``): the order
of the PEM blocks is the order the server will send. ``fix_bundle`` writes what the server
should send instead: leaf, then each issuer, nothing else.

Bundles sometimes carry the private key too (``cat key.pem cert.pem > bundle.pem``). The key
is never parsed from the bundle, echoed, logged or put into an exception: only its presence
is reported (``x509.pem``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .judge.bundle import BUNDLE_ADDRESS, judge_bundle
from .model import TargetResult
from .present.text import clean
from .rules import EXPIRY_WARN_DAYS
from .trust import TrustStore
from .x509.chain import ChainAnalysis, analyze_chain, parse_chain
from .x509.pem import BundleError, KeyPairing, pair_key, split_pem

__all__ = ["BUNDLE_ADDRESS", "BundleCheck", "BundleError", "check_bundle", "fix_bundle"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundleCheck:
    """The verdict on a PEM bundle.

    result: the judged result, as if an origin at ``host`` sent these certificates in this order.
    certificates: the certificates that parsed, in bundle order.
    key_matches: the given private key belongs to the leaf; ``None`` when no key was given or
        it could not be read (see ``key_error``).
    key_error: why the given key could not be checked (encrypted, not a key), else ``None``.
    contains_private_key: the bundle itself holds a PRIVATE KEY block.
    """

    result: TargetResult
    certificates: tuple[x509.Certificate, ...]
    key_matches: bool | None
    key_error: str | None = None
    contains_private_key: bool = False


def check_bundle(pem: bytes, host: str, *, trust: TrustStore, at: dt.datetime,
                 key_pem: bytes | None = None, warn_days: int = EXPIRY_WARN_DAYS) -> BundleCheck:
    """Judge the certificates of a PEM bundle as the chain a server at ``host`` would send.

    Raises BundleError when the input is not PEM or holds no certificate. ``at`` is the
    moment validity is judged at.
    """
    bundle = split_pem(pem)
    sent, malformed = parse_chain(bundle.ders)
    pairing: KeyPairing | None = None
    if key_pem is not None:
        # A non-empty bundle whose first block parses has a leaf; otherwise there is none.
        leaf = None if 0 in malformed else analyze_chain(sent, trust).leaf
        pairing = pair_key(key_pem, None if leaf is None else leaf.cert)
    result = judge_bundle(bundle.ders, host, contains_key=bundle.has_key, key=pairing, trust=trust,
                          at=at, warn_days=warn_days)
    return BundleCheck(result=result, certificates=tuple(s.cert for s in sent),
                       key_matches=None if pairing is None else pairing.matches,
                       key_error=None if pairing is None else pairing.error,
                       contains_private_key=bundle.has_key)


def _describe_missing(a: ChainAnalysis) -> str:
    last = a.path[-1].cert
    issuer = a.missing_issuer.rfc4514_string() if a.missing_issuer is not None else "?"
    # The caIssuers URL is the certificate maker's text, cleaned like any certificate text.
    aia = clean(a.missing_aia, 300) if a.missing_aia else None
    where = f"; download it from {aia}" if aia else "; get it from the CA"
    return (f"the issuer of {last.subject.rfc4514_string()} is missing: {issuer}{where} and add "
            "it to the bundle")


def fix_bundle(pem: bytes, *, trust: TrustStore) -> bytes:
    """The bundle a server should send: leaf, then its intermediates in issuing order.

    Duplicates, unrelated certificates and the self-signed root are dropped (CloudFront has
    the root). Raises BundleError naming the missing issuer and its AIA caIssuers URL when the
    chain cannot be completed from the bundle and the trust store.
    """
    sent, malformed = parse_chain(split_pem(pem).ders)
    if not sent:
        raise BundleError("no certificate in the bundle parses as X.509")
    if 0 in malformed:
        # Dropping it would promote an intermediate to leaf: refuse rather than guess.
        raise BundleError("the first certificate block (the leaf) does not parse as X.509; replace it "
                          "with the server's certificate before fixing the order")
    if malformed:
        logger.warning("fix_bundle: dropping %d certificate block(s) that do not parse", len(malformed))
    a = analyze_chain(sent, trust, malformed)
    if a.end == "incomplete":
        raise BundleError(_describe_missing(a))
    if a.end == "untrusted_issuer":
        raise BundleError(f"{a.path[-1].cert.subject.rfc4514_string()} is issued by a CA named like a "
                          "trusted root but with another key; get the chain from the CA")
    path = list(a.path)
    # The root is only dropped at the end, never the leaf: a self-signed leaf stays as it is.
    last = path[-1].cert
    if len(path) > 1 and a.end in ("trusted", "self_signed") and last.issuer == last.subject:
        path.pop()
    return b"".join(p.cert.public_bytes(serialization.Encoding.PEM) for p in path)
