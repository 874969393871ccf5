"""The CloudFront-like handshake against real loopback TLS servers: what is captured, and how
protocol / cipher / client-certificate problems are told apart."""

from __future__ import annotations

import ssl

import pytest

from origin_auditor.model import Target
from origin_auditor.probe import probe_target, static_resolver
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer, openssl_supports

from .conftest import codes, probe, probe_one

needs_tls1 = pytest.mark.skipif(not openssl_supports("TLSv1"), reason="this OpenSSL cannot do TLSv1")


def test_good_origin_chain_protocol_and_cipher_are_captured_as_sent(pki: Pki) -> None:
    sent = pki.fullchain()
    with TlsServer(sent) as srv:
        a = probe_one(srv.port)
    assert a.connected
    assert a.protocol == "TLSv1.2"
    assert a.cipher == "ECDHE-ECDSA-AES256-GCM-SHA384"  # first of CloudFront's list the server has
    assert a.chain == tuple(c.der for c in sent)
    assert a.chain_source == "cloudfront"
    assert a.chain_truncated is False
    assert a.client_cert_requested is False
    assert a.findings == ()


@pytest.mark.parametrize("shape", ["root_before_intermediate", "swapped_intermediates",
                                   "leaf_last", "duplicate_leaf"])
def test_wrong_order_chains_are_captured_without_reordering(pki: Pki, pki2: Pki, shape: str) -> None:
    sent = {
        "root_before_intermediate": [pki.leaf, pki.root, *pki.intermediates],
        "swapped_intermediates": [pki2.leaf, pki2.intermediates[0], pki2.intermediates[1]],
        "leaf_last": [pki.leaf, pki.root, pki.intermediates[0], pki.leaf],
        "duplicate_leaf": [pki.leaf, pki.leaf, pki.intermediates[0]],
    }[shape]
    with TlsServer(sent) as srv:
        a = probe_one(srv.port)
    assert a.connected
    assert a.chain == tuple(c.der for c in sent)


def test_missing_intermediate_is_captured_as_sent_leaf_only(pki: Pki) -> None:
    with TlsServer([pki.leaf]) as srv:
        a = probe_one(srv.port)
    assert a.connected
    assert a.chain == (pki.leaf.der,)


def test_sni_selects_the_certificate_and_the_probe_sends_the_server_name(pki: Pki) -> None:
    other = pki.issue_leaf("other.test")
    with TlsServer(pki.chain(), sni_chains={"other.test": [other, *pki.intermediates]}) as srv:
        default = probe_one(srv.port, server_name="origin.test")
        selected = probe_one(srv.port, server_name="other.test")
        names = list(srv.served_names)
    assert default.chain[0] == pki.leaf.der
    assert selected.chain[0] == other.der
    assert names == ["origin.test", "other.test"]


def test_ip_literal_targets_send_no_sni(pki: Pki) -> None:
    other = pki.issue_leaf("other.test")
    with TlsServer(pki.chain(), sni_chains={"other.test": [other]}) as srv:
        a = probe_one(srv.port, server_name=None)
        names = list(srv.served_names)
    assert a.chain[0] == pki.leaf.der
    assert names == [None]


@pytest.mark.usefixtures("loopback_aliases")
def test_every_address_of_a_name_is_probed_and_a_different_chain_is_seen(pki: Pki) -> None:
    stale = pki.issue_leaf("origin.test")
    with TlsServer(pki.chain(), host=["127.0.0.2", "127.0.0.3"],
                   address_chains={"127.0.0.3": [stale]}) as srv:
        resolver = static_resolver({"origin.test": ["127.0.0.2", "127.0.0.3"]})
        r = probe_target(Target("origin.test", srv.port), resolver=resolver, timeout=5, allow=LOOPBACK)
    assert [a.address for a in r.addresses] == ["127.0.0.2", "127.0.0.3"]
    assert r.addresses[0].chain == tuple(c.der for c in pki.chain())
    assert r.addresses[1].chain == (stale.der,)
    assert all(a.connected for a in r.addresses)


@needs_tls1
def test_legacy_only_server_has_no_common_protocol_with_tls12_only(pki: Pki) -> None:
    with TlsServer(pki.chain(), protocols=("TLSv1",)) as srv:
        a = probe_one(srv.port, protocols=("TLSv1.2",))
    assert not a.connected
    assert codes(a) == ["NO_COMMON_PROTOCOL"]
    assert "TLSv1" in a.findings[0].message
    assert a.findings[0].address == "127.0.0.1"
    # The certificates are still reported, from the diagnostic handshake.
    assert a.chain == tuple(c.der for c in pki.chain())
    assert a.chain_source == "diagnostic"


