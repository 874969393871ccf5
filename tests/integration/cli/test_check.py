"""``origin-auditor check`` end to end, in-process through ``main()``, against real TLS servers on
loopback serving chains from lab/pki.py. ``--resolve origin.test=127.0.0.1`` points the name the
certificate covers at the loopback server, ``--ca-bundle`` makes the test root the only trusted one."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import socket

import pytest

from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer, closed_port, openssl_supports, stall_server

from .conftest import CliRunner

RESOLVE = ("--resolve", "origin.test=127.0.0.1")
FINDING_KEYS = {"code", "severity", "address", "message", "hint"}
TARGET_KEYS = {"host", "port", "server_name", "protocols", "distribution_ids", "origin_ids"}
ADDRESS_KEYS = {"address", "protocol", "cipher", "chain"}
CERT_KEYS = {"subject", "issuer", "not_after", "sha256"}


def codes_of(result: dict[str, object]) -> list[str]:
    findings = result["findings"]
    assert isinstance(findings, list)
    return [f["code"] for f in findings]


def test_good_chain_passes_with_exit_0_and_a_pass_line(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file)
    assert run.code == 0, run
    assert re.search(rf"^PASS\s+origin\.test:{srv.port}$", run.out, re.M), run.out
    assert "1 origin(s): 0 fail, 0 warn, 1 pass" in run.out
    assert run.err == ""
    assert srv.handshakes >= 1  # it really talked to the server


def test_good_chain_is_untrusted_without_the_test_root(cli: CliRunner, pki: Pki) -> None:
    # Given the default trust store (Mozilla's roots) the private test root is not trusted:
    # pins that --ca-bundle is what made the previous test pass.
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE)
    assert run.code == 1
    # The chain's top is issued by a root outside Mozilla's list, so the chain cannot be
    # completed from the trust store (the judge cannot tell a private root from a missing
    # intermediate, and says both).
    assert re.search(rf"^FAIL\s+origin\.test:{srv.port}\s+CHAIN_INCOMPLETE$", run.out, re.M), run.out
    assert "not a trusted root (certifi" in run.out


def test_ca_bundle_from_the_environment_is_honoured(cli: CliRunner, pki: Pki, ca_file: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_AUDITOR_CA_BUNDLE", ca_file)
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE)
    assert run.code == 0, run.out


def test_missing_intermediate_fails_with_chain_incomplete_and_the_openssl_line(
        cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer([pki.leaf]) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file)
    assert run.code == 1
    assert re.search(rf"^FAIL\s+origin\.test:{srv.port}\s+CHAIN_INCOMPLETE$", run.out, re.M), run.out
    # The missing issuer and where to get it (the leaf's AIA caIssuers URL) are named.
    assert "Origin Auditor Test Intermediate 1" in run.out
    assert "http://pki.test/int1.der" in run.out
    # The line a person pastes to see what CloudFront sees: the probed address, the SNI sent,
    # and only the protocols the origin allows.
    assert (f"verify: openssl s_client -connect 127.0.0.1:{srv.port} -servername origin.test -tls1_2 "
            "-showcerts </dev/null") in run.out


def test_wrong_order_fails_with_chain_wrong_order(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    # The root sent between leaf and intermediate: OpenSSL would reorder it, CloudFront does not.
    with TlsServer([pki.leaf, pki.root, *pki.intermediates]) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file)
    assert run.code == 1
    assert re.search(rf"^FAIL\s+origin\.test:{srv.port}\s+CHAIN_WRONG_ORDER", run.out, re.M), run.out
    assert "CHAIN_INCOMPLETE" not in run.out  # every certificate is there, only the order is wrong


def test_expiring_certificate_passes_by_default_but_fails_with_fail_on_warn(
        cli: CliRunner, pki: Pki, ca_file: str) -> None:
    expiring = pki.issue_leaf("origin.test", not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
    with TlsServer([expiring, *pki.intermediates]) as srv:
        default = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file)
        strict = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file,
                     "--fail-on", "warn")
    assert default.code == 0, default.out
    assert re.search(r"^WARN\s+origin\.test:\d+\s+CERT_EXPIRING_SOON$", default.out, re.M), default.out
    assert strict.code == 1
    assert "CERT_EXPIRING_SOON" in strict.out


def test_fail_on_warn_still_exits_0_when_everything_passes(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file, "--fail-on", "warn")
    assert run.code == 0, run.out


def test_json_report_follows_the_contract(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain()) as good, TlsServer([pki.leaf]) as bad:
        run = cli("check", f"origin.test:{good.port}", f"origin.test:{bad.port}", *RESOLVE,
                  "--ca-bundle", ca_file, "--format", "json")
    assert run.code == 1
    doc = run.json()
    assert doc["schema"] == "origin-auditor/1"
    generated = dt.datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00"))
    assert generated.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - generated) < dt.timedelta(minutes=5)
    assert doc["distributions"] == []  # check has no distributions

    first, second = doc["results"]
    for r in (first, second):
        assert set(r["target"]) >= TARGET_KEYS
        assert r["verdict"] in ("pass", "warn", "fail")
        for f in r["findings"]:
            assert set(f) >= FINDING_KEYS
            assert f["severity"] in ("fail", "warn", "info")
        for a in r["addresses"]:
            assert set(a) >= ADDRESS_KEYS
            for c in a["chain"]:
                assert set(c) >= CERT_KEYS

    assert first["target"] == {"host": "origin.test", "port": good.port, "server_name": "origin.test",
                               "sni_source": None,  # given by a person, not worked out from a route
                               "protocols": ["TLSv1.2"], "distribution_ids": [], "origin_ids": []}
    assert first["verdict"] == "pass"
    assert [f for f in first["findings"] if f["severity"] != "info"] == []
    (addr,) = first["addresses"]
    assert addr["address"] == "127.0.0.1"
    assert addr["protocol"] == "TLSv1.2"
    assert addr["cipher"]
    # The chain is what the server sent, in the order sent: fingerprints of the real DER.
    assert [c["sha256"] for c in addr["chain"]] == [hashlib.sha256(i.der).hexdigest() for i in pki.chain()]
    assert [c["subject"] for c in addr["chain"]] == [i.cert.subject.rfc4514_string() for i in pki.chain()]
    assert addr["chain"][0]["issuer"] == pki.intermediates[0].cert.subject.rfc4514_string()
    assert addr["chain"][0]["not_after"] == pki.leaf.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")

    assert second["target"]["port"] == bad.port
    assert second["verdict"] == "fail"
    assert "CHAIN_INCOMPLETE" in codes_of(second)
    incomplete = next(f for f in second["findings"] if f["code"] == "CHAIN_INCOMPLETE")
    assert incomplete["severity"] == "fail"
    assert incomplete["address"] == "127.0.0.1"
    assert incomplete["message"] and incomplete["hint"]
    sent = [c["sha256"] for c in second["addresses"][0]["chain"]]
    assert sent == [hashlib.sha256(pki.leaf.der).hexdigest()]

    summary = doc["summary"]
    assert summary["verdict"] == "fail"  # the worst verdict
    assert summary["verdicts"] == {"pass": 1, "warn": 0, "fail": 1}
    assert summary["targets"] == 2


def test_markdown_report_has_a_table_row_per_finding(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer([pki.leaf, pki.root, *pki.intermediates]) as srv:
        run = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file,
                  "--format", "markdown")
    assert run.code == 1
    assert run.out.startswith("# origin-auditor report\n")
    assert f"`origin.test:{srv.port}` — fail" in run.out
    assert "| severity | code | where | what | fix |" in run.out
    row = next(line for line in run.out.splitlines() if "`CHAIN_WRONG_ORDER`" in line)
    # Five cells: a '|' inside a message must have been escaped, or the table breaks.
    assert len(re.split(r"(?<!\\)\|", row.strip().strip("|"))) == 5, row
    assert f"Verify: `openssl s_client -connect 127.0.0.1:{srv.port}" in run.out


def test_several_origins_are_reported_in_input_order(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    expiring = pki.issue_leaf("origin.test", not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
    with TlsServer([pki.leaf]) as failing, TlsServer(pki.chain()) as passing, \
            TlsServer([expiring, *pki.intermediates]) as warning:
        ports = [warning.port, failing.port, passing.port]
        for order in (ports, list(reversed(ports))):
            run = cli("check", *(f"origin.test:{p}" for p in order), *RESOLVE, "--ca-bundle", ca_file)
            shown = [int(m) for m in re.findall(r"^(?:PASS|WARN|FAIL)\s+origin\.test:(\d+)", run.out, re.M)]
            assert shown == order, run.out
            doc = cli("check", *(f"origin.test:{p}" for p in order), *RESOLVE, "--ca-bundle", ca_file,
                      "--format", "json").json()
            assert [r["target"]["port"] for r in doc["results"]] == order
            verdict_of = {failing.port: "fail", passing.port: "pass", warning.port: "warn"}
            assert [r["verdict"] for r in doc["results"]] == [verdict_of[p] for p in order]


def test_server_name_selects_the_sni_dependent_chain(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    # The server's default certificate covers another name; alt.test gets the right chain only
    # when it is sent as SNI (a forwarded Host header makes CloudFront send the alias).
    default = pki.issue_leaf("default.test")
    with TlsServer([default, *pki.intermediates], sni_chains={"alt.test": pki.chain()}) as srv:
        without = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file)
        with_sni = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file,
                       "--server-name", "alt.test")
        json_sni = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file,
                       "--server-name", "alt.test", "--format", "json").json()
    assert without.code == 1
    assert "HOSTNAME_MISMATCH" in without.out
    assert with_sni.code == 0, with_sni.out
    assert f"PASS  origin.test:{srv.port} (SNI alt.test)" in with_sni.out
    assert "alt.test" in srv.served_names
    (result,) = json_sni["results"]
    assert result["target"]["host"] == "origin.test"
    assert result["target"]["server_name"] == "alt.test"
    assert result["addresses"][0]["chain"][0]["sha256"] == hashlib.sha256(pki.leaf.der).hexdigest()


@pytest.mark.skipif(not openssl_supports("TLSv1.1"), reason="this OpenSSL cannot do TLSv1.1")
def test_protocols_option_lets_a_legacy_only_origin_connect_with_a_warning(
        cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain(), protocols=("TLSv1.1",)) as srv:
        default = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file)
        legacy = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file,
                     "--protocols", "TLSv1.1,TLSv1.2", "--format", "json")
    # Given only TLSv1.2 allowed (the default), a TLS 1.1 origin cannot be reached at all.
    assert default.code == 1
    assert "NO_COMMON_PROTOCOL" in default.out
    # Given TLSv1.1 allowed too, it connects over TLS 1.1: works, but deprecated.
    assert legacy.code == 0, legacy.out
    (result,) = legacy.json()["results"]
    assert result["target"]["protocols"] == ["TLSv1.1", "TLSv1.2"]
    assert result["verdict"] == "warn"
    assert "LEGACY_PROTOCOL" in codes_of(result)
    assert result["addresses"][0]["protocol"] == "TLSv1.1"


def test_at_in_the_future_judges_the_certificate_expired(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    after_expiry = pki.leaf.cert.not_valid_after_utc + dt.timedelta(days=1)
    with TlsServer(pki.chain()) as srv:
        now = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file)
        later = cli("check", f"origin.test:{srv.port}", *RESOLVE, "--ca-bundle", ca_file,
                    "--at", after_expiry.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert now.code == 0
    assert later.code == 1
    assert re.search(r"^FAIL\s+origin\.test:\d+\s+CERT_EXPIRED", later.out, re.M), later.out


@pytest.mark.timeout(30)
def test_timeout_bounds_a_stalling_server_and_reports_handshake_timeout(cli: CliRunner, ca_file: str) -> None:
    with stall_server() as srv:
        run = cli("check", f"127.0.0.1:{srv.port}", "--ca-bundle", ca_file, "--timeout", "0.5")
    assert run.code == 1
    assert re.search(rf"^FAIL\s+127\.0\.0\.1:{srv.port}\s+HANDSHAKE_TIMEOUT", run.out, re.M), run.out
    assert "within 0.5 s" in run.out


def test_closed_port_is_connect_failed(cli: CliRunner, ca_file: str) -> None:
    port = closed_port()
    run = cli("check", f"127.0.0.1:{port}", "--ca-bundle", ca_file, "--format", "json")
    assert run.code == 1
    (result,) = run.json()["results"]
    assert result["verdict"] == "fail"
    assert codes_of(result) == ["CONNECT_FAILED"]


def test_resolve_with_several_addresses_probes_each(cli: CliRunner, pki: Pki, ca_file: str,
                                                    loopback_aliases: None) -> None:
    # One node of a "load balancer" lost its intermediate: reported on that address only.
    with TlsServer(pki.chain(), host=["127.0.0.5", "127.0.0.6"],
                   address_chains={"127.0.0.6": [pki.leaf]}) as srv:
        run = cli("check", f"origin.test:{srv.port}", "--resolve", "origin.test=127.0.0.5,127.0.0.6",
                  "--ca-bundle", ca_file, "--format", "json")
    assert run.code == 1
    (result,) = run.json()["results"]
    assert [a["address"] for a in result["addresses"]] == ["127.0.0.5", "127.0.0.6"]
    incomplete = [f["address"] for f in result["findings"] if f["code"] == "CHAIN_INCOMPLETE"]
    assert incomplete == ["127.0.0.6"]
    assert "ADDRESSES_INCONSISTENT" in codes_of(result)  # nodes disagree: a partial 502 rate


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")


@needs_ipv6
def test_ipv6_literal_origin_is_probed_and_the_openssl_line_brackets_it(
        cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer([pki.leaf], host="::1") as srv:
        run = cli("check", f"[::1]:{srv.port}", "--server-name", "origin.test", "--ca-bundle", ca_file,
                  "--format", "json")
    assert run.code == 1
    (result,) = run.json()["results"]
    assert result["target"]["host"] == "::1"
    assert result["target"]["port"] == srv.port
    assert result["addresses"][0]["address"] == "::1"
    assert "CHAIN_INCOMPLETE" in codes_of(result)
    assert f"-connect '[::1]:{srv.port}' -servername origin.test" in result["reproduce"]


@needs_ipv6
def test_ipv6_origin_is_displayed_with_brackets(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain(), host="::1") as srv:
        run = cli("check", f"[::1]:{srv.port}", "--server-name", "origin.test", "--ca-bundle", ca_file)
    assert run.code == 0, run.out
    assert f"PASS  [::1]:{srv.port} (SNI origin.test)" in run.out
