"""judge_probe across addresses, summaries and the openssl reproduction line."""

from __future__ import annotations

import datetime as dt
import shlex

from origin_auditor.judge import judge_probe, openssl_command, summarize_cert
from origin_auditor.model import (
    AddressProbe,
    Finding,
    HandshakeOutcome,
    ProbeResult,
    Severity,
    Target,
    Verdict,
)
from origin_auditor.rules import Code
from origin_auditor_lab.pki import NOW, Pki

from .conftest import ders, trust_of


def ok_addr(address: str, chain: list[bytes]) -> AddressProbe:
    return AddressProbe(address=address, protocol="TLSv1.2", cipher="ECDHE-ECDSA-AES128-GCM-SHA256",
                        chain=tuple(chain), chain_source="cloudfront")


def test_all_addresses_same_good_chain_pass(pki1: Pki) -> None:
    chain = ders(*pki1.chain())
    probe = ProbeResult(Target("origin.test"), (ok_addr("192.0.2.1", chain), ok_addr("192.0.2.2", chain)))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert result.verdict == Verdict.PASS and result.findings == ()
    assert [a.address for a in result.addresses] == ["192.0.2.1", "192.0.2.2"]
    summary = result.addresses[0].chain
    assert [c.sha256 for c in summary] == [summarize_cert(d).sha256 for d in chain]
    assert "origin.test" in summary[0].subject and summary[0].not_after is not None
    assert result.addresses[0].protocol == "TLSv1.2"


def test_one_broken_address_makes_target_fail_and_inconsistent(pki1: Pki) -> None:
    good, broken = ders(*pki1.chain()), ders(pki1.leaf)
    probe = ProbeResult(Target("origin.test"), (ok_addr("192.0.2.1", good), ok_addr("192.0.2.2", broken)))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert result.verdict == Verdict.FAIL
    inconsistent = [f for f in result.findings if f.code == Code.ADDRESSES_INCONSISTENT]
    assert len(inconsistent) == 1 and inconsistent[0].severity == Severity.WARN
    assert inconsistent[0].address is None
    incomplete = [f for f in result.findings if f.code == Code.CHAIN_INCOMPLETE]
    assert [f.address for f in incomplete] == ["192.0.2.2"]
    # The reproduction line targets the address that fails, not the healthy one.
    assert "-connect 192.0.2.2:443" in result.reproduce


def test_some_addresses_not_connecting_is_inconsistent(pki1: Pki) -> None:
    refused = AddressProbe(address="192.0.2.9", offered=("TLSv1.2",), outcome=HandshakeOutcome.REFUSED,
                           detail="Connection refused [ECONNREFUSED]")
    probe = ProbeResult(Target("origin.test"), (ok_addr("192.0.2.1", ders(*pki1.chain())), refused))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    codes = [f.code for f in result.findings]
    assert Code.ADDRESSES_INCONSISTENT in codes and Code.CONNECT_FAILED in codes
    assert result.verdict == Verdict.FAIL
    assert "192.0.2.9" in result.reproduce


def test_single_address_is_never_inconsistent(pki1: Pki) -> None:
    probe = ProbeResult(Target("origin.test"), (ok_addr("192.0.2.1", ders(pki1.leaf)),))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert Code.ADDRESSES_INCONSISTENT not in [f.code for f in result.findings]


def test_target_level_findings_come_first_and_verdict_is_worst(pki1: Pki) -> None:
    note = Finding(Code.HOST_REWRITE_UNVERIFIABLE, Severity.INFO, "edge function", "")
    probe = ProbeResult(Target("origin.test", notes=(note,)),
                        (ok_addr("192.0.2.1", ders(*pki1.fullchain())),), resolved=20, capped_at=16)
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert [f.code for f in result.findings] == [Code.ADDRESSES_CAPPED, Code.HOST_REWRITE_UNVERIFIABLE,
                                                 Code.CHAIN_INCLUDES_ROOT]
    assert result.verdict == Verdict.PASS


def test_chain_from_diagnostic_handshake_is_judged_too(pki1: Pki) -> None:
    failed = AddressProbe(address="192.0.2.1", chain=tuple(ders(pki1.leaf)), chain_source="diagnostic",
                          offered=("TLSv1.2",), outcome=HandshakeOutcome.TLS_ERROR,
                          diagnostic_outcome=HandshakeOutcome.OK, diagnostic_protocol="TLSv1.2",
                          diagnostic_cipher="DHE-RSA-AES128-GCM-SHA256")
    result = judge_probe(ProbeResult(Target("origin.test"), (failed,)), trust=trust_of(pki1.root), at=NOW)
    assert [f.code for f in result.findings] == [Code.NO_COMMON_CIPHER, Code.CHAIN_INCOMPLETE]


