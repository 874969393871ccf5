"""Packaging hygiene: the build backend understands the license, the lock can be regenerated,
the SAM CLI under CI is pinned, and the dependency audit never claims what it did not check."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_setuptools_floor_supports_the_license_expression_and_the_license_file_ships() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # PEP 639 (license = "MIT" as an SPDX expression, license-files) needs setuptools 77.
    floor = re.search(r"setuptools>=(\d+)", " ".join(project["build-system"]["requires"]))
    assert floor is not None and int(floor.group(1)) >= 77
    assert project["project"]["license"] == "MIT"
    assert project["project"]["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_the_lock_names_the_make_target_that_regenerates_it() -> None:
    header = (ROOT / "requirements.lock").read_text().split("\n", 3)[:3]
    assert "`make lock`" in " ".join(header)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lock:.*\n\t\$\(PY\) scripts/lock\.py$", makefile, re.M)


def test_every_locked_runtime_dependency_is_pinned_with_a_hash() -> None:
    entries = re.findall(r"^([a-z0-9-]+)==(\S+) \\\n    --hash=sha256:([0-9a-f]{64})$",
                         (ROOT / "requirements.lock").read_text(), re.M)
    names = {n for n, _, _ in entries}
    for dep in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        assert re.split(r"[<>=\[ ]", dep)[0].lower() in names


def test_ci_installs_a_pinned_sam_cli() -> None:
    makefile = (ROOT / "Makefile").read_text()
    version = re.search(r"^SAM_CLI_VERSION \?= (\d+\.\d+\.\d+)$", makefile, re.M)
    assert version is not None
    assert 'pip install -q "aws-sam-cli==$(SAM_CLI_VERSION)"' in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make validate" in ci and "make build" in ci


def test_audit_says_not_audited_when_the_vulnerability_data_was_unreachable() -> None:
    audit = _script("audit_deps")
    report = {"dependencies": [
        {"name": "boto3", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        {"name": "six", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ]}
    lines, status = audit.summarize(report, strict=False)
    text = "\n".join(lines)
    assert status == 0
    assert "not audited boto3" in text and "not audited six" in text
    assert "0 of 2 locked packages audited" in text
    assert "No known vulnerabilities" not in text
    _, strict_status = audit.summarize(report, strict=True)
    assert strict_status == 1


def test_audit_fails_on_a_known_vulnerability_and_passes_a_clean_audit() -> None:
    audit = _script("audit_deps")
    vulnerable = {"dependencies": [{"name": "urllib3", "version": "1.0", "vulns": [{"id": "GHSA-x"}]},
                                   {"name": "six", "version": "1.17.0", "vulns": []}]}
    lines, status = audit.summarize(vulnerable, strict=False)
    assert status == 1 and "VULNERABLE urllib3 1.0: GHSA-x" in lines
    clean = {"dependencies": [{"name": "six", "version": "1.17.0", "vulns": []}]}
    lines, status = audit.summarize(clean, strict=True)
    assert status == 0 and lines[-1].startswith("audit-deps: 1 of 1 locked packages audited, 0 with")
