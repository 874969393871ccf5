"""Usage: ``--help`` for every command, ``--version``, and bad arguments exit 2 with one line
(``origin-auditor: error: ...``, argparse's own errors included: no usage block).

The console script runs in a subprocess (as CI and users run it: argparse exits via SystemExit
there); value errors are also checked in-process, where they are cheap to enumerate."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from origin_auditor import __version__
from origin_auditor_lab.pki import Pki, pem_bundle

from .conftest import CONSOLE_SCRIPT, CliRunner

needs_script = pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="console script not installed")


def script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, timeout=30,
                          check=False)


@needs_script
@pytest.mark.parametrize("command", [[], ["check"], ["check-bundle"], ["audit"], ["demo"]],
                         ids=["top", "check", "check-bundle", "audit", "demo"])
def test_help_exits_0_and_describes_the_command(command: list[str]) -> None:
    proc = script(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: origin-auditor {' '.join(command)}".rstrip())
    assert proc.stderr == ""
    if not command:
        for sub in ("check", "check-bundle", "audit", "demo"):
            assert sub in proc.stdout


@needs_script
def test_version_exits_0() -> None:
    proc = script("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"origin-auditor {__version__}"


@needs_script
@pytest.mark.parametrize("args", [
    [],                                            # no command
    ["frobnicate"],                                # unknown command
    ["check"],                                     # no origin
    ["check", "origin.test", "--bogus"],           # unknown option
    ["check", "origin.test", "--format", "xml"],   # not a format
    ["check", "origin.test", "--fail-on", "info"],
    ["check", "origin.test", "--concurrency", "0"],
    ["check", "origin.test", "--warn-days", "-1"],
    ["check-bundle", "bundle.pem"],                # --host is required
    ["audit", "--format", "yaml"],
], ids=lambda a: " ".join(a) or "nothing")
def test_bad_arguments_exit_2_with_one_line_on_stderr(args: list[str]) -> None:
    proc = script(*args)
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith("origin-auditor: error: ")
    assert "usage:" not in proc.stderr


@needs_script
def test_bad_value_through_the_console_script_is_one_line() -> None:
    proc = script("check", "origin.test", "--timeout", "0")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == ["origin-auditor: error: --timeout: must be between 0.5 and 60 "
                                        "seconds, got 0"]


@pytest.mark.parametrize(("args", "names"), [
    (["check", "origin.test", "--timeout", "0"], "--timeout"),
    (["check", "origin.test", "--timeout", "soon"], "--timeout"),
    (["check", "origin.test", "--timeout", "nan"], "--timeout"),
    (["check", "origin.test", "--timeout", "121"], "--timeout"),
    (["check", "origin.test", "--at", "next tuesday"], "--at"),
    (["check", "origin.test", "--protocols", "TLSv1.3"], "--protocols"),
    (["check", "origin.test", "--protocols", ","], "--protocols"),
    (["check", "origin.test", "--resolve", "origin.test"], "--resolve"),
    (["check", "origin.test", "--resolve", "origin.test=not-an-ip"], "--resolve"),
    (["check", "origin.test:99999"], "port"),
    (["check", "origin.test:https"], "port"),
    (["check", "http://origin.test"], "https://"),
    (["check", "bad host name"], "not a host name"),
    (["check", "[::1"], "IPv6"),
    (["check", "origin.test", "--ca-bundle", "/nonexistent/roots.pem"], "--ca-bundle"),
    (["audit", "--lookback", "30d"], "--lookback"),
    (["audit", "--lookback", "soon"], "--lookback"),
])
def test_bad_values_exit_2_with_one_line_naming_the_problem(
        cli: CliRunner, args: list[str], names: str) -> None:
    # Validated before anything connects: none of these reach the network or AWS.
    run = cli(*args)
    assert run.code == 2
    assert run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("origin-auditor: error: ")
    assert names in lines[0]


def test_ca_bundle_that_is_not_pem_exits_2(cli: CliRunner, tmp_path: Path) -> None:
    bogus = tmp_path / "roots.pem"
    bogus.write_text("not a certificate\n")
    run = cli("check", "origin.test", "--ca-bundle", str(bogus))
    assert run.code == 2
    assert run.err.splitlines() == [f"origin-auditor: error: --ca-bundle: {bogus}: not a PEM file with "
                                    "CERTIFICATE blocks"]


def test_usage_errors_and_help_go_to_the_streams_main_was_given(
        cli: CliRunner, capsys: pytest.CaptureFixture[str]) -> None:
    bad = cli("check-bundle", "b.pem")
    helped = cli("check", "--help")
    leaked = capsys.readouterr()
    assert bad.code == 2
    assert bad.err == "origin-auditor: error: the following arguments are required: --host\n"
    assert helped.code == 0
    assert helped.out.startswith("usage: origin-auditor check")
    assert leaked.out == leaked.err == ""


@needs_script
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_report_survives_a_stdout_that_is_not_utf8(pki2: Pki, ca2_file: str, tmp_path: Path,
                                                    fmt: str) -> None:
    # Given a wrong-order bundle (its message draws the chain with arrows) and a cp1252 stdout,
    # the report must still be written and the exit status must still mean "findings" (1),
    # not "crashed" - which Python also reports as 1.
    bundle = tmp_path / "wrong-order.pem"
    bundle.write_bytes(pem_bundle([pki2.intermediates[0], pki2.leaf, pki2.intermediates[1]]))
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    proc = subprocess.run([str(CONSOLE_SCRIPT), "check-bundle", str(bundle), "--host", "deep.test",
                           "--ca-bundle", ca2_file, "--format", fmt], env=env, capture_output=True,
                          timeout=30, check=False)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")[-400:]
    assert proc.returncode == 1
    assert b"CHAIN_WRONG_ORDER" in proc.stdout


@needs_script
def test_closed_stdout_pipe_ends_quietly(pki2: Pki, ca2_file: str, tmp_path: Path) -> None:
    # Given a reader that has already gone away (as `| head -1` does after one line), writing the
    # report fails with EPIPE; that is the reader's choice, not an error worth a traceback.
    bundle = tmp_path / "good.pem"
    bundle.write_bytes(pem_bundle(pki2.chain()))
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([str(CONSOLE_SCRIPT), "check-bundle", str(bundle), "--host", "deep.test",
                               "--ca-bundle", ca2_file], stdout=write_end, stderr=subprocess.PIPE,
                              timeout=30, check=False)
    finally:
        os.close(write_end)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")[-400:]
