"""fetch_metrics: moto CloudWatch for data, a per-distribution table for monitoring subscriptions
(read concurrently, so no ordered Stubber queue), Stubber for CloudWatch pages and failures."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from origin_auditor.correlate import SUBSCRIPTION_WORKERS, fetch_metrics, period_for

from .conftest import MonitoringSubscriptions, SubscriptionAnswer

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
# Generous: only reached when the code under test is broken (sequential calls), never timed.
WAIT = 10.0


def put(cw: Any, dist: str, metric: str, values: list[float], unit: str = "None") -> None:
    cw.put_metric_data(Namespace="AWS/CloudFront", MetricData=[
        {"MetricName": metric, "Value": v, "Unit": unit,
         "Timestamp": NOW - dt.timedelta(minutes=10 + i),
         "Dimensions": [{"Name": "DistributionId", "Value": dist}, {"Name": "Region", "Value": "Global"}]}
        for i, v in enumerate(values)])


def subscriptions(stubber: Stubber, states: dict[str, SubscriptionAnswer]) -> MonitoringSubscriptions:
    """Answer GetMonitoringSubscription on the stubber's client from a per-distribution table:
    "Enabled"/"Disabled", or None = no subscription. Any call order (the calls are concurrent);
    the Stubber keeps answering the client's other operations."""
    table = MonitoringSubscriptions(states)
    table.install(stubber.client)
    return table


def test_metrics_per_distribution_with_additional_metrics_where_subscribed(cw: Any) -> None:
    put(cw, "EPAID", "Requests", [100, 300])
    put(cw, "EPAID", "5xxErrorRate", [2.0, 4.0], "Percent")
    put(cw, "EPAID", "502ErrorRate", [1.0, 3.0], "Percent")
    put(cw, "EPAID", "CacheHitRate", [90.0], "Percent")
    put(cw, "EFREE", "Requests", [7])
    put(cw, "EFREE", "5xxErrorRate", [0.0], "Percent")
    put(cw, "EFREE", "502ErrorRate", [50.0], "Percent")  # present, but not asked for: no subscription
    put(cw, "EOTHER", "Requests", [999])  # not audited
    cf = MonitoringSubscriptions({"EPAID": "Enabled", "EFREE": None, "EIDLE": "Disabled"})
    m = fetch_metrics(cw, cf, ["EPAID", "EFREE", "EIDLE"], end=NOW)
    assert m.values["EPAID"] == {"Requests": 400.0, "5xxErrorRate": 3.0, "502ErrorRate": 2.0,
                                 "CacheHitRate": 90.0, "OriginLatency": None}
    assert m.values["EFREE"] == {"Requests": 7.0, "5xxErrorRate": 0.0}
    # No datapoints in a complete query: no requests (CloudFront publishes none when idle).
    assert m.values["EIDLE"] == {"Requests": 0.0, "5xxErrorRate": None}
    assert m.additional_enabled == {"EPAID": True, "EFREE": False, "EIDLE": False}
    assert list(m.additional_enabled) == ["EPAID", "EFREE", "EIDLE"]  # input order, not finish order
    assert sorted(cf.asked) == ["EFREE", "EIDLE", "EPAID"]  # each asked once
    assert m.api_calls == {"GetMonitoringSubscription": 3, "GetMetricData": 1}
    assert m.period == 3 * 3600
    assert m.notes == ()


def test_queries_are_batched_500_per_call_with_lowercase_ids(cw: Any) -> None:
    ids = [f"E{i:04d}" for i in range(260)]
    cf = MonitoringSubscriptions(dict.fromkeys(ids[:100], "Enabled") | dict.fromkeys(ids[100:]))
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
    assert m.api_calls == {"GetMonitoringSubscription": 260, "GetMetricData": 2}
    assert sorted(cf.asked) == ids
    assert m.values[ids[259]]["Requests"] == 5.0


def test_next_token_is_followed_and_partial_data_is_said() -> None:
    cf = MonitoringSubscriptions({"EONE": None})
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


def test_a_cloudwatch_failure_gives_a_report_without_metrics_and_says_so() -> None:
    cf = MonitoringSubscriptions({"EONE": "Enabled"})
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    with Stubber(cw) as stub:
        stub.add_client_error("get_metric_data", "AccessDenied", "no cloudwatch:GetMetricData", 403)
        m = fetch_metrics(cw, cf, ["EONE"], end=NOW)
    assert set(m.values["EONE"].values()) == {None}
    assert m.additional_enabled == {"EONE": True}
    assert any("no metrics" in n and "AccessDenied" in n for n in m.notes)


