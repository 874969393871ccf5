"""The Lambda entry point: parse the event -> run the audit -> notify what changed -> return JSON.

Thin on purpose; each step lives in its own module (events, audit, notify, state). ``handle`` takes
every collaborator as a parameter so tests run it end to end against moto and loopback origins;
``lambda_handler`` is the Powertools-wrapped entry the template points at.

Environment:
  FINDINGS_TOPIC_ARN     SNS topic to publish to (required when the event asks to notify)
  STATE_TABLE_NAME       DynamoDB state table (without it every run is "dedup unavailable")
  ORIGIN_AUDITOR_CA_BUNDLE  replace the Mozilla roots (read by ``trust``)
  AUDIT_ROLE_ARN         role to assume for the audited account (an event's role_arn wins)
  REMINDER_HOURS         remind about targets still failing this often (default 24)
  DAILY_DIGEST           "true": a daily list of everything not passing when nothing changed
  ORIGIN_AUDITOR_ALLOW_ADDRESSES  CIDRs probed although CloudFront cannot reach them (a lab; default
                         none). Read from the environment only, never from an event.

Returns the JSON report (``AuditReport.to_json()``) plus a ``notification`` object saying what was
published. A failed publish raises ``PublishFailed`` after logging the report, so Lambda's retries
and the on-failure destination see it, and the state table does not advance.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from . import aws
from .audit import AuditOptions, run_audit
from .events import AuditRequest, EventError, parse_event
from .model import AuditReport, Verdict
from .notify import DIGEST_KEY, PublishFailed, build_message, plan_changes, publish
from .options import ALLOW_ADDRESSES, Networks, OptionError
from .rules import Code
from .state import StateStore, StateUnavailable, target_id

logger = logging.getLogger(__name__)

# Stop starting probes this long before the Lambda timeout: a started probe may still need its
# full connect + handshake timeout, then the state read, SNS publish and state write need time.
PROBE_SAFETY_SECONDS = 60.0
PUBLISH_BUDGET_SECONDS = 30.0

_PROBE_ERROR_CODES = frozenset({Code.DNS_RESOLUTION_FAILED, Code.CONNECT_FAILED, Code.CONNECT_TIMEOUT,
                                Code.HANDSHAKE_FAILED, Code.HANDSHAKE_TIMEOUT})

AuditFn = Callable[[AuditOptions], AuditReport]

__all__ = ["ConfigError", "EventError", "PublishFailed", "Settings", "handle", "lambda_handler"]


class ConfigError(ValueError):
    """The function's environment is wrong (e.g. notify requested without a topic)."""


@dataclass(frozen=True)
class Settings:
    """The function's configuration from its environment (see the module docstring).

    topic_arn / table_name: None when unset. reminder_hours: > 0. daily_digest: bool.
    role_arn: default role to assume, None for the function's own account.
    allow_addresses: ranges probed although CloudFront cannot reach them (``options.ALLOW_ADDRESSES``).
    """

    topic_arn: str | None
    table_name: str | None
    reminder_hours: float = 24.0
    daily_digest: bool = False
    role_arn: str | None = None
    allow_addresses: Networks = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        problems = []
        raw_hours = env.get("REMINDER_HOURS", "24") or "24"
        try:
            hours = float(raw_hours)
            if not 0 < hours <= 24 * 365:
                raise ValueError
        except ValueError:
            problems.append(f"REMINDER_HOURS must be a number of hours > 0, got {raw_hours!r}")
            hours = 24.0
        digest_raw = (env.get("DAILY_DIGEST") or "false").strip().lower()
        if digest_raw not in ("true", "false", "1", "0", "yes", "no"):
            problems.append(f"DAILY_DIGEST must be true or false, got {digest_raw!r}")
        allow: Networks = ()
        try:
            allow = ALLOW_ADDRESSES.from_env(env)
        except OptionError as e:
            problems.append(str(e))
        if problems:
            raise ConfigError("invalid environment: " + "; ".join(problems))
        return cls(topic_arn=env.get("FINDINGS_TOPIC_ARN") or None,
                   table_name=env.get("STATE_TABLE_NAME") or None,
                   reminder_hours=hours, daily_digest=digest_raw in ("true", "1", "yes"),
                   role_arn=env.get("AUDIT_ROLE_ARN") or None, allow_addresses=allow)


def handle(event: object, context: Any, *, audit: AuditFn | None = None, sns: Any = None,
           dynamodb: Any = None, env: Mapping[str, str] | None = None, metrics: Any = None,
           clock: Callable[[], float] = time.time,
           monotonic: Callable[[], float] = time.monotonic) -> dict[str, object]:
    """Run one invocation. Raises ``EventError``/``ConfigError`` before auditing anything when the
    event or environment is wrong, ``PublishFailed`` after auditing when SNS refused."""
    request = parse_event(event)
    settings = Settings.from_env(os.environ if env is None else env)
    if request.notify and not settings.topic_arn:
        raise ConfigError("the event asks to notify but FINDINGS_TOPIC_ARN is not set")
    logger.info("audit requested", extra={"kind": request.kind, "distribution_ids": request.distribution_ids,
                                          "notify": request.notify})

    started = monotonic()
    options = AuditOptions(
        distribution_ids=request.distribution_ids,
        lookback=dt.timedelta(minutes=request.lookback_minutes),
        timeout=request.timeout,
        concurrency=request.concurrency,
        warn_days=request.warn_days,
        deadline=probe_deadline(context, started),
        role_arn=request.role_arn or settings.role_arn,
        allow_addresses=settings.allow_addresses,
    )
    report = (audit or _default_audit)(options)
    seconds = monotonic() - started
    record_metrics(metrics, report, seconds)
    logger.info("audit done", extra={"summary": report.summary(), "seconds": round(seconds, 3)})

    outcome: dict[str, object] = {"requested": request.notify, "published": False}
    if request.notify:
        assert settings.topic_arn is not None  # checked above
        outcome = notify_changes(report, request, settings, sns=sns, dynamodb=dynamodb, now=clock())
    result = report.to_json()
    result["notification"] = outcome
    return result


