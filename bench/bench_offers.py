"""Benchmark: the exact CloudFront offer (``tls.openssl``) against the approximate one it
replaced, handshakes per second on the same loopback server, one run, sequential.

    .venv/bin/python bench/bench_offers.py [--handshakes 400]

The server runs in a child process (a ``TlsServer`` with an ECDSA P-256 chain, TLS 1.2 only, so
both offers negotiate the same suite). Each handshake is one ``tls.handshake.attempt`` (TCP connect
+ handshake over MemoryBIO + the chain parsed as sent); the exact one also reads the negotiated
group and signature scheme. Building a context is measured too. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import ssl
import time
from multiprocessing.connection import Connection

from origin_auditor.tls.handshake import Attempt, attempt
from origin_auditor.tls.openssl import _approximate, build_context
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer


def _serve(conn: Connection) -> None:
    pki = Pki(hostnames=("bench.test",))
    with TlsServer(pki.chain(), protocols=("TLSv1.2",), after_handshake="close") as srv:
        conn.send(srv.port)
        conn.recv()


def _run(port: int, ctx: ssl.SSLContext, n: int) -> tuple[float, Attempt]:
    last: Attempt | None = None
    start = time.perf_counter()
    for _ in range(n):
        last = attempt("127.0.0.1", port, "bench.test", ctx, connect_timeout=5, timeout=5)
    assert last is not None
    return time.perf_counter() - start, last


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--handshakes", type=int, default=400)
    n = ap.parse_args().handshakes
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_serve, args=(child,), daemon=True)
    proc.start()
    port = parent.recv()
    try:
        t0 = time.perf_counter()
        exact, is_exact = build_context("cloudfront", ("TLSv1.2",))
        built_exact = time.perf_counter() - t0
        t0 = time.perf_counter()
        approx, _ = _approximate("cloudfront", ("TLSv1.2",))
        built_approx = time.perf_counter() - t0
        _run(port, approx, 20)  # warm up both paths
        _run(port, exact, 20)
        for name, ctx, built in (("approximate (before)", approx, built_approx),
                                 ("exact documented offer", exact, built_exact)):
            took, last = _run(port, ctx, n)
            print(f"{name:24} {n / took:7.0f} handshakes/s  ({took:.2f} s for {n}; context built in "
                  f"{built * 1000:.2f} ms; {last.outcome}, {last.cipher}, group={last.group}, "
                  f"scheme={last.signature_scheme})")
        print(f"exact offers available: {is_exact}")
    finally:
        parent.send("stop")
        proc.join(5)


if __name__ == "__main__":
    main()
