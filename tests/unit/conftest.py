"""Shared helpers for the judge, trust and bundle tests: generated PKIs and trust stores."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from origin_auditor.trust import TrustStore
from origin_auditor_lab.pki import Issued, Pki

SHA256_RSA_OID = bytes.fromhex("06092A864886F70D01010B")
SHA1_RSA_OID = bytes.fromhex("06092A864886F70D010105")
MD5_RSA_OID = bytes.fromhex("06092A864886F70D010104")


def trust_of(*roots: Issued | x509.Certificate) -> TrustStore:
    """A trust store holding exactly these roots (a private test PKI)."""
    return TrustStore.from_certificates(
        [r.cert if isinstance(r, Issued) else r for r in roots], "test roots")


def ders(*certs: Issued) -> list[bytes]:
    return [c.der for c in certs]


def resign_rsa(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey, *,
               tbs_edit: Callable[[bytes], bytes] = lambda b: b, sha1: bool = False,
               md5: bool = False) -> bytes:
    """DER of ``cert`` with its TBS edited (same length) and re-signed by ``issuer_key``.

    cryptography refuses to *sign* certificates with SHA-1 or with notBefore > notAfter; real
    origins still send such certificates, so the tests forge them the way a broken CA would:
    patch the to-be-signed bytes and sign them with the low-level RSA API. RSA keeps the
    signature length fixed, so no DER length needs to change.
    """
    der = cert.public_bytes(serialization.Encoding.DER)
    tbs = cert.tbs_certificate_bytes
    new_tbs = tbs_edit(tbs)
    weak_oid = SHA1_RSA_OID if sha1 else MD5_RSA_OID if md5 else None
    if weak_oid is not None:
        assert SHA256_RSA_OID in new_tbs
        new_tbs = new_tbs.replace(SHA256_RSA_OID, weak_oid)
    assert len(new_tbs) == len(tbs)
    algo: hashes.HashAlgorithm = hashes.SHA1() if sha1 else hashes.MD5() if md5 else hashes.SHA256()
    sig = issuer_key.sign(new_tbs, padding.PKCS1v15(), algo)
    assert len(sig) == len(cert.signature)
    start = der.index(tbs)
    middle = der[start + len(tbs):-len(sig)]
    if weak_oid is not None:
        middle = middle.replace(SHA256_RSA_OID, weak_oid)
    out = der[:start] + new_tbs + middle + sig
    x509.load_der_x509_certificate(out)  # still parses
    return out


@pytest.fixture(scope="session")
def pki1() -> Pki:
    """root -> Intermediate 1 -> origin.test"""
    return Pki(hostnames=("origin.test",), depth=1)


@pytest.fixture(scope="session")
def pki2() -> Pki:
    """root -> Intermediate 1 -> Intermediate 2 -> origin.test"""
    return Pki(hostnames=("origin.test",), depth=2)


@pytest.fixture(scope="session")
def rsa_pki() -> Pki:
    return Pki(hostnames=("origin.test",), depth=1, key_kind="rsa2048")