def test_an_unreadable_monitoring_subscription_is_unknown_and_noted(cw: Any) -> None:
    cf = MonitoringSubscriptions({"EONE": ("AccessDenied", "denied", 403)})
    put(cw, "EONE", "Requests", [3])
    m = fetch_metrics(cw, cf, ["EONE"], end=NOW)
    assert m.additional_enabled == {"EONE": None}
    assert m.values["EONE"]["Requests"] == 3.0
    assert any("EONE" in n and "AccessDenied" in n for n in m.notes)


def test_monitoring_subscriptions_are_read_concurrently_and_at_most_eight_at_once(cw: Any) -> None:
    # Given 16 distributions whose subscription calls only answer once 8 of them are in flight
    # together (a barrier: one-at-a-time calls would break it and be noted as failures),
    ids = [f"E{i:02d}" for i in range(2 * SUBSCRIPTION_WORKERS)]
    barrier = threading.Barrier(SUBSCRIPTION_WORKERS, timeout=WAIT)
    cf = MonitoringSubscriptions(dict.fromkeys(ids, "Enabled"), gate=lambda _d: barrier.wait())
    # when the metrics are fetched,
    m = fetch_metrics(cw, cf, ids, end=NOW)
    # then every call got through the barrier, and no more than the pool size ran together.
    assert m.notes == ()
    assert m.additional_enabled == dict.fromkeys(ids, True)
    assert cf.in_flight_max == SUBSCRIPTION_WORKERS
    assert m.api_calls["GetMonitoringSubscription"] == len(ids) == len(cf.asked)


def test_notes_follow_input_order_whatever_order_the_calls_finish_in(cw: Any) -> None:
    # Given calls that finish in reverse order (each waits for the next id's call to pass),
    # with two kinds of failure at the two ends and a repeated one in between,
    ids = [f"E{i}" for i in range(6)]
    answers: dict[str, SubscriptionAnswer] = {
        "E0": ("AccessDenied", "denied", 403), "E1": "Enabled", "E2": ("Throttling", "slow down", 400),
        "E3": None, "E4": ("AccessDenied", "denied", 403), "E5": ("Throttling", "slow down", 400)}
    passed = {d: threading.Event() for d in ids}
    late: list[str] = []

    def reverse(dist_id: str) -> None:
        i = ids.index(dist_id)
        if i + 1 < len(ids) and not passed[ids[i + 1]].wait(WAIT):
            late.append(dist_id)
        passed[dist_id].set()

    concurrent = fetch_metrics(cw, MonitoringSubscriptions(answers, gate=reverse), ids, end=NOW)
    sequential = fetch_metrics(cw, MonitoringSubscriptions(answers), ids, end=NOW, subscription_workers=1)
    assert late == []  # the reversal really happened
    # then results and notes are those of one-at-a-time calls: grouped by reason, in input order.
    assert concurrent == sequential
    assert concurrent.additional_enabled == {"E0": None, "E1": True, "E2": None, "E3": False,
                                             "E4": None, "E5": None}
    subs = [n for n in concurrent.notes if "monitoring subscription" in n]
    assert subs == [
        "Could not read the monitoring subscription of E0, E4 (AccessDenied: denied); "
        "only Requests and 5xxErrorRate were fetched for them.",
        "Could not read the monitoring subscription of E2, E5 (Throttling: slow down); "
        "only Requests and 5xxErrorRate were fetched for them."]
    assert concurrent.api_calls == {"GetMonitoringSubscription": 6, "GetMetricData": 1}


def test_a_subscription_table_installed_on_a_stubbed_client_answers_in_any_order(
        stub_cf: tuple[Any, Stubber], cw: Any) -> None:
    # The helper run_audit's tests use: the table answers, the Stubber stays untouched.
    client, stubber = stub_cf
    table = subscriptions(stubber, {"EB": "Enabled", "EA": None})
    m = fetch_metrics(cw, client, ["EA", "EB"], end=NOW)
    assert m.additional_enabled == {"EA": False, "EB": True}
    assert sorted(table.asked) == ["EA", "EB"]
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(("lookback", "period"), [
    (dt.timedelta(hours=3), 10800), (dt.timedelta(seconds=10), 60), (dt.timedelta(seconds=100), 120)])
