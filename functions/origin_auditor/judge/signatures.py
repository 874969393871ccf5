"""Findings about signature hashes: SHA-1 and MD5 on anything a verifier actually checks."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

from ..model import Finding
from ..rules import Code
from ..trust import TrustStore
from ..x509.chain import ChainAnalysis
from ..x509.signature import self_signed
from .findings import finding
from .wording import role


def signature_findings(a: ChainAnalysis, trust: TrustStore, address: str | None) -> list[Finding]:
    """SIGNATURE_WEAK for each distinct certificate signed with SHA-1 or MD5, except a trust
    root's self-signature."""
    out: list[Finding] = []
    for s in a.distinct():
        # A trust root's self-signature is never checked by anyone: SHA-1 there is harmless.
        if trust.is_trusted_root(s.cert) and self_signed(s.cert):
            continue
        try:
            algo = s.cert.signature_hash_algorithm
        except Exception:  # unknown algorithms: nothing to say about the hash
            algo = None
        if isinstance(algo, hashes.SHA1 | hashes.MD5):
            out.append(finding(
                Code.SIGNATURE_WEAK,
                f"The {role(s, a)} is signed with {algo.name.upper()}; publicly trusted CAs stopped "
                "issuing those years ago and strict verifiers reject them.", address))
    return out
