"""classify / assess: TLS verdicts x metrics -> classification, as a table."""

from __future__ import annotations

import pytest

from origin_auditor.assess import Thresholds, assess, classify
from origin_auditor.correlate import Metrics
from origin_auditor.discover import Discovery, DistributionInfo
from origin_auditor.judge.findings import finding
from origin_auditor.model import Classification, Finding, Severity, Target, TargetResult, Verdict
from origin_auditor.rules import Code


def result(verdict: str, *, dist: str = "D1", host: str = "origin.test") -> TargetResult:
    findings = {
        "pass": (),
        "warn": (Finding(Code.CERT_EXPIRING_SOON, Severity.WARN, "expires in 5 days"),),
        "fail": (Finding(Code.CHAIN_INCOMPLETE, Severity.FAIL, "intermediate missing"),),
    }[verdict]
    return TargetResult(Target(host, distribution_ids=(dist,)), Verdict(verdict), findings)


OK, WARN, FAIL = result("pass"), result("warn"), result("fail")
OUTAGE, LATENT, UNKNOWN = Classification.OUTAGE, Classification.LATENT, Classification.UNKNOWN
ERRORS_NOT_TLS, AT_RISK = Classification.ERRORS_NOT_TLS, Classification.AT_RISK
HEALTHY, IDLE = Classification.HEALTHY, Classification.IDLE

# (results, metrics, additional, expected classification)
TABLE = [
    # A failing origin with elevated errors: an outage now.
    ([FAIL, OK], {"Requests": 1000.0, "5xxErrorRate": 40.0}, False, OUTAGE),
    # With additional metrics, 502ErrorRate decides (5xx is high for other reasons here).
    ([FAIL], {"Requests": 1000.0, "5xxErrorRate": 1.0, "502ErrorRate": 12.0}, True, OUTAGE),
    ([FAIL], {"Requests": 1000.0, "5xxErrorRate": 30.0, "502ErrorRate": 0.5}, True, LATENT),
    # Exactly at the threshold counts as elevated.
    ([FAIL], {"Requests": 10.0, "5xxErrorRate": 5.0}, False, OUTAGE),
    # Failing but errors low: the cache is masking it.
    ([FAIL], {"Requests": 1000.0, "5xxErrorRate": 0.2}, False, LATENT),
    # Failing and idle: still latent (first request fails), never IDLE.
    ([FAIL], {"Requests": 0.0, "5xxErrorRate": None}, False, LATENT),
    # Failing with metrics unknown: conservatively latent.
    ([FAIL], {"Requests": None, "5xxErrorRate": None}, None, LATENT),
    # Everything passes but errors are elevated: not TLS.
    ([OK, OK], {"Requests": 500.0, "5xxErrorRate": 9.0}, False, ERRORS_NOT_TLS),
    ([WARN], {"Requests": 500.0, "502ErrorRate": 9.0, "5xxErrorRate": 9.0}, True, ERRORS_NOT_TLS),
    # Only warnings: at risk, with or without traffic.
    ([WARN, OK], {"Requests": 500.0, "5xxErrorRate": 0.0}, False, AT_RISK),
    ([WARN], {"Requests": 0.0, "5xxErrorRate": None}, False, AT_RISK),
    ([OK], {"Requests": 500.0, "5xxErrorRate": 0.1}, False, HEALTHY),
    ([OK], {"Requests": None, "5xxErrorRate": None}, None, HEALTHY),
    ([], {"Requests": 10.0, "5xxErrorRate": 0.0}, False, HEALTHY),
    ([OK], {"Requests": 0.0, "5xxErrorRate": None}, False, IDLE),
]


@pytest.mark.parametrize(("results", "metrics", "additional", "expected"), TABLE)
def test_classification_table(results: list[TargetResult], metrics: dict[str, float | None],
                              additional: bool | None, expected: str) -> None:
    classification, reason = classify(results, metrics, additional=additional)
    assert classification == expected
    assert reason


def test_latent_reason_says_the_cache_masks_it_and_the_next_miss_is_an_outage() -> None:
    _, reason = classify([FAIL], {"Requests": 1000.0, "5xxErrorRate": 0.2}, additional=False)
    assert "masking" in reason
    assert "next cache miss" in reason
    assert "CHAIN_INCOMPLETE" in reason
    assert "origin.test:443" in reason


def test_latent_with_unknown_metrics_says_metrics_were_unavailable() -> None:
    _, reason = classify([FAIL], {"Requests": None, "5xxErrorRate": None}, additional=None)
    assert "unavailable" in reason


