"""template.yaml: least-privilege IAM, and the pieces the code relies on (names, env, key schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from origin_auditor.archive import BUCKET_ENV, PREFIX

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

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
                "dynamodb:BatchWriteItem", "dynamodb:Scan", "sts:AssumeRole", "s3:PutObject"}


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
    alarm = events["CloudFrontAlarm"]["Properties"]["Pattern"]
    assert alarm["detail-type"] == ["CloudWatch Alarm State Change"]
    trail = events["DistributionChange"]["Properties"]["Pattern"]
    assert trail["detail-type"] == ["AWS API Call via CloudTrail"]
    assert {"prefix": "UpdateDistribution"} in trail["detail"]["eventName"]


def test_requirements_lock_pins_powertools_and_every_runtime_dependency_with_hashes() -> None:
    lock = (TEMPLATE.parent / "requirements.lock").read_text()
    pins = [line.split(" ")[0] for line in lock.splitlines() if line and not line.startswith((" ", "#"))]
    assert all("==" in p for p in pins)
    assert {p.split("==")[0] for p in pins} >= {"aws-lambda-powertools", "boto3", "cryptography", "certifi"}
    assert lock.count("--hash=sha256:") == len(pins)
