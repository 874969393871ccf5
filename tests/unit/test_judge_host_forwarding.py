"""With the viewer's Host forwarded, CloudFront sends the alias as SNI and accepts a certificate
for the alias OR the origin domain name (AWS 502 troubleshooting: "one or both of").

Discovery makes one Target per alias with ``server_name=alias`` and ``host=origin domain``;
``check HOST --server-name NAME`` builds the same shape. These tests pin that the hostname check
and the strict verifier both accept either name, and only DNS names count as the second name.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from origin_auditor.judge import accepted_origin_domain, judge_chain, judge_probe
from origin_auditor.model import AddressProbe, ProbeResult, Severity, Target, Verdict
from origin_auditor.rules import Code
from origin_auditor_lab.pki import NOW, Issued, Pki

from .conftest import ders, trust_of

ORIGIN = "origin.test"
ALIAS = "www.alias.test"


def probe_of(target: Target, chain: list[bytes]) -> ProbeResult:
    return ProbeResult(target, (AddressProbe(address="192.0.2.1", protocol="TLSv1.2",
                                             cipher="ECDHE-ECDSA-AES128-GCM-SHA256",
                                             chain=tuple(chain), chain_source="cloudfront"),))


def forwarded(pki: Pki, leaf: Issued) -> list:
    """Judge ``leaf`` + intermediates as served for SNI=alias by the origin ``origin.test``."""
    result = judge_probe(probe_of(Target(ORIGIN, server_name=ALIAS), ders(leaf, *pki.intermediates)),
                         trust=trust_of(pki.root), at=NOW)
    return list(result.findings)


def test_certificate_covering_the_alias_passes(pki1: Pki) -> None:
    assert forwarded(pki1, pki1.issue_leaf(ALIAS, dns_names=[ALIAS])) == []


def test_certificate_covering_only_the_origin_domain_passes_without_any_finding(pki1: Pki) -> None:
    # Both the hostname check and the strict verifier (which is retried with the origin domain
    # after a name-only rejection) accept it: no HOSTNAME_MISMATCH, no CHAIN_INVALID, no note.
    assert forwarded(pki1, pki1.issue_leaf(ORIGIN, dns_names=[ORIGIN])) == []


def test_wildcard_for_the_origin_domain_counts_as_the_origin_domain(pki1: Pki) -> None:
    leaf = pki1.issue_leaf("*.origins.test", dns_names=["*.origins.test"])
    result = judge_probe(probe_of(Target("eu.origins.test", server_name=ALIAS),
                                  ders(leaf, *pki1.intermediates)), trust=trust_of(pki1.root), at=NOW)
    assert result.verdict == Verdict.PASS and result.findings == ()


def test_certificate_covering_neither_is_one_mismatch_naming_both(pki1: Pki) -> None:
    findings = forwarded(pki1, pki1.issue_leaf("other.test", dns_names=["other.test"]))
    assert [f.code for f in findings] == [Code.HOSTNAME_MISMATCH]
    f = findings[0]
    assert f.severity == Severity.FAIL and f.address == "192.0.2.1"
    assert f"'{ALIAS}'" in f.message and f"'{ORIGIN}'" in f.message and "other.test" in f.message
    assert "Host header forwarded" in f.message and "either" in f.message
    assert ALIAS in f.hint and ORIGIN in f.hint


def test_cn_only_certificate_for_the_origin_domain_warns_but_matches(pki1: Pki) -> None:
    findings = forwarded(pki1, pki1.issue_leaf(ORIGIN, include_san=False))
    assert [f.code for f in findings] == [Code.CERT_CN_ONLY]


def test_other_verifier_rejection_after_the_name_retry_is_still_reported(pki1: Pki) -> None:
    # Given a certificate for the origin domain only, good for client auth only (no serverAuth),
    inter = pki1.intermediates[0]
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ORIGIN)]))
            .issuer_name(inter.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=90))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter.key.public_key()),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(ORIGIN)]), critical=False)
            .sign(inter.key, hashes.SHA256()))
    # when judged for SNI=alias with the origin domain accepted too,
    findings = judge_chain([leaf.public_bytes(serialization.Encoding.DER), inter.der], ALIAS,
                           trust=trust_of(pki1.root), at=NOW, origin_domain=ORIGIN)
    # then the name is fine, and the verifier's real objection (EKU) is what is reported.
    assert [f.code for f in findings] == [Code.CHAIN_INVALID]
    assert "EKU" in findings[0].message


def test_ip_literal_host_is_not_a_second_name(pki1: Pki) -> None:
    # The certificate covers the IP the origin is reached at, but CloudFront sends the alias.
    leaf = pki1.issue_leaf("other.test", dns_names=["other.test"], ip_addresses=["192.0.2.10"])
    target = Target("192.0.2.10", server_name=ALIAS)
    assert accepted_origin_domain(target) is None
    result = judge_probe(probe_of(target, ders(leaf, *pki1.intermediates)), trust=trust_of(pki1.root),
                         at=NOW)
    assert [f.code for f in result.findings] == [Code.HOSTNAME_MISMATCH]
    # Only the SNI is named as the name checked: the one-name message, not the "either" one.
    assert f"does not cover '{ALIAS}'" in result.findings[0].message
    assert "either" not in result.findings[0].message


def test_no_second_name_without_server_name_or_when_it_equals_the_host() -> None:
    assert accepted_origin_domain(Target(ORIGIN)) is None
    assert accepted_origin_domain(Target(ORIGIN, server_name="Origin.Test.")) is None
    assert accepted_origin_domain(Target(ORIGIN, server_name=ALIAS)) == ORIGIN
    assert accepted_origin_domain(Target("2001:db8::1", server_name=ALIAS)) is None


def test_plain_check_without_server_name_checks_the_host_only(pki1: Pki) -> None:
    leaf = pki1.issue_leaf(ALIAS, dns_names=[ALIAS])
    result = judge_probe(probe_of(Target(ORIGIN), ders(leaf, *pki1.intermediates)),
                         trust=trust_of(pki1.root), at=NOW)
    assert [f.code for f in result.findings] == [Code.HOSTNAME_MISMATCH]
