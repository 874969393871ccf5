"""CORRELATE: CloudWatch metrics for every audited distribution in one batched GetMetricData.

Namespace ``AWS/CloudFront``, dimensions ``DistributionId`` + ``Region=Global``, us-east-1
(``shared/cloudfront-rules.md`` §4). ``Requests`` and ``5xxErrorRate`` always; ``502ErrorRate``,
``CacheHitRate`` and ``OriginLatency`` only where the distribution's monitoring subscription
(additional metrics, paid) is on. Up to 500 queries per call, pages followed by botocore's
paginator.

Nothing here raises: a failure yields ``None`` values and a note that says what the report lacks.
Nothing here blocks past the caller's deadline either (``fetch_metrics(deadline=...)``): what is
not read by then is unknown, and the note says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
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
                   notes: list[str], *, workers: int = SUBSCRIPTION_WORKERS,
                   deadline: float | None = None) -> dict[str, bool | None]:
    # There is no batch form of GetMonitoringSubscription: one call per distribution. Made one
    # after another, 200 distributions cost 10-20 s of round trips, so a few run at once. The
    # pool stays below botocore's default of 10 pooled connections per client and small enough
    # that CloudFront's per-account rate limit is not provoked (retries cover the odd throttle).
    # With a deadline nothing waits past it: a read not finished by then is unknown (noted),
    # and is left to end on its own thread.
    results: list[tuple[bool | None, str | None] | None]
    if deadline is None and (workers <= 1 or len(ids) <= 1):
        results = [_subscription(cloudfront, d) for d in ids]
        made = len(ids)
    else:
        pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(ids))),
                                  thread_name_prefix="monitoring-subscription")
        futures = [pool.submit(_subscription, cloudfront, d) for d in ids]
        done, pending = wait(futures, timeout=_left(deadline))
        pool.shutdown(wait=not pending, cancel_futures=True)
        # Results in input order, whatever order the calls finished in: the notes are deterministic.
        results = [f.result() if f in done else None for f in futures]
        made = sum(1 for f in futures if not f.cancelled())
    calls["GetMonitoringSubscription"] = calls.get("GetMonitoringSubscription", 0) + made
    enabled: dict[str, bool | None] = {}
    failures: dict[str, list[str]] = {}
    unfinished: list[str] = []
    for dist_id, outcome in zip(ids, results, strict=True):
        if outcome is None:
            enabled[dist_id] = None
            unfinished.append(dist_id)
            continue
        state, reason = outcome
        enabled[dist_id] = state
        if reason is not None:
            failures.setdefault(reason, []).append(dist_id)
    for reason, failed in failures.items():
        notes.append(f"Could not read the monitoring subscription of {_shown(failed)} ({reason}); "
                     "only Requests and 5xxErrorRate were fetched for them.")
        log.warning("get_monitoring_subscription failed for %d distributions: %s", len(failed), reason)
    if unfinished:
        notes.append(f"The monitoring subscription of {_shown(unfinished)} was not read within the "
                     "time budget; only Requests and 5xxErrorRate were fetched for them.")
        log.warning("get_monitoring_subscription unfinished at the deadline for %d distributions",
                    len(unfinished))
    return enabled


def _shown(ids: Sequence[str]) -> str:
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def _left(deadline: float | None) -> float | None:
    """Seconds until ``deadline`` (0 when past), None without one."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


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


