"""Unprobed is never healthy: a distribution with an origin that was not audited (time budget,
internal error, excluded) is classified NOT_AUDITED, the reports and messages give the count and
the reason, and a previously failing origin that could not be audited stays failing in state."""

from __future__ import annotations

import datetime as dt

import pytest

from origin_auditor.assess import assess, classify
from origin_auditor.correlate import Metrics
from origin_auditor.discover import Discovery, DistributionInfo
from origin_auditor.judge import judge_probe
from origin_auditor.model import (
    AddressProbe,
    AuditReport,
    Classification,
    DistributionReport,
    NotAudited,
    NotProbed,
    OriginFacts,
    OriginKind,
    ProbeResult,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from origin_auditor.model import HandshakeOutcome as Outcome
from origin_auditor.notify import build_message, plan_changes
from origin_auditor.report import render
from origin_auditor.rules import Code
from origin_auditor.state import TargetState, target_id
from origin_auditor.trust import TrustStore
from origin_auditor_lab.pki import Pki

from .conftest import trust_of

AT = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
_TRUST: list[TrustStore] = []
NOT_AUDITED = Classification.NOT_AUDITED
QUIET = {"Requests": 500.0, "5xxErrorRate": 0.0}


@pytest.fixture(autouse=True)
def _trust(pki1: Pki) -> None:
    # Nothing here is chain-judged; the judge still wants a store.
    _TRUST[:] = [trust_of(pki1.root)]


def judged(probe: ProbeResult) -> TargetResult:
    return judge_probe(probe, trust=_TRUST[0], at=AT)


def cut_off(host: str = "late.origin.test", dist: str = "D1") -> TargetResult:
    """A target the time budget cut off before its turn, judged as the pipeline judges it."""
    return judged(ProbeResult(Target(host, distribution_ids=(dist,)), not_probed=NotProbed.TIME_BUDGET))


def passing(host: str = "ok.origin.test", dist: str = "D1") -> TargetResult:
    return TargetResult(Target(host, distribution_ids=(dist,)), Verdict.PASS, ())


def failing(host: str = "bad.origin.test", dist: str = "D1") -> TargetResult:
    from origin_auditor.judge.findings import finding
    return TargetResult(Target(host, distribution_ids=(dist,)), Verdict.FAIL,
                        (finding(Code.CHAIN_INCOMPLETE, "intermediate missing"),))


def warning(host: str = "old.origin.test", dist: str = "D1") -> TargetResult:
    from origin_auditor.judge.findings import finding
    return TargetResult(Target(host, distribution_ids=(dist,)), Verdict.WARN,
                        (finding(Code.CERT_EXPIRING_SOON, "expires in 5 days"),))


# ------------------------------------------------------------------ the classification


@pytest.mark.parametrize("metrics", [QUIET, {"Requests": 0.0, "5xxErrorRate": None},
                                     {"Requests": None, "5xxErrorRate": None}])
def test_origin_cut_off_by_the_time_budget_is_not_audited_never_healthy_or_idle(
        metrics: dict[str, float | None]) -> None:
    # Before NOT_AUDITED the cut-off target had only an info finding: verdict pass, so its
    # distribution read HEALTHY (or IDLE without traffic).
    result = cut_off()
    assert result.verdict is Verdict.PASS  # nothing was seen failing: the verdict stays honest
    classification, reason = classify([passing(), result], metrics, additional=False)
    assert classification is NOT_AUDITED
    assert "1 of 2 origins" in reason and "late.origin.test:443" in reason
    assert "time budget" in reason


def test_not_audited_ranks_below_what_is_known_failing_and_above_what_passes() -> None:
    order = list(Classification)
    assert order.index(Classification.UNKNOWN) < order.index(NOT_AUDITED) \
        < order.index(Classification.ERRORS_NOT_TLS) < order.index(Classification.AT_RISK) \
        < order.index(Classification.HEALTHY)
    assert not NOT_AUDITED.alerts


def test_a_known_failure_still_wins_and_the_reason_counts_the_unaudited() -> None:
    classification, reason = classify([failing(), cut_off()], QUIET, additional=False)
    assert classification is Classification.LATENT
    assert "1 of 2 origins" in reason and "not audited" in reason


def test_elevated_errors_with_an_unaudited_origin_do_not_claim_every_origin_passes() -> None:
    # ERRORS_NOT_TLS says "every origin passes the TLS checks": not when one was not looked at.
    classification, reason = classify([passing(), cut_off()], {"Requests": 500.0, "5xxErrorRate": 30.0},
                                      additional=False)
    assert classification is NOT_AUDITED
    assert "30.0%" in reason


def test_warnings_with_an_unaudited_origin_are_not_audited_the_warnings_are_named() -> None:
    classification, reason = classify([warning(), cut_off()], QUIET, additional=False)
    assert classification is NOT_AUDITED
    assert "CERT_EXPIRING_SOON" in reason


@pytest.mark.parametrize(("probe", "why"), [
    (ProbeResult(Target("x.test", distribution_ids=("D1",)), not_probed=NotProbed.TIME_BUDGET),
     "time budget"),
    (ProbeResult(Target("x.test", distribution_ids=("D1",)), not_probed=NotProbed.INTERNAL_ERROR),
     "internal error"),
    # Some addresses probed and passing, the rest cut off: not the whole origin.
    (ProbeResult(Target("x.test", distribution_ids=("D1",)), resolved=2, time_budget_skipped=1,
                 addresses=(AddressProbe("192.0.2.1", protocol="TLSv1.2", outcome=Outcome.OK,
                                         offered=("TLSv1.2",)),)), "time budget"),
    (ProbeResult(Target("x.test", distribution_ids=("D1",), skip_probe=True, origins=(
        OriginFacts("D1", "vpc", OriginKind.VPC, vpc_origin_id="vo-1"),))), "VPC origin"),
])
def test_every_reason_an_origin_is_not_audited_is_named(probe: ProbeResult, why: str) -> None:
    result = judged(probe)
    assert result.not_audited is not None and why in result.not_audited.words
    assert classify([result], QUIET, additional=False)[0] is NOT_AUDITED


def test_audited_origins_are_not_reported_as_unaudited() -> None:
    http_only = judged(ProbeResult(Target("x.test", distribution_ids=("D1",), skip_probe=True, origins=(
        OriginFacts("D1", "web", OriginKind.HTTP_ONLY, protocol_policy="http-only"),))))
    for r in (passing(), failing(), warning(), http_only):
        assert r.not_audited is None


# ------------------------------------------------------------------ words: report and messages


def report_with_unaudited() -> AuditReport:
    results = (failing(dist="D2"), cut_off("a.test"), cut_off("b.test"))
    dists = (DistributionInfo(id="D1"), DistributionInfo(id="D2"))
    metrics = Metrics(values={"D1": dict(QUIET), "D2": dict(QUIET)}, additional_enabled={})
    return AuditReport("2025-06-01T12:00:00Z", results,
                       assess(Discovery(distributions=dists, targets=()), results, metrics))


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_reports_give_the_count_and_the_reason(fmt: str) -> None:
    out = render(report_with_unaudited(), fmt).replace("\\", "")  # markdown escapes ( ) _
    assert "NOT_AUDITED" in out
    assert "2 origin(s) not audited (time budget: 2)" in out


def test_json_summary_counts_not_audited() -> None:
    summary = report_with_unaudited().summary()
    assert summary["classifications"] == {"LATENT": 1, "NOT_AUDITED": 1}


def test_json_gives_each_origins_reason_and_the_count_per_reason() -> None:
    doc = report_with_unaudited().to_json()
    results = doc["results"]
    assert isinstance(results, list)
    assert [r["not_audited"] for r in results] == [None, "time_budget", "time_budget"]
    summary = doc["summary"]
    assert isinstance(summary, dict)
    # Of the "pass" verdicts, how many were not audited, per reason (the reports' count).
    assert summary["not_audited"] == {"time_budget": 2}
    assert AuditReport("2025-06-01T12:00:00Z", (passing(),)).summary()["not_audited"] == {}


def test_a_finding_that_mentions_a_reason_does_not_make_an_origin_not_audited() -> None:
    # Findings' words are outside text (names, exception messages, origin ids): only the
    # judge's facts decide. A hostname mismatch that says "time budget" is a hostname mismatch.
    from origin_auditor.judge.findings import finding
    from origin_auditor.report import worst_at_or_above
    words = finding(Code.HOSTNAME_MISMATCH, "the certificate names 'time budget', 'VPC origin' and "
                    "'internal error', not origin.test", severity=Severity.WARN)
    note = finding(Code.ORIGIN_NOT_PROBED, "a caller's note: out of time budget")
    for findings in ((words,), (note,)):
        probed = judged(ProbeResult(Target("x.test", distribution_ids=("D1",), notes=findings)))
        assert probed.not_audited is None
    result = judged(ProbeResult(Target("x.test", distribution_ids=("D1",), notes=(note,))))
    assert result.verdict is Verdict.PASS and not worst_at_or_above([result], "fail")
    assert classify([result], QUIET, additional=False)[0] is Classification.HEALTHY


@pytest.mark.parametrize(("probe", "why"), [
    (ProbeResult(Target("x.test"), not_probed=NotProbed.TIME_BUDGET), NotAudited.TIME_BUDGET),
    (ProbeResult(Target("x.test"), time_budget_skipped=1, resolved=1), NotAudited.TIME_BUDGET),
    (ProbeResult(Target("x.test"), not_probed=NotProbed.INTERNAL_ERROR), NotAudited.INTERNAL_ERROR),
    (ProbeResult(Target("x.test"), internal_error="ValueError: x"), NotAudited.INTERNAL_ERROR),
    (ProbeResult(Target("x.test"), addresses=(AddressProbe("192.0.2.1", internal_error="ValueError: x"),)),
     NotAudited.INTERNAL_ERROR),
    (ProbeResult(Target("x.test", skip_probe=True, origins=(
        OriginFacts("D1", "vpc", OriginKind.VPC, vpc_origin_id="vo-1"),))), NotAudited.VPC_ORIGIN),
    (ProbeResult(Target("x.test", skip_probe=True, origins=(OriginFacts("D1", "o", OriginKind.UNKNOWN),))),
     NotAudited.UNRECOGNISED_CONFIGURATION),
], ids=["no-address", "some-addresses", "lost", "target-bug", "address-bug", "vpc", "unrecognised"])
def test_the_judge_records_why_from_the_facts(probe: ProbeResult, why: NotAudited) -> None:
    result = judged(probe)
    assert result.not_audited is why
    # Each is worded as an ORIGIN_NOT_PROBED finding too (the messages are unchanged).
    assert any(f.code is Code.ORIGIN_NOT_PROBED for f in result.findings)


def test_email_and_chat_give_the_count_and_the_reason() -> None:
    report = report_with_unaudited()
    msg = build_message(report, plan_changes(report, {}, now=0.0))
    assert msg is not None
    assert "2 origin(s) not audited (time budget: 2)" in msg.structure["email"]
    assert "2 origin(s) not audited (time budget: 2)" in msg.structure["https"]


# ------------------------------------------------------------------ state


def test_previously_failing_origin_that_was_not_audited_stays_failing_in_state() -> None:
    report = report_with_unaudited()
    [dist] = [d for d in report.distributions if d.id == "D1"]
    assert dist.classification is NOT_AUDITED
    key = target_id(report.results[1].target)
    before = {key: TargetState(key, "fail", "LATENT", ("CHAIN_INCOMPLETE",), "a.test:443", 1.0)}
    plan = plan_changes(report, before, now=100_000.0, whole_account=True)
    assert key not in {s.key for s in plan.states}  # no write: the stored "fail" stays
    assert key not in plan.delete
    assert all(c.key != key for c in plan.changes)  # neither resolved nor removed


def test_partly_probed_origin_that_passed_where_it_was_probed_is_not_resolved() -> None:
    # One address probed and passing, the other cut off by the time budget: the failing one may
    # be the one not probed, so "resolved" would be a claim the run did not see.
    probe = ProbeResult(Target("a.test", distribution_ids=("D1",)), resolved=2, time_budget_skipped=1,
                        addresses=(AddressProbe("192.0.2.1", protocol="TLSv1.2", outcome=Outcome.OK,
                                                offered=("TLSv1.2",)),))
    result = judged(probe)
    report = AuditReport("2025-06-01T12:00:00Z", (result,), (
        DistributionReport("D1", NOT_AUDITED, results=(0,)),))
    key = target_id(result.target)
    before = {key: TargetState(key, "fail", "LATENT", ("CHAIN_INCOMPLETE",), "a.test:443", 1.0)}
    plan = plan_changes(report, before, now=100_000.0, whole_account=True)
    assert plan.changes == () and key not in {s.key for s in plan.states}