def test_sni_is_checked_and_the_origin_domain_accepted_too(pki1: Pki) -> None:
    probe = ProbeResult(Target("lb.example", server_name="origin.test"),
                        (ok_addr("192.0.2.1", ders(*pki1.chain())),))
    assert judge_probe(probe, trust=trust_of(pki1.root), at=NOW).verdict == Verdict.PASS
    # A certificate for the origin domain passes for SNI alias.test too (AWS: "one or both").
    probe = ProbeResult(Target("origin.test", server_name="alias.test"),
                        (ok_addr("192.0.2.1", ders(*pki1.chain())),))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert result.findings == ()
    assert "-servername alias.test" in result.reproduce
    probe = ProbeResult(Target("lb.example", server_name="alias.test"),
                        (ok_addr("192.0.2.1", ders(*pki1.chain())),))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert [f.code for f in result.findings] == [Code.HOSTNAME_MISMATCH]


def test_dns_failure_without_addresses_fails(pki1: Pki) -> None:
    result = judge_probe(ProbeResult(Target("nx.test"), (), dns_error="Name or service not known"),
                         trust=trust_of(pki1.root), at=NOW)
    assert result.verdict == Verdict.FAIL and result.addresses == ()
    assert result.reproduce.startswith("openssl s_client -connect nx.test:443")


def test_skipped_target_has_no_reproduction_line(pki1: Pki) -> None:
    note = Finding(Code.ORIGIN_HTTP_ONLY, Severity.INFO, "http-only", "")
    result = judge_probe(ProbeResult(Target("o.test", notes=(note,), skip_probe=True)),
                         trust=trust_of(pki1.root), at=NOW)
    assert result.reproduce == "" and result.verdict == Verdict.PASS


def test_openssl_command_default() -> None:
    assert openssl_command(Target("origin.example.com")) == (
        "openssl s_client -connect origin.example.com:443 -servername origin.example.com -tls1_2 "
        "-showcerts </dev/null")


def test_openssl_command_ipv6_address_is_bracketed() -> None:
    cmd = openssl_command(Target("origin.example.com", port=8443), "2001:db8::1")
    assert "-connect '[2001:db8::1]:8443'" in cmd or "-connect [2001:db8::1]:8443" in cmd


def test_openssl_command_several_protocols_excludes_the_rest() -> None:
    cmd = openssl_command(Target("o.test", protocols=("TLSv1.1", "TLSv1.2")))
    assert "-no_tls1 " in cmd and "-no_ssl3" in cmd and "-no_tls1_3" in cmd
    assert "-no_tls1_1" not in cmd and "-no_tls1_2" not in cmd and "SECLEVEL=0" in cmd


def test_openssl_command_quotes_hostile_names() -> None:
    cmd = openssl_command(Target("o.test", server_name="x.test;rm -rf ~"))
    assert shlex.split(cmd.removesuffix(" </dev/null"))[5] == "x.test;rm -rf ~"


# ----------------------------------------------------------------- chain the probe cut short


def cut_addr(address: str, chain: list[bytes], *, truncated: bool) -> AddressProbe:
    # What the probe saw of a 4 MiB Certificate message (over OpenSSL's limit: a fail).
    return AddressProbe(address=address, chain=tuple(chain), chain_source="cloudfront",
                        chain_truncated=truncated, offered=("TLSv1.2",),
                        outcome=HandshakeOutcome.TOO_LARGE, certificate_length=4 * 1024 * 1024)


def test_truncated_chain_missing_its_issuer_is_not_called_incomplete(pki1: Pki) -> None:
    probe = ProbeResult(Target("origin.test"), (cut_addr("192.0.2.1", ders(pki1.leaf), truncated=True),))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert [(f.code, f.severity) for f in result.findings] == [
        (Code.CHAIN_TOO_LARGE, Severity.FAIL), (Code.CHAIN_TOO_LARGE, Severity.INFO)]
    note = result.findings[1]
    assert "stopped reading the certificates after 1 certificate;" in note.message
    assert "the rest was not judged" in note.message and "Intermediate 1" in note.message
    assert "was not sent" not in note.message
    assert result.verdict == Verdict.FAIL  # the probe's CHAIN_TOO_LARGE keeps the fail


def test_same_chain_not_truncated_is_incomplete(pki1: Pki) -> None:
    probe = ProbeResult(Target("origin.test"), (cut_addr("192.0.2.1", ders(pki1.leaf), truncated=False),))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert [f.code for f in result.findings] == [Code.CHAIN_TOO_LARGE, Code.CHAIN_INCOMPLETE]