@needs_tls1
def test_legacy_only_server_connects_with_legacy_allowed_and_is_flagged(pki: Pki) -> None:
    with TlsServer(pki.chain(), protocols=("TLSv1",)) as srv:
        a = probe_one(srv.port, protocols=("TLSv1", "TLSv1.2"))
    assert a.connected
    assert a.protocol == "TLSv1"
    assert codes(a) == ["LEGACY_PROTOCOL"]
    assert a.findings[0].severity == "warn"
    assert a.chain == tuple(c.der for c in pki.chain())


def test_tls12_origin_allowing_tls1_and_tls12_connects_with_tls12(pki: Pki) -> None:
    # Before: the hole at TLSv1.1 ended OpenSSL's offer at TLSv1, a false NO_COMMON_CIPHER.
    with TlsServer(pki.chain(), protocols=("TLSv1.2",)) as srv:
        a = probe_one(srv.port, protocols=("TLSv1", "TLSv1.2"))
    assert a.connected and a.protocol == "TLSv1.2"
    assert codes(a) == []


@needs_tls1
def test_protocols_are_offered_as_a_range_from_the_lowest_allowed(pki: Pki) -> None:
    # CloudFront's policy is chosen by its floor and offers every version above it.
    with TlsServer(pki.chain(), protocols=("TLSv1.1",)) as srv:
        a = probe_one(srv.port, protocols=("TLSv1", "TLSv1.2"))
    assert a.connected and a.protocol == "TLSv1.1"
    assert codes(a) == ["LEGACY_PROTOCOL"]


def test_tls13_only_server_is_a_warning_with_the_chain_in_sent_order(pki: Pki) -> None:
    sent = [pki.leaf, pki.root, *pki.intermediates]  # deliberately wrong order
    with TlsServer(sent, protocols=("TLSv1.3",)) as srv:
        a = probe_one(srv.port)
    assert a.connected and a.offer == "s2n-2025"  # the 2025 policy offers TLS 1.3, the documented not
    assert codes(a) == ["TLS13_ONLY"]
    assert a.findings[0].severity == "warn"
    assert "cannot select TLS 1.3" in a.findings[0].message
    assert a.chain == tuple(c.der for c in sent)
    assert a.chain_source == "s2n-2025"
    assert a.client_cert_requested is None


def test_chacha20_only_server_has_no_common_cipher(pki: Pki) -> None:
    with TlsServer(pki.chain(), protocols=("TLSv1.2",), ciphers="CHACHA20") as srv:
        a = probe_one(srv.port)
    assert codes(a) == ["NO_COMMON_CIPHER"]
    assert "CHACHA20" in a.findings[0].message
    assert a.chain == tuple(c.der for c in pki.chain())


def test_dhe_only_server_has_no_common_cipher(rsa_pki: Pki) -> None:
    with TlsServer(rsa_pki.chain(), protocols=("TLSv1.2",), ciphers="DHE") as srv:
        a = probe_one(srv.port, server_name="rsa.test")
    assert codes(a) == ["NO_COMMON_CIPHER"]
    assert "DHE-RSA" in a.findings[0].message


def test_rsa_origin_negotiates_an_ecdhe_rsa_suite(rsa_pki: Pki) -> None:
    with TlsServer(rsa_pki.chain()) as srv:
        a = probe_one(srv.port, server_name="rsa.test")
    assert a.cipher == "ECDHE-RSA-AES256-GCM-SHA384"
    assert a.findings == ()


def test_required_client_certificate_is_reported(pki: Pki) -> None:
    with TlsServer(pki.chain(), protocols=("TLSv1.2",), client_cert="required") as srv:
        a = probe_one(srv.port)
    assert a.client_cert_requested is True
    assert "CLIENT_CERT_REQUESTED" in codes(a)
    assert all(f.severity == "fail" for f in a.findings)
    assert a.chain == tuple(c.der for c in pki.chain())


def test_optional_client_certificate_request_is_reported_even_though_handshake_completes(pki: Pki) -> None:
    with TlsServer(pki.chain(), client_cert="optional") as srv:
        a = probe_one(srv.port)
    assert a.connected
    assert a.client_cert_requested is True
    assert codes(a) == ["CLIENT_CERT_REQUESTED"]


def test_reset_right_after_the_handshake_still_counts_as_connected(pki: Pki) -> None:
    with TlsServer(pki.chain(), after_handshake="reset") as srv:
        a = probe_one(srv.port)
    assert a.connected
    assert a.findings == ()


def test_ipv6_loopback_is_probed(pki: Pki) -> None:
    try:
        srv = TlsServer(pki.chain(), host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback")
    try:
        r = probe(srv.port, host="::1")
    finally:
        srv.close()
    assert r.addresses[0].address == "::1"
    assert r.addresses[0].connected


def test_the_server_answers_http_after_the_handshake(pki: Pki) -> None:
    """The lab server behaves like an origin: a real client gets an HTTP response."""
    import socket
    ctx = ssl.create_default_context(cadata=pki.root_pem.decode())
    with TlsServer(pki.chain()) as srv, \
            ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), timeout=5),
                            server_hostname="origin.test") as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")
