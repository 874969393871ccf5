"""``origin-auditor demo``: the whole pipeline on an embedded (moto) AWS with four loopback TLS
origins. Run once per module (it takes a couple of seconds) and read from several angles."""

from __future__ import annotations

import io
import json
import os
import re
from typing import Any

import pytest

from origin_auditor.cli import main
from origin_auditor.model import Classification
from origin_auditor_lab.demo import run_demo

from .conftest import Run

# alias -> (classification, the finding that explains it)
EXPECTED = {
    "api.example.com": ("OUTAGE", "CHAIN_WRONG_ORDER"),
    "shop.example.com": ("LATENT", "CHAIN_INCOMPLETE"),
    "images.example.com": ("AT_RISK", "CERT_EXPIRING_SOON"),
    "www.example.com": ("HEALTHY", None),
}
CHAT_HEADER = "--- Slack/Teams via Amazon Q Developer in chat applications (the `https` entry):"
EMAIL_HEADER = "--- email (the `email`/`default` entry):"


@pytest.fixture(scope="module")
def demo() -> tuple[Run, dict[str, str], dict[str, str]]:
    """The text demo's output, plus the process environment before and after it."""
    before = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    code = run_demo(out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue()), before, dict(os.environ)


def sections(text: str) -> dict[str, str]:
    """Distribution blocks of the text report keyed by alias (a block ends at a blank line)."""
    blocks: dict[str, str] = {}
    for block in text.split("\n\n"):
        m = re.match(rf"^({'|'.join(Classification)})\s+\S+\s+(\S+)", block)
        if m:
            blocks[m.group(2)] = block
    return blocks


def chat_payload(text: str) -> Any:
    start = text.index("{", text.index(CHAT_HEADER))
    payload, _ = json.JSONDecoder().raw_decode(text, start)
    return payload


def test_demo_exits_0_and_reports_progress_on_stderr(demo: tuple[Run, Any, Any]) -> None:
    run, _, _ = demo
    assert run.code == 0
    assert "origin-auditor demo: invoking the Lambda handler" in run.err
    assert "probed 4/4 origins" in run.err


def test_demo_classifies_each_distribution_by_its_recreated_situation(demo: tuple[Run, Any, Any]) -> None:
    run, _, _ = demo
    blocks = sections(run.out)
    assert set(blocks) == set(EXPECTED), run.out
    for alias, (classification, code) in EXPECTED.items():
        block = blocks[alias]
        assert block.startswith(classification), block
        if code:
            assert code in block, (alias, block)
        else:
            assert re.search(r"^\s+PASS\s", block, re.M), block
    # Worst first, as a person reads it.
    order = [m.group(1) for m in re.finditer(r"^(OUTAGE|LATENT|AT_RISK|HEALTHY)\s", run.out, re.M)]
    assert order == ["OUTAGE", "LATENT", "AT_RISK", "HEALTHY"]
    assert "4 distribution(s): 1 OUTAGE, 1 LATENT, 1 AT_RISK, 1 HEALTHY" in run.out


def test_demo_shows_the_email_text_that_sns_delivered(demo: tuple[Run, Any, Any]) -> None:
    run, _, _ = demo
    assert EMAIL_HEADER in run.out
    email = run.out[run.out.index(EMAIL_HEADER):run.out.index(CHAT_HEADER)]
    assert re.search(r"NEW \[OUTAGE\] api\.demo:\d+", email), email
    assert re.search(r"NEW \[LATENT\] assets\.shop\.demo:\d+", email), email
    assert re.search(r"NEW \[AT_RISK\] images\.demo:\d+", email), email
    assert "www.demo" not in email  # healthy: nothing to tell
    assert "=== delivered to the SQS subscriber: 1 message(s)" in run.out
    subject = re.search(r"^=== Published to SNS: (.*)$", run.out, re.M)
    assert subject is not None
    assert subject.group(1).startswith("[OUTAGE]")
    assert len(subject.group(1)) < 100  # SNS Subject limit


def test_demo_chat_payload_is_an_amazon_q_custom_notification(demo: tuple[Run, Any, Any]) -> None:
    run, _, _ = demo
    payload = chat_payload(run.out)
    assert payload["version"] == "1.0"
    assert payload["source"] == "custom"
    assert isinstance(payload["id"], str) and payload["id"]
    content = payload["content"]
    assert content["textType"] == "client-markdown"
    assert content["title"].startswith("[OUTAGE]")
    assert "CHAIN_WRONG_ORDER" in content["description"]
    assert isinstance(content["nextSteps"], list) and all(isinstance(s, str) for s in content["nextSteps"])
    assert {"OUTAGE", "CHAIN_WRONG_ORDER", "CHAIN_INCOMPLETE"} <= set(content["keywords"])
    metadata = payload["metadata"]
    assert metadata["threadId"] and metadata["summary"] and metadata["eventType"]
    assert len(metadata["relatedResources"]) == 3  # the three distributions with news


def test_demo_second_unchanged_run_sends_no_notification(demo: tuple[Run, Any, Any]) -> None:
    run, _, _ = demo
    assert "=== A second scheduled run with nothing changed: no notification sent." in run.out
    assert "published again" not in run.out


def test_demo_leaves_the_process_environment_as_it_found_it(demo: tuple[Run, Any, Any]) -> None:
    # It sets fake AWS credentials for moto; they must not leak into whatever runs next.
    _, before, after = demo
    assert after == before


def test_demo_json_format_carries_the_classifications(cli: Any) -> None:
    run = cli("demo", "--format", "json")
    assert run.code == 0
    doc = run.json()
    assert doc["schema"] == "origin-auditor/1"
    by_alias = {d["aliases"][0]: d for d in doc["distributions"]}
    assert {a: d["classification"] for a, d in by_alias.items()} == {a: c for a, (c, _) in EXPECTED.items()}
    for alias, (_, code) in EXPECTED.items():
        results = [doc["results"][i] for i in by_alias[alias]["results"]]
        found = {f["code"] for r in results for f in r["findings"]}
        if code:
            assert code in found, (alias, found)


def test_demo_runs_through_main(capsys: pytest.CaptureFixture[str]) -> None:
    # main() without out/err writes to the process's streams, as the console script does.
    assert main(["demo", "--format", "markdown"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# origin-auditor report")
    assert "## OUTAGE:" in captured.out


def test_demo_without_moto_installed_exits_2_saying_how_to_install_it(
        cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto is an optional extra: a plain install must get an instruction, not a traceback.
    # A None entry in sys.modules makes the real import machinery raise ImportError for it.
    import sys
    monkeypatch.setitem(sys.modules, "moto", None)
    monkeypatch.delitem(sys.modules, "origin_auditor_lab.demo", raising=False)
    run = cli("demo")
    assert run.code == 2
    assert run.out == ""
    assert run.err.splitlines() == ["origin-auditor: error: the demo needs moto (moto is missing): "
                                    "pip install 'origin-auditor[demo]'"]
