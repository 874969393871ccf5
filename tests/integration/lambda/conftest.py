"""Fixtures for the Lambda tests: moto SNS topic with an SQS subscriber that captures what is
published (raw delivery off, as a chat subscription needs), the state table created from
template.yaml's own definition, the reports bucket, and a Lambda context."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from tests.moto_reads import drain, table_items

ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"


class _CfnLoader(yaml.SafeLoader):
    pass


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: str(node.value)})


def state_table_definition() -> dict[str, Any]:
    """The StateTable's Properties from template.yaml (the tests build the real table from them)."""
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
    props: dict[str, Any] = template["Resources"]["StateTable"]["Properties"]
    return props


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "FINDINGS_TOPIC_ARN",
              "STATE_TABLE_NAME", "AUDIT_ROLE_ARN", "REMINDER_HOURS", "DAILY_DIGEST",
              "ORIGIN_AUDITOR_CA_BUNDLE", "REPORTS_BUCKET_NAME"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@dataclass
class Aws:
    """The deployed resources, on moto."""

    sns: Any
    sqs: Any
    dynamodb: Any
    topic_arn: str
    queue_url: str
    table_name: str
    s3: Any = None
    bucket: str = "reports"

    @property
    def env(self) -> dict[str, str]:
        return {"FINDINGS_TOPIC_ARN": self.topic_arn, "STATE_TABLE_NAME": self.table_name,
                "REPORTS_BUCKET_NAME": self.bucket}

    def archived(self) -> dict[str, Any]:
        """Every JSON report in the reports bucket: key -> parsed JSON."""
        listed = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {o["Key"]: json.loads(self.s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read())
                for o in listed if o["Key"].endswith(".json")}

    def archived_pages(self) -> dict[str, tuple[str, str]]:
        """Every HTML report in the reports bucket: key -> (content type, page)."""
        listed = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        out = {}
        for o in listed:
            if o["Key"].endswith(".html"):
                got = self.s3.get_object(Bucket=self.bucket, Key=o["Key"])
                out[o["Key"]] = (got["ContentType"], got["Body"].read().decode())
        return out

    def published(self) -> list[dict[str, Any]]:
        """Every SNS notification delivered to the SQS subscriber since the last call."""
        return drain(self.sqs, self.queue_url)

    def state(self) -> dict[str, dict[str, Any]]:
        return table_items(self.dynamodb, self.table_name)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        ddb = boto3.client("dynamodb", region_name=REGION)
        topic = sns.create_topic(Name="findings")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="capture")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "false"})
        table = state_table_definition()
        ddb.create_table(TableName="state", AttributeDefinitions=table["AttributeDefinitions"],
                         KeySchema=table["KeySchema"], BillingMode=table["BillingMode"])
        ttl = table["TimeToLiveSpecification"]
        ddb.update_time_to_live(TableName="state", TimeToLiveSpecification=ttl)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="reports")
        yield Aws(sns, sqs, ddb, topic, queue_url, "state", s3, "reports")


@dataclass
class Context:
    """The parts of the Lambda context the handler reads."""

    remaining_ms: int = 600_000
    aws_request_id: str = "req-1"
    function_name: str = "origin-auditor"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:origin-auditor"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def context() -> Context:
    return Context()


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    return data
