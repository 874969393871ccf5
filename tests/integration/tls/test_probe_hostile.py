"""Hostile and broken origins: every one ends in a finding within its time bound, and a run that
mixes them with good origins still gets the good ones right."""

from __future__ import annotations

import time

import pytest

from origin_auditor.model import HandshakeOutcome, Target
from origin_auditor.probe import probe_targets
from origin_auditor.rules import MAX_CERTIFICATES
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import (
    BlackholeServer,
    TlsServer,
    banner_server,
    closed_port,
    drip_server,
    garbage_server,
    handbuilt_server,
    plain_http_server,
    reset_server,
    silent_server,
    stall_server,
)

from .conftest import SHORT_TIMEOUT, codes, judged, probe_one

BOUND = 10 * SHORT_TIMEOUT  # generous: proves the probe is bounded, not how fast it is


def test_plain_http_service_does_not_speak_tls_and_is_named_not_quoted() -> None:
    with plain_http_server() as srv:
        a = probe_one(srv.port)
    assert codes(a) == ["HANDSHAKE_FAILED"]
    assert "does not speak TLS: it answered with an HTTP/1.1 response." in a.findings[0].message
    assert "Bad Request" not in a.findings[0].message and "nginx" not in a.findings[0].message
    assert a.findings[0].address == "127.0.0.1"
    # The probe observed (and keeps the bytes, for the judge to classify); the judge named them
    # (and the one reproduce-line builder made the hint).
    assert a.outcome == HandshakeOutcome.NOT_TLS and a.first_bytes.startswith(b"HTTP/1.1 400")
    assert a.findings[0].hint.endswith(f"Reproduce: openssl s_client -connect 127.0.0.1:{srv.port} "
                                       "-servername origin.test -tls1_2 -showcerts </dev/null")


def test_banner_service_does_not_speak_tls_and_is_named() -> None:
    with banner_server() as srv:
        a = probe_one(srv.port)
    assert codes(a) == ["HANDSHAKE_FAILED"]
    assert "it answered with an SSH banner." in a.findings[0].message
    assert "OpenSSH" not in a.findings[0].message


def test_garbage_is_counted_never_quoted() -> None:
    with garbage_server() as srv:
        a = probe_one(srv.port)
    assert codes(a) == ["HANDSHAKE_FAILED"]
    msg = a.findings[0].message
    assert f"it answered with {a.bytes_received} bytes that are not TLS." in msg
    assert "\\x" not in msg and msg.isprintable()


def test_closed_port_is_connect_failed_with_502() -> None:
    a = probe_one(closed_port())
    assert codes(a) == ["CONNECT_FAILED"]
    assert "502" in a.findings[0].message
    assert a.findings[0].severity == "fail"


def test_dropped_syn_is_connect_timeout_with_504() -> None:
    with BlackholeServer() as srv:
        started = time.monotonic()
        a = probe_one(srv.port, timeout=SHORT_TIMEOUT)
        elapsed = time.monotonic() - started
    assert codes(a) == ["CONNECT_TIMEOUT"]
    assert "504" in a.findings[0].message
    assert elapsed < BOUND


def test_target_connect_timeout_bounds_the_connect() -> None:
    with BlackholeServer() as srv:
        r = [judged(x) for x in probe_targets([Target("127.0.0.1", srv.port, connect_timeout=0.2)],
                                               timeout=30, allow=LOOPBACK)]
    assert codes(r[0].addresses[0]) == ["CONNECT_TIMEOUT"]
    assert "0.2 s" in r[0].addresses[0].findings[0].message


@pytest.mark.parametrize("factory", [silent_server, stall_server], ids=["silent", "partial_then_stall"])
def test_server_that_stops_answering_is_a_handshake_timeout(factory: object) -> None:
    with factory() as srv:  # type: ignore[operator]
        started = time.monotonic()
        a = probe_one(srv.port, timeout=SHORT_TIMEOUT)
        elapsed = time.monotonic() - started
    assert codes(a) == ["HANDSHAKE_TIMEOUT"]
    assert elapsed < BOUND


