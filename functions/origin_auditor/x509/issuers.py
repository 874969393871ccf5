"""Follow caIssuers URLs up from the top of an incomplete path: which certificates are missing,
and where the path really ends (a trusted root, or a private one).

Facts only, and no I/O: the download is a callable (``fetch.IssuerFetcher.get`` in a run, a
dictionary in a unit test). CloudFront never fetches, so nothing found here completes the chain
as sent: the judge words CHAIN_INCOMPLETE / CHAIN_UNTRUSTED_ROOT exactly from it, and
``bundle.fix_chain`` writes the chain the origin should send.

Every fetched certificate must *directly issue* the one below it (``signature.directly_issued_by``),
link by link; a URL that serves anything else stops the trail, and why is a fact the judge words.
No prose here: names and URLs are their makers' text, which the judge cleans.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..options import FETCH_MAX_HOPS
from ..trust import TrustStore
from .chain import aia_ca_issuers
from .signature import directly_issued_by, self_signed

# What one URL gave: the certificates found there (DER) or why none could be used.
Get = Callable[[str], "Download"]


@dataclass(frozen=True)
class Download:
    """The outcome of fetching one caIssuers URL.

    url: as written in the certificate (its maker's text: clean it before showing it).
    certificates: the DER certificates the answer held (DER, PEM or PKCS#7), in answer order.
    error: why nothing usable came, as a message can say it (``timed out after 3 s``,
        ``answered HTTP 404``, ``resolves only to loopback addresses``); None on success.
    """

    url: str
    certificates: tuple[bytes, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class FetchedCert:
    """A certificate fetched from ``url`` that directly issued the one below it."""

    der: bytes
    cert: x509.Certificate
    sha256: str
    url: str


@dataclass(frozen=True)
class IssuerTrail:
    """What following caIssuers URLs from ``top`` (the last certificate of the sent path) found.

    certificates: in issuing order; the first directly issued ``top``, each next one the one
        before it (signatures verified).
    end: ``trusted`` (a trusted root issued the last one, or the last one is a trusted root:
        ``anchor``), ``private_root`` (the last one is a self-signed root the trust store does
        not hold), ``untrusted_issuer`` (the last one's issuer is named like a trusted root but
        no such root signed it), ``stopped`` (the trail ended before any of these: ``stopped``).
    anchor: the trusted root the completed path ends at (``trusted`` only).
    stopped: why the trail stopped short (None unless ``end == "stopped"``): ``no_url`` (``at``
        names no caIssuers URL), ``failed`` (fetching ``url`` failed: ``error``), ``not_issuer``
        (``url`` serves no certificate that signed ``at``), ``loop`` (``url`` leads back onto
        this path), ``hops`` (not complete after ``FETCH_MAX_HOPS`` fetches).
    at: the certificate whose issuer was being sought when the trail stopped.
    url: the URL concerned, as written in ``at`` (clean it before showing it).
    error: the fetcher's words for a failed fetch (``Download.error``).
    """

    certificates: tuple[FetchedCert, ...]
    end: str
    anchor: x509.Certificate | None = None
    stopped: str | None = None
    at: x509.Certificate | None = None
    url: str | None = None
    error: str | None = None

    @property
    def missing(self) -> tuple[FetchedCert, ...]:
        """The certificates the origin should send and did not: fetched intermediates, without
        a root at the end (a trusted one CloudFront has; a private one nobody should send)."""
        certs = self.certificates
        if certs and (self.end == "private_root" or
                      (self.end == "trusted" and self_signed(certs[-1].cert))):
            return certs[:-1]
        return certs

    @property
    def private_root(self) -> FetchedCert | None:
        return self.certificates[-1] if self.end == "private_root" and self.certificates else None


def parse_certificates(ders: Sequence[bytes]) -> list[tuple[bytes, x509.Certificate]]:
    out = []
    for der in ders:
        try:
            cert = x509.load_der_x509_certificate(der)
            _ = (cert.subject, cert.issuer, cert.tbs_certificate_bytes, cert.signature)
        except Exception:  # a blob that does not parse cannot issue anything
            cert = None
        if cert is not None:
            out.append((der, cert))
    return out


def follow_issuers(top: x509.Certificate, trust: TrustStore, get: Get, *,
                   max_hops: int = FETCH_MAX_HOPS) -> IssuerTrail:
    """Fetch ``top``'s issuer through its caIssuers URL, then that one's, up to ``max_hops``
    fetches, until a trusted root or a self-signed root is reached. Never raises."""
    found: list[FetchedCert] = []
    visited: set[str] = set()
    current = top
    seen = {hashlib.sha256(_der(top)).hexdigest()}
    for _hop in range(max_hops):
        url = aia_ca_issuers(current)
        if url is None:
            return IssuerTrail(tuple(found), "stopped", stopped="no_url", at=current)
        if url in visited:
            return IssuerTrail(tuple(found), "stopped", stopped="loop", at=current, url=url)
        visited.add(url)
        try:
            got = get(url)
        except Exception as exc:  # the fetcher never raises; a bug must still cost one trail only
            got = Download(url, error=f"could not be fetched ({type(exc).__name__})")
        if got.error is not None:
            return IssuerTrail(tuple(found), "stopped", stopped="failed", at=current, url=url,
                               error=got.error)
        issuer = next(((d, c) for d, c in parse_certificates(got.certificates)
                       if directly_issued_by(current, c)), None)
        if issuer is None:
            return IssuerTrail(tuple(found), "stopped", stopped="not_issuer", at=current, url=url)
        der, cert = issuer
        sha = hashlib.sha256(der).hexdigest()
        if sha in seen:
            return IssuerTrail(tuple(found), "stopped", stopped="loop", at=current, url=url)
        seen.add(sha)
        found.append(FetchedCert(der, cert, sha, url))
        if trust.is_trusted_root(cert):
            return IssuerTrail(tuple(found), "trusted", anchor=cert)
        if self_signed(cert):
            return IssuerTrail(tuple(found), "private_root")
        roots = trust.find_roots_by_subject(cert.issuer)
        root = next((r for r in roots if directly_issued_by(cert, r)), None)
        if root is not None:
            return IssuerTrail(tuple(found), "trusted", anchor=root)
        if roots:
            return IssuerTrail(tuple(found), "untrusted_issuer")
        current = cert
    return IssuerTrail(tuple(found), "stopped", stopped="hops", at=current)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)
