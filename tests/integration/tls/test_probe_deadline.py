"""The run's deadline bounds the whole diagnostic ladder of an address, not only its start: the
CloudFront-like attempt, the diagnostic and the TLS 1.3 attempts each get min(timeout, what is
left) and none starts when nothing is left. What the deadline cut short is reported as not
audited (time budget), never as a timeout of the origin.

Timing: the origins here stall for ever; the per-attempt timeout is 30 s and the deadline about
1 s away. The only time assertion is a generous bound far below one attempt's own timeout."""

from __future__ import annotations

import socket
import threading
import time

from origin_auditor.judge.handshake import address_findings
from origin_auditor.model import HandshakeOutcome, NotProbed, Target
from origin_auditor.probe import probe_address, probe_targets
from origin_auditor.tls.handshake import attempt, client_context
from origin_auditor.tls.wire import ContentType
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import RawServer, TlsServer, stall_server, tls_record

from .conftest import codes, judged

TIMEOUT = 30.0  # each attempt's own bound: never reached in these tests
SOON = 1.0  # the deadline, seconds from now
BOUND = 10.0  # generous: far below TIMEOUT, far above SOON


def refuse_then_stall_server() -> RawServer:
    """Refuses the first handshake at once with a handshake_failure alert (so the probe goes on
    to its diagnostic attempts), then stalls every later one after half a ServerHello."""
    lock = threading.Lock()
    seen = [0]

    def behave(srv: RawServer, conn: socket.socket) -> None:
        with lock:
            seen[0] += 1
            first = seen[0] == 1
        conn.settimeout(5)
        conn.recv(65536)  # the ClientHello
        if first:
            conn.sendall(tls_record(ContentType.ALERT, bytes([2, 40])))
            srv.sleep(0.05)
            return
        conn.sendall(tls_record(ContentType.HANDSHAKE, b"\x02\x00\x00\x46\x03\x03")[:9])
        srv.hold(conn)

    return RawServer(behave, name="refuse-then-stall")


def test_an_attempt_ends_at_the_deadline_and_says_the_deadline_ended_it() -> None:
    ctx = client_context("cloudfront", ("TLSv1.2",))
    with stall_server() as srv:
        started = time.monotonic()
        cut = attempt("127.0.0.1", srv.port, "origin.test", ctx, connect_timeout=TIMEOUT, timeout=TIMEOUT,
                      deadline=started + SOON)
        elapsed = time.monotonic() - started
        own = attempt("127.0.0.1", srv.port, "origin.test", ctx, connect_timeout=TIMEOUT, timeout=0.5,
                      deadline=time.monotonic() + TIMEOUT)
    assert elapsed < BOUND
    assert cut.outcome is HandshakeOutcome.TIMEOUT and cut.cut is True
    # Its own timeout ended the second one: a fact about the server, not cut.
    assert own.outcome is HandshakeOutcome.TIMEOUT and own.cut is False


def test_no_attempt_starts_after_the_deadline() -> None:
    ctx = client_context("cloudfront", ("TLSv1.2",))
    with stall_server() as srv:
        late = attempt("127.0.0.1", srv.port, "origin.test", ctx, connect_timeout=TIMEOUT, timeout=TIMEOUT,
                       deadline=time.monotonic() - 1)
        connections = srv.connections
    assert late.cut is True and connections == 0


def test_diagnostics_cut_by_the_deadline_keep_the_first_attempts_facts_and_say_so() -> None:
    target = Target("127.0.0.1", server_name="origin.test")
    with refuse_then_stall_server() as srv:
        target = Target("127.0.0.1", srv.port, server_name="origin.test")
        started = time.monotonic()
        probe = probe_address(target, "127.0.0.1", timeout=TIMEOUT, deadline=started + SOON)
        elapsed = time.monotonic() - started
    assert elapsed < BOUND  # not 3 x (connect + handshake) timeouts
    assert probe is not None
    assert probe.outcome is HandshakeOutcome.TLS_ERROR and probe.alert == 40  # the first attempt's facts
    assert probe.diagnostic_outcome is None and probe.tls13_outcome is None
    assert probe.diagnostics_skipped is NotProbed.TIME_BUDGET
    [f] = address_findings(target, probe)
    assert str(f.code) == "HANDSHAKE_FAILED"  # CloudFront's own offer was refused: that is known
    assert "handshake_failure (40)" in f.message
    assert "Diagnostics skipped: the run's time budget ran out" in f.message


def test_first_attempt_cut_by_the_deadline_is_not_probed_not_a_timeout() -> None:
    with stall_server() as srv:
        target = Target("127.0.0.1", srv.port, server_name="origin.test")
        started = time.monotonic()
        probe = probe_address(target, "127.0.0.1", timeout=TIMEOUT, deadline=started + SOON)
        [result] = probe_targets([target], timeout=TIMEOUT, deadline=time.monotonic() + SOON,
                                 allow=LOOPBACK)
        elapsed = time.monotonic() - started
    assert elapsed < 2 * BOUND
    assert probe is None  # nothing known about this address
    r = judged(result)
    assert r.addresses == () and r.not_probed is NotProbed.TIME_BUDGET
    assert codes(r) == ["ORIGIN_NOT_PROBED"] and "time budget" in r.findings[0].message


def test_deadline_mid_run_keeps_what_finished_and_cuts_the_rest(pki: Pki) -> None:
    # One worker: the good origin finishes, the stalled one is cut at the deadline, the last
    # never starts. None of them is reported as a timeout of the origin.
    with TlsServer(pki.chain()) as good, stall_server() as stalled:
        targets = [Target("127.0.0.1", good.port, server_name="origin.test"),
                   Target("127.0.0.1", stalled.port, server_name="origin.test"),
                   Target("127.0.0.1", good.port, server_name="late.test")]
        results = [judged(r) for r in probe_targets(targets, timeout=TIMEOUT, concurrency=1,
                                                    deadline=time.monotonic() + SOON, allow=LOOPBACK)]
    assert results[0].addresses[0].connected
    assert [codes(r) for r in results[1:]] == [["ORIGIN_NOT_PROBED"], ["ORIGIN_NOT_PROBED"]]
    assert all(r.not_probed is NotProbed.TIME_BUDGET for r in results[1:])
