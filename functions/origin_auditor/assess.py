"""ASSESS: TLS verdicts x CloudWatch metrics -> one classification per distribution.

Classifications (``model.Classification``), worst first:

- ``OUTAGE``: an origin fails CloudFront's rules and the 502 rate (5xx rate without additional
  metrics) is at or above ``Thresholds.elevated_error_rate``: viewers are getting errors now.
- ``LATENT``: an origin fails but errors are not elevated. The cache is masking it; the next
  cache miss (a deploy with new asset URLs, an invalidation, a TTL expiry) turns it into an
  outage. Decided conservatively, a failing origin is LATENT, never better, also when
  (a) the distribution had no requests in the window (the first request will fail), and
  (b) the metrics are unknown (CloudWatch failed): without numbers the failure cannot be called
  an outage, and calling it anything milder would hide it.
- ``UNKNOWN``: the distribution's configuration could not be read; nothing is known about its
  origins (an addition to the contract's list; reported with the reason).
- ``NOT_AUDITED``: nothing failing was seen, but an origin (or some of its addresses) was not
  audited: the time budget ran out, the probe hit an internal error, or it cannot be reached
  from here (VPC origin, unrecognised configuration). Unprobed is never healthy. Above
  ``ERRORS_NOT_TLS`` (which claims every origin passes: not claimable here; an elevated rate
  goes into the reason) and the classifications of origins all known to work today.
- ``ERRORS_NOT_TLS``: errors are elevated while every origin passes: look at the other
  documented 502/5xx causes.
- ``AT_RISK``: only warnings (expiry inside the horizon, legacy protocols, ...), whatever the
  traffic: an idle distribution with an expiring certificate is still at risk.
- ``HEALTHY``: everything passes (with unknown metrics too, the reason says so).
- ``IDLE``: everything passes and there were no requests in the window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .correlate import Metrics
from .discover import Discovery, DistributionInfo
from .judge.findings import finding
from .model import (
    AuditReport,
    Classification,
    DistributionReport,
    Finding,
    NotAudited,
    Severity,
    TargetResult,
    Verdict,
    count_unaudited,
)
from .rules import CODES, Code


@dataclass(frozen=True)
class Thresholds:
    """When numbers count as elevated or idle.

    elevated_error_rate: percent of requests; at or above it the 502ErrorRate (or 5xxErrorRate
        when additional metrics are off) is "elevated". 5 %: well above the background noise of
        a healthy distribution, low enough that a partially failing origin shows.
    min_requests: Requests (Sum over the window) below this is "no traffic" (IDLE).
    min_requests_for_rate: an error rate over fewer requests than this is too noisy to call
        elevated (3 errors out of 4 requests is 75 % but says little). 1 = trust any rate.
    """

    elevated_error_rate: float = 5.0
    min_requests: float = 1.0
    min_requests_for_rate: float = 1.0


def _fmt_rate(value: float) -> str:
    return f"{value:.1f}%" if value >= 0.1 or value == 0 else f"{value:.2g}%"


def _names(results: Sequence[TargetResult], verdict: Verdict) -> tuple[str, str]:
    """("origin a:443, origin b:8443 (SNI x)", "CODE_A, CODE_B") of the results with ``verdict``."""
    chosen = [r for r in results if r.verdict is verdict]
    shown = ", ".join(r.target.display for r in chosen[:3]) + (
        f" and {len(chosen) - 3} more" if len(chosen) > 3 else "")
    sev = Severity.FAIL if verdict is Verdict.FAIL else Severity.WARN
    codes = dict.fromkeys(str(f.code) for r in chosen for f in r.findings if f.severity is sev)
    return shown, ", ".join(codes)



def parse_instant(text: str | None) -> dt.datetime | None:
    """An ISO-8601 UTC time as reports write it (``...Z``), None if absent or unreadable."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def days_to_next_expiry(report: AuditReport) -> float | None:
    """Days from the report's time to the nearest leaf certificate expiry (notAfter) on any
    address seen, negative when one has expired; None when no leaf's expiry is known.

    The leaf is the first certificate of the issuing path (``AddressReport.issuing_order``),
    not the first sent: a chain sent intermediate-first still counts its leaf. For the
    dashboard (``handler.record_metrics``): the certificate to renew next.
    """
    now = parse_instant(report.generated_at)
    if now is None:
        return None
    nearest: float | None = None
    for r in report.results:
        for a in r.addresses:
            if not a.chain:
                continue
            index = a.issuing_order[0] if a.issuing_order else 0
            expiry = parse_instant(a.chain[index].not_after) if 0 <= index < len(a.chain) else None
            if expiry is None:
                continue
            days = (expiry - now).total_seconds() / 86400
            nearest = days if nearest is None else min(nearest, days)
    return nearest


