"""Certificates as reports show them: subject, issuer, notAfter, SHA-256."""

from __future__ import annotations

import hashlib

from cryptography import x509

from ..model import CertSummary
from .text import clean

UNPARSEABLE = "<unparseable>"


def name_text(name: x509.Name) -> str:
    try:
        return clean(name.rfc4514_string(), 200) or "<empty name>"
    except Exception:
        return UNPARSEABLE



def summarize_cert(der: bytes) -> CertSummary:
    """Subject, issuer, notAfter and SHA-256 for reports; tolerant of malformed DER."""
    digest = hashlib.sha256(der).hexdigest()
    try:
        cert = x509.load_der_x509_certificate(bytes(der))
    except Exception:
        return CertSummary(UNPARSEABLE, UNPARSEABLE, None, digest)
    subject, issuer = name_text(cert.subject), name_text(cert.issuer)
    try:
        not_after: str | None = cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    except Exception:
        not_after = None
    return CertSummary(subject, issuer, not_after, digest)