@dataclass
class _Pages:
    """What the GetMetricData pages said (filled by ``_read_pages``, possibly on a worker)."""

    datapoints: dict[str, list[float]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    calls: int = 0


def _read_pages(cloudwatch: Any, queries: Sequence[tuple[str, str, str, dict[str, Any]]],
                start: dt.datetime, end: dt.datetime, pages: _Pages) -> _Pages:
    paginator = cloudwatch.get_paginator("get_metric_data")
    for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
        chunk = [q for _, _, _, q in queries[offset:offset + MAX_QUERIES_PER_CALL]]
        # The paginator follows NextToken (and refuses a token repeated, which would loop).
        for resp in paginator.paginate(MetricDataQueries=chunk, StartTime=start, EndTime=end):
            pages.calls += 1
            for r in resp.get("MetricDataResults", []):
                qid = str(r.get("Id"))
                pages.datapoints.setdefault(qid, []).extend(float(v) for v in r.get("Values", []))
                # PartialData on any page taints the query; Complete never overrides it.
                if pages.status.get(qid) in (None, "Complete"):
                    pages.status[qid] = str(r.get("StatusCode", "Complete"))
                for m in r.get("Messages", []) or []:
                    pages.notes.append(f"CloudWatch: {m.get('Code', '')} {m.get('Value', '')}".strip())
            for m in resp.get("Messages", []) or []:
                pages.notes.append(f"CloudWatch: {m.get('Code', '')} {m.get('Value', '')}".strip())
    return pages


def fetch_metrics(cloudwatch: Any, cloudfront: Any, distribution_ids: Sequence[str], *,
                  end: dt.datetime, lookback: dt.timedelta = dt.timedelta(hours=3),
                  subscription_workers: int = SUBSCRIPTION_WORKERS,
                  deadline: float | None = None) -> Metrics:
    """Metrics for ``distribution_ids`` over ``[end - lookback, end)``. Never raises.

    ``cloudfront`` must be safe to call from several threads (boto3 clients are): the
    monitoring subscriptions are read ``subscription_workers`` at a time.

    ``deadline`` (``time.monotonic()``): this returns by then, whatever the AWS calls do (their
    own retries can take minutes). The subscription reads get the first half of the time left,
    GetMetricData the rest; a read not finished is unknown and noted, GetMetricData not
    finished means no metrics (noted). Unfinished calls end on their own worker threads.
    """
    ids = list(dict.fromkeys(distribution_ids))
    calls: dict[str, int] = {}
    notes: list[str] = []
    period = period_for(lookback)
    values: dict[str, dict[str, float | None]] = {d: {m: None for m, _ in BASE_METRICS} for d in ids}
    if not ids:
        return Metrics(values={}, additional_enabled={}, api_calls=calls, period=period)
    # Without the numbers GetMetricData brings there is nothing to classify by; a subscription
    # not read only costs the additional metrics. Hence at most half the time for the reads.
    left = _left(deadline)
    reads_by = None if left is None else time.monotonic() + left / 2
    enabled = _subscriptions(cloudfront, ids, calls, notes, workers=subscription_workers, deadline=reads_by)
    queries = _queries(ids, enabled, period)
    for _qid, dist_id, metric, _q in queries:
        values[dist_id][metric] = None
    start = end - dt.timedelta(seconds=period)

    def unavailable(why: str) -> Metrics:
        notes.append(f"CloudWatch metrics {why}: this report has no metrics; classifications rest on "
                     "the TLS checks alone.")
        return Metrics(values={d: dict.fromkeys(v) for d, v in values.items()},
                       additional_enabled=enabled, notes=tuple(dict.fromkeys(notes)), api_calls=calls,
                       period=period)

    pages = _Pages()
    try:
        if deadline is None:
            _read_pages(cloudwatch, queries, start, end, pages)
        else:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="get-metric-data")
            future = pool.submit(_read_pages, cloudwatch, queries, start, end, pages)
            finished, _ = wait([future], timeout=_left(deadline))
            pool.shutdown(wait=bool(finished), cancel_futures=True)
            if not finished:
                calls["GetMetricData"] = calls.get("GetMetricData", 0) + pages.calls + 1  # one in flight
                log.warning("GetMetricData unfinished at the deadline")
                return unavailable("not fetched within the time budget")
            future.result()  # raises what the worker raised
    except Exception as exc:  # degrade, never abort the report
        calls["GetMetricData"] = calls.get("GetMetricData", 0) + pages.calls + 1  # the call that failed
        log.warning("GetMetricData failed: %s", describe_error(exc))
        notes.extend(pages.notes)  # what CloudWatch said on the pages before the failure
        return unavailable(f"unavailable ({describe_error(exc)})")
    calls["GetMetricData"] = calls.get("GetMetricData", 0) + pages.calls
    datapoints, status = pages.datapoints, pages.status
    notes.extend(pages.notes)
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
