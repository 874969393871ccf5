"""judge.handshake: the probe's facts (hand-built here) -> the exact findings, hints and reproduce
lines. The loopback tests in tests/integration/tls pin that real servers produce these facts."""

from __future__ import annotations

import pytest

from origin_auditor.judge.handshake import address_findings, reproduce_cipher, target_findings
from origin_auditor.model import AddressProbe, HandshakeOutcome, NotProbed, ProbeResult, Severity, Target
from origin_auditor.present.reproduce import openssl_command
from origin_auditor.rules import CLOUDFRONT_ORIGIN_CIPHERS, CODES, Code
from origin_auditor_lab.pki import Pki

O = HandshakeOutcome  # noqa: E741 - reads as a table below
TARGET = Target("origin.test", 8443)
TLS12 = ("TLSv1.2",)


def seen(**facts: object) -> AddressProbe:
    return AddressProbe(address="192.0.2.1", offered=TLS12, connect_timeout=2.0, timeout=5.0,
                        **facts)  # type: ignore[arg-type]


def test_refused_connect_is_connect_failed_with_the_os_reason() -> None:
    [f] = address_findings(TARGET, seen(outcome=O.REFUSED, detail="Connection refused [ECONNREFUSED]"))
    assert (f.code, f.severity, f.address) == (Code.CONNECT_FAILED, Severity.FAIL, "192.0.2.1")
    assert f.message == ("TCP connect to 192.0.2.1:8443 failed (Connection refused [ECONNREFUSED]). "
                         "CloudFront returns 502 when it cannot connect to the origin.")
    assert f.hint == CODES[Code.CONNECT_FAILED].fix


def test_connect_timeout_names_the_bound_that_was_applied() -> None:
    [f] = address_findings(TARGET, seen(outcome=O.CONNECT_TIMEOUT))
    assert f.code == Code.CONNECT_TIMEOUT
    assert "within 2 s (dropped by a firewall" in f.message and "504" in f.message


def test_handshake_timeout_hint_carries_the_reproduce_line() -> None:
    [f] = address_findings(TARGET, seen(outcome=O.TIMEOUT, bytes_received=7))
    assert f.message == ("The TLS handshake with 192.0.2.1:8443 did not complete within 5 s after it "
                         "sent 7 bytes. CloudFront gives up and returns 502/504.")
    assert f.hint == (f"{CODES[Code.HANDSHAKE_TIMEOUT].fix} Reproduce: openssl s_client -connect "
                      "192.0.2.1:8443 -servername origin.test -tls1_2 -showcerts </dev/null")


def test_not_tls_names_what_answered_and_the_ipv6_address_is_bracketed() -> None:
    probe = AddressProbe(address="2001:db8::1", offered=TLS12, outcome=O.NOT_TLS,
                         first_bytes=b"HTTP/1.1 400 Bad Request\r\n", bytes_received=26)
    [f] = address_findings(TARGET, probe)
    assert f.message == ("[2001:db8::1]:8443 does not speak TLS: it answered with an HTTP/1.1 response. "
                         "CloudFront cannot connect over HTTPS and returns 502.")
    assert f.hint.endswith("Reproduce: openssl s_client -connect '[2001:db8::1]:8443' "
                           "-servername origin.test -tls1_2 -showcerts </dev/null")


def test_no_common_cipher_without_a_certificate_seen_reproduces_with_all_of_cloudfronts_suites() -> None:
    probe = seen(outcome=O.TLS_ERROR, diagnostic_outcome=O.OK, diagnostic_protocol="TLSv1.2",
                 diagnostic_cipher="DHE-RSA-AES128-GCM-SHA256")
    [f] = address_findings(TARGET, probe)
    assert f.code == Code.NO_COMMON_CIPHER
    assert "with every cipher offered it chose DHE-RSA-AES128-GCM-SHA256 (TLSv1.2)" in f.message
    assert f.hint == (f"{CODES[Code.NO_COMMON_CIPHER].fix} Reproduce: openssl s_client -connect "
                      "192.0.2.1:8443 -servername origin.test -tls1_2 -cipher "
                      f"{':'.join(CLOUDFRONT_ORIGIN_CIPHERS)} -showcerts </dev/null")


