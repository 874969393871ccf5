"""NO_COMMON_CIPHER (issue 11): the fix and the reproduce line fit the origin's key type.

An RSA origin cannot use an ECDHE-ECDSA suite, an ECDSA origin no ECDHE-RSA one. The reproduce
line used to offer four ECDSA suites whatever the key, so on an RSA origin it kept failing after
the advised fix. Here: real loopback servers that accept only a suite CloudFront does not offer,
then the same origins after the advised fix, with the reproduce line run through ``openssl``."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from origin_auditor.rules import CLOUDFRONT_ORIGIN_CIPHERS
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer

from .conftest import CliRunner


@pytest.fixture(scope="module")
def rsa_pki() -> Pki:
    return Pki(hostnames=("origin.test",), key_kind="rsa2048")


def _root_file(pki: Pki, tmp_path: Path) -> str:
    path = tmp_path / "root.pem"
    path.write_bytes(pki.root_pem)
    return str(path)


def _no_common_cipher(cli: CliRunner, pki: Pki, tmp_path: Path, ciphers: str) -> tuple[dict[str, str], str]:
    """check an origin accepting only ``ciphers``; its NO_COMMON_CIPHER finding and verify line."""
    with TlsServer(pki.chain(), protocols=("TLSv1.2",), ciphers=ciphers) as srv:
        run = cli("check", f"origin.test:{srv.port}", "--resolve", "origin.test=127.0.0.1",
                  "--ca-bundle", _root_file(pki, tmp_path), "--format", "json")
    assert run.code == 1, run
    [result] = run.json()["results"]
    [f] = [f for f in result["findings"] if f["code"] == "NO_COMMON_CIPHER"]
    return f, result["reproduce"]


def _offered(command: str) -> list[str]:
    m = re.search(r"-cipher (\S+)", command)
    assert m, command
    return m.group(1).split(":")


def _openssl_connects(command: str, port: int) -> bool:
    """Run the reproduce line (its -connect pointed at ``port``) as a person would paste it."""
    argv = shlex.split(command.replace(" </dev/null", ""))
    argv[argv.index("-connect") + 1] = f"127.0.0.1:{port}"
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=False)
    return proc.returncode == 0


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")


@pytest.mark.parametrize("ciphers", ["DHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"])
def test_rsa_origin_is_told_to_enable_an_ecdhe_rsa_suite(cli: CliRunner, rsa_pki: Pki, tmp_path: Path,
                                                         ciphers: str) -> None:
    f, reproduce = _no_common_cipher(cli, rsa_pki, tmp_path, ciphers)
    assert f["hint"].startswith("Enable an ECDHE-RSA AES-GCM suite such as ECDHE-RSA-AES128-GCM-SHA256 "
                                "(the origin's certificate has an RSA key).")
    for line in (f["hint"].split(" Reproduce: ", 1)[1], reproduce):
        offered = _offered(line)
        assert offered == [c for c in CLOUDFRONT_ORIGIN_CIPHERS if not c.startswith("ECDHE-ECDSA-")]


def test_ecdsa_origin_is_told_to_enable_an_ecdhe_ecdsa_suite(cli: CliRunner, pki: Pki,
                                                             tmp_path: Path) -> None:
    f, reproduce = _no_common_cipher(cli, pki, tmp_path, "ECDHE-ECDSA-CHACHA20-POLY1305")
    assert f["hint"].startswith("Enable an ECDHE-ECDSA AES-GCM suite such as ECDHE-ECDSA-AES128-GCM-SHA256 "
                                "(the origin's certificate has an ECDSA key).")
    assert _offered(reproduce) == [c for c in CLOUDFRONT_ORIGIN_CIPHERS if c.startswith("ECDHE-ECDSA-")]


@needs_openssl
@pytest.mark.parametrize(("kind", "broken", "fixed"), [
    ("rsa", "DHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
    ("ecdsa", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256"),
])
def test_the_reproduce_line_fails_before_the_advised_fix_and_passes_after(
        cli: CliRunner, pki: Pki, rsa_pki: Pki, tmp_path: Path, kind: str, broken: str, fixed: str) -> None:
    chain = (rsa_pki if kind == "rsa" else pki).chain()
    f, reproduce = _no_common_cipher(cli, rsa_pki if kind == "rsa" else pki, tmp_path, broken)
    assert fixed in f["hint"].split(" Reproduce: ", 1)[0]  # the suite the fix names
    with TlsServer(chain, protocols=("TLSv1.2",), ciphers=broken) as before:
        assert not _openssl_connects(reproduce, before.port)
    with TlsServer(chain, protocols=("TLSv1.2",), ciphers=fixed) as after:
        assert _openssl_connects(reproduce, after.port)
