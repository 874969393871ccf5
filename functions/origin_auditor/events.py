"""Recognise and validate the events the Lambda accepts, turning each into an ``AuditRequest``.

Pure: no I/O, no clock. Anything not recognised, or a manual event that is malformed, raises
``EventError`` listing *every* problem, before anything is audited or sent.

Recognised events (samples in ``events/``):

* **EventBridge Scheduler** (``events/schedule.json``): the template's schedule sends
  ``{"source": "origin-auditor.scheduler", "detail-type": "Scheduled Audit", ...}`` with the
  Scheduler context attributes (schedule ARN, scheduled time, execution id). Whole account, notify.
* **Classic scheduled rule** (``events/scheduled-rule.json``): ``"source": "aws.events"``,
  ``"detail-type": "Scheduled Event"``. Whole account, notify.
* **CloudWatch Alarm State Change** (``events/alarm.json``) for an alarm on an ``AWS/CloudFront``
  metric: the ``DistributionId`` dimensions of the alarm's metrics (metric-math alarms may have
  several) are audited at once and the alarm's context goes into the notification.

  - *Into ALARM*: audit, notify what changed.
  - *Back to OK from ALARM* (``events/alarm-ok.json``): audit again to **confirm**. The
    notification says it is a re-audit after the recovery; an origin is announced resolved only
    if this audit saw it pass (the state table's usual rule), and one still failing stays
    failing, announced again only when its reminder is due. A recovered 5xx rate proves nothing
    about TLS: a cache can hide a broken origin (LATENT). OK after anything else (a new alarm
    leaving INSUFFICIENT_DATA) recovers nothing and is ignored.
  - *No distribution* (``events/alarm-functions.json``): CloudFront Functions metrics
    (``FunctionName`` dimension) and other ``AWS/CloudFront`` metrics without a
    ``DistributionId`` name no distribution. The template's rule does not route them; if one
    arrives anyway it is ignored (``AuditRequest.ignored``: a clean return, not a failed
    invocation that Lambda would retry twice into the failure queue).
* **CloudTrail via EventBridge** (``events/cloudtrail-update.json``, ``cloudtrail-create.json``,
  ``cloudtrail-tenant-update.json``): ``"detail-type": "AWS API Call via CloudTrail"``,
  ``eventSource`` ``cloudfront.amazonaws.com``, ``eventName`` one of
  ``DISTRIBUTION_CHANGE_EVENTS`` (CloudTrail has appended the API version in some years, e.g.
  ``UpdateDistribution2020_05_31``; the template's rule matches both forms of exactly these
  names, and a test holds the two lists equal). The id comes from
  ``responseElements.distribution.id`` or else ``requestParameters.id``.
  Distribution-tenant changes (``TENANT_CHANGE_EVENTS``) are audited too: a tenant's domains
  are the names sent when Host is forwarded and its parameters can set an origin's domain, so
  the multi-tenant distribution is audited, its id read from
  ``responseElements.distributionTenant.distributionId`` or else
  ``requestParameters.distributionId`` (``requestParameters.id`` is the tenant's ``dt_...``
  id). A tenant event naming no distribution is ignored; the next scheduled audit covers it.
* **Manual invoke** (``events/manual.json``; ``aws lambda invoke`` during an incident): a JSON
  object with neither ``source`` nor ``detail-type``. Every key is optional; unknown keys are
  errors (a typo must not silently widen an audit to the whole account):

  ==================  ==============  =========================================================
  key                 type            meaning (default)
  ==================  ==============  =========================================================
  distribution_ids    list of str     distributions to audit, at most
                                      ``options.MAX_DISTRIBUTION_IDS`` (all in the account)
  notify              bool            publish what changed to SNS and update state (false)
  lookback_minutes    int             CloudWatch window for the classification
  timeout             number          per-connection timeout in seconds
  warn_days           int             expiry warning horizon in days
  concurrency         int             parallel probes
  role_arn            str (IAM ARN)   role to assume for the audited account (env AUDIT_ROLE_ARN)
  ==================  ==============  =========================================================

  The four numbers take the CLI's limits and defaults, with the same words for a value outside
  them: both read ``options`` (README: "Option limits"). The report is returned synchronously
  whatever ``notify`` says.

An event the Lambda recognises but that asks for nothing (above: a CloudFront alarm without a
distribution, a tenant change without one, OK after INSUFFICIENT_DATA) is an ``AuditRequest``
with ``ignored`` set: the handler logs it and returns without auditing. Only what the template
can never route, or a malformed manual event, is an ``EventError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .options import (
    CONCURRENCY,
    LOOKBACK,
    TIMEOUT,
    WARN_DAYS,
    DurationLimit,
    Limit,
    N,
    OptionError,
    check_distribution_count,
    json_type_name,
    short_repr,
)

Kind = Literal["schedule", "manual", "alarm", "cloudtrail", "ignored"]

SCHEDULER_SOURCE = "origin-auditor.scheduler"
SCHEDULER_DETAIL_TYPE = "Scheduled Audit"

DEFAULT_LOOKBACK_MINUTES = int(LOOKBACK.default.total_seconds() // 60)

# CloudFront distribution ids are upper-case alphanumerics (E2QWRUHAPOMQZL); the API accepts
# nothing else, so anything else is a typo worth rejecting before the audit starts.
_DISTRIBUTION_ID = re.compile(r"^[A-Z0-9]{1,32}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
# CloudTrail names CloudFront calls with the API version appended.
_API_VERSION_SUFFIX = re.compile(r"\d{4}_\d{2}_\d{2}$")
# Tenant changes of a multi-tenant distribution: domains (sent as SNI when Host is forwarded)
# and parameters (which can fill in an origin's domain name).
TENANT_CHANGE_EVENTS: tuple[str, ...] = ("CreateDistributionTenant", "UpdateDistributionTenant")
# The one list: template.yaml's DistributionChange rule matches exactly these names (and each
# with an API-version suffix); tests/unit/test_template.py holds the two equal.
DISTRIBUTION_CHANGE_EVENTS: tuple[str, ...] = (
    "CreateDistribution", "CreateDistributionWithTags", "CopyDistribution",
    "UpdateDistribution", "UpdateDistributionWithStagingConfig", *TENANT_CHANGE_EVENTS,
)


class EventError(ValueError):
    """The event is not one the Lambda accepts, or is malformed. ``problems`` lists each issue."""

    def __init__(self, summary: str, problems: list[str] | tuple[str, ...] = ()) -> None:
        self.summary = summary
        self.problems = tuple(problems)
        text = summary if not self.problems else f"{summary}: " + "; ".join(self.problems)
        super().__init__(text)


@dataclass(frozen=True)
class AlarmContext:
    """The CloudWatch alarm that triggered the audit, for the notification.

    name: alarm name. state / previous_state: e.g. ALARM / OK. reason: CloudWatch's reason text.
    metric: the metric name(s) the alarm watches. time: the state change timestamp (ISO-8601).
    arn: the alarm ARN (``resources[0]``), or None.
    """

    name: str
    state: str
    previous_state: str | None
    reason: str
    metric: str
    time: str | None
    arn: str | None

    @property
    def recovered(self) -> bool:
        """The alarm returned to OK: the audit re-checks to confirm (see the module docstring)."""
        return self.state == "OK"


@dataclass(frozen=True)
class ChangeContext:
    """The CloudFront API call that triggered the audit.

    event_name: e.g. UpdateDistribution (API version suffix removed). actor: the caller's ARN or
    None. time: CloudTrail eventTime or None.
    """

    event_name: str
    actor: str | None
    time: str | None


@dataclass(frozen=True)
class AuditRequest:
    """What one invocation is asked to do.

    kind: which event shape it came from.
    distribution_ids: distributions to audit; empty = every distribution in the account.
    notify: publish changes to SNS and advance the state table.
    lookback_minutes / timeout / warn_days / concurrency: audit options (see module docstring).
    role_arn: role to assume for the audited account, or None (env AUDIT_ROLE_ARN then applies).
    correlation_id: the event id when the event has one, for log correlation.
    alarm / change: the triggering alarm or API call, for the notification; None otherwise.
    ignored: why this recognised event asks for nothing (kind ``ignored``): audit nothing,
        publish nothing, return cleanly. None for every event that asks for an audit.
    """

    kind: Kind
    distribution_ids: tuple[str, ...] = ()
    notify: bool = True
    lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES
    timeout: float = TIMEOUT.default
    warn_days: int = WARN_DAYS.default
    concurrency: int = CONCURRENCY.default
    role_arn: str | None = None
    correlation_id: str | None = None
    alarm: AlarmContext | None = None
    change: ChangeContext | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    ignored: str | None = None

    @property
    def whole_account(self) -> bool:
        return not self.distribution_ids


def parse_event(event: object) -> AuditRequest:
    """Recognise ``event`` and return what to do, or raise ``EventError`` saying why not."""
    if not isinstance(event, Mapping):
        raise EventError("unrecognised event", [f"expected a JSON object, got {json_type_name(event)}"])
    source = event.get("source")
    detail_type = event.get("detail-type")
    if source is None and detail_type is None:
        if "Records" in event:
            raise EventError("unrecognised event",
                             ["a 'Records' batch (SQS/SNS/S3) is not an event this function handles"])
        return _manual(event)
    event_id = event.get("id") if isinstance(event.get("id"), str) else None
    if source == SCHEDULER_SOURCE and detail_type == SCHEDULER_DETAIL_TYPE:
        extra = {k: v for k, v in event.items() if k in ("schedule_arn", "scheduled_time", "execution_id")
                 and isinstance(v, str)}
        return AuditRequest(kind="schedule", correlation_id=extra.get("execution_id") or event_id,
                            extra=extra)
    if source == "aws.events" and detail_type == "Scheduled Event":
        return AuditRequest(kind="schedule", correlation_id=event_id)
    if source == "aws.cloudwatch" and detail_type == "CloudWatch Alarm State Change":
        return _alarm(event, event_id)
    if detail_type == "AWS API Call via CloudTrail" and source == "aws.cloudfront":
        return _cloudtrail(event, event_id)
    raise EventError("unrecognised event",
                     [f"source {source!r} with detail-type {detail_type!r} is not handled; expected a "
                      "schedule, a CloudWatch alarm on AWS/CloudFront, a CloudTrail CloudFront "
                      "distribution change, or a manual event without 'source'"])


_MANUAL_KEYS = ("distribution_ids", "notify", LOOKBACK.key, TIMEOUT.key, WARN_DAYS.key,
                CONCURRENCY.key, "role_arn")


def _manual(event: Mapping[str, Any]) -> AuditRequest:
    problems: list[str] = []
    unknown = sorted(str(k) for k in event if k not in _MANUAL_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(repr(k) for k in unknown)}; "
                        f"allowed: {', '.join(_MANUAL_KEYS)}")

    ids: tuple[str, ...] = ()
    raw_ids = event.get("distribution_ids", [])
    if not isinstance(raw_ids, list):
        problems.append(f"distribution_ids must be a list of strings, got {json_type_name(raw_ids)}")
    else:
        bad = [i for i in raw_ids if not isinstance(i, str) or not _DISTRIBUTION_ID.match(i)]
        if bad:
            problems.append("distribution_ids must be CloudFront distribution ids (A-Z, 0-9), "
                            f"not {', '.join(short_repr(b) for b in bad[:5])}")
        else:
            ids = tuple(dict.fromkeys(raw_ids))  # dedupe, keep order
            try:
                check_distribution_count(len(ids))
            except OptionError as e:
                problems.append(f"distribution_ids {e.problem}")
                ids = ()

    notify = event.get("notify", False)
    if not isinstance(notify, bool):
        problems.append(f"notify must be true or false, got {json_type_name(notify)}")
        notify = False

    lookback = _lookback(event, LOOKBACK, problems)
    warn_days = _limited(event, WARN_DAYS, problems)
    concurrency = _limited(event, CONCURRENCY, problems)
    timeout = _limited(event, TIMEOUT, problems)

    role_arn = event.get("role_arn")
    if role_arn is not None and (not isinstance(role_arn, str) or not _ROLE_ARN.match(role_arn)):
        problems.append(f"role_arn must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME), "
                        f"got {short_repr(role_arn)}")
        role_arn = None

    if problems:
        raise EventError("invalid manual event", problems)
    return AuditRequest(kind="manual", distribution_ids=ids, notify=notify, lookback_minutes=lookback,
                        timeout=timeout, warn_days=warn_days, concurrency=concurrency,
                        role_arn=role_arn)


def _alarm(event: Mapping[str, Any], event_id: str | None) -> AuditRequest:
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise EventError("invalid CloudWatch alarm event", ["'detail' is missing or not an object"])
    config = detail.get("configuration")
    metrics = config.get("metrics") if isinstance(config, Mapping) else None
    ids: list[str] = []
    names: list[str] = []
    cloudfront = False
    for m in metrics if isinstance(metrics, list) else []:
        stat = m.get("metricStat") if isinstance(m, Mapping) else None
        metric = stat.get("metric") if isinstance(stat, Mapping) else None
        if not isinstance(metric, Mapping) or metric.get("namespace") != "AWS/CloudFront":
            continue
        cloudfront = True
        dims = metric.get("dimensions")
        dist = dims.get("DistributionId") if isinstance(dims, Mapping) else None
        if isinstance(dist, str) and _DISTRIBUTION_ID.match(dist) and dist not in ids:
            ids.append(dist)
            names.append(str(metric.get("name", "?")))
    alarm_name = detail.get("alarmName")
    if not cloudfront:
        raise EventError("CloudWatch alarm event without a CloudFront metric",
                         [f"alarm {short_repr(alarm_name)} has no AWS/CloudFront metric in "
                          "detail.configuration.metrics"])
    if not ids:
        # CloudFront Functions metrics (FunctionName dimension) and the like: no distribution to
        # audit. Not an error: a failed invocation would be retried twice into the failure queue.
        return AuditRequest(kind="ignored", correlation_id=event_id,
                            ignored=f"alarm {short_repr(alarm_name)} watches AWS/CloudFront metrics "
                                    "without a DistributionId dimension (e.g. CloudFront Functions): "
                                    "no distribution to audit")
    state = _mapping(detail.get("state"))
    previous = _mapping(detail.get("previousState"))
    if state.get("value") == "OK" and previous.get("value") != "ALARM":
        return AuditRequest(kind="ignored", correlation_id=event_id,
                            ignored=f"alarm {short_repr(alarm_name)} went to OK from "
                                    f"{short_repr(previous.get('value'))}, not from ALARM: nothing recovered")
    resources = event.get("resources")
    arn = resources[0] if isinstance(resources, list) and resources and isinstance(resources[0], str) \
        else None
    alarm = AlarmContext(
        name=str(alarm_name or "?"),
        state=str(state.get("value", "?")),
        previous_state=str(previous["value"]) if "value" in previous else None,
        reason=str(state.get("reason", "")),
        metric=", ".join(dict.fromkeys(names)),
        time=str(state["timestamp"]) if "timestamp" in state else _str_or_none(event.get("time")),
        arn=arn,
    )
    return AuditRequest(kind="alarm", distribution_ids=tuple(ids), correlation_id=event_id, alarm=alarm)


def _cloudtrail(event: Mapping[str, Any], event_id: str | None) -> AuditRequest:
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise EventError("invalid CloudTrail event", ["'detail' is missing or not an object"])
    name = _API_VERSION_SUFFIX.sub("", str(detail.get("eventName", "")))
    if detail.get("eventSource") != "cloudfront.amazonaws.com" or name not in DISTRIBUTION_CHANGE_EVENTS:
        raise EventError("unrecognised CloudTrail event",
                         [f"{detail.get('eventSource')!r} {detail.get('eventName')!r} is not a "
                          "CloudFront distribution change "
                          f"({', '.join(sorted(DISTRIBUTION_CHANGE_EVENTS))})"])
    if detail.get("errorCode"):
        raise EventError("CloudTrail event for a failed call",
                         [f"{name} failed with {detail.get('errorCode')!r}; nothing changed to audit"])
    identity = detail.get("userIdentity")
    actor = _str_or_none(identity.get("arn")) if isinstance(identity, Mapping) else None
    change = ChangeContext(event_name=name, actor=actor, time=_str_or_none(detail.get("eventTime")))
    response = _mapping(detail.get("responseElements"))
    request = _mapping(detail.get("requestParameters"))
    if name in TENANT_CHANGE_EVENTS:
        dist_id = _mapping(response.get("distributionTenant")).get("distributionId") \
            or request.get("distributionId")
        if not isinstance(dist_id, str) or not _DISTRIBUTION_ID.match(dist_id):
            return AuditRequest(kind="ignored", correlation_id=event_id, change=change,
                                ignored=f"{name} names no distribution (got {short_repr(dist_id)}); "
                                        "the next scheduled audit covers the tenant's distribution")
    else:
        dist_id = _mapping(response.get("distribution")).get("id") or request.get("id")
        if not isinstance(dist_id, str) or not _DISTRIBUTION_ID.match(dist_id):
            raise EventError("CloudTrail event without a distribution id",
                             ["neither responseElements.distribution.id nor requestParameters.id holds "
                              f"a distribution id (got {short_repr(dist_id)})"])
    return AuditRequest(kind="cloudtrail", distribution_ids=(dist_id,), correlation_id=event_id,
                        change=change)


def _limited(event: Mapping[str, Any], limit: Limit[N], problems: list[str]) -> N:
    """The event's value for a bounded number option (its default when absent); a problem noted
    in the options model's words otherwise."""
    if limit.key not in event:
        return limit.default
    try:
        return limit.from_json(event[limit.key])
    except OptionError as e:
        problems.append(f"{limit.key} {e.problem}")
        return limit.default


def _lookback(event: Mapping[str, Any], limit: DurationLimit, problems: list[str]) -> int:
    """``lookback_minutes`` as whole minutes (``AuditRequest.lookback_minutes``)."""
    if limit.key not in event:
        return DEFAULT_LOOKBACK_MINUTES
    try:
        return int(limit.from_json(event[limit.key]).total_seconds() // 60)
    except OptionError as e:
        problems.append(f"{limit.key} {e.problem}")
        return DEFAULT_LOOKBACK_MINUTES



def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
