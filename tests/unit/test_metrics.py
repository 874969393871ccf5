"""The Lambda's EMF metrics (``handler.record_metrics``): what the dashboard and the alarms in
template.yaml are built from (``tests/unit/test_template.py`` holds them to this list)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from origin_auditor.assess import days_to_next_expiry
from origin_auditor.handler import CLASSIFICATION_METRICS, record_metrics
from origin_auditor.judge import judge_probe
from origin_auditor.model import (
    AddressProbe,
    AddressReport,
    AuditReport,
    CertSummary,
    Classification,
    DistributionReport,
    Finding,
    NotAudited,
    ProbeResult,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from origin_auditor.rules import Code
from origin_auditor_lab.pki import NOW, Pki, issue

from .conftest import ders, trust_of


@dataclass
class Recorder:
    """Records ``add_metric`` calls the way Powertools' ``Metrics`` takes them."""

    values: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def add_metric(self, *, name: str, unit: object, value: float) -> None:
        assert name not in self.values, f"{name} emitted twice"
        self.values[name] = value
        self.units[name] = str(getattr(unit, "value", unit))


def _cert(not_after: str | None) -> CertSummary:
    return CertSummary("CN=x", "CN=y", not_after, "00")


def _result(verdict: Verdict, *chains: tuple[CertSummary, ...], findings: tuple[Finding, ...] = (),
            order: tuple[int, ...] = (), not_audited: NotAudited | None = None) -> TargetResult:
    addresses = tuple(AddressReport(f"192.0.2.{i}", "TLSv1.2", None, c, issuing_order=order)
                      for i, c in enumerate(chains, 1))
    return TargetResult(Target("o.test"), verdict, findings, addresses, not_audited=not_audited)


GENERATED = "2025-06-01T12:00:00Z"


def full_report() -> AuditReport:
    """A report with every kind of origin and distribution: every metric record_metrics can emit."""
    unprobed = Finding(Code.ORIGIN_NOT_PROBED, Severity.INFO, "time budget", "")
    results = (
        _result(Verdict.FAIL, (_cert("2025-06-11T12:00:00Z"),)),
        _result(Verdict.WARN, (_cert("2025-06-21T12:00:00Z"),)),
        _result(Verdict.PASS, (_cert("2026-06-01T12:00:00Z"),)),
        _result(Verdict.PASS, findings=(unprobed,), not_audited=NotAudited.TIME_BUDGET),
    )
    dists = tuple(DistributionReport(f"E{i}", c, results=(0,)) for i, c in enumerate(Classification))
    return AuditReport(GENERATED, results, dists)


def emitted(report: AuditReport, seconds: float = 1.5) -> Recorder:
    rec = Recorder()
    record_metrics(rec, report, seconds)
    return rec


def test_origins_are_counted_by_verdict_with_not_audited_apart() -> None:
    values = emitted(full_report()).values
    assert values["OriginsAudited"] == 4
    assert (values["OriginsFailing"], values["OriginsWarning"]) == (1, 1)
    assert values["OriginsNotAudited"] == 1
    # Passing means seen passing: the origin not audited is not in it, so the four add up.
    assert values["OriginsPassing"] == 1
    assert sum(values[k] for k in ("OriginsFailing", "OriginsWarning", "OriginsPassing",
                                   "OriginsNotAudited")) == values["OriginsAudited"]


def test_every_classification_has_a_count_every_run_zeros_included() -> None:
    report = AuditReport(GENERATED, (), (DistributionReport("E1", Classification.LATENT),
                                         DistributionReport("E2", Classification.LATENT),
                                         DistributionReport("E3", Classification.OUTAGE)))
    values = emitted(report).values
    assert set(CLASSIFICATION_METRICS) == set(Classification)
    assert {CLASSIFICATION_METRICS[c]: values[CLASSIFICATION_METRICS[c]] for c in Classification} == {
        "DistributionsOutage": 1, "DistributionsLatent": 2, "DistributionsUnknown": 0,
        "DistributionsNotAudited": 0, "DistributionsErrorsNotTls": 0, "DistributionsAtRisk": 0,
        "DistributionsHealthy": 0, "DistributionsIdle": 0}


def test_days_to_the_next_certificate_expiry_is_the_nearest_leaf_of_any_address() -> None:
    values = emitted(full_report()).values
    assert values["DaysToNextCertExpiry"] == pytest.approx(10.0)
    assert emitted(full_report()).units["DaysToNextCertExpiry"] == "Count"


def test_the_leaf_is_the_first_certificate_in_issuing_order_not_the_first_sent() -> None:
    # Sent: an intermediate expiring in 2 days first, then the leaf expiring in 20 days.
    chain = (_cert("2025-06-03T12:00:00Z"), _cert("2025-06-21T12:00:00Z"))
    report = AuditReport(GENERATED, (_result(Verdict.FAIL, chain, order=(1, 0)),))
    assert days_to_next_expiry(report) == pytest.approx(20.0)


def test_an_expired_leaf_counts_negative_and_no_chain_emits_no_value() -> None:
    report = AuditReport(GENERATED, (_result(Verdict.FAIL, (_cert("2025-05-30T00:00:00Z"),)),))
    assert days_to_next_expiry(report) == pytest.approx(-2.5)
    nothing = AuditReport(GENERATED, (_result(Verdict.FAIL), _result(Verdict.FAIL, (_cert(None),))))
    assert days_to_next_expiry(nothing) is None
    assert "DaysToNextCertExpiry" not in emitted(nothing).values


def test_days_to_expiry_from_a_real_judged_chain(pki1: Pki) -> None:
    leaf = issue("origin.test", pki1.intermediates[0], not_after=NOW + dt.timedelta(days=7))
    probe = ProbeResult(Target("origin.test"), (AddressProbe("192.0.2.1", protocol="TLSv1.2", cipher="x",
                                                             chain=tuple(ders(leaf, pki1.intermediates[0])),
                                                             chain_source="cloudfront"),))
    result = judge_probe(probe, trust=trust_of(pki1.root), at=NOW)
    report = AuditReport(NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), (result,))
    assert days_to_next_expiry(report) == pytest.approx(7.0, abs=0.01)


def test_run_duration_is_in_seconds() -> None:
    rec = emitted(full_report(), seconds=12.3456)
    assert rec.values["AuditSeconds"] == 12.346 and rec.units["AuditSeconds"] == "Seconds"
