"""A name resolving to 300 addresses: the probe takes the first MAX_ADDRESSES, says so, and
never connects to the rest."""

from __future__ import annotations

import pytest

from origin_auditor.model import Verdict
from origin_auditor.rules import MAX_ADDRESSES

from .conftest import MANY_ADDRESSES, MixedRun, codes, only


@pytest.fixture
def many(mixed_run: MixedRun) -> MixedRun:
    if "many-addresses" not in mixed_run.results:
        pytest.skip("127.0.1.x/127.0.2.x cannot be bound on this system")
    return mixed_run


def test_name_with_300_addresses_is_capped_and_still_passes(many: MixedRun) -> None:
    r = many.results["many-addresses"]
    assert codes(r) == ["ADDRESSES_CAPPED"]
    assert only(r, "ADDRESSES_CAPPED").severity == "info"
    assert "300 addresses" in r.findings[0].message and "284 skipped" in r.findings[0].message
    assert r.verdict == Verdict.PASS


def test_the_first_max_addresses_in_resolver_order_are_probed(many: MixedRun) -> None:
    r = many.results["many-addresses"]
    assert [a.address for a in r.addresses] == list(MANY_ADDRESSES[:MAX_ADDRESSES])
    assert all(a.protocol == "TLSv1.2" for a in r.addresses)


def test_addresses_beyond_the_cap_are_never_connected_to(many: MixedRun) -> None:
    server = many.origins["many-addresses"].server
    assert len(server.addresses) == len(MANY_ADDRESSES)  # it listened on all 300
    assert server.connections == MAX_ADDRESSES
