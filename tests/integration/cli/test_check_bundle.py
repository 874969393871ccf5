"""``origin-auditor check-bundle`` end to end, in-process through ``main()``: PEM bundles written
by lab/pki.py to tmp_path, judged offline, fixed with ``--fix``, keys matched with ``--key``, and
private key material never echoed."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from origin_auditor_lab.pki import Issued, Pki, new_key, pem_bundle

from .conftest import CliRunner


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def subjects(pem: bytes) -> list[str]:
    return [c.subject.rfc4514_string() for c in x509.load_pem_x509_certificates(pem)]


def names(certs: list[Issued]) -> list[str]:
    return [c.name for c in certs]


def test_good_bundle_passes_with_exit_0(cli: CliRunner, pki2: Pki, ca2_file: str, tmp_path: Path) -> None:
    bundle = write(tmp_path, "good.pem", pem_bundle(pki2.chain()))
    run = cli("check-bundle", bundle, "--host", "deep.test", "--ca-bundle", ca2_file)
    assert run.code == 0, run.out
    assert re.search(r"^PASS\s+deep\.test:443$", run.out, re.M), run.out
    assert run.err == ""


def test_bundle_for_another_host_fails_hostname_mismatch(cli: CliRunner, pki2: Pki, ca2_file: str,
                                                         tmp_path: Path) -> None:
    bundle = write(tmp_path, "good.pem", pem_bundle(pki2.chain()))
    run = cli("check-bundle", bundle, "--host", "other.test", "--ca-bundle", ca2_file)
    assert run.code == 1
    assert "HOSTNAME_MISMATCH" in run.out


def test_shuffled_bundle_is_wrong_order_and_fix_writes_the_issuing_order(
        cli: CliRunner, pki2: Pki, ca2_file: str, tmp_path: Path) -> None:
    int1, int2 = pki2.intermediates
    shuffled = [int1, pki2.leaf, pki2.root, int2]
    bundle = write(tmp_path, "shuffled.pem", pem_bundle(shuffled))
    fixed = tmp_path / "fixed.pem"

    run = cli("check-bundle", bundle, "--host", "deep.test", "--ca-bundle", ca2_file, "--fix", str(fixed))

    assert run.code == 1
    assert re.search(r"^FAIL\s+deep\.test:443\s+CHAIN_WRONG_ORDER", run.out, re.M), run.out
    assert f"wrote {fixed}" in run.err
    # Leaf, then each issuer; the root is left out (CloudFront has it).
    assert subjects(fixed.read_bytes()) == names([pki2.leaf, int2, int1])
    # And the fixed file now passes the same check.
    again = cli("check-bundle", str(fixed), "--host", "deep.test", "--ca-bundle", ca2_file)
    assert again.code == 0, again.out


def test_fix_refuses_a_bundle_missing_an_intermediate_and_names_issuer_and_aia_url(
        cli: CliRunner, pki2: Pki, ca2_file: str, tmp_path: Path) -> None:
    int1, int2 = pki2.intermediates
    bundle = write(tmp_path, "missing.pem", pem_bundle([pki2.leaf, int1]))
    fixed = tmp_path / "fixed.pem"

    run = cli("check-bundle", bundle, "--host", "deep.test", "--ca-bundle", ca2_file, "--fix", str(fixed))

    assert run.code == 1
    assert "CHAIN_INCOMPLETE" in run.out
    refusal = [line for line in run.err.splitlines() if "--fix refused" in line]
    assert len(refusal) == 1, run.err
    assert int2.name in refusal[0]  # the missing issuer
    assert "http://pki.test/int2.der" in refusal[0]  # the leaf's caIssuers URL
    assert not fixed.exists()  # nothing half-fixed is left to deploy


def test_key_that_belongs_to_the_leaf_passes(cli: CliRunner, pki2: Pki, ca2_file: str,
                                             tmp_path: Path) -> None:
    bundle = write(tmp_path, "good.pem", pem_bundle(pki2.chain()))
    key = write(tmp_path, "key.pem", pki2.leaf.key_pem)
    run = cli("check-bundle", bundle, "--host", "deep.test", "--ca-bundle", ca2_file, "--key", key)
    assert run.code == 0, run.out
    assert run.err == ""


def test_key_that_does_not_belong_to_the_leaf_fails_and_says_so(
        cli: CliRunner, pki2: Pki, ca2_file: str, tmp_path: Path) -> None:
    bundle = write(tmp_path, "good.pem", pem_bundle(pki2.chain()))
    key = write(tmp_path, "other-key.pem", pki2.intermediates[0].key_pem)
    run = cli("check-bundle", bundle, "--host", "deep.test", "--ca-bundle", ca2_file, "--key", key)
    assert run.code == 1
    assert re.search(r"^FAIL\s+deep\.test:443\s+KEY_MISMATCH$", run.out, re.M), run.out
    assert f"{key} does not belong to the leaf certificate in {bundle}" in run.err


def test_json_on_stdout_stays_parseable_when_fix_and_key_messages_are_written(
        cli: CliRunner, pki2: Pki, ca2_file: str, tmp_path: Path) -> None:
    # A pipeline reads stdout as JSON; the "wrote ..." and key notices must go to stderr.
    int1, int2 = pki2.intermediates
    bundle = write(tmp_path, "shuffled.pem", pem_bundle([int2, pki2.leaf, int1]))
    key = write(tmp_path, "other-key.pem", int1.key_pem)
    fixed = tmp_path / "fixed.pem"
    run = cli("check-bundle", bundle, "--host", "deep.test", "--ca-bundle", ca2_file, "--format", "json",
              "--fix", str(fixed), "--key", key)
    assert run.code == 1
    (result,) = run.json()["results"]
    assert {"CHAIN_WRONG_ORDER", "KEY_MISMATCH"} <= {f["code"] for f in result["findings"]}
    assert [c["subject"] for c in result["addresses"][0]["chain"]] == names([int2, pki2.leaf, int1])
    assert "does not belong to the leaf" in run.err
    assert f"wrote {fixed}" in run.err


def test_unreadable_key_file_does_not_exit_0(cli: CliRunner, pki2: Pki, ca2_file: str,
                                             tmp_path: Path) -> None:
    # Given --key pointing at something that is not a PEM private key, the user asked "does this
    # key belong to the leaf?" and got no answer: a deploy script must not read that as success.
    bundle = write(tmp_path, "good.pem", pem_bundle(pki2.chain()))
    key = write(tmp_path, "not-a-key.pem", b"this is not a key\n")
    run = cli("check-bundle", bundle, "--host", "deep.test", "--ca-bundle", ca2_file, "--key", key)
    assert "KEY_MISMATCH" in run.out
    assert "not a readable PEM private key" in run.out
    assert run.code != 0


@pytest.mark.parametrize(("name", "content"), [
    ("text.pem", b"hello, this is not a certificate\n"),
    ("empty.pem", b""),
    ("cert.der", None),  # DER instead of PEM: a common mix-up
    ("key-only.pem", b"KEY"),
])
def test_input_that_is_not_a_pem_bundle_exits_2_with_one_line(
        cli: CliRunner, pki2: Pki, ca2_file: str, tmp_path: Path, name: str, content: bytes | None) -> None:
    if content is None:
        content = pki2.leaf.der
    elif content == b"KEY":
        content = pki2.leaf.key_pem
    path = write(tmp_path, name, content)
    run = cli("check-bundle", path, "--host", "deep.test", "--ca-bundle", ca2_file)
    assert run.code == 2
    assert run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("origin-auditor: error: ")
    assert path in lines[0]


def test_missing_bundle_file_exits_2_naming_it(cli: CliRunner, ca2_file: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    run = cli("check-bundle", missing, "--host", "deep.test", "--ca-bundle", ca2_file)
    assert run.code == 2
    assert run.err == f"origin-auditor: error: FILE: cannot read {missing}: No such file or directory\n"


def _key_blocks() -> list[tuple[str, bytes]]:
    """Private keys in the encodings people actually paste into bundles."""
    ec = new_key("ec256")
    rsa = new_key("rsa2048")
    none = serialization.NoEncryption()
    pem = serialization.Encoding.PEM
    return [
        ("pkcs8-ec", ec.private_bytes(pem, serialization.PrivateFormat.PKCS8, none)),
        ("traditional-ec", ec.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, none)),
        ("traditional-rsa", rsa.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, none)),
    ]


def _body_lines(key_pem: bytes) -> list[str]:
    return [line for line in key_pem.decode().splitlines() if not line.startswith("-----")]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_private_key_in_the_bundle_is_reported_but_never_echoed(
        cli: CliRunner, pki2: Pki, ca2_file: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str], fmt: str, where: str) -> None:
    caplog.set_level(logging.DEBUG)
    for label, key_pem in _key_blocks():
        certs = [c.pem for c in pki2.chain()]
        blocks = {"first": [key_pem, *certs], "middle": [certs[0], key_pem, *certs[1:]],
                  "last": [*certs, key_pem]}[where]
        bundle = write(tmp_path, f"{label}.pem", b"".join(blocks))
        fixed = tmp_path / f"{label}-fixed.pem"
        # --key with the bundle itself: the key is parsed there, so that path is covered too.
        run = cli("check-bundle", bundle, "--host", "deep.test", "--ca-bundle", ca2_file, "--format", fmt,
                  "--fix", str(fixed), "--key", bundle)
        captured = capsys.readouterr()
        seen = run.out + run.err + captured.out + captured.err + caplog.text
        assert "BUNDLE_CONTAINS_KEY" in run.out, (label, run.out)  # its presence is reported
        for line in _body_lines(key_pem):
            assert line not in seen, f"{label}: key material echoed ({fmt}, key {where})"
        assert "".join(_body_lines(key_pem)) not in seen.replace("\n", "").replace("\\n", "")
        # The fixed bundle is certificates only: the key does not travel on with it.
        assert b"PRIVATE KEY" not in fixed.read_bytes()
        assert subjects(fixed.read_bytes()) == names(pki2.chain())
