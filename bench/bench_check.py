"""Benchmark: probe N loopback TLS origins that each add a handshake delay.

    .venv/bin/python bench/bench_check.py [--origins 500] [--delay 0.1] [--concurrency 64]

The origins run in a child process (one TlsServer bound on N addresses 127.0.x.y, one port), so
the figures below are the prober's own: wall time of ``probe_targets`` over all origins,
handshakes per second, and peak RSS (ru_maxrss) of this process. Prints figures, asserts nothing.
Target on a 2-core machine: 500 origins with 100 ms added latency in under 5 s, RSS under 200 MB.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from collections.abc import Callable
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from origin_auditor.judge.handshake import address_findings
from origin_auditor.model import Target
from origin_auditor.probe import probe_targets, static_resolver
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer


def loopback_addresses(n: int, first_octet3: int = 1) -> list[str]:
    """n distinct loopback addresses: 127.0.1.2 ... 127.0.1.251, 127.0.2.2, ..."""
    return [f"127.0.{first_octet3 + i // 250}.{2 + i % 250}" for i in range(n)]


def _serve(conn: Connection, build: Callable[[], list[Any]]) -> None:
    servers = build()
    for s in servers:
        s.start()
    conn.send([(s.addresses, s.port) for s in servers])
    conn.recv()  # parent says stop (or dies: EOFError)
    for s in servers:
        s.close()


def _tls_origins(n: int, delay: float) -> list[Any]:
    pki = Pki(hostnames=("*.bench.test",))
    return [TlsServer(pki.chain(), host=loopback_addresses(n), handshake_delay=delay,
                      after_handshake="close")]


class ServerProcess:
    """Runs ``build()``'s servers in a child process; ``.servers`` = [(addresses, port), ...]."""

    def __init__(self, build: Callable[[], list[Any]]) -> None:
        ctx = mp.get_context("fork")
        self._parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, build), daemon=True)

    def __enter__(self) -> ServerProcess:
        self._proc.start()
        self.servers: list[tuple[tuple[str, ...], int]] = self._parent.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._parent.send("stop")
        self._proc.join(timeout=10)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--origins", type=int, default=500)
    ap.add_argument("--delay", type=float, default=0.1, help="seconds each origin waits before its handshake")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    with ServerProcess(partial(_tls_origins, args.origins, args.delay)) as proc:
        [(addresses, port)] = proc.servers
        setup = time.monotonic() - t0
        names = {f"o{i}.bench.test": [a] for i, a in enumerate(addresses)}
        targets = [Target(name, port) for name in names]
        rss_before = peak_rss_mb()
        started = time.monotonic()
        results = probe_targets(targets, resolver=static_resolver(names), timeout=args.timeout,
                                concurrency=args.concurrency, allow=LOOPBACK)  # the lab's origins
        wall = time.monotonic() - started
    ok = sum(1 for r in results for a in r.addresses if a.connected)
    bad = [f for r in results for a in r.addresses for f in address_findings(r.target, a)]
    print(f"origins        {args.origins} (delay {args.delay * 1000:.0f} ms each, "
          f"concurrency {args.concurrency}, servers in a child process, setup {setup:.1f} s)")
    print(f"wall time      {wall:.2f} s")
    print(f"handshakes/s   {ok / wall:.0f} ({ok} completed, {len(bad)} findings)")
    print(f"ideal          {args.origins * args.delay / args.concurrency:.2f} s "
          "(origins x delay / concurrency)")
    print(f"peak RSS       {peak_rss_mb():.0f} MB (before probing: {rss_before:.0f} MB)")
    if bad:
        print("first finding :", bad[0].code, bad[0].message, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
