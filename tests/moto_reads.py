"""What a test reads back from moto's SQS and DynamoDB, shared by the Lambda and organization tests."""

from __future__ import annotations

import json
from typing import Any


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every SNS envelope delivered to the SQS subscriber since the last call, oldest first
    (each is deleted as it is read)."""
    out: list[dict[str, Any]] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                   MessageAttributeNames=["All"]).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def table_items(dynamodb: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every item of the state table, by its key (``pk``)."""
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        items += page["Items"]
    return {i["pk"]["S"]: i for i in items}
