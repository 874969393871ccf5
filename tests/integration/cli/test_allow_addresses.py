"""``check`` / ``audit`` and addresses CloudFront cannot reach (issue 9 §4), in-process through
``main()`` against a real loopback server: a DNS answer on loopback is a finding and is never
connected to; ``--allow-addresses`` or ORIGIN_AUDITOR_ALLOW_ADDRESSES opens a range; an address
the user named (``--resolve``, an IP-literal origin) is probed; a bad CIDR is one line, exit 2."""

from __future__ import annotations

import socket

import pytest

from origin_auditor_lab import LOOPBACK_CIDRS
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer

from .conftest import CliRunner


def _localhost_answers_loopback_only() -> bool:
    try:
        infos = socket.getaddrinfo("localhost", 443, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(str(i[4][0]) in ("127.0.0.1", "::1") for i in infos)


needs_localhost = pytest.mark.skipif(not _localhost_answers_loopback_only(),
                                     reason="localhost does not resolve to loopback here")


@needs_localhost
def test_a_name_resolving_to_loopback_is_a_finding_and_not_connected_to(
        cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"localhost:{srv.port}", "--server-name", "origin.test", "--ca-bundle", ca_file,
                  "--format", "json")
        connections = srv.connections
    assert run.code == 1, run
    assert connections == 0
    [result] = run.json()["results"]
    assert result["addresses"] == []
    assert {f["code"] for f in result["findings"]} == {"ADDRESS_NOT_PUBLIC"}
    assert all("a loopback address" in f["message"] for f in result["findings"])


@needs_localhost
@pytest.mark.parametrize("how", ["flag", "env"])
def test_allow_addresses_opens_loopback_explicitly(cli: CliRunner, pki: Pki, ca_file: str, how: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    extra: tuple[str, ...] = ()
    if how == "flag":
        extra = ("--allow-addresses", LOOPBACK_CIDRS)
    else:
        monkeypatch.setenv("ORIGIN_AUDITOR_ALLOW_ADDRESSES", LOOPBACK_CIDRS)
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"localhost:{srv.port}", "--server-name", "origin.test", "--ca-bundle", ca_file,
                  "--format", "json", *extra)
        connections = srv.connections
    assert connections >= 1
    [result] = run.json()["results"]
    assert "ADDRESS_NOT_PUBLIC" not in {f["code"] for f in result["findings"]}
    assert "127.0.0.1" in [a["address"] for a in result["addresses"]]


@needs_localhost
def test_the_flag_replaces_the_environment(cli: CliRunner, pki: Pki, ca_file: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_AUDITOR_ALLOW_ADDRESSES", LOOPBACK_CIDRS)
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"localhost:{srv.port}", "--ca-bundle", ca_file, "--format", "json",
                  "--allow-addresses", "")
        connections = srv.connections
    assert connections == 0
    assert {f["code"] for f in run.json()["results"][0]["findings"]} == {"ADDRESS_NOT_PUBLIC"}


def test_an_address_given_with_resolve_is_the_users_choice(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"origin.test:{srv.port}", "--resolve", "origin.test=127.0.0.1",
                  "--ca-bundle", ca_file)
    assert run.code == 0, run
    assert srv.handshakes >= 1


def test_an_ip_literal_origin_is_the_users_choice(cli: CliRunner, pki: Pki, ca_file: str) -> None:
    with TlsServer(pki.chain()) as srv:
        run = cli("check", f"127.0.0.1:{srv.port}", "--server-name", "origin.test", "--ca-bundle", ca_file)
    assert run.code == 0, run


@pytest.mark.parametrize("command", [["check", "origin.test"], ["audit"]])
@pytest.mark.parametrize(("value", "problem"), [
    ("localhost", "'localhost' is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)"),
    ("127.0.0.1/8", "'127.0.0.1/8' has host bits set (the network is 127.0.0.0/8)"),
])
def test_a_bad_cidr_on_the_command_line_is_one_line_exit_2(cli: CliRunner, command: list[str], value: str,
                                                           problem: str) -> None:
    run = cli(*command, "--allow-addresses", value)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"origin-auditor: error: --allow-addresses: {problem}\n"


@pytest.mark.parametrize("command", [["check", "origin.test"], ["audit"]])
def test_a_bad_cidr_in_the_environment_is_one_line_exit_2(cli: CliRunner, command: list[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_AUDITOR_ALLOW_ADDRESSES", "10.0.0.0/8,nope")
    run = cli(*command)
    assert (run.code, run.out) == (2, "")
    assert run.err == ("origin-auditor: error: ORIGIN_AUDITOR_ALLOW_ADDRESSES (environment): 'nope' is "
                       "not a CIDR "
                       "(e.g. 10.0.0.0/8 or fd00::/8)\n")
