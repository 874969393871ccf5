"""Announce what changed, exactly once, and keep the report: the notifying half of a run.

The state table is read once, after discovery and before the first probe (``StateReader.order``:
previously failing, then least recently audited origins first); the plan is made against that
read; the items to announce are claimed (conditional writes), the report archived, the message
published, and the state written conditionally (``state.py`` has the guarantees). Every log event
stays under ``LOG_EVENT_MAX_BYTES``; the return value under ``RETURN_MAX_BYTES``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from . import archive as archive_mod
from . import aws
from .archive import Archive, archive_report
from .events import AuditRequest
from .model import AuditReport, Target
from .notify import (
    COVERAGE_KEY,
    DIGEST_KEY,
    Message,
    Plan,
    PublishFailed,
    build_message,
    plan_changes,
    publish,
)
from .present.text import clip
from .report_html import render_html
from .settings import Settings
from .state import CLAIM_SECONDS, StateStore, StateUnavailable, TargetState, probe_order, target_id

logger = logging.getLogger(__name__)

# CloudWatch Logs takes 256 KB per event; what the handler logs is bounded well below that (lists
# cut to _LOG_ITEMS entries, texts clipped), and a test holds every line under this bound.
LOG_EVENT_MAX_BYTES = 16_384
_LOG_ITEMS = 20
# Lambda returns at most 6 MB to a synchronous caller; above this the per-origin detail is left
# to the archived report.
RETURN_MAX_BYTES = 5_000_000


def _client(service: str) -> Any:
    # aws.SERVICES bounds SNS and DynamoDB so a hung endpoint cannot eat the publish budget.
    return aws.client(service)


class StateReader:
    """Reads the state table once for a notifying run: at ``order`` (after discovery, before
    the first probe, so every later write is newer than what was read), or at ``load`` when the
    audit never called ``order``. ``previous`` is None until read or when the read failed
    (``error`` says why)."""

    def __init__(self, table_name: str | None, dynamodb: Any, whole_account: bool) -> None:
        self.table_name = table_name
        self._dynamodb = dynamodb
        self._whole_account = whole_account
        self.store: StateStore | None = None
        self.previous: dict[str, TargetState] | None = None
        self.error = "STATE_TABLE_NAME is not set"
        self._read = False

    def order(self, targets: Sequence[Target]) -> list[Target]:
        self.load(targets)
        return probe_order(targets, self.previous or {})

    def load(self, targets: Sequence[Target]) -> dict[str, TargetState] | None:
        if self._read or not self.table_name:
            return self.previous
        self._read = True
        try:
            self.store = StateStore(self.table_name, self._dynamodb or _client("dynamodb"))
            # A whole-account run reads everything: it needs the items it no longer sees.
            keys = None if self._whole_account else \
                [target_id(t) for t in targets] + [DIGEST_KEY, COVERAGE_KEY]
            self.previous = self.store.load(keys)
            self.error = ""
        except StateUnavailable as exc:
            self.error = str(exc)
            logger.warning("state unreadable: publishing without dedup, writing no state",
                           extra={"error": self.error})
        return self.previous


def keep_report(report: AuditReport, request: AuditRequest, settings: Settings, *, s3: Any, now: float,
                run: str, plan: Plan | None = None) -> Archive | None:
    """Archive the full report (with every planned change, when notifying); None without a bucket.

    A failed write is returned, not raised: the message and the return value say so.
    """
    if not settings.reports_bucket:
        logger.warning("report not archived", extra={"error": f"{archive_mod.BUCKET_ENV} is not set"})
        return None
    document = report.to_json()
    document["run"] = {"id": run, "kind": request.kind, "notify": request.notify}
    if plan is not None:
        document["notification"] = {"dedup_available": plan.dedup_available,
                                    "changes": [c.to_json() for c in plan.changes]}
    archived = archive_report(document, bucket=settings.reports_bucket, run=run, now=now, client=s3,
                              html=render_html(report))
    if archived.html_error is not None:
        logger.error("HTML report not archived",
                     extra={"key": archived.html_key, "error": archived.html_error})
    if archived.written:
        logger.info("report archived", extra={"uri": archived.uri})
    else:
        logger.error("report not archived", extra={"bucket": archived.bucket, "key": archived.key,
                                                   "error": archived.error})
    return archived


def notify_changes(report: AuditReport, request: AuditRequest, settings: Settings, *, sns: Any,
                   reader: StateReader, now: float, audited_at: float | None = None,
                   run_id: str = "", s3: Any = None,
                   run: str = "",
                   message_max_bytes: int | None = None) -> tuple[dict[str, object], Archive | None]:
    """Archive the report, publish what changed since the last successful publish, then advance
    the state of what the message told (``Message.withheld_keys`` keep their state and claims are
    released, so the next run reports them).

    Announce once: the items to announce are claimed first (a conditional write); what another
    run claimed or wrote since this run's read is left to it. Only what was claimed, or what
    could not be claimed for a DynamoDB error (a possible duplicate, never a loss), is published.
    ``message_max_bytes``: as ``handle``'s (tests only).
    """
    assert settings.topic_arn is not None
    previous = reader.load([r.target for r in report.results])
    store = reader.store if previous is not None else None
    plan = plan_changes(report, previous, now=now, reminder_hours=settings.reminder_hours,
                        whole_account=request.whole_account,
                        digest=settings.daily_digest and request.kind == "schedule",
                        run_id=run_id, audited_at=audited_at)
    plan, claimed, lost = claim_changes(store, plan, previous, run_id=run_id, now=now)
    archived = keep_report(report, request, settings, s3=s3, now=now, run=run or archive_mod.run_id(None),
                           plan=plan)
    budget: dict[str, Any] = {} if message_max_bytes is None else {"max_bytes": message_max_bytes}
    message = build_message(report, plan, alarm=request.alarm, change=request.change, archive=archived,
                            **budget)
    outcome: dict[str, object] = {"requested": True, "published": False, "changes": len(plan.changes),
                                  "dedup_available": plan.dedup_available,
                                  "owned_by_other_runs": len(lost)}
    if reader.error:
        outcome["dedup_error"] = reader.error
    topic = settings.topic_arn
    message_id, outcome["state_saved"] = deliver(
        message, plan, send=lambda m: publish(m, topic, sns or _client("sns")), store=store,
        previous=previous, claimed=claimed, lost=lost, now=now,
        failure_log={"report": archive_outcome(archived), "summary": log_summary(report),
                     "changes": len(plan.changes)})
    if message is not None and message_id is not None:
        outcome.update(message_id=message_id, published=True, subject=message.subject,
                       severity=message.severity, classification=message.label,
                       bytes=message.size_bytes, changes_detailed=message.included,
                       changes_named=message.named, changes_withheld=message.counted)
    return outcome, archived


def deliver(message: Message | None, plan: Plan, *, send: Callable[[Message], str] | None,
            store: StateStore | None, previous: Mapping[str, TargetState] | None,
            claimed: dict[str, TargetState], lost: set[str], now: float,
            failure_log: Mapping[str, object]) -> tuple[str | None, bool]:
    """Publish ``message`` with ``send`` (None: nowhere to publish), then remember only what it
    told: (the message id, or None when nothing was published; whether the state was saved).
    The announcing step of a single-account run and of an organization run alike.

    A change the message could only count (SNS's size limit), or any change when nothing was
    published, keeps its previous state and its claim is released, so the next run reports it
    again. A failed publish keeps the state as it was (the next run re-detects the same changes),
    releases the claims so that run may announce them, and raises: the report is not lost with
    the message, it is in the archive ``failure_log`` names (the report itself would be one
    multi-MB log line, over CloudWatch's 256 KB).
    """
    message_id: str | None = None
    if message is not None and send is not None:
        try:
            message_id = send(message)
        except PublishFailed:
            logger.exception("publish failed; state not advanced",
                             extra={**failure_log, "subject": message.subject})
            if store is not None and claimed:
                store.release(list(claimed.values()))
            raise
    withheld = set(message.withheld_keys) if message is not None else set()
    if message is not None and message_id is None:
        withheld |= {c.key for c in plan.changes}  # nothing told: nothing marked notified
    if store is not None and withheld:
        store.release([claimed.pop(k) for k in sorted(withheld) if k in claimed])
    saved = _save(store, plan, previous or {}, claimed, lost | withheld, now=now) \
        if store is not None else False
    return message_id, saved


def archive_outcome(archived: Archive | None) -> dict[str, object]:
    """What the archive write did, for a log event or a result (``written``, ``error``...)."""
    if archived is None:
        return {"written": False, "error": f"{archive_mod.BUCKET_ENV} is not set"}
    return archived.to_json()


def _log_list(name: str, items: Sequence[object]) -> dict[str, object]:
    """``{name: first _LOG_ITEMS items (clipped), name_total: n}`` for a log event's extra."""
    return {name: [clip(str(i), 300) for i in items[:_LOG_ITEMS]], f"{name}_total": len(items)}


def log_summary(report: AuditReport) -> dict[str, object]:
    """``report.summary()`` bounded for a log event: the first notes, clipped, and their count
    (a run can have thousands; all are in the archived report)."""
    summary = report.summary()
    summary.update(_log_list("notes", list(report.notes)))
    return summary


def bounded_result(result: dict[str, object]) -> dict[str, object]:
    """``result`` if it fits Lambda's synchronous response; else without per-origin detail,
    which the archived report has (``truncated`` says what was left out)."""
    size = len(json.dumps(result, ensure_ascii=False).encode())
    if size <= RETURN_MAX_BYTES:
        return result
    out = {k: v for k, v in result.items() if k not in ("results", "distributions")}
    out["truncated"] = {"bytes": size, "results": len(result.get("results") or []),  # type: ignore[arg-type]
                        "distributions": len(result.get("distributions") or []),  # type: ignore[arg-type]
                        "reason": "over Lambda's response limit; every result is in the archived report"}
    return out


def claim_changes(store: StateStore | None, plan: Plan, previous: Mapping[str, TargetState] | None, *,
                  run_id: str, now: float) -> tuple[Plan, dict[str, TargetState], set[str]]:
    """Claim what ``plan`` will announce before announcing it: (the plan without the changes a
    newer run owns, the claimed states at their new versions, the keys lost to other runs).
    Without a store (no table, or it could not be read) nothing is claimed: a possible
    duplicate, never a loss."""
    claimed: dict[str, TargetState] = {}
    lost: set[str] = set(plan.owned)
    if store is not None and previous is not None and plan.changes:
        to_claim = [previous.get(c.key) or TargetState(c.key, "", "", (), c.display) for c in plan.changes]
        results = store.claim(to_claim, run_id=run_id, until=now + CLAIM_SECONDS)
        for s in to_claim:
            if results.get(s.key) == "claimed":
                claimed[s.key] = replace(s, version=(s.version or 0) + 1)
            elif results.get(s.key) == "owned":
                lost.add(s.key)
        plan = replace(plan, changes=tuple(c for c in plan.changes if c.key not in lost))
    return plan, claimed, lost


def _save(store: StateStore, plan: Plan, previous: Mapping[str, TargetState],
          claimed: Mapping[str, TargetState], lost: set[str], *, now: float) -> bool:
    """Write the plan's states conditionally (at the claimed version for what this run
    announced, else as read); True when every write went through or lost only to newer runs."""
    states = [replace(s, version=claimed[s.key].version) if s.key in claimed else s
              for s in plan.states if s.key not in lost]
    delete = [claimed.get(k) or previous[k] for k in plan.delete if k not in lost]
    out = store.write(states, delete, now=now)
    owned = out.keys("owned")
    if owned:
        logger.info("state items owned by newer runs, left to them", extra={"count": len(owned)})
    if out.errors:
        # Announced but not remembered: the claim expires and the next run repeats these
        # changes (a duplicate, never a loss).
        logger.error("state not saved", extra={"errors": list(out.errors)})
        return False
    return True
