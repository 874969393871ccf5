"""The mixed run through every renderer: nothing raises, the JSON is valid and complete, and
no hostile byte reaches a terminal or an e-mail raw."""

from __future__ import annotations

import json

import pytest

from origin_auditor.report import FORMATS, render

from .conftest import MixedRun


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_the_run_with_only_printable_lines(mixed_run: MixedRun, fmt: str) -> None:
    out = render(mixed_run.report, fmt)
    # Newlines separate lines; anything else non-printable (NUL, ESC, CR, BEL, bidi overrides)
    # would let a certificate rewrite what a terminal or mail client shows.
    bad = [(i, line) for i, line in enumerate(out.split("\n")) if not line.isprintable()]
    assert bad == []


def test_json_report_is_valid_and_has_every_result_in_input_order(mixed_run: MixedRun) -> None:
    doc = json.loads(render(mixed_run.report, "json"))
    assert doc["schema"] == "origin-auditor/1"
    assert [(r["target"]["host"], r["target"]["port"]) for r in doc["results"]] == \
        [(t.host, t.port) for t in mixed_run.targets]
    assert [r["verdict"] for r in doc["results"]] == [str(r.verdict) for r in mixed_run.ordered]


def test_json_strings_carry_no_control_characters_once_decoded(mixed_run: MixedRun) -> None:
    # json.dumps escapes a NUL as \\u0000, which is valid JSON, but whoever puts the decoded
    # message into a mail or a chat message gets the raw byte back: the strings must be clean.
    doc = json.loads(render(mixed_run.report, "json"))
    bad = [s for s in _strings(doc) if not s.isprintable()]
    assert bad == []


def test_hostile_names_are_visible_escaped_in_the_text_report(mixed_run: MixedRun) -> None:
    text = render(mixed_run.report, "text")
    assert "good.test\\x00.evil.test" in text
    assert "evil\\x1b[2J\\x0d\\x0aPASS" in text
    assert "\nPASS  forged" not in text


def test_certificate_names_do_not_become_links_in_the_markdown_report(mixed_run: MixedRun) -> None:
    markdown = render(mixed_run.report, "markdown")
    assert "md.test" in markdown  # the origin is in the report
    assert "[Fix now](https://evil.example/fix)" not in markdown
    assert "[click](https://evil.example/x)" not in markdown
