"""CORRELATE: CloudWatch metrics for every audited distribution in one batched GetMetricData.

Namespace ``AWS/CloudFront``, dimensions ``DistributionId`` + ``Region=Global``, us-east-1
(``shared/cloudfront-rules.md`` §4). ``Requests`` and ``5xxErrorRate`` always; ``502ErrorRate``,
``CacheHitRate`` and ``OriginLatency`` only where the distribution's monitoring subscription
(additional metrics, paid) is on. Up to 500 queries per call, pages followed by botocore's
paginator.

Nothing here raises: a failure yields ``None`` values and a note that says what the report lacks.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .aws import describe_error, error_code

log = logging.getLogger(__name__)

NAMESPACE = "AWS/CloudFront"
MAX_QUERIES_PER_CALL = 500
# (metric, statistic): what each number in the report is.
BASE_METRICS: tuple[tuple[str, str], ...] = (("Requests", "Sum"), ("5xxErrorRate", "Average"))
ADDITIONAL_METRICS: tuple[tuple[str, str], ...] = (
    ("502ErrorRate", "Average"), ("CacheHitRate", "Average"), ("OriginLatency", "Average"))
SUM_METRICS = frozenset({"Requests"})
# GetMonitoringSubscription calls in flight at once (see _subscriptions).
SUBSCRIPTION_WORKERS = 8


@dataclass(frozen=True)
class Metrics:
    """Metrics per distribution over the lookback window.

    values: distribution id -> metric name -> value (Requests: Sum; rates and latency: mean of
        the datapoints; ``None``: unknown — the query failed or returned no datapoint. A complete
        ``Requests`` query without datapoints is 0.0: CloudFront publishes no datapoint for a
        period without requests).
    additional_enabled: distribution id -> monitoring subscription on (True), off (False),
        unknown (None).
    notes: run-level remarks (partial data, errors) that degrade the report.
    api_calls: operation -> number of calls.
    period: the seconds each query aggregated over.
    """

    values: dict[str, dict[str, float | None]]
    additional_enabled: dict[str, bool | None]
    notes: tuple[str, ...] = ()
    api_calls: dict[str, int] = field(default_factory=dict)
    period: int = 0


def period_for(lookback: dt.timedelta) -> int:
    """The lookback rounded to a multiple of 60 seconds (at least 60): one datapoint per query."""
    return max(60, round(lookback.total_seconds() / 60.0) * 60)


def _subscription(cloudfront: Any, dist_id: str) -> tuple[bool | None, str | None]:
    """(monitoring subscription on?, failure reason) for one distribution. Never raises.

    Runs on a worker thread: it touches nothing shared, so the caller can merge results in
    input order and the notes come out the same whatever order the calls finished in.
    """
    try:
        resp = cloudfront.get_monitoring_subscription(DistributionId=dist_id)
        status = (resp.get("MonitoringSubscription", {}).get("RealtimeMetricsSubscriptionConfig", {})
                  .get("RealtimeMetricsSubscriptionStatus"))
    except Exception as exc:  # unknown, noted, never fatal
        if error_code(exc) == "NoSuchMonitoringSubscription":
            return False, None
        return None, describe_error(exc)
    return status == "Enabled", None


def _subscriptions(cloudfront: Any, ids: Sequence[str], calls: dict[str, int],
                   notes: list[str], *, workers: int = SUBSCRIPTION_WORKERS) -> dict[str, bool | None]:
    # There is no batch form of GetMonitoringSubscription: one call per distribution. Made one
    # after another, 200 distributions cost 10-20 s of round trips, so a few run at once. The
    # pool stays below botocore's default of 10 pooled connections per client and small enough
    # that CloudFront's per-account rate limit is not provoked (retries cover the odd throttle).
    calls["GetMonitoringSubscription"] = calls.get("GetMonitoringSubscription", 0) + len(ids)
    if workers <= 1 or len(ids) <= 1:
        results = [_subscription(cloudfront, d) for d in ids]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(ids)),
                                thread_name_prefix="monitoring-subscription") as pool:
            # map() yields in input order: results, and so the notes, are deterministic.
            results = list(pool.map(functools.partial(_subscription, cloudfront), ids))
    enabled: dict[str, bool | None] = {}
    failures: dict[str, list[str]] = {}
    for dist_id, (state, reason) in zip(ids, results, strict=True):
        enabled[dist_id] = state
        if reason is not None:
            failures.setdefault(reason, []).append(dist_id)
    for reason, failed in failures.items():
        shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        notes.append(f"Could not read the monitoring subscription of {shown} ({reason}); "
                     "only Requests and 5xxErrorRate were fetched for them.")
        log.warning("get_monitoring_subscription failed for %d distributions: %s", len(failed), reason)
    return enabled


def _queries(ids: Sequence[str], enabled: dict[str, bool | None],
             period: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(query id, distribution id, metric, MetricDataQuery) for every wanted number."""
    out = []
    for i, dist_id in enumerate(ids):
        wanted = BASE_METRICS + (ADDITIONAL_METRICS if enabled.get(dist_id) else ())
        for j, (metric, stat) in enumerate(wanted):
            qid = f"m{i}_{j}"  # Ids must start with a lowercase letter.
            out.append((qid, dist_id, metric, {
                "Id": qid,
                "MetricStat": {
                    "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": [
                        {"Name": "DistributionId", "Value": dist_id},
                        {"Name": "Region", "Value": "Global"}]},
                    "Period": period, "Stat": stat},
                "ReturnData": True}))
    return out


