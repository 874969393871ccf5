"""Who signed a certificate: the one "directly issued by" test the issuing path is built on."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import SignatureAlgorithmOID


def directly_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``issuer``'s key signed ``cert`` and the names chain. Never raises.

    ``verify_directly_issued_by`` refuses SHA-1/MD5 signatures outright ("Unsupported
    signature algorithm"); such chains still exist and CloudFront's verdict on them is about
    the hash, not the order, so the signature is checked by hand then.
    """
    try:
        if cert.issuer != issuer.subject:
            return False
    except Exception:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception as exc:  # InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm
        if type(exc).__name__ == "InvalidSignature":
            return False
    return _verify_signature_by_hand(cert, issuer)


def self_signed(cert: x509.Certificate) -> bool:
    """``cert`` is signed by its own key under its own name (a root, or a self-signed leaf)."""
    return directly_issued_by(cert, cert)


def _verify_signature_by_hand(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        key = issuer.public_key()
        sig, tbs = cert.signature, cert.tbs_certificate_bytes
        params = cert.signature_algorithm_parameters
        algo = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and algo is not None:
            # cryptography reports no padding for md5WithRSAEncryption (it no longer verifies
            # those itself); every RSA signature algorithm except RSASSA-PSS is PKCS#1 v1.5.
            # Without this an MD5-signed intermediate looked unverifiable and its chain was
            # misreported as ending at an untrusted root.
            if params is None and cert.signature_algorithm_oid != SignatureAlgorithmOID.RSASSA_PSS:
                params = padding.PKCS1v15()
            if params is None:
                return False
            key.verify(sig, tbs, params, algo)  # type: ignore[arg-type]
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(params, ec.ECDSA):
            key.verify(sig, tbs, params)
        elif isinstance(key, dsa.DSAPublicKey) and algo is not None:
            key.verify(sig, tbs, algo)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(sig, tbs)
        else:
            return False
        return True
    except Exception:  # any failure means "not verifiably issued by"
        return False
