"""The Lambda entry point: parse the event -> run the audit -> notify what changed -> return JSON.

Thin on purpose; each step lives in its own module (events, audit, announce, notify, state). ``handle`` takes
every collaborator as a parameter so tests run it end to end against moto and loopback origins;
``lambda_handler`` is the Powertools-wrapped entry the template points at.

Environment:
  FINDINGS_TOPIC_ARN     SNS topic to publish to (required when the event asks to notify)
  STATE_TABLE_NAME       DynamoDB state table (without it every run is "dedup unavailable")
  ORIGIN_AUDITOR_CA_BUNDLE  replace the Mozilla roots (read by ``trust``)
  AUDIT_ROLE_ARN         role to assume for the audited account (an event's role_arn wins)
  REMINDER_HOURS         remind about targets still failing this often (default 24)
  REPORTS_BUCKET_NAME    S3 bucket for every run's full JSON report and its HTML page (``archive``);
                         without it the message says the report was not archived
  DAILY_DIGEST           "true": a daily list of everything not passing when nothing changed
  ORIGIN_AUDITOR_ALLOW_ADDRESSES  CIDRs probed although CloudFront cannot reach them (a lab; default
                         none). Read from the environment only, never from an event.
  ORIGIN_AUDITOR_FETCH   "off": do not fetch missing issuers through their caIssuers URLs to tell a
                         missing intermediate from a private CA (default on; ``fetch``)

Returns the JSON report (``AuditReport.to_json()``) plus a ``notification`` object saying what was
published and an ``archive`` object saying where the full report was written (or why not). A
failed publish raises ``PublishFailed`` after logging where the archived report is, so Lambda's
retries and the on-failure destination see it, and the state table does not advance.

Sizes: the message fits SNS (``notify.message`` trims it with exact totals); every log event
stays under ``LOG_EVENT_MAX_BYTES`` (CloudWatch Logs takes 256 KB per event), naming the archived
report instead of carrying it; the return value stays under ``RETURN_MAX_BYTES`` (Lambda's 6 MB
response limit for synchronous invocations), dropping per-origin detail that the archive has.

State (``state.py`` has the guarantees): a notifying run reads the table once, after discovery and
before the first probe (``AuditOptions.probe_order``: previously failing, then least recently
audited origins first), plans against that read, claims what it will announce, publishes what it
claimed, then writes conditionally. A failed read writes nothing. ``notify: false`` never reads
or writes the table.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from . import archive as archive_mod
from . import aws
from .announce import (
    LOG_EVENT_MAX_BYTES,
    RETURN_MAX_BYTES,
    StateReader,
    _log_list,
    archive_outcome,
    bounded_result,
    keep_report,
    log_summary,
    notify_changes,
)
from .audit import AuditOptions, run_audit
from .events import EventError, parse_event
from .model import AuditReport
from .notify import PublishFailed
from .run_metrics import CLASSIFICATION_METRICS, record_metrics
from .settings import ConfigError, Settings

logger = logging.getLogger(__name__)

# The time budget: everything after the probes fits a reserve before the Lambda timeout.
# Probing is over RESERVE_SECONDS before it: every handshake attempt (the diagnostic ladder's
# included) is bounded by that deadline, and what it cut is reported NOT_AUDITED (time budget).
# The reserve, in the order it is spent:
JUDGE_BUDGET_SECONDS = 15.0  # judging every probe result and assessing (CPU; ~5,000 targets)
METRICS_BUDGET_SECONDS = 20.0  # monitoring subscriptions (parallel) + GetMetricData: correlate
#                                returns by its deadline, what it did not read is unknown (noted)
PUBLISH_BUDGET_SECONDS = 30.0  # state read, archive, SNS publish, state write (each call bounded
#                                by aws.SERVICES' attempts and timeouts)
SAFETY_SECONDS = 5.0  # a DNS lookup in flight at the probe deadline (probe.DEADLINE_GRACE_SECONDS),
#                       logging, the return value
RESERVE_SECONDS = JUDGE_BUDGET_SECONDS + METRICS_BUDGET_SECONDS + PUBLISH_BUDGET_SECONDS + SAFETY_SECONDS

AuditFn = Callable[[AuditOptions], AuditReport]

__all__ = ["ConfigError", "EventError", "PublishFailed", "Settings", "handle", "lambda_handler"]

def handle(event: object, context: Any, *, audit: AuditFn | None = None, sns: Any = None,
           dynamodb: Any = None, s3: Any = None, env: Mapping[str, str] | None = None, metrics: Any = None,
           clock: Callable[[], float] = time.time,
           monotonic: Callable[[], float] = time.monotonic,
           message_max_bytes: int | None = None) -> dict[str, object]:
    """Run one invocation. Raises ``EventError``/``ConfigError`` before auditing anything when the
    event or environment is wrong, ``PublishFailed`` after auditing when SNS refused.

    ``message_max_bytes``: the SNS message's size budget (None: ``build_message``'s, under SNS's
    256 KB). For tests only, so that a few hundred origins overflow it; never set by Lambda."""
    request = parse_event(event)
    if request.ignored is not None:
        # Recognised, asks for nothing (events.py): a clean return, so Lambda does not retry it
        # twice into the failure queue.
        logger.info("event ignored", extra={"reason": request.ignored})
        return {"ignored": request.ignored, "notification": {"requested": False, "published": False}}
    settings = Settings.from_env(os.environ if env is None else env)
    if request.notify and not settings.topic_arn:
        raise ConfigError("the event asks to notify but FINDINGS_TOPIC_ARN is not set")
    logger.info("audit requested", extra={"kind": request.kind, "notify": request.notify,
                                          **_log_list("distribution_ids", request.distribution_ids)})

    started = monotonic()
    audited_at = clock()
    reader = StateReader(settings.table_name, dynamodb, request.whole_account) \
        if request.notify else None
    budget = Budget.of(context, started)
    options = AuditOptions(
        distribution_ids=request.distribution_ids,
        lookback=dt.timedelta(minutes=request.lookback_minutes),
        timeout=request.timeout,
        concurrency=request.concurrency,
        warn_days=request.warn_days,
        deadline=budget.probes_end,
        metrics_deadline=budget.metrics_end,
        role_arn=request.role_arn or settings.role_arn,
        probe_order=reader.order if reader is not None else None,
        allow_addresses=settings.allow_addresses,
        fetch_issuers=settings.fetch_issuers,
    )
    report = (audit or _default_audit)(options)
    if report.account is None:
        # The messages name the account: the audited role's, else the function's own (its ARN).
        report = replace(report, account=aws.arn_account(options.role_arn)
                         or aws.arn_account(getattr(context, "invoked_function_arn", None)))
    seconds = monotonic() - started
    record_metrics(metrics, report, seconds)
    logger.info("audit done", extra={"summary": log_summary(report), "seconds": round(seconds, 3)})

    run = archive_mod.run_id(getattr(context, "aws_request_id", None))
    outcome: dict[str, object] = {"requested": request.notify, "published": False}
    if request.notify:
        assert settings.topic_arn is not None  # checked above
        assert reader is not None
        # The claim id is fresh per attempt (a Lambda retry reuses the request id, and must not
        # take the failed attempt's claims for its own); the archive key uses the request id.
        outcome, archived = notify_changes(report, request, settings, sns=sns, reader=reader, s3=s3,
                                           now=clock(), audited_at=audited_at, run_id=uuid.uuid4().hex,
                                           run=run, message_max_bytes=message_max_bytes)
    else:
        archived = keep_report(report, request, settings, s3=s3, now=clock(), run=run)
    result = report.to_json()
    result["notification"] = outcome
    result["archive"] = archive_outcome(archived)
    return bounded_result(result)


@dataclass(frozen=True)
class Budget:
    """This invocation's deadlines (``time.monotonic()`` values; None: no Lambda context, no bound).

    probes_end: probing is over (``RESERVE_SECONDS`` before the Lambda timeout; now, when less
        than that is left: then nothing is probed and every origin is NOT_AUDITED).
    metrics_end: correlate returns by then (``PUBLISH_BUDGET_SECONDS + SAFETY_SECONDS`` before
        the timeout), leaving the publish budget whatever judging took.
    """

    probes_end: float | None
    metrics_end: float | None

    @classmethod
    def of(cls, context: Any, now: float) -> Budget:
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if remaining_ms is None:
            return cls(None, None)
        end = now + float(remaining_ms()) / 1000
        probes_end = max(now, end - RESERVE_SECONDS)
        return cls(probes_end, max(probes_end, end - PUBLISH_BUDGET_SECONDS - SAFETY_SECONDS))


def probe_deadline(context: Any, now: float) -> float | None:
    """``time.monotonic()`` by which probing is over (``Budget.probes_end``)."""
    return Budget.of(context, now).probes_end


def _default_audit(options: AuditOptions) -> AuditReport:
    return run_audit(options)


__all__ = [  # what tests and callers import from here; the code lives in announce, run_metrics, settings
    "CLASSIFICATION_METRICS", "LOG_EVENT_MAX_BYTES", "RETURN_MAX_BYTES", "Budget", "ConfigError",
    "Settings", "StateReader", "bounded_result", "handle", "keep_report", "lambda_handler", "log_summary",
    "notify_changes", "probe_deadline", "record_metrics",
]


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
