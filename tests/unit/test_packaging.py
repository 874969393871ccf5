"""The Lambda artifact is the runtime package alone: the lab (test PKI, servers, the demo) is a
separate top-level package, ``origin_auditor_lab``, and moto is the demo's extra. The handler, and
every module the artifact ships, must import without either; the CLI reaches the demo only through
an entry point and explains itself when it is not there."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from origin_auditor import cli

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "scripts" / "build_lambda.sh"
# What the artifact must not reach: the lab, the demo (wherever it lived) and moto.
UNWANTED = ("origin_auditor_lab", "origin_auditor.lab", "origin_auditor.demo", "moto")
DEMO_HINT = "pip install 'origin-auditor[demo]'"


def _run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *flags, "-c", code], check=False, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda artifact as `sam build` makes it, code only (no wheel downloads)."""
    out = tmp_path_factory.mktemp("artifact")
    done = subprocess.run([str(BUILD), str(out), "--no-deps"], check=False, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return out


def test_handler_and_cli_import_without_lab_or_moto() -> None:
    code = (
        "import sys\n"
        "sys.modules['moto'] = None\n"            # None in sys.modules makes `import moto` fail
        "sys.modules['origin_auditor_lab'] = None\n"
        "import origin_auditor.handler, origin_auditor.cli, origin_auditor.audit\n"
        "print('ok')\n"
    )
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_demo_without_moto_is_a_clear_usage_error() -> None:
    code = (
        "import sys, io\n"
        "sys.modules['moto'] = None\n"
        "from origin_auditor.cli import main\n"
        "err = io.StringIO()\n"
        "rc = main(['demo'], out=io.StringIO(), err=err)\n"
        "print(rc, err.getvalue().strip())\n"
    )
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 origin-auditor: error: the demo needs moto")


def test_demo_without_the_lab_is_the_same_usage_error() -> None:
    # The entry point is registered but its module cannot load (a runtime-only copy of the code).
    code = (
        "import sys, io\n"
        "sys.modules['origin_auditor_lab'] = None\n"
        "from origin_auditor.cli import main\n"
        "err = io.StringIO()\n"
        "rc = main(['demo'], out=io.StringIO(), err=err)\n"
        "print(rc, err.getvalue().strip())\n"
    )
    done = _run(code)
    assert done.returncode == 0, done.stderr
    # `import origin_auditor_lab.demo` with the package blocked names the module it was after.
    assert re.fullmatch(r"2 origin-auditor: error: the demo needs moto \(origin_auditor_lab(\.demo)? is "
                        r"missing\): " + re.escape(DEMO_HINT), done.stdout.strip()), done.stdout


def test_demo_without_its_entry_point_is_the_same_usage_error(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    # No metadata names the demo at all (the lab's distribution not installed): still one line, exit 2.
    monkeypatch.setattr(cli, "COMMANDS_GROUP", "origin_auditor.no_such_group")
    assert cli.main(["demo"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"origin-auditor: error: the demo needs moto (origin_auditor_lab is missing): {DEMO_HINT}"]


def test_the_demo_entry_point_is_the_labs_run_demo() -> None:
    from importlib.metadata import entry_points

    from origin_auditor_lab.demo import run_demo

    found = list(entry_points(group=cli.COMMANDS_GROUP, name="demo"))
    assert [ep.value for ep in found] == ["origin_auditor_lab.demo:run_demo"]
    assert found[0].load() is run_demo


def test_artifact_is_the_runtime_package_only(artifact: Path) -> None:
    assert sorted(p.name for p in artifact.iterdir()) == ["origin_auditor"]
    shipped = {p.relative_to(artifact).as_posix() for p in artifact.rglob("*") if p.is_file()}
    source = {p.relative_to(ROOT / "functions").as_posix()
              for p in (ROOT / "functions" / "origin_auditor").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert shipped == source
    assert "origin_auditor/handler.py" in shipped
    assert not [f for f in shipped if "lab" in f.split("/") or f.endswith("/demo.py")]


def _imported_modules(path: Path, package: str) -> list[tuple[int, str]]:
    """Every module ``path`` imports, relative imports resolved: (line, dotted name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            names.append((node.lineno, base))
            names += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]  # `from . import x`
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module"))
                   or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))):
            names.append((node.lineno, node.args[0].value))
    return names


def test_no_module_in_the_artifact_imports_the_lab_the_demo_or_moto(artifact: Path) -> None:
    modules = sorted(artifact.rglob("*.py"))
    assert len(modules) > 10
    offending = []
    for path in modules:
        rel = path.relative_to(artifact).with_suffix("")
        package = ".".join(rel.parts[:-1])  # a module's package, or an __init__'s own
        for line, name in _imported_modules(path, package):
            if any(name == u or name.startswith(u + ".") for u in UNWANTED):
                offending.append(f"{rel}.py:{line}: {name}")
    assert offending == []


def test_import_scan_sees_relative_and_dynamic_imports(tmp_path: Path) -> None:
    # The scan above is only as good as its resolution of `from .lab import ...` and friends.
    sample = tmp_path / "sample.py"
    sample.write_text("from .lab.pki import Pki\nfrom . import demo\nfrom .. import x\n"
                      "import importlib\nimportlib.import_module('moto')\n", encoding="utf-8")
    found = {name for _, name in _imported_modules(sample, "origin_auditor.sub")}
    assert {"origin_auditor.sub.lab.pki", "origin_auditor.sub.demo", "origin_auditor.x", "moto"} <= found
    found = {name for _, name in _imported_modules(sample, "origin_auditor")}
    assert {"origin_auditor.lab.pki", "origin_auditor.demo"} <= found


def test_every_artifact_module_imports_from_the_artifact_without_lab_or_moto(artifact: Path) -> None:
    # The artifact's code plus the installed dependencies, and nothing of this checkout: -I ignores
    # PYTHONPATH, -S skips site (and with it the editable install's path hooks).
    site_dirs = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    code = (
        "import sys, importlib, pkgutil\n"
        f"sys.path[:0] = {[str(artifact), *site_dirs]!r}\n"
        "sys.modules['moto'] = None\n"
        "sys.modules['origin_auditor_lab'] = None\n"
        "import origin_auditor, origin_auditor.handler\n"
        "names = [m.name for m in pkgutil.walk_packages(origin_auditor.__path__, 'origin_auditor.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "outside = sorted(n for n, m in sys.modules.items() if n.startswith('origin_auditor')\n"
        f"                 and m is not None and not (m.__file__ or '').startswith({str(artifact)!r}))\n"
        f"reached = sorted(n for n, m in sys.modules.items()\n"
        f"                 if m is not None and n.startswith({UNWANTED!r}))\n"
        "print(len(names), outside, reached)\n"
    )
    done = _run(code, "-I", "-S")
    assert done.returncode == 0, done.stderr
    count, rest = done.stdout.strip().split(" ", 1)
    assert int(count) > 10
    assert rest == "[] []"