def test_period_is_the_lookback_in_whole_minutes(lookback: dt.timedelta, period: int) -> None:
    assert period_for(lookback) == period


def test_a_next_token_repeated_by_cloudwatch_ends_in_a_note_not_a_loop() -> None:
    # botocore's paginator refuses a token it has already sent; a hand loop would ask forever.
    cf = MonitoringSubscriptions({"EONE": None})
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    page = {"MetricDataResults": [{"Id": "m0_0", "Values": [1.0], "StatusCode": "PartialData"}],
            "NextToken": "same"}
    with Stubber(cw) as stub:
        stub.add_response("get_metric_data", page)
        stub.add_response("get_metric_data", page)
        m = fetch_metrics(cw, cf, ["EONE"], end=NOW)
        stub.assert_no_pending_responses()
    assert set(m.values["EONE"].values()) == {None}
    assert any("CloudWatch metrics unavailable (PaginationError" in n for n in m.notes)


@pytest.mark.parametrize(("service", "operation"), [
    ("cloudfront", "list_distributions"), ("cloudwatch", "get_metric_data"), ("dynamodb", "scan")])
def test_the_paginators_the_auditor_relies_on_exist_and_page_on_moto(mocked_aws: None, service: str,
                                                                      operation: str) -> None:
    client = boto3.client(service, region_name="us-east-1")
    assert client.can_paginate(operation)
    if service == "cloudwatch":
        metric = {"Namespace": "AWS/CloudFront", "MetricName": "Requests"}
        query = {"Id": "q", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}}
        kw: dict[str, Any] = {"MetricDataQueries": [query], "StartTime": NOW - dt.timedelta(hours=1),
                              "EndTime": NOW}
    elif service == "dynamodb":
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        kw = {"TableName": "t"}
    else:
        kw = {}
    pages = list(client.get_paginator(operation).paginate(**kw))
    assert len(pages) == 1


# ------------------------------------------------------------------ the deadline
# Stalled calls are released when the test ends (the Event), so no thread outlives it for long.
SOON = 0.5  # the deadline, seconds from now
BOUND = 5.0  # generous: proves fetch_metrics returned without the stalled calls, not how fast


def test_subscription_reads_unfinished_at_the_deadline_are_unknown_and_noted(cw: Any) -> None:
    release = threading.Event()
    stalled = {"ESLOW1", "ESLOW2"}
    cf = MonitoringSubscriptions({"EFAST": "Enabled", "ESLOW1": "Enabled", "ESLOW2": "Enabled"},
                                 gate=lambda d: release.wait(WAIT) if d in stalled else None)
    put(cw, "ESLOW1", "Requests", [5])
    try:
        started = time.monotonic()
        m = fetch_metrics(cw, cf, ["EFAST", "ESLOW1", "ESLOW2"], end=NOW, deadline=started + SOON)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert elapsed < BOUND
    assert m.additional_enabled == {"EFAST": True, "ESLOW1": None, "ESLOW2": None}
    # The base metrics are still fetched for the ones whose subscription is unknown.
    assert m.values["ESLOW1"]["Requests"] == 5.0
    [note] = [n for n in m.notes if "monitoring subscription" in n]
    assert note == ("The monitoring subscription of ESLOW1, ESLOW2 was not read within the time "
                    "budget; only Requests and 5xxErrorRate were fetched for them.")


def test_get_metric_data_unfinished_at_the_deadline_gives_no_metrics_and_says_so() -> None:
    release = threading.Event()

    class StalledCloudWatch:
        def get_paginator(self, _name: str) -> Any:
            return self

        def paginate(self, **_kw: Any) -> Any:
            release.wait(WAIT)
            return iter([])

    cf = MonitoringSubscriptions({"EONE": "Disabled"})
    try:
        started = time.monotonic()
        m = fetch_metrics(StalledCloudWatch(), cf, ["EONE"], end=NOW, deadline=started + SOON)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert elapsed < BOUND
    assert m.values == {"EONE": {"Requests": None, "5xxErrorRate": None}}
    assert any("not fetched within the time budget" in n and "no metrics" in n for n in m.notes)


def test_no_deadline_waits_for_every_call_as_before(cw: Any) -> None:
    cf = MonitoringSubscriptions({"EONE": "Enabled"}, gate=lambda _d: time.sleep(0.05))
    m = fetch_metrics(cw, cf, ["EONE"], end=NOW)
    assert m.additional_enabled == {"EONE": True} and m.notes == ()
