"""The roots a chain must lead to: Mozilla's included CAs (certifi) unless told otherwise.

CloudFront trusts Mozilla's Included CA list for custom origins; certifi ships exactly that
bundle, so it is the default. ``--ca-bundle`` / ``ORIGIN_AUDITOR_CA_BUNDLE`` replace it (a
private test PKI, or a pinned snapshot). Loading is the only I/O here; the judge gets the
parsed ``TrustStore`` and stays pure.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification

logger = logging.getLogger(__name__)

ENV_CA_BUNDLE = "ORIGIN_AUDITOR_CA_BUNDLE"


class TrustStoreError(ValueError):
    """The CA bundle cannot be used (unreadable, not PEM, no certificates). One-line message."""


def _spki(cert: x509.Certificate) -> bytes | None:
    """The DER SubjectPublicKeyInfo, or None when the key type is not supported here."""
    try:
        return cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    except Exception:  # unsupported key types must not break trust lookups
        return None


@dataclass(frozen=True)
class TrustStore:
    """A set of trusted root certificates.

    roots: the trusted root certificates, in bundle order.
    source: where they came from, for reports (``certifi 2026.5.20 (Mozilla)`` or a file path).
    store: the same roots as a ``cryptography.x509.verification.Store`` for the strict verifier.
    """

    roots: tuple[x509.Certificate, ...]
    source: str
    store: verification.Store = field(repr=False, compare=False)
    # subject (DER) -> roots with that subject; several when a CA re-keyed under the same name.
    _by_subject: dict[bytes, tuple[x509.Certificate, ...]] = field(
        default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def from_certificates(cls, roots: Iterable[x509.Certificate], source: str) -> TrustStore:
        """Build a store from parsed certificates. Raises TrustStoreError when there are none."""
        certs = tuple(roots)
        if not certs:
            raise TrustStoreError(f"{source}: no certificates to trust")
        by_subject: dict[bytes, list[x509.Certificate]] = {}
        for cert in certs:
            by_subject.setdefault(cert.subject.public_bytes(), []).append(cert)
        try:
            store = verification.Store(list(certs))
        except Exception as exc:  # one line for the user, whatever the cause
            raise TrustStoreError(f"{source}: cannot build a trust store: {exc}") from None
        return cls(roots=certs, source=source, store=store,
                   _by_subject={k: tuple(v) for k, v in by_subject.items()})

    def find_roots_by_subject(self, name: x509.Name) -> tuple[x509.Certificate, ...]:
        """Trusted roots whose subject equals ``name`` (empty when none)."""
        try:
            return self._by_subject.get(name.public_bytes(), ())
        except Exception:  # a malformed name simply matches nothing
            return ()

    def find_root_by_subject(self, name: x509.Name) -> x509.Certificate | None:
        """The first trusted root whose subject equals ``name``, or None."""
        found = self.find_roots_by_subject(name)
        return found[0] if found else None

    def is_trusted_root(self, cert: x509.Certificate) -> bool:
        """``cert`` has the subject and public key of a trusted root.

        Subject + key, not the exact bytes: a cross-signed copy of a root, or the same root
        re-issued with other dates, anchors a chain just as well.
        """
        candidates = self.find_roots_by_subject(cert.subject)
        if not candidates:
            return False
        key = _spki(cert)
        return key is not None and any(_spki(r) == key for r in candidates)

    def __len__(self) -> int:
        return len(self.roots)


def _parse_bundle(data: bytes, source: str) -> tuple[x509.Certificate, ...]:
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise TrustStoreError(f"{source}: not a PEM file with CERTIFICATE blocks")
    try:
        with warnings.catch_warnings():
            # certifi carries a root with a non-positive serial; cryptography warns on every
            # load, which would otherwise land in every Lambda log.
            warnings.simplefilter("ignore")
            return tuple(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise TrustStoreError(f"{source}: cannot parse the PEM certificates ({exc})") from None


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise TrustStoreError(f"cannot read CA bundle {path}: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=1)
def _certifi_store() -> TrustStore:
    # Parsing ~150 roots costs tens of milliseconds; every check in a run (and every warm
    # Lambda invocation) shares the one parsed copy.
    path = certifi.where()
    roots = _parse_bundle(_read(path), path)
    version = getattr(certifi, "__version__", "?")
    return TrustStore.from_certificates(roots, f"certifi {version} (Mozilla)")


@functools.lru_cache(maxsize=8)
def _file_store(path: str, _digest: str, data: bytes) -> TrustStore:
    # Keyed on the content's digest: reading a bundle is cheap, parsing it is not, and an edited
    # bundle (whatever its size or timestamp) is always parsed again.
    return TrustStore.from_certificates(_parse_bundle(data, path), path)


def load_trust_store(ca_bundle: str | None = None) -> TrustStore:
    """The trust store: ``ca_bundle`` if given, else $ORIGIN_AUDITOR_CA_BUNDLE, else certifi.

    Raises TrustStoreError (a ValueError) with a one-line reason when the bundle is unreadable,
    not PEM, or holds no certificate.
    """
    path = ca_bundle or os.environ.get(ENV_CA_BUNDLE) or None
    if path is None:
        return _certifi_store()
    data = _read(path)
    store = _file_store(path, hashlib.sha256(data).hexdigest(), data)
    logger.debug("trust store %s: %d roots", store.source, len(store))
    return store
