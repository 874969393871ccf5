"""boto3 sessions and clients for the audit: retries tuned for throttling, optional assumed role.

Endpoints: boto3 itself honours ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>`` (botocore
>= 1.31), so nothing here overrides the endpoint unless the caller passes ``endpoint_url``
(the benchmark and the demo point at a moto server that way). A test pins that boto3 still does.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config

log = logging.getLogger(__name__)

# CloudFront's control-plane API throttles hard (a few requests per second per account) and an
# audit of a large account makes hundreds of calls; CloudWatch's GetMetricData is cheaper but
# shares the account's TPS with dashboards. Adaptive mode adds a client-side rate limiter on
# top of standard retries, so a burst of throttles slows the client instead of burning attempts.
RETRY_MODE = "adaptive"
RETRY_MAX_ATTEMPTS = 8
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30

# CloudFront is global; its metrics live only in us-east-1 whatever the caller's region.
CLOUDWATCH_REGION = "us-east-1"
CLOUDFRONT_REGION = "us-east-1"

ASSUME_ROLE_SESSION_NAME = "origin-auditor"


def client_config(*, max_attempts: int = RETRY_MAX_ATTEMPTS, mode: str = RETRY_MODE) -> Config:
    """The botocore Config every audit client uses: retries for throttling, bounded timeouts.

    max_attempts counts the first try too (botocore's total_max_attempts).
    """
    return Config(retries={"mode": mode, "total_max_attempts": max_attempts},
                  connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS,
                  user_agent_extra="origin-auditor")


def session(role_arn: str | None = None, *, base: boto3.Session | None = None,
            session_name: str = ASSUME_ROLE_SESSION_NAME) -> boto3.Session:
    """The standard credential chain, or credentials of ``role_arn`` assumed from it.

    The assumed-role credentials are not refreshed; they last one hour (STS default), which
    covers an audit run (a Lambda invocation lasts at most 15 minutes).
    """
    base = base or boto3.Session()
    if not role_arn:
        return base
    sts = base.client("sts", config=client_config())
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    log.info("assumed role %s", role_arn)
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"],
                         region_name=base.region_name)


def cloudfront_client(sess: boto3.Session | None = None, *, role_arn: str | None = None,
                      config: Config | None = None, endpoint_url: str | None = None) -> Any:
    """CloudFront client (global service; signed for us-east-1)."""
    sess = sess or session(role_arn)
    kw: dict[str, Any] = {"region_name": CLOUDFRONT_REGION, "config": config or client_config()}
    if endpoint_url:
        kw["endpoint_url"] = endpoint_url
    return sess.client("cloudfront", **kw)


def cloudwatch_client(sess: boto3.Session | None = None, *, role_arn: str | None = None,
                      config: Config | None = None, endpoint_url: str | None = None) -> Any:
    """CloudWatch client, always in us-east-1: CloudFront publishes its metrics only there."""
    sess = sess or session(role_arn)
    kw: dict[str, Any] = {"region_name": CLOUDWATCH_REGION, "config": config or client_config()}
    if endpoint_url:
        kw["endpoint_url"] = endpoint_url
    return sess.client("cloudwatch", **kw)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, else the exception's class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


def describe_error(exc: BaseException) -> str:
    """A one-line description of an AWS failure for notes (no request ids, no credentials)."""
    code = error_code(exc)
    response = getattr(exc, "response", None)
    message = ""
    if isinstance(response, dict):
        message = str(response.get("Error", {}).get("Message") or "")
    if not message:
        message = str(exc)
    message = " ".join(message.split())[:200]
    return f"{code}: {message}" if message and message != code else code
