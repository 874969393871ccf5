"""Fixtures for every test.

Addresses CloudFront cannot reach (loopback, private, link-local, ...) are never probed unless a
caller opens them (issue 9 §4). The lab's servers listen on loopback, so each test that probes a
*name* answering loopback opens it explicitly: ``allow=origin_auditor_lab.LOOPBACK`` for the
library, ``AuditOptions(allow_addresses=LOOPBACK)``, ``--allow-addresses`` or an ``env`` mapping
for the CLI and the handler. (An IP-literal target and a ``--resolve`` address are the caller's own
choice and need nothing.) The fixture below makes that hold whatever the developer's shell says.
"""

from __future__ import annotations

import botocore.retries.bucket
import botocore.retries.standard
import pytest


@pytest.fixture(autouse=True)
def _no_ambient_allowed_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    # A shell with ORIGIN_AUDITOR_ALLOW_ADDRESSES set must not open ranges behind a test's back
    # (nor make the tests of the default pass by accident); tests that want it set it themselves.
    monkeypatch.delenv("ORIGIN_AUDITOR_ALLOW_ADDRESSES", raising=False)
    monkeypatch.delenv("ORIGIN_AUDITOR_FETCH", raising=False)  # on by default, as shipped


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries without waiting: for tests of the retry *decision* (how many attempts, what
    is said after the last), where the jittered backoff (standard mode) and the client-side rate
    limiter's wait for tokens after throttles (adaptive mode) only add seconds, at random."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    monkeypatch.setattr(botocore.retries.bucket.TokenBucket, "_sleep_amount", lambda self, amount: 0)