def unaudited_summary(results: Sequence[TargetResult]) -> str:
    """'2 origin(s) not audited (VPC origin: 1, time budget: 1)', or "" when there are none.
    The reports and every message say it the same way (``TargetResult.unaudited``, by reason)."""
    counts = count_unaudited(results)
    if not counts:
        return ""
    return f"{sum(counts.values())} origin(s) not audited ({unaudited_reasons(counts)})"


def unaudited_reasons(counts: Mapping[NotAudited, int]) -> str:
    """'VPC origin: 1, time budget: 1': the reasons of ``model.count_unaudited``, most first."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].words))
    return ", ".join(f"{why.words}: {n}" for why, n in ordered)


def _unaudited_words(results: Sequence[TargetResult]) -> tuple[int, str]:
    """(how many, "a:443 (time budget), b:443 (VPC origin) and 3 more") of the unaudited results."""
    chosen = [(r, why) for r in results if (why := r.not_audited) is not None]
    shown = ", ".join(f"{r.target.display} ({why.words})" for r, why in chosen[:3]) + (
        f" and {len(chosen) - 3} more" if len(chosen) > 3 else "")
    return len(chosen), shown


def classify(results: Sequence[TargetResult], metrics: Mapping[str, float | None], *,
             additional: bool | None, thresholds: Thresholds = Thresholds()) -> tuple[Classification, str]:
    """(classification, one-paragraph reason) for one distribution; see the module docstring."""
    requests = metrics.get("Requests")
    rate_name = "502ErrorRate" if additional and metrics.get("502ErrorRate") is not None else "5xxErrorRate"
    rate = metrics.get(rate_name)
    rate_known = rate is not None and (requests is None or requests >= thresholds.min_requests_for_rate)
    elevated = rate_known and rate is not None and rate >= thresholds.elevated_error_rate
    idle = requests is not None and requests < thresholds.min_requests
    failing = any(r.verdict is Verdict.FAIL for r in results)
    warning = any(r.verdict is Verdict.WARN for r in results)
    unaudited, unaudited_who = _unaudited_words(results)
    unaudited_note = (f" {unaudited} of {len(results)} origins were not audited: {unaudited_who}."
                      if unaudited else "")

    if failing:
        who, codes = _names(results, Verdict.FAIL)
        if elevated and rate is not None:
            return Classification.OUTAGE, (
                f"OUTAGE: {who} fails CloudFront's TLS rules ({codes}) and {rate_name} is "
                f"{_fmt_rate(rate)} over the window: CloudFront is failing viewers now." + unaudited_note)
        why = ("CloudWatch metrics were unavailable, so this cannot be ruled an outage or masked; "
               "treat it as one waiting to happen" if requests is None and rate is None else
               "there were no requests in the window; the first request that reaches the origin will fail"
               if idle else
               f"{rate_name} is only {_fmt_rate(rate)} because the cache is masking it"
               if rate is not None else "the error rate is unknown")
        return Classification.LATENT, (
            f"LATENT OUTAGE: {who} fails CloudFront's TLS rules ({codes}) but {why}. The next "
            "cache miss (a deploy with new asset URLs, an invalidation, a TTL expiry) turns "
            "this into 502s for viewers. Fix the origin now." + unaudited_note)
    metrics_note = " (CloudWatch metrics unavailable.)" if requests is None and rate is None else ""
    if unaudited:
        extra = ""
        if elevated and rate is not None:
            extra += (f" {rate_name} is {_fmt_rate(rate)}: the origin not audited may be the "
                      "cause; the other 502 causes are not ruled out either.")
        if warning:
            who, codes = _names(results, Verdict.WARN)
            extra += f" Warnings on {who} ({codes})."
        return Classification.NOT_AUDITED, (
            f"{unaudited} of {len(results)} origins were not audited: {unaudited_who}. Nothing is "
            "known about their TLS, so this distribution is not called healthy; no failure was "
            f"seen on what was audited.{extra}{metrics_note}")
    if elevated and rate is not None:
        extra = ""
        if warning:
            who, codes = _names(results, Verdict.WARN)
            extra = f" Warnings on {who} ({codes}) may explain part of it."
        return Classification.ERRORS_NOT_TLS, (
            f"{rate_name} is {_fmt_rate(rate)} while every origin passes the TLS checks: look at "
            "the other causes: origin DNS (NonS3OriginDnsError), security groups or firewalls closed to "
            "CloudFront's origin-facing prefix list, origin read/keep-alive timeouts, errors the origin "
            "itself returns, Lambda@Edge / CloudFront Functions validation errors." + extra)
    if warning:
        who, codes = _names(results, Verdict.WARN)
        return Classification.AT_RISK, (
            f"{who} works today but has warnings ({codes}): fix them before they become "
            f"failures.{metrics_note}")
    if idle:
        return Classification.IDLE, "No requests in the window; every origin passes."
    if not results:
        return Classification.HEALTHY, ("No origin with TLS to check (S3 or http-only origins only)."
                                        + metrics_note)
    return Classification.HEALTHY, "Every origin passes CloudFront's TLS checks." + metrics_note


def _worst_first_key(report: DistributionReport, fails: int) -> tuple[int, int, float, str]:
    rate = report.metrics.get("502ErrorRate")
    if rate is None:
        rate = report.metrics.get("5xxErrorRate")
    return (-report.classification.rank, -fails, -(rate or 0.0), report.id)


def _prefix(info: DistributionInfo) -> str:
    parts = []
    if not info.enabled:
        parts.append("Disabled distribution (serves nothing until enabled)")
    if info.staging:
        parts.append("Staging distribution")
    return "; ".join(parts) + ". " if parts else ""


def assess(discovery: Discovery, results: Sequence[TargetResult], metrics: Metrics,
           thresholds: Thresholds = Thresholds()) -> tuple[DistributionReport, ...]:
    """One DistributionReport per discovered distribution, worst first.

    ``results`` are in the order of ``discovery.targets``' results in the AuditReport; a
    report's ``results`` are the indexes of those reported under the distribution.
    """
    keyed: list[tuple[DistributionReport, int]] = []
    for info in discovery.distributions:
        indexes = tuple(i for i, r in enumerate(results) if info.id in r.target.distribution_ids)
        mine = [results[i] for i in indexes]
        values = dict(metrics.values.get(info.id, {}))
        additional = metrics.additional_enabled.get(info.id)
        findings: list[Finding] = []
        if additional is False:
            fix = CODES[Code.ADDITIONAL_METRICS_DISABLED].fix.replace("--distribution-id ID",
                                                                        f"--distribution-id {info.id}")
            findings.append(finding(Code.ADDITIONAL_METRICS_DISABLED,
                                    "Additional metrics are off: 502ErrorRate and CacheHitRate are "
                                    "unavailable, 5xxErrorRate is used instead.", hint=fix))
        if info.error is not None:
            classification, reason = Classification.UNKNOWN, (
                f"Could not read this distribution's configuration ({info.error}): its origins were "
                "not audited.")
        else:
            classification, reason = classify(mine, values, additional=additional, thresholds=thresholds)
        report = DistributionReport(
            id=info.id, classification=classification, domain_name=info.domain_name,
            aliases=info.aliases, enabled=info.enabled, staging=bool(info.staging), metrics=values,
            results=indexes, findings=tuple(findings), reason=_prefix(info) + reason)
        keyed.append((report, sum(1 for r in mine if r.verdict is Verdict.FAIL)))
    keyed.sort(key=lambda pair: _worst_first_key(*pair))
    return tuple(r for r, _ in keyed)
