"""The run's EMF metrics (Powertools ``Metrics``, namespace OriginAuditor): what the dashboard
and the alarms in template.yaml read."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from .assess import days_to_next_expiry
from .model import AuditReport, Classification, Verdict, count_unaudited
from .rules import Code

_PROBE_ERROR_CODES = frozenset({Code.DNS_RESOLUTION_FAILED, Code.CONNECT_FAILED, Code.CONNECT_TIMEOUT,
                                Code.HANDSHAKE_FAILED, Code.HANDSHAKE_TIMEOUT})

# One count per classification, every run (zeros included, so a graph drops to 0 instead of
# stopping): "Distributions" + the classification in CamelCase (DistributionsOutage, ...). The
# template's dashboard and AlertingDistributionsAlarm use these names (a test holds them equal).
CLASSIFICATION_METRICS = {c: "Distributions" + "".join(w.capitalize() for w in c.value.split("_"))
                          for c in Classification}


def record_metrics(metrics: Any, report: AuditReport, seconds: float) -> None:
    """EMF metrics (namespace OriginAuditor) for the dashboard and the alarms in template.yaml.

    Origins by verdict (failing, warning, passing, not audited: the four add up to
    OriginsAudited, which counts every origin of the run), distributions by classification,
    probe errors, days to the nearest leaf certificate expiry (only when one is known) and the
    run's duration.
    """
    if metrics is None:
        return
    failing = sum(1 for r in report.results if r.verdict is Verdict.FAIL)
    warning = sum(1 for r in report.results if r.verdict is Verdict.WARN)
    not_audited = sum(count_unaudited(report.results).values())
    passing = len(report.results) - failing - warning - not_audited
    probe_errors = sum(1 for r in report.results if any(f.code in _PROBE_ERROR_CODES for f in r.findings))
    metrics.add_metric(name="OriginsAudited", unit=MetricUnit.Count, value=len(report.results))
    metrics.add_metric(name="OriginsFailing", unit=MetricUnit.Count, value=failing)
    metrics.add_metric(name="OriginsWarning", unit=MetricUnit.Count, value=warning)
    metrics.add_metric(name="OriginsPassing", unit=MetricUnit.Count, value=passing)
    metrics.add_metric(name="OriginsNotAudited", unit=MetricUnit.Count, value=not_audited)
    metrics.add_metric(name="ProbeErrors", unit=MetricUnit.Count, value=probe_errors)
    for classification, name in CLASSIFICATION_METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count,
                           value=sum(1 for d in report.distributions if d.classification is classification))
    days = days_to_next_expiry(report)
    if days is not None:
        # Count, not a time unit: CloudWatch has no "days" unit, and the name says it.
        metrics.add_metric(name="DaysToNextCertExpiry", unit=MetricUnit.Count, value=round(days, 2))
    metrics.add_metric(name="AuditSeconds", unit=MetricUnit.Seconds, value=round(seconds, 3))
