"""check-bundle / --fix: judge a PEM bundle offline and rewrite it in issuing order."""

from __future__ import annotations

import base64
import json
import logging
import random
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from origin_auditor.bundle import BundleError, check_bundle, fix_bundle
from origin_auditor.model import Severity, Verdict
from origin_auditor.rules import Code
from origin_auditor_lab.pki import NOW, Pki, issue, pem_bundle

from .conftest import trust_of


def subjects(pem: bytes) -> list[str]:
    return [c.subject.rfc4514_string() for c in x509.load_pem_x509_certificates(pem)]


def test_good_bundle_passes(pki2: Pki) -> None:
    checked = check_bundle(pem_bundle(pki2.chain()), "origin.test", trust=trust_of(pki2.root), at=NOW)
    assert checked.result.verdict == Verdict.PASS and checked.result.findings == ()
    assert len(checked.certificates) == 3 and checked.key_matches is None
    assert len(checked.result.addresses[0].chain) == 3


def test_shuffled_bundle_fails_and_fix_restores_issuing_order(pki2: Pki) -> None:
    shuffled = [pki2.intermediates[0], pki2.root, pki2.leaf, pki2.intermediates[1]]
    pem = pem_bundle(shuffled)
    trust = trust_of(pki2.root)
    checked = check_bundle(pem, "origin.test", trust=trust, at=NOW)
    assert Code.CHAIN_WRONG_ORDER in {f.code for f in checked.result.findings}
    fixed = fix_bundle(pem, trust=trust)
    assert subjects(fixed) == [c.name for c in pki2.chain()]
    assert check_bundle(fixed, "origin.test", trust=trust, at=NOW).result.findings == ()


def test_fix_drops_duplicates_unrelated_and_root(pki1: Pki) -> None:
    other = Pki(root_name="Unrelated Root")
    pem = pem_bundle([pki1.leaf, other.leaf, pki1.intermediates[0], pki1.leaf, other.root, pki1.root,
                      pki1.intermediates[0]])
    fixed = fix_bundle(pem, trust=trust_of(pki1.root))
    assert subjects(fixed) == [pki1.leaf.name, pki1.intermediates[0].name]


def test_fix_of_random_orders_is_always_the_same(pki2: Pki) -> None:
    trust = trust_of(pki2.root)
    expected = pem_bundle(pki2.chain())
    rng = random.Random(7)
    for _ in range(10):
        certs = list(pki2.fullchain())
        rng.shuffle(certs)
        assert fix_bundle(pem_bundle(certs), trust=trust) == expected


def test_fix_refuses_naming_missing_issuer_and_aia_url(pki2: Pki) -> None:
    pem = pem_bundle([pki2.leaf, pki2.intermediates[0]])
    with pytest.raises(BundleError) as exc:
        fix_bundle(pem, trust=trust_of(pki2.root))
    msg = str(exc.value)
    assert "Origin Auditor Test Intermediate 2" in msg and "http://pki.test/int2.der" in msg
    assert "\n" not in msg


def test_fix_refuses_a_self_signed_leaf_no_path_to_a_trusted_root(pki1: Pki) -> None:
    # Issue 10 §4: --fix writes a deployable chain or refuses, saying why; a self-signed leaf
    # has no path to a trusted root (it used to be written back as it was).
    leaf = issue("origin.test")
    with pytest.raises(BundleError, match=r"no path to a trusted root: .*self-signed leaf"):
        fix_bundle(leaf.pem, trust=trust_of(pki1.root))


def test_key_that_belongs_to_the_leaf_matches(pki1: Pki) -> None:
    checked = check_bundle(pem_bundle(pki1.chain()), "origin.test", trust=trust_of(pki1.root), at=NOW,
                           key_pem=pki1.leaf.key_pem)
    assert checked.key_matches is True and checked.result.verdict == Verdict.PASS


def test_key_of_another_certificate_does_not_match(pki1: Pki) -> None:
    checked = check_bundle(pem_bundle(pki1.chain()), "origin.test", trust=trust_of(pki1.root), at=NOW,
                           key_pem=pki1.intermediates[0].key_pem)
    assert checked.key_matches is False
    assert checked.result.verdict == Verdict.FAIL
    f = next(f for f in checked.result.findings if f.code == Code.KEY_MISMATCH)
    assert f.severity == Severity.FAIL and "does not belong" in f.message
    # Offline there is no handshake: the code it used to borrow must not come back.
    assert Code.HANDSHAKE_FAILED not in {f.code for f in checked.result.findings}


