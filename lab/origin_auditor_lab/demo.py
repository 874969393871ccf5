"""``origin-auditor demo``: the whole pipeline, no AWS account needed.

An embedded AWS (moto, in-process) holds four CloudFront distributions, their CloudWatch numbers,
the SNS topic with an SQS subscriber standing in for email/chat, and the DynamoDB state table.
Four real TLS origins listen on loopback (127.0.0.41-44), each recreating one situation (CloudFront
cannot reach loopback, so the demo opens 127.0.0.0/8,::1/128 explicitly, as a lab deployment would
with ORIGIN_AUDITOR_ALLOW_ADDRESSES):

- ``shop``:   the seed incident. The origin lost its intermediate in a Kubernetes upgrade.
              Browsers still work; 5xx is low only because the cache is serving. -> LATENT
- ``api``:    the chain is served in the wrong order and viewers are getting 502s now. -> OUTAGE
- ``images``: the certificate expires in 5 days. -> AT_RISK
- ``www``:    correctly configured. -> HEALTHY

The Lambda handler then runs as the EventBridge schedule would invoke it, and the demo prints the
report and the exact notification SNS delivered (email text and the Slack/Teams chat payload).

The CLI reaches ``run_demo`` through the ``origin_auditor.commands`` entry point named ``demo``
(pyproject.toml), never by importing this module: the runtime package does not depend on the lab.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from moto import mock_aws

from origin_auditor.archive import BUCKET_ENV
from origin_auditor.model import AuditReport
from origin_auditor.options import ALLOW_ADDRESSES
from origin_auditor.probe import static_resolver
from origin_auditor.report import render
from origin_auditor.trust import TrustStore

from . import LOOPBACK_CIDRS
from .issuers import IssuerServer
from .servers import TlsServer

REPORTS_BUCKET = "origin-auditor-reports"
REGION = "us-east-1"
SCHEDULE_EVENT = {"source": "origin-auditor.scheduler", "detail-type": "Scheduled Audit"}


@contextmanager
def _isolated_aws_env() -> Iterator[None]:
    """Point boto3 at moto only: fake credentials, no endpoint override, no profile."""
    saved = dict(os.environ)
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(var, None)
    os.environ.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo",  # noqa: S106 (moto)
                      AWS_DEFAULT_REGION=REGION, POWERTOOLS_METRICS_NAMESPACE="OriginAuditorDemo",
                      POWERTOOLS_SERVICE_NAME="origin-auditor-demo", POWERTOOLS_LOG_LEVEL="WARNING")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _MonitoringSubscriptions:
    """moto has no monitoring-subscription API: answer it from a table, pass the rest to moto."""

    def __init__(self, real: Any, enabled: Mapping[str, bool]) -> None:
        self._real = real
        self._enabled = enabled

    def get_monitoring_subscription(self, DistributionId: str) -> dict[str, Any]:
        if not self._enabled.get(DistributionId):
            raise self._real.exceptions.NoSuchMonitoringSubscription(
                {"Error": {"Code": "NoSuchMonitoringSubscription", "Message": "not enabled"}},
                "GetMonitoringSubscription")
        return {"MonitoringSubscription": {"RealtimeMetricsSubscriptionConfig": {
            "RealtimeMetricsSubscriptionStatus": "Enabled"}}}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _distribution(cf: Any, ref: str, origin_host: str, port: int, aliases: Sequence[str]) -> str:
    config = {
        "CallerReference": ref, "Comment": f"demo: {ref}", "Enabled": True,
        "Aliases": {"Quantity": len(aliases), "Items": list(aliases)},
        "Origins": {"Quantity": 1, "Items": [{
            "Id": f"{ref}-origin", "DomainName": origin_host,
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": port, "OriginProtocolPolicy": "https-only",
                                   "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": f"{ref}-origin", "ViewerProtocolPolicy": "redirect-to-https", "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"},
                                "Headers": {"Quantity": 0, "Items": []}}},
    }
    return str(cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"])


def _put_metrics(cw: Any, dist_id: str, now: dt.datetime, values: Mapping[str, float]) -> None:
    """Three hours of datapoints, one every 5 minutes, as CloudFront would have emitted them."""
    dims = [{"Name": "DistributionId", "Value": dist_id}, {"Name": "Region", "Value": "Global"}]
    data = []
    for minutes in range(5, 180, 5):
        ts = now - dt.timedelta(minutes=minutes)
        for name, value in values.items():
            unit = {"Requests": "None", "OriginLatency": "Milliseconds"}.get(name, "Percent")
            data.append({"MetricName": name, "Dimensions": dims, "Timestamp": ts, "Value": value,
                         "Unit": unit})
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/CloudFront", MetricData=data[i:i + 500])


def run_demo(*, out: TextIO, err: TextIO, fmt: str = "text") -> int:
    """Run the demo: the report in ``fmt`` (and, for text, the notification) on ``out``, progress
    on ``err``; 0 when it ran. The process environment is restored afterwards."""
    with _isolated_aws_env(), mock_aws():
        return _run(out, err, fmt)


def _run(out: TextIO, err: TextIO, fmt: str) -> int:
    from origin_auditor import aws
    from origin_auditor.audit import AuditOptions, run_audit
    from origin_auditor.handler import handle

    from .pki import NOW

    err.write("origin-auditor demo: generating a test PKI and starting 4 TLS origins on loopback...\n")
    # The CA's caIssuers URLs answer on loopback, so the finding names the missing intermediate
    # exactly (subject, SHA-256, where to get it), as it does for a public CA.
    issuers = IssuerServer()
    pki = issuers.publish(host="pki.demo", hostnames=("assets.shop.demo",), depth=1, root_name="Demo Root CA")
    intermediate = pki.intermediates[0]
    healthy = pki.issue_leaf("www.demo")
    expiring = pki.issue_leaf("images.demo", not_after=NOW + dt.timedelta(days=5))
    api = pki.issue_leaf("api.demo")
    addresses = {"assets.shop.demo": "127.0.0.41", "api.demo": "127.0.0.42",
                 "images.demo": "127.0.0.43", "www.demo": "127.0.0.44"}
    chains = {
        "127.0.0.41": [pki.leaf],                         # intermediate lost in the upgrade
        "127.0.0.42": [api, pki.root, intermediate],      # root sent before the intermediate
        "127.0.0.43": [expiring, intermediate],
        "127.0.0.44": [healthy, intermediate],
    }
    with TlsServer(chains["127.0.0.44"], host=list(chains), address_chains=chains) as server, issuers:
        # The demo's private root stands in for Mozilla's list (as ORIGIN_AUDITOR_CA_BUNDLE would).
        trust = TrustStore.from_certificates([pki.root.cert], source="the demo's root CA")
        names = {name: [ip] for name, ip in addresses.items()}
        resolver = static_resolver({**names, "pki.demo": ["127.0.0.1"]})

        err.write("origin-auditor demo: creating CloudFront distributions, CloudWatch data, SNS, DynamoDB "
                  "on an embedded AWS (moto)...\n")
        cf_real = aws.client("cloudfront")
        cw = aws.client("cloudwatch")
        now = dt.datetime.now(dt.UTC)
        shop = _distribution(cf_real, "shop", "assets.shop.demo", server.port, ["shop.example.com"])
        api_id = _distribution(cf_real, "api", "api.demo", server.port, ["api.example.com"])
        images = _distribution(cf_real, "images", "images.demo", server.port, ["images.example.com"])
        www = _distribution(cf_real, "www", "www.demo", server.port, ["www.example.com"])
        _put_metrics(cw, shop, now, {"Requests": 52_000, "5xxErrorRate": 0.3, "502ErrorRate": 0.2,
                                     "CacheHitRate": 99.4, "OriginLatency": 80})
        _put_metrics(cw, api_id, now, {"Requests": 9_000, "5xxErrorRate": 41.0, "502ErrorRate": 40.5,
                                       "CacheHitRate": 12.0, "OriginLatency": 30})
        _put_metrics(cw, images, now, {"Requests": 18_000, "5xxErrorRate": 0.0})
        _put_metrics(cw, www, now, {"Requests": 30_000, "5xxErrorRate": 0.1})
        cf = _MonitoringSubscriptions(cf_real, {shop: True, api_id: True})

        sns = _RecordingSns(aws.client("sns", region_name=REGION))
        sqs = aws.client("sqs", region_name=REGION)
        ddb = aws.client("dynamodb", region_name=REGION)
        s3 = aws.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=REPORTS_BUCKET)  # the template's reports bucket: every run archived
        topic = sns.create_topic(Name="origin-auditor-findings")["TopicArn"]
        queue = sqs.create_queue(QueueName="demo-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        ddb.create_table(TableName="origin-auditor-state", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])

        def audit(options: AuditOptions) -> AuditReport:
            first = not audited  # progress for the first run only; the second is the same work
            report = run_audit(options, cloudfront=cf, cloudwatch=cw, resolver=resolver, trust=trust,
                               progress=(lambda msg: err.write(f"origin-auditor demo: {msg}\n"))
                               if first else None)
            audited.append(report)
            return report

        audited: list[AuditReport] = []
        err.write("origin-auditor demo: invoking the Lambda handler as the EventBridge schedule does...\n\n")
        # The origins listen on loopback, which CloudFront cannot reach: the demo opens it the
        # way a lab deployment would, explicitly in the function's environment.
        env = {"FINDINGS_TOPIC_ARN": topic, "STATE_TABLE_NAME": "origin-auditor-state",
               BUCKET_ENV: REPORTS_BUCKET, ALLOW_ADDRESSES.env: LOOPBACK_CIDRS}
        first_run = handle(SCHEDULE_EVENT, _DemoContext(), audit=audit, sns=sns, dynamodb=ddb, s3=s3, env=env)
        report = audited[0]
        out.write(render(report, fmt))
        out.write("\n")
        if fmt != "text":
            return 0
        _show_notification(out, sqs, queue, sns)
        # A second, unchanged run sends nothing: notifications are about change.
        again = handle(SCHEDULE_EVENT, _DemoContext(), audit=audit, sns=sns, dynamodb=ddb, s3=s3, env=env)
        notification = again.get("notification")
        published = isinstance(notification, dict) and notification.get("published")
        out.write("\n=== A second scheduled run with nothing changed: "
                  f"{'published again (unexpected)' if published else 'no notification sent'}.\n")
        archived = first_run.get("archive")
        if isinstance(archived, dict) and archived.get("written"):
            out.write(f"=== Each run's full report is archived; the first one's is {archived.get('uri')}\n")
    return 0


class _DemoContext:
    """The Lambda context as far as the handler reads it: the function's ARN, whose account the
    messages name (moto's default account), and a request id. No time limit: the demo's origins
    answer at once."""

    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:origin-auditor-demo"
    aws_request_id = "demo-run"


class _RecordingSns:
    """The real (moto) SNS client, keeping a copy of what was published so the demo can show
    every protocol's entry (the SQS subscriber only receives the ``sqs`` one)."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> Any:
        response = self._real.publish(**kwargs)
        self.published.append(kwargs)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _show_notification(out: TextIO, sqs: Any, queue: str, sns: _RecordingSns) -> None:
    delivered = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    if not sns.published:
        out.write("\n=== No notification was published.\n")
        return
    sent = sns.published[-1]
    out.write("\n" + "=" * 78 + "\n")
    out.write(f"=== Published to SNS: {sent.get('Subject')}\n")
    attrs = {k: v.get("StringValue") for k, v in sent.get("MessageAttributes", {}).items()}
    if attrs:
        out.write(f"=== message attributes (for subscription filter policies): {attrs}\n")
    out.write(f"=== delivered to the SQS subscriber: {len(delivered)} message(s)\n")
    structure: dict[str, str] = (json.loads(sent["Message"]) if sent.get("MessageStructure") == "json"
                                 else {"default": sent["Message"]})
    out.write("=" * 78 + "\n--- email (the `email`/`default` entry):\n\n")
    out.write(structure.get("email") or structure.get("default", ""))
    out.write("\n\n--- Slack/Teams via Amazon Q Developer in chat applications (the `https` entry):\n\n")
    chat = structure.get("https")
    out.write(json.dumps(json.loads(chat), indent=2) if chat else "(none)")
    out.write("\n")
