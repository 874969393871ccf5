"""Judge what an origin presented, the way CloudFront will: pure functions, no I/O.

Input: the certificates exactly as sent (DER, in order), the name CloudFront sends, a trust
store and a moment. Output: ``Finding`` objects with a message saying what is wrong and why
CloudFront cares, and a hint saying how to fix it.

Two checks look alike but are not redundant:

* the *positional* check: ``chain[i]`` must be directly issued by ``chain[i + 1]``. OpenSSL,
  Go and browsers build a path from the sent certificates in any order and so pass a chain
  CloudFront drops. This is why the path is built by hand from the sent certificates here.
* the *strict verifier* (``cryptography.x509.verification``) runs on the correctly ordered
  path as a cross-check. It knows Web PKI rules this module does not spell out (basic
  constraints, EKU, forbidden signature algorithms); anything it rejects that the positional
  checks did not explain is reported, never swallowed.

Nothing here raises on hostile input: malformed DER, absurd dates, enormous SAN lists and
names with NUL bytes become findings (or are ignored) instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509 import verification
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    NameOID,
    PublicKeyAlgorithmOID,
    SignatureAlgorithmOID,
)

from ..model import (
    AddressReport,
    Finding,
    ProbeResult,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from ..present.certs import UNPARSEABLE, summarize_cert
from ..present.certs import name_text as _name
from ..present.reproduce import openssl_command
from ..present.text import clean as _clean
from ..rules import (
    CODES,
    EXPIRY_URGENT_DAYS,
    EXPIRY_WARN_DAYS,
    RSA_MAX_BITS,
    RSA_MIN_BITS,
    Code,
)
from ..trust import TrustStore
from . import discovery
from .findings import finding as _finding

logger = logging.getLogger(__name__)

# How many names a HOSTNAME_MISMATCH message lists; the rest are counted.
MAX_NAMES_SHOWN = 10
# Same-named certificates tried as the issuer of one certificate (real chains have 1, cross-signs 2).
MAX_ISSUER_CANDIDATES = 16
_SUPPORTED_CURVES = frozenset({"secp256r1", "secp384r1"})


# --------------------------------------------------------------------------- small helpers


def _cn(cert: x509.Certificate) -> str:
    """The certificate's common name (or its whole subject when it has none), for messages."""
    try:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if cns:
            value = cns[0].value
            return _clean(value if isinstance(value, str) else value.decode("utf-8", "replace"))
        return _clean(cert.subject.rfc4514_string()) or "<empty subject>"
    except Exception:  # a malformed name must not stop the judge
        return UNPARSEABLE


