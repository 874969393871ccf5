"""fetch_metrics: moto CloudWatch for data, Stubber for monitoring subscriptions, pages and failures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from origin_auditor.correlate import fetch_metrics, period_for

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def put(cw: Any, dist: str, metric: str, values: list[float], unit: str = "None") -> None:
    cw.put_metric_data(Namespace="AWS/CloudFront", MetricData=[
        {"MetricName": metric, "Value": v, "Unit": unit,
         "Timestamp": NOW - dt.timedelta(minutes=10 + i),
         "Dimensions": [{"Name": "DistributionId", "Value": dist}, {"Name": "Region", "Value": "Global"}]}
        for i, v in enumerate(values)])


def subscriptions(stubber: Stubber, states: dict[str, str | None]) -> None:
    """Queue GetMonitoringSubscription answers: "Enabled"/"Disabled", or None = no subscription."""
    for dist, state in states.items():
        if state is None:
            stubber.add_client_error("get_monitoring_subscription", "NoSuchMonitoringSubscription",
                                     "none", 404, expected_params={"DistributionId": dist})
        else:
            stubber.add_response("get_monitoring_subscription", {"MonitoringSubscription": {
                "RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": state}}},
                {"DistributionId": dist})


def test_metrics_per_distribution_with_additional_metrics_where_subscribed(
        cw: Any, stub_cf: tuple[Any, Stubber]) -> None:
    cf, stubber = stub_cf
    put(cw, "EPAID", "Requests", [100, 300])
    put(cw, "EPAID", "5xxErrorRate", [2.0, 4.0], "Percent")
    put(cw, "EPAID", "502ErrorRate", [1.0, 3.0], "Percent")
    put(cw, "EPAID", "CacheHitRate", [90.0], "Percent")
    put(cw, "EFREE", "Requests", [7])
    put(cw, "EFREE", "5xxErrorRate", [0.0], "Percent")
    put(cw, "EFREE", "502ErrorRate", [50.0], "Percent")  # present, but not asked for: no subscription
    put(cw, "EOTHER", "Requests", [999])  # not audited
    subscriptions(stubber, {"EPAID": "Enabled", "EFREE": None, "EIDLE": "Disabled"})
    m = fetch_metrics(cw, cf, ["EPAID", "EFREE", "EIDLE"], end=NOW)
    assert m.values["EPAID"] == {"Requests": 400.0, "5xxErrorRate": 3.0, "502ErrorRate": 2.0,
                                 "CacheHitRate": 90.0, "OriginLatency": None}
    assert m.values["EFREE"] == {"Requests": 7.0, "5xxErrorRate": 0.0}
    # No datapoints in a complete query: no requests (CloudFront publishes none when idle).
    assert m.values["EIDLE"] == {"Requests": 0.0, "5xxErrorRate": None}
    assert m.additional_enabled == {"EPAID": True, "EFREE": False, "EIDLE": False}
    assert m.api_calls == {"GetMonitoringSubscription": 3, "GetMetricData": 1}
    assert m.period == 3 * 3600
    assert m.notes == ()


def test_queries_are_batched_500_per_call_with_lowercase_ids(cw: Any, stub_cf: tuple[Any, Stubber]) -> None:
    cf, stubber = stub_cf
    ids = [f"E{i:04d}" for i in range(260)]
    subscriptions(stubber, dict.fromkeys(ids[:100], "Enabled") | dict.fromkeys(ids[100:]))
    put(cw, ids[259], "Requests", [5])
    seen: list[list[str]] = []
    original = cw.get_metric_data

    def spy(**kw: Any) -> Any:
        seen.append([q["Id"] for q in kw["MetricDataQueries"]])
        return original(**kw)

    cw.get_metric_data = spy
    m = fetch_metrics(cw, cf, ids, end=NOW)
    total = 100 * 5 + 160 * 2
    assert [len(s) for s in seen] == [500, total - 500]
    flat = [i for s in seen for i in s]
    assert len(set(flat)) == total and all(i[0].islower() for i in flat)
    assert m.api_calls["GetMetricData"] == 2
    assert m.values[ids[259]]["Requests"] == 5.0


def test_next_token_is_followed_and_partial_data_is_said(stub_cf: tuple[Any, Stubber]) -> None:
    cf, cf_stub = stub_cf
    subscriptions(cf_stub, {"EONE": None})
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    with Stubber(cw) as stub:
        stub.add_response("get_metric_data", {
            "MetricDataResults": [{"Id": "m0_0", "Values": [10.0], "StatusCode": "PartialData"}],
            "NextToken": "t1"}, {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY})
        stub.add_response("get_metric_data", {
            "MetricDataResults": [{"Id": "m0_0", "Values": [5.0], "StatusCode": "Complete"}],
            "Messages": [{"Code": "MaxQueryTimeRangeExceed", "Value": "trimmed"}]},
            {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY, "NextToken": "t1"})
        m = fetch_metrics(cw, cf, ["EONE"], end=NOW, lookback=dt.timedelta(minutes=90))
        stub.assert_no_pending_responses()
    # 5xxErrorRate (m0_1) never came back: unknown, and said.
    assert m.values["EONE"] == {"Requests": 15.0, "5xxErrorRate": None}
    assert m.api_calls["GetMetricData"] == 2
    text = " ".join(m.notes)
    assert "partial data" in text and "EONE/Requests" in text
    assert "no result" in text and "EONE/5xxErrorRate" in text
    assert "MaxQueryTimeRangeExceed" in text


def test_a_cloudwatch_failure_gives_a_report_without_metrics_and_says_so(
        stub_cf: tuple[Any, Stubber]) -> None:
    cf, cf_stub = stub_cf
    subscriptions(cf_stub, {"EONE": "Enabled"})
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    with Stubber(cw) as stub:
        stub.add_client_error("get_metric_data", "AccessDenied", "no cloudwatch:GetMetricData", 403)
        m = fetch_metrics(cw, cf, ["EONE"], end=NOW)
    assert set(m.values["EONE"].values()) == {None}
    assert m.additional_enabled == {"EONE": True}
    assert any("no metrics" in n and "AccessDenied" in n for n in m.notes)


def test_an_unreadable_monitoring_subscription_is_unknown_and_noted(
        cw: Any, stub_cf: tuple[Any, Stubber]) -> None:
    cf, stubber = stub_cf
    stubber.add_client_error("get_monitoring_subscription", "AccessDenied", "denied", 403)
    put(cw, "EONE", "Requests", [3])
    m = fetch_metrics(cw, cf, ["EONE"], end=NOW)
    assert m.additional_enabled == {"EONE": None}
    assert m.values["EONE"]["Requests"] == 3.0
    assert any("EONE" in n and "AccessDenied" in n for n in m.notes)


@pytest.mark.parametrize(("lookback", "period"), [
    (dt.timedelta(hours=3), 10800), (dt.timedelta(seconds=10), 60), (dt.timedelta(seconds=100), 120)])
def test_period_is_the_lookback_in_whole_minutes(lookback: dt.timedelta, period: int) -> None:
    assert period_for(lookback) == period
