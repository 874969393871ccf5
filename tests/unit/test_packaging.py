"""The Lambda bundle leaves out lab/ (test PKI and servers) and moto: the handler, and every
stage it uses, must import without them."""

from __future__ import annotations

import subprocess
import sys


def test_handler_and_cli_import_without_lab_or_moto() -> None:
    code = (
        "import sys\n"
        "sys.modules['moto'] = None\n"            # None in sys.modules makes `import moto` fail
        "sys.modules['origin_auditor.lab'] = None\n"
        "import origin_auditor.handler, origin_auditor.cli, origin_auditor.audit\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          timeout=60)
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
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 origin-auditor: error: the demo needs moto")