# An RSA key can do every suite CloudFront offers but ECDHE-ECDSA; an ECDSA key only those.
RSA_SUITES = [c for c in CLOUDFRONT_ORIGIN_CIPHERS if not c.startswith("ECDHE-ECDSA-")]
ECDSA_SUITES = [c for c in CLOUDFRONT_ORIGIN_CIPHERS if c.startswith("ECDHE-ECDSA-")]


@pytest.mark.parametrize(("kind", "auth", "suites"), [("rsa", "ECDHE-RSA", RSA_SUITES),
                                                      ("ecdsa", "ECDHE-ECDSA", ECDSA_SUITES)])
def test_no_common_cipher_names_the_suites_for_the_leafs_key_type(
        pki1: Pki, rsa_pki: Pki, kind: str, auth: str, suites: list[str]) -> None:
    pki = rsa_pki if kind == "rsa" else pki1
    # The chain seen by the diagnostic handshake, in a wrong order: the leaf is still the leaf.
    probe = seen(outcome=O.TLS_ERROR, diagnostic_outcome=O.OK, diagnostic_protocol="TLSv1.2",
                 diagnostic_cipher=f"{auth}-CHACHA20-POLY1305", chain_source="diagnostic",
                 chain=(pki.intermediates[0].der, pki.leaf.der))
    [f] = address_findings(TARGET, probe)
    assert f.hint.startswith(f"Enable an {auth} AES-GCM suite such as {auth}-AES128-GCM-SHA256 "
                             f"(the origin's certificate has an {kind.upper()} key). Reproduce: ")
    offered = f.hint.split(" -cipher ", 1)[1].split(" ", 1)[0].split(":")
    assert offered == suites
    assert reproduce_cipher(probe) == ":".join(offered)


def test_no_common_protocol_when_the_broad_handshake_chose_another_protocol() -> None:
    probe = seen(outcome=O.TLS_ERROR, diagnostic_outcome=O.OK, diagnostic_protocol="TLSv1",
                 diagnostic_cipher="AES128-SHA")
    [f] = address_findings(TARGET, probe)
    assert f.code == Code.NO_COMMON_PROTOCOL
    assert f.hint == ("Enable TLSv1.2 on the origin, or allow TLSv1 in the origin's "
                      "OriginSslProtocols (legacy protocols are deprecated).")


def test_alert_is_named_and_openssls_reason_added() -> None:
    probe = seen(outcome=O.TLS_ERROR, alert=40, diagnostic_outcome=O.TLS_ERROR, tls13_outcome=O.TLS_ERROR,
                 detail="SSLV3_ALERT_HANDSHAKE_FAILURE: sslv3 alert handshake failure")
    [f] = address_findings(TARGET, probe)
    assert f.message == ("The TLS handshake with 192.0.2.1:8443 failed: the server sent a TLS alert "
                         "handshake_failure (40); OpenSSL: SSLV3_ALERT_HANDSHAKE_FAILURE: sslv3 alert "
                         "handshake failure. CloudFront drops the connection (502).")


def test_tls13_only_is_a_warning() -> None:
    [f] = address_findings(TARGET, seen(outcome=O.EOF, diagnostic_outcome=O.EOF, tls13_outcome=O.OK))
    assert (f.code, f.severity) == (Code.TLS13_ONLY, Severity.WARN)


def test_certificate_request_comes_after_the_handshake_finding() -> None:
    probe = seen(outcome=O.OK, protocol="TLSv1", cipher="ECDHE-RSA-AES128-SHA", client_cert_requested=True)
    assert [f.code for f in address_findings(TARGET, probe)] == [Code.LEGACY_PROTOCOL,
                                                                 Code.CLIENT_CERT_REQUESTED]


