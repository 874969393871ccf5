"""Regenerate the finding-code table in README.md from rules.CODES (`make docs`).

tests/unit/test_docs.py fails when the README and the code disagree; this fixes it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))

from origin_auditor.rules import CODES  # noqa: E402

START, END = "<!-- codes:start -->", "<!-- codes:end -->"


def table() -> str:
    def cell(text: str) -> str:
        return text.replace("|", "/")
    rows = [f"| `{code}` | {info.severity} | {info.basis} | {cell(info.meaning)} | {cell(info.fix)} |"
            for code, info in CODES.items()]
    return "\n".join(["| code | severity | basis | meaning | fix |", "|---|---|---|---|---|", *rows])


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = re.sub(re.escape(START) + r".*?" + re.escape(END), f"{START}\n{table()}\n{END}", text, flags=re.S)
    if new == text:
        print("README.md code table already up to date")
    else:
        readme.write_text(new)
        print("README.md code table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
