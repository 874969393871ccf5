"""Rendering: the JSON contract, grouping of per-address findings, and the text/markdown shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from origin_auditor.model import (
    AuditReport,
    Classification,
    DistributionReport,
    Finding,
    NotAudited,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from origin_auditor.report import group_findings, render, render_text, summary_line, worst_at_or_above
from origin_auditor.rules import Code


def _result(verdict: Verdict, *findings: Finding, host: str = "origin.test") -> TargetResult:
    return TargetResult(target=Target(host=host, distribution_ids=("E1",), origin_ids=("o1",)),
                        verdict=verdict, findings=tuple(findings),
                        reproduce=f"openssl s_client -connect {host}:443 -servername {host} -showcerts")


MISSING = Finding(Code.CHAIN_INCOMPLETE, Severity.FAIL, "intermediate missing", "serve fullchain",
                  address="192.0.2.1")
MISSING_2 = Finding(Code.CHAIN_INCOMPLETE, Severity.FAIL, "intermediate missing", "serve fullchain",
                    address="192.0.2.2")
ROOT = Finding(Code.CHAIN_INCLUDES_ROOT, Severity.INFO, "root sent", "", address="192.0.2.1")


def _report() -> AuditReport:
    failing = _result(Verdict.FAIL, ROOT, MISSING, MISSING_2)
    healthy = _result(Verdict.PASS, host="ok.test")
    return AuditReport(
        generated_at="2026-11-26T00:00:00Z",
        results=(failing, healthy),
        distributions=(DistributionReport(id="E1", classification="LATENT", aliases=("www.example.com",),
                                          metrics={"Requests": 1200.0, "5xxErrorRate": 0.1},
                                          results=(0, 1), reason="masked by the cache"),),
        notes=("metrics partial",))


def test_identical_findings_on_several_addresses_are_grouped_worst_first() -> None:
    groups = group_findings([ROOT, MISSING, MISSING_2])
    assert [g.finding.code for g in groups] == [Code.CHAIN_INCOMPLETE, Code.CHAIN_INCLUDES_ROOT]
    assert groups[0].addresses == ("192.0.2.1", "192.0.2.2")


def test_json_follows_the_schema_contract() -> None:
    doc = json.loads(render(_report(), "json"))
    assert doc["schema"] == "origin-auditor/1"
    r = doc["results"][0]
    assert set(r) >= {"target", "verdict", "findings", "addresses"}
    assert set(r["target"]) >= {"host", "port", "server_name", "protocols", "distribution_ids", "origin_ids"}
    assert r["verdict"] == "fail"
    assert set(r["findings"][0]) >= {"code", "severity", "address", "message", "hint"}
    assert doc["distributions"][0]["results"] == [0, 1]
    assert doc["summary"]["verdicts"] == {"pass": 1, "warn": 0, "fail": 1}


def test_the_json_document_is_built_once_and_a_callers_keys_stay_its_own() -> None:
    report = _report()
    first, second = report.to_json(), report.to_json()
    assert first == second and first is not second
    assert first["results"] is second["results"]  # built once: archive, message, return value
    first["notification"] = {"published": True}  # what the handler adds to its copy
    assert "notification" not in report.to_json()


def test_text_groups_by_distribution_and_shows_fix_and_verify_line() -> None:
    text = render(_report(), "text")
    lines = text.splitlines()
    assert lines[0].startswith("LATENT") and "E1" in lines[0]
    assert "CHAIN_INCOMPLETE [192.0.2.1, 192.0.2.2]: intermediate missing" in text
    assert "fix: serve fullchain" in text
    assert "verify: openssl s_client -connect origin.test:443" in text
    assert "note: metrics partial" in text
    assert lines[-1].startswith("2 origin(s): 1 fail, 0 warn, 1 pass; 1 distribution(s): 1 LATENT")


def test_markdown_escapes_table_cells() -> None:
    f = Finding(Code.HOSTNAME_MISMATCH, Severity.FAIL, "covers a|b", "fix | it")
    md = render(AuditReport("t", (_result(Verdict.FAIL, f),)), "markdown")
    assert "covers a\\|b" in md and "fix \\| it" in md


def test_fail_on_threshold() -> None:
    results = [_result(Verdict.WARN)]
    assert worst_at_or_above(results, "warn")
    assert not worst_at_or_above(results, "fail")


def test_metrics_disabled_is_listed_once_for_all_distributions_in_text_but_kept_in_json() -> None:
    def off(dist: str) -> Finding:
        return Finding(Code.ADDITIONAL_METRICS_DISABLED, Severity.INFO, "additional metrics are off",
                       f"aws cloudfront create-monitoring-subscription --distribution-id {dist} ...")
    report = AuditReport("t", (_result(Verdict.PASS),), distributions=tuple(
        DistributionReport(id=f"E{i}", classification="HEALTHY", results=(0,), findings=(off(f"E{i}"),))
        for i in range(12)))
    text = render(report, "text")
    assert text.count("ADDITIONAL_METRICS_DISABLED") == 1
    assert "on 12 distribution(s) (E0, E1" in text and "and 2 more" in text
    assert "--distribution-id ID" in text
    assert render(report, "markdown").count("ADDITIONAL_METRICS_DISABLED") == 1
    assert render(report, "json").count("ADDITIONAL_METRICS_DISABLED") == 12


def test_summary_counts_every_classification_including_unknown() -> None:
    # Given a run where one distribution could not be read (UNKNOWN) and one is HEALTHY,
    # the summary must count both: it once printed "2 distribution(s): 1 HEALTHY".
    report = AuditReport(
        generated_at="2026-11-26T00:00:00Z", results=(),
        distributions=(DistributionReport(id="E1", classification="UNKNOWN"),
                       DistributionReport(id="E2", classification="HEALTHY")))
    assert summary_line(report) == ("0 origin(s): 0 fail, 0 warn, 0 pass; "
                                    "2 distribution(s): 1 UNKNOWN, 1 HEALTHY")
    assert render(report, "text").splitlines()[-1] == summary_line(report)


@pytest.mark.parametrize("classification", list(Classification))
def test_every_classification_is_headed_summarised_and_explained_without_a_reason(
        classification: Classification) -> None:
    report = AuditReport(generated_at="2026-11-26T00:00:00Z", results=(),
                         distributions=(DistributionReport(id="E1", classification=classification),))
    text = render(report, "text").splitlines()
    assert text[0].startswith(f"{classification.value:<14} E1")
    assert text[1] == f"  {classification.headline}"
    assert text[-1].endswith(f"1 distribution(s): 1 {classification.value}")
    assert f"**{classification.headline}" in render(report, "markdown").replace("\\", "")
    assert json.loads(render(report, "json"))["distributions"][0]["classification"] == classification.value


def test_classifications_rank_worst_first_in_declaration_order() -> None:
    assert Classification.worst_first() == tuple(Classification)
    assert [c.rank for c in Classification] == sorted((c.rank for c in Classification), reverse=True)
    assert len({c.headline for c in Classification}) == len(Classification)
    with pytest.raises(ValueError):
        DistributionReport(id="E1", classification="BROKEN")  # type: ignore[arg-type]


def test_readme_lists_every_classification_worst_first() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("| classification | meaning |", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M) == [c.value for c in Classification]


def test_a_gate_never_passes_an_origin_it_did_not_audit() -> None:
    from origin_auditor.judge import finding
    from origin_auditor.report import worst_at_or_above

    def unaudited(why: str, reason: NotAudited) -> TargetResult:
        f = finding(Code.ORIGIN_NOT_PROBED, why)
        return TargetResult(Target("o.test"), Verdict.PASS, (f,), not_audited=reason)

    clean = TargetResult(Target("ok.test"), Verdict.PASS, ())
    assert not worst_at_or_above([clean], "fail")
    out_of_time = unaudited("o.test:443 was not probed: the run's time budget ran out before its turn.",
                            NotAudited.TIME_BUDGET)
    assert worst_at_or_above([clean, out_of_time], "fail")
    assert worst_at_or_above([unaudited("o.test:443 was not probed: internal error.",
                                        NotAudited.INTERNAL_ERROR)], "warn")
    # A VPC origin is unreachable from outside by design, every run: reported, not a gate failure.
    assert not worst_at_or_above([unaudited("origin o of distribution E is a VPC origin (vo-1)",
                                            NotAudited.VPC_ORIGIN)], "fail")

# ---------------------------------------------------------------- issue 11: width and colour

SGR = re.compile(r"\x1b\[[0-9;]*m")
LONG = Finding(Code.CHAIN_WRONG_ORDER, Severity.FAIL,
               "the chain as sent is leaf -> Intermediate 2 -> Intermediate 1 and CloudFront needs each "
               "certificate followed by its issuer, so it drops the connection and answers 502",
               "Serve leaf, then Intermediate 1, then Intermediate 2 (fullchain order). Reproduce: openssl "
               "s_client -connect origin.test:443 -servername 'a b.test' -tls1_2 -showcerts </dev/null",
               address="192.0.2.1")


def _long_report() -> AuditReport:
    return AuditReport(generated_at="2026-11-26T00:00:00Z", results=(_result(Verdict.FAIL, LONG),))


def test_text_without_a_width_is_one_line_per_item_and_plain() -> None:
    text = render(_long_report(), "text")
    assert "\x1b" not in text
    assert f"  fail CHAIN_WRONG_ORDER [192.0.2.1]: {LONG.message}" in text.splitlines()
    # The command a fix carries is on its own line, to copy.
    assert ("       reproduce: openssl s_client -connect origin.test:443 -servername 'a b.test' -tls1_2 "
            "-showcerts </dev/null") in text.splitlines()


@pytest.mark.parametrize("width", [40, 60, 80])
def test_text_wraps_to_the_width_and_commands_continue_with_a_backslash(width: int) -> None:
    text = render_text(_long_report(), width=width)
    lines = text.splitlines()
    assert max(map(len, lines)) <= width, text
    plain = render(_long_report(), "text")
    assert " ".join(text.replace(" \\\n", " ").split()) == " ".join(plain.split())
    # A wrapped command still pastes as one command: every line but its last ends in " \",
    # and no quoted argument is split ('a b.test' stays whole).
    start = next(i for i, line in enumerate(lines) if "reproduce: " in line)
    command = [lines[start]]
    while command[-1].endswith(" \\"):
        command.append(lines[start + len(command)])
    assert "'a b.test'" in "\n".join(command)
    assert command[-1].endswith("</dev/null")


def test_colour_marks_our_labels_only_and_outside_text_stays_escaped() -> None:
    hostile = Finding(Code.HOSTNAME_MISMATCH, Severity.WARN, "covers \x1b[32mFAIL\x1b[0m", "")
    report = AuditReport(generated_at="2026-11-26T00:00:00Z",
                         results=(_result(Verdict.FAIL, LONG, hostile),
                                  _result(Verdict.PASS, host="ok.test")))
    text = render_text(report, colour=True)
    assert SGR.sub("", text) == render_text(report)
    assert re.search(r"^\x1b\[[0-9;]*mFAIL\x1b\[0m  origin\.test:443", text, re.M), text
    assert re.search(r"^\x1b\[[0-9;]*mPASS\x1b\[0m  ok\.test:443", text, re.M), text
    assert re.search(r"^  \x1b\[[0-9;]*mwarn\x1b\[0m HOSTNAME_MISMATCH", text, re.M), text
    # The ESC in the certificate's text is shown escaped, never sent to the terminal.
    assert "\x1b[32mFAIL" not in text
