"""Findings about public keys: what AWS documents for origin certificates, and what CloudFront
can verify a handshake signature with."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import PublicKeyAlgorithmOID

from ..model import Finding, Severity
from ..rules import RSA_MAX_BITS, RSA_MIN_BITS, Code
from ..x509.chain import ChainAnalysis
from ..x509.signature import self_signed
from .findings import finding
from .wording import role

_SUPPORTED_CURVES = frozenset({"secp256r1", "secp384r1"})


def key_findings(a: ChainAnalysis, address: str | None) -> list[Finding]:
    """Leaf and intermediate keys outside RSA 2048-4096 / ECDSA P-256, P-384."""
    out: list[Finding] = []
    for s in a.distinct():
        cert = s.cert
        is_leaf = a.is_leaf(s)
        # Root keys are the CA's business and CloudFront never verifies a signature with a
        # sent root's key over the wire; only leaf and intermediates matter.
        if not is_leaf and self_signed(cert):
            continue
        problem: str | None = None
        pss = False
        eddsa = False
        try:
            if cert.public_key_algorithm_oid == PublicKeyAlgorithmOID.RSASSA_PSS:
                problem, pss = "an RSA-PSS key", True
            else:
                key = cert.public_key()
                if isinstance(key, rsa.RSAPublicKey):
                    if not RSA_MIN_BITS <= key.key_size <= RSA_MAX_BITS:
                        problem = f"an RSA {key.key_size}-bit key"
                elif isinstance(key, ec.EllipticCurvePublicKey):
                    if key.curve.name not in _SUPPORTED_CURVES:
                        problem = f"an EC key on curve {key.curve.name}"
                elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
                    eddsa = True
                    problem = f"an {'Ed25519' if isinstance(key, ed25519.Ed25519PublicKey) else 'Ed448'} key"
                else:
                    problem = f"a {type(key).__name__.removeprefix('_').replace('PublicKey', '')} key"
        except Exception:  # unsupported key types raise on public_key()
            try:
                problem = f"a key of unsupported type {cert.public_key_algorithm_oid.dotted_string}"
            except Exception:
                problem = "a key of unsupported type"
        if problem is None:
            continue
        if eddsa and is_leaf:
            # No CloudFront policy (rules.OFFERS) offers ed25519/ed448: no handshake can
            # complete with this leaf, whatever edge. A failure, not a documentation gap.
            out.append(finding(
                Code.KEY_UNSUPPORTED,
                f"The {role(s, a)} has {problem}; no CloudFront policy offers an EdDSA signature "
                "scheme (ed25519/ed448), so CloudFront cannot complete a handshake with it (502).",
                address, severity=Severity.FAIL, hint="Reissue with ECDSA P-256 or RSA 2048."))
            continue
        why = (" CloudFront's older policies offer no RSA-PSS signature schemes to origins."
               if pss else " CloudFront offers origins only RSA (PKCS#1) and ECDSA signature schemes."
               if is_leaf and not problem.startswith(("an RSA", "an EC")) else "")
        out.append(finding(
            Code.KEY_UNSUPPORTED,
            f"The {role(s, a)} has {problem}; AWS documents RSA 2048-4096 and ECDSA P-256/P-384 "
            f"for origin certificates.{why}", address))
    return out