def test_key_matching_uses_the_leaf_even_when_it_is_not_first(pki1: Pki) -> None:
    pem = pem_bundle([pki1.intermediates[0], pki1.leaf])
    checked = check_bundle(pem, "origin.test", trust=trust_of(pki1.root), at=NOW, key_pem=pki1.leaf.key_pem)
    assert checked.key_matches is True


def test_encrypted_key_cannot_be_checked_and_says_why(pki1: Pki) -> None:
    enc = pki1.leaf.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"pw"))
    checked = check_bundle(pem_bundle(pki1.chain()), "origin.test", trust=trust_of(pki1.root), at=NOW,
                           key_pem=enc)
    assert checked.key_matches is None and checked.key_error is not None and "encrypted" in checked.key_error
    # Unverified, not proven wrong: a warning under the key code, not a handshake failure.
    assert [(f.code, f.severity) for f in checked.result.findings] == [(Code.KEY_MISMATCH, Severity.WARN)]


@pytest.mark.parametrize("data", [b"", b"just text\n", b"\x00\x01binary", b"-----BEGIN FOO-----\n"])
def test_non_pem_input_is_a_one_line_error(pki1: Pki, data: bytes) -> None:
    with pytest.raises(BundleError) as exc:
        check_bundle(data, "origin.test", trust=trust_of(pki1.root), at=NOW)
    assert "\n" not in str(exc.value)
    with pytest.raises(BundleError):
        fix_bundle(data, trust=trust_of(pki1.root))


def test_key_only_pem_has_no_certificate(pki1: Pki) -> None:
    with pytest.raises(BundleError, match="no CERTIFICATE block") as exc:
        check_bundle(pki1.leaf.key_pem, "origin.test", trust=trust_of(pki1.root), at=NOW)
    key_body = b"".join(pki1.leaf.key_pem.splitlines()[1:-1]).decode()
    assert key_body[:16] not in str(exc.value)


def test_corrupt_base64_block_is_malformed_not_fatal(pki1: Pki) -> None:
    pem = pem_bundle(pki1.chain()) + b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"
    checked = check_bundle(pem, "origin.test", trust=trust_of(pki1.root), at=NOW)
    assert Code.CERT_MALFORMED in {f.code for f in checked.result.findings}
    assert subjects(fix_bundle(pem, trust=trust_of(pki1.root))) == [c.name for c in pki1.chain()]


def test_private_key_in_bundle_is_warned_about_and_never_echoed(
        pki1: Pki, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key_pem = pki1.leaf.key_pem
    pem = key_pem + pem_bundle(pki1.chain())
    checked = check_bundle(pem, "origin.test", trust=trust_of(pki1.root), at=NOW)
    assert checked.contains_private_key is True
    assert checked.result.verdict == Verdict.WARN
    # Its own code, not the borrowed CHAIN_EXTRA_CERTS: the chain itself is clean.
    assert [f.code for f in checked.result.findings] == [Code.BUNDLE_CONTAINS_KEY]
    assert "PRIVATE KEY" in checked.result.findings[0].message
    key_body = b"".join(key_pem.splitlines()[1:-1]).decode()
    dumped = json.dumps(checked.result.to_json()) + repr(checked) + caplog.text
    for chunk in (key_body[i:i + 16] for i in range(0, len(key_body) - 16, 16)):
        assert chunk not in dumped
    fixed = fix_bundle(pem, trust=trust_of(pki1.root))
    assert b"PRIVATE KEY" not in fixed
    # A refusal message must not carry it either.
    with pytest.raises(BundleError) as exc:
        fix_bundle(key_pem + pki1.leaf.pem, trust=trust_of(pki1.root))
    assert key_body[:16] not in str(exc.value)


def _corrupt_first(pki_pems: bytes) -> bytes:
    """The same bundle with the first certificate's body damaged (still PEM, no longer X.509)."""
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----", pki_pems, re.S)
    bad = base64.encodebytes(b"\x30\x03\x02\x01\x00" + b"not a certificate" * 4)
    return pki_pems.replace(blocks[0], bad, 1)


def test_key_is_not_checked_against_a_later_certificate_when_the_leaf_block_is_corrupt(pki1: Pki) -> None:
    pem = _corrupt_first(pem_bundle(pki1.chain()))
    checked = check_bundle(pem, "origin.test", trust=trust_of(pki1.root), at=NOW,
                           key_pem=pki1.intermediates[-1].key_pem)
    assert checked.key_matches is None
    assert checked.key_error is not None and "leaf" in checked.key_error


def test_fix_refuses_a_bundle_whose_leaf_block_is_corrupt(pki1: Pki) -> None:
    pem = _corrupt_first(pem_bundle(pki1.chain()))
    with pytest.raises(BundleError, match="first certificate block"):
        fix_bundle(pem, trust=trust_of(pki1.root))
