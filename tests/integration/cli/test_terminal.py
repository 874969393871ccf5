"""Text output on a terminal (issue 11): it fits the terminal's width, it is coloured only on a
TTY, and ``NO_COLOR`` (https://no-color.org) turns colour off. The console script runs in a
subprocess with a pseudo-terminal as its stdout (``pty``), as a person's shell runs it; a pipe
gets the plain report, unwrapped, line for line as before."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from origin_auditor_lab.pki import Pki, pem_bundle

from .conftest import CONSOLE_SCRIPT

pytestmark = pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="console script not installed")

SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def wrong_order(pki2: Pki, ca2_file: str, tmp_path: Path) -> list[str]:
    """check-bundle arguments for a wrong-order bundle: FAIL, long findings, a fix line."""
    bundle = tmp_path / "wrong-order.pem"
    bundle.write_bytes(pem_bundle([pki2.intermediates[0], pki2.leaf, pki2.intermediates[1]]))
    return ["check-bundle", str(bundle), "--host", "deep.test", "--ca-bundle", ca2_file]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "TERM")}
    return {**env, "TERM": "xterm-256color", **extra}


def on_a_tty(args: list[str], **env: str) -> tuple[int, str]:
    """Run the console script with a pseudo-terminal as stdout; (exit status, what it showed)."""
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen([str(CONSOLE_SCRIPT), *args], stdout=secondary, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=_env(**env))
        os.close(secondary)
        chunks: list[bytes] = []
        end = time.monotonic() + 30
        while time.monotonic() < end:
            ready, _, _ = select.select([primary], [], [], 1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=30)
        assert proc.stderr is not None
        proc.stderr.close()
    finally:
        os.close(primary)
    return code, b"".join(chunks).decode().replace("\r\n", "\n")


def in_a_pipe(args: list[str], **env: str) -> tuple[int, str]:
    proc = subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, timeout=30,
                          check=False, env=_env(**env))
    return proc.returncode, proc.stdout


def test_a_terminal_gets_colour(wrong_order: list[str]) -> None:
    code, shown = on_a_tty(wrong_order)
    assert code == 1
    assert "\x1b[" in shown
    assert re.search(r"^\x1b\[[0-9;]*mFAIL\x1b\[0m\s+deep\.test:443", shown, re.M), shown
    assert re.search(r"^  \x1b\[[0-9;]*mfail\x1b\[0m CHAIN_WRONG_ORDER", shown, re.M), shown


@pytest.mark.parametrize("value", ["1", "true", "0"])  # any non-empty value, even "0" (no-color.org)
def test_no_color_turns_colour_off_on_a_terminal(wrong_order: list[str], value: str) -> None:
    code, shown = on_a_tty(wrong_order, NO_COLOR=value)
    assert code == 1
    assert "\x1b" not in shown
    assert re.search(r"^FAIL\s+deep\.test:443", shown, re.M), shown


def test_an_empty_no_color_does_not(wrong_order: list[str]) -> None:
    _, shown = on_a_tty(wrong_order, NO_COLOR="")
    assert "\x1b[" in shown


def test_a_pipe_gets_no_colour_and_no_wrapping(wrong_order: list[str]) -> None:
    code, out = in_a_pipe(wrong_order, COLUMNS="40")
    assert code == 1
    assert "\x1b" not in out
    # One finding per line, whatever its length: what grep and awk in a pipeline expect.
    assert any(len(line) > 40 and " CHAIN_WRONG_ORDER" in line for line in out.splitlines())
    assert re.search(r"^  fail CHAIN_WRONG_ORDER \[bundle\]: .*\(502\)\.$", out, re.M), out


@pytest.mark.parametrize("columns", [60, 100])
def test_text_fits_the_terminal_width(wrong_order: list[str], columns: int) -> None:
    _, shown = on_a_tty(wrong_order, COLUMNS=str(columns))
    lines = SGR.sub("", shown).splitlines()
    assert lines, shown
    assert max(len(line) for line in lines) <= columns, "\n".join(lines)
    # Wrapped, not cut: every word of the pipe's report is still there, in order.
    _, plain = in_a_pipe(wrong_order)
    assert " ".join(" ".join(lines).replace(" \\", " ").split()) == " ".join(plain.split())
