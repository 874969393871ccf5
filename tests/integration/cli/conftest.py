"""Fixtures for the end-to-end CLI tests: a test PKI, its root written to disk as the CLI's
``--ca-bundle``, and ``cli(...)`` which runs ``origin-auditor`` in-process through ``main()`` and
captures exit status, stdout and stderr."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from origin_auditor.cli import main
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import unbindable

ROOT = Path(__file__).resolve().parents[3]
CONSOLE_SCRIPT = ROOT / ".venv" / "bin" / "origin-auditor"


@dataclass(frozen=True)
class Run:
    """One CLI invocation: exit status and what it wrote to each stream."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


CliRunner = Callable[..., Run]


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's shell must not change what the CLI trusts or which AWS it talks to.
    for k in ("ORIGIN_AUDITOR_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN",
              "FINDINGS_TOPIC_ARN"):
        monkeypatch.delenv(k, raising=False)


@pytest.fixture
def cli() -> CliRunner:
    """``cli("check", "host:port", ..., stdin="text")`` -> Run, through the same ``main`` the console
    script calls (``stdin``: what ``-`` reads; none given, an empty stream)."""
    def run(*argv: str, stdin: str = "") -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), out=out, err=err, stdin=io.StringIO(stdin))
        return Run(code, out.getvalue(), err.getvalue())
    return run


@pytest.fixture(scope="session")
def pki() -> Pki:
    """root -> intermediate -> leaf for origin.test (and alt.test), ECDSA P-256."""
    return Pki(hostnames=("origin.test", "alt.test"))


@pytest.fixture(scope="session")
def pki2() -> Pki:
    """root -> int1 -> int2 -> leaf, so a shuffled bundle has more than one wrong order."""
    return Pki(hostnames=("deep.test",), depth=2)


@pytest.fixture(scope="session")
def ca_file(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test root as a PEM file: what ``--ca-bundle`` / ORIGIN_AUDITOR_CA_BUNDLE point at."""
    path = tmp_path_factory.mktemp("ca") / "root.pem"
    path.write_bytes(pki.root_pem)
    return str(path)


@pytest.fixture(scope="session")
def ca2_file(pki2: Pki, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca2") / "root.pem"
    path.write_bytes(pki2.root_pem)
    return str(path)


@pytest.fixture(scope="session")
def loopback_aliases() -> Iterator[None]:
    """Skip when 127.0.0.5-127.0.0.7 cannot be bound (non-Linux loopback)."""
    missing = unbindable(f"127.0.0.{last}" for last in (5, 6, 7))
    if missing:
        pytest.skip(f"cannot bind {missing} on this system")
    yield
