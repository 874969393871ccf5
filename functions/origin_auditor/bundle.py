"""Check and fix a PEM certificate bundle offline, before it is deployed to an origin.

The bundle is judged exactly like a chain an origin sends (``judge.judge_chain``): the order of
the PEM blocks is the order the server will send. ``fix_bundle`` writes what the server
should send instead: leaf, then each issuer, nothing else.

Bundles sometimes carry the private key too (``cat key.pem cert.pem > bundle.pem``). The key
is never parsed from the bundle, echoed, logged or put into an exception: only its presence
is reported.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .judge import ChainAnalysis, analyze_chain, judge_chain, parse_chain, summarize_cert
from .model import AddressReport, Finding, Severity, Target, TargetResult, Verdict
from .rules import EXPIRY_WARN_DAYS, Code
from .trust import TrustStore

logger = logging.getLogger(__name__)

# One PEM block. The label is captured; the body is matched lazily up to the END line with the
# same label, so a key block in the middle cannot swallow the certificates around it.
_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]{1,64})-----\r?\n(.*?)-----END \1-----", re.DOTALL)
BUNDLE_ADDRESS = "bundle"


class BundleError(ValueError):
    """The bundle cannot be checked or fixed; the message is one line and never holds key
    material."""


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


def _split_pem(pem: bytes) -> tuple[list[bytes], bool]:
    """DER of every CERTIFICATE block (undecodable ones as b'') and whether a key block exists."""
    ders: list[bytes] = []
    has_key = False
    blocks = list(_PEM_BLOCK.finditer(pem))
    if not blocks:
        raise BundleError("not a PEM file (no -----BEGIN ...----- blocks)")
    for m in blocks:
        label = m.group(1)
        if b"PRIVATE KEY" in label:
            has_key = True
        elif label in (b"CERTIFICATE", b"TRUSTED CERTIFICATE"):
            try:
                ders.append(base64.b64decode(b"".join(m.group(2).split()), validate=True))
            except (binascii.Error, ValueError):
                # Kept as an empty blob so the judge reports it as malformed at its position.
                ders.append(b"")
    if not ders:
        raise BundleError("the PEM file contains no CERTIFICATE block")
    return ders, has_key


def _key_matches(key_pem: bytes, leaf: x509.Certificate) -> tuple[bool | None, str | None]:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        return None, "the private key is encrypted; decrypt it to check it"
    except Exception:  # the exception text could quote the input: say nothing about it
        return None, "the --key file is not a readable PEM private key"
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        return key.public_key().public_bytes(*fmt) == leaf.public_key().public_bytes(*fmt), None
    except Exception:  # unsupported leaf key type
        return None, "the leaf's public key type cannot be compared"


def check_bundle(pem: bytes, host: str, *, trust: TrustStore, at: dt.datetime,
                 key_pem: bytes | None = None, warn_days: int = EXPIRY_WARN_DAYS) -> BundleCheck:
    """Judge the certificates of a PEM bundle as the chain a server at ``host`` would send.

    Raises BundleError when the input is not PEM or holds no certificate. ``at`` is the
    moment validity is judged at.
    """
    ders, has_key = _split_pem(pem)
    findings: list[Finding] = []
    if has_key:
        findings.append(Finding(
            Code.BUNDLE_CONTAINS_KEY, Severity.WARN,
            "The bundle contains a PRIVATE KEY block. Keep the key in its own file with tight "
            "permissions: a bundle is copied, attached to tickets and served as a chain file.",
            "Remove the key block from the bundle; keep the key in its own file with restricted "
            "permissions and pass it separately (--key).",
            BUNDLE_ADDRESS))
    findings += judge_chain(ders, host, trust=trust, at=at, warn_days=warn_days, address=BUNDLE_ADDRESS)
    sent, malformed = parse_chain(ders)
    key_matches: bool | None = None
    key_error: str | None = None
    if key_pem is not None and 0 in malformed:
        # The leaf is the first certificate; checking the key against a later one would answer
        # a question nobody asked.
        key_error = "the first certificate in the bundle (the leaf) does not parse"
        findings.append(Finding(Code.KEY_MISMATCH, Severity.WARN,
                                f"The key could not be checked against the leaf: {key_error}.",
                                "Fix the leaf certificate block, then check again.", BUNDLE_ADDRESS))
    elif key_pem is not None and sent:
        leaf = analyze_chain(sent, trust).leaf
        assert leaf is not None  # sent is non-empty
        key_matches, key_error = _key_matches(key_pem, leaf.cert)
        if key_matches is False:
            findings.append(Finding(
                Code.KEY_MISMATCH, Severity.FAIL,
                "The private key does not belong to the leaf certificate: a server configured with "
                "this pair cannot complete a TLS handshake (or refuses to start).",
                "Pair the certificate with the key it was issued for (compare `openssl x509 -noout "
                "-pubkey` with `openssl pkey -pubout`).", BUNDLE_ADDRESS))
        elif key_error is not None:
            # Not a proven mismatch, so only a warning; but the pairing the user asked about
            # is unverified, which KEY_MISMATCH is about (no handshake happens offline).
            findings.append(Finding(Code.KEY_MISMATCH, Severity.WARN,
                                    f"The key could not be checked against the leaf: {key_error}.",
                                    "Provide the unencrypted PEM private key the certificate was "
                                    "issued for.", BUNDLE_ADDRESS))
    target = Target(host=host, port=443)
    result = TargetResult(
        target=target, verdict=Verdict.of(findings), findings=tuple(findings),
        addresses=(AddressReport(BUNDLE_ADDRESS, None, None, tuple(summarize_cert(d) for d in ders)),),
        reproduce="")
    return BundleCheck(result=result, certificates=tuple(s.cert for s in sent), key_matches=key_matches,
                       key_error=key_error, contains_private_key=has_key)


def _describe_missing(a: ChainAnalysis) -> str:
    last = a.path[-1].cert
    issuer = a.missing_issuer.rfc4514_string() if a.missing_issuer is not None else "?"
    where = f"; download it from {a.missing_aia}" if a.missing_aia else "; get it from the CA"
    return (f"the issuer of {last.subject.rfc4514_string()} is missing: {issuer}{where} and add "
            "it to the bundle")


def fix_bundle(pem: bytes, *, trust: TrustStore) -> bytes:
    """The bundle a server should send: leaf, then its intermediates in issuing order.

    Duplicates, unrelated certificates and the self-signed root are dropped (CloudFront has
    the root). Raises BundleError naming the missing issuer and its AIA caIssuers URL when the
    chain cannot be completed from the bundle and the trust store.
    """
    ders, _ = _split_pem(pem)
    sent, malformed = parse_chain(ders)
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
