"""aws.py: endpoints, regions, retries on throttling (real botocore retry loop), assumed roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import BotoCoreError, ClientError

from origin_auditor import aws
from origin_auditor.discover import DiscoveryError, discover

from .conftest import behavior, create, custom_origin


def test_aws_endpoint_url_is_honoured_by_boto3_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert aws.cloudfront_client().meta.endpoint_url == "http://127.0.0.1:4566"
    assert aws.cloudwatch_client().meta.endpoint_url == "http://127.0.0.1:4566"


def test_cloudwatch_is_always_us_east_1_whatever_the_session_region() -> None:
    sess = boto3.Session(region_name="ap-southeast-2")
    assert aws.cloudwatch_client(sess).meta.region_name == "us-east-1"
    # CloudFront is global: botocore resolves us-east-1 to its "aws-global" partition endpoint.
    assert aws.cloudfront_client(sess).meta.region_name in ("us-east-1", "aws-global")


def test_clients_retry_throttling_with_adaptive_mode_and_eight_attempts() -> None:
    retries = aws.cloudfront_client().meta.config.retries
    assert retries == {"mode": "adaptive", "total_max_attempts": 8}


def test_role_arn_assumes_the_role(mocked_aws: None) -> None:
    base = boto3.Session(region_name="eu-west-1")
    assumed = aws.session("arn:aws:iam::123456789012:role/auditor", base=base)
    creds = assumed.get_credentials()
    assert creds is not None and creds.access_key != "testing" and creds.token
    assert assumed.region_name == "eu-west-1"
    assert aws.session(None, base=base) is base


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


THROTTLED = (b'<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
             b"<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
             b"<RequestId>r</RequestId></ErrorResponse>")


def throttle(client: Any, operation: str, times: int) -> list[int]:
    """Answer the first ``times`` sends of ``operation`` with HTTP 400 Throttling, before moto.

    Goes through botocore's real retry handler (unlike Stubber, which short-circuits it).
    Returns a list that grows by one per attempt.
    """
    attempts: list[int] = []

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(1)
        if len(attempts) <= times:
            return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, _Raw(THROTTLED))
        return None

    client.meta.events.register_first(f"before-send.cloudfront.{operation}", handler)
    return attempts


def test_throttled_listing_is_retried_then_succeeds(mocked_aws: None, no_backoff: None) -> None:
    client = aws.cloudfront_client(config=aws.client_config(max_attempts=4, mode="standard"))
    create(client, [custom_origin("o", "o.origin.test")])
    attempts = throttle(client, "ListDistributions", times=2)
    d = discover(client)
    assert len(attempts) == 3
    assert len(d.targets) == 1


def test_listing_throttled_beyond_retries_is_a_clear_error(mocked_aws: None, no_backoff: None) -> None:
    client = aws.cloudfront_client(config=aws.client_config(max_attempts=3, mode="standard"))
    attempts = throttle(client, "ListDistributions", times=100)
    with pytest.raises(DiscoveryError, match="Throttling"):
        discover(client)
    assert len(attempts) == 3


def test_one_distribution_throttled_beyond_retries_is_a_note_not_an_abort(mocked_aws: None,
                                                                          no_backoff: None) -> None:
    client = aws.cloudfront_client(config=aws.client_config(max_attempts=3))
    ok = create(client, [custom_origin("o", "ok.origin.test")])
    slow = create(client, [custom_origin("o", "slow.origin.test")], default=behavior("o"))
    state = {"n": 0}

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        if slow in request.url:
            state["n"] += 1
            return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, _Raw(THROTTLED))
        return None

    client.meta.events.register_first("before-send.cloudfront.GetDistribution", handler)
    d = discover(client, distribution_ids=[slow, ok])
    assert state["n"] == 3  # retried to the limit
    assert [(x.id, x.error is not None) for x in d.distributions] == [(slow, True), (ok, False)]
    assert [t.host for t in d.targets] == ["ok.origin.test"]
    assert any(slow in n and "Throttling" in n for n in d.notes)


@pytest.mark.parametrize("service", [*aws.SERVICES, "sqs"])
def test_every_client_gets_its_services_retries_timeouts_and_user_agent(service: str) -> None:
    settings = aws.settings_for(service)
    config = aws.client(service, region_name="eu-west-1").meta.config
    assert config.retries == {"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts}
    assert (config.connect_timeout, config.read_timeout) == (settings.connect_timeout, settings.read_timeout)
    assert config.user_agent_extra == "origin-auditor"


def test_retry_settings_per_service_are_the_documented_choice() -> None:
    table = {s: (v.retry_mode, v.max_attempts, v.connect_timeout, v.read_timeout, v.region)
             for s, v in aws.SERVICES.items()}
    assert table == {
        "cloudfront": ("adaptive", 8, 5, 30, "us-east-1"),
        "cloudwatch": ("adaptive", 8, 5, 30, "us-east-1"),
        "s3": ("standard", 3, 2, 5, None),
        "sns": ("standard", 3, 2, 5, None),
        "dynamodb": ("standard", 3, 2, 5, None),
        "sts": ("standard", 4, 5, 10, None),
    }
    assert aws.settings_for("sqs") == aws.DEFAULT_SETTINGS


def test_one_end_of_run_call_fits_the_lambdas_publish_budget_at_worst() -> None:
    from origin_auditor.handler import PUBLISH_BUDGET_SECONDS
    for service in ("s3", "sns", "dynamodb"):
        s = aws.settings_for(service)
        # botocore's standard mode sleeps up to 2^(n-1) s (jitter) before attempt n + 1.
        backoff = sum(2 ** i for i in range(s.max_attempts - 1))
        assert s.retry_mode == "standard"
        assert s.max_attempts * (s.connect_timeout + s.read_timeout) + backoff < PUBLISH_BUDGET_SECONDS


def test_only_cloudfront_and_cloudwatch_are_pinned_to_us_east_1() -> None:
    sess = boto3.Session(region_name="ap-southeast-2")
    assert aws.client("cloudwatch", sess, region_name="eu-west-1").meta.region_name == "us-east-1"
    assert aws.client("sns", sess).meta.region_name == "ap-southeast-2"
    assert aws.client("dynamodb", sess, region_name="eu-west-1").meta.region_name == "eu-west-1"


def test_a_client_for_a_role_uses_the_assumed_credentials(mocked_aws: None) -> None:
    sts = aws.client("sts", role_arn="arn:aws:iam::123456789012:role/auditor")
    assert ":assumed-role/auditor/origin-auditor" in sts.get_caller_identity()["Arn"]


def test_the_default_clients_of_handler_notify_and_state_come_from_the_factory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The handler's notifying half (state read, publish) lives in announce.
    from origin_auditor import announce as handler
    from origin_auditor import notify, state

    made: list[str] = []

    class Sns:
        def publish(self, **_: Any) -> dict[str, str]:
            return {"MessageId": "m-1"}

    def factory(service: str, *_: Any, **__: Any) -> Any:
        made.append(service)
        return Sns()

    monkeypatch.setattr(aws, "client", factory)
    handler._client("dynamodb")
    handler._client("sns")
    state.StateStore("table")
    message = notify.Message(subject="s", structure={"default": "d"}, attributes={}, included=0)
    assert notify.publish(message, "arn:aws:sns:us-east-1:123456789012:t") == "m-1"
    assert made == ["dynamodb", "sns", "dynamodb", "sns"]


def test_describe_error_is_code_and_message_on_one_line() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "not\n  authorized"}},
                         "ListDistributions")
    assert aws.describe_error(denied) == "AccessDenied: not authorized"
    bare = ClientError({"Error": {"Code": "Throttling"}}, "ListDistributions")
    assert aws.describe_error(bare) == ("Throttling: An error occurred (Throttling) when calling the "
                                        "ListDistributions operation: Unknown")
    assert aws.describe_error(ValueError("x" * 300)) == "ValueError: " + "x" * 200
    assert aws.describe_error(TimeoutError()) == "TimeoutError"
    assert aws.error_code(denied) == "AccessDenied" and aws.error_code(KeyError("k")) == "KeyError"


def test_discovery_error_is_its_own_exception_not_a_botocore_one(stub_cf: tuple[Any, Any]) -> None:
    client, stubber = stub_cf
    stubber.add_client_error("list_distributions", "AccessDenied", "not authorized", 403)
    with pytest.raises(DiscoveryError) as caught:
        discover(client)
    assert not isinstance(caught.value, BotoCoreError | ClientError)
    assert str(caught.value) == "Could not list CloudFront distributions: AccessDenied: not authorized"
    assert isinstance(caught.value.__cause__, ClientError)