def fetch_metrics(cloudwatch: Any, cloudfront: Any, distribution_ids: Sequence[str], *,
                  end: dt.datetime, lookback: dt.timedelta = dt.timedelta(hours=3),
                  subscription_workers: int = SUBSCRIPTION_WORKERS) -> Metrics:
    """Metrics for ``distribution_ids`` over ``[end - lookback, end)``. Never raises.

    ``cloudfront`` must be safe to call from several threads (boto3 clients are): the
    monitoring subscriptions are read ``subscription_workers`` at a time.
    """
    ids = list(dict.fromkeys(distribution_ids))
    calls: dict[str, int] = {}
    notes: list[str] = []
    period = period_for(lookback)
    values: dict[str, dict[str, float | None]] = {d: {m: None for m, _ in BASE_METRICS} for d in ids}
    if not ids:
        return Metrics(values={}, additional_enabled={}, api_calls=calls, period=period)
    enabled = _subscriptions(cloudfront, ids, calls, notes, workers=subscription_workers)
    queries = _queries(ids, enabled, period)
    for _qid, dist_id, metric, _q in queries:
        values[dist_id][metric] = None
    start = end - dt.timedelta(seconds=period)
    datapoints: dict[str, list[float]] = {}
    status: dict[str, str] = {}
    try:
        paginator = cloudwatch.get_paginator("get_metric_data")
        for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
            chunk = [q for _, _, _, q in queries[offset:offset + MAX_QUERIES_PER_CALL]]
            # The paginator follows NextToken (and refuses a token repeated, which would loop).
            for resp in paginator.paginate(MetricDataQueries=chunk, StartTime=start, EndTime=end):
                calls["GetMetricData"] = calls.get("GetMetricData", 0) + 1
                for r in resp.get("MetricDataResults", []):
                    qid = str(r.get("Id"))
                    datapoints.setdefault(qid, []).extend(float(v) for v in r.get("Values", []))
                    # PartialData on any page taints the query; Complete never overrides it.
                    if status.get(qid) in (None, "Complete"):
                        status[qid] = str(r.get("StatusCode", "Complete"))
                    for m in r.get("Messages", []) or []:
                        notes.append(f"CloudWatch: {m.get('Code', '')} {m.get('Value', '')}".strip())
                for m in resp.get("Messages", []) or []:
                    notes.append(f"CloudWatch: {m.get('Code', '')} {m.get('Value', '')}".strip())
    except Exception as exc:  # degrade, never abort the report
        calls["GetMetricData"] = calls.get("GetMetricData", 0) + 1  # the call that failed
        log.warning("GetMetricData failed: %s", describe_error(exc))
        notes.append(f"CloudWatch metrics unavailable ({describe_error(exc)}): this report has no "
                     "metrics; classifications rest on the TLS checks alone.")
        return Metrics(values={d: dict.fromkeys(v) for d, v in values.items()},
                       additional_enabled=enabled, notes=tuple(dict.fromkeys(notes)), api_calls=calls,
                       period=period)
    missing: list[str] = []
    partial: list[str] = []
    for qid, dist_id, metric, _q in queries:
        if qid not in status:
            missing.append(f"{dist_id}/{metric}")
            continue
        if status[qid] == "PartialData":
            partial.append(f"{dist_id}/{metric}")
        elif status[qid] not in ("Complete",):
            partial.append(f"{dist_id}/{metric} ({status[qid]})")
        points = datapoints.get(qid, [])
        if points:
            total = math.fsum(points)
            values[dist_id][metric] = total if metric in SUM_METRICS else total / len(points)
        elif metric in SUM_METRICS and status[qid] == "Complete":
            values[dist_id][metric] = 0.0
    if missing:
        notes.append(f"CloudWatch returned no result for {len(missing)} metric queries "
                     f"({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}); those are unknown.")
    if partial:
        notes.append(f"CloudWatch returned partial data for {len(partial)} metric queries "
                     f"({', '.join(partial[:5])}{' ...' if len(partial) > 5 else ''}); values may be low.")
    return Metrics(values=values, additional_enabled=enabled, notes=tuple(dict.fromkeys(notes)),
                   api_calls=calls, period=period)
