"""The strict verifier (``cryptography.x509.verification``) as a fact: accepted, or why not.

It knows Web PKI rules the auditor's own checks do not spell out (basic constraints, EKU,
forbidden signature algorithms), so the judge runs it as a cross-check. cryptography raises
one ``VerificationError`` type for every reason; the category is read from its message once,
here, so no other module parses its wording.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import Enum
from typing import NamedTuple

from cryptography import x509
from cryptography.x509 import verification

from .names import ip_literal, normalize_dns


class VerifierReason(Enum):
    """Why the strict verifier rejected a chain, in the categories the judge's own checks
    can explain. cryptography raises one ``VerificationError`` type for every reason, so the
    category is read from its message once, here, by the phrases its Web PKI policy uses."""

    PUBLIC_KEY = "public key"  # RSA key too weak, forbidden key algorithm/curve, bad SPKI
    SIGNATURE_ALGORITHM = "signature algorithm"  # SHA-1/MD5 and other forbidden algorithms
    VALIDITY_TIME = "validation time"  # expired or not yet valid
    NAME = "name"  # about the leaf's subjectAltName: the name is not in it, or it is missing
    OTHER = "other"  # basic constraints, key usage, EKU, ... : only CHAIN_INVALID says it


# Most specific first: "forbidden public key algorithm" must not read as a signature algorithm.
# Phrases, not single words: "key" alone also matched "keyUsage.keyCertSign must be asserted"
# and "authorityKeyIdentifier ...", which a KEY_UNSUPPORTED finding does not explain.
_REASON_PHRASES: tuple[tuple[VerifierReason, tuple[str, ...]], ...] = (
    (VerifierReason.PUBLIC_KEY, ("key is too weak", "key too weak", "forbidden public key algorithm",
                                 "malformed public key")),
    (VerifierReason.SIGNATURE_ALGORITHM, ("signature algorithm",)),
    (VerifierReason.VALIDITY_TIME, ("validation time",)),
    # Any subjectAltName complaint, as before; a name-only one is "no matching subjectAltName".
    (VerifierReason.NAME, ("subjectaltname",)),
)


def verifier_reason(message: str) -> VerifierReason:
    """The category of a strict-verifier rejection message."""
    low = message.lower()
    for reason, phrases in _REASON_PHRASES:
        if any(p in low for p in phrases):
            return reason
    return VerifierReason.OTHER


class Rejection(NamedTuple):
    """The strict verifier's "no": its category and its message (raw: the verifier may quote
    what the certificate says, so clean it before showing it)."""

    reason: VerifierReason
    message: str


def verifier_subject(name: str) -> x509.DNSName | x509.IPAddress | None:
    """The verifier's subject for ``name`` (an IP literal or a DNS name); None if it is neither."""
    ip = ip_literal(name)
    try:
        if ip is not None:
            return x509.IPAddress(ip)
        norm = normalize_dns(name)
        return None if norm is None else x509.DNSName(norm)
    except Exception:
        return None


def strict_verify(leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], name: str, *,
                  store: verification.Store, at: dt.datetime) -> Rejection | None:
    """Run the Web PKI server verifier for ``name`` at ``at``: None when it accepts the chain
    (or ``name`` cannot be a verifier subject), else why it rejects it. Never raises."""
    subject = verifier_subject(name)
    if subject is None:
        return None
    try:
        verifier = (verification.PolicyBuilder().store(store).time(at)
                    .build_server_verifier(subject))
        verifier.verify(leaf, list(intermediates))
        return None
    except Exception as exc:  # VerificationError, or anything it trips on
        message = str(exc) or type(exc).__name__
        return Rejection(verifier_reason(message), message)
