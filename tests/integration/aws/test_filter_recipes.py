"""Issue 11: the README's subscription filter recipes work, on real messages (moto).

Each message is ``MessageStructure=json`` (one string per protocol). AWS documents that message
attributes are delivered only with String message structure and does not document attribute
filter policies for JSON-structured messages, so the recipes filter on the message body
(``FilterPolicyScope: MessageBody``) and the auditor publishes its filter keys beside the
protocols in that body (SNS ignores keys that are not protocols when delivering). Here every
recipe in the README gets an SQS queue subscribed with it; messages made by ``build_message``
are published, and each queue must hold exactly the messages the recipe promises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from origin_auditor import aws as aws_module
from origin_auditor.model import (
    AuditReport,
    DistributionReport,
    Finding,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from origin_auditor.notify import build_message, plan_changes
from origin_auditor.rules import Code

ROOT = Path(__file__).resolve().parents[3]
NOW = 1_750_000_000.0
REGION = "us-east-1"


def readme_recipes() -> dict[str, tuple[str, dict[str, Any]]]:
    """The README's recipes: what the subscriber wants -> (scope, policy)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- filter-recipes:start -->")[1].split("<!-- filter-recipes:end -->")[0]
    rows = re.findall(r"^\| (.+?) \| `(\w+)` \| `(\{.*\})` \|$", block, flags=re.M)
    return {want: (scope, json.loads(policy)) for want, scope, policy in rows}


def _report(origins: Sequence[tuple[str, Verdict, Code | None, str]]) -> AuditReport:
    """(host, verdict, code, classification of its own distribution) per origin."""
    results, dists = [], []
    for i, (host, verdict, code, cls) in enumerate(origins):
        sev = Severity.FAIL if verdict is Verdict.FAIL else Severity.WARN
        findings = (Finding(code, sev, f"{code} on {host}", "fix it"),) if code else ()
        results.append(TargetResult(Target(host, distribution_ids=(f"E{i}",)), verdict, findings,
                                    reproduce=f"openssl s_client -connect {host}:443"))
        dists.append(DistributionReport(f"E{i}", cls, aliases=(f"site{i}.example.com",), results=(i,)))
    return AuditReport("2025-06-01T12:00:00Z", tuple(results), tuple(dists), account="123456789012")


def _messages() -> dict[str, dict[str, Any]]:
    """Four messages as the handler would publish them, by name."""
    incident = _report([("api.test", Verdict.FAIL, Code.CHAIN_WRONG_ORDER, "OUTAGE"),
                        ("shop.test", Verdict.FAIL, Code.CHAIN_INCOMPLETE, "LATENT"),
                        ("img.test", Verdict.WARN, Code.CERT_EXPIRING_SOON, "AT_RISK")])
    at_risk = _report([("img.test", Verdict.WARN, Code.CERT_EXPIRING_SOON, "AT_RISK")])
    latent = _report([("shop.test", Verdict.FAIL, Code.CHAIN_INCOMPLETE, "LATENT")])
    fixed = _report([("shop.test", Verdict.PASS, None, "HEALTHY")])
    latent_state = {s.key: s for s in plan_changes(latent, {}, now=NOW).states}
    plans = {
        "incident": (incident, plan_changes(incident, {}, now=NOW)),
        "at_risk": (at_risk, plan_changes(at_risk, {}, now=NOW)),
        "reminder": (latent, plan_changes(latent, latent_state, now=NOW + 25 * 3600)),
        "resolution": (fixed, plan_changes(fixed, latent_state, now=NOW + 60)),
    }
    out = {}
    for name, (rep, plan) in plans.items():
        assert plan.changes, name
        msg = build_message(rep, plan)
        assert msg is not None
        out[name] = msg.publish_kwargs("")
    return out


# What each README recipe must deliver (the README and this table must list the same recipes).
EXPECTED = {
    '{"severity": ["fail"]}': {"incident", "reminder"},
    '{"classifications": ["OUTAGE", "LATENT"]}': {"incident", "reminder"},
    '{"event": ["change"]}': {"incident", "at_risk"},
    '{"codes": ["CHAIN_INCOMPLETE"]}': {"incident", "reminder"},
}


def test_the_readme_lists_the_tested_recipes() -> None:
    recipes = readme_recipes()
    assert {json.dumps(policy) for _, policy in recipes.values()} == set(EXPECTED)
    assert {scope for scope, _ in recipes.values()} == {"MessageBody"}


def test_each_readme_recipe_delivers_exactly_what_it_promises() -> None:
    messages = _messages()
    subjects = {kwargs["Subject"]: name for name, kwargs in messages.items()}
    assert len(subjects) == len(messages)  # each message told apart by its subject
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="findings")["TopicArn"]
        queues: dict[str, str] = {}
        for i, (scope, policy) in enumerate([(None, None), *readme_recipes().values()]):
            url = sqs.create_queue(QueueName=f"q{i}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"]
            attrs = {} if policy is None else {"FilterPolicy": json.dumps(policy), "FilterPolicyScope": scope}
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attrs)
            queues["everything" if policy is None else json.dumps(policy)] = url
        for kwargs in messages.values():
            sns.publish(**{**kwargs, "TopicArn": topic})
        received: dict[str, set[str]] = {}
        for key, url in queues.items():
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            envelopes = [json.loads(m["Body"]) for m in got]
            received[key] = {subjects[e["Subject"]] for e in envelopes}
            for e in envelopes:  # the sqs protocol's payload, never the filter keys' body
                assert json.loads(e["Message"])["schema"] == "origin-auditor/1"
    assert received == {"everything": set(messages), **EXPECTED}


def test_the_account_comes_from_sts_when_the_audit_makes_its_own_session() -> None:
    with mock_aws():
        assert aws_module.caller_account(boto3.Session(region_name=REGION)) == "123456789012"
