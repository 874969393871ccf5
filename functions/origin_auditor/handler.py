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
  REPORTS_BUCKET_NAME    S3 bucket for every run's full JSON report and its HTML page (``archive``);
                         without it the message says the report was not archived
  DAILY_DIGEST           "true": a daily list of everything not passing when nothing changed
  ORIGIN_AUDITOR_ALLOW_ADDRESSES  CIDRs probed although CloudFront cannot reach them (a lab; default
                         none). Read from the environment only, never from an event.

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
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from . import archive as archive_mod
from . import aws
from .archive import Archive, archive_report
from .assess import days_to_next_expiry, unaudited_counts
from .audit import AuditOptions, run_audit
from .events import AuditRequest, EventError, parse_event
from .model import AuditReport, Classification, Target, Verdict
from .notify import COVERAGE_KEY, DIGEST_KEY, Plan, PublishFailed, build_message, plan_changes, publish
from .options import ALLOW_ADDRESSES, Networks, OptionError
from .present.text import clip
from .report_html import render_html
from .rules import Code
from .state import CLAIM_SECONDS, StateStore, StateUnavailable, TargetState, probe_order, target_id

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

_PROBE_ERROR_CODES = frozenset({Code.DNS_RESOLUTION_FAILED, Code.CONNECT_FAILED, Code.CONNECT_TIMEOUT,
                                Code.HANDSHAKE_FAILED, Code.HANDSHAKE_TIMEOUT})

AuditFn = Callable[[AuditOptions], AuditReport]

__all__ = ["ConfigError", "EventError", "PublishFailed", "Settings", "handle", "lambda_handler"]

# CloudWatch Logs takes 256 KB per event; what the handler logs is bounded well below that (lists
# cut to _LOG_ITEMS entries, texts clipped), and a test holds every line under this bound.
LOG_EVENT_MAX_BYTES = 16_384
_LOG_ITEMS = 20
# Lambda returns at most 6 MB to a synchronous caller; above this the per-origin detail is left
# to the archived report.
RETURN_MAX_BYTES = 5_000_000

class ConfigError(ValueError):
    """The function's environment is wrong (e.g. notify requested without a topic)."""


@dataclass(frozen=True)
class Settings:
    """The function's configuration from its environment (see the module docstring).

    topic_arn / table_name / reports_bucket: None when unset. reminder_hours: > 0.
    daily_digest: bool. role_arn: default role to assume, None for the function's own account.
    allow_addresses: ranges probed although CloudFront cannot reach them (``options.ALLOW_ADDRESSES``).
    """

    topic_arn: str | None
    table_name: str | None
    reminder_hours: float = 24.0
    daily_digest: bool = False
    role_arn: str | None = None
    reports_bucket: str | None = None
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
                   role_arn=env.get("AUDIT_ROLE_ARN") or None,
                   reports_bucket=env.get(archive_mod.BUCKET_ENV) or None,
                   allow_addresses=allow)


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
    result["archive"] = _archive_outcome(archived)
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
    claimed: dict[str, TargetState] = {}
    lost: set[str] = set(plan.owned)
    if store is not None and plan.changes:
        assert previous is not None
        to_claim = [previous.get(c.key) or TargetState(c.key, "", "", (), c.display) for c in plan.changes]
        results = store.claim(to_claim, run_id=run_id, until=now + CLAIM_SECONDS)
        for s in to_claim:
            if results.get(s.key) == "claimed":
                claimed[s.key] = replace(s, version=(s.version or 0) + 1)
            elif results.get(s.key) == "owned":
                lost.add(s.key)
        plan = replace(plan, changes=tuple(c for c in plan.changes if c.key not in lost))
    archived = keep_report(report, request, settings, s3=s3, now=now, run=run or archive_mod.run_id(None),
                           plan=plan)
    budget = {} if message_max_bytes is None else {"max_bytes": message_max_bytes}
    message = build_message(report, plan, alarm=request.alarm, change=request.change, archive=archived,
                            **budget)
    outcome: dict[str, object] = {"requested": True, "published": False, "changes": len(plan.changes),
                                  "dedup_available": plan.dedup_available,
                                  "owned_by_other_runs": len(lost)}
    if reader.error:
        outcome["dedup_error"] = reader.error
    if message is not None:
        try:
            outcome["message_id"] = publish(message, settings.topic_arn, sns or _client("sns"))
        except PublishFailed:
            # The report is not lost with the failed message: it is in the archive, which the log
            # names (the report itself would be one multi-MB log line, over CloudWatch's 256 KB).
            # Keep the state as it was (the next run re-detects the same changes), release the
            # claims so that run may announce them, and fail the invocation.
            logger.exception("publish failed; state not advanced", extra={
                "report": _archive_outcome(archived), "summary": log_summary(report),
                "changes": len(plan.changes), "subject": message.subject})
            if store is not None and claimed:
                store.release(list(claimed.values()))
            raise
        outcome.update(published=True, subject=message.subject, severity=message.severity,
                       classification=message.label, bytes=message.size_bytes,
                       changes_detailed=message.included, changes_named=message.named,
                       changes_withheld=message.counted)
    # Only what the message told is remembered: a change it could only count (SNS's size limit)
    # keeps its previous state and its claim is released, so the next run reports it again.
    withheld = set(message.withheld_keys) if message is not None else set()
    if store is not None and withheld:
        store.release([claimed.pop(k) for k in sorted(withheld) if k in claimed])
    outcome["state_saved"] = _save(store, plan, previous or {}, claimed, lost | withheld, now=now) \
        if store is not None else False
    return outcome, archived


