"""Whether an origin was audited is a fact the judge records (``TargetResult.not_audited``) from
what the probe saw, never read back from a finding's words: a deadline that cut the handshake,
a bug in the probe. Real loopback servers; the deadline is about 1 s away, each attempt's own
timeout 30 s (never reached)."""

from __future__ import annotations

import time

import pytest

from origin_auditor.assess import unaudited_summary
from origin_auditor.judge import judge_probe
from origin_auditor.model import NotAudited, Target, TargetResult, Verdict
from origin_auditor.probe import probe_targets
from origin_auditor.report import worst_at_or_above
from origin_auditor.trust import TrustStore
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import NOW, Pki
from origin_auditor_lab.servers import TlsServer, stall_server

TIMEOUT = 30.0
SOON = 1.0


@pytest.fixture
def trust(pki: Pki) -> TrustStore:
    return TrustStore.from_certificates([pki.root.cert], "test roots")


def judge_all(targets: list[Target], trust: TrustStore, **kw: object) -> list[TargetResult]:
    return [judge_probe(r, trust=trust, at=NOW)
            for r in probe_targets(targets, allow=LOOPBACK, **kw)]  # type: ignore[arg-type]


def test_a_handshake_cut_by_the_deadline_is_not_audited_for_the_time_budget(trust: TrustStore) -> None:
    with stall_server() as srv:
        [r] = judge_all([Target("127.0.0.1", srv.port, server_name="origin.test")], trust,
                        timeout=TIMEOUT, deadline=time.monotonic() + SOON)
    assert r.not_audited is NotAudited.TIME_BUDGET and r.verdict is Verdict.PASS
    assert r.to_json()["not_audited"] == "time_budget"


def test_an_origin_probed_in_full_is_audited(pki: Pki, trust: TrustStore) -> None:
    with TlsServer(pki.chain()) as srv:
        [r] = judge_all([Target("127.0.0.1", srv.port, server_name="origin.test")], trust)
    assert r.addresses and r.not_audited is None
    assert r.to_json()["not_audited"] is None


def test_an_internal_error_of_the_probe_is_not_audited_for_it(
        pki: Pki, trust: TrustStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import origin_auditor.probe as probe_module

    def broken(target: Target, address: str, timeout: float, deadline: float | None):  # type: ignore[no-untyped-def]
        # The exception's words name another reason: only the fact (an internal error) counts.
        raise ValueError("ran out of time budget")

    monkeypatch.setattr(probe_module, "_probe_address", broken)
    with TlsServer(pki.chain()) as srv:
        [r] = judge_all([Target("127.0.0.1", srv.port, server_name="origin.test")], trust)
    assert r.not_audited is NotAudited.INTERNAL_ERROR
    # Said as what happened, not as the words of the exception ("time budget" when they decided).
    assert unaudited_summary([r]) == "1 origin(s) not audited (internal error: 1)"
    assert worst_at_or_above([r], "fail")  # a bug is not a pass
