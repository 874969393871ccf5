"""template.yaml: least-privilege IAM, and the pieces the code relies on (names, env, key schema)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from origin_auditor.archive import BUCKET_ENV, PREFIX
from origin_auditor.events import DISTRIBUTION_CHANGE_EVENTS, TENANT_CHANGE_EVENTS, EventError, parse_event

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
EVENTS = TEMPLATE.parent / "events"

# Actions whose Resource may be "*", each with the reason: these APIs have no resource-level
# permissions, or the resources are AWS-owned (managed CloudFront policies).
STAR_ALLOWED = {
    "cloudfront:ListDistributions": "no resource-level permissions",
    "cloudwatch:GetMetricData": "no resource-level permissions",
    "cloudfront:GetCachePolicy": "managed cache policies are AWS-owned, not in the account's ARN space",
    "cloudfront:GetOriginRequestPolicy": "managed origin request policies are AWS-owned",
}
# What the code calls (discover.py, correlate.py, notify/, state.py, archive.py): nothing more may
# be granted.
CODE_ACTIONS = {"cloudfront:ListDistributions", "cloudfront:GetDistribution", "cloudfront:GetCachePolicy",
                "cloudfront:GetOriginRequestPolicy", "cloudfront:GetMonitoringSubscription",
                "cloudwatch:GetMetricData", "sns:Publish", "dynamodb:BatchGetItem",
                "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                "sts:AssumeRole", "s3:PutObject"}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, !GetAtt ...) as {"Fn::X": value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    return data


def statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for res in template["Resources"].values():
        props = res.get("Properties", {})
        for policy in props.get("Policies", []) if res["Type"] == "AWS::Serverless::Function" else []:
            if isinstance(policy, dict) and "Statement" in policy:
                out += policy["Statement"]
            else:
                raise AssertionError(f"use inline statements, not SAM policy templates: {policy!r}")
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            out += props["PolicyDocument"]["Statement"]
        if res["Type"] == "AWS::IAM::Role":
            for p in props.get("Policies", []):
                out += p["PolicyDocument"]["Statement"]
    return out


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_problems(template: dict[str, Any]) -> list[str]:
    problems = []
    for st in statements(template):
        actions = as_list(st["Action"])
        if st.get("Effect") != "Allow":
            continue
        for a in actions:
            if "*" in a:
                problems.append(f"wildcard action {a}")
        for r in as_list(st["Resource"]):
            if r == "*":
                wide = [a for a in actions if a not in STAR_ALLOWED]
                if wide:
                    problems.append(f"Resource '*' for {wide}, which support resource scoping")
        if "NotAction" in st or "NotResource" in st:
            problems.append("NotAction/NotResource grants more than it says")
        if any(a.startswith("s3:") for a in actions):
            problems += s3_problems(st)
    return problems


def s3_problems(st: dict[str, Any]) -> list[str]:
    """S3 grants: only s3:PutObject, only on the reports bucket's archive prefix (archive.PREFIX),
    so the function can neither read old reports nor write anywhere else in the bucket."""
    problems = []
    extra = [a for a in as_list(st["Action"]) if a != "s3:PutObject"]
    if extra:
        problems.append(f"S3 actions beyond s3:PutObject: {extra}")
    want = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ReportsBucket}/" + PREFIX + "*"}
    for r in as_list(st["Resource"]):
        if r != want:
            problems.append(f"S3 resource {r!r} is not the archive prefix {PREFIX}*")
    return problems


def test_template_iam_has_no_wildcard_actions_or_needless_star_resources() -> None:
    assert iam_problems(load_template()) == []


def test_iam_checker_catches_s3_grants_wider_than_put_on_the_archive_prefix() -> None:
    def problems(action: Any, resource: Any) -> list[str]:
        return iam_problems({"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {
            "Policies": [{"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}]}}}})
    prefix = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ReportsBucket}/reports/*"}
    whole = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ReportsBucket}/*"}
    assert problems("s3:PutObject", prefix) == []
    assert problems("s3:PutObject", whole) == [f"S3 resource {whole!r} is not the archive prefix reports/*"]
    assert problems(["s3:PutObject", "s3:GetObject"], prefix) == [
        "S3 actions beyond s3:PutObject: ['s3:GetObject']"]


def test_reports_bucket_is_encrypted_private_expiring_and_tls_only() -> None:
    res = load_template()["Resources"]
    props = res["ReportsBucket"]["Properties"]
    [sse] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["Prefix"] == PREFIX
    assert rule["ExpirationInDays"] == {"Ref": "ReportRetentionDays"}
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    # Kept when the stack goes (the reports are the record of what was announced).
    assert res["ReportsBucket"]["DeletionPolicy"] == "Retain"
    [deny] = res["ReportsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    env = res["OriginAuditorFunction"]["Properties"]["Environment"]["Variables"]
    assert env[BUCKET_ENV] == {"Ref": "ReportsBucket"}
    puts = [st for st in statements(load_template()) if "s3:PutObject" in as_list(st["Action"])]
    assert len(puts) == 1 and s3_problems(puts[0]) == []


def test_iam_checker_catches_wildcards_and_wide_resources() -> None:
    bad = {"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": [
        {"Statement": [{"Effect": "Allow", "Action": "sns:*", "Resource": {"Ref": "T"}},
                       {"Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": "*"}]}]}}}}
    assert iam_problems(bad) == ["wildcard action sns:*",
                                 "Resource '*' for ['dynamodb:Scan'], which support resource scoping"]


def test_granted_actions_are_exactly_the_ones_the_code_calls() -> None:
    granted = {a for st in statements(load_template()) for a in as_list(st["Action"])}
    assert granted == CODE_ACTIONS


def test_assume_role_is_granted_only_when_a_role_is_configured() -> None:
    res = load_template()["Resources"]
    holders = [k for k, v in res.items() if v["Type"] == "AWS::IAM::Policy"
               and any("sts:AssumeRole" in as_list(s["Action"])
                       for s in v["Properties"]["PolicyDocument"]["Statement"])]
    assert holders == ["AuditRolePolicy"]
    assert res["AuditRolePolicy"]["Condition"] == "HasAuditRole"


def test_function_is_arm64_python314_built_by_the_makefile_with_its_environment() -> None:
    fn = load_template()["Resources"]["OriginAuditorFunction"]
    props = fn["Properties"]
    assert (props["Runtime"], props["Architectures"], props["Handler"]) == \
        ("python3.14", ["arm64"], "origin_auditor.handler.lambda_handler")
    assert fn["Metadata"]["BuildMethod"] == "makefile"
    makefile = (TEMPLATE.parent / props["CodeUri"] / "Makefile").read_text()
    assert "build-OriginAuditorFunction:" in makefile
    assert {"FINDINGS_TOPIC_ARN", "STATE_TABLE_NAME", "REMINDER_HOURS", "DAILY_DIGEST"} <= \
        set(props["Environment"]["Variables"])
    assert props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert "Layers" not in props  # Powertools comes from requirements.lock, one version


def test_event_sources_match_the_events_the_handler_recognises() -> None:
    events = load_template()["Resources"]["OriginAuditorFunction"]["Properties"]["Events"]
    assert events["Schedule"]["Type"] == "ScheduleV2"
    assert '"source": "origin-auditor.scheduler"' in events["Schedule"]["Properties"]["Input"]
    schedule_input = events["Schedule"]["Properties"]["Input"]
    schedule = json.loads(re.sub(r'"<aws\.scheduler\.[a-z-]+>"', '"x"', schedule_input))
    assert parse_event(schedule).kind == "schedule"
    alarm = events["CloudFrontAlarm"]["Properties"]["Pattern"]
    assert alarm["detail-type"] == ["CloudWatch Alarm State Change"]
    trail = events["DistributionChange"]["Properties"]["Pattern"]
    assert trail["detail-type"] == ["AWS API Call via CloudTrail"]


# ---------------------------------------------------------------- routed events parse
#
# Every event a rule routes is an asynchronous invocation: one the handler rejects is retried
# twice and lands in the failure queue with an alarm. So the rules route exactly what events.py
# accepts, from one list, and every sample event the rules match parses.


def _rules() -> dict[str, dict[str, Any]]:
    events = load_template()["Resources"]["OriginAuditorFunction"]["Properties"]["Events"]
    return {name: e["Properties"]["Pattern"] for name, e in events.items() if e["Type"] == "EventBridgeRule"}


_MISSING = object()


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """EventBridge's matching for the operators the template uses (exact values, ``prefix``,
    ``exists``, ``$or``), per its documentation: keys AND, values in a list OR; a field whose
    event value is a list matches when any element does; the fields of an object pattern must
    hold within one element of an array of objects (Event Ruler's array consistency). An
    operator this model does not know fails the test rather than guess."""
    if isinstance(event, list):
        return any(matches(pattern, e) for e in event)
    if not isinstance(event, dict):
        return False
    for key, want in pattern.items():
        if key == "$or":
            if not any(matches(alt, event) for alt in want):
                return False
        elif isinstance(want, dict):
            if not matches(want, event.get(key, _MISSING)):
                return False
        elif not _leaf(want, event.get(key, _MISSING)):
            return False
    return True


def _leaf(filters: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for f in filters:
        if isinstance(f, dict):
            (op, arg), = f.items()
            if op == "exists":
                if (value is not _MISSING and not isinstance(value, dict)) == arg:
                    return True
            elif op == "prefix":
                if any(isinstance(v, str) and v.startswith(arg) for v in values):
                    return True
            else:
                raise AssertionError(f"the test's EventBridge model does not know {op!r}")
        elif any(v == f for v in values if v is not _MISSING):
            return True
    return False


def test_the_pattern_model_follows_eventbridge_on_the_cases_the_template_relies_on() -> None:
    pattern = {"d": {"m": {"ns": ["A"], "dims": {"Id": [{"exists": True}]}},
                     "$or": [{"s": ["X"]}, {"s": ["Y"]}]}}
    one = {"m": [{"ns": "A", "dims": {"Id": "1"}}], "s": "Y"}
    assert matches(pattern, {"d": one})
    assert not matches(pattern, {"d": {**one, "s": "Z"}})
    # Namespace on one metric, the dimension on another: not one metric that names a distribution.
    split = [{"ns": "A", "dims": {"F": "f"}}, {"ns": "B", "dims": {"Id": "1"}}]
    assert not matches(pattern, {"d": {**one, "m": split}})
    assert not matches({"e": [{"exists": False}]}, {"e": "AccessDenied"})
    assert matches({"e": [{"exists": False}], "n": ["N", {"prefix": "N20"}]}, {"n": "N2020_05_31"})
    assert not matches({"n": ["N", {"prefix": "N20"}]}, {"n": "NTenant"})


def test_cloudtrail_rule_routes_exactly_the_events_the_handler_takes() -> None:
    names = _rules()["DistributionChange"]["detail"]["eventName"]
    exact = [n for n in names if isinstance(n, str)]
    prefixes = [n["prefix"] for n in names if isinstance(n, dict)]
    assert sorted(exact) == sorted(DISTRIBUTION_CHANGE_EVENTS)
    assert len(exact) == len(set(exact))
    # Each name also with the API version CloudTrail appended in some years, and nothing wider.
    assert sorted(prefixes) == sorted(f"{n}20" for n in DISTRIBUTION_CHANGE_EVENTS)
    assert all(set(n) in ({"prefix"},) for n in names if isinstance(n, dict))


def test_every_sample_event_a_rule_routes_parses_and_every_alarm_or_change_sample_is_routed() -> None:
    rules = _rules()
    routed = {}
    for path in sorted(EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        hits = [name for name, pattern in rules.items() if matches(pattern, event)]
        request = parse_event(event)  # never raises for a sample
        if hits:
            routed[path.name] = (hits, request.kind)
            assert request.ignored is None, (path.name, request.ignored)
    assert routed == {
        "alarm.json": (["CloudFrontAlarm"], "alarm"),
        "alarm-ok.json": (["CloudFrontAlarm"], "alarm"),
        "cloudtrail-create.json": (["DistributionChange"], "cloudtrail"),
        "cloudtrail-update.json": (["DistributionChange"], "cloudtrail"),
        "cloudtrail-tenant-update.json": (["DistributionChange"], "cloudtrail"),
    }  # alarm-functions.json (no DistributionId) is not routed


@pytest.mark.parametrize("name", DISTRIBUTION_CHANGE_EVENTS)
@pytest.mark.parametrize("suffix", ["", "2020_05_31"])
def test_every_routed_cloudtrail_name_parses(name: str, suffix: str) -> None:
    event = json.loads((EVENTS / "cloudtrail-update.json").read_text())
    event["detail"]["eventName"] = name + suffix
    if name in TENANT_CHANGE_EVENTS:
        event["detail"]["responseElements"] = {
            "distributionTenant": {"id": "dt_1", "distributionId": "E2EXAMPLE1ABCD"}}
    assert matches(_rules()["DistributionChange"], event)
    assert parse_event(event).distribution_ids == ("E2EXAMPLE1ABCD",)


@pytest.mark.parametrize("name", ["CreateDistributionTenantX", "UpdateDistributionTenants",
                                  "UpdateDistributionX2", "DeleteDistribution", "GetDistribution",
                                  "UpdateDomainAssociation"])
def test_names_the_handler_does_not_take_are_not_routed(name: str) -> None:
    event = json.loads((EVENTS / "cloudtrail-update.json").read_text())
    event["detail"]["eventName"] = name
    assert not matches(_rules()["DistributionChange"], event)
    with pytest.raises(EventError):
        parse_event(event)


@pytest.mark.parametrize("previous, state, routed", [
    ("OK", "ALARM", True), ("INSUFFICIENT_DATA", "ALARM", True), ("ALARM", "OK", True),
    ("INSUFFICIENT_DATA", "OK", False), ("ALARM", "INSUFFICIENT_DATA", False),
])
def test_alarm_rule_routes_into_alarm_and_recovery_from_alarm_only(previous: str, state: str,
                                                                   routed: bool) -> None:
    event = json.loads((EVENTS / "alarm.json").read_text())
    event["detail"]["previousState"]["value"] = previous
    event["detail"]["state"]["value"] = state
    assert matches(_rules()["CloudFrontAlarm"], event) is routed
    if routed:
        assert parse_event(event).kind == "alarm"


def test_alarm_rule_does_not_route_cloudfront_functions_alarms() -> None:
    functions = json.loads((EVENTS / "alarm-functions.json").read_text())
    assert not matches(_rules()["CloudFrontAlarm"], functions)


def test_requirements_lock_pins_powertools_and_every_runtime_dependency_with_hashes() -> None:
    lock = (TEMPLATE.parent / "requirements.lock").read_text()
    pins = [line.split(" ")[0] for line in lock.splitlines() if line and not line.startswith((" ", "#"))]
    assert all("==" in p for p in pins)
    assert {p.split("==")[0] for p in pins} >= {"aws-lambda-powertools", "boto3", "cryptography", "certifi"}
    assert lock.count("--hash=sha256:") == len(pins)


# ---- the dashboard and the alarms on the auditor's own EMF metrics (issue 11)

def _function_env() -> dict[str, Any]:
    env: dict[str, Any] = load_template()["Resources"]["OriginAuditorFunction"]["Properties"][
        "Environment"]["Variables"]
    return env


def _emitted_metric_names() -> set[str]:
    """Every metric name ``handler.record_metrics`` emits for a report that has every kind of
    origin and distribution (tests/unit/test_metrics.py): the dashboard may show only these."""
    from .test_metrics import emitted, full_report

    return set(emitted(full_report()).values)


def _sub_placeholders(text: str) -> tuple[str, set[str]]:
    """``Fn::Sub`` text with each ``${X}`` replaced by a JSON-safe stand-in, and the X's."""
    names = set(re.findall(r"\$\{([^}!]+)\}", text))
    return re.sub(r"\$\{([^}!]+)\}", lambda m: "SUB-" + m.group(1).replace(":", "-").replace(".", "-"),
                  text), names


def _dashboard() -> tuple[dict[str, Any], set[str]]:
    resources = load_template()["Resources"]
    dashboards = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    assert len(dashboards) == 1
    body = dashboards[0]["Properties"]["DashboardBody"]
    assert set(body) == {"Fn::Sub"} and isinstance(body["Fn::Sub"], str)
    text, names = _sub_placeholders(body["Fn::Sub"])
    return json.loads(text), names


def _dashboard_metrics(dashboard: dict[str, Any]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for w in dashboard["widgets"]:
        for m in w.get("properties", {}).get("metrics", []):
            out.append(m)
    return out


def test_dashboard_body_is_json_after_sub_and_refers_only_to_resources_of_the_template() -> None:
    dashboard, names = _dashboard()
    resources = load_template()["Resources"]
    for name in names:
        assert name.startswith("AWS::") or name.split(".")[0] in resources, name
    assert dashboard["widgets"], "an empty dashboard"
    for w in dashboard["widgets"]:
        assert {"type", "x", "y", "width", "height", "properties"} <= set(w), w
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24, w  # CloudWatch's 24-column grid


def test_every_metric_the_dashboard_shows_is_one_record_metrics_emits() -> None:
    dashboard, _ = _dashboard()
    env = _function_env()
    emitted = _emitted_metric_names()
    shown = _dashboard_metrics(dashboard)
    assert shown
    for m in shown:
        # Written out in full (no "." shorthand), so this test reads each one: namespace, name,
        # then the dimension Powertools adds to every metric (service), then render options.
        namespace, name, dim, value = m[:4]
        assert namespace == env["POWERTOOLS_METRICS_NAMESPACE"], m
        assert name in emitted, f"the dashboard shows {name}, which record_metrics never emits"
        assert (dim, value) == ("service", env["POWERTOOLS_SERVICE_NAME"]), m
        assert all(isinstance(x, dict) for x in m[4:]) and len(m) <= 5, m


def test_the_dashboard_shows_what_issue_11_asks_for() -> None:
    from origin_auditor.handler import CLASSIFICATION_METRICS

    dashboard, _ = _dashboard()
    shown = {m[1] for m in _dashboard_metrics(dashboard)}
    assert {"OriginsFailing", "OriginsWarning", "OriginsPassing", "OriginsNotAudited"} <= shown  # by verdict
    assert set(CLASSIFICATION_METRICS.values()) <= shown  # distributions by classification
    assert {"DaysToNextCertExpiry", "AuditSeconds"} <= shown
    # The alarm on OUTAGE/LATENT counts is on the dashboard, next to the classifications.
    alarm_widgets = [w for w in dashboard["widgets"] if w["type"] == "alarm"]
    assert len(alarm_widgets) == 1
    alarms = alarm_widgets[0]["properties"]["alarms"]
    assert "SUB-AlertingDistributionsAlarm-Arn" in alarms
    by_class = next(w for w in dashboard["widgets"]
                    if "DistributionsLatent" in {m[1] for m in w["properties"].get("metrics", [])})
    alarm = alarm_widgets[0]
    assert alarm["y"] == by_class["y"] and alarm["x"] in (by_class["x"] + by_class["width"],
                                                           by_class["x"] - alarm["width"])


def _alarm_metric_names(alarm: dict[str, Any]) -> list[tuple[str, str, list[Any]]]:
    props = alarm["Properties"]
    if "MetricName" in props:
        return [(props["Namespace"], props["MetricName"], props.get("Dimensions", []))]
    out = []
    for q in props.get("Metrics", []):
        if "MetricStat" in q:
            m = q["MetricStat"]["Metric"]
            out.append((m["Namespace"], m["MetricName"], m.get("Dimensions", [])))
    return out


def test_every_alarm_on_the_auditors_namespace_watches_a_metric_record_metrics_emits() -> None:
    env = _function_env()
    emitted = _emitted_metric_names()
    alarms = [r for r in load_template()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    namespace = env["POWERTOOLS_METRICS_NAMESPACE"]
    watched = [m for a in alarms for m in _alarm_metric_names(a) if m[0] == namespace]
    assert watched
    for _, name, dims in watched:
        assert name in emitted, name
        assert dims == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}], name


def test_the_alerting_alarm_fires_on_any_outage_or_latent_distribution() -> None:
    from origin_auditor.handler import CLASSIFICATION_METRICS
    from origin_auditor.model import Classification

    alarm = load_template()["Resources"]["AlertingDistributionsAlarm"]
    props = alarm["Properties"]
    watched = {name for _, name, _ in _alarm_metric_names(alarm)}
    assert watched == {CLASSIFICATION_METRICS[c] for c in Classification if c.alerts}
    returned = [q for q in props["Metrics"] if q.get("ReturnData", True)]
    assert len(returned) == 1 and "Expression" in returned[0]
    ids = {q["Id"] for q in props["Metrics"] if "MetricStat" in q}
    assert all(i in returned[0]["Expression"] for i in ids)
    assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert props["TreatMissingData"] == "notBreaching"


def test_the_run_duration_graph_marks_where_probing_ends() -> None:
    from origin_auditor.handler import RESERVE_SECONDS

    dashboard, _ = _dashboard()
    timeout = load_template()["Resources"]["OriginAuditorFunction"]["Properties"]["Timeout"]
    widget = next(w for w in dashboard["widgets"]
                  if "AuditSeconds" in {m[1] for m in w["properties"].get("metrics", [])})
    marks = [a["value"] for a in widget["properties"]["annotations"]["horizontal"]]
    assert marks == [timeout - RESERVE_SECONDS]
