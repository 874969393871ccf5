"""Fixtures for the AWS stages: moto-backed CloudFront/CloudWatch, plus Stubber for what moto lacks.

moto implements ListDistributions / GetDistribution / CreateDistribution and CloudWatch's
PutMetricData / GetMetricData. It does not implement GetMonitoringSubscription, GetCachePolicy or
GetOriginRequestPolicy, and does not round-trip S3OriginConfig, VpcOriginConfig, Lambda/Function
associations or Staging. ``Split`` routes named operations to a botocore-Stubber'd client (so
their request and response shapes are still validated against the real API model) and every
other call to the moto client.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from botocore.validate import ParamValidator, validate_parameters
from moto import mock_aws

_refs = itertools.count()


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never reach a real account, whatever the developer's environment holds.
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFRONT", "AWS_ENDPOINT_URL_CLOUDWATCH",
              "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


@pytest.fixture
def mocked_aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def cf(mocked_aws: None) -> Any:
    return boto3.client("cloudfront", region_name="us-east-1")


@pytest.fixture
def cw(mocked_aws: None) -> Any:
    return boto3.client("cloudwatch", region_name="us-east-1")


class Split:
    """A client whose ``ops`` go to ``stubbed`` and everything else to ``real`` (moto)."""

    def __init__(self, real: Any, stubbed: Any, ops: Sequence[str]) -> None:
        self._real, self._stubbed, self._ops = real, stubbed, frozenset(ops)

    def get_paginator(self, name: str) -> Any:
        return (self._stubbed if name in self._ops else self._real).get_paginator(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stubbed if name in self._ops else self._real, name)


@pytest.fixture
def stub_cf(mocked_aws: None) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("cloudfront", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


def custom_origin(origin_id: str, domain: str, *, port: int = 443, policy: str = "https-only",
                  protocols: Sequence[str] = ("TLSv1.2",), timeout: int | None = None) -> dict[str, Any]:
    o: dict[str, Any] = {
        "Id": origin_id, "DomainName": domain,
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": port, "OriginProtocolPolicy": policy,
                               "OriginSslProtocols": {"Quantity": len(protocols), "Items": list(protocols)}},
    }
    if timeout is not None:
        o["ConnectionTimeout"] = timeout
    return o


def s3_origin(origin_id: str, bucket: str = "assets") -> dict[str, Any]:
    return {"Id": origin_id, "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}}


def behavior(target: str, *, path: str | None = None, headers: Sequence[str] = (),
             cache_policy: str | None = None, origin_request_policy: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"TargetOriginId": target, "ViewerProtocolPolicy": "redirect-to-https"}
    if cache_policy:
        b["CachePolicyId"] = cache_policy
    else:
        b["ForwardedValues"] = {"QueryString": False, "Cookies": {"Forward": "none"},
                                "Headers": {"Quantity": len(headers), "Items": list(headers)}}
        b["MinTTL"] = 0
    if origin_request_policy:
        b["OriginRequestPolicyId"] = origin_request_policy
    if path is not None:
        b["PathPattern"] = path
    return b


def distribution_config(origins: Sequence[dict[str, Any]], *, default: dict[str, Any] | None = None,
                        behaviors: Sequence[dict[str, Any]] = (), aliases: Sequence[str] = (),
                        groups: Sequence[tuple[str, Sequence[str]]] = (), enabled: bool = True,
                        ) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "CallerReference": f"ref-{next(_refs)}", "Comment": "", "Enabled": enabled,
        "Origins": {"Quantity": len(origins), "Items": list(origins)},
        "DefaultCacheBehavior": default or behavior(origins[0]["Id"]),
    }
    if aliases:
        cfg["Aliases"] = {"Quantity": len(aliases), "Items": list(aliases)}
    if behaviors:
        cfg["CacheBehaviors"] = {"Quantity": len(behaviors), "Items": list(behaviors)}
    if groups:
        cfg["OriginGroups"] = {"Quantity": len(groups), "Items": [
            {"Id": gid, "FailoverCriteria": {"StatusCodes": {"Quantity": 1, "Items": [502]}},
             "Members": {"Quantity": len(members), "Items": [{"OriginId": m} for m in members]}}
            for gid, members in groups]}
    return cfg


def create(cf: Any, origins: Sequence[dict[str, Any]], **kw: Any) -> str:
    """Create a distribution on moto; returns its id."""
    return str(cf.create_distribution(DistributionConfig=distribution_config(origins, **kw))
               ["Distribution"]["Id"])


# One answer of the GetMonitoringSubscription table: "Enabled" / "Disabled" (the subscription's
# status), None (no subscription: NoSuchMonitoringSubscription, 404), or (code, message, HTTP
# status) for any other error.
SubscriptionAnswer = str | None | tuple[str, str, int]


class MonitoringSubscriptions:
    """GetMonitoringSubscription answered from a per-distribution table, in any call order.

    moto does not implement the operation, and botocore's Stubber answers from an ordered
    queue, which concurrent callers cannot use: correlate reads the subscriptions on a thread
    pool, so the calls arrive in any order. This fake keeps what the Stubber gave: every
    request and response is validated against the real API model (botocore's
    ``cloudfront/2020-05-31`` shapes), and errors are real ``ClientError``s. Thread-safe.

    asked: every DistributionId requested, in arrival order (an unknown id is recorded too and
        then fails with AssertionError, which correlate notes as a failure).
    in_flight_max: the most calls that were in progress at the same moment.
    gate: optional callable, given the DistributionId, run inside every call before it answers
        (a Barrier's wait, an Event to order completions).
    """

    _model = botocore.session.get_session().get_service_model("cloudfront").operation_model(
        "GetMonitoringSubscription")

    def __init__(self, answers: Mapping[str, SubscriptionAnswer], *,
                 gate: Any = None) -> None:
        self._answers = dict(answers)
        self._gate = gate
        self._lock = threading.Lock()
        self._in_flight = 0
        self.asked: list[str] = []
        self.in_flight_max = 0

    def get_monitoring_subscription(self, **params: Any) -> dict[str, Any]:
        validate_parameters(params, self._model.input_shape)  # raises ParamValidationError
        dist_id = params["DistributionId"]
        with self._lock:
            self.asked.append(dist_id)
            self._in_flight += 1
            self.in_flight_max = max(self.in_flight_max, self._in_flight)
        try:
            if self._gate is not None:
                self._gate(dist_id)
            assert dist_id in self._answers, f"unexpected DistributionId {dist_id}"
            answer = self._answers[dist_id]
        finally:
            with self._lock:
                self._in_flight -= 1
        if answer is None:
            answer = ("NoSuchMonitoringSubscription", "none", 404)
        if isinstance(answer, tuple):
            code, message, status = answer
            raise ClientError({"Error": {"Code": code, "Message": message},
                               "ResponseMetadata": {"HTTPStatusCode": status}},
                              "GetMonitoringSubscription")
        response = {"MonitoringSubscription": {
            "RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": answer}}}
        report = ParamValidator().validate(response, self._model.output_shape)
        assert not report.has_errors(), report.generate_report()
        return response

    def install(self, client: Any) -> None:
        """Answer ``client.get_monitoring_subscription`` from this table (instance attribute,
        so the other operations, and a Stubber on them, are untouched)."""
        client.get_monitoring_subscription = self.get_monitoring_subscription
