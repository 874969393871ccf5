"""Regenerate the README's example e-mail and chat card from the demo (`make docs`).

The demo (`origin-auditor demo`: moto + loopback TLS origins) publishes the message; this takes
the subject, the `email` entry and the `https` entry from what it printed. What differs between
two runs is replaced by stand-ins of the same length, so the wrapping is the code's own: moto's
random distribution ids, the origins' ephemeral port and the clock (shifted as a whole, so "in 4
days" stays true). tests/unit/test_docs.py runs the demo again and fails when the README and the
code disagree; this fixes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT / "lab")]

START, END = "<!-- example-messages:start -->", "<!-- example-messages:end -->"
RUN_AT = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.UTC)  # the stand-in for the demo's clock
PORT = "10443"  # the stand-in for the ephemeral port (5 digits, as Linux's ephemeral ports)


def demo_output() -> str:
    from origin_auditor_lab.demo import run_demo  # noqa: PLC0415 (after sys.path is set)

    out = io.StringIO()
    run_demo(out=out, err=io.StringIO())
    return out.getvalue()


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def normalise(output: str) -> tuple[str, str, dict[str, object]]:
    """(subject, e-mail, chat card) of the demo's printed notification, volatile parts replaced."""
    subject = _between(output, "=== Published to SNS: ", "\n")
    email = _between(output, "--- email (the `email`/`default` entry):\n\n",
                     "\n\n--- Slack/Teams via Amazon Q Developer")
    chat = _between(output, "(the `https` entry):\n\n", "\n\n=== A second")
    run = re.search(r"run (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", email)
    assert run is not None, "the demo's e-mail names no run time"
    shift = RUN_AT - dt.datetime.fromisoformat(run.group(1).replace("Z", "+00:00"))
    ids = list(dict.fromkeys(re.findall(r"distribution ([A-Z0-9]{13,14})\b", email)))
    ports = set(re.findall(r":(\d{4,5})\b", email))

    def fix(text: str) -> str:
        # The archived report's key: the run's UTC date and time (the clock's stand-in below).
        text = re.sub(r"reports/\d{4}/\d\d/\d\d/\d{6}Z-",
                      f"reports/{RUN_AT:%Y/%m/%d/%H%M%S}Z-", text)
        # Certificate fingerprints: the demo's keys are new every run (same length: wrapping kept).
        text = re.sub(r"\b[0-9a-f]{64}\b", "0123456789abcdef" * 4, text)
        for n, old in enumerate(ids, 1):
            text = text.replace(old, f"E{n}EXAMPLE".ljust(len(old), "0"))
        for port in ports:
            if len(port) == len(PORT):
                text = re.sub(rf"(?<=[: ]){port}\b", PORT, text)
        text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lambda m: _shifted(m.group(), shift,
                                                                           "%Y-%m-%dT%H:%M:%SZ"), text)
        return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d(?= UTC)",
                      lambda m: _shifted(m.group(), shift, "%Y-%m-%d %H:%M"), text)

    subject, email = fix(subject), fix(email)
    card = json.loads(fix(chat))
    # The card's id is a digest of the run time and the subject: recomputed from the stand-ins.
    card["id"] = hashlib.sha256(f"{RUN_AT:%Y-%m-%dT%H:%M:%SZ}|{subject}".encode()).hexdigest()[:32]
    return subject, email, card


def _shifted(text: str, shift: dt.timedelta, fmt: str) -> str:
    moment = dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC) + shift
    return moment.strftime(fmt)


def block(output: str) -> str:
    subject, email, card = normalise(output)
    return "\n".join([
        START,
        f"Subject: `{subject}`",
        "",
        "```text",
        email,
        "```",
        "",
        "The chat card (`https`), as Amazon Q Developer receives it:",
        "",
        "```json",
        json.dumps(card, indent=2, ensure_ascii=False),
        "```",
        END,
    ])


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block(demo_output()), text, flags=re.S)
    if new == text:
        print("README.md example messages already up to date")
    else:
        readme.write_text(new)
        print("README.md example messages updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
