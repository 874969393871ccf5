"""Stalls cost one timeout, not a worker (issue 10, part 5).

Every address's ladder is a generator driven from one selector loop (``probe.probe_targets``):
a server that accepts and never answers costs a socket and a timer until its timeout, no
thread. What is pinned here is structure, never speed: how many stalled connections were open
at the same time, which threads the prober ran meanwhile, how each attempt ended. The one time
bound is far above what the run takes and far below what a run one stall at a time would take.
"""

from __future__ import annotations

import json
import os
import select
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from origin_auditor import options
from origin_auditor.model import HandshakeOutcome, NotProbed, Target
from origin_auditor.probe import DNS_WORKERS, connection_cap, probe_targets
from origin_auditor.tls.handshake import attempt_steps, client_context
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import RawServer, TlsServer, stall_server

from .conftest import codes, judged

STALL_TIMEOUT = 1.0  # each stalled attempt's own bound


class CountingStall:
    """A silent server that records how many of its connections were open at once, and the
    names of the threads alive in this process when the most were (the prober's among them)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.most = 0
        self.threads_at_most: list[str] = []
        self.server = RawServer(self._behave, name="counting-stall")

    def _behave(self, srv: RawServer, conn: socket.socket) -> None:
        with self.lock:
            self.open += 1
            if self.open > self.most:
                self.most = self.open
                self.threads_at_most = [t.name for t in threading.enumerate()]
        try:
            srv.hold(conn)
        finally:
            with self.lock:
                self.open -= 1

    def __enter__(self) -> CountingStall:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()


@pytest.fixture
def counting_stall() -> Iterator[CountingStall]:
    with CountingStall() as srv:
        yield srv


def test_fifty_stalled_servers_are_waited_on_at_once_without_a_thread_each(
        counting_stall: CountingStall) -> None:
    n = 50
    targets = [Target("127.0.0.1", counting_stall.server.port, server_name=f"s{i}.test") for i in range(n)]
    callers: set[int] = set()
    started = time.monotonic()
    results = probe_targets(targets, timeout=STALL_TIMEOUT, concurrency=n, allow=LOOPBACK,
                            on_done=lambda _i, _r: callers.add(threading.get_ident()))
    elapsed = time.monotonic() - started
    # Every stall ends as the server's own timeout (not cut, not refused), results in order.
    assert [r.target for r in results] == targets
    for r in results:
        [a] = r.addresses
        assert a.outcome is HandshakeOutcome.TIMEOUT and r.not_probed is None
        assert codes(judged(r).addresses[0]) == ["HANDSHAKE_TIMEOUT"]
    # All fifty were open at the same moment, and the prober had no thread per connection then:
    # only its few DNS threads (the loop runs on the caller's thread, which calls on_done).
    assert counting_stall.most == n
    prober = [t for t in counting_stall.threads_at_most if t.startswith("probe")]
    assert all(t.startswith("probe-dns") for t in prober) and len(prober) <= DNS_WORKERS
    assert callers == {threading.get_ident()}
    assert elapsed < 25 * STALL_TIMEOUT  # one stall after another would take 50


def test_stalls_and_good_origins_share_one_run_and_the_good_ones_connect(
        pki: Pki, counting_stall: CountingStall) -> None:
    with TlsServer(pki.chain()) as good:
        stall = Target("127.0.0.1", counting_stall.server.port, server_name="origin.test")
        fine = Target("127.0.0.1", good.port, server_name="origin.test")
        targets = [stall, fine] * 10
        results = [judged(r) for r in probe_targets(targets, timeout=STALL_TIMEOUT, concurrency=20,
                                                    allow=LOOPBACK)]
    assert [r.target for r in results] == targets
    assert all(codes(r.addresses[0]) == ["HANDSHAKE_TIMEOUT"] for r in results[0::2])
    assert all(r.addresses[0].connected and r.addresses[0].findings == () for r in results[1::2])
    assert counting_stall.most == 10


def test_the_deadline_cuts_every_stall_in_flight_and_none_is_a_timeout_of_the_origin(
        counting_stall: CountingStall) -> None:
    targets = [Target("127.0.0.1", counting_stall.server.port, server_name=f"s{i}.test") for i in range(30)]
    started = time.monotonic()
    results = probe_targets(targets, timeout=30.0, concurrency=30, deadline=started + 1.0,
                            allow=LOOPBACK)
    elapsed = time.monotonic() - started
    assert counting_stall.most == 30
    for r in results:
        assert r.addresses == () and r.not_probed is NotProbed.TIME_BUDGET
        assert codes(judged(r)) == ["ORIGIN_NOT_PROBED"]
    assert elapsed < 10.0  # far below one attempt's own 30 s


def test_a_bug_after_the_first_wait_costs_that_address_only(
        pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    import origin_auditor.probe as probe_module

    real = probe_module._probe_address

    def flaky(target: Target, address: str, timeout: float, deadline: float | None) -> Any:
        probe = yield from real(target, address, timeout, deadline)  # real waits, then a bug
        if target.server_name == "bug.test":
            raise ValueError("simulated bug")
        return probe

    monkeypatch.setattr(probe_module, "_probe_address", flaky)
    with TlsServer(pki.chain()) as srv:
        targets = [Target("127.0.0.1", srv.port, server_name=name)
                   for name in ("origin.test", "bug.test", "origin.test")]
        results = [judged(r) for r in probe_targets(targets, allow=LOOPBACK)]
    assert results[0].addresses[0].connected and results[2].addresses[0].connected
    [broken] = results[1].addresses
    assert broken.internal_error == "ValueError: simulated bug"
    assert codes(broken) == ["ORIGIN_NOT_PROBED"]


def test_closing_an_attempt_half_way_closes_its_socket() -> None:
    ctx = client_context("cloudfront", ("TLSv1.2",))
    with stall_server() as srv:
        steps = attempt_steps("127.0.0.1", srv.port, "origin.test", ctx, connect_timeout=5, timeout=5)
        wait = next(steps)
        waits = [wait]
        while wait.events != selectors.EVENT_READ:  # the connect; then it waits for an answer
            select.select([], [wait.sock], [], 5)
            wait = steps.send(True)
            waits.append(wait)
        steps.close()
    assert all(w.sock.fileno() == -1 for w in waits)


# --------------------------------------------------------------------------------------------
# Sockets in flight are bounded by the file descriptors


@pytest.mark.parametrize(("nofile", "cap"), [
    (1024, 896),  # the Lambda's limit: 128 left for the runtime, boto3's pools, DNS lookups
    (256, 192),  # macOS's default ulimit -n
    (4096, 3584),
    (100, 50),  # never less than half the limit
    (1, 1),
    (None, options.CONCURRENCY.high),  # unlimited: the option's own bound
])
def test_the_connection_cap_leaves_headroom_below_the_descriptor_limit(nofile: int | None, cap: int) -> None:
    assert options.connection_cap(nofile) == cap


def test_the_probe_reads_its_cap_from_the_process_limit() -> None:
    import resource
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert connection_cap() == options.connection_cap(None if soft == resource.RLIM_INFINITY else soft)


_UNDER_A_LOW_LIMIT = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (80, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from origin_auditor.model import Target
from origin_auditor.probe import connection_cap, probe_targets
from origin_auditor_lab import LOOPBACK
targets = [Target("127.0.0.1", int(sys.argv[1]), server_name="origin.test")] * 120
results = probe_targets(targets, timeout=0.5, concurrency=256, allow=LOOPBACK)
print(json.dumps({"cap": connection_cap(),
                  "outcomes": sorted({a.outcome.value for r in results for a in r.addresses}),
                  "probed": sum(len(r.addresses) for r in results)}))
"""


def test_a_concurrency_above_the_descriptors_is_capped_not_turned_into_refusals(
        counting_stall: CountingStall) -> None:
    # 120 stalls at concurrency 256 in a process allowed 80 descriptors: without the cap the
    # sockets past the limit fail to open ("Too many open files"), read as connection refused.
    done = subprocess.run([sys.executable, "-c", _UNDER_A_LOW_LIMIT, str(counting_stall.server.port)],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ), check=False)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got == {"cap": 40, "outcomes": [HandshakeOutcome.TIMEOUT.value], "probed": 120}
    assert counting_stall.most <= 2 * 40  # (a server sees a closed connection a moment late)
