"""Certificate messages built by hand: DER that does not parse, several MiB, hundreds of
certificates. Each gets the code whose meaning (rules.CODES) says what happened."""

from __future__ import annotations

import pytest

from origin_auditor.rules import CODES, MAX_CERTIFICATES, Code

from .conftest import MixedRun, codes, only


def test_der_that_does_not_parse_is_cert_malformed_at_its_position(mixed_run: MixedRun) -> None:
    r = mixed_run.results["der-garbage-middle"]
    # The probe's handshake fails on it (OpenSSL: ASN1); the judge names the certificate.
    assert codes(r) == ["HANDSHAKE_FAILED", "CERT_MALFORMED"]
    assert "does not parse as X.509 DER" in only(r, "HANDSHAKE_FAILED").message
    assert "Certificate #2 " in only(r, "CERT_MALFORMED").message
    assert "X.509 DER" in CODES[Code.CERT_MALFORMED].meaning
    # Still reported as sent, the unparseable one in its place.
    assert [c.subject for c in r.addresses[0].chain][1] == "<unparseable>"


def test_truncated_leaf_der_is_cert_malformed_at_position_one(mixed_run: MixedRun) -> None:
    r = mixed_run.results["der-truncated-leaf"]
    assert "Certificate #1 " in only(r, "CERT_MALFORMED").message
    assert "HANDSHAKE_FAILED" in codes(r)


def test_when_the_leaf_does_not_parse_no_other_certificate_is_judged_as_the_leaf(
        mixed_run: MixedRun) -> None:
    r = mixed_run.results["der-truncated-leaf"]
    assert not [f for f in r.findings if "leaf certificate 'Origin Auditor Test Intermediate" in f.message
                or str(f.code) in ("CERT_CN_ONLY", "HOSTNAME_MISMATCH")]


def test_certificate_message_of_several_mib_is_chain_too_large_and_what_was_kept_is_judged(
        mixed_run: MixedRun) -> None:
    r = mixed_run.results["several-mib"]
    # Leaf and intermediate came before the 4 MiB blob: kept, judged, nothing wrong with them.
    assert codes(r) == ["CHAIN_TOO_LARGE"]
    assert "4,195,4" in r.findings[0].message and "stopped reading" in r.findings[0].message
    assert len(r.addresses[0].chain) == 2


def test_chain_cut_short_by_the_probe_is_not_called_incomplete(mixed_run: MixedRun) -> None:
    r = mixed_run.results["several-mib-before-intermediate"]
    assert "CHAIN_TOO_LARGE" in codes(r)
    assert "CHAIN_INCOMPLETE" not in codes(r)


@pytest.mark.parametrize("name", ["hundreds-of-certs", "hundreds-under-100k"])
def test_hundreds_of_certificates_are_chain_too_large_capped_at_max_certificates(
        mixed_run: MixedRun, name: str) -> None:
    r = mixed_run.results[name]
    assert codes(r)[0] == "CHAIN_TOO_LARGE"
    assert f"kept {MAX_CERTIFICATES} and stopped reading" in r.findings[0].message
    # The kept part (leaf, intermediate, then copies of one unrelated certificate) is judged too.
    assert codes(r) == ["CHAIN_TOO_LARGE", "CHAIN_EXTRA_CERTS"]


def test_too_many_certificates_under_openssl_limit_do_not_claim_clients_refuse_them(
        mixed_run: MixedRun) -> None:
    message = only(mixed_run.results["hundreds-under-100k"], "CHAIN_TOO_LARGE").message
    assert "more than TLS clients accept" not in message
