"""template-org.yaml and templates/member-role.yaml (issue 12): least privilege, the pieces the
code and the state machine rely on, and single-account mode left as it was."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import yaml

from origin_auditor.archive import PREFIX

from .test_template import STAR_ALLOWED, _CfnLoader, as_list, iam_problems, load_template

ROOT = Path(__file__).resolve().parents[2]
ORG_TEMPLATE = ROOT / "template-org.yaml"
MEMBER_TEMPLATE = ROOT / "templates" / "member-role.yaml"


def load_org_template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(ORG_TEMPLATE.read_text(), Loader=_CfnLoader)
    return data


def load_member_template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(MEMBER_TEMPLATE.read_text(), Loader=_CfnLoader)
    return data


ASL = json.loads((ROOT / "statemachine" / "organization.asl.json").read_text())
PLACEHOLDERS = set(re.findall(r"\$\{([A-Za-z0-9]+)\}",
                              (ROOT / "statemachine" / "organization.asl.json").read_text()))

# The contract's handlers (docs/architecture.md, "Organization mode"), one per function.
HANDLERS = {"ListAccountsFunction": "origin_auditor.org.handlers.list_accounts",
            "AccountAuditFunction": "origin_auditor.org.handlers.audit_account",
            "AggregateFunction": "origin_auditor.org.handlers.aggregate"}
# Organizations: read-only, no resource scoping the template can express (see the template).
ORG_ACTIONS = {"organizations:ListAccounts", "organizations:ListAccountsForParent",
               "organizations:ListOrganizationalUnitsForParent", "organizations:DescribeOrganization"}
# What each principal of the organization stack calls, nothing more.
GRANTS = {
    "ListAccountsFunction": ORG_ACTIONS | {"s3:PutObject"},
    "AccountAuditRole": {"sts:AssumeRole", "s3:PutObject", "logs:CreateLogStream", "logs:PutLogEvents"},
    "AggregateFunction": {"s3:GetObject", "s3:PutObject", "sns:Publish", "dynamodb:BatchGetItem",
                          "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
    "StateMachineRole": {"lambda:InvokeFunction", "states:StartExecution", "states:DescribeExecution",
                         "states:StopExecution", "s3:GetObject", "s3:PutObject",
                         "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"},
    "SchedulerRole": {"states:StartExecution"},
}
# The contract's transient errors (AccountThrottled: the function's errorType after its own retries).
THROTTLING = ["AccountThrottled", "Lambda.TooManyRequestsException", "Lambda.ServiceException",
              "Lambda.SdkClientException"]


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def principal_statements(res: dict[str, Any]) -> list[dict[str, Any]]:
    props = res.get("Properties", {})
    if res["Type"] == "AWS::Serverless::Function":
        return [s for p in props.get("Policies", []) for s in p["Statement"]]
    if res["Type"] == "AWS::IAM::Role":
        return [s for p in props.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    return []


def grants(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name, res in template["Resources"].items():
        sts = principal_statements(res)
        if sts:
            out[name] = sts
    return out


def org_iam_problems(template: dict[str, Any]) -> list[str]:
    problems = []
    for name, sts in grants(template).items():
        for st in sts:
            actions = as_list(st["Action"])
            if "NotAction" in st or "NotResource" in st or st.get("Effect") != "Allow":
                problems.append(f"{name}: only Allow with Action/Resource")
            problems += [f"{name}: wildcard action {a}" for a in actions if "*" in a]
            if "*" in as_list(st["Resource"]):
                wide = [a for a in actions if a not in STAR_ALLOWED and a not in ORG_ACTIONS]
                if wide:
                    problems.append(f"{name}: Resource '*' for {wide}")
            if any(a.startswith("s3:") for a in actions):
                for r in as_list(st["Resource"]):
                    if r not in (_sub("arn:${AWS::Partition}:s3:::${ReportsBucket}/org-runs/*"),
                                 _sub("arn:${AWS::Partition}:s3:::${ReportsBucket}/" + PREFIX + "*")):
                        problems.append(f"{name}: S3 resource {r!r} is neither org-runs/* nor {PREFIX}*")
    return problems


def test_org_template_grants_no_wildcard_actions_and_no_needless_star_resources() -> None:
    assert org_iam_problems(load_org_template()) == []
    assert iam_problems(load_member_template()) == []
    bad = {"Resources": {"F": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {
        "Statement": [{"Effect": "Allow", "Action": "states:*", "Resource": "*"},
                      {"Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": _sub("arn:${AWS::Partition}:s3:::${ReportsBucket}/*")}]}}]}}}}
    assert org_iam_problems(bad) == [
        "F: wildcard action states:*", "F: Resource '*' for ['states:*']",
        "F: S3 resource {'Fn::Sub': 'arn:${AWS::Partition}:s3:::${ReportsBucket}/*'} is neither "
        "org-runs/* nor reports/*"]


def test_each_principal_is_granted_exactly_what_it_calls() -> None:
    granted = {name: {a for st in sts for a in as_list(st["Action"])}
               for name, sts in grants(load_org_template()).items()}
    assert granted == GRANTS


def _code_calls() -> set[str]:
    """The CloudFront and CloudWatch API calls in discover.py and correlate.py, as IAM actions."""
    pkg = ROOT / "functions" / "origin_auditor"
    calls = set()
    for module in ("discover.py", "correlate.py"):
        text = (pkg / module).read_text()
        for client, paginated, op in re.findall(
                r"\b(cloudfront|_cf|cloudwatch)\.(?:get_paginator\(\"(\w+)\"\)|(\w+)\()", text):
            name = paginated or op
            if name != "get_paginator":
                service = "cloudwatch" if client == "cloudwatch" else "cloudfront"
                calls.add(f"{service}:" + "".join(w.capitalize() for w in name.split("_")))
    return calls


def test_the_member_role_grants_exactly_the_cloudfront_and_cloudwatch_reads_the_audit_makes() -> None:
    role = load_member_template()["Resources"]["MemberRole"]
    actions = {a for st in principal_statements(role) for a in as_list(st["Action"])}
    assert _code_calls() == {"cloudfront:ListDistributions", "cloudfront:GetDistribution",
                             "cloudfront:GetCachePolicy", "cloudfront:GetOriginRequestPolicy",
                             "cloudfront:GetMonitoringSubscription", "cloudwatch:GetMetricData"}
    assert actions == _code_calls()
    writes = ("cloudfront:Create", "cloudfront:Update", "cloudfront:Delete")
    assert all(not a.startswith(writes) for a in actions)


def test_the_member_role_trusts_only_the_account_audit_role_in_any_deployment_order() -> None:
    member = load_member_template()
    [trust] = member["Resources"]["MemberRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    # The account as principal (IAM rejects a role ARN that does not exist yet), narrowed to one role.
    assert trust["Principal"] == {"AWS": _sub("arn:${AWS::Partition}:iam::${AuditorAccountId}:root")}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"ArnEquals": {
        "aws:PrincipalArn": _sub("arn:${AWS::Partition}:iam::${AuditorAccountId}:role/${AuditorRoleName}")}}
    # The organization stack passes its account, the account-audit role's name and the member role's.
    org = load_org_template()
    res = org["Resources"]
    stackset = res["MemberRoleStackSet"]["Properties"]
    passed = {p["ParameterKey"]: p["ParameterValue"] for p in stackset["Parameters"]}
    assert passed == {"AuditorAccountId": {"Ref": "AWS::AccountId"},
                      "AuditorRoleName": {"Ref": "AccountAuditRoleName"},
                      "MemberRoleName": {"Ref": "MemberRoleName"}}
    assert set(passed) == set(member["Parameters"])
    assert res["AccountAuditRole"]["Properties"]["RoleName"] == {"Ref": "AccountAuditRoleName"}
    assert res["AccountAuditFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["AccountAuditRole", "Arn"]}
    params = org["Parameters"]
    assert params["AccountAuditRoleName"]["Default"] == member["Parameters"]["AuditorRoleName"]["Default"]
    assert params["MemberRoleName"]["Default"] == member["Parameters"]["MemberRoleName"]["Default"]
    assert member["Resources"]["MemberRole"]["Properties"]["RoleName"] == {"Ref": "MemberRoleName"}


def test_only_the_account_audit_role_may_assume_and_only_the_member_roles_name() -> None:
    holders = {name: st for name, sts in grants(load_org_template()).items() for st in sts
               if "sts:AssumeRole" in as_list(st["Action"])}
    assert list(holders) == ["AccountAuditRole"]
    st = holders["AccountAuditRole"]
    assert as_list(st["Action"]) == ["sts:AssumeRole"]
    assert st["Resource"] == _sub("arn:${AWS::Partition}:iam::*:role/${MemberRoleName}")


def test_the_stackset_deploys_the_member_role_service_managed_with_auto_deployment() -> None:
    props = load_org_template()["Resources"]["MemberRoleStackSet"]["Properties"]
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert props["Capabilities"] == ["CAPABILITY_NAMED_IAM"]  # the member role is named
    assert (ROOT / props["TemplateURL"]) == MEMBER_TEMPLATE  # a local file `sam deploy` uploads
    [group] = props["StackInstancesGroup"]
    assert group["DeploymentTargets"] == {
        "OrganizationalUnitIds": {"Ref": "MemberTargetOrganizationalUnitIds"}}
    assert props["CallAs"] == {"Ref": "StackSetCallAs"}


def test_the_state_machine_role_invokes_the_three_functions_and_runs_its_own_map_children_only() -> None:
    res = load_org_template()["Resources"]
    name = res["OrganizationStateMachine"]["Properties"]["Name"]
    assert name == _sub("${AWS::StackName}-organization")
    by_action = {a: st["Resource"] for st in grants(load_org_template())["StateMachineRole"]
                 for a in as_list(st["Action"])}
    assert by_action["lambda:InvokeFunction"] == [{"Fn::GetAtt": [f, "Arn"]} for f in HANDLERS]
    assert by_action["states:StartExecution"] == _sub(
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + name["Fn::Sub"])
    children = _sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
                    + name["Fn::Sub"] + "/*")
    assert by_action["states:DescribeExecution"] == by_action["states:StopExecution"] == children
    role = res["OrganizationStateMachine"]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": ["StateMachineRole", "Arn"]}
    [sched] = grants(load_org_template())["SchedulerRole"]
    assert sched["Resource"] == {"Ref": "OrganizationStateMachine"}


def test_functions_have_the_contracts_handlers_environment_and_one_makefile_build() -> None:
    res = load_org_template()["Resources"]
    makefile = (ROOT / "Makefile").read_text()
    glob = load_org_template()["Globals"]["Function"]
    assert (glob["Runtime"], glob["Architectures"], glob["CodeUri"]) == ("python3.14", ["arm64"], ".")
    assert glob["Environment"]["Variables"]["REPORTS_BUCKET_NAME"] == {"Ref": "ReportsBucket"}
    for name, handler in HANDLERS.items():
        fn = res[name]
        assert fn["Type"] == "AWS::Serverless::Function" and fn["Properties"]["Handler"] == handler
        assert fn["Metadata"]["BuildMethod"] == "makefile"
        targets = {t for line in re.findall(r"^((?:build-\w+ ?)+):", makefile, re.M) for t in line.split()}
        assert f"build-{name}" in targets, name  # sam build runs `make build-<LogicalId>`
    env = {n: set(res[n]["Properties"].get("Environment", {}).get("Variables", {})) for n in HANDLERS}
    assert env == {"ListAccountsFunction": set(), "AccountAuditFunction": {"MEMBER_ROLE_NAME"},
                   "AggregateFunction": {"TABLE_NAME", "TOPIC_ARN", "REMINDER_HOURS"}}


def test_the_definition_names_exactly_the_substituted_values_and_retries_throttling() -> None:
    props = load_org_template()["Resources"]["OrganizationStateMachine"]["Properties"]
    assert (ROOT / props["DefinitionUri"]).is_file()
    assert set(props["DefinitionSubstitutions"]) == PLACEHOLDERS
    subs = props["DefinitionSubstitutions"]
    assert {k: v for k, v in subs.items() if k.endswith("FunctionArn")} == {
        "ListAccountsFunctionArn": {"Fn::GetAtt": ["ListAccountsFunction", "Arn"]},
        "AccountAuditFunctionArn": {"Fn::GetAtt": ["AccountAuditFunction", "Arn"]},
        "AggregateFunctionArn": {"Fn::GetAtt": ["AggregateFunction", "Arn"]}}
    assert subs["MapMaxConcurrency"] == {"Ref": "MapMaxConcurrency"}
    assert subs["MapToleratedFailurePercentage"] == {"Ref": "MapToleratedFailurePercentage"}
    accounts = ASL["States"]["Accounts"]
    assert accounts["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert accounts["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert accounts["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    assert accounts["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert "org-runs/{}/map" in accounts["ResultWriter"]["Parameters"]["Prefix.$"]
    config = ASL["States"]["Prepare"]["Parameters"]["config"]
    assert accounts["MaxConcurrencyPath"] == "$.config.max_concurrency"
    assert config["max_concurrency.$"] == "States.StringToJson('${MapMaxConcurrency}')"
    assert accounts["ToleratedFailurePercentagePath"] == "$.config.tolerated_failure_percentage"
    assert config["tolerated_failure_percentage.$"] == \
        "States.StringToJson('${MapToleratedFailurePercentage}')"
    inner = accounts["ItemProcessor"]["States"]
    audit = inner["Chunks"]["ItemProcessor"]["States"]["Audit"]
    for task in (inner["Plan"], audit):
        assert task["Resource"] == "${AccountAuditFunctionArn}"
        [retry] = task["Retry"]
        assert retry["ErrorEquals"] == THROTTLING and retry["BackoffRate"] > 1 and retry["MaxAttempts"] >= 3
        assert [c["ErrorEquals"] for c in task["Catch"]] == [["States.ALL"]]  # then NOT AUDITED, never lost


def test_the_schedule_starts_the_state_machine_with_an_empty_request() -> None:
    target = load_org_template()["Resources"]["Schedule"]["Properties"]["Target"]
    assert target["Arn"] == {"Ref": "OrganizationStateMachine"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert json.loads(target["Input"]) == {}  # ListAccounts rejects unknown keys; run_id comes from the ASL


SHARED = ["FindingsTopic", "EmailSubscription", "StateTable", "ReportsBucketPolicy"]


def test_the_shared_resources_are_defined_as_in_the_single_account_template() -> None:
    single, org = load_template()["Resources"], load_org_template()["Resources"]
    for name in SHARED:
        assert org[name] == single[name], name
    bucket = copy.deepcopy(org["ReportsBucket"])
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    [runs] = [r for r in rules if r["Prefix"] == "org-runs/"]
    rules.remove(runs)
    assert bucket == single["ReportsBucket"]
    assert runs["ExpirationInDays"] == {"Ref": "ReportRetentionDays"}


def test_single_account_mode_is_untouched_by_organization_mode() -> None:
    single = load_template()
    assert not [r for r in single["Resources"].values()
                if r["Type"] in ("AWS::Serverless::StateMachine", "AWS::CloudFormation::StackSet")]
    assert "MemberRoleName" not in single["Parameters"]