def test_oversized_certificate_message_fails_but_only_our_own_cap_warns() -> None:
    [over] = address_findings(TARGET, seen(outcome=O.TOO_LARGE, certificate_length=150_000))
    [cap] = address_findings(TARGET, seen(outcome=O.TOO_LARGE, certificate_length=90_000,
                                          chain=(b"x",) * 32, chain_truncated=True))
    assert (over.code, over.severity) == (Code.CHAIN_TOO_LARGE, Severity.FAIL)
    assert "150,000 bytes" in over.message and "(100 KiB)" in over.message
    assert (cap.code, cap.severity) == (Code.CHAIN_TOO_LARGE, Severity.WARN)
    assert "it kept 32 and stopped reading); only the certificates kept were judged." in cap.message


def test_internal_error_and_unofferable_protocols() -> None:
    [bug] = address_findings(TARGET, AddressProbe(address="192.0.2.1", internal_error="ValueError: x"))
    # A bug in the auditor says nothing about the origin: not audited (info), never a failure.
    assert (bug.code, bug.severity) == (Code.ORIGIN_NOT_PROBED, Severity.INFO)
    assert bug.message == ("The probe of 192.0.2.1:8443 failed with an internal error: ValueError: x. "
                           "This address was not audited; its result is unknown.")
    [ssl3] = address_findings(Target("o.test", protocols=("SSLv3",)), AddressProbe(address="192.0.2.1",
                                                                                    offered=()))
    assert ssl3.code == Code.NO_COMMON_PROTOCOL and "allows only SSLv3" in ssl3.message


def test_an_address_built_without_handshake_facts_has_no_handshake_findings() -> None:
    assert address_findings(TARGET, AddressProbe(address="192.0.2.1", protocol="TLSv1.2")) == []


def test_target_facts_in_order_cap_then_partial_time_budget() -> None:
    result = ProbeResult(TARGET, (seen(outcome=O.OK, protocol="TLSv1.2"),), resolved=20, capped_at=16,
                         time_budget_skipped=15)
    assert [f.message for f in target_findings(result)] == [
        "origin.test resolved to 20 addresses; the first 16 were probed and 4 skipped.",
        "15 of 16 addresses of origin.test:8443 were not probed: the run's time budget ran out "
        "before their handshakes could complete."]


def test_target_not_probed_and_dns_failures() -> None:
    [late] = target_findings(ProbeResult(TARGET, not_probed=NotProbed.TIME_BUDGET))
    assert late.message == ("origin.test:8443 was not probed: the run's time budget ran out before its "
                            "handshake could complete.")
    [nx] = target_findings(ProbeResult(TARGET, dns_error="Name or service not known"))
    assert nx.message == ("origin.test does not resolve (Name or service not known). CloudFront returns "
                          "502 (NonS3OriginDnsError).")
    [empty] = target_findings(ProbeResult(TARGET, resolved=0))
    assert empty.message == "origin.test resolved to no addresses. CloudFront returns 502."
    assert target_findings(ProbeResult(TARGET, resolved=1)) == []


def test_openssl_command_sends_no_servername_for_an_ip_sni() -> None:
    assert openssl_command(Target("192.0.2.7"), "192.0.2.7") == (
        "openssl s_client -connect 192.0.2.7:443 -tls1_2 -showcerts </dev/null")


def test_openssl_command_cipher_joins_the_legacy_security_level() -> None:
    cmd = openssl_command(Target("o.test", protocols=("TLSv1", "TLSv1.2")), cipher="AES128-SHA")
    assert "-cipher AES128-SHA:@SECLEVEL=0 " in cmd and cmd.count("-cipher") == 1


# --------------------------------------------------------------------------------------------
# Issue 10: the three offers (documented, s2n-legacy, s2n-2025) and what the broad offers show


