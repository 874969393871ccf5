"""Fixtures for the caIssuers tests: one loopback HTTP server (``IssuerServer``) per module and
PKIs whose caIssuers URLs point at it, so a fetch really goes over HTTP to 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography import x509

from origin_auditor.fetch import IssuerFetcher
from origin_auditor.probe import static_resolver
from origin_auditor.trust import TrustStore
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.issuers import IssuerServer
from origin_auditor_lab.pki import Pki

# Hostile answers are fetched with a short bound (the real one is 3 s).
SHORT = 0.4


@pytest.fixture(scope="module")
def server() -> Iterator[IssuerServer]:
    with IssuerServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def deep(server: IssuerServer) -> Pki:
    """root -> int1 -> int2 -> leaf (deep.test), its URLs under /deep on the server (DER)."""
    return server.publish("/deep", hostnames=("deep.test",), depth=2)


@pytest.fixture(scope="module")
def private(server: IssuerServer) -> Pki:
    """A private CA: root -> int1 -> leaf (private.test), under /private; its root is trusted
    by nobody in these tests."""
    return server.publish("/private", hostnames=("private.test",), root_name="Private Corp Root")


def trust_of(*roots: x509.Certificate) -> TrustStore:
    return TrustStore.from_certificates(roots, "test roots")


def fetcher(**kw: object) -> IssuerFetcher:
    """A fetcher that may connect to loopback (the lab), resolving only what a test names."""
    options: dict[str, object] = {"resolver": static_resolver({}), "allow": LOOPBACK}
    options.update(kw)
    return IssuerFetcher(**options)  # type: ignore[arg-type]
