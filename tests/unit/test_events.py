"""Event recognition: each sample in events/ is recognised, anything else is a listed error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from origin_auditor.events import EventError, parse_event

EVENTS = Path(__file__).resolve().parents[2] / "events"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def test_every_sample_event_is_recognised() -> None:
    kinds = {p.name: parse_event(json.loads(p.read_text())).kind for p in sorted(EVENTS.glob("*.json"))}
    assert kinds == {"alarm.json": "alarm", "cloudtrail-create.json": "cloudtrail",
                     "cloudtrail-update.json": "cloudtrail", "manual.json": "manual",
                     "schedule.json": "schedule", "scheduled-rule.json": "schedule"}


def test_schedules_audit_the_whole_account_and_notify() -> None:
    for name in ("schedule.json", "scheduled-rule.json"):
        req = parse_event(sample(name))
        assert req.whole_account and req.notify
    assert parse_event(sample("schedule.json")).correlation_id == "d3b07384-d113-4ec6-a1b2-6f1c2e9a8b7c"


def test_alarm_audits_its_distribution_and_keeps_the_alarm_context() -> None:
    req = parse_event(sample("alarm.json"))
    assert req.distribution_ids == ("E2EXAMPLE1ABCD",)
    assert req.alarm is not None
    assert (req.alarm.name, req.alarm.state, req.alarm.previous_state, req.alarm.metric) == \
        ("www-5xx-high", "ALARM", "OK", "5xxErrorRate")
    assert "Threshold Crossed" in req.alarm.reason


def test_metric_math_alarm_audits_every_cloudfront_distribution_it_watches() -> None:
    event = sample("alarm.json")
    metrics = event["detail"]["configuration"]["metrics"]
    second = json.loads(json.dumps(metrics[0]))
    second["metricStat"]["metric"]["dimensions"]["DistributionId"] = "E9OTHER"
    metrics += [second, {"id": "e1", "expression": "m1+m2", "returnData": True}]
    assert parse_event(event).distribution_ids == ("E2EXAMPLE1ABCD", "E9OTHER")


def test_alarm_on_another_namespace_is_an_error_naming_the_alarm() -> None:
    event = sample("alarm.json")
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["namespace"] = "AWS/EC2"
    with pytest.raises(EventError, match="www-5xx-high"):
        parse_event(event)


def test_cloudtrail_update_and_create_give_the_changed_distribution() -> None:
    upd = parse_event(sample("cloudtrail-update.json"))
    assert upd.distribution_ids == ("E2EXAMPLE1ABCD",)
    assert upd.change is not None and upd.change.event_name == "UpdateDistribution"
    assert upd.change.actor == "arn:aws:sts::123456789012:assumed-role/deployer/ci"
    assert parse_event(sample("cloudtrail-create.json")).distribution_ids == ("E3NEWEXAMPLE99",)


def test_cloudtrail_falls_back_to_request_parameters_id() -> None:
    event = sample("cloudtrail-update.json")
    event["detail"]["responseElements"] = None
    assert parse_event(event).distribution_ids == ("E2EXAMPLE1ABCD",)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.update(eventName="GetDistribution2020_05_31"), "not a CloudFront distribution change"),
    (lambda d: d.update(errorCode="AccessDenied"), "AccessDenied"),
    (lambda d: d.update(responseElements=None, requestParameters={}), "distribution id"),
])
def test_cloudtrail_events_that_change_nothing_are_errors(mutate: Any, expected: str) -> None:
    event = sample("cloudtrail-update.json")
    mutate(event["detail"])
    with pytest.raises(EventError, match=expected):
        parse_event(event)


def test_manual_event_options_are_read() -> None:
    req = parse_event({"distribution_ids": ["EABC", "EABC", "EDEF"], "notify": True, "lookback_minutes": 60,
                       "timeout": 2.5, "warn_days": 14, "concurrency": 8,
                       "role_arn": "arn:aws:iam::123456789012:role/auditor"})
    assert (req.kind, req.distribution_ids, req.notify, req.lookback_minutes, req.timeout, req.warn_days,
            req.concurrency, req.role_arn) == \
        ("manual", ("EABC", "EDEF"), True, 60, 2.5, 14, 8, "arn:aws:iam::123456789012:role/auditor")


def test_empty_manual_event_audits_everything_without_notifying() -> None:
    req = parse_event({})
    assert req.whole_account and not req.notify


def test_bad_manual_event_lists_every_problem() -> None:
    with pytest.raises(EventError) as err:
        parse_event({"distribution_id": "E1", "notify": "yes", "lookback_minutes": True, "timeout": 0,
                     "concurrency": 1000, "role_arn": "admin"})
    problems = err.value.problems
    assert len(problems) == 6, problems
    text = str(err.value)
    for needle in ("unknown key(s) 'distribution_id'", "notify must be true or false, got string 'yes'",
                   "lookback_minutes must be an integer, got boolean",
                   "timeout must be between 0.5 and 60 seconds, got 0",
                   "concurrency must be between 1 and 256, got 1000", "role_arn must be an IAM role ARN"):
        assert needle in text
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("ids, needle", [
    ("E1", "must be a list of strings, got string"),
    (["e-lower"], "not 'e-lower'"),
    ([1], "not 1"),
])
def test_distribution_ids_must_be_a_list_of_ids(ids: object, needle: str) -> None:
    with pytest.raises(EventError, match=needle):
        parse_event({"distribution_ids": ids})


@pytest.mark.parametrize("event, needle", [
    ([], "expected a JSON object, got list"),
    ("audit", "expected a JSON object, got string"),
    ({"source": "aws.s3", "detail-type": "Object Created"}, "'aws.s3'"),
    ({"Records": [{"eventSource": "aws:sqs"}]}, "Records"),
])
def test_unrecognised_events_are_errors(event: object, needle: str) -> None:
    with pytest.raises(EventError, match="unrecognised event") as err:
        parse_event(event)
    assert needle in str(err.value)
