"""Event recognition: each sample in events/ is recognised, anything else is a listed error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import pytest

from origin_auditor.events import EventError, parse_event
from origin_auditor.options import MAX_DISTRIBUTION_IDS

EVENTS = Path(__file__).resolve().parents[2] / "events"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def test_every_sample_event_is_recognised() -> None:
    kinds = {p.name: parse_event(json.loads(p.read_text())).kind for p in sorted(EVENTS.glob("*.json"))}
    assert kinds == {"alarm.json": "alarm", "alarm-ok.json": "alarm", "alarm-functions.json": "ignored",
                     "cloudtrail-create.json": "cloudtrail", "cloudtrail-update.json": "cloudtrail",
                     "cloudtrail-tenant-update.json": "cloudtrail", "manual.json": "manual",
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


def test_alarm_back_to_ok_from_alarm_re_audits_its_distribution_to_confirm() -> None:
    req = parse_event(sample("alarm-ok.json"))
    assert (req.kind, req.distribution_ids, req.notify, req.ignored) == \
        ("alarm", ("E2EXAMPLE1ABCD",), True, None)
    assert req.alarm is not None and req.alarm.recovered
    assert (req.alarm.previous_state, req.alarm.state) == ("ALARM", "OK")
    assert not parse_event(sample("alarm.json")).alarm.recovered  # type: ignore[union-attr]


def test_alarm_to_ok_from_insufficient_data_recovered_nothing_and_is_ignored() -> None:
    event = sample("alarm-ok.json")
    event["detail"]["previousState"]["value"] = "INSUFFICIENT_DATA"
    req = parse_event(event)
    assert (req.kind, req.distribution_ids) == ("ignored", ())
    assert req.ignored is not None and "not from ALARM" in req.ignored


def test_cloudfront_functions_alarm_names_no_distribution_and_is_ignored_cleanly() -> None:
    req = parse_event(sample("alarm-functions.json"))
    assert (req.kind, req.distribution_ids, req.alarm) == ("ignored", (), None)
    assert req.ignored is not None and "rewrite-fn-errors" in req.ignored and "DistributionId" in req.ignored


def test_an_ignored_event_audits_and_publishes_nothing() -> None:
    from origin_auditor.handler import handle

    def audit(options: object) -> NoReturn:
        raise AssertionError("an ignored event must not audit (it would audit the whole account)")

    out = handle(sample("alarm-functions.json"), None, audit=audit, env={"FINDINGS_TOPIC_ARN": "arn:x"})
    assert out["notification"] == {"requested": False, "published": False}
    assert "DistributionId" in str(out["ignored"])


def test_tenant_update_audits_the_multi_tenant_distribution_not_the_tenant_id() -> None:
    req = parse_event(sample("cloudtrail-tenant-update.json"))
    assert (req.kind, req.distribution_ids) == ("cloudtrail", ("E1XNX8R2GOAABC",))
    assert req.change is not None and req.change.event_name == "UpdateDistributionTenant"


def test_tenant_create_falls_back_to_the_requested_distribution_id() -> None:
    event = sample("cloudtrail-tenant-update.json")
    detail = event["detail"]
    detail.update(eventName="CreateDistributionTenant2020_05_31", responseElements=None,
                  requestParameters={"distributionId": "E1XNX8R2GOAABC", "name": "shop"})
    req = parse_event(event)
    assert (req.distribution_ids, req.change.event_name) == (  # type: ignore[union-attr]
        ("E1XNX8R2GOAABC",), "CreateDistributionTenant")


def test_tenant_change_without_a_distribution_id_is_ignored_cleanly() -> None:
    event = sample("cloudtrail-tenant-update.json")
    event["detail"]["responseElements"] = None  # requestParameters.id is the tenant's dt_ id
    req = parse_event(event)
    assert (req.kind, req.distribution_ids) == ("ignored", ())
    assert "UpdateDistributionTenant names no distribution" in str(req.ignored)


def test_manual_distribution_ids_are_capped_with_a_clear_error() -> None:
    ids = [f"E{i:05d}" for i in range(MAX_DISTRIBUTION_IDS + 1)]
    assert parse_event({"distribution_ids": ids[:-1]}).distribution_ids == tuple(ids[:-1])
    # Duplicates are not distributions.
    assert parse_event({"distribution_ids": ids[:2] * 200}).distribution_ids == tuple(ids[:2])
    with pytest.raises(EventError) as err:
        parse_event({"distribution_ids": ids})
    assert err.value.problems == (
        f"distribution_ids must name at most {MAX_DISTRIBUTION_IDS} distributions, got "
        f"{MAX_DISTRIBUTION_IDS + 1}; to audit more, name none (every distribution in the account)",)


def test_cli_caps_distribution_ids_in_the_same_words() -> None:
    import io

    from origin_auditor.cli import main

    err = io.StringIO()
    argv = ["audit"] + [a for i in range(MAX_DISTRIBUTION_IDS + 1)
                        for a in ("--distribution-id", f"E{i:05d}")]
    assert main(argv, out=io.StringIO(), err=err) == 2
    assert err.getvalue() == (
        f"origin-auditor: error: --distribution-id: must name at most {MAX_DISTRIBUTION_IDS} distributions, "
        f"got {MAX_DISTRIBUTION_IDS + 1}; to audit more, name none (every distribution in the account)\n")


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


def test_alarm_recovery_message_confirms_only_what_was_seen_passing() -> None:
    from origin_auditor.model import AuditReport, DistributionReport, Finding, Severity, Target, TargetResult
    from origin_auditor.model import Verdict as V
    from origin_auditor.notify import build_message, plan_changes
    from origin_auditor.rules import Code

    def res(host: str, verdict: V) -> TargetResult:
        failing = verdict is V.FAIL
        bad = (Finding(Code.CHAIN_INCOMPLETE, Severity.FAIL, "missing intermediate"),) if failing else ()
        return TargetResult(Target(host, distribution_ids=("E2EXAMPLE1ABCD",)), verdict, bad)

    def rep(*results: TargetResult) -> AuditReport:
        dist = DistributionReport("E2EXAMPLE1ABCD", "LATENT", results=tuple(range(len(results))))
        return AuditReport("2025-06-01T12:41:00Z", results, (dist,))

    before = {s.key: s for s in plan_changes(rep(res("a.test", V.FAIL), res("b.test", V.FAIL)), {},
                                             now=1_000.0).states}
    after = rep(res("a.test", V.PASS), res("b.test", V.FAIL))
    request = parse_event(sample("alarm-ok.json"))
    plan = plan_changes(after, before, now=2_000.0)
    assert [(str(c.kind), c.display) for c in plan.changes] == [("resolved", "a.test:443")]  # b still fails
    msg = build_message(after, plan, alarm=request.alarm)
    assert msg is not None
    email = " ".join(msg.structure["email"].split())  # wrapped at 80 columns
    assert "Re-audit after CloudWatch alarm 'www-5xx-high' returned to OK (ALARM -> OK" in email
    assert "origins listed as RESOLVED were seen passing" in email
    assert "b.test" not in email
    chat = json.loads(msg.structure["https"])["content"]["description"]
    assert chat.startswith("Alarm `www-5xx-high` returned to OK: re-audited to confirm.")


def test_readme_states_the_cap_and_every_routed_cloudtrail_name() -> None:
    from origin_auditor.events import DISTRIBUTION_CHANGE_EVENTS

    readme = (EVENTS.parent / "README.md").read_text()
    assert f"One request names at most {MAX_DISTRIBUTION_IDS} distributions" in readme
    events_section = readme.split("\n### Events\n", 1)[1].split("\n### ", 1)[0]
    assert all(f"`{name}`" in events_section for name in DISTRIBUTION_CHANGE_EVENTS)
