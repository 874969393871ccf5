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
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .fetch import IssuerFetcher, issuer_trails
from .judge.bundle import BUNDLE_ADDRESS, judge_bundle
from .model import TargetResult
from .present.text import clean
from .rules import EXPIRY_WARN_DAYS
from .trust import TrustStore
from .x509.chain import ChainAnalysis, analyze_chain, parse_chain
from .x509.issuers import IssuerTrail, follow_issuers
from .x509.pem import BundleError, KeyPairing, pair_key, split_pem
from .x509.signature import self_signed

__all__ = ["BUNDLE_ADDRESS", "BundleCheck", "BundleError", "check_bundle", "fix_bundle", "fix_chain"]

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
                 key_pem: bytes | None = None, warn_days: int = EXPIRY_WARN_DAYS,
                 fetcher: IssuerFetcher | None = None) -> BundleCheck:
    """Judge the certificates of a PEM bundle as the chain a server at ``host`` would send.

    ``fetcher``: fetch the issuers above an incomplete chain (``fetch``) so CHAIN_INCOMPLETE /
    CHAIN_UNTRUSTED_ROOT name exactly what is missing; the verdict stays the bundle's.

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
    trails = issuer_trails([bundle.ders], trust, fetcher) if fetcher is not None else None
    result = judge_bundle(bundle.ders, host, contains_key=bundle.has_key, key=pairing, trust=trust,
                          at=at, warn_days=warn_days, issuers=trails)
    return BundleCheck(result=result, certificates=tuple(s.cert for s in sent),
                       key_matches=None if pairing is None else pairing.matches,
                       key_error=None if pairing is None else pairing.error,
                       contains_private_key=bundle.has_key)


def _describe_missing(a: ChainAnalysis, trail: IssuerTrail | None) -> str:
    """Why the chain cannot be completed, in one line (outside text cleaned)."""
    last = clean(a.path[-1].cert.subject.rfc4514_string(), 200)
    issuer = clean(a.missing_issuer.rfc4514_string(), 200) if a.missing_issuer is not None else "?"
    # The caIssuers URL is the certificate maker's text, cleaned like any certificate text.
    aia = clean(a.missing_aia, 300) if a.missing_aia else None
    if trail is not None and trail.private_root is not None:
        root = trail.private_root
        return (f"no path to a trusted root: the issuers of {last}, fetched from their caIssuers URLs, "
                f"end at the private root {clean(root.cert.subject.rfc4514_string(), 200)} (SHA-256 "
                f"{root.sha256}), which CloudFront does not trust; use a certificate from a "
                "publicly trusted CA")
    if trail is not None and trail.end == "untrusted_issuer" and trail.certificates:
        top = trail.certificates[-1].cert
        return (f"no path to a trusted root: {clean(top.subject.rfc4514_string(), 200)} (fetched) is "
                "issued by a CA named like a trusted root but with another key; get the chain from the CA")
    why = ""
    if trail is not None and trail.stopped == "failed":
        why = f" (fetching {clean(trail.url or '?', 300)} failed: {clean(trail.error or '?', 200)})"
    elif trail is not None and trail.stopped is not None:
        why = f" (fetching its issuers stopped: {trail.stopped.replace('_', ' ')})"
    where = f"; download it from {aia}" if aia else "; get it from the CA"
    return (f"the issuer of {last} is missing: {issuer}{where} and add it to the bundle{why}")


def fix_chain(ders: Sequence[bytes], *, trust: TrustStore, fetcher: IssuerFetcher | None = None,
              what: str = "bundle") -> bytes:
    """The chain a server should send (PEM): leaf, then its intermediates in issuing order.

    The sent certificates are reordered; duplicates, unrelated certificates and the self-signed
    root are dropped (CloudFront has the root). Intermediates that were not sent are fetched
    through the caIssuers URLs when ``fetcher`` is given (each verified to have signed the one
    below it, ``x509.issuers``), and only when they lead to a trusted root. Raises BundleError
    with a one-line reason when no path to a trusted root exists or cannot be found.
    ``what`` names the input in refusals (``bundle``, ``chain``).
    """
    sent, malformed = parse_chain(ders)
    if not sent:
        raise BundleError(f"no certificate in the {what} parses as X.509")
    if 0 in malformed:
        # Dropping it would promote an intermediate to leaf: refuse rather than guess.
        raise BundleError(f"the first certificate {'block ' if what == 'bundle' else ''}(the leaf) "
                          f"of the {what} does not parse as X.509; "
                          "replace it with the server's certificate before fixing the order")
    if malformed:
        logger.warning("fix_chain: dropping %d certificate(s) that do not parse", len(malformed))
    a = analyze_chain(sent, trust, malformed)
    if a.leaf is None:
        raise BundleError(f"the {what} has no leaf certificate")
    extra: list[x509.Certificate] = []
    if a.end == "incomplete":
        trail = follow_issuers(a.path[-1].cert, trust, fetcher.get) if fetcher is not None else None
        if trail is None or trail.end != "trusted":
            raise BundleError(_describe_missing(a, trail))
        extra = [f.cert for f in trail.missing]
    elif a.end == "untrusted_issuer":
        raise BundleError(f"{clean(a.path[-1].cert.subject.rfc4514_string(), 200)} is issued by a CA "
                          "named like a trusted root but with another key; get the chain from the CA")
    elif a.end == "self_signed":
        what_end = "self-signed leaf" if len(a.path) == 1 else "self-signed root"
        raise BundleError(f"no path to a trusted root: the chain ends at the {what_end} "
                          f"{clean(a.path[-1].cert.subject.rfc4514_string(), 200)}, which CloudFront "
                          "does not trust; use a certificate from a publicly trusted CA")
    path = [p.cert for p in a.path]
    # The root is only dropped at the end, never the leaf: a self-signed leaf stays as it is.
    last = path[-1]
    if len(path) > 1 and a.end == "trusted" and last.issuer == last.subject and self_signed(last):
        path.pop()
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (*path, *extra))


def fix_bundle(pem: bytes, *, trust: TrustStore, fetcher: IssuerFetcher | None = None) -> bytes:
    """``fix_chain`` of a PEM bundle's certificates (raises BundleError as it does, and when
    the input is not PEM)."""
    return fix_chain(split_pem(pem).ders, trust=trust, fetcher=fetcher)
