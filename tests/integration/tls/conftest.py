"""Fixtures for probe tests: generated PKIs (once per session: key generation is the slow part)
and a helper that probes a loopback server the way the tests need.

The probe returns facts only; ``judged`` puts next to them what ``judge.handshake`` makes of
them, so a test can assert on the observed facts and on the resulting findings side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from origin_auditor.judge.handshake import address_findings, target_findings
from origin_auditor.model import AddressProbe, Finding, ProbeResult, Target
from origin_auditor.probe import probe_target
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import unbindable

# Hostile servers are probed with a short bound; assertions on elapsed time use 10x of it.
SHORT_TIMEOUT = 0.5


@pytest.fixture(scope="session")
def pki() -> Pki:
    """root -> intermediate -> leaf for origin.test, ECDSA P-256."""
    return Pki(hostnames=("origin.test",))


@pytest.fixture(scope="session")
def pki2() -> Pki:
    """root -> int1 -> int2 -> leaf, for the order tests with more than one intermediate."""
    return Pki(hostnames=("deep.test",), depth=2)


@pytest.fixture(scope="session")
def rsa_pki() -> Pki:
    """An RSA chain (DHE suites need an RSA key)."""
    return Pki(hostnames=("rsa.test",), key_kind="rsa2048")


@dataclass(frozen=True)
class JudgedAddress:
    """An ``AddressProbe`` (its facts read through) plus the handshake findings judged from it."""

    probe: AddressProbe
    findings: tuple[Finding, ...]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.probe, name)


@dataclass(frozen=True)
class JudgedResult:
    """A ``ProbeResult`` (its facts read through) with the target-level findings judged from it
    and each address judged too."""

    result: ProbeResult
    findings: tuple[Finding, ...]
    addresses: tuple[JudgedAddress, ...]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.result, name)


def judged(result: ProbeResult) -> JudgedResult:
    """``result`` with what ``judge.handshake`` says about it (no chain verdicts)."""
    return JudgedResult(result, tuple(target_findings(result)), tuple(
        JudgedAddress(a, tuple(address_findings(result.target, a))) for a in result.addresses))


def probe_one(port: int, *, host: str = "127.0.0.1", server_name: str | None = "origin.test",
              protocols: tuple[str, ...] = ("TLSv1.2",), timeout: float = 5.0) -> JudgedAddress:
    """Probe one loopback address and return what it presented, judged (loopback opened
    explicitly: CloudFront cannot reach it, so the probe would not connect otherwise)."""
    result = probe(port, host=host, server_name=server_name, protocols=protocols, timeout=timeout)
    assert len(result.addresses) == 1, result
    return result.addresses[0]


def probe(port: int, *, host: str = "127.0.0.1", server_name: str | None = "origin.test",
          protocols: tuple[str, ...] = ("TLSv1.2",), timeout: float = 5.0) -> JudgedResult:
    return judged(probe_target(Target(host, port, server_name=server_name, protocols=protocols),
                               timeout=timeout, allow=LOOPBACK))


def codes(probe: JudgedAddress | JudgedResult) -> list[str]:
    return [str(f.code) for f in probe.findings]


@pytest.fixture(scope="session")
def loopback_aliases() -> Iterator[None]:
    """Skip when 127.0.0.2/127.0.0.3 cannot be bound (non-Linux loopback)."""
    missing = unbindable(("127.0.0.2", "127.0.0.3"))
    if missing:
        pytest.skip(f"cannot bind {missing} on this system")
    yield
