"""Soak: 2,000 targets, a quarter of them hostile, at the production timeout and concurrency.

    .venv/bin/python bench/bench_soak.py [--targets 2000] [--hostile 0.25] [--timeout 10]
                                         [--concurrency 256] [--nofile 1024]

Good targets are real TLS origins (one TlsServer on 250 loopback addresses); hostile ones rotate
through: accept-and-stall, partial handshake then stall, drip a byte a second, garbage, RST
mid-handshake, and a hand-built 4 MiB Certificate message. All servers run in a child process;
the prober runs under a soft RLIMIT_NOFILE of ``--nofile`` (the Lambda's 1,024), so its
connection cap is the Lambda's. Prints wall time, peak RSS of the prober, and how every target
ended; asserts nothing. Target (issue 10): under 20 s and 150 MB at the default 10 s timeout.
"""

from __future__ import annotations

import argparse
import collections
import resource
import time
from typing import Any

from bench_check import ServerProcess, loopback_addresses, peak_rss_mb

from origin_auditor.judge.handshake import address_findings
from origin_auditor.model import Target
from origin_auditor.options import DEFAULT_CONCURRENCY
from origin_auditor.probe import connection_cap, probe_targets, static_resolver
from origin_auditor.rules import DEFAULT_TIMEOUT_SECONDS
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab import servers as lab
from origin_auditor_lab.pki import Pki

HOSTILE_KINDS = ("silent", "stall", "drip", "garbage", "reset", "huge_chain")


def _servers() -> list[Any]:
    pki = Pki(hostnames=("*.soak.test",))
    return [
        lab.TlsServer(pki.chain(), host=loopback_addresses(250), after_handshake="close"),
        lab.silent_server(),
        lab.stall_server(),
        lab.drip_server(interval=1.0),
        lab.garbage_server(),
        lab.reset_server(),
        lab.handbuilt_server([pki.leaf.der, b"\x30\x82" + b"\x00" * (4 * 1024 * 1024)]),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", type=int, default=2000)
    ap.add_argument("--hostile", type=float, default=0.25, help="fraction of hostile targets")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    ap.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    ap.add_argument("--nofile", type=int, default=1024, help="the prober's soft RLIMIT_NOFILE (0: unchanged)")
    args = ap.parse_args(argv)

    with ServerProcess(_servers) as proc:
        if args.nofile:  # after the fork: the servers keep theirs
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (args.nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        (good_addresses, good_port), *hostile = proc.servers
        mapping: dict[str, list[str]] = {}
        targets: list[Target] = []
        kinds: list[str] = []
        n_hostile = int(args.targets * args.hostile)
        every = args.targets / max(1, n_hostile)
        h = 0
        for i in range(args.targets):
            if h < n_hostile and i >= h * every:
                addresses, port = hostile[h % len(hostile)]
                kinds.append(HOSTILE_KINDS[h % len(hostile)])
                h += 1
            else:
                addresses, port = (good_addresses[i % len(good_addresses)],), good_port
                kinds.append("good")
            name = f"t{i}.soak.test"
            mapping[name] = [addresses[0]]
            targets.append(Target(name, port))
        started = time.monotonic()
        results = probe_targets(targets, resolver=static_resolver(mapping), timeout=args.timeout,
                                concurrency=args.concurrency, allow=LOOPBACK)  # the lab's origins
        wall = time.monotonic() - started

    outcomes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for kind, r in zip(kinds, results, strict=True):
        for a in r.addresses:
            # The probe returns facts; its handshake findings are the judge's words for them.
            found = address_findings(r.target, a)
            outcomes[kind]["connected" if a.connected and not found else
                           ",".join(str(f.code) for f in found) or "no finding"] += 1
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    print(f"targets        {args.targets} ({n_hostile} hostile), timeout {args.timeout:g} s, "
          f"concurrency {args.concurrency} ({min(args.concurrency, connection_cap())} in flight "
          f"under ulimit -n {nofile})")
    print(f"wall time      {wall:.1f} s")
    print(f"peak RSS       {peak_rss_mb():.0f} MB")
    for kind in ("good", *HOSTILE_KINDS):
        print(f"  {kind:12} {dict(outcomes[kind])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