def test_drip_feeding_server_is_bounded_by_the_overall_handshake_deadline() -> None:
    # A byte every 0.1 s never trips a per-read timeout; only a deadline for the whole
    # handshake stops it.
    with drip_server(interval=0.1) as srv:
        started = time.monotonic()
        a = probe_one(srv.port, timeout=SHORT_TIMEOUT)
        elapsed = time.monotonic() - started
    assert codes(a) == ["HANDSHAKE_TIMEOUT"]
    assert "after it sent" in a.findings[0].message
    assert elapsed < BOUND


def test_reset_mid_handshake_is_handshake_failed_with_the_reason() -> None:
    with reset_server() as srv:
        a = probe_one(srv.port)
    assert codes(a) == ["HANDSHAKE_FAILED"]
    assert "reset" in a.findings[0].message


def test_certificate_of_several_mib_is_chain_too_large_and_not_read(pki: Pki) -> None:
    with handbuilt_server([pki.leaf.der, b"\x30\x82" + b"\x00" * (4 * 1024 * 1024)]) as srv:
        a = probe_one(srv.port)
    assert codes(a) == ["CHAIN_TOO_LARGE"]
    assert a.chain_truncated is True
    assert a.chain == (pki.leaf.der,)


def test_hundreds_of_certificates_are_capped(pki: Pki) -> None:
    sent = [c.der for c in pki.fullchain()] * 100
    with handbuilt_server(sent) as srv:
        a = probe_one(srv.port)
    assert codes(a) == ["CHAIN_TOO_LARGE"]
    assert a.chain_truncated is True
    assert a.chain == tuple(sent[:MAX_CERTIFICATES])


def test_certificate_der_that_does_not_parse_is_kept_and_reported(pki: Pki) -> None:
    junk = b"\x30\x03\x02\x01\x00"
    with handbuilt_server([pki.leaf.der, junk, pki.intermediates[0].der]) as srv:
        a = probe_one(srv.port)
    assert codes(a) == ["HANDSHAKE_FAILED"]
    assert "does not parse" in a.findings[0].message
    # Exactly as sent, so the judge can say which certificate is malformed.
    assert a.chain == (pki.leaf.der, junk, pki.intermediates[0].der)
    assert a.chain_source == "cloudfront"


def test_mixed_run_good_origins_are_still_right_and_results_keep_input_order(pki: Pki) -> None:
    hostile = [silent_server(), stall_server(), drip_server(interval=0.1), garbage_server(),
               reset_server(), handbuilt_server([b"\x00" * 300_000]), plain_http_server()]
    good = [TlsServer(pki.chain()) for _ in range(3)]
    servers = [*hostile, *good]
    for s in servers:
        s.start()
    try:
        order = [good[0], *hostile[:3], good[1], *hostile[3:], good[2]]
        targets = [Target("127.0.0.1", s.port, server_name="origin.test") for s in order]
        done: list[int] = []
        started = time.monotonic()
        results = [judged(r) for r in probe_targets(targets, timeout=SHORT_TIMEOUT, concurrency=4,
                                                    on_done=lambda i, _r: done.append(i), allow=LOOPBACK)]
        elapsed = time.monotonic() - started
    finally:
        for s in servers:
            s.close()
    assert [r.target for r in results] == targets
    assert sorted(done) == list(range(len(targets)))
    for srv, r in zip(order, results, strict=True):
        a = r.addresses[0]
        if isinstance(srv, TlsServer):
            assert a.connected and a.findings == ()
            assert a.chain == tuple(c.der for c in pki.chain())
        else:
            assert not a.connected
            assert a.findings and a.findings[0].severity == "fail"
    assert elapsed < BOUND * 2


def test_certificate_message_over_tls_client_limits_is_too_large_even_under_the_count_cap() -> None:
    sent = [bytes([0x30 + i]) * 30_000 for i in range(5)]  # 150 KB: OpenSSL refuses > 100 KiB
    with handbuilt_server(sent) as srv:
        a = probe_one(srv.port)
    assert codes(a) == ["CHAIN_TOO_LARGE"]
    assert a.chain == tuple(sent)
    assert a.chain_truncated is False
    assert "150,0" in a.findings[0].message