def test_only_an_s2n_offer_connecting_is_a_warning_naming_the_undocumented_suite() -> None:
    [f] = address_findings(TARGET, seen(outcome=O.TLS_ERROR, alert=40, offer="s2n-legacy",
                                        protocol="TLSv1.2", cipher="AES256-GCM-SHA384"))
    assert (f.code, f.severity) == (Code.UNDOCUMENTED_OFFER_ONLY, Severity.WARN)
    assert "the undocumented suite AES256-GCM-SHA384" in f.message and "RSA key exchange" in f.message
    assert "CloudFront-Upstream policy" in f.message


def test_an_s2n_offer_connecting_over_tls10_names_the_deprecated_protocol_too() -> None:
    [f] = address_findings(TARGET, seen(outcome=O.TLS_ERROR, alert=40, offer="s2n-legacy",
                                        protocol="TLSv1", cipher="AES128-SHA256"))
    assert f.code == Code.UNDOCUMENTED_OFFER_ONLY
    assert "TLSv1, a deprecated protocol" in f.message


def test_rsa_pss_only_names_the_2025_policy() -> None:
    [f] = address_findings(TARGET, seen(outcome=O.TLS_ERROR, alert=40, offer="s2n-2025", protocol="TLSv1.2",
                                        cipher="ECDHE-RSA-AES128-GCM-SHA256", group="secp256r1",
                                        signature_scheme="rsa_pss_rsae_sha256"))
    assert f.code == Code.UNDOCUMENTED_OFFER_ONLY
    assert "rsa_pss_rsae_sha256 signature scheme (RSA-PSS: the 2025 policy only)" in f.message


def test_tls13_through_the_2025_offer_keeps_the_tls13_only_code() -> None:
    [f] = address_findings(TARGET, seen(outcome=O.TLS_ERROR, alert=70, offer="s2n-2025", protocol="TLSv1.3",
                                        cipher="TLS_AES_128_GCM_SHA256", group="x25519"))
    assert (f.code, f.severity) == (Code.TLS13_ONLY, Severity.WARN)


@pytest.mark.parametrize(("group", "scheme", "code"), [
    ("x448", "ecdsa_secp256r1_sha256", Code.NO_COMMON_GROUP),
    ("secp521r1", None, Code.NO_COMMON_GROUP),
    ("x25519", "ed25519", Code.NO_COMMON_SIGNATURE_SCHEME),
    ("x25519", "ecdsa_secp256r1_sha256", Code.NO_COMMON_CIPHER),
])
def test_the_broad_offer_tells_group_scheme_or_cipher(group: str, scheme: str | None, code: Code) -> None:
    probe = seen(outcome=O.TLS_ERROR, alert=40, diagnostic_outcome=O.OK, diagnostic_protocol="TLSv1.2",
                 diagnostic_cipher="ECDHE-ECDSA-AES128-GCM-SHA256", diagnostic_group=group,
                 diagnostic_signature_scheme=scheme)
    [f] = address_findings(TARGET, probe)
    assert (f.code, f.severity) == (code, Severity.FAIL)
    assert (reproduce_cipher(probe) is not None) == (code is Code.NO_COMMON_CIPHER)


def test_tls13_only_with_a_curve_cloudfront_never_offers_fails() -> None:
    [f] = address_findings(TARGET, seen(outcome=O.TLS_ERROR, alert=70, diagnostic_outcome=O.TLS_ERROR,
                                        tls13_outcome=O.OK, tls13_cipher="TLS_AES_128_GCM_SHA256",
                                        tls13_group="x448"))
    assert f.code == Code.NO_COMMON_GROUP and "(TLSv1.3)" in f.message


def test_an_approximate_offer_is_said() -> None:
    codes = [f.code for f in address_findings(TARGET, seen(outcome=O.OK, protocol="TLSv1.2",
                                                           offer="documented", offer_exact=False))]
    assert codes == [Code.OFFER_APPROXIMATE]
