"""judge_chain on generated chains: order, completeness, trust, validity, hostname, keys, hashes."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from origin_auditor.judge import (
    VerifierReason,
    directly_issued_by,
    dns_name_matches,
    judge_chain,
    summarize_cert,
    verifier_reason,
)
from origin_auditor.model import Severity, Verdict
from origin_auditor.rules import CODES, Code
from origin_auditor_lab.pki import NOW, Pki, issue

from .conftest import ders, resign_rsa, trust_of


def codes(findings: list) -> set[Code]:
    return {f.code for f in findings}


def only(findings: list, code: Code):
    hits = [f for f in findings if f.code == code]
    assert len(hits) == 1, findings
    return hits[0]


def judge(pki: Pki, chain: list[bytes], name: str = "origin.test", at: dt.datetime = NOW, **kw):
    return judge_chain(chain, name, trust=trust_of(pki.root), at=at, **kw)


# ----------------------------------------------------------------- complete, ordered chains


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_correct_chain_of_any_depth_has_no_findings(depth: int) -> None:
    pki = Pki(depth=depth)
    assert judge(pki, ders(*pki.chain())) == []


def test_root_sent_at_the_end_is_info_and_passes(pki2: Pki) -> None:
    findings = judge(pki2, ders(*pki2.fullchain()))
    assert codes(findings) == {Code.CHAIN_INCLUDES_ROOT}
    assert findings[0].severity == Severity.INFO
    assert Verdict.of(findings) == Verdict.PASS


def test_empty_chain_yields_nothing(pki1: Pki) -> None:
    assert judge(pki1, []) == []


def test_address_is_carried_on_every_finding(pki1: Pki) -> None:
    findings = judge_chain(ders(pki1.leaf), "other.test", trust=trust_of(pki1.root), at=NOW,
                           address="192.0.2.1")
    assert findings and all(f.address == "192.0.2.1" for f in findings)


# ----------------------------------------------------------------- missing intermediates


def test_missing_only_intermediate_names_it_and_its_aia_url(pki1: Pki) -> None:
    findings = judge(pki1, ders(pki1.leaf))
    f = only(findings, Code.CHAIN_INCOMPLETE)
    assert f.severity == Severity.FAIL
    assert "Origin Auditor Test Intermediate 1" in f.message
    assert "http://pki.test/int1.der" in f.message
    assert "Browsers fetch" in f.message and "CloudFront does not" in f.message
    assert Code.CHAIN_WRONG_ORDER not in codes(findings)


def test_missing_lower_intermediate_of_two_level_chain(pki2: Pki) -> None:
    findings = judge(pki2, ders(pki2.leaf, pki2.intermediates[0]))
    f = only(findings, Code.CHAIN_INCOMPLETE)
    assert "Intermediate 2" in f.message and "http://pki.test/int2.der" in f.message
    # Intermediate 1 is cut off from the path by the gap: reported, not silently dropped.
    assert "Intermediate 1" in only(findings, Code.CHAIN_EXTRA_CERTS).message


def test_missing_upper_intermediate_of_two_level_chain(pki2: Pki) -> None:
    findings = judge(pki2, ders(pki2.leaf, pki2.intermediates[1]))
    f = only(findings, Code.CHAIN_INCOMPLETE)
    assert "Intermediate 1" in f.message and "http://pki.test/int1.der" in f.message
    assert "'Origin Auditor Test Intermediate 2'" in f.message  # whose issuer is missing


def test_missing_intermediate_without_aia_says_so(pki1: Pki) -> None:
    leaf = issue("origin.test", pki1.intermediates[0])  # no AIA extension
    f = only(judge(pki1, ders(leaf)), Code.CHAIN_INCOMPLETE)
    assert "no caIssuers URL" in f.message


# ----------------------------------------------------------------- order


def test_root_before_intermediate_is_wrong_order(pki1: Pki) -> None:
    findings = judge(pki1, ders(pki1.leaf, pki1.root, pki1.intermediates[0]))
    f = only(findings, Code.CHAIN_WRONG_ORDER)
    assert f.severity == Severity.FAIL
    assert ("Sent: origin.test → Origin Auditor Test Root → Origin Auditor Test Intermediate 1"
            in f.message)
    assert ("Issuing order: origin.test → Origin Auditor Test Intermediate 1 → Origin Auditor Test Root"
            in f.message)
    assert "reorder" in f.message
    assert Code.CHAIN_INCOMPLETE not in codes(findings)
    assert Code.CHAIN_INCLUDES_ROOT not in codes(findings)  # a root in the middle is not "at the end"


def test_swapped_intermediates_are_wrong_order(pki2: Pki) -> None:
    i1, i2 = pki2.intermediates
    findings = judge(pki2, ders(pki2.leaf, i1, i2))
    assert codes(findings) == {Code.CHAIN_WRONG_ORDER}


def test_leaf_not_first_is_wrong_order_and_leaf_still_judged(pki1: Pki) -> None:
    findings = judge(pki1, ders(pki1.intermediates[0], pki1.leaf), name="other.test")
    assert Code.CHAIN_WRONG_ORDER in codes(findings)
    # The hostname is checked on the end-entity certificate, not on the CA sent first.
    assert "covers origin.test" in only(findings, Code.HOSTNAME_MISMATCH).message


def test_fully_reversed_chain_is_wrong_order(pki2: Pki) -> None:
    findings = judge(pki2, ders(*reversed(pki2.fullchain())))
    assert Code.CHAIN_WRONG_ORDER in codes(findings)
    assert Code.CHAIN_INCOMPLETE not in codes(findings)


# ----------------------------------------------------------------- extra certificates


def test_unrelated_certificate_at_the_end_is_a_warning(pki1: Pki) -> None:
    other = Pki(root_name="Unrelated Root")
    findings = judge(pki1, ders(*pki1.chain(), other.intermediates[0]))
    f = only(findings, Code.CHAIN_EXTRA_CERTS)
    assert f.severity == Severity.WARN
    assert Verdict.of(findings) == Verdict.WARN


def test_unrelated_certificate_between_chain_members_is_wrong_order(pki1: Pki) -> None:
    other = Pki(root_name="Unrelated Root")
    findings = judge(pki1, ders(pki1.leaf, other.leaf, pki1.intermediates[0]))
    assert {Code.CHAIN_WRONG_ORDER, Code.CHAIN_EXTRA_CERTS} <= codes(findings)


def test_duplicate_at_the_end_is_a_warning(pki1: Pki) -> None:
    findings = judge(pki1, ders(*pki1.chain(), pki1.intermediates[0]))
    assert codes(findings) == {Code.CHAIN_EXTRA_CERTS}
    assert "duplicates" in findings[0].message


def test_duplicate_leaf_between_chain_members_is_wrong_order(pki1: Pki) -> None:
    findings = judge(pki1, ders(pki1.leaf, pki1.leaf, pki1.intermediates[0]))
    assert {Code.CHAIN_WRONG_ORDER, Code.CHAIN_EXTRA_CERTS} <= codes(findings)


# ----------------------------------------------------------------- trust


def test_chain_to_another_root_is_untrusted(pki1: Pki) -> None:
    other = Pki(root_name="Some Private Root")
    findings = judge_chain(ders(*other.fullchain()), "origin.test", trust=trust_of(pki1.root), at=NOW)
    f = only(findings, Code.CHAIN_UNTRUSTED_ROOT)
    assert "Some Private Root" in f.message and f.severity == Severity.FAIL
    assert Code.CERT_SELF_SIGNED not in codes(findings)


def test_issuer_named_like_trusted_root_but_other_key_is_untrusted(pki1: Pki) -> None:
    impostor = Pki()  # same root *name* as pki1, different key
    findings = judge_chain(ders(*impostor.chain()), "origin.test", trust=trust_of(pki1.root), at=NOW)
    assert Code.CHAIN_UNTRUSTED_ROOT in codes(findings)
    assert Code.CHAIN_INCOMPLETE not in codes(findings)


def test_self_signed_leaf_is_self_signed_not_untrusted_root(pki1: Pki) -> None:
    leaf = issue("origin.test")
    findings = judge(pki1, ders(leaf))
    assert codes(findings) == {Code.CERT_SELF_SIGNED}
    assert findings[0].severity == Severity.FAIL


def test_intermediate_that_is_not_a_ca_is_chain_invalid_with_the_verifiers_reason(pki1: Pki) -> None:
    bogus = issue("Not A CA", pki1.root, ca=False)
    leaf = issue("origin.test", bogus)
    findings = judge(pki1, ders(leaf, bogus))
    f = only(findings, Code.CHAIN_INVALID)
    assert "basicConstraints" in f.message and f.severity == Severity.FAIL
    # The path does reach the trusted root: calling it an untrusted root (the code this used to
    # borrow) would send people to the wrong fix.
    assert Code.CHAIN_UNTRUSTED_ROOT not in codes(findings)
    assert f.hint == CODES[Code.CHAIN_INVALID].fix


def test_leaf_without_server_auth_eku_is_chain_invalid(pki1: Pki) -> None:
    # Given a leaf that is only good for client authentication, correctly ordered and complete,
    inter = pki1.intermediates[0]
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "origin.test")]))
            .issuer_name(inter.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=90))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter.key.public_key()),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("origin.test")]), critical=False)
            .sign(inter.key, hashes.SHA256()))
    # when it is judged, then only the strict verifier objects, and it says why.
    findings = judge(pki1, [leaf.public_bytes(serialization.Encoding.DER), inter.der])
    f = only(findings, Code.CHAIN_INVALID)
    assert "EKU" in f.message and f.severity == Severity.FAIL
    assert codes(findings) == {Code.CHAIN_INVALID}


@pytest.mark.parametrize(("code", "severity", "basis"), [
    (Code.BUNDLE_CONTAINS_KEY, "warn", "I"), (Code.KEY_MISMATCH, "fail", "D"),
    (Code.CHAIN_INVALID, "fail", "D")])
def test_codes_added_for_borrowed_ones_are_in_the_rule_table(code: Code, severity: str,
                                                             basis: str) -> None:
    assert code.value == code.name  # a stable API: the value is the name alert filters use
    assert (CODES[code].severity, CODES[code].basis) == (severity, basis)
    assert CODES[code].fix


# ----------------------------------------------------------------- validity


def test_expired_leaf(pki1: Pki) -> None:
    at = pki1.leaf.cert.not_valid_after_utc + dt.timedelta(days=1)
    f = only(judge(pki1, ders(*pki1.chain()), at=at), Code.CERT_EXPIRED)
    assert "leaf certificate 'origin.test'" in f.message
    assert pki1.leaf.cert.not_valid_after_utc.strftime("%Y-%m-%d") in f.message


def test_expired_intermediate_with_valid_leaf(pki1: Pki) -> None:
    inter = issue("Short Intermediate", pki1.root, ca=True, not_before=NOW - dt.timedelta(days=30),
                  days=20)
    leaf = issue("origin.test", inter)
    findings = judge(pki1, ders(leaf, inter))
    f = only(findings, Code.CERT_EXPIRED)
    assert "intermediate 'Short Intermediate'" in f.message
    assert Verdict.of(findings) == Verdict.FAIL


def test_not_yet_valid_leaf(pki1: Pki) -> None:
    leaf = issue("origin.test", pki1.intermediates[0], not_before=NOW + dt.timedelta(days=2))
    f = only(judge(pki1, ders(leaf, pki1.intermediates[0])), Code.CERT_NOT_YET_VALID)
    assert "leaf" in f.message and f.severity == Severity.FAIL


def test_not_yet_valid_intermediate(pki1: Pki) -> None:
    inter = issue("Future Intermediate", pki1.root, ca=True, not_before=NOW + dt.timedelta(days=2))
    leaf = issue("origin.test", inter)
    f = only(judge(pki1, ders(leaf, inter)), Code.CERT_NOT_YET_VALID)
    assert "intermediate 'Future Intermediate'" in f.message


@pytest.mark.parametrize(("days_left", "expected"), [
    (40, None), (20, "warn"), (3, "urgent"),
])
def test_expiry_horizon(pki1: Pki, days_left: int, expected: str | None) -> None:
    at = pki1.leaf.cert.not_valid_after_utc - dt.timedelta(days=days_left, hours=1)
    findings = judge(pki1, ders(*pki1.chain()), at=at)
    hits = [f for f in findings if f.code == Code.CERT_EXPIRING_SOON]
    if expected is None:
        assert hits == []
        return
    assert len(hits) == 1 and hits[0].severity == Severity.WARN
    assert hits[0].message.startswith("URGENT") == (expected == "urgent")
    assert f"in {days_left} days" in hits[0].message


def test_expiring_intermediate_is_reported_too(pki1: Pki) -> None:
    inter = issue("Aging Intermediate", pki1.root, ca=True, days=10)
    leaf = issue("origin.test", inter, days=5)
    findings = judge(pki1, ders(leaf, inter))
    subjects = [f.message for f in findings if f.code == Code.CERT_EXPIRING_SOON]
    assert len(subjects) == 2 and any("Aging Intermediate" in m for m in subjects)


def test_warn_days_is_honoured(pki1: Pki) -> None:
    at = pki1.leaf.cert.not_valid_after_utc - dt.timedelta(days=50)
    assert judge(pki1, ders(*pki1.chain()), at=at) == []
    assert Code.CERT_EXPIRING_SOON in codes(judge(pki1, ders(*pki1.chain()), at=at, warn_days=60))


def test_year_9999_not_after_does_not_crash(pki1: Pki) -> None:
    leaf = issue("origin.test", pki1.intermediates[0],
                 not_after=dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    assert judge(pki1, ders(leaf, pki1.intermediates[0])) == []
    assert summarize_cert(leaf.der).not_after == "9999-12-31T23:59:59Z"


def test_not_before_after_not_after_does_not_crash(rsa_pki: Pki) -> None:
    inter = rsa_pki.intermediates[0]
    assert isinstance(inter.key, rsa.RSAPrivateKey)
    nb = NOW - dt.timedelta(days=1)
    na = NOW + dt.timedelta(days=1)
    leaf = issue("origin.test", inter, not_before=nb, not_after=na)
    a, b = nb.strftime("%y%m%d%H%M%SZ").encode(), na.strftime("%y%m%d%H%M%SZ").encode()
    swapped = resign_rsa(leaf.cert, inter.key,
                         tbs_edit=lambda t: t.replace(a, b"\0" * 13).replace(b, a).replace(b"\0" * 13, b))
    findings = judge(rsa_pki, [swapped, inter.der])
    assert {Code.CERT_EXPIRED, Code.CERT_NOT_YET_VALID} <= codes(findings)


# ----------------------------------------------------------------- hostname


@pytest.mark.parametrize(("name", "ok"), [
    ("origin.test", True),
    ("ORIGIN.Test", True),
    ("origin.test.", True),
    ("www.origin.test", False),
    ("origin.test\x00.evil.test", False),
    ("origin.test\x00", False),
])
def test_hostname_exact_case_and_trailing_dot(pki1: Pki, name: str, ok: bool) -> None:
    findings = judge(pki1, ders(*pki1.chain()), name=name)
    assert (Code.HOSTNAME_MISMATCH not in codes(findings)) == ok


def test_mismatch_lists_the_covered_names(pki1: Pki) -> None:
    leaf = pki1.issue_leaf("a.test", dns_names=["a.test", "b.test", "*.c.test"])
    f = only(judge(pki1, ders(leaf, pki1.intermediates[0]), name="d.test"), Code.HOSTNAME_MISMATCH)
    assert "'d.test'" in f.message and "a.test, b.test, *.c.test" in f.message
    assert f.severity == Severity.FAIL and "subjectAltName" in f.hint


@pytest.mark.parametrize(("pattern", "name", "ok"), [
    ("*.example.test", "a.example.test", True),
    ("*.example.test", "A.EXAMPLE.TEST.", True),
    ("*.example.test", "example.test", False),
    ("*.example.test", "a.b.example.test", False),
    ("f*.example.test", "foo.example.test", False),
    ("*oo.example.test", "foo.example.test", False),
    ("a.*.test", "a.b.test", False),
    ("*.test", "a.test", False),
    ("*.*.example.test", "a.b.example.test", False),
])
def test_wildcards_follow_rfc6125(pki1: Pki, pattern: str, name: str, ok: bool) -> None:
    leaf = pki1.issue_leaf("wild", dns_names=[pattern])
    findings = judge(pki1, ders(leaf, pki1.intermediates[0]), name=name)
    assert (Code.HOSTNAME_MISMATCH not in codes(findings)) == ok, findings


def test_cn_only_certificate_matches_with_a_warning(pki1: Pki) -> None:
    leaf = pki1.issue_leaf("origin.test", include_san=False)
    findings = judge(pki1, ders(leaf, pki1.intermediates[0]))
    assert codes(findings) == {Code.CERT_CN_ONLY}
    assert Verdict.of(findings) == Verdict.WARN


def test_cn_only_certificate_with_other_name_is_a_mismatch(pki1: Pki) -> None:
    leaf = pki1.issue_leaf("other.test", include_san=False)
    findings = judge(pki1, ders(leaf, pki1.intermediates[0]))
    assert {Code.CERT_CN_ONLY, Code.HOSTNAME_MISMATCH} <= codes(findings)


def test_cn_is_ignored_when_a_san_exists(pki1: Pki) -> None:
    leaf = pki1.issue_leaf("origin.test", dns_names=["www.origin.test"])
    assert Code.HOSTNAME_MISMATCH in codes(judge(pki1, ders(leaf, pki1.intermediates[0])))


@pytest.mark.parametrize(("name", "ok"), [
    ("127.0.0.1", True), ("127.0.0.2", False), ("::1", True), ("[::1]", True), ("::2", False),
])
def test_ip_server_names_match_ip_sans(pki1: Pki, name: str, ok: bool) -> None:
    leaf = pki1.issue_leaf("127.0.0.1", dns_names=[], ip_addresses=["127.0.0.1", "::1"])
    findings = judge(pki1, ders(leaf, pki1.intermediates[0]), name=name)
    assert (Code.HOSTNAME_MISMATCH not in codes(findings)) == ok, findings


def test_ip_server_name_does_not_match_dns_san_with_same_text(pki1: Pki) -> None:
    leaf = pki1.issue_leaf("127.0.0.1", dns_names=["127.0.0.1"])
    assert Code.HOSTNAME_MISMATCH in codes(judge(pki1, ders(leaf, pki1.intermediates[0]),
                                                 name="127.0.0.1"))


def test_idna_server_name_matches_a_label_san(pki1: Pki) -> None:
    leaf = pki1.issue_leaf("xn--bcher-kva.test", dns_names=["xn--bcher-kva.test"])
    chain = ders(leaf, pki1.intermediates[0])
    assert judge(pki1, chain, name="bücher.test") == []
    assert judge(pki1, chain, name="xn--bcher-kva.test") == []
    assert Code.HOSTNAME_MISMATCH in codes(judge(pki1, chain, name="bucher.test"))


def test_san_with_nul_byte_never_matches() -> None:
    assert not dns_name_matches("origin.test", ["origin.test\x00.evil.test"])
    assert dns_name_matches("origin.test", ["origin.test\x00.evil.test", "origin.test"])


def test_twenty_thousand_sans_are_judged(pki1: Pki) -> None:
    names = [f"host{i}.origin.test" for i in range(20_000)]
    leaf = pki1.issue_leaf("host0.origin.test", dns_names=names)
    chain = ders(leaf, pki1.intermediates[0])
    assert judge(pki1, chain, name="host19999.origin.test") == []
    f = only(judge(pki1, chain, name="nope.origin.test"), Code.HOSTNAME_MISMATCH)
    assert "and 19990 more" in f.message and len(f.message) < 2000


# ----------------------------------------------------------------- keys and signatures


@pytest.mark.parametrize(("kind", "text"), [
    ("rsa1024", "RSA 1024-bit"), ("ec521", "secp521r1"), ("eck256", "secp256k1"),
])
def test_unsupported_leaf_keys_warn(pki1: Pki, kind: str, text: str) -> None:
    leaf = pki1.issue_leaf("origin.test", key_kind=kind)
    findings = judge(pki1, ders(leaf, pki1.intermediates[0]))
    f = only(findings, Code.KEY_UNSUPPORTED)
    assert text in f.message and f.severity == Severity.WARN
    assert Verdict.of(findings) == Verdict.WARN


def test_rsa_key_above_4096_bits_warns(pki1: Pki) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=4160)
    leaf = pki1.issue_leaf("origin.test", key=key)
    assert "RSA 4160-bit" in only(judge(pki1, ders(leaf, pki1.intermediates[0])),
                                  Code.KEY_UNSUPPORTED).message


@pytest.mark.parametrize("name", ["Ed25519", "Ed448"])
def test_eddsa_leaf_fails_no_cloudfront_policy_offers_its_scheme(pki1: Pki, name: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate() if name == "Ed25519" else ed448.Ed448PrivateKey.generate()
    leaf = pki1.issue_leaf("origin.test", key=key)
    f = only(judge(pki1, ders(leaf, pki1.intermediates[0])), Code.KEY_UNSUPPORTED)
    assert f.severity is Severity.FAIL  # issue 10: a failure, not a warning
    assert name in f.message and "no CloudFront policy offers" in f.message


@pytest.mark.parametrize("kind", ["rsa2048", "ec256", "ec384"])
def test_documented_keys_pass(kind: str) -> None:
    pki = Pki(key_kind=kind)
    assert judge(pki, ders(*pki.chain())) == []


def test_weak_intermediate_key_is_reported(pki1: Pki) -> None:
    inter = issue("Weak Intermediate", pki1.root, ca=True, key_kind="rsa1024")
    leaf = issue("origin.test", inter)
    f = only(judge(pki1, ders(leaf, inter)), Code.KEY_UNSUPPORTED)
    assert "Weak Intermediate" in f.message


def test_sha1_signed_leaf_is_weak_and_fails_once_the_verifier_rejects_it(rsa_pki: Pki) -> None:
    inter = rsa_pki.intermediates[0]
    assert isinstance(inter.key, rsa.RSAPrivateKey)
    sha1_leaf = resign_rsa(rsa_pki.issue_leaf("origin.test").cert, inter.key, sha1=True)
    findings = judge(rsa_pki, [sha1_leaf, inter.der])
    f = only(findings, Code.SIGNATURE_WEAK)
    assert "SHA1" in f.message and "strict verifier" in f.message
    assert f.severity == Severity.FAIL
    # The order check still sees the SHA-1 leaf as issued by its intermediate.
    assert codes(findings) == {Code.SIGNATURE_WEAK}


def test_md5_signed_intermediate_is_weak_and_fails_once_the_verifier_rejects_it(rsa_pki: Pki) -> None:
    root = rsa_pki.root
    assert isinstance(root.key, rsa.RSAPrivateKey)
    md5_inter = resign_rsa(rsa_pki.intermediates[0].cert, root.key, md5=True)
    # The root's signature on it is checked by hand (cryptography gives no padding for MD5):
    assert directly_issued_by(x509.load_der_x509_certificate(md5_inter), root.cert)
    findings = judge(rsa_pki, [rsa_pki.leaf.der, md5_inter])
    f = only(findings, Code.SIGNATURE_WEAK)
    assert "MD5" in f.message and "Intermediate 1" in f.message
    assert "strict verifier" in f.message and f.severity == Severity.FAIL
    # Still on the path to the trusted root: neither a gap nor an untrusted root.
    assert codes(findings) == {Code.SIGNATURE_WEAK}


def test_a_wrong_md5_signature_is_not_taken_for_the_issuers(rsa_pki: Pki) -> None:
    # The by-hand check must verify, not merely accept MD5: signed by a key that is not the
    # root's. A fresh key, not lab/pki's pool: a pooled key can be the root's own.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = resign_rsa(rsa_pki.intermediates[0].cert, stranger, md5=True)
    assert not directly_issued_by(x509.load_der_x509_certificate(forged), rsa_pki.root.cert)
    findings = judge(rsa_pki, [rsa_pki.leaf.der, forged])
    assert Code.CHAIN_UNTRUSTED_ROOT in codes(findings)


def test_sha1_self_signature_of_the_trusted_root_is_not_reported(rsa_pki: Pki) -> None:
    root = rsa_pki.root
    assert isinstance(root.key, rsa.RSAPrivateKey)
    sha1_root = resign_rsa(root.cert, root.key, sha1=True)
    from cryptography import x509
    trust = trust_of(x509.load_der_x509_certificate(sha1_root))
    findings = judge_chain([*ders(*rsa_pki.chain()), sha1_root], "origin.test", trust=trust, at=NOW)
    assert codes(findings) == {Code.CHAIN_INCLUDES_ROOT}


# ----------------------------------------------------------------- malformed input


def test_malformed_certificate_is_named_by_position_and_rest_judged(pki1: Pki) -> None:
    findings = judge(pki1, [pki1.leaf.der, b"\x30\x03\x02\x01\x00", pki1.intermediates[0].der])
    f = only(findings, Code.CERT_MALFORMED)
    assert "#2" in f.message and f.severity == Severity.FAIL
    assert Code.CHAIN_INCOMPLETE not in codes(findings)


@pytest.mark.parametrize("blob", [b"", b"\x00", b"garbage" * 50, b"\x30\x82\xff\xff" + b"\x00" * 10])
def test_garbage_only_chain_never_raises(pki1: Pki, blob: bytes) -> None:
    findings = judge(pki1, [blob])
    assert codes(findings) == {Code.CERT_MALFORMED}


def test_truncated_leaf_is_malformed(pki1: Pki) -> None:
    findings = judge(pki1, [pki1.leaf.der[:-20], pki1.intermediates[0].der])
    assert Code.CERT_MALFORMED in codes(findings)
    assert summarize_cert(pki1.leaf.der[:-20]).subject == "<unparseable>"


def test_control_characters_in_subjects_do_not_reach_messages(pki1: Pki) -> None:
    leaf = pki1.issue_leaf("evil\n\x1b[31mred", dns_names=["evil.test"])
    findings = judge(pki1, ders(leaf))
    assert findings and all("\n" not in f.message and "\x1b" not in f.message for f in findings)


def test_malformed_leaf_is_not_replaced_by_the_next_certificate(pki1: Pki) -> None:
    # RFC 5246: the first certificate sent is the leaf. When it does not parse, the intermediate
    # after it must not be judged as the leaf (it covers no hostname, has no SAN).
    findings = judge(pki1, [pki1.leaf.der[:-20], pki1.intermediates[0].der])
    assert codes(findings) == {Code.CERT_MALFORMED}
    f = only(findings, Code.CERT_MALFORMED)
    assert "#1" in f.message and "the hostname could not be checked" in f.message
    assert not any("leaf certificate 'Origin Auditor Test Intermediate" in x.message for x in findings)


def test_certificates_after_a_malformed_leaf_are_still_checked_for_dates(pki1: Pki) -> None:
    old = issue("Old Intermediate", pki1.root, ca=True, not_before=NOW - dt.timedelta(days=400),
                not_after=NOW - dt.timedelta(days=1))
    findings = judge(pki1, [b"\x30\x03\x02\x01\x00", old.der])
    expired = only(findings, Code.CERT_EXPIRED)
    assert "intermediate 'Old Intermediate' (#2 sent)" in expired.message
    assert codes(findings) == {Code.CERT_MALFORMED, Code.CERT_EXPIRED}


def test_malformed_leaf_with_a_later_non_ca_certificate_judges_no_names(pki1: Pki) -> None:
    # A non-CA certificate later in the chain is not promoted to leaf either.
    other = pki1.issue_leaf("other.test", dns_names=["other.test"])
    findings = judge(pki1, [b"garbage", pki1.intermediates[0].der, other.der])
    assert Code.HOSTNAME_MISMATCH not in codes(findings)
    assert Code.CERT_MALFORMED in codes(findings)


@pytest.mark.parametrize(("char", "escaped"), [
    ("\x1b", "\\x1b"), ("\x85", "\\x85"), ("\u202e", "\\u202e"), ("\u200b", "\\u200b"),
    ("\U000e0001", "\\U000e0001"),
])
def test_non_printable_characters_are_escaped_by_code_point_width(
        pki1: Pki, char: str, escaped: str) -> None:
    leaf = pki1.issue_leaf(f"a{char}b", include_san=False)
    message = only(judge(pki1, ders(leaf, pki1.intermediates[0])), Code.CERT_CN_ONLY).message
    assert f"a{escaped}b" in message and char not in message


# ----------------------------------------------------------------- strict verifier categories


@pytest.mark.parametrize(("message", "reason"), [
    ("validation failed: candidates exhausted: RSA key is too weak", VerifierReason.PUBLIC_KEY),
    ("candidates exhausted: Forbidden public key algorithm: AlgorithmIdentifier {...}",
     VerifierReason.PUBLIC_KEY),
    ("candidates exhausted: Forbidden signature algorithm: RsaWithSha1", VerifierReason.SIGNATURE_ALGORITHM),
    ("cert is not valid at validation time", VerifierReason.VALIDITY_TIME),
    ("leaf certificate has no matching subjectAltName", VerifierReason.NAME),
    ("keyUsage.keyCertSign must be asserted in a CA certificate", VerifierReason.OTHER),
    ("EE keyUsage must not assert keyCertSign", VerifierReason.OTHER),
    ("authorityKeyIdentifier must contain keyIdentifier", VerifierReason.OTHER),
    ("basicConstraints.cA must be asserted in a CA certificate", VerifierReason.OTHER),
])
def test_verifier_rejections_are_categorised_by_phrase_not_by_the_word_key(
        message: str, reason: VerifierReason) -> None:
    assert verifier_reason(message) == reason


def _leaf_with_key_cert_sign(inter_cert: x509.Certificate,
                             inter_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
                             key: ec.EllipticCurvePrivateKey) -> bytes:
    """A server leaf whose keyUsage asserts keyCertSign (Web PKI forbids that in an EE)."""
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "origin.test")]))
            .issuer_name(inter_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=90))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("origin.test")]), critical=False)
            .sign(inter_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def test_key_usage_rejection_is_not_hidden_by_an_unrelated_key_warning(pki1: Pki) -> None:
    # Given a leaf on curve P-521 (KEY_UNSUPPORTED, a warning the verifier does not share) whose
    # keyUsage asserts keyCertSign (the verifier's real objection, worded with "keyUsage"),
    inter = pki1.intermediates[0]
    der = _leaf_with_key_cert_sign(inter.cert, inter.key, ec.generate_private_key(ec.SECP521R1()))
    findings = judge(pki1, [der, inter.der])
    # then the key warning does not "explain" it away: CHAIN_INVALID names the reason.
    assert codes(findings) == {Code.KEY_UNSUPPORTED, Code.CHAIN_INVALID}
    assert "keyCertSign" in only(findings, Code.CHAIN_INVALID).message


def test_weak_intermediate_key_rejection_is_explained_by_key_unsupported(pki1: Pki) -> None:
    # The verifier rejects the RSA-1024 intermediate ("RSA key is too weak"); KEY_UNSUPPORTED
    # already says it, so no second finding (behaviour kept from the substring check).
    inter = issue("Weak Intermediate", pki1.root, ca=True, key_kind="rsa1024")
    leaf = issue("origin.test", inter)
    findings = judge(pki1, ders(leaf, inter))
    assert codes(findings) == {Code.KEY_UNSUPPORTED}
    assert only(findings, Code.KEY_UNSUPPORTED).severity == Severity.WARN
