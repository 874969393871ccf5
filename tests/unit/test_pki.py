"""The test PKI itself: two Pkis never trust each other's chains, whatever the key kind."""

from __future__ import annotations

import pytest

from origin_auditor_lab.pki import Pki


@pytest.mark.parametrize("kind", ["ec256", "rsa2048"])
def test_two_pkis_have_distinct_ca_keys_although_their_ca_names_are_equal(kind: str) -> None:
    a, b = Pki(key_kind=kind), Pki(key_kind=kind)
    assert a.root.cert.subject == b.root.cert.subject
    assert a.root.cert.public_key() != b.root.cert.public_key()
    assert a.intermediates[0].cert.public_key() != b.intermediates[0].cert.public_key()
