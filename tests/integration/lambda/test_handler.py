"""The handler end to end on moto: what reaches the SNS subscriber, what the state table keeps,
and what happens when SNS or DynamoDB fail or the event is wrong."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import pytest

from origin_auditor import handler as handler_module
from origin_auditor.audit import AuditOptions
from origin_auditor.events import EventError
from origin_auditor.handler import ConfigError, handle
from origin_auditor.model import (
    AuditReport,
    DistributionReport,
    Finding,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from origin_auditor.notify import PublishFailed
from origin_auditor.rules import Code
from origin_auditor.state import StateStore

from .conftest import Aws, Context, load_event

NOW = 1_750_000_000.0


class World:
    """A fake account for ``handle(audit=...)``: host -> (verdict, codes); records every call."""

    def __init__(self, **origins: tuple[Verdict, Sequence[Code]]) -> None:
        self.origins = dict(origins)
        self.classification = "LATENT"
        self.calls: list[AuditOptions] = []

    def __call__(self, options: AuditOptions) -> AuditReport:
        self.calls.append(options)
        results = []
        for host, (verdict, codes) in sorted(self.origins.items()):
            sev = Severity.FAIL if verdict is Verdict.FAIL else Severity.WARN
            results.append(TargetResult(
                Target(f"{host}.example.com", distribution_ids=("EDIST1",)), verdict,
                tuple(Finding(c, sev, f"{c} at {host}", hint="serve fullchain.pem") for c in codes),
                reproduce=f"openssl s_client -connect {host}.example.com:443 -showcerts"))
        failing = any(r.verdict is Verdict.FAIL for r in results)
        dist = DistributionReport("EDIST1", self.classification if failing else "HEALTHY",
                                  results=tuple(range(len(results))))
        return AuditReport("2025-06-01T12:00:00Z", tuple(results), (dist,))


def run(aws: Aws, world: World, event: dict[str, Any] | None = None, *, now: float = NOW,
        env: dict[str, str] | None = None, context: Context | None = None,
        message_max_bytes: int | None = None) -> dict[str, Any]:
    return handle(load_event("schedule.json") if event is None else event, context or Context(),
                  audit=world, sns=aws.sns, dynamodb=aws.dynamodb, s3=aws.s3, env=env or aws.env,
                  clock=lambda: now, message_max_bytes=message_max_bytes)


BROKEN = (Verdict.FAIL, [Code.CHAIN_INCOMPLETE])
FIXED = (Verdict.PASS, [])


def test_first_run_notifies_unchanged_second_run_does_not_fixed_origin_resolves(aws: Aws) -> None:
    world = World(www=BROKEN, api=FIXED)
    out = run(aws, world)
    assert out["notification"]["published"] is True
    [note] = aws.published()
    assert note["Subject"] == "[LATENT] 1 LATENT (cache is hiding it) | EDIST1"
    assert "CHAIN_INCOMPLETE" in note["Message"]  # the sqs protocol's JSON report
    assert json.loads(note["Message"])["notification"]["changes"][0]["kind"] == "new"
    assert {i["verdict"]["S"] for i in aws.state().values()} == {"fail", "pass"}

    out = run(aws, world, now=NOW + 3600)
    assert out["notification"]["published"] is False and aws.published() == []

    world.origins["www"] = FIXED
    run(aws, world, now=NOW + 7200)
    [note] = aws.published()
    assert note["Subject"] == "[RESOLVED] 1 fixed | EDIST1"
    assert {i["verdict"]["S"] for i in aws.state().values()} == {"pass"}


def test_still_failing_origin_is_reminded_after_reminder_hours(aws: Aws) -> None:
    world = World(www=BROKEN)
    env = {**aws.env, "REMINDER_HOURS": "6"}
    run(aws, world, env=env)
    aws.published()
    run(aws, world, now=NOW + 5 * 3600, env=env)
    assert aws.published() == []
    run(aws, world, now=NOW + 6 * 3600, env=env)
    [note] = aws.published()
    assert "still failing" in note["Subject"]


def test_failed_publish_leaves_state_unchanged_and_fails_the_invocation(aws: Aws) -> None:
    world = World(www=BROKEN, api=FIXED)
    run(aws, world)
    aws.published()
    store = StateStore(aws.table_name, aws.dynamodb)
    before = store.load()
    world.origins["api"] = BROKEN
    aws.sns.delete_topic(TopicArn=aws.topic_arn)  # a real SNS error: NotFound
    with pytest.raises(PublishFailed, match="NotFound"):
        run(aws, world, now=NOW + 60)
    # What was notified is as it was, and the claim this run took on "api" is released.
    after = store.load()
    assert after == before and all(s.claimed_by is None for s in after.values())

    # The topic comes back: the next run still reports the change that was not delivered.
    topic = aws.sns.create_topic(Name="findings")["TopicArn"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    aws.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    run(aws, world, now=NOW + 120)
    [note] = aws.published()
    changes = json.loads(note["Message"])["notification"]["changes"]
    assert [(c["kind"], c["target"]) for c in changes] == [("new", "api.example.com:443")]


def test_state_table_unavailable_still_publishes_and_says_dedup_unavailable(aws: Aws) -> None:
    world = World(www=BROKEN)
    out = run(aws, world, env={**aws.env, "STATE_TABLE_NAME": "no-such-table"})
    assert out["notification"]["published"] is True
    assert out["notification"]["dedup_available"] is False
    assert "ResourceNotFoundException" in out["notification"]["dedup_error"]
    [note] = aws.published()
    assert json.loads(note["Message"])["notification"]["dedup_available"] is False
    # Published but the table is still missing: not remembered, so the next run repeats it.
    assert out["notification"]["state_saved"] is False


def test_manual_event_returns_the_report_without_publishing(aws: Aws) -> None:
    world = World(www=BROKEN)
    out = run(aws, world, load_event("manual.json"))
    assert out["schema"] == "origin-auditor/1" and out["results"][0]["verdict"] == "fail"
    assert out["notification"] == {"requested": False, "published": False}
    assert world.calls[0].distribution_ids == ("E2EXAMPLE1ABCD",)
    assert world.calls[0].lookback.total_seconds() == 180 * 60 and world.calls[0].timeout == 10
    assert aws.published() == [] and aws.state() == {}


@pytest.mark.parametrize("name, ids", [
    ("schedule.json", ()), ("scheduled-rule.json", ()), ("alarm.json", ("E2EXAMPLE1ABCD",)),
    ("cloudtrail-update.json", ("E2EXAMPLE1ABCD",)), ("cloudtrail-create.json", ("E3NEWEXAMPLE99",)),
])
def test_each_sample_event_audits_its_scope_and_notifies(aws: Aws, name: str, ids: tuple[str, ...]) -> None:
    world = World(www=BROKEN)
    run(aws, world, load_event(name))
    assert world.calls[0].distribution_ids == ids
    [note] = aws.published()
    assert note["Subject"].startswith("[LATENT]")


def test_alarm_context_is_in_the_notification(aws: Aws) -> None:
    world = World(www=BROKEN)
    world.classification = "OUTAGE"
    out = run(aws, world, load_event("alarm.json"))
    assert out["notification"]["classification"] == "OUTAGE"
    sent = aws.published()[0]
    assert sent["Subject"].startswith("[OUTAGE]")
    # The sqs payload is the JSON report; the email/default text carries the alarm: check it via
    # the same message built for the email protocol.
    from origin_auditor.events import parse_event
    from origin_auditor.notify import build_message, plan_changes
    req = parse_event(load_event("alarm.json"))
    rep = world(AuditOptions())
    msg = build_message(rep, plan_changes(rep, {}, now=NOW), alarm=req.alarm)
    assert msg is not None and "CloudWatch alarm 'www-5xx-high' (OK -> ALARM, 5xxErrorRate)" in \
        msg.structure["email"]


@pytest.mark.parametrize("event, needle", [
    ({"distribution_ids": "E1", "notfy": True}, "unknown key(s) 'notfy'"),
    ({"timeout": "10"}, "timeout must be a number of seconds, got string '10'"),
    ({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"}, "unrecognised event"),
])
def test_bad_events_fail_with_the_problem_and_nothing_is_audited_or_sent(
        aws: Aws, event: dict[str, Any], needle: str) -> None:
    world = World(www=BROKEN)
    with pytest.raises(EventError) as err:
        run(aws, world, event)
    assert needle in str(err.value)
    assert world.calls == [] and aws.published() == [] and aws.state() == {}


def test_notify_without_a_topic_is_a_configuration_error_before_auditing(aws: Aws) -> None:
    world = World(www=BROKEN)
    with pytest.raises(ConfigError, match="FINDINGS_TOPIC_ARN"):
        run(aws, world, env={"STATE_TABLE_NAME": aws.table_name})
    assert world.calls == []


def test_probe_and_metrics_deadlines_leave_the_reserve_before_the_lambda_timeout(aws: Aws) -> None:
    world = World(www=BROKEN)
    before = time.monotonic()
    run(aws, world, context=Context(remaining_ms=300_000))
    probes_end, metrics_end = world.calls[0].deadline, world.calls[0].metrics_deadline
    assert probes_end is not None and metrics_end is not None
    # 300 s left: probing is over RESERVE_SECONDS before the end (judging, metrics, publish and
    # a margin), the CloudWatch reads the publish budget and the margin before it.
    reserve = handler_module.RESERVE_SECONDS
    assert reserve == (handler_module.JUDGE_BUDGET_SECONDS + handler_module.METRICS_BUDGET_SECONDS
                       + handler_module.PUBLISH_BUDGET_SECONDS + handler_module.SAFETY_SECONDS)
    assert before + 300 - reserve - 5 <= probes_end <= time.monotonic() + 300 - reserve
    tail = handler_module.PUBLISH_BUDGET_SECONDS + handler_module.SAFETY_SECONDS
    assert before + 300 - tail - 5 <= metrics_end <= time.monotonic() + 300 - tail
    run(aws, world, context=Context(remaining_ms=30_000))
    late = world.calls[1].deadline
    assert late is not None and late <= time.monotonic()  # too little time: probe nothing
    assert world.calls[1].metrics_deadline is not None and world.calls[1].metrics_deadline >= late


def test_without_a_lambda_context_nothing_is_bounded() -> None:
    budget = handler_module.Budget.of(object(), time.monotonic())
    assert (budget.probes_end, budget.metrics_end) == (None, None)


def test_role_from_environment_unless_the_event_names_one(aws: Aws) -> None:
    world = World(www=FIXED)
    env = {**aws.env, "AUDIT_ROLE_ARN": "arn:aws:iam::111111111111:role/env"}
    run(aws, world, {"role_arn": "arn:aws:iam::222222222222:role/event"}, env=env)
    run(aws, world, {}, env=env)
    assert [c.role_arn for c in world.calls] == ["arn:aws:iam::222222222222:role/event",
                                                  "arn:aws:iam::111111111111:role/env"]


def test_addresses_are_opened_only_by_the_functions_environment(aws: Aws) -> None:
    # Issue 9 §4: CloudFront cannot reach loopback/private/link-local answers, so by default the
    # audit never connects there; a lab deployment opens ranges in its environment, never by event.
    import ipaddress

    world = World(www=FIXED)
    run(aws, world, {})
    run(aws, world, {}, env={**aws.env, "ORIGIN_AUDITOR_ALLOW_ADDRESSES": "127.0.0.0/8,::1/128"})
    assert [c.allow_addresses for c in world.calls] == [
        (), (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))]
    with pytest.raises(EventError, match="allow_addresses"):
        run(aws, world, {"allow_addresses": "0.0.0.0/0"})


def test_a_bad_cidr_in_the_environment_is_a_configuration_error_before_auditing(aws: Aws) -> None:
    world = World(www=BROKEN)
    with pytest.raises(ConfigError) as e:
        run(aws, world, env={**aws.env, "ORIGIN_AUDITOR_ALLOW_ADDRESSES": "169.254.169.254/16"})
    assert str(e.value) == ("invalid environment: ORIGIN_AUDITOR_ALLOW_ADDRESSES '169.254.169.254/16' has "
                            "host bits set (the network is 169.254.0.0/16)")
    assert world.calls == []


def test_issuer_fetching_is_on_by_default_and_the_environment_turns_it_off(aws: Aws) -> None:
    # Issue 10 §3: the Lambda fetches missing issuers to diagnose unless ORIGIN_AUDITOR_FETCH=off;
    # a word it does not know is a configuration error before anything is audited.
    world = World(www=FIXED)
    run(aws, world, {})
    run(aws, world, {}, env={**aws.env, "ORIGIN_AUDITOR_FETCH": "off"})
    assert [c.fetch_issuers for c in world.calls] == [True, False]
    with pytest.raises(ConfigError, match="ORIGIN_AUDITOR_FETCH must be on or off, got 'sometimes'"):
        run(aws, world, env={**aws.env, "ORIGIN_AUDITOR_FETCH": "sometimes"})