def probe_deadline(context: Any, now: float) -> float | None:
    """``time.monotonic()`` after which no probe starts, from the Lambda's remaining time."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if remaining_ms is None:
        return None
    remaining = float(remaining_ms()) / 1000
    return now + max(0.0, remaining - PROBE_SAFETY_SECONDS - PUBLISH_BUDGET_SECONDS)


def notify_changes(report: AuditReport, request: AuditRequest, settings: Settings, *, sns: Any,
                   dynamodb: Any, now: float) -> dict[str, object]:
    """Publish what changed since the last successful publish, then advance the state."""
    assert settings.topic_arn is not None
    store: StateStore | None = None
    previous = None
    dedup_error = "STATE_TABLE_NAME is not set"
    if settings.table_name:
        try:
            store = StateStore(settings.table_name, dynamodb or _client("dynamodb"))
            keys = None if request.whole_account else \
                [target_id(r.target) for r in report.results] + [DIGEST_KEY]
            previous = store.load(keys)
            dedup_error = ""
        except StateUnavailable as exc:
            dedup_error = str(exc)
            logger.warning("dedup unavailable, publishing every problem", extra={"error": dedup_error})
    plan = plan_changes(report, previous, now=now, reminder_hours=settings.reminder_hours,
                        whole_account=request.whole_account,
                        digest=settings.daily_digest and request.kind == "schedule")
    message = build_message(report, plan, alarm=request.alarm, change=request.change)
    outcome: dict[str, object] = {"requested": True, "published": False, "changes": len(plan.changes),
                                  "dedup_available": plan.dedup_available}
    if dedup_error:
        outcome["dedup_error"] = dedup_error
    if message is not None:
        try:
            outcome["message_id"] = publish(message, settings.topic_arn, sns or _client("sns"))
        except PublishFailed:
            # The report must not be lost with the failed message: log all of it, keep the
            # state as it was (the next run re-detects the same changes), and fail the invocation.
            logger.exception("publish failed; state not advanced", extra={"report": report.to_json()})
            raise
        outcome.update(published=True, subject=message.subject, severity=message.severity,
                       classification=message.label, bytes=message.size_bytes,
                       changes_detailed=message.included)
    if store is not None:
        try:
            store.save(plan.states, plan.delete, now=now)
            outcome["state_saved"] = True
        except StateUnavailable as exc:
            # Published but not remembered: the next run repeats these changes (a duplicate,
            # never a loss).
            logger.error("state not saved", extra={"error": str(exc)})
            outcome["state_saved"] = False
    return outcome


def record_metrics(metrics: Any, report: AuditReport, seconds: float) -> None:
    """EMF metrics (namespace OriginAuditor) for dashboards and the failing-origins alarm."""
    if metrics is None:
        return
    failing = sum(1 for r in report.results if r.verdict is Verdict.FAIL)
    warning = sum(1 for r in report.results if r.verdict is Verdict.WARN)
    probe_errors = sum(1 for r in report.results if any(f.code in _PROBE_ERROR_CODES for f in r.findings))
    metrics.add_metric(name="OriginsAudited", unit=MetricUnit.Count, value=len(report.results))
    metrics.add_metric(name="OriginsFailing", unit=MetricUnit.Count, value=failing)
    metrics.add_metric(name="OriginsWarning", unit=MetricUnit.Count, value=warning)
    metrics.add_metric(name="ProbeErrors", unit=MetricUnit.Count, value=probe_errors)
    metrics.add_metric(name="AuditSeconds", unit=MetricUnit.Seconds, value=round(seconds, 3))


def _default_audit(options: AuditOptions) -> AuditReport:
    return run_audit(options)


def _client(service: str) -> Any:
    # aws.SERVICES bounds SNS and DynamoDB so a hung endpoint cannot eat the publish budget.
    return aws.client(service)


# ---------------------------------------------------------------- Powertools wiring

_powertools_handler: Callable[[Any, Any], dict[str, object]] | None = None


def _build_lambda_handler() -> Callable[[Any, Any], dict[str, object]]:
    # Built on first use so importing this module (tests, the CLI) does not configure logging.
    pt_logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "origin-auditor"))
    logging.getLogger("origin_auditor")  # register the package logger so its children inherit
    copy_config_to_registered_loggers(source_logger=pt_logger, include={"origin_auditor"})
    pt_metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "OriginAuditor"))

    @pt_metrics.log_metrics
    @pt_logger.inject_lambda_context(clear_state=True)
    def entry(event: Any, context: Any) -> dict[str, object]:
        event_id = event.get("id") if isinstance(event, dict) else None
        pt_logger.set_correlation_id(event_id if isinstance(event_id, str)
                                     else getattr(context, "aws_request_id", None))
        try:
            return handle(event, context, metrics=pt_metrics)
        except EventError as exc:
            pt_logger.error("rejected event", extra={"problems": list(exc.problems)})
            raise

    return entry


def lambda_handler(event: Any, context: Any) -> dict[str, object]:
    """The function's Handler (origin_auditor.handler.lambda_handler)."""
    global _powertools_handler  # noqa: PLW0603 -- one wrapped entry per execution environment
    if _powertools_handler is None:
        _powertools_handler = _build_lambda_handler()
    return _powertools_handler(event, context)
