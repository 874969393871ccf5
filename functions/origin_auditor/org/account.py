"""One member account of an organization run: plan its chunks, audit one chunk.

``plan``: assume the member role, list the account's distribution ids, and cut them in chunks of
at most ``options.MAX_DISTRIBUTION_IDS``, so one invocation audits at most that many and a huge
account never meets Lambda's 15-minute wall (the state machine maps over the chunks).
``audit``: assume the role again (credentials do not travel through the state machine), run
today's audit (``audit.run_audit``: discovery, probes, CloudWatch in that account's us-east-1)
for the chunk, and write its full JSON report to the reports bucket
(``org-runs/<run_id>/accounts/<account_id>/<chunk>.json``); the output is small (counts and the
report's key, never per-origin detail).

What could not be done is said, never raised, when it will not get better by retrying: no member
role, access denied (``status: not_audited`` with the reason; the aggregate keeps that account's
state). What may get better — throttling, AWS errors after the clients' own retries, an endpoint
not answering — raises ``AccountThrottled``, so the Map's Retry (backoff) tries again; after its
last attempt the Map records the item FAILED, and the aggregate says so for that account.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .. import aws
from ..audit import AuditOptions, run_audit
from ..discover import DiscoveryError
from ..handler import Budget
from ..options import MAX_DISTRIBUTION_IDS
from ..probe import Resolver
from ..trust import TrustStore
from .accounts import InputError
from .settings import OrgSettings, run_prefix

# Error codes that may clear up on a later attempt (botocore's throttling and transient codes).
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "PriorRequestNotComplete",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "IDPCommunicationError",
    }
)


class AccountThrottled(Exception):
    """AWS throttled or failed transiently for this account after the clients' retries: raised
    so the Map retries the item with backoff (Lambda's ``errorType`` is this class's name)."""


@dataclass(frozen=True)
class AccountRequest:
    """What the state machine asks of ``AccountAuditFunction`` (contract: issue 12)."""

    action: str
    account_id: str
    account_name: str
    run_id: str
    chunk: int = 0
    distribution_ids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, event: object) -> AccountRequest:
        if not isinstance(event, Mapping):
            raise InputError("the input must be a JSON object")
        action, account, run = event.get("action"), event.get("account_id"), event.get("run_id")
        problems = []
        if action not in ("plan", "audit"):
            problems.append("action must be plan or audit")
        if not (isinstance(account, str) and len(account) == 12 and account.isdigit()):
            problems.append("account_id must be a 12-digit account id")
        if not isinstance(run, str) or not run:
            problems.append("run_id is required")
        index, ids = 0, ()
        if action == "audit":
            chunk = event.get("chunk")
            raw = chunk.get("distribution_ids") if isinstance(chunk, Mapping) else None
            index_raw = chunk.get("index") if isinstance(chunk, Mapping) else None
            if (
                not isinstance(index_raw, int)
                or index_raw < 0
                or not isinstance(raw, list)
                or not raw
                or len(raw) > MAX_DISTRIBUTION_IDS
                or not all(isinstance(d, str) and d.isalnum() for d in raw)
            ):
                problems.append(f"chunk must be {{index, distribution_ids: 1-{MAX_DISTRIBUTION_IDS} ids}}")
            else:
                index, ids = index_raw, tuple(raw)
        if problems:
            raise InputError("invalid account request: " + "; ".join(problems))
        name = event.get("account_name")
        return cls(str(action), str(account), name if isinstance(name, str) else "", str(run), index, ids)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return aws.error_code(exc) in TRANSIENT_CODES or status >= 500
    return isinstance(exc, BotoCoreError)  # no answer: endpoint, connection, read timeout


def _fail(exc: BaseException, what: str) -> str:
    """The ``not_audited`` reason for a lasting failure; raises ``AccountThrottled`` for a
    transient one. Reasons start with the AWS error code (a blind spot's class)."""
    if _transient(exc):
        raise AccountThrottled(f"{what}: {aws.describe_error(exc)}") from exc
    return f"{aws.describe_error(exc)} ({what})"


def _not_audited(request: AccountRequest, reason: str, **extra: object) -> dict[str, object]:
    return {
        "account_id": request.account_id,
        "account_name": request.account_name,
        "run_id": request.run_id,
        "status": "not_audited",
        "reason": reason,
        **extra,
    }


def _session(
    settings: OrgSettings, request: AccountRequest, partition: str, base: boto3.Session | None
) -> boto3.Session:
    return aws.session(settings.role_arn(request.account_id, partition), base=base)


def plan(
    request: AccountRequest,
    settings: OrgSettings,
    *,
    partition: str = "aws",
    base: boto3.Session | None = None,
) -> dict[str, object]:
    """The account's chunks of distribution ids, or ``not_audited`` with the reason."""
    role = settings.role_arn(request.account_id, partition)
    try:
        sess = _session(settings, request, partition, base)
    except (ClientError, BotoCoreError) as exc:
        return _not_audited(request, _fail(exc, f"assuming the member role {role}"), chunks=[])
    try:
        cloudfront = aws.cloudfront_client(sess)
        ids = [
            d["Id"]
            for page in cloudfront.get_paginator("list_distributions").paginate()
            for d in page.get("DistributionList", {}).get("Items", []) or []
        ]
    except (ClientError, BotoCoreError) as exc:
        return _not_audited(request, _fail(exc, "listing CloudFront distributions"), chunks=[])
    chunks = [
        {"index": i // MAX_DISTRIBUTION_IDS, "distribution_ids": ids[i : i + MAX_DISTRIBUTION_IDS]}
        for i in range(0, len(ids), MAX_DISTRIBUTION_IDS)
    ]
    return {
        "account_id": request.account_id,
        "account_name": request.account_name,
        "run_id": request.run_id,
        "status": "planned",
        "distributions": len(ids),
        "chunks": chunks,
    }


def report_key(run_id: str, account_id: str, chunk: int) -> str:
    return f"{run_prefix(run_id)}accounts/{account_id}/{chunk}.json"


def audit(
    request: AccountRequest,
    settings: OrgSettings,
    *,
    s3: Any,
    context: Any = None,
    partition: str = "aws",
    base: boto3.Session | None = None,
    resolver: Resolver | None = None,
    trust: TrustStore | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, object]:
    """Audit one chunk of the account and write its report; the small result the Map keeps.

    ``resolver``/``trust``: tests (the lab's loopback origins and PKI); default the system's.
    A failed report write raises (the Map retries; the aggregate cannot read a report not written).
    """
    role = settings.role_arn(request.account_id, partition)
    chunk = {"chunk": request.chunk, "distribution_ids": list(request.distribution_ids)}
    try:
        sess = _session(settings, request, partition, base)
        cloudfront, cloudwatch = aws.cloudfront_client(sess), aws.cloudwatch_client(sess)
    except (ClientError, BotoCoreError) as exc:
        return {
            **_not_audited(request, _fail(exc, f"assuming the member role {role}")),
            **chunk,
            "report": None,
            "counts": {},
        }
    budget = Budget.of(context, monotonic())
    options = AuditOptions(
        distribution_ids=request.distribution_ids,
        deadline=budget.probes_end,
        metrics_deadline=budget.metrics_end,
        role_arn=role,
        allow_addresses=settings.allow_addresses,
        fetch_issuers=settings.fetch_issuers,
    )
    try:
        report = run_audit(
            options, cloudfront=cloudfront, cloudwatch=cloudwatch, resolver=resolver, trust=trust
        )
    except DiscoveryError as exc:
        cause = exc.__cause__
        if cause is not None and _transient(cause):
            raise AccountThrottled(str(exc)) from exc
        return {**_not_audited(request, str(exc)), **chunk, "report": None, "counts": {}}
    document = report.to_json()
    document["account"] = request.account_id
    document["run"] = {
        "id": request.run_id,
        "kind": "organization",
        "account_name": request.account_name,
        "chunk": request.chunk,
    }
    key = report_key(request.run_id, request.account_id, request.chunk)
    s3.put_object(
        Bucket=settings.reports_bucket,
        Key=key,
        ContentType="application/json",
        Body=json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(),
    )
    summary = report.summary()
    out: dict[str, object] = {
        "account_id": request.account_id,
        "account_name": request.account_name,
        "run_id": request.run_id,
        **chunk,
        "status": "partial" if report.partial else "audited",
        "report": {"bucket": settings.reports_bucket, "key": key},
        "counts": summary["classifications"],
    }
    if report.partial:
        out["reason"] = "; ".join(f"{u.id or 'listing'}: {u.reason}" for u in report.unseen)[:500]
    return out