def _fmt_time(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except Exception:  # absent or malformed: not a CA for leaf selection
        return False


def _aia_ca_issuers(cert: x509.Certificate) -> str | None:
    """The first caIssuers URL of the AIA extension (where browsers fetch the issuer)."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except Exception:
        return None
    for desc in aia:
        if (desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS
                and isinstance(desc.access_location, x509.UniformResourceIdentifier)):
            return _clean(desc.access_location.value, 300)
    return None


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


def _self_signed(cert: x509.Certificate) -> bool:
    return directly_issued_by(cert, cert)


# --------------------------------------------------------------------------- chain analysis


@dataclass(frozen=True)
class SentCert:
    """One parseable certificate as sent.

    position: its index in the chain as sent (0 = first).
    der: the bytes as sent.
    cert: the parsed certificate.
    sha256: hex SHA-256 of ``der`` (identity for duplicates and comparisons).
    """

    position: int
    der: bytes
    cert: x509.Certificate
    sha256: str


@dataclass(frozen=True)
class ChainAnalysis:
    """The issuing path found in a sent chain, and what is wrong with its order.

    sent: the parseable certificates in sent order (duplicates included, malformed left out).
    malformed: positions whose bytes are not X.509 DER.
    leaf: the end-entity certificate: the first one sent unless that is a CA and a non-CA
        certificate was sent too (a bundle with the leaf not first). ``None`` if none parsed
        or when the first certificate sent does not parse (``leaf_malformed``): RFC 5246
        makes the first certificate the leaf, so no other certificate stands in for it.
    path: the issuing path from the leaf using only sent certificates, in issuing order.
        When the leaf does not parse, the path from the first parseable certificate, so a
        bundle can still be reordered; nothing is judged as the leaf then.
    end: how the path ends: ``trusted`` (reaches a trust root, sent or not),
        ``self_signed`` (ends in a self-signed certificate that is not trusted),
        ``incomplete`` (the last certificate's issuer was not sent and is not a trust root),
        ``untrusted_issuer`` (the issuer is named like a trust root but its key differs),
        ``empty`` (nothing parsed).
    anchor: the trust root that completes the path (``None`` unless ``end == "trusted"``).
    missing_issuer / missing_aia: for ``incomplete``/``untrusted_issuer``: the issuer name of
        the last path certificate and that certificate's AIA caIssuers URL (None if absent).
    in_order: the first ``len(path)`` certificates sent are exactly the path, in order.
    duplicates: sent certificates that repeat an earlier one.
    unrelated: sent certificates (first occurrences) that are not on the path.
    leaf_malformed: the first certificate sent (the leaf) is not X.509 DER.
    """

    sent: tuple[SentCert, ...]
    malformed: tuple[int, ...]
    leaf: SentCert | None
    path: tuple[SentCert, ...]
    end: str
    anchor: x509.Certificate | None
    missing_issuer: x509.Name | None
    missing_aia: str | None
    in_order: bool
    duplicates: tuple[SentCert, ...]
    unrelated: tuple[SentCert, ...]
    leaf_malformed: bool = False

    @property
    def root_sent(self) -> bool:
        """The path ends in a sent, self-signed trust root (allowed at the end)."""
        return (self.end == "trusted" and len(self.path) > 1
                and _self_signed(self.path[-1].cert))


def parse_chain(chain: Sequence[bytes]) -> tuple[list[SentCert], list[int]]:
    """Parse every DER blob; return the parseable ones and the positions that are not."""
    sent: list[SentCert] = []
    malformed: list[int] = []
    for pos, der in enumerate(chain):
        try:
            cert = x509.load_der_x509_certificate(bytes(der))
            # Parsing is lazy: touch the fields the judge needs so a broken certificate is
            # caught here, once, rather than deep inside a later check.
            _ = (cert.subject, cert.issuer, cert.tbs_certificate_bytes, cert.signature)
        except Exception:  # any failure is "malformed"
            malformed.append(pos)
            continue
        sent.append(SentCert(pos, bytes(der), cert, hashlib.sha256(der).hexdigest()))
    return sent, malformed


def _pick_leaf(sent: Sequence[SentCert]) -> SentCert:
    if _is_ca(sent[0].cert):
        for s in sent:
            if not _is_ca(s.cert):
                return s
    return sent[0]


def analyze_chain(sent: Sequence[SentCert], trust: TrustStore,
                  malformed: Sequence[int] = ()) -> ChainAnalysis:
    """Build the issuing path from the leaf with the sent certificates only (any order) plus
    the trust roots, then compare it with the order sent."""
    leaf_malformed = 0 in malformed
    if not sent:
        return ChainAnalysis((), tuple(malformed), None, (), "empty", None, None, None, True, (), (),
                             leaf_malformed)
    # With the leaf malformed the path still starts somewhere (fix_bundle reorders what is
    # left), but that certificate is not the leaf: judging an intermediate's names as the
    # leaf's gave false CERT_CN_ONLY / HOSTNAME_MISMATCH findings.
    start = _pick_leaf(sent)
    leaf = None if leaf_malformed else start
    unique: list[SentCert] = []
    seen: set[str] = set()
    duplicates: list[SentCert] = []
    for s in sent:
        if s.sha256 in seen:
            duplicates.append(s)
        else:
            seen.add(s.sha256)
            unique.append(s)
    # Index by subject so each step only tries certificates that could be the issuer:
    # linear in the chain length instead of trying every pair.
    by_subject: dict[bytes, list[SentCert]] = {}
    for s in unique:
        try:
            by_subject.setdefault(s.cert.subject.public_bytes(), []).append(s)
        except Exception:  # such a certificate cannot be anyone's issuer
            logger.debug("unreadable subject in certificate #%d", s.position + 1)

    path = [start]
    used = {start.sha256}
    end = "incomplete"
    anchor: x509.Certificate | None = None
    current = start
    while True:
        cert = current.cert
        if len(path) > 1 and trust.is_trusted_root(cert):
            end, anchor = "trusted", cert
            break
        if _self_signed(cert):
            end = "self_signed"
            break
        try:
            issuer_key = cert.issuer.public_bytes()
        except Exception:
            issuer_key = b""
        # At most MAX_ISSUER_CANDIDATES signature checks per step: a hostile bundle of
        # thousands of same-named certificates must not cost millions of verifications.
        candidates = [c for c in by_subject.get(issuer_key, ())[:MAX_ISSUER_CANDIDATES]
                      if c.sha256 not in used and directly_issued_by(cert, c.cert)]
        if candidates:
            # Prefer the certificate sent right after this one: when two sent certificates
            # can both issue it (cross-signs), that keeps a correctly ordered chain in order.
            nxt = next((c for c in candidates if c.position == current.position + 1),
                       min(candidates, key=lambda c: c.position))
            path.append(nxt)
            used.add(nxt.sha256)
            current = nxt
            continue
        roots = trust.find_roots_by_subject(cert.issuer)
        root = next((r for r in roots if directly_issued_by(cert, r)), None)
        if root is not None:
            end, anchor = "trusted", root
        elif roots:
            end = "untrusted_issuer"
        break

    k = len(path)
    in_order = [s.sha256 for s in sent[:k]] == [p.sha256 for p in path]
    on_path = {p.sha256 for p in path}
    unrelated = tuple(s for s in unique if s.sha256 not in on_path)
    missing = None if end in ("trusted", "self_signed") else path[-1].cert.issuer
    aia = None if missing is None else _aia_ca_issuers(path[-1].cert)
    return ChainAnalysis(tuple(sent), tuple(malformed), leaf, tuple(path), end, anchor, missing, aia,
                         in_order, tuple(duplicates), unrelated, leaf_malformed)


# --------------------------------------------------------------------------- checks


def _role(s: SentCert, a: ChainAnalysis) -> str:
    if a.leaf is not None and s.sha256 == a.leaf.sha256:
        return f"leaf certificate '{_cn(s.cert)}'"
    if _self_signed(s.cert):
        return f"root certificate '{_cn(s.cert)}' (#{s.position + 1} sent)"
    return f"intermediate '{_cn(s.cert)}' (#{s.position + 1} sent)"


def _chain_findings(a: ChainAnalysis, trust: TrustStore, address: str | None, *,
                    truncated: bool = False) -> list[Finding]:
    out: list[Finding] = []
    for pos in a.malformed:
        leaf_note = (" It is the leaf (the first certificate sent), so the hostname could not be "
                     "checked and no other certificate was judged in its place."
                     if pos == 0 else "")
        out.append(_finding(
            Code.CERT_MALFORMED,
            f"Certificate #{pos + 1} of the chain as sent is not valid X.509 DER; CloudFront cannot "
            f"parse it and drops the connection.{leaf_note}", address))
    if a.leaf is None:
        return out
    leaf = a.leaf
    if not a.in_order:
        sent = " → ".join(_cn(s.cert) for s in a.sent)
        correct = " → ".join(_cn(p.cert) for p in a.path)
        out.append(_finding(
            Code.CHAIN_WRONG_ORDER,
            f"The certificates are not in issuing order. Sent: {sent}. Issuing order: {correct}. "
            "OpenSSL and browsers reorder the chain silently, so it works for them; CloudFront "
            "checks that each certificate is issued by the next one and drops the connection (502).",
            address,
            hint="Serve leaf first, then each certificate's issuer; `origin-auditor check-bundle "
                 "FILE --host NAME --fix OUT.pem` writes the bundle in the right order."))
    if a.end == "incomplete" and truncated:
        # The probe stopped reading: the issuer may well have been sent after the cut, so
        # "was not sent" would be a guess. The probe's CHAIN_TOO_LARGE carries the verdict.
        last = a.path[-1]
        n = len(a.sent) + len(a.malformed)
        out.append(_finding(
            Code.CHAIN_TOO_LARGE,
            f"The probe stopped reading the certificates after {n} certificate{'s' if n != 1 else ''}; "
            f"the issuer of '{_cn(last.cert)}' "
            f"({_name(a.missing_issuer) if a.missing_issuer is not None else '?'}) is not among them "
            "and the rest was not judged, so whether the chain is complete is unknown.", address,
            severity=Severity.INFO,
            hint="Serve only leaf and intermediates, then check again."))
    elif a.end == "incomplete":
        last = a.path[-1]
        where = (f" It can be downloaded from {a.missing_aia} (the caIssuers URL in "
                 f"'{_cn(last.cert)}').") if a.missing_aia else (
            f" '{_cn(last.cert)}' names no caIssuers URL; get it from your CA.")
        out.append(_finding(
            Code.CHAIN_INCOMPLETE,
            f"The chain is incomplete: the issuer of '{_cn(last.cert)}' "
            f"({_name(a.missing_issuer) if a.missing_issuer is not None else '?'}) was not sent and "
            f"is not a trusted root ({trust.source}).{where} Browsers fetch a missing "
            "intermediate themselves; CloudFront does not and drops the connection (502). If that "
            "issuer is a private root instead, the chain cannot be trusted by CloudFront at all.",
            address,
            hint="Serve the full chain: leaf, then every intermediate (e.g. fullchain.pem, not "
                 "cert.pem)" + (f"; add the certificate from {a.missing_aia}." if a.missing_aia
                                else ".")))
    elif a.end == "untrusted_issuer":
        last = a.path[-1]
        out.append(_finding(
            Code.CHAIN_UNTRUSTED_ROOT,
            f"'{_cn(last.cert)}' claims to be issued by "
            f"{_name(a.missing_issuer) if a.missing_issuer is not None else '?'}, but no trusted "
            f"root with that name and key signed it ({trust.source}); CloudFront drops the "
            "connection (502).", address))
    elif a.end == "self_signed":
        end = a.path[-1]
        if end.sha256 == leaf.sha256:
            out.append(_finding(
                Code.CERT_SELF_SIGNED,
                f"The leaf certificate '{_cn(leaf.cert)}' is self-signed. CloudFront only accepts "
                "certificates leading to a root on Mozilla's included CA list and drops the "
                "connection (502).", address))
        else:
            out.append(_finding(
                Code.CHAIN_UNTRUSTED_ROOT,
                f"The chain ends in the self-signed root '{_cn(end.cert)}', which is not a trusted "
                f"root ({trust.source}); a private CA? CloudFront only trusts Mozilla's included "
                "CAs and drops the connection (502).", address))
    extras: list[str] = []
    if a.duplicates:
        extras.append("duplicates of " + ", ".join(sorted({f"'{_cn(s.cert)}'" for s in a.duplicates})))
    if a.unrelated:
        extras.append("certificates not on the leaf's issuing path: "
                      + ", ".join(f"'{_cn(s.cert)}' (#{s.position + 1})" for s in a.unrelated[:10]))
    if extras:
        gap = (" (with the chain incomplete, some of these may belong above the missing issuer)"
               if a.end == "incomplete" and a.unrelated else "")
        out.append(_finding(
            Code.CHAIN_EXTRA_CERTS,
            f"The chain carries extra certificates: {'; '.join(extras)}{gap}. They cost bytes on every "
            "handshake and, sent between chain members, break the order CloudFront requires.",
            address))
    if a.root_sent and a.in_order:
        out.append(_finding(
            Code.CHAIN_INCLUDES_ROOT,
            f"The trusted root '{_cn(a.path[-1].cert)}' is sent at the end of the chain. That is "
            "allowed; CloudFront already has it, so it only adds bytes.", address))
    return out


def _distinct(a: ChainAnalysis) -> Iterator[SentCert]:
    """Each sent certificate once (a duplicate is CHAIN_EXTRA_CERTS' business, not reported twice)."""
    seen: set[str] = set()
    for s in a.sent:
        if s.sha256 not in seen:
            seen.add(s.sha256)
            yield s


def _validity_findings(a: ChainAnalysis, at: dt.datetime, warn_days: int,
                       address: str | None) -> list[Finding]:
    out: list[Finding] = []
    for s in _distinct(a):
        try:
            nb, na = s.cert.not_valid_before_utc, s.cert.not_valid_after_utc
        except Exception:  # unparseable time fields
            out.append(_finding(Code.CERT_MALFORMED,
                                f"The validity dates of the {_role(s, a)} do not parse; CloudFront "
                                "treats it as an invalid certificate (502).", address))
            continue
        who = _role(s, a)
        if at < nb:
            out.append(_finding(
                Code.CERT_NOT_YET_VALID,
                f"The {who} is not valid before {_fmt_time(nb)}; CloudFront rejects it as invalid "
                "and drops the connection (502).", address))
        if at > na:
            out.append(_finding(
                Code.CERT_EXPIRED,
                f"The {who} expired on {_fmt_time(na)}; CloudFront rejects expired certificates, "
                "leaf or intermediate, and drops the connection (502).", address,
                hint="Renew it and deploy the full chain" + (
                    "; an expired intermediate usually means the bundle is stale: fetch the CA's "
                    "current intermediate." if a.leaf is not None and s.sha256 != a.leaf.sha256
                    else ".")))
        elif at >= nb:
            left = na - at
            if left <= dt.timedelta(days=warn_days):
                days = left.days
                urgent = left <= dt.timedelta(days=EXPIRY_URGENT_DAYS)
                out.append(_finding(
                    Code.CERT_EXPIRING_SOON,
                    f"{'URGENT: ' if urgent else ''}The {who} expires on {_fmt_time(na)} "
                    f"(in {days} day{'s' if days != 1 else ''}). When it does, CloudFront drops every "
                    "connection to this origin (502) - and cached objects hide it until they expire.",
                    address))
    return out


def _normalize_dns(name: str) -> str | None:
    """Lower-case A-label form of a DNS name without the trailing dot; None if it cannot be."""
    if "\x00" in name:
        return None
    name = name.rstrip(".")
    if not name:
        return None
    if name.isascii():
        return name.lower()
    try:
        return name.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def dns_name_matches(server: str, patterns: Sequence[str]) -> bool:
    """RFC 6125 matching of an (already normalized) server name against certificate names.

    A wildcard is accepted only as the entire left-most label, covers exactly one label and
    needs at least two labels after it: ``*.example.com`` matches ``a.example.com`` but not
    ``example.com``, ``a.b.example.com``; ``f*.example.com`` and ``*.com`` match nothing.
    Linear in the number of patterns (set lookups), so a 20,000-name SAN stays cheap.
    """
    exact: set[str] = set()
    wild: set[str] = set()
    for p in patterns:
        if not isinstance(p, str) or "\x00" in p:
            continue
        name = p.rstrip(".").lower()
        if "*" not in name:
            exact.add(name)
        elif name.startswith("*.") and "*" not in name[2:] and "." in name[2:]:
            wild.add(name[2:])
    if "*" in server:
        return False
    if server in exact:
        return True
    first, _, rest = server.partition(".")
    return bool(first) and bool(rest) and rest in wild


def _covers(name: str, dns_names: Sequence[str],
            ips: Sequence[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    ip = _ip(name)
    if ip is not None:
        return ip in ips
    norm = _normalize_dns(name)
    return norm is not None and dns_name_matches(norm, dns_names)


def _hostname_findings(leaf: x509.Certificate, server_name: str,
                       address: str | None, origin_domain: str | None = None) -> list[Finding]:
    """Does the leaf cover ``server_name`` (the SNI) or, when given, ``origin_domain``?

    AWS (502 troubleshooting): the certificate must match the origin domain name OR the Host
    header CloudFront forwards; with Host forwarded the alias goes out as SNI, so a
    certificate for either name is accepted (``origin_domain`` is then the second name).
    """
    out: list[Finding] = []
    try:
        san: x509.SubjectAlternativeName | None = leaf.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    except Exception:  # duplicate or malformed extensions
        return [_finding(Code.CERT_MALFORMED,
                         f"The leaf certificate '{_cn(leaf)}' has extensions that do not parse, so "
                         "the names it covers cannot be read; CloudFront rejects it (502).", address)]
    dns_names: list[str] = []
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    if san is None:
        # RFC 6125: the CN is only looked at when there is no SAN extension at all.
        try:
            dns_names = [v for v in (a.value for a in leaf.subject.get_attributes_for_oid(
                NameOID.COMMON_NAME)) if isinstance(v, str)]
        except Exception:  # an unreadable CN covers nothing
            dns_names = []
        out.append(_finding(
            Code.CERT_CN_ONLY,
            f"The leaf certificate '{_cn(leaf)}' has no subjectAltName extension; only its common "
            "name can match. CloudFront's documented requirement is a matching domain name, and "
            "clients are dropping CN matching: do not rely on it.", address))
    else:
        try:
            dns_names = san.get_values_for_type(x509.DNSName)
            ips = [x for x in san.get_values_for_type(x509.IPAddress)
                   if isinstance(x, ipaddress.IPv4Address | ipaddress.IPv6Address)]
        except Exception:  # unreadable entries cover nothing
            dns_names, ips = [], []
    if any(_covers(n, dns_names, ips) for n in (server_name, origin_domain) if n is not None):
        return out
    shown = _clean(server_name, 120)
    names = [*dns_names[:MAX_NAMES_SHOWN], *(str(x) for x in ips[:MAX_NAMES_SHOWN])][:MAX_NAMES_SHOWN]
    total = len(dns_names) + len(ips)
    listed = ", ".join(_clean(n, 100) for n in names) or "no names"
    more = f" and {total - len(names)} more" if total > len(names) else ""
    if origin_domain is None:
        out.append(_finding(
            Code.HOSTNAME_MISMATCH,
            f"The certificate does not cover '{shown}', the name CloudFront sends (SNI/Host); it "
            f"covers {listed}{more}. CloudFront drops the connection (502).", address,
            hint=f"Add '{shown}' to the certificate's subjectAltName, or change the origin domain "
                 "name / stop forwarding the viewer's Host header to this origin."))
        return out
    origin = _clean(origin_domain, 120)
    out.append(_finding(
        Code.HOSTNAME_MISMATCH,
        f"The certificate covers neither '{shown}' nor '{origin}'; it covers {listed}{more}. With "
        f"the viewer's Host header forwarded, CloudFront sends '{shown}' as SNI and accepts a "
        f"certificate for either that name or the origin domain name '{origin}'; with neither it "
        "drops the connection (502).", address,
        hint=f"Serve a certificate covering '{shown}' (for SNI '{shown}') or '{origin}', or stop "
             "forwarding the viewer's Host header to this origin."))
    return out


def _key_findings(a: ChainAnalysis, trust: TrustStore, address: str | None) -> list[Finding]:
    out: list[Finding] = []
    for s in _distinct(a):
        cert = s.cert
        is_leaf = a.leaf is not None and s.sha256 == a.leaf.sha256
        # Root keys are the CA's business and CloudFront never verifies a signature with a
        # sent root's key over the wire; only leaf and intermediates matter.
        if not is_leaf and _self_signed(cert):
            continue
        problem: str | None = None
        pss = False
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
                else:
                    problem = f"a {type(key).__name__.removeprefix('_').replace('PublicKey', '')} key"
        except Exception:  # unsupported key types raise on public_key()
            try:
                problem = f"a key of unsupported type {cert.public_key_algorithm_oid.dotted_string}"
            except Exception:
                problem = "a key of unsupported type"
        if problem is None:
            continue
        why = (" CloudFront offers no RSA-PSS signature schemes to origins."
               if pss else " CloudFront offers origins only RSA (PKCS#1) and ECDSA signature schemes."
               if is_leaf and not problem.startswith(("an RSA", "an EC")) else "")
        out.append(_finding(
            Code.KEY_UNSUPPORTED,
            f"The {_role(s, a)} has {problem}; AWS documents RSA 2048-4096 and ECDSA P-256/P-384 "
            f"for origin certificates.{why}", address))
    return out


def _signature_findings(a: ChainAnalysis, trust: TrustStore, address: str | None) -> list[Finding]:
    out: list[Finding] = []
    for s in _distinct(a):
        # A trust root's self-signature is never checked by anyone: SHA-1 there is harmless.
        if trust.is_trusted_root(s.cert) and _self_signed(s.cert):
            continue
        try:
            algo = s.cert.signature_hash_algorithm
        except Exception:  # unknown algorithms: nothing to say about the hash
            algo = None
        if isinstance(algo, hashes.SHA1 | hashes.MD5):
            out.append(_finding(
                Code.SIGNATURE_WEAK,
                f"The {_role(s, a)} is signed with {algo.name.upper()}; publicly trusted CAs stopped "
                "issuing those years ago and strict verifiers reject them.", address))
    return out


def _verifier_subject(server_name: str) -> x509.DNSName | x509.IPAddress | None:
    ip = _ip(server_name)
    try:
        if ip is not None:
            return x509.IPAddress(ip)
        norm = _normalize_dns(server_name)
        return None if norm is None else x509.DNSName(norm)
    except Exception:
        return None


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

# Which of the judge's own finding codes already explain a rejection of each category.
_EXPLAINED_BY: dict[VerifierReason, frozenset[Code]] = {
    VerifierReason.PUBLIC_KEY: frozenset({Code.KEY_UNSUPPORTED}),
    VerifierReason.SIGNATURE_ALGORITHM: frozenset({Code.SIGNATURE_WEAK}),
    VerifierReason.VALIDITY_TIME: frozenset({Code.CERT_EXPIRED, Code.CERT_NOT_YET_VALID}),
    VerifierReason.NAME: frozenset({Code.HOSTNAME_MISMATCH, Code.CERT_CN_ONLY}),
    VerifierReason.OTHER: frozenset(),
}

# The code for a rejection nothing explains. A key rejection the key check missed is still
# an invalid chain for CloudFront (CHAIN_INVALID names the verifier's reason).
_UNEXPLAINED_CODE: dict[VerifierReason, Code] = {
    VerifierReason.PUBLIC_KEY: Code.CHAIN_INVALID,
    VerifierReason.SIGNATURE_ALGORITHM: Code.SIGNATURE_WEAK,
    VerifierReason.VALIDITY_TIME: Code.CERT_EXPIRED,
    VerifierReason.NAME: Code.HOSTNAME_MISMATCH,
    VerifierReason.OTHER: Code.CHAIN_INVALID,
}


def verifier_reason(message: str) -> VerifierReason:
    """The category of a strict-verifier rejection message."""
    low = message.lower()
    for reason, phrases in _REASON_PHRASES:
        if any(p in low for p in phrases):
            return reason
    return VerifierReason.OTHER


def _strict_verify(a: ChainAnalysis, name: str, trust: TrustStore, at: dt.datetime) -> str | None:
    """The strict verifier's rejection message for ``name`` (None: accepted or not checkable)."""
    assert a.leaf is not None
    subject = _verifier_subject(name)
    if subject is None:
        return None
    try:
        verifier = (verification.PolicyBuilder().store(trust.store).time(at)
                    .build_server_verifier(subject))
        verifier.verify(a.leaf.cert, [p.cert for p in a.path[1:]])
        return None
    except Exception as exc:  # VerificationError, or anything it trips on
        return _clean(str(exc), 400) or type(exc).__name__


def _cross_check(a: ChainAnalysis, server_name: str, *, trust: TrustStore, at: dt.datetime,
                 findings: list[Finding], address: str | None,
                 origin_domain: str | None = None) -> list[Finding]:
    """Run the strict verifier on the correctly ordered path; return the findings, amended
    with what it rejects that the positional checks did not explain.

    With ``origin_domain`` (Host forwarded) a certificate for either name is acceptable, as
    in ``_hostname_findings``: a rejection for the SNI name only is retried with the origin
    domain, so a name CloudFront accepts never turns into CHAIN_INVALID.
    """
    if a.leaf is None or a.end != "trusted":
        return findings  # the path itself already failed; nothing more to learn
    msg = _strict_verify(a, server_name, trust, at)
    if msg is not None and origin_domain is not None and verifier_reason(msg) == VerifierReason.NAME:
        msg = _strict_verify(a, origin_domain, trust, at)
    if msg is None:
        return findings
    reason = verifier_reason(msg)
    codes = {f.code for f in findings}
    logger.debug("strict verifier rejected chain for %s (%s): %s", server_name, reason.name, msg)
    if reason == VerifierReason.SIGNATURE_ALGORITHM and Code.SIGNATURE_WEAK in codes:
        # The rules doc: a weak hash is a failure of trust once a strict verifier rejects it.
        return [Finding(f.code, Severity.FAIL, f"{f.message} A strict verifier rejects the chain "
                        f"for it ({msg}), so treat it as a failure.", f.hint, f.address)
                if f.code == Code.SIGNATURE_WEAK else f for f in findings]
    if codes & _EXPLAINED_BY[reason]:
        return findings
    code = _UNEXPLAINED_CODE[reason]
    # The path reaches a trusted root here, so "untrusted root" would be wrong: the chain is
    # invalid for a Web PKI reason (not a CA, EKU, constraints) the verifier names.
    return [*findings, _finding(
        code,
        f"A strict X.509 verifier (Web PKI rules, trust store {trust.source}) rejects the chain even "
        f"though its order and completeness are right: {msg}. CloudFront rejects invalid "
        "certificates and drops the connection (502).", address, severity=Severity.FAIL,
        hint=CODES[code].fix if code == Code.CHAIN_INVALID else
        f"Reissue the certificate (or get the CA's current intermediate); {CODES[code].fix}")]


def judge_chain(chain: Sequence[bytes], server_name: str, *, trust: TrustStore, at: dt.datetime,
                warn_days: int = EXPIRY_WARN_DAYS, address: str | None = None,
                origin_domain: str | None = None, truncated: bool = False) -> list[Finding]:
    """Every finding about a chain as sent, checked for ``server_name`` at moment ``at``.

    origin_domain: a second name the certificate may cover instead of ``server_name`` (the
        origin domain when CloudFront forwards the viewer's Host and sends the alias as SNI).
    truncated: the probe stopped reading, so ``chain`` may lack certificates that were sent;
        a path that ends early is then "could not be judged", not CHAIN_INCOMPLETE.

    An empty chain yields nothing (the probe says why none was seen). Never raises.
    """
    if not chain:
        return []
    at = _utc(at)
    try:
        sent, malformed = parse_chain(chain)
        a = analyze_chain(sent, trust, malformed)
        findings = _chain_findings(a, trust, address, truncated=truncated)
        if a.leaf is None and not a.leaf_malformed:
            return findings
        # The certificates after a malformed leaf are still what was sent: their dates, keys
        # and signatures are judged; names and the strict path need the leaf, so they are not.
        findings += _validity_findings(a, at, warn_days, address)
        if a.leaf is not None:
            findings += _hostname_findings(a.leaf.cert, server_name, address, origin_domain)
        findings += _key_findings(a, trust, address)
        findings += _signature_findings(a, trust, address)
        return _cross_check(a, server_name, trust=trust, at=at, findings=findings, address=address,
                            origin_domain=origin_domain)
    except Exception as exc:  # never let one chain abort the run
        # A bug or a certificate shaped in a way nobody foresaw must cost this one chain, not
        # the whole run, and must not look like a pass.
        logger.exception("judge_chain failed for %s", server_name)
        return [_finding(Code.CERT_MALFORMED,
                         f"The certificate chain could not be judged ({type(exc).__name__}); treat it "
                         "as broken until checked by hand.", address,
                         hint="Run the openssl line in the report and inspect the chain.")]


# --------------------------------------------------------------------------- per target


def _consistency(probe: ProbeResult) -> list[Finding]:
    addrs = probe.addresses
    if len(addrs) < 2:
        return []
    connected = [a for a in addrs if a.connected]
    failed = [a for a in addrs if not a.connected]
    out: list[Finding] = []
    if connected and failed:
        out.append(_finding(
            Code.ADDRESSES_INCONSISTENT,
            f"{len(connected)} of {len(addrs)} addresses complete a CloudFront-like handshake, but "
            f"{', '.join(a.address for a in failed[:10])} do not: CloudFront fails only on the "
            "connections that land there, which shows as a partial 502 rate.", None))
    chains: dict[tuple[str, ...], list[str]] = {}
    for a in connected:
        chains.setdefault(tuple(hashlib.sha256(d).hexdigest() for d in a.chain), []).append(a.address)
    if len(chains) > 1:
        by_address = {a.address: a for a in connected}
        parts = []
        for key, ads in chains.items():
            chain = by_address[ads[0]].chain
            leaf = summarize_cert(chain[0]).subject if chain else "no certificate"
            parts.append(f"{', '.join(ads[:5])}{' ...' if len(ads) > 5 else ''}: {leaf} "
                         f"({len(key)} certificate{'s' if len(key) != 1 else ''}"
                         f"{', leaf sha256 ' + key[0][:12] if key else ''})")
        groups = "; ".join(parts)
        out.append(_finding(
            Code.ADDRESSES_INCONSISTENT,
            f"The addresses of this origin present different certificate chains ({groups}). "
            "CloudFront connects to any of them, so a problem on one shows as a partial 502 rate.",
            None))
    return out


def accepted_origin_domain(target: Target) -> str | None:
    """The second name a certificate may cover for ``target``, or None.

    When the SNI (``server_name``, the viewer's Host when CloudFront forwards it) differs from
    the origin domain name, AWS documents that the certificate must match one or both of the
    origin domain name and the Host header: a certificate for ``target.host`` is accepted too.
    The same holds for ``check HOST --server-name NAME``: NAME is what CloudFront sends, HOST
    the origin domain it connects to. An IP-literal host is no domain name: only the SNI counts.
    """
    if target.server_name is None or _ip(target.host) is not None:
        return None
    host = _normalize_dns(target.host)
    if host is None or host == _normalize_dns(target.server_name):
        return None
    return target.host


def judge_probe(probe: ProbeResult, *, trust: TrustStore, at: dt.datetime,
                warn_days: int = EXPIRY_WARN_DAYS) -> TargetResult:
    """Judge everything the probe saw for one target: target-level findings first, then each
    address's own findings and its chain's, with the verdict the worst of them."""
    target = probe.target
    origin_domain = accepted_origin_domain(target)
    findings: list[Finding] = [*probe.findings, *discovery.notes(target), *_consistency(probe)]
    reports: list[AddressReport] = []
    # The reproduction line connects to the first address with the worst findings (or the
    # first probed): that is where the problem shows, and with --resolve / split DNS the host
    # name alone may not even lead there.
    shown: str | None = None
    shown_rank = -1
    for addr in probe.addresses:
        own = list(addr.findings)
        if addr.chain:
            own += judge_chain(addr.chain, target.sni, trust=trust, at=at, warn_days=warn_days,
                               address=addr.address, origin_domain=origin_domain,
                               truncated=addr.chain_truncated)
        rank = max((f.severity.rank for f in own), default=0)
        if rank > shown_rank:
            shown, shown_rank = addr.address, rank
        findings += own
        reports.append(AddressReport(addr.address, addr.protocol, addr.cipher,
                                     tuple(summarize_cert(d) for d in addr.chain)))
    reproduce = "" if target.skip_probe else openssl_command(target, shown)
    return TargetResult(target=target, verdict=Verdict.of(findings), findings=tuple(findings),
                        addresses=tuple(reports), reproduce=reproduce)
