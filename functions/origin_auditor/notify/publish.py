"""Telling people: one SNS publish per run (the one I/O of this package)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from .. import aws
from ..archive import Archive
from ..model import AuditReport
from .changes import plan_changes
from .message import Message, build_message


class PublishFailed(RuntimeError):
    """SNS did not accept the message; the state was not advanced."""


def publish(message: Message, topic_arn: str, client: Any = None) -> str:
    """Publish ``message``; return the MessageId or raise ``PublishFailed``."""
    if client is None:
        client = aws.client("sns")
    try:
        out = client.publish(**message.publish_kwargs(topic_arn))
    except Exception as exc:
        raise PublishFailed(f"SNS publish to {topic_arn} failed: {type(exc).__name__}: {exc}") from exc
    return str(out.get("MessageId", ""))


def publish_report(report: AuditReport, *, topic_arn: str, client: Any = None,
                   now: float | None = None, archive: Archive | None = None) -> str | None:
    """Publish every problem in ``report`` (no state, no dedup: the CLI's ``audit --publish``).
    ``archive``: where the full report was written, for the message to link.
    Returns the MessageId, or None when nothing warns or fails."""
    plan = plan_changes(report, None, now=time.time() if now is None else now)
    # No state table by design here, so "dedup unavailable" would be misleading.
    message = build_message(report, replace(plan, dedup_available=True), archive=archive)
    return None if message is None else publish(message, topic_arn, client)
