"""boto3 sessions and clients: the one client factory, and the one AWS error describer.

Every boto3 client the auditor makes comes from ``client()`` (the Lambda's SNS and DynamoDB, the
audit's CloudFront and CloudWatch, the CLI's ``--publish``, the benchmark and the demo), so the
retry mode, attempts, timeouts and user agent are chosen once, per service, in ``SERVICES``.

Endpoints: boto3 itself honours ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>`` (botocore
>= 1.31), so nothing here overrides the endpoint unless the caller passes ``endpoint_url``
(the benchmark points at a moto server that way). A test pins that boto3 still does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

log = logging.getLogger(__name__)

USER_AGENT_EXTRA = "origin-auditor"
ASSUME_ROLE_SESSION_NAME = "origin-auditor"

# CloudFront is global and publishes its metrics only in us-east-1, whatever the caller's region.
CLOUDFRONT_REGION = "us-east-1"
CLOUDWATCH_REGION = "us-east-1"


@dataclass(frozen=True)
class ServiceSettings:
    """How clients of one AWS service behave.

    retry_mode: botocore's ``standard`` (exponential backoff with jitter) or ``adaptive``
        (standard plus a client-side rate limiter that slows down after throttles).
    max_attempts: attempts per call, the first try included (botocore's ``total_max_attempts``).
    connect_timeout / read_timeout: seconds per attempt.
    region: the region the service must be called in, or None for the session's region.
    """

    retry_mode: str
    max_attempts: int
    connect_timeout: float
    read_timeout: float
    region: str | None = None


# Per service, deliberately:
# - CloudFront's control plane throttles hard (a few requests per second per account) and an audit
#   of a large account makes hundreds of calls (one GetMonitoringSubscription per distribution,
#   several at once); CloudWatch's GetMetricData shares the account's TPS with dashboards. Both
#   run before anything is published, so they may wait: adaptive mode turns a burst of throttles
#   into a slower client instead of burnt attempts, and 8 attempts ride out a long burst.
# - S3 (the report archive), SNS and DynamoDB are called at the end of a run, inside the publish
#   budget the Lambda reserves (handler.PUBLISH_BUDGET_SECONDS): standard retries, 3 attempts,
#   2 s connect and 5 s read, so one call's worst case - 3 x 7 s plus botocore's backoff between
#   attempts (at most 1 s, then 2 s) = 24 s - fits that budget and a hung endpoint cannot eat it
#   (tests/integration/aws/test_aws_clients.py pins the sum). A run cut off after publishing
#   repeats its message once next run (claims expire), never loses it.
# - STS AssumeRole is one call per run: the same bounded settings.
# Any other service (the demo's SQS) gets DEFAULT_SETTINGS.
DEFAULT_SETTINGS = ServiceSettings("standard", 4, connect_timeout=5, read_timeout=10)
END_OF_RUN_SETTINGS = ServiceSettings("standard", 3, connect_timeout=2, read_timeout=5)
SERVICES: Mapping[str, ServiceSettings] = {
    "cloudfront": ServiceSettings("adaptive", 8, 5, 30, region=CLOUDFRONT_REGION),
    "cloudwatch": ServiceSettings("adaptive", 8, 5, 30, region=CLOUDWATCH_REGION),
    "s3": END_OF_RUN_SETTINGS,
    "sns": END_OF_RUN_SETTINGS,
    "dynamodb": END_OF_RUN_SETTINGS,
    "sts": DEFAULT_SETTINGS,
}


def settings_for(service: str) -> ServiceSettings:
    """The settings ``client(service)`` uses (``DEFAULT_SETTINGS`` for unlisted services)."""
    return SERVICES.get(service, DEFAULT_SETTINGS)


def client_config(service: str = "cloudfront", *, max_attempts: int | None = None,
                  mode: str | None = None) -> Config:
    """The botocore Config of ``service``'s clients: retries, bounded timeouts, user agent.

    ``max_attempts`` / ``mode`` override the service's settings (tests shorten the retry loop).
    """
    s = settings_for(service)
    retries = {"mode": mode or s.retry_mode, "total_max_attempts": max_attempts or s.max_attempts}
    return Config(retries=retries, connect_timeout=s.connect_timeout, read_timeout=s.read_timeout,
                  user_agent_extra=USER_AGENT_EXTRA)


def session(role_arn: str | None = None, *, base: boto3.Session | None = None,
            session_name: str = ASSUME_ROLE_SESSION_NAME) -> boto3.Session:
    """The standard credential chain, or credentials of ``role_arn`` assumed from it.

    The assumed-role credentials are not refreshed; they last one hour (STS default), which
    covers an audit run (a Lambda invocation lasts at most 15 minutes).
    """
    base = base or boto3.Session()
    if not role_arn:
        return base
    sts = client("sts", base)
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    log.info("assumed role %s", role_arn)
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"],
                         region_name=base.region_name)


def arn_account(arn: str | None) -> str | None:
    """The account id in an ARN (``arn:aws:iam::111122223333:role/x`` -> ``111122223333``), or
    None when ``arn`` is not an ARN with a 12-digit account."""
    parts = (arn or "").split(":")
    if len(parts) >= 6 and parts[0] == "arn" and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    return None


def caller_account(sess: boto3.Session) -> str | None:
    """The account ``sess``'s credentials belong to (STS GetCallerIdentity, which needs no
    permission), or None when STS did not answer: the account is told, never required."""
    try:
        return str(client("sts", sess).get_caller_identity()["Account"])
    except Exception as exc:  # an unknown account degrades the message, never the audit
        log.info("could not learn the account id: %s", describe_error(exc))
        return None


def client(service: str, sess: boto3.Session | None = None, *, role_arn: str | None = None,
           region_name: str | None = None, config: Config | None = None,
           endpoint_url: str | None = None) -> Any:
    """A boto3 client for ``service`` with its ``SERVICES`` settings: the one factory.

    sess: the session to use; default a new one on the standard chain, or ``role_arn`` assumed.
    region_name: for services without a fixed region; CloudFront and CloudWatch always get
        us-east-1 whatever is passed. Default: the session's region.
    config: replaces the service's Config entirely (tests). endpoint_url: only when given;
        otherwise boto3 applies ``AWS_ENDPOINT_URL*`` itself.
    """
    sess = sess or session(role_arn)
    kw: dict[str, Any] = {"config": config or client_config(service)}
    region = settings_for(service).region or region_name
    if region:
        kw["region_name"] = region
    if endpoint_url:
        kw["endpoint_url"] = endpoint_url
    return sess.client(service, **kw)


def cloudfront_client(sess: boto3.Session | None = None, *, role_arn: str | None = None,
                      config: Config | None = None, endpoint_url: str | None = None) -> Any:
    """``client("cloudfront", ...)``: global service, signed for us-east-1."""
    return client("cloudfront", sess, role_arn=role_arn, config=config, endpoint_url=endpoint_url)


def cloudwatch_client(sess: boto3.Session | None = None, *, role_arn: str | None = None,
                      config: Config | None = None, endpoint_url: str | None = None) -> Any:
    """``client("cloudwatch", ...)``: always us-east-1, where CloudFront publishes its metrics."""
    return client("cloudwatch", sess, role_arn=role_arn, config=config, endpoint_url=endpoint_url)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, else the exception's class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


def describe_error(exc: BaseException) -> str:
    """A one-line description of an AWS failure for notes and logs: ``Code: message``.

    No request ids, no credentials; whitespace collapsed, the message cut at 200 characters.
    """
    code = error_code(exc)
    response = getattr(exc, "response", None)
    message = ""
    if isinstance(response, dict):
        message = str(response.get("Error", {}).get("Message") or "")
    if not message:
        message = str(exc)
    message = " ".join(message.split())[:200]
    return f"{code}: {message}" if message and message != code else code