def test_error_rate_over_too_few_requests_is_not_elevated_when_configured() -> None:
    t = Thresholds(min_requests_for_rate=100)
    assert classify([FAIL], {"Requests": 4.0, "5xxErrorRate": 75.0}, additional=False,
                    thresholds=t)[0] == LATENT
    assert classify([FAIL], {"Requests": 400.0, "5xxErrorRate": 75.0}, additional=False,
                    thresholds=t)[0] == OUTAGE


def test_thresholds_are_configurable() -> None:
    metrics: dict[str, float | None] = {"Requests": 100.0, "5xxErrorRate": 3.0}
    assert classify([FAIL], metrics, additional=False)[0] == LATENT
    assert classify([FAIL], metrics, additional=False, thresholds=Thresholds(elevated_error_rate=2.0))[0] \
        == OUTAGE


def test_assess_sorts_worst_first_and_indexes_results_per_distribution() -> None:
    dists = tuple(DistributionInfo(id=i, domain_name=f"{i.lower()}.cloudfront.net")
                  for i in ("HEALTHY1", "LATENT1", "OUTAGE1", "IDLE1", "RISK1", "NOTTLS1"))
    shared = TargetResult(Target("shared.test", distribution_ids=("HEALTHY1", "IDLE1", "NOTTLS1")),
                          Verdict.PASS, ())
    results = [shared, result("fail", dist="LATENT1"), result("fail", dist="OUTAGE1"),
               result("warn", dist="RISK1")]
    values: dict[str, dict[str, float | None]] = {
        "HEALTHY1": {"Requests": 10.0, "5xxErrorRate": 0.0},
        "LATENT1": {"Requests": 10.0, "5xxErrorRate": 0.0},
        "OUTAGE1": {"Requests": 10.0, "5xxErrorRate": 50.0},
        "IDLE1": {"Requests": 0.0, "5xxErrorRate": None},
        "RISK1": {"Requests": 10.0, "5xxErrorRate": 0.0},
        "NOTTLS1": {"Requests": 10.0, "5xxErrorRate": 20.0},
    }
    metrics = Metrics(values=values, additional_enabled={d.id: False for d in dists})
    reports = assess(Discovery(distributions=dists, targets=()), results, metrics)
    assert [r.classification for r in reports] == [OUTAGE, LATENT, ERRORS_NOT_TLS, AT_RISK, HEALTHY, IDLE]
    by_id = {r.id: r for r in reports}
    assert by_id["HEALTHY1"].results == (0,)
    assert by_id["IDLE1"].results == (0,)
    assert by_id["OUTAGE1"].results == (2,)
    # Additional metrics off -> an info finding carrying the enabling command for this distribution.
    codes = [f.code for f in by_id["OUTAGE1"].findings]
    assert codes == [Code.ADDITIONAL_METRICS_DISABLED]
    assert "--distribution-id OUTAGE1" in by_id["OUTAGE1"].findings[0].hint


def test_unreadable_distribution_is_unknown_not_healthy() -> None:
    dists = (DistributionInfo(id="E1", error="AccessDenied: nope"), DistributionInfo(id="E2"))
    metrics = Metrics(values={"E2": {"Requests": 5.0, "5xxErrorRate": 0.0}}, additional_enabled={})
    reports = assess(Discovery(distributions=dists, targets=()), [], metrics)
    assert [(r.id, r.classification) for r in reports] == [("E1", UNKNOWN), ("E2", HEALTHY)]
    assert "AccessDenied" in reports[0].reason
    assert UNKNOWN.rank > HEALTHY.rank


def test_disabled_distribution_is_classified_and_says_it_is_disabled() -> None:
    dists = (DistributionInfo(id="E1", enabled=False),)
    metrics = Metrics(values={"E1": {"Requests": 0.0, "5xxErrorRate": None}}, additional_enabled={})
    (report,) = assess(Discovery(distributions=dists, targets=()), [result("fail", dist="E1")], metrics)
    assert report.classification == LATENT
    assert report.enabled is False
    assert report.reason.startswith("Disabled distribution")


def test_assess_makes_its_findings_with_the_one_factory() -> None:
    # The metrics-off finding takes its severity from the rule table, as every finding does.
    dists = (DistributionInfo(id="E1"),)
    metrics = Metrics(values={"E1": {"Requests": 5.0, "5xxErrorRate": 0.0}}, additional_enabled={"E1": False})
    (report,) = assess(Discovery(distributions=dists, targets=()), [], metrics)
    (made,) = report.findings
    assert made == finding(Code.ADDITIONAL_METRICS_DISABLED, made.message, hint=made.hint)
    assert made.severity is Severity.INFO
    # ... and through the factory only: assess.py never calls the Finding constructor itself.
    import ast
    import inspect

    import origin_auditor.assess as module
    calls = [n for n in ast.walk(ast.parse(inspect.getsource(module)))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Finding"]
    assert calls == []
