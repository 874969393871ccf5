"""What CloudFront offers and demands of a custom origin, as data.

Sources: ``shared/cloudfront-rules.md`` (AWS documentation links there). Every constant here
is referenced by the probe (what to offer) or the judge (what to demand); the README's table
of finding codes is generated from ``CODES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Cipher suites CloudFront offers to origins, OpenSSL names, in its documented order.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-ciphers-cloudfront-to-origin.html
CLOUDFRONT_ORIGIN_CIPHERS: tuple[str, ...] = (
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA",
    "AES256-SHA",
    "AES128-SHA",
    "DES-CBC3-SHA",
    "RC4-MD5",
)
CLOUDFRONT_CURVES: tuple[str, ...] = ("prime256v1", "secp384r1", "X25519")

# --------------------------------------------------------------------------------------------
# CloudFront's TLS client offers (what its ClientHello carries), as data.
#
# AWS's origin cipher page names CloudFront's suites in "OpenSSL and s2n" names; CloudFront's TLS
# client is AWS's s2n-tls, whose source defines the origin-facing ("upstream") security policies by
# name. Source: aws/s2n-tls at commit 8cbf81ad74968a1d03efbd9352a89abd292232d4:
#   tls/s2n_security_policies.c  security_policy_cloudfront_upstream[_tls10|_tls11|_tls12]
#       ("CloudFront-Upstream[-TLS-1-x]") and security_policy_cloudfront_upstream_2025_08_08*
#       ("CloudFront-Upstream[-TLS-1-x]-2025[-PQ]"): minimum_protocol_version is the policy's floor.
#   tls/s2n_cipher_preferences.c cipher_suites_cloudfront_upstream[_tls1x],
#       cipher_suites_cloudfront_upstream_2025_08_08, S2N_TLS13_CLOUDFRONT_CIPHER_SUITES_20200716.
#   tls/s2n_signature_scheme.c   s2n_sig_scheme_pref_list_20140601 (older policies),
#       s2n_sig_scheme_pref_list_20250820 (2025), s2n_sig_scheme_pref_list_20250821 (2025-PQ: + ML-DSA).
#   tls/s2n_ecc_preferences.c    s2n_ecc_pref_list_20230623 (every generation): P-256, X25519, P-384.
#   tls/s2n_kem_preferences.c    pq_kem_groups_ietf_2025_07 (2025-PQ): X25519MLKEM768,
#       SecP256r1MLKEM768, SecP384r1MLKEM1024.
# s2n sends every listed signature scheme whose minimum protocol version the client's highest
# version reaches (s2n_signature_algorithms.c, s2n_signature_scheme_validate_for_send), so the
# 2025 ClientHello carries the SHA-1 and PKCS#1 schemes as well as RSA-PSS.
# Which generation a given edge runs is not documented: the auditor judges against all three.
S2N_COMMIT = "8cbf81ad74968a1d03efbd9352a89abd292232d4"
S2N_REPOSITORY = "https://github.com/aws/s2n-tls"


@dataclass(frozen=True)
class Offer:
    """One ClientHello CloudFront may send to an origin (its floor comes from OriginSslProtocols).

    name: ``documented``, ``s2n-legacy`` or ``s2n-2025`` (the JSON ``offer`` of an address).
    title: how a report names it. source: where the data comes from.
    ciphers: TLS 1.0-1.2 suites, OpenSSL names, in the offer's order.
    tls13_ciphers: TLS 1.3 suites (IANA names); ``()``: the offer stops at TLS 1.2.
    groups: supported groups (IANA names), in order; the first gets the TLS 1.3 key share.
    signature_schemes: signature_algorithms (IANA names; s2n's for the SHA-224 pair), in order.
    not_offered: what the policy also offers that this auditor's OpenSSL 3.0 cannot (the
        2025-PQ variant's ML-KEM hybrid groups and ML-DSA schemes): recorded, never offered.
    """

    name: str
    title: str
    source: str
    ciphers: tuple[str, ...]
    tls13_ciphers: tuple[str, ...]
    groups: tuple[str, ...]
    signature_schemes: tuple[str, ...]
    not_offered: tuple[str, ...] = ()

    @property
    def max_protocol(self) -> str:
        return "TLSv1.3" if self.tls13_ciphers else "TLSv1.2"

    @property
    def openssl_sigalgs(self) -> str:
        """The signature schemes as an OpenSSL ``-sigalgs`` / SSL_CTX_set1_sigalgs_list string."""
        return ":".join(OPENSSL_SIGALG_NAMES.get(s, s) for s in self.signature_schemes)


# OpenSSL's names for the IANA signature schemes where they differ (the SHA-224 and ECDSA-SHA-1
# ones have no name in its table, so they go as SIG+HASH).
OPENSSL_SIGALG_NAMES: dict[str, str] = {
    "rsa_pkcs1_sha224": "RSA+SHA224", "ecdsa_sha224": "ECDSA+SHA224", "ecdsa_sha1": "ECDSA+SHA1"}


# s2n_ecc_pref_list_20230623: "Curve p256 is at the top of the list in order to minimize HRR".
S2N_GROUPS: tuple[str, ...] = ("secp256r1", "x25519", "secp384r1")
# s2n_sig_scheme_pref_list_20140601: RSA PKCS#1 and ECDSA, SHA-1 last; no RSA-PSS, no EdDSA.
S2N_SIGNATURE_SCHEMES_2014: tuple[str, ...] = (
    "rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha512", "rsa_pkcs1_sha224",
    "ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "ecdsa_secp521r1_sha512", "ecdsa_sha224",
    "rsa_pkcs1_sha1", "ecdsa_sha1",
)
# s2n_sig_scheme_pref_list_20250820: ECDSA first, then RSA-PSS (pss and rsae), then the 2014 rest.
S2N_SIGNATURE_SCHEMES_2025: tuple[str, ...] = (
    "ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "ecdsa_secp521r1_sha512", "ecdsa_sha224",
    "rsa_pss_pss_sha256", "rsa_pss_pss_sha384", "rsa_pss_pss_sha512",
    "rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512",
    "rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha512", "rsa_pkcs1_sha224",
    "rsa_pkcs1_sha1", "ecdsa_sha1",
)
# The 2025-PQ variants (pq_kem_groups_ietf_2025_07, s2n_sig_scheme_pref_list_20250821): OpenSSL
# 3.0 has no ML-KEM or ML-DSA, so the probe cannot offer them (README, "What it cannot see").
S2N_PQ_NOT_OFFERED: tuple[str, ...] = (
    "X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "mldsa44", "mldsa65", "mldsa87")

# cipher_suites_cloudfront_upstream (identical for _tls10/_tls11/_tls12): the documented suites
# plus RSA key exchange AES-GCM and AES128-SHA256, which AWS's page does not list. s2n order.
S2N_LEGACY_CIPHERS: tuple[str, ...] = (
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384",
    "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
    "AES256-GCM-SHA384", "AES128-GCM-SHA256", "AES256-SHA", "AES128-SHA256", "AES128-SHA",
    "DES-CBC3-SHA", "RC4-MD5",
)
# cipher_suites_cloudfront_upstream_2025_08_08: the same TLS 1.2 suites, AES128 first.
S2N_2025_CIPHERS: tuple[str, ...] = (
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384",
    "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256", "AES128-SHA", "AES256-SHA",
    "DES-CBC3-SHA", "RC4-MD5",
)
# S2N_TLS13_CLOUDFRONT_CIPHER_SUITES_20200716.
S2N_TLS13_CIPHERS: tuple[str, ...] = (
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")

DOCUMENTED = Offer(
    "documented", "the documented offer",
    "AWS's origin cipher page (CLOUDFRONT_ORIGIN_CIPHERS), with the curves and signature schemes "
    f"of s2n-tls's CloudFront-Upstream policies ({S2N_REPOSITORY} @ {S2N_COMMIT})",
    CLOUDFRONT_ORIGIN_CIPHERS, (), S2N_GROUPS, S2N_SIGNATURE_SCHEMES_2014)
S2N_LEGACY = Offer(
    "s2n-legacy", "s2n-tls's CloudFront-Upstream policy",
    f"{S2N_REPOSITORY} @ {S2N_COMMIT}: CloudFront-Upstream[-TLS-1-0|-1-1|-1-2]",
    S2N_LEGACY_CIPHERS, (), S2N_GROUPS, S2N_SIGNATURE_SCHEMES_2014)
S2N_2025 = Offer(
    "s2n-2025", "s2n-tls's CloudFront-Upstream-2025 policy",
    f"{S2N_REPOSITORY} @ {S2N_COMMIT}: CloudFront-Upstream[-TLS-1-x]-2025[-PQ]",
    S2N_2025_CIPHERS, S2N_TLS13_CIPHERS, S2N_GROUPS, S2N_SIGNATURE_SCHEMES_2025,
    not_offered=S2N_PQ_NOT_OFFERED)
OFFERS: tuple[Offer, ...] = (DOCUMENTED, S2N_LEGACY, S2N_2025)
"""Tried in this order: the documented offer first (the common case costs one handshake)."""

# OriginSslProtocols enum values, oldest first. TLSv1.3 is not configurable (see TLS13_ONLY).
ORIGIN_SSL_PROTOCOLS: tuple[str, ...] = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2")
LEGACY_PROTOCOLS: frozenset[str] = frozenset({"SSLv3", "TLSv1", "TLSv1.1"})

# Documented key types for origin certificates.
RSA_MIN_BITS = 2048
RSA_MAX_BITS = 4096

# Default expiry horizons (days) for CERT_EXPIRING_SOON: warn, and "urgent" wording.
EXPIRY_WARN_DAYS = 30
EXPIRY_URGENT_DAYS = 7

# Limits that keep a hostile origin from costing more than a bounded amount.
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_CERTIFICATE_BYTES = 256 * 1024  # per handshake, all certificates together
MAX_CERTIFICATES = 32
MAX_ADDRESSES = 16  # per name; CloudFront itself uses a handful of them

# A wildcard alternate domain name (``*.example.com``) is never itself a viewer's Host: CloudFront
# forwards the name the viewer used, some label under it. With Host forwarded, the probe sends
# this label in its place (``WILDCARD_ALIAS_LABEL.example.com``): any name a viewer can use must
# be covered, and a certificate covering only some of them fails for the rest.
WILDCARD_ALIAS_LABEL = "origin-auditor-wildcard-check"


class AddressClass(StrEnum):
    """Why CloudFront cannot reach an address a DNS answer gave (``NON_PUBLIC_NETWORKS``)."""

    UNSPECIFIED = "unspecified"
    LOOPBACK = "loopback"
    PRIVATE = "private"  # RFC 1918, IPv6 unique local (fc00::/7)
    SHARED = "shared"  # RFC 6598 carrier-grade NAT, 100.64.0.0/10
    LINK_LOCAL = "link-local"  # 169.254.0.0/16 (the instance-metadata address), fe80::/10
    MULTICAST = "multicast"
    DOCUMENTATION = "documentation"  # RFC 5737, RFC 3849, RFC 9637
    RESERVED = "reserved"  # every other special-purpose range not routed on the internet


# CloudFront resolves custom origins in public DNS and connects from the internet (only VPC
# origins reach private addresses): a DNS answer in one of these ranges cannot be connected to by
# CloudFront, so it is a finding (ADDRESS_NOT_PUBLIC) and the probe does not connect there.
# Listed explicitly, first match wins, so the answer does not depend on the Python version's
# ``ipaddress`` tables; anything else ``ipaddress`` does not call global is RESERVED as well
# (``addresses.address_class``). IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged by the IPv4 it carries.
# Source: the IANA IPv4/IPv6 Special-Purpose Address Registries.
NON_PUBLIC_NETWORKS: tuple[tuple[str, AddressClass], ...] = (
    ("0.0.0.0/32", AddressClass.UNSPECIFIED),
    ("::/128", AddressClass.UNSPECIFIED),
    ("127.0.0.0/8", AddressClass.LOOPBACK),
    ("::1/128", AddressClass.LOOPBACK),
    ("10.0.0.0/8", AddressClass.PRIVATE),
    ("172.16.0.0/12", AddressClass.PRIVATE),
    ("192.168.0.0/16", AddressClass.PRIVATE),
    ("fc00::/7", AddressClass.PRIVATE),
    ("100.64.0.0/10", AddressClass.SHARED),
    ("169.254.0.0/16", AddressClass.LINK_LOCAL),
    ("fe80::/10", AddressClass.LINK_LOCAL),
    ("224.0.0.0/4", AddressClass.MULTICAST),
    ("ff00::/8", AddressClass.MULTICAST),
    ("192.0.2.0/24", AddressClass.DOCUMENTATION),
    ("198.51.100.0/24", AddressClass.DOCUMENTATION),
    ("203.0.113.0/24", AddressClass.DOCUMENTATION),
    ("2001:db8::/32", AddressClass.DOCUMENTATION),
    ("3fff::/20", AddressClass.DOCUMENTATION),
    ("0.0.0.0/8", AddressClass.RESERVED),  # "this network"
    ("192.0.0.0/24", AddressClass.RESERVED),  # IETF protocol assignments (.9/.10: anycast, no origins)
    ("198.18.0.0/15", AddressClass.RESERVED),  # benchmarking
    ("240.0.0.0/4", AddressClass.RESERVED),  # reserved, and 255.255.255.255 (broadcast)
    ("100::/64", AddressClass.RESERVED),  # discard-only
    ("fec0::/10", AddressClass.RESERVED),  # site-local, deprecated (RFC 3879)
    ("::/8", AddressClass.RESERVED),  # reserved by the IETF (incl. IPv4-compatible, deprecated)
)

# The instance-metadata service's addresses (EC2 IMDS, IPv4 and IPv6): named in the finding, because
# an origin name answering one of them is a leaked internal record or an attempt to reach it.
METADATA_ADDRESSES: frozenset[str] = frozenset({"169.254.169.254", "fd00:ec2::254"})


class Code(StrEnum):
    """Finding codes: a stable API. Add, never rename."""

    DNS_RESOLUTION_FAILED = "DNS_RESOLUTION_FAILED"
    CONNECT_FAILED = "CONNECT_FAILED"
    CONNECT_TIMEOUT = "CONNECT_TIMEOUT"
    HANDSHAKE_FAILED = "HANDSHAKE_FAILED"
    HANDSHAKE_TIMEOUT = "HANDSHAKE_TIMEOUT"
    NO_COMMON_PROTOCOL = "NO_COMMON_PROTOCOL"
    NO_COMMON_CIPHER = "NO_COMMON_CIPHER"
    TLS13_ONLY = "TLS13_ONLY"
    LEGACY_PROTOCOL = "LEGACY_PROTOCOL"
    CLIENT_CERT_REQUESTED = "CLIENT_CERT_REQUESTED"
    CHAIN_INCOMPLETE = "CHAIN_INCOMPLETE"
    CHAIN_WRONG_ORDER = "CHAIN_WRONG_ORDER"
    CHAIN_UNTRUSTED_ROOT = "CHAIN_UNTRUSTED_ROOT"
    CERT_SELF_SIGNED = "CERT_SELF_SIGNED"
    CHAIN_EXTRA_CERTS = "CHAIN_EXTRA_CERTS"
    CHAIN_INCLUDES_ROOT = "CHAIN_INCLUDES_ROOT"
    CERT_EXPIRED = "CERT_EXPIRED"
    CERT_NOT_YET_VALID = "CERT_NOT_YET_VALID"
    CERT_EXPIRING_SOON = "CERT_EXPIRING_SOON"
    HOSTNAME_MISMATCH = "HOSTNAME_MISMATCH"
    CERT_CN_ONLY = "CERT_CN_ONLY"
    KEY_UNSUPPORTED = "KEY_UNSUPPORTED"
    SIGNATURE_WEAK = "SIGNATURE_WEAK"
    ADDRESSES_INCONSISTENT = "ADDRESSES_INCONSISTENT"
    ORIGIN_HTTP_ONLY = "ORIGIN_HTTP_ONLY"
    ORIGIN_NOT_PROBED = "ORIGIN_NOT_PROBED"
    HOST_REWRITE_UNVERIFIABLE = "HOST_REWRITE_UNVERIFIABLE"
    ADDITIONAL_METRICS_DISABLED = "ADDITIONAL_METRICS_DISABLED"
    # Added after the first contract (additive):
    CERT_MALFORMED = "CERT_MALFORMED"
    CHAIN_TOO_LARGE = "CHAIN_TOO_LARGE"
    ADDRESSES_CAPPED = "ADDRESSES_CAPPED"
    S3_WEBSITE_HTTPS = "S3_WEBSITE_HTTPS"
    BUNDLE_CONTAINS_KEY = "BUNDLE_CONTAINS_KEY"
    KEY_MISMATCH = "KEY_MISMATCH"
    CHAIN_INVALID = "CHAIN_INVALID"
    ADDRESS_NOT_PUBLIC = "ADDRESS_NOT_PUBLIC"
    UNDOCUMENTED_OFFER_ONLY = "UNDOCUMENTED_OFFER_ONLY"
    NO_COMMON_GROUP = "NO_COMMON_GROUP"
    NO_COMMON_SIGNATURE_SCHEME = "NO_COMMON_SIGNATURE_SCHEME"
    OFFER_APPROXIMATE = "OFFER_APPROXIMATE"
    DEFAULT_DOMAIN_FAILS = "DEFAULT_DOMAIN_FAILS"


@dataclass(frozen=True)
class CodeInfo:
    """Documentation of one finding code: usual severity, basis, meaning and fix.

    basis: D = documented by AWS, I = inferred (conservative reading), R = reported by others.
    """

    severity: str
    basis: str
    meaning: str
    fix: str


CODES: dict[Code, CodeInfo] = {
    Code.DNS_RESOLUTION_FAILED: CodeInfo(
        "fail", "D", "The origin name does not resolve (CloudFront: NonS3OriginDnsError, 502).",
        "Publish A/AAAA records in public DNS for the origin domain name."),
    Code.CONNECT_FAILED: CodeInfo(
        "fail", "D", "TCP connection to the origin's HTTPS port was refused or unreachable (502).",
        "Open the HTTPSPort to CloudFront's origin-facing ranges (managed prefix list "
        "com.amazonaws.global.cloudfront.origin-facing) and check the listener."),
    Code.CONNECT_TIMEOUT: CodeInfo(
        "fail", "I", "No answer to the TCP connect within the timeout: firewall drop or dead host (504).",
        "Allow CloudFront's origin-facing prefix list in security groups / firewalls."),
    Code.HANDSHAKE_FAILED: CodeInfo(
        "fail", "D", "The TLS handshake failed, or the port does not speak TLS.",
        "Run the openssl line in the report; check the listener serves HTTPS on this port."),
    Code.HANDSHAKE_TIMEOUT: CodeInfo(
        "fail", "I", "The server accepted TCP but did not complete a TLS handshake in time.",
        "Check the TLS terminator (stalled proxy, overloaded server, wrong protocol on the port)."),
    Code.NO_COMMON_PROTOCOL: CodeInfo(
        "fail", "D", "The origin accepts none of the protocols the origin's OriginSslProtocols allow.",
        "Enable TLS 1.2 on the origin, or allow the protocol it speaks in the origin settings."),
    Code.NO_COMMON_CIPHER: CodeInfo(
        "fail", "D", "The origin accepts none of the cipher suites CloudFront offers "
        "(e.g. only CHACHA20 or DHE).",
        "Enable an ECDHE-RSA/ECDHE-ECDSA AES-GCM suite such as ECDHE-RSA-AES128-GCM-SHA256."),
    Code.TLS13_ONLY: CodeInfo(
        "warn", "R", "The origin speaks only TLS 1.3, which only s2n-tls's CloudFront-Upstream-2025 "
        "policy offers. CloudFront's API cannot select TLS 1.3 and 502s have been reported for "
        "TLS-1.3-only origins at some edge locations.",
        "Also enable TLS 1.2 with an ECDHE AES-GCM suite."),
    Code.LEGACY_PROTOCOL: CodeInfo(
        "warn", "D", "SSLv3/TLS 1.0/TLS 1.1 is allowed or negotiated.",
        "Allow only TLSv1.2 in OriginSslProtocols once the origin supports it."),
    Code.CLIENT_CERT_REQUESTED: CodeInfo(
        "fail", "D", "The origin requests a client certificate; CloudFront drops the request unless "
        "origin mTLS is configured.",
        "Turn off client certificate requests on this listener or configure origin mTLS."),
    Code.CHAIN_INCOMPLETE: CodeInfo(
        "fail", "D", "An intermediate certificate is missing. Browsers fetch it (AIA); CloudFront "
        "does not and drops the connection (502).",
        "Serve the full chain: leaf, then every intermediate (e.g. fullchain.pem, not cert.pem)."),
    Code.CHAIN_WRONG_ORDER: CodeInfo(
        "fail", "D", "The certificates are not in issuing order; CloudFront drops the connection.",
        "Order the bundle leaf first, then each certificate's issuer (origin-auditor check-bundle --fix)."),
    Code.CHAIN_UNTRUSTED_ROOT: CodeInfo(
        "fail", "D", "The chain does not lead to a root on Mozilla's included CA list (private CA?).",
        "Use a certificate from a publicly trusted CA (ACM certificates only on ELB origins)."),
    Code.CERT_SELF_SIGNED: CodeInfo(
        "fail", "D", "The origin presents a self-signed certificate.",
        "Use a certificate from a publicly trusted CA."),
    Code.CHAIN_EXTRA_CERTS: CodeInfo(
        "warn", "I", "The chain carries duplicate or unrelated certificates.",
        "Remove them; serve only leaf and intermediates in issuing order."),
    Code.CHAIN_INCLUDES_ROOT: CodeInfo(
        "info", "D", "The root certificate is sent at the end of the chain (allowed, just unneeded).",
        "Optional: drop the root from the served bundle."),
    Code.CERT_EXPIRED: CodeInfo(
        "fail", "D", "A certificate in the chain has expired.", "Renew and deploy the full chain."),
    Code.CERT_NOT_YET_VALID: CodeInfo(
        "fail", "D", "A certificate in the chain is not valid yet (clock or issuance problem).",
        "Check the server clock and the certificate's notBefore."),
    Code.CERT_EXPIRING_SOON: CodeInfo(
        "warn", "I", "A certificate in the chain expires within the horizon (default 30 days).",
        "Renew now; check the renewal automation deploys the full chain."),
    Code.HOSTNAME_MISMATCH: CodeInfo(
        "fail", "D", "The certificate does not cover the name CloudFront sends (origin domain, or "
        "the viewer's Host when it is forwarded).",
        "Add the name to the certificate's SAN, or stop forwarding Host to this origin."),
    Code.CERT_CN_ONLY: CodeInfo(
        "warn", "I", "The certificate has no SAN extension; only its CN matches.",
        "Reissue with subjectAltName entries."),
    Code.KEY_UNSUPPORTED: CodeInfo(
        "warn", "I", "Key type or size outside what AWS documents (RSA 2048-4096, ECDSA P-256/P-384).",
        "Reissue with RSA 2048 or ECDSA P-256."),
    Code.SIGNATURE_WEAK: CodeInfo(
        "warn", "I", "A certificate is signed with SHA-1 or MD5.", "Reissue with SHA-256."),
    Code.ADDRESSES_INCONSISTENT: CodeInfo(
        "warn", "I", "Different addresses of the origin present different certificates or results; "
        "CloudFront fails only on some connections (a partial 502 rate).",
        "Deploy the same certificate chain on every node behind the name."),
    Code.ORIGIN_HTTP_ONLY: CodeInfo(
        "info", "D", "The origin protocol policy is http-only: no TLS between CloudFront and origin.",
        "Consider https-only to encrypt CloudFront-to-origin traffic."),
    Code.ORIGIN_NOT_PROBED: CodeInfo(
        "info", "I", "The origin, or some of its addresses, was not audited (VPC origin, out of "
        "time, a probe error); reason given. Its distribution is NOT_AUDITED, never HEALTHY.",
        "Run the auditor where it can reach the origin, or with a longer timeout."),
    Code.HOST_REWRITE_UNVERIFIABLE: CodeInfo(
        "info", "I", "Request-side edge code on the route (or one able to pick any origin) may "
        "rewrite the Host header or, with a CloudFront Function's origin-modification helpers "
        "(since 2025-11), set the SNI, Host and accepted certificate names per request; or whether "
        "Host is forwarded could not be read: the names checked may not be the ones used.",
        "Check the function's code; run `origin-auditor check` with the rewritten name."),
    Code.ADDITIONAL_METRICS_DISABLED: CodeInfo(
        "info", "D", "Additional CloudWatch metrics (502ErrorRate, CacheHitRate) are off; "
        "5xxErrorRate is used instead.",
        "aws cloudfront create-monitoring-subscription --distribution-id ID --monitoring-subscription "
        "RealtimeMetricsSubscriptionConfig={RealtimeMetricsSubscriptionStatus=Enabled}"),
    Code.CERT_MALFORMED: CodeInfo(
        "fail", "I", "A certificate sent by the origin does not parse as X.509 DER.",
        "Check the certificate files the server loads."),
    Code.CHAIN_TOO_LARGE: CodeInfo(
        "fail", "I", "The origin sent more certificate data than any valid chain needs; the probe "
        "stopped reading.",
        "Serve only leaf and intermediates."),
    Code.ADDRESSES_CAPPED: CodeInfo(
        "info", "I", "The name resolved to more addresses than the auditor probes; the rest were skipped.",
        "Probe the remaining addresses with `origin-auditor check` if they differ."),
    Code.S3_WEBSITE_HTTPS: CodeInfo(
        "fail", "D", "An S3 website endpoint is configured with an HTTPS origin protocol policy; S3 "
        "website endpoints do not support HTTPS.",
        "Set the origin protocol policy to http-only, or use the S3 REST endpoint with OAC."),
    Code.BUNDLE_CONTAINS_KEY: CodeInfo(
        "warn", "I", "The bundle file contains a private key; the key is never echoed. Bundles are "
        "copied, attached to tickets and served as chain files.",
        "Keep the key in its own file with restricted permissions (chmod 600); pass it with --key."),
    Code.KEY_MISMATCH: CodeInfo(
        "fail", "D", "The private key does not belong to the leaf certificate (or could not be "
        "checked against it): a server cannot complete a handshake with a key that does not "
        "match its certificate.",
        "Pair the certificate with the key it was issued for (compare `openssl x509 -noout -pubkey` "
        "with `openssl pkey -pubout`)."),
    Code.CHAIN_INVALID: CodeInfo(
        "fail", "D", "A strict X.509 verifier rejects the chain for a reason its order, completeness "
        "and trust do not explain (e.g. an intermediate that is not a CA, a wrong extended key "
        "usage); AWS lists an invalid certificate as a 502 cause. The message carries the "
        "verifier's reason.",
        "Reissue the certificate, or get the CA's current intermediate."),
    Code.ADDRESS_NOT_PUBLIC: CodeInfo(
        "fail", "D", "The origin name resolves to an address CloudFront cannot reach from the internet "
        "(loopback, private, link-local, carrier-grade NAT, multicast, unspecified, documentation or "
        "reserved); CloudFront resolves origins in public DNS. The auditor does not connect there.",
        "Publish the origin's public address in public DNS (with split-horizon DNS, check the public "
        "view); a private origin needs a CloudFront VPC origin. To audit a lab origin, open its range "
        "with --allow-addresses or ORIGIN_AUDITOR_ALLOW_ADDRESSES."),
    Code.UNDOCUMENTED_OFFER_ONLY: CodeInfo(
        "warn", "I", "The origin refuses the documented offer and connects only with what s2n-tls's "
        "CloudFront-Upstream policies add (an undocumented RSA key exchange suite, or the 2025 "
        "policy's RSA-PSS signatures); the message names which. Edges differ and AWS does not "
        "promise it.",
        "Enable an ECDHE AES-GCM suite with an RSA PKCS#1 or ECDSA signature (nginx: ssl_ciphers "
        "ECDHE-RSA-AES128-GCM-SHA256 and ssl_conf_command SignatureAlgorithms "
        "RSA+SHA256:ECDSA+SHA256:RSA-PSS+SHA256; HAProxy: ssl-default-bind-ciphers / "
        "ssl-default-bind-sigalgs; ALB: an ELBSecurityPolicy-TLS13-1-2-* policy)."),
    Code.NO_COMMON_GROUP: CodeInfo(
        "fail", "I", "The origin's key exchange groups (curves) include none CloudFront offers "
        "(P-256, X25519, P-384 in every s2n-tls CloudFront-Upstream policy), e.g. only X448 or P-521.",
        "Enable P-256 and X25519 (nginx: ssl_ecdh_curve X25519:prime256v1:secp384r1; HAProxy: "
        "curves X25519:P-256:P-384 / ssl-default-bind-curves; ALB: any ELBSecurityPolicy)."),
    Code.NO_COMMON_SIGNATURE_SCHEME: CodeInfo(
        "fail", "I", "The origin signs its handshake only with a scheme no CloudFront policy offers "
        "(Ed25519/Ed448, or a scheme its configuration restricts to), so no handshake completes.",
        "Serve an RSA or ECDSA P-256 certificate and allow RSA PKCS#1 / ECDSA SHA-256 signatures "
        "(nginx: ssl_conf_command SignatureAlgorithms RSA+SHA256:ECDSA+SHA256:RSA-PSS+SHA256; "
        "HAProxy: ssl-default-bind-sigalgs; ALB: an ELBSecurityPolicy with an ACM RSA/ECDSA "
        "certificate)."),
    Code.OFFER_APPROXIMATE: CodeInfo(
        "info", "I", "This Python's OpenSSL could not be configured with CloudFront's exact curves and "
        "signature schemes, so its defaults were offered: an origin that fails only on those is not "
        "detected (NO_COMMON_GROUP / NO_COMMON_SIGNATURE_SCHEME cannot be reported).",
        "Run the auditor on CPython with a dynamically linked OpenSSL 3 (the Lambda runtime is)."),
    # AWS (502 guide, rules doc §3): with Host forwarded the certificate must match the origin
    # domain or the Host sent; a viewer on d….cloudfront.net makes that the Host (inferred).
    Code.DEFAULT_DOMAIN_FAILS: CodeInfo(
        "warn", "I", "The viewer's Host is forwarded and CloudFront would fail requests that viewers "
        "send to the distribution's own d….cloudfront.net domain (the failure is named); viewers "
        "on its alternate domain names are judged separately.",
        "Cover the origin domain name in the origin's certificate (accepted whatever Host is "
        "forwarded), or make sure viewers use the alternate domain names only."),
}
