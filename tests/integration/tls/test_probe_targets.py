"""probe_targets / probe_target orchestration: DNS, address caps, deadlines, skipped targets,
and bugs that must cost one target, not the run. (A deadline passing mid-run and mid-ladder:
test_probe_deadline.)"""

from __future__ import annotations

import socket
import time

import pytest

from origin_auditor.model import Finding, Severity, Target
from origin_auditor.probe import probe_target, probe_targets, static_resolver, system_resolver
from origin_auditor.rules import MAX_ADDRESSES, Code
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer

from .conftest import codes, judged


def test_static_resolver_answers_its_mapping_and_raises_gaierror_for_unknown_names() -> None:
    resolve = static_resolver({"Origin.Test.": ["127.0.0.2", "::1"]})
    assert resolve("origin.test", 443) == ["127.0.0.2", "::1"]
    with pytest.raises(socket.gaierror):
        resolve("nope.test", 443)


def test_system_resolver_returns_each_address_once_in_order() -> None:
    addresses = system_resolver("localhost", 443)
    assert addresses
    assert len(addresses) == len(set(addresses))


def test_dns_failure_is_a_target_level_finding() -> None:
    r = judged(probe_target(Target("missing.test"), resolver=static_resolver({})))
    assert r.addresses == ()
    assert codes(r) == ["DNS_RESOLUTION_FAILED"]
    assert r.findings[0].address is None
    assert "missing.test" in r.findings[0].message


def test_resolver_returning_nothing_is_a_dns_failure() -> None:
    r = judged(probe_target(Target("empty.test"), resolver=static_resolver({"empty.test": []})))
    assert codes(r) == ["DNS_RESOLUTION_FAILED"]


def test_a_resolver_bug_becomes_a_dns_finding_not_an_exception() -> None:
    def broken(host: str, port: int) -> list[str]:
        raise RuntimeError("resolver exploded")

    [r] = map(judged, probe_targets([Target("x.test")], resolver=broken))
    assert codes(r) == ["DNS_RESOLUTION_FAILED"]
    assert "resolver exploded" in r.findings[0].message


def test_ip_literal_host_skips_dns(pki: Pki) -> None:
    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError("DNS must not be used for an IP literal")

    with TlsServer(pki.chain()) as srv:
        r = probe_target(Target("127.0.0.1", srv.port, server_name="origin.test"), resolver=no_dns,
                         allow=LOOPBACK)
    assert r.addresses[0].connected


def test_hundreds_of_addresses_are_capped_and_the_rest_reported(pki: Pki) -> None:
    addresses = [f"127.0.0.{i}" for i in range(1, 201)]
    with TlsServer(pki.chain(), host="127.0.0.1") as srv:
        resolver = static_resolver({"many.test": addresses})
        [r] = map(judged, probe_targets([Target("many.test", srv.port)], resolver=resolver, timeout=2,
                                        allow=LOOPBACK))
    assert [a.address for a in r.addresses] == addresses[:MAX_ADDRESSES]
    assert codes(r) == ["ADDRESSES_CAPPED"]
    assert r.findings[0].severity == Severity.INFO
    assert f"{200 - MAX_ADDRESSES} skipped" in r.findings[0].message
    # Only 127.0.0.1 listens; the others refuse. Each is probed and reported on its own.
    assert r.addresses[0].connected
    assert all(codes(a) == ["CONNECT_FAILED"] for a in r.addresses[1:])


def test_targets_after_the_deadline_are_not_probed_and_say_so(pki: Pki) -> None:
    with TlsServer(pki.chain()) as srv:
        targets = [Target("127.0.0.1", srv.port, server_name="origin.test")] * 3
        results = [judged(r) for r in probe_targets(targets, deadline=time.monotonic() - 1,
                                                    allow=LOOPBACK)]
        connections = srv.connections
    assert connections == 0
    for r in results:
        assert r.addresses == ()
        assert codes(r) == ["ORIGIN_NOT_PROBED"]
        assert "time budget" in r.findings[0].message


def test_skip_probe_targets_are_not_connected_to(pki: Pki) -> None:
    note = Finding(Code.ORIGIN_HTTP_ONLY, Severity.INFO, "http-only origin")
    with TlsServer(pki.chain()) as srv:
        t = Target("127.0.0.1", srv.port, notes=(note,), skip_probe=True)
        [r] = map(judged, probe_targets([t]))
        single = judged(probe_target(t))
        connections = srv.connections
    assert connections == 0
    # The probe reports only what it observed; the judge adds the target's notes (once).
    assert r.findings == () and r.addresses == ()
    assert single.findings == ()


def test_probe_findings_do_not_repeat_the_targets_notes() -> None:
    note = Finding(Code.HOST_REWRITE_UNVERIFIABLE, Severity.INFO, "a function may rewrite Host")
    [r] = map(judged, probe_targets([Target("gone.test", notes=(note,))], resolver=static_resolver({})))
    assert codes(r) == ["DNS_RESOLUTION_FAILED"]


def test_sslv3_only_configuration_cannot_be_offered_and_says_so() -> None:
    r = judged(probe_target(Target("127.0.0.1", 1, protocols=("SSLv3",)), allow=LOOPBACK))
    assert codes(r.addresses[0]) == ["NO_COMMON_PROTOCOL"]


def test_a_failing_progress_callback_does_not_lose_results(pki: Pki) -> None:
    def explode(_i: int, _r: object) -> None:
        raise RuntimeError("progress bar broke")

    with TlsServer(pki.chain()) as srv:
        results = probe_targets([Target("127.0.0.1", srv.port, server_name="origin.test")] * 2,
                                on_done=explode, allow=LOOPBACK)
    assert all(r.addresses[0].connected for r in results)


def test_an_internal_error_for_one_address_is_a_finding_not_an_abort(
        pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    import origin_auditor.probe as probe_module

    real = probe_module._probe_address

    def flaky(target: Target, address: str, timeout: float, deadline: float | None):  # type: ignore[no-untyped-def]
        if target.server_name == "bug.test":
            raise ValueError("simulated bug")
        return real(target, address, timeout, deadline)

    monkeypatch.setattr(probe_module, "_probe_address", flaky)
    with TlsServer(pki.chain()) as srv:
        targets = [Target("127.0.0.1", srv.port, server_name="bug.test"),
                   Target("127.0.0.1", srv.port, server_name="origin.test")]
        results = [judged(r) for r in probe_targets(targets, allow=LOOPBACK)]
    # A bug costs one address, reported as not audited (never as the origin failing).
    assert codes(results[0].addresses[0]) == ["ORIGIN_NOT_PROBED"]
    assert "simulated bug" in results[0].addresses[0].findings[0].message
    assert results[1].addresses[0].connected


def test_empty_target_list_returns_empty() -> None:
    assert probe_targets([]) == []
