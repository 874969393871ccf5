"""A DNS answer CloudFront cannot reach is a finding and is never connected to (issue 9 §4).

A real loopback server listens on the answer, so "never connected" is observed (its connection
count), not assumed. Ranges open only when the caller says so (``allow``), for an IP-literal host
as for a DNS answer (``check`` opens the addresses a person typed: tests/integration/cli).
"""

from __future__ import annotations

import pytest

from origin_auditor.model import NonPublicAddress, Severity, Target
from origin_auditor.options import ALLOW_ADDRESSES
from origin_auditor.probe import probe_target, probe_targets, static_resolver
from origin_auditor.rules import AddressClass, Code
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer

from .conftest import codes, judged


def test_a_name_answering_loopback_is_a_finding_and_never_connected_to(pki: Pki) -> None:
    with TlsServer(pki.chain()) as srv:
        resolver = static_resolver({"origin.test": ["127.0.0.1"]})
        single = judged(probe_target(Target("origin.test", srv.port), resolver=resolver, timeout=2))
        [pooled] = map(judged, probe_targets([Target("origin.test", srv.port)], resolver=resolver,
                                             timeout=2))
        connections = srv.connections
    assert connections == 0
    for r in (single, pooled):
        assert r.addresses == ()
        assert r.resolved == 1
        assert r.not_public == (NonPublicAddress("127.0.0.1", AddressClass.LOOPBACK),)
        assert codes(r) == ["ADDRESS_NOT_PUBLIC"]
        assert (r.findings[0].severity, r.findings[0].address) == (Severity.FAIL, "127.0.0.1")


@pytest.mark.parametrize(("address", "kind"), [
    ("169.254.169.254", AddressClass.LINK_LOCAL), ("10.0.0.1", AddressClass.PRIVATE),
    ("100.64.0.1", AddressClass.SHARED), ("224.0.0.1", AddressClass.MULTICAST),
    ("0.0.0.0", AddressClass.UNSPECIFIED), ("::ffff:192.168.0.1", AddressClass.PRIVATE),
    ("fe80::1", AddressClass.LINK_LOCAL),
])
def test_unreachable_answers_are_recorded_without_a_connection(address: str, kind: AddressClass) -> None:
    # Nothing listens there (or it is the metadata service): a connection would show as a
    # connect finding or a timeout; the probe records the class and goes nowhere.
    [r] = probe_targets([Target("origin.test", 443)], resolver=static_resolver({"origin.test": [address]}),
                        timeout=0.5)
    assert r.addresses == ()
    assert r.not_public == (NonPublicAddress(address, kind),)


@pytest.mark.usefixtures("loopback_aliases")
def test_only_the_opened_range_is_probed_and_the_rest_is_a_finding(pki: Pki) -> None:
    with TlsServer(pki.chain(), host=["127.0.0.2", "127.0.0.3"]) as srv:
        resolver = static_resolver({"origin.test": ["127.0.0.3", "127.0.0.2"]})
        [r] = map(judged, probe_targets([Target("origin.test", srv.port)], resolver=resolver, timeout=5,
                                        allow=ALLOW_ADDRESSES.from_text("127.0.0.2/32")))
        connections = srv.connections
    assert [a.address for a in r.addresses] == ["127.0.0.2"]
    assert r.addresses[0].connected
    assert connections == 1
    assert [(f.code, f.address) for f in r.findings] == [(Code.ADDRESS_NOT_PUBLIC, "127.0.0.3")]


def test_opening_loopback_probes_it_as_before(pki: Pki) -> None:
    with TlsServer(pki.chain()) as srv:
        r = judged(probe_target(Target("origin.test", srv.port),
                                resolver=static_resolver({"origin.test": ["127.0.0.1"]}), allow=LOOPBACK))
    assert r.not_public == ()
    assert r.addresses[0].connected
    assert codes(r) == []


def test_an_ip_literal_host_is_judged_like_any_answer(pki: Pki) -> None:
    # The probe treats every address alike; `check` opens the literals a person typed.
    with TlsServer(pki.chain()) as srv:
        closed = judged(probe_target(Target("127.0.0.1", srv.port, server_name="origin.test")))
        opened = judged(probe_target(Target("127.0.0.1", srv.port, server_name="origin.test"),
                                     allow=ALLOW_ADDRESSES.from_text("127.0.0.1")))
        connections = srv.connections
    assert connections == 1
    assert closed.addresses == () and codes(closed) == ["ADDRESS_NOT_PUBLIC"]
    assert closed.findings[0].message.startswith("The origin 127.0.0.1 is a loopback address. ")
    assert opened.addresses[0].connected


def test_the_address_cap_applies_before_the_split(pki: Pki) -> None:
    # 20 answers, all loopback: the first MAX_ADDRESSES are judged (not connected), the rest
    # are the cap's, so the findings stay bounded whatever DNS says.
    answers = [f"127.0.3.{i}" for i in range(1, 21)]
    r = judged(probe_target(Target("many.test", 443), resolver=static_resolver({"many.test": answers})))
    assert r.addresses == ()
    assert [a.address for a in r.not_public] == answers[:16]
    assert codes(r) == ["ADDRESSES_CAPPED"] + ["ADDRESS_NOT_PUBLIC"] * 16
