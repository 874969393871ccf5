"""An origin that asks for a client certificate: CloudFront sends none (without origin mTLS)."""

from __future__ import annotations

from .conftest import MixedRun, codes


def test_optional_client_certificate_request_is_found_although_the_handshake_completes(
        mixed_run: MixedRun) -> None:
    r = mixed_run.results["client-cert-optional"]
    assert codes(r) == ["CLIENT_CERT_REQUESTED"]
    [address] = r.addresses
    assert address.protocol == "TLSv1.2"  # the handshake itself succeeded
    assert r.findings[0].severity == "fail"


def test_required_client_certificate_is_client_cert_requested_and_a_failed_handshake(
        mixed_run: MixedRun) -> None:
    r = mixed_run.results["client-cert-required"]
    assert sorted(codes(r)) == ["CLIENT_CERT_REQUESTED", "HANDSHAKE_FAILED"]
    [address] = r.addresses
    assert address.protocol is None
    # The certificate was still seen (TLS 1.2 sends it in the clear) and judged: nothing wrong.
    assert [c.subject.split(",")[0] for c in address.chain] == ["CN=mtls-required.test",
                                                                "CN=Origin Auditor Test Intermediate 1"]
