"""A leaf with 20,000 subjectAltName entries: served, parsed and matched in one run, or, when
it is too big for any TLS client, reported as too large without being read."""

from __future__ import annotations

from cryptography import x509

from origin_auditor.model import Verdict

from .conftest import SAN_BULK_NAME, SAN_COUNT, MixedRun, codes, only

OPENSSL_MAX_CERT_LIST = 100 * 1024


def test_leaf_with_20000_san_entries_is_served_and_matched_on_its_last_name(mixed_run: MixedRun) -> None:
    leaf = mixed_run.origins["san-20000"].certs["leaf"]
    names = leaf.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert len(names) == SAN_COUNT and list(names)[-1].value == SAN_BULK_NAME
    # Small enough that OpenSSL sends and accepts it: the whole list really reaches the judge.
    assert len(leaf.der) + len(mixed_run.pki.intermediates[0].der) < OPENSSL_MAX_CERT_LIST
    r = mixed_run.results["san-20000"]
    assert r.verdict == Verdict.PASS and r.findings == ()
    assert r.addresses[0].protocol == "TLSv1.2"


def test_name_missing_from_20000_san_entries_is_a_mismatch_with_a_bounded_message(
        mixed_run: MixedRun) -> None:
    r = mixed_run.results["san-20000-miss"]
    assert codes(r) == ["HOSTNAME_MISMATCH"]
    message = only(r, "HOSTNAME_MISMATCH").message
    assert "'not-listed.test'" in message
    assert f"and {SAN_COUNT - 10} more" in message
    assert len(message) < 1000


def test_leaf_with_20000_long_san_entries_is_chain_too_large_and_not_kept(mixed_run: MixedRun) -> None:
    r = mixed_run.results["san-20000-long"]
    assert codes(r) == ["CHAIN_TOO_LARGE"]
    [address] = r.addresses
    assert address.chain == ()  # the probe stopped reading instead of buffering ~680 KB
