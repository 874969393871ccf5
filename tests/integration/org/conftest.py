"""Organization mode on moto: an organization with member accounts in an OU tree, a member role
that some accounts lack, the management account's reports bucket, state table and topic, and
the Distributed Map's ResultWriter files written as Step Functions documents them.

moto scopes resources per account: credentials from ``sts:AssumeRole`` into
``arn:aws:iam::<id>:role/...`` act in account ``<id>`` (moto 5), so a member account's
distributions and metrics are created through its assumed role, and the auditor's clients reach
them the same way. moto's AssumeRole succeeds whether or not the role exists; an account "without
the member role" answers AssumeRole with AccessDenied as STS does (``deny_assume_role``: a
botocore before-call hook on the auditor's base session, the response parsed as botocore parses
STS's own error)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from tests.moto_reads import drain, table_items

ROOT = Path(__file__).resolve().parents[3]

REGION = "us-east-1"
MANAGEMENT = "123456789012"  # moto.core.DEFAULT_ACCOUNT_ID
ROLE = "origin-auditor-member"
SM_ARN = f"arn:aws:states:{REGION}:{MANAGEMENT}:stateMachine:origin-auditor-org"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


class _CfnLoader(yaml.SafeLoader):
    pass


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: str(node.value)})


def state_table_definition() -> dict[str, Any]:
    """The StateTable's Properties from template.yaml (the real table's keys)."""
    props: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)["Resources"][
        "StateTable"
    ]["Properties"]
    return props


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_SESSION_TOKEN",
        "TABLE_NAME",
        "TOPIC_ARN",
        "MEMBER_ROLE_NAME",
        "REPORTS_BUCKET_NAME",
    ):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def member_session(account: str) -> boto3.Session:
    """A session acting in ``account`` (moto maps assumed-role credentials to the role's account)."""
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


def assume_role_error(
    accounts: Sequence[str], code: str = "AccessDenied", message: str | None = None, status: int = 403
) -> Callable[..., tuple[Any, dict[str, Any]] | None]:
    """A botocore ``before-call.sts.AssumeRole`` handler: AssumeRole into ``accounts`` answers
    STS's error ``code`` (default: AccessDenied, the member role is not deployed there)."""
    text_ = message or (
        "User: arn:aws:sts::123456789012:assumed-role/auditor/x is not authorized to "
        "perform: sts:AssumeRole on resource: arn:aws:iam::...:role/" + ROLE
    )

    def answer(params: Mapping[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        body = params.get("body")
        text = json.dumps(body) if isinstance(body, dict) else str(body)
        if not any(a in text for a in accounts):
            return None
        return SimpleNamespace(status_code=status, headers={}), {
            "Error": {"Code": code, "Type": "Sender", "Message": text_},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    return answer


def deny_assume_role(base: boto3.Session, accounts: Sequence[str]) -> None:
    """AssumeRole into ``accounts`` answers AccessDenied (the member role is not deployed there)."""
    base.events.register("before-call.sts.AssumeRole", assume_role_error(accounts))


@dataclass
class MapRun:
    """The Map's child executions, written as ResultWriter writes them."""

    run_id: str
    entries: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    )

    def _entry(self, item: Mapping[str, Any], status: str) -> dict[str, Any]:
        name = uuid.uuid4().hex
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        return {
            "ExecutionArn": f"arn:aws:states:{REGION}:{MANAGEMENT}:execution:origin-auditor-org/"
            f"{self.run_id}:{name}",
            "Input": json.dumps(item),
            "InputDetails": {"Included": True},
            "Name": name,
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "StartDate": start.isoformat(),
            "StateMachineArn": SM_ARN,
            "Status": status,
            "StopDate": (start + dt.timedelta(seconds=30)).isoformat(),
        }

    def succeeded(self, item: Mapping[str, Any], output: object) -> None:
        self.entries["SUCCEEDED"].append(
            {
                **self._entry(item, "SUCCEEDED"),
                "Output": json.dumps(output),
                "OutputDetails": {"Included": True},
            }
        )

    def failed(self, item: Mapping[str, Any], error: str, message: str) -> None:
        cause = json.dumps({"errorMessage": message, "errorType": error, "requestId": "r", "stackTrace": []})
        self.entries["FAILED"].append({**self._entry(item, "FAILED"), "Error": error, "Cause": cause})

    def write(
        self,
        s3: Any,
        bucket: str,
        per_file: int = 1000,
        *,
        prefix: str | None = None,
        map_run_arn: str | None = None,
    ) -> dict[str, Any]:
        """The result files and manifest; returns the Map state's output (ResultWriterDetails).
        ``prefix``/``map_run_arn``: where and for which map run (default: a new one of this run)."""
        uid = str(uuid.uuid4())
        prefix = prefix or f"org-runs/{self.run_id}/map/{uid}/"
        files: dict[str, list[dict[str, Any]]] = {}
        for status, entries in self.entries.items():
            files[status] = []
            for n, i in enumerate(range(0, len(entries), per_file)):
                key = f"{prefix}{status}_{n}.json"
                body = json.dumps(entries[i : i + per_file]).encode()
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                files[status].append({"Key": key, "Size": len(body)})
        map_run = (
            map_run_arn
            or f"arn:aws:states:{REGION}:{MANAGEMENT}:mapRun:origin-auditor-org/{self.run_id}:{uid}"
        )
        manifest = {"DestinationBucket": bucket, "MapRunArn": map_run, "ResultFiles": files}
        s3.put_object(Bucket=bucket, Key=prefix + "manifest.json", Body=json.dumps(manifest).encode())
        return {
            "MapRunArn": map_run,
            "ResultWriterDetails": {"Bucket": bucket, "Key": prefix + "manifest.json"},
        }


@dataclass
class Org:
    """The management account's resources on moto."""

    s3: Any
    sns: Any
    sqs: Any
    dynamodb: Any
    organizations: Any
    topic_arn: str
    queue_url: str
    bucket: str = "reports"
    table: str = "state"

    @property
    def env(self) -> dict[str, str]:
        return {
            "REPORTS_BUCKET_NAME": self.bucket,
            "TABLE_NAME": self.table,
            "TOPIC_ARN": self.topic_arn,
            "MEMBER_ROLE_NAME": ROLE,
        }

    def published(self) -> list[dict[str, Any]]:
        return drain(self.sqs, self.queue_url)

    def state(self) -> dict[str, dict[str, Any]]:
        return table_items(self.dynamodb, self.table)

    def get_json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())


def build_org() -> Org:
    """The management account's bucket, topic (with an SQS subscriber), state table and
    organization, inside an active moto mock."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="reports")
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="findings")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"})
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = state_table_definition()
    ddb.create_table(
        TableName="state",
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        BillingMode=table["BillingMode"],
    )
    orgs = boto3.client("organizations", region_name=REGION)
    orgs.create_organization(FeatureSet="ALL")
    return Org(s3, sns, sqs, ddb, orgs, topic, queue_url)


@pytest.fixture
def org() -> Iterator[Org]:
    with mock_aws():
        yield build_org()


def create_account(orgs: Any, name: str, parent: str | None = None) -> str:
    status = orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
    account = str(status["AccountId"])
    if parent is not None:
        root = orgs.list_roots()["Roots"][0]["Id"]
        orgs.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
    return account


def distribution(sess: boto3.Session, port: int, ref: str, domain: str = "origin.test") -> str:
    """A distribution with one https-only custom origin ``domain``:``port`` in ``sess``'s account,
    and CloudWatch showing it busy (1,000 requests) with no 5xx ten minutes ago."""
    cf = sess.client("cloudfront", region_name=REGION)
    config = {
        "CallerReference": ref,
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "web",
                    "DomainName": domain,
                    "CustomOriginConfig": {
                        "HTTPPort": 80,
                        "HTTPSPort": port,
                        "OriginProtocolPolicy": "https-only",
                        "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
                    },
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "web",
            "ViewerProtocolPolicy": "redirect-to-https",
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "MinTTL": 0,
        },
    }
    dist = str(cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"])
    cw = sess.client("cloudwatch", region_name=REGION)
    for metric, value, unit in (("Requests", 1000.0, "None"), ("5xxErrorRate", 0.0, "Percent")):
        cw.put_metric_data(
            Namespace="AWS/CloudFront",
            MetricData=[
                {
                    "MetricName": metric,
                    "Value": value,
                    "Unit": unit,
                    "Timestamp": NOW - dt.timedelta(minutes=10),
                    "Dimensions": [
                        {"Name": "DistributionId", "Value": dist},
                        {"Name": "Region", "Value": "Global"},
                    ],
                }
            ],
        )
    return dist
