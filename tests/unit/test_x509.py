"""x509 facts on their own: names a leaf covers, the strict verifier's typed reason, PEM
bundles, the issuing path's raw fields. The judge's tests pin what these mean for CloudFront."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography.hazmat.primitives import serialization

from origin_auditor.judge import judge_chain
from origin_auditor.rules import Code
from origin_auditor.x509.chain import analyze_chain, parse_chain
from origin_auditor.x509.names import ip_literal, leaf_names, normalize_dns
from origin_auditor.x509.pem import BundleError, pair_key, split_pem
from origin_auditor.x509.verify import Rejection, VerifierReason, strict_verify, verifier_subject
from origin_auditor_lab.pki import NOW, Pki, issue, new_key, pem_bundle

from .conftest import ders, trust_of


@pytest.mark.parametrize(("text", "expected"), [
    ("192.0.2.1", "192.0.2.1"), ("[2001:db8::1]", "2001:db8::1"), ("2001:db8::1", "2001:db8::1"),
    ("origin.test", None), ("[origin.test]", None), ("[::1", None), ("", None),
])
def test_ip_literal_is_the_one_answer_to_is_this_an_address(text: str, expected: str | None) -> None:
    found = ip_literal(text)
    assert (None if found is None else str(found)) == expected


def test_normalize_dns_lowercases_drops_the_root_dot_and_encodes_idna() -> None:
    assert normalize_dns("Origin.TEST.") == "origin.test"
    assert normalize_dns("bücher.test") == "xn--bcher-kva.test"
    assert normalize_dns("a\x00b.test") is None
    assert normalize_dns(".") is None


def test_leaf_names_reads_san_dns_and_ip_entries(pki1: Pki) -> None:
    leaf = pki1.issue_leaf("a.test", dns_names=["a.test", "*.b.test"], ip_addresses=["192.0.2.7"])
    names = leaf_names(leaf.cert)
    assert names is not None
    assert names.dns == ("a.test", "*.b.test")
    assert names.ips == (ipaddress.ip_address("192.0.2.7"),)
    assert not names.cn_only
    assert names.covers("A.TEST.") and names.covers("x.b.test") and names.covers("192.0.2.7")
    assert not names.covers("b.test") and not names.covers("192.0.2.8")


def test_leaf_names_without_san_is_the_common_name_only(pki1: Pki) -> None:
    names = leaf_names(pki1.issue_leaf("cn.test", include_san=False).cert)
    assert names is not None
    assert names.cn_only and names.dns == ("cn.test",) and names.ips == ()
    assert names.covers("cn.test")


def test_verifier_subject_is_an_ip_or_a_normalized_dns_name() -> None:
    assert str(verifier_subject("[::1]")) == "<IPAddress(value=::1)>"
    assert str(verifier_subject("Origin.Test.")) == "<DNSName(value='origin.test')>"
    assert verifier_subject("nul\x00.test") is None


def test_strict_verify_accepts_a_good_chain(pki1: Pki) -> None:
    trust = trust_of(pki1.root)
    assert strict_verify(pki1.leaf.cert, [c.cert for c in pki1.intermediates], "origin.test",
                         store=trust.store, at=NOW) is None


def test_strict_verify_names_the_reason_and_keeps_the_raw_message(pki1: Pki) -> None:
    trust = trust_of(pki1.root)
    intermediates = [c.cert for c in pki1.intermediates]
    wrong = strict_verify(pki1.leaf.cert, intermediates, "other.test", store=trust.store, at=NOW)
    assert isinstance(wrong, Rejection)
    assert wrong.reason is VerifierReason.NAME
    assert "subjectAltName" in wrong.message
    late = strict_verify(pki1.leaf.cert, intermediates, "origin.test", store=trust.store,
                         at=NOW + dt.timedelta(days=400))
    assert late is not None and late.reason is VerifierReason.VALIDITY_TIME


def test_strict_verify_skips_a_name_no_verifier_can_take(pki1: Pki) -> None:
    trust = trust_of(pki1.root)
    assert strict_verify(pki1.leaf.cert, [], "bad\x00.test", store=trust.store, at=NOW) is None


def test_missing_aia_is_raw_in_the_analysis_and_cleaned_in_the_finding(pki1: Pki) -> None:
    url = "http://pki.test/\x1b[31mint.der"
    inter = issue("Stray Intermediate", pki1.root, ca=True)
    leaf = issue("origin.test", inter, aia_ca_issuers=url)
    sent, malformed = parse_chain(ders(leaf))
    trust = trust_of(pki1.root)
    assert analyze_chain(sent, trust, malformed).missing_aia == url
    incomplete = [f for f in judge_chain(ders(leaf), "origin.test", trust=trust, at=NOW)
                  if f.code == Code.CHAIN_INCOMPLETE]
    assert len(incomplete) == 1
    assert "http://pki.test/\\x1b[31mint.der" in incomplete[0].message
    assert "\x1b" not in incomplete[0].message + incomplete[0].hint


def test_distinct_is_each_sent_certificate_once_in_sent_order(pki1: Pki) -> None:
    chain = ders(pki1.leaf, pki1.intermediates[0], pki1.leaf, pki1.intermediates[0])
    sent, malformed = parse_chain(chain)
    a = analyze_chain(sent, trust_of(pki1.root), malformed)
    assert [s.position for s in a.distinct()] == [0, 1]
    assert a.is_leaf(sent[2]) and not a.is_leaf(sent[1])


def test_split_pem_keeps_positions_and_notes_a_key_without_reading_it(pki1: Pki) -> None:
    good = pem_bundle([pki1.leaf])
    corrupt = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"
    bundle = split_pem(pki1.leaf.key_pem + corrupt + good)
    assert bundle.has_key
    assert bundle.ders == (b"", pki1.leaf.der)
    with pytest.raises(BundleError, match="no CERTIFICATE block"):
        split_pem(pki1.leaf.key_pem)


def test_pair_key_says_why_a_key_cannot_be_compared(pki1: Pki) -> None:
    assert pair_key(pki1.leaf.key_pem, pki1.leaf.cert).matches is True
    other = pair_key(pki1.intermediates[0].key_pem, pki1.leaf.cert)
    assert other.matches is False and other.error is None
    encrypted = new_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"))
    locked = pair_key(encrypted, pki1.leaf.cert)
    assert locked.matches is None and locked.error == "the private key is encrypted; decrypt it to check it"
    no_leaf = pair_key(pki1.leaf.key_pem, None)
    assert not no_leaf.leaf_parses and no_leaf.matches is None
    assert no_leaf.error == "the first certificate in the bundle (the leaf) does not parse"
