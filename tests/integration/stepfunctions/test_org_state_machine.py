"""The organization state machine (statemachine/organization.asl.json) EXECUTED by moto's ASL
interpreter, with template-org.yaml's DefinitionSubstitutions applied (issue 12), the Lambda
tasks answered with CANNED responses.

What runs for real here: the definition file as deployed (Pass/Choice states, intrinsic
functions, the Distributed Map with its S3 ItemReader and ResultWriter, the inline Map over
chunks, Retry with its backoff interval, Catch) against moto's Step Functions, Lambda and S3.
The functions' code does not run HERE: moto's Docker-less Lambda backend answers each invoke
from ``Lambdas`` below, responses shaped as the contract (docs/architecture.md, "Organization
mode") says, chosen by function and payload, so the definition's own paths can be driven at
will (a chunk throttled past every retry, a Map whose item list is missing). The same definition
with the REAL functions dispatched in-process (their Powertools entry points, the template's
environment, moto's Organizations/STS/S3/CloudFront/CloudWatch/DynamoDB/SNS, loopback TLS
origins) is executed by ``test_org_end_to_end.py`` beside this file.

Moto's ResultWriter writes the manifest (with empty result-file lists: moto does not write the
result files), so the items' outputs are asserted by a second run of the same definition with
only the ResultWriter removed, where the Map's output is the list of item outputs (the end-to-end
test writes the result files where moto writes its manifest instead).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from .conftest import BUCKET, DEFINITION, REGION, definition, install_lambda, substitutions, wait_for

OK, NO_ROLE, THROTTLED, STUCK = "111111111111", "222222222222", "333333333333", "444444444444"
NAMES = {OK: "prod", NO_ROLE: "sandbox", THROTTLED: "media", STUCK: "legacy"}


class Lambdas:
    """The three functions' answers, per the contract, by function and payload; records every
    invocation. ``throttle_first``: the plan of that account raises AccountThrottled once;
    ``always_throttled``: that account's audits of chunk 1 raise it every time."""

    def __init__(self, accounts: list[str]) -> None:
        self.accounts = accounts
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.plans_seen: dict[str, int] = {}

    def __call__(self, function: str, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        with self.lock:
            self.calls.append((function, payload))
        if function == "list-accounts":
            run = payload["run_id"]
            return {"run_id": run, "started_at": "2026-11-27T12:00:00Z", "bucket": BUCKET,
                    "accounts_key": f"org-runs/{run}/accounts.json", "count": len(self.accounts),
                    "skipped": [{"account_id": "999999999999", "reason": "not in the organization"}]}, False
        if function == "aggregate":
            return {"run_id": payload["run_id"], "accounts": len(self.accounts), "audited": 2,
                    "not_audited": 2, "partial": True,
                    "report": {"bucket": BUCKET, "key": "reports/x-org.json"},
                    "published": True}, False
        assert function == "account-audit", function
        account = payload["account_id"]
        if payload["action"] == "plan":
            with self.lock:
                self.plans_seen[account] = self.plans_seen.get(account, 0) + 1
                first = self.plans_seen[account] == 1
            if account == THROTTLED and first:
                return {"errorType": "AccountThrottled",
                        "errorMessage": "Rate exceeded (ListDistributions)"}, True
            base = {"account_id": account, "account_name": payload["account_name"],
                    "run_id": payload["run_id"]}
            if account == NO_ROLE:
                return {**base, "status": "not_audited", "chunks": [],
                        "reason": "no member role: AccessDenied on sts:AssumeRole"}, False
            chunks = [{"index": i, "distribution_ids": [f"E{account[:3]}{i}{j}" for j in range(3)]}
                      for i in range(2)]
            return {**base, "status": "planned", "chunks": chunks}, False
        chunk = payload["chunk"]
        if account == STUCK and chunk["index"] == 1:
            return {"errorType": "AccountThrottled",
                    "errorMessage": "Rate exceeded (GetMetricData)"}, True
        key = f"org-runs/{payload['run_id']}/accounts/{account}/{chunk['index']}.json"
        return {"account_id": account, "chunk": chunk["index"], "status": "audited",
                "report": {"bucket": BUCKET, "key": key},
                "counts": {"HEALTHY": len(chunk["distribution_ids"])}}, False

    def payloads(self, function: str, action: str | None = None) -> list[dict[str, Any]]:
        return [p for f, p in self.calls if f == function and (action is None or p.get("action") == action)]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mock_aws(config={"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}):
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        arns = {}
        for logical, name in (("ListAccountsFunction", "list-accounts"),
                              ("AccountAuditFunction", "account-audit"), ("AggregateFunction", "aggregate")):
            arns[logical] = lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler="x.h",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})["FunctionArn"]
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield {"role": role, "arns": arns, "s3": s3, "sfn": boto3.client("stepfunctions", region_name=REGION)}


def run(aws: dict[str, Any], lambdas: Lambdas, monkeypatch: pytest.MonkeyPatch, *, name: str,
        execution_input: dict[str, Any], write_items: bool = True,
        result_writer: bool = True) -> dict[str, Any]:
    install_lambda(monkeypatch, lambdas)
    if write_items:  # what ListAccountsFunction writes (contract 1)
        items = [{"account_id": a, "account_name": NAMES[a], "run_id": name} for a in lambdas.accounts]
        aws["s3"].put_object(Bucket=BUCKET, Key=f"org-runs/{name}/accounts.json",
                             Body=json.dumps(items).encode())
    sfn = aws["sfn"]
    machine = sfn.create_state_machine(
        name=f"org-{name}", roleArn=aws["role"],
        definition=definition(substitutions(aws["arns"]), result_writer=result_writer))["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(execution_input))
    return wait_for(lambda: sfn.describe_execution(executionArn=execution["executionArn"]))


def _aggregate_input(lambdas: Lambdas) -> dict[str, Any]:
    [payload] = lambdas.payloads("aggregate")
    return payload


def test_a_manual_run_lists_maps_plans_audits_chunks_retries_throttling_and_aggregates_once(
        aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    lambdas = Lambdas([OK, NO_ROLE, THROTTLED])
    out = run(aws, lambdas, monkeypatch, name="run-1", execution_input={"accounts": [OK, NO_ROLE, THROTTLED],
                                                                        "run_id": "ignored"})
    assert out["status"] == "SUCCEEDED", out
    # ListAccounts: the caller's input with run_id = the execution's name, whatever the input said.
    assert lambdas.payloads("list-accounts") == [{"accounts": [OK, NO_ROLE, THROTTLED], "run_id": "run-1"}]
    # Every account planned (from the S3 item list); the throttled one twice, after one backoff wait
    # no longer than the Retry's first interval (FULL jitter: anywhere in [0, 5]).
    plans = lambdas.payloads("account-audit", "plan")
    assert sorted(p["account_id"] for p in plans) == sorted([OK, NO_ROLE, THROTTLED, THROTTLED])
    assert plans[0] == {"action": "plan", "account_id": plans[0]["account_id"],
                        "account_name": NAMES[plans[0]["account_id"]], "run_id": "run-1"}
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 5
    # Chunks audited for the planned accounts only; none for the account without a role.
    audits = lambdas.payloads("account-audit", "audit")
    assert sorted((a["account_id"], a["chunk"]["index"]) for a in audits) == [
        (OK, 0), (OK, 1), (THROTTLED, 0), (THROTTLED, 1)]
    assert all(set(a) == {"action", "account_id", "account_name", "run_id", "chunk"} for a in audits)
    assert all(a["chunk"]["distribution_ids"] and a["account_name"] == NAMES[a["account_id"]] for a in audits)
    # One aggregate, with the list output and the map's ResultWriter details (contract 3).
    agg = _aggregate_input(lambdas)
    assert set(agg) == {"run_id", "started_at", "list", "map"}
    assert (agg["run_id"], agg["started_at"]) == ("run-1", "2026-11-27T12:00:00Z")
    assert agg["list"]["accounts_key"] == "org-runs/run-1/accounts.json"
    details = agg["map"]["ResultWriterDetails"]
    assert details["Bucket"] == BUCKET
    assert re.fullmatch(r"org-runs/run-1/map/[^/]+/manifest\.json", details["Key"]), details
    manifest = json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=details["Key"])["Body"].read())
    assert manifest["DestinationBucket"] == BUCKET and set(manifest["ResultFiles"]) == {
        "SUCCEEDED", "FAILED", "PENDING"}
    assert json.loads(out["output"])["published"] is True


def test_each_accounts_result_is_its_plan_and_its_chunk_audits_and_failures_are_caught_as_not_audited(
        aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    lambdas = Lambdas([OK, NO_ROLE, THROTTLED, STUCK])
    out = run(aws, lambdas, monkeypatch, name="run-2", execution_input={}, result_writer=False)
    assert out["status"] == "SUCCEEDED", out
    assert lambdas.payloads("list-accounts") == [{"run_id": "run-2"}]  # the schedule's {} input
    items = {r["plan"]["account_id"]: r for r in _aggregate_input(lambdas)["map"]}
    assert set(items) == {OK, NO_ROLE, THROTTLED, STUCK}
    assert all(set(r) == {"plan", "audits"} for r in items.values())
    assert items[NO_ROLE]["plan"]["status"] == "not_audited" and items[NO_ROLE]["audits"] == []
    assert items[NO_ROLE]["plan"]["reason"].startswith("no member role")
    assert [a["status"] for a in items[OK]["audits"]] == ["audited", "audited"]
    assert [a["chunk"] for a in items[THROTTLED]["audits"]] == [0, 1]  # chunk order kept
    # A chunk still throttled after every retry: caught, NOT AUDITED with the error's name; the
    # account's other chunk still counts.
    stuck = items[STUCK]["audits"]
    assert stuck[0]["status"] == "audited"
    assert stuck[1] == {"account_id": STUCK, "chunk": 1, "status": "not_audited",
                        "reason": "AccountThrottled (after retries)", "report": None, "counts": {}}
    stuck_calls = [a for a in lambdas.payloads("account-audit", "audit")
                   if a["account_id"] == STUCK and a["chunk"]["index"] == 1]
    retry = json.loads(DEFINITION.read_text())["States"]["Accounts"]["ItemProcessor"]["States"]["Chunks"][
        "ItemProcessor"]["States"]["Audit"]["Retry"][0]
    assert len(stuck_calls) == retry["MaxAttempts"] + 1  # first try + every retry, then caught
    # Backoff: FULL jitter of 5, 10, 20, 40 s capped at MaxDelaySeconds (plus THROTTLED's one plan retry).
    assert len(sleeps) == retry["MaxAttempts"] + 1 and all(0 <= s <= retry["MaxDelaySeconds"] for s in sleeps)


def test_a_map_that_cannot_read_its_items_still_aggregates_and_says_why(
        aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    lambdas = Lambdas([OK])
    out = run(aws, lambdas, monkeypatch, name="run-3", execution_input={}, write_items=False)
    assert out["status"] == "SUCCEEDED", out
    assert lambdas.payloads("account-audit") == []
    agg = _aggregate_input(lambdas)
    assert "ResultWriterDetails" not in agg["map"]
    assert set(agg["map"]) == {"Error", "Cause"} and agg["map"]["Error"], agg["map"]
    assert agg["list"]["count"] == 1  # the aggregate names every listed account NOT AUDITED
