"""Benchmark: probe N loopback TLS origins that each add a handshake delay.

    .venv/bin/python bench/bench_check.py [--origins 500] [--delay 0.1] [--concurrency 256] [--rounds 3]

The origins run in a child process (one TlsServer bound on N addresses 127.0.x.y, one port), so
the figures below are the prober's own. Each round probes every origin twice, against the same
servers: all at once (concurrency = origins: every connection opened at the start, nothing
queued by the prober: the floor), then at ``--concurrency``. Prints the best wall time of each
over the rounds and their ratio; for each, a CPU floor too (one delay plus the CPU seconds the
prober and the servers spent in that pass, over the cores: what no schedule beats on an
otherwise idle machine); handshakes per second and peak RSS (ru_maxrss) of this process.
Prints figures, asserts nothing. Target (issue 10): within 1.5x of all at once.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from collections.abc import Callable
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from origin_auditor.judge.handshake import address_findings
from origin_auditor.model import Target
from origin_auditor.options import DEFAULT_CONCURRENCY
from origin_auditor.probe import connection_cap, probe_targets, static_resolver
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer


def loopback_addresses(n: int, first_octet3: int = 1) -> list[str]:
    """n distinct loopback addresses: 127.0.1.2 ... 127.0.1.251, 127.0.2.2, ..."""
    return [f"127.0.{first_octet3 + i // 250}.{2 + i % 250}" for i in range(n)]


def cpu_seconds() -> float:
    """This process's CPU time so far (user + system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(conn: Connection, build: Callable[[], list[Any]]) -> None:
    servers = build()
    for s in servers:
        s.start()
    conn.send([(s.addresses, s.port) for s in servers])
    while conn.recv() == "cpu":  # anything else: the parent says stop (or dies: EOFError)
        conn.send(cpu_seconds())
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

    def cpu_seconds(self) -> float:
        """The servers' CPU time so far (user + system, every thread of the child)."""
        self._parent.send("cpu")
        seconds: float = self._parent.recv()
        return seconds

    def __exit__(self, *exc: object) -> None:
        self._parent.send("stop")
        self._proc.join(timeout=10)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--origins", type=int, default=500)
    ap.add_argument("--delay", type=float, default=0.1, help="seconds each origin waits before its handshake")
    ap.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3, help="floor + run pairs; the best of each is shown")
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    runs: dict[str, list[tuple[float, float]]] = {"all": [], "run": []}
    cores = os.cpu_count() or 1
    with ServerProcess(partial(_tls_origins, args.origins, args.delay)) as proc:
        [(addresses, port)] = proc.servers
        setup = time.monotonic() - t0
        names = {f"o{i}.bench.test": [a] for i, a in enumerate(addresses)}
        targets = [Target(name, port) for name in names]
        rss_before = peak_rss_mb()

        def timed(concurrency: int) -> tuple[float, float, list[Any]]:
            """(wall, the CPU floor of this pass, results)."""
            cpu, served, started = cpu_seconds(), proc.cpu_seconds(), time.monotonic()
            results = probe_targets(targets, resolver=static_resolver(names), timeout=args.timeout,
                                    concurrency=concurrency, allow=LOOPBACK)  # the lab's origins
            wall = time.monotonic() - started
            work = cpu_seconds() - cpu + proc.cpu_seconds() - served
            return wall, args.delay + work / cores, results

        for _ in range(max(1, args.rounds)):
            for label, concurrency in (("all", len(targets)), ("run", args.concurrency)):
                wall, floor, results = timed(concurrency)
                runs[label].append((wall, floor))
    ok = sum(1 for r in results for a in r.addresses if a.connected)
    bad = [f for r in results for a in r.addresses for f in address_findings(r.target, a)]
    cap = connection_cap()
    all_wall, all_floor = min(runs["all"])
    wall, floor = min(runs["run"])
    print(f"origins        {args.origins} (delay {args.delay * 1000:.0f} ms each, servers in a child "
          f"process, setup {setup:.1f} s, best of {max(1, args.rounds)} rounds, {cores} cores)")
    print(f"wall time      {wall:.2f} s at concurrency {args.concurrency} ({min(args.concurrency, cap)} "
          f"in flight) = {wall / all_wall:.2f} x all at once, {wall / floor:.2f} x its CPU floor")
    print(f"all at once    {all_wall:.2f} s ({min(len(targets), cap)} in flight; "
          f"its CPU floor {all_floor:.2f} s)")
    print(f"CPU floor      {floor:.2f} s = delay + CPU seconds of prober and servers in the pass / cores")
    print(f"handshakes/s   {ok / wall:.0f} ({ok} completed, {len(bad)} findings)")
    print(f"peak RSS       {peak_rss_mb():.0f} MB (before probing: {rss_before:.0f} MB)")
    if bad:
        print("first finding :", bad[0].code, bad[0].message, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