def test_truncated_chain_whose_kept_part_is_complete_gets_no_note(pki1: Pki) -> None:
    probe = ProbeResult(Target("origin.test"),
                        (cut_addr("192.0.2.1", ders(*pki1.chain()), truncated=True),))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert [f.code for f in result.findings] == [Code.CHAIN_TOO_LARGE]


def test_truncated_chain_still_reports_what_the_kept_part_shows(pki1: Pki) -> None:
    expired = pki1.issue_leaf("origin.test", dns_names=["origin.test"],
                              not_before=NOW - dt.timedelta(days=100), not_after=NOW - dt.timedelta(days=1))
    probe = ProbeResult(Target("origin.test"), (cut_addr("192.0.2.1", ders(expired), truncated=True),))
    codes = [f.code for f in judge_probe(probe, trust=trust_of(pki1.root), at=NOW).findings]
    assert Code.CERT_EXPIRED in codes and Code.CHAIN_INCOMPLETE not in codes


# ----------------------------------------------------------------- reproduction line


def test_warn_result_reproduces_against_the_probed_address(pki1: Pki) -> None:
    # Given a chain that only warns (expiring in 10 days) on the one address probed,
    soon = pki1.issue_leaf("origin.test", dns_names=["origin.test"], not_after=NOW + dt.timedelta(days=10))
    probe = ProbeResult(Target("origin.test", port=8443),
                        (ok_addr("127.0.0.9", ders(soon, *pki1.intermediates)),))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    # then the openssl line connects where the probe did (a --resolve user can paste it).
    assert result.verdict == Verdict.WARN
    assert "-connect 127.0.0.9:8443 -servername origin.test" in result.reproduce


def test_passing_result_reproduces_against_the_first_probed_address(pki1: Pki) -> None:
    chain = ders(*pki1.chain())
    probe = ProbeResult(Target("origin.test"), (ok_addr("192.0.2.1", chain), ok_addr("192.0.2.2", chain)))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert result.verdict == Verdict.PASS
    assert "-connect 192.0.2.1:443 -servername origin.test" in result.reproduce


def test_reproduction_prefers_the_first_address_with_the_worst_findings(pki1: Pki) -> None:
    good = ders(*pki1.chain())
    soon = ders(pki1.issue_leaf("origin.test", dns_names=["origin.test"],
                                not_after=NOW + dt.timedelta(days=10)), *pki1.intermediates)
    probe = ProbeResult(Target("origin.test"), (ok_addr("192.0.2.1", good), ok_addr("192.0.2.2", soon),
                                                ok_addr("192.0.2.3", soon)))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    assert "-connect 192.0.2.2:443 " in result.reproduce


# ---- issuing order: what the HTML report draws beside the chain as sent (issue 11)

def test_address_report_carries_the_issuing_order_of_a_chain_sent_out_of_order(pki2: Pki) -> None:
    leaf, int2, int1 = pki2.chain()
    sent = ders(leaf, int1, int2, pki2.root)  # intermediates swapped, root sent last
    result = judge_probe(ProbeResult(Target("origin.test"), (ok_addr("192.0.2.1", sent),)),
                         trust=trust_of(pki2.root), at=NOW)
    assert Code.CHAIN_WRONG_ORDER in [f.code for f in result.findings]
    address = result.addresses[0]
    # Indexes into the chain as sent, leaf first, each followed by its issuer.
    assert address.issuing_order == (0, 2, 1, 3)
    assert address.path_end == "trusted"
    doc = address.to_json()
    assert doc["issuing_order"] == [0, 2, 1, 3] and doc["path_end"] == "trusted"


def test_issuing_order_stops_where_the_path_does_and_says_why(pki2: Pki) -> None:
    leaf, int2, _ = pki2.chain()
    stray = Pki(hostnames=("other.test",)).leaf
    sent = ders(leaf, stray, int2)  # the first intermediate missing, an unrelated leaf sent
    result = judge_probe(ProbeResult(Target("origin.test"), (ok_addr("192.0.2.1", sent),)),
                         trust=trust_of(pki2.root), at=NOW)
    address = result.addresses[0]
    assert address.issuing_order == (0, 2) and address.path_end == "incomplete"


def test_an_address_without_a_chain_has_no_issuing_order(pki1: Pki) -> None:
    refused = AddressProbe(address="192.0.2.9", offered=("TLSv1.2",), outcome=HandshakeOutcome.REFUSED)
    result = judge_probe(ProbeResult(Target("origin.test"), (refused,)), trust=trust_of(pki1.root), at=NOW)
    assert result.addresses[0].issuing_order == () and result.addresses[0].path_end is None
    assert result.addresses[0].to_json()["path_end"] is None
