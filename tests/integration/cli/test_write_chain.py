"""Issue 10 §4, the fix in one command: ``check HOST --write-chain OUT.pem`` and
``check-bundle FILE --fix OUT.pem`` write the chain to deploy (leaf, then intermediates in issuing
order: sent ones reordered, missing ones fetched through caIssuers URLs, no root), or refuse with
one line (exit 1) when no path to a trusted root is found. Real loopback TLS origins and a real
loopback HTTP server for the issuers; in-process ``main``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from origin_auditor_lab import LOOPBACK_CIDRS
from origin_auditor_lab.issuers import IssuerServer
from origin_auditor_lab.pki import Issued, Pki, pem_bundle
from origin_auditor_lab.servers import TlsServer

from .conftest import CliRunner

ALLOW = ("--allow-addresses", LOOPBACK_CIDRS)


@pytest.fixture(scope="module")
def server() -> Iterator[IssuerServer]:
    with IssuerServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def deep(server: IssuerServer) -> Pki:
    return server.publish("/deep", hostnames=("deep.test",), depth=2)


@pytest.fixture(scope="module")
def private(server: IssuerServer) -> Pki:
    return server.publish("/private", hostnames=("private.test",), root_name="Private Corp Root")


@pytest.fixture
def roots(tmp_path: Path, deep: Pki) -> str:
    path = tmp_path / "roots.pem"
    path.write_bytes(deep.root_pem)
    return str(path)


def subjects(pem: bytes) -> list[str]:
    return [c.subject.rfc4514_string() for c in x509.load_pem_x509_certificates(pem)]


def names(*issued: Issued) -> list[str]:
    return [i.name for i in issued]


def check(cli: CliRunner, srv: TlsServer, host: str, *extra: str) -> object:
    return cli("check", f"{host}:{srv.port}", "--resolve", f"{host}=127.0.0.1", *ALLOW, *extra)


# ----------------------------------------------------------------- check --write-chain


def test_write_chain_fetches_the_missing_intermediates_in_issuing_order(
        cli: CliRunner, deep: Pki, roots: str, tmp_path: Path) -> None:
    out = tmp_path / "chain.pem"
    with TlsServer([deep.leaf]) as srv:
        run = check(cli, srv, "deep.test", "--ca-bundle", roots, "--write-chain", str(out))
    assert run.code == 1, run  # the origin still sends an incomplete chain: the verdict stands
    assert "CHAIN_INCOMPLETE" in run.out
    assert subjects(out.read_bytes()) == names(deep.leaf, deep.intermediates[1], deep.intermediates[0])
    assert f"wrote {out} (leaf and intermediates in issuing order, no root)" in run.err


def test_write_chain_reorders_what_was_sent_and_drops_the_root(
        cli: CliRunner, deep: Pki, roots: str, tmp_path: Path) -> None:
    out = tmp_path / "chain.pem"
    sent = [deep.leaf, deep.intermediates[0], deep.root, deep.intermediates[1]]
    with TlsServer(sent) as srv:
        run = check(cli, srv, "deep.test", "--ca-bundle", roots, "--no-fetch", "--write-chain", str(out))
    assert "CHAIN_WRONG_ORDER" in run.out
    assert subjects(out.read_bytes()) == names(deep.leaf, deep.intermediates[1], deep.intermediates[0])


def test_write_chain_refuses_a_private_ca_in_one_line(cli: CliRunner, private: Pki, roots: str,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "chain.pem"
    with TlsServer([private.leaf]) as srv:
        run = check(cli, srv, "private.test", "--ca-bundle", roots, "--write-chain", str(out))
    assert run.code == 1
    assert "CHAIN_UNTRUSTED_ROOT" in run.out
    [line] = [ln for ln in run.err.splitlines() if "--write-chain" in ln]
    assert line.startswith("origin-auditor: --write-chain refused: no path to a trusted root:")
    assert "Private Corp Root" in line
    assert not out.exists()


def test_write_chain_refuses_when_nothing_can_be_fetched(cli: CliRunner, deep: Pki, roots: str,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "chain.pem"
    with TlsServer([deep.leaf]) as srv:
        run = check(cli, srv, "deep.test", "--ca-bundle", roots, "--no-fetch", "--write-chain", str(out))
    assert run.code == 1
    assert "--write-chain refused: the issuer of CN=deep.test" in run.err
    assert "/deep/int2.der" in run.err
    assert not out.exists()


def test_write_chain_takes_one_origin(cli: CliRunner, tmp_path: Path) -> None:
    run = cli("check", "a.test", "b.test", "--write-chain", str(tmp_path / "x.pem"))
    assert run.code == 2
    assert "--write-chain: writes the chain of one origin, got 2" in run.err


# ----------------------------------------------------------------- check-bundle --fix


def test_fix_completes_a_bundle_with_fetched_intermediates(
        cli: CliRunner, deep: Pki, roots: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_AUDITOR_ALLOW_ADDRESSES", LOOPBACK_CIDRS)  # the lab's issuer server
    bundle, out = tmp_path / "tls.crt", tmp_path / "fixed.pem"
    bundle.write_bytes(deep.leaf.pem)
    run = cli("check-bundle", str(bundle), "--host", "deep.test", "--ca-bundle", roots, "--fix", str(out))
    assert run.code == 1  # the bundle as given is incomplete
    assert "2 intermediate certificates between 'deep.test' and the trusted root" in run.out
    assert subjects(out.read_bytes()) == names(deep.leaf, deep.intermediates[1], deep.intermediates[0])
    # What it wrote passes.
    again = cli("check-bundle", str(out), "--host", "deep.test", "--ca-bundle", roots, "--no-fetch")
    assert again.code == 0, again.out


def test_fix_never_overwrites_its_input(cli: CliRunner, deep: Pki, roots: str, tmp_path: Path) -> None:
    bundle = tmp_path / "tls.crt"
    original = pem_bundle([deep.leaf, deep.intermediates[0], deep.intermediates[1]])
    bundle.write_bytes(original)
    for target in (str(bundle), str(tmp_path / "." / "tls.crt")):
        run = cli("check-bundle", str(bundle), "--host", "deep.test", "--ca-bundle", roots, "--fix", target)
        assert run.code == 2
        assert "is the input file; write the fixed chain to another file" in run.err
    assert bundle.read_bytes() == original


def test_fix_without_fetching_refuses_naming_the_url(cli: CliRunner, deep: Pki, roots: str,
                                                     tmp_path: Path) -> None:
    bundle, out = tmp_path / "tls.crt", tmp_path / "fixed.pem"
    bundle.write_bytes(deep.leaf.pem)
    run = cli("check-bundle", str(bundle), "--host", "deep.test", "--ca-bundle", roots, "--no-fetch",
              "--fix", str(out))
    assert run.code == 1
    assert "--fix refused: the issuer of CN=deep.test" in run.err and "/deep/int2.der" in run.err
    assert not out.exists()


# ----------------------------------------------------------------- the switch


def test_fetching_off_in_the_environment_fetches_nothing(
        cli: CliRunner, server: IssuerServer, deep: Pki, roots: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_AUDITOR_FETCH", "off")
    before = len(server.requests)
    with TlsServer([deep.leaf]) as srv:
        run = check(cli, srv, "deep.test", "--ca-bundle", roots)
    assert "The issuer was not fetched to tell which" in run.out
    assert len(server.requests) == before


def test_a_bad_fetch_switch_is_a_usage_error_naming_the_variable(
        cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_AUDITOR_FETCH", "maybe")
    run = cli("check", "deep.test")
    assert run.code == 2
    assert "ORIGIN_AUDITOR_FETCH (environment): must be on or off, got 'maybe'" in run.err