def _archive_outcome(archived: Archive | None) -> dict[str, object]:
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


# One count per classification, every run (zeros included, so a graph drops to 0 instead of
# stopping): "Distributions" + the classification in CamelCase (DistributionsOutage, ...). The
# template's dashboard and AlertingDistributionsAlarm use these names (a test holds them equal).
CLASSIFICATION_METRICS = {c: "Distributions" + "".join(w.capitalize() for w in c.value.split("_"))
                          for c in Classification}


def record_metrics(metrics: Any, report: AuditReport, seconds: float) -> None:
    """EMF metrics (namespace OriginAuditor) for the dashboard and the alarms in template.yaml.

    Origins by verdict (failing, warning, passing, not audited: the four add up to
    OriginsAudited, which counts every origin of the run), distributions by classification,
    probe errors, days to the nearest leaf certificate expiry (only when one is known) and the
    run's duration.
    """
    if metrics is None:
        return
    failing = sum(1 for r in report.results if r.verdict is Verdict.FAIL)
    warning = sum(1 for r in report.results if r.verdict is Verdict.WARN)
    not_audited = sum(unaudited_counts(report.results).values())
    passing = len(report.results) - failing - warning - not_audited
    probe_errors = sum(1 for r in report.results if any(f.code in _PROBE_ERROR_CODES for f in r.findings))
    metrics.add_metric(name="OriginsAudited", unit=MetricUnit.Count, value=len(report.results))
    metrics.add_metric(name="OriginsFailing", unit=MetricUnit.Count, value=failing)
    metrics.add_metric(name="OriginsWarning", unit=MetricUnit.Count, value=warning)
    metrics.add_metric(name="OriginsPassing", unit=MetricUnit.Count, value=passing)
    metrics.add_metric(name="OriginsNotAudited", unit=MetricUnit.Count, value=not_audited)
    metrics.add_metric(name="ProbeErrors", unit=MetricUnit.Count, value=probe_errors)
    for classification, name in CLASSIFICATION_METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count,
                           value=sum(1 for d in report.distributions if d.classification is classification))
    days = days_to_next_expiry(report)
    if days is not None:
        # Count, not a time unit: CloudWatch has no "days" unit, and the name says it.
        metrics.add_metric(name="DaysToNextCertExpiry", unit=MetricUnit.Count, value=round(days, 2))
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
