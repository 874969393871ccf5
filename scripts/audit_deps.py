"""Known vulnerabilities in the Lambda bundle's locked dependencies (`make audit-deps`).

pip-audit prints "No known vulnerabilities found" even when it could not look any package up (its
vulnerability service unreachable, as on an offline CI runner), which reads as a clean bill of
health for packages nobody checked. This wrapper asks pip-audit for JSON and says exactly what was
audited, what was not and why:

- exit 1: a vulnerability was found in an audited package;
- exit 1 with AUDIT_STRICT=1: some package could not be audited;
- exit 0 otherwise, with a "not audited" line for every package that was not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def summarize(report: dict[str, Any], *, strict: bool) -> tuple[list[str], int]:
    """What to print for pip-audit's JSON ``report``, and the exit status."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    vulnerable = [d for d in audited if d.get("vulns")]
    lines = [f"VULNERABLE {d['name']} {d['version']}: {', '.join(v.get('id', '?') for v in d['vulns'])}"
             for d in vulnerable]
    lines += [f"not audited {d['name']}: {d['skip_reason']}" for d in skipped]
    lines.append(f"audit-deps: {len(audited)} of {len(deps)} locked packages audited, "
                 f"{len(vulnerable)} with known vulnerabilities, {len(skipped)} not audited"
                 + (" (the vulnerability data was unreachable: nothing is known about them)"
                    if skipped else ""))
    if vulnerable:
        return lines, 1
    if skipped and strict:
        lines.append("audit-deps: AUDIT_STRICT is set and some packages were not audited")
        return lines, 1
    return lines, 0


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    done = subprocess.run(
        [str(pip_audit), "--disable-pip", "--no-deps", "-r", str(ROOT / "requirements.lock"),
         "--progress-spinner", "off", "--format", "json"],
        capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(f"audit-deps: pip-audit gave no report (exit {done.returncode}): "
              f"{done.stderr.strip()[-500:]}", file=sys.stderr)
        return 1
    lines, status = summarize(report, strict=bool(os.environ.get("AUDIT_STRICT")))
    for line in lines:
        print(line)
    return status

if __name__ == "__main__":
    raise SystemExit(main())
