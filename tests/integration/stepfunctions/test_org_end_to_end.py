"""Organization mode END TO END: the real definition (statemachine/organization.asl.json with
template-org.yaml's DefinitionSubstitutions) executed by moto's ASL interpreter, where every
Lambda task runs the REAL function in-process (issue 12).

Each Invoke moto's Docker-less Lambda backend receives is dispatched to the handler the
template's ``Handler`` property names for that function (``origin_auditor.org.handlers.
list_accounts`` / ``audit_account`` / ``aggregate``: the Powertools-wrapped entry points), with a
Lambda context and the function's environment as the template sets it (Globals + its own
variables, ``!Ref`` resolved to the moto resources), plus two test-only variables for the
account-audit function: ``ORIGIN_AUDITOR_ALLOW_ADDRESSES`` (the lab's origins are on loopback)
and ``ORIGIN_AUDITOR_CA_BUNDLE`` (the lab's root stands in for Mozilla's list). An exception
the handler raises is a Lambda function error whose ``errorType`` is its class name, as Lambda's
Python runtime reports it, so the definition's Retry/Catch on ``AccountThrottled`` see what they
would on AWS. The functions reach moto's Organizations, STS, S3, CloudFront, CloudWatch,
DynamoDB and SNS through their own clients; nothing in ``origin_auditor`` is patched. STS is
given answers moto does not give, by botocore hooks installed in every session (the functions
make their own): AccessDenied for the account without the member role, Throttling for the
account throttled once and the one throttled every time.

Moto 5.2's ResultWriter writes only ``manifest.json`` with empty ``ResultFiles`` (a TODO in
moto's ``result_writer/resource_eval/resource_eval_s3.py``). ``_fill_result_files`` fills that
gap: where moto writes the manifest, it writes the SUCCEEDED/FAILED result files from the Map's
real item inputs and outputs in the format Step Functions documents (``tests/integration/org/
conftest.py``'s ``MapRun``) and the manifest listing them, so the aggregate reads what the real
Map produced.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.handlers
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (  # noqa: E501
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (  # noqa: E501
    ResourceEvalS3,
)
from tests.integration.org.conftest import (
    MapRun,
    Org,
    assume_role_error,
    build_org,
    create_account,
    distribution,
    member_session,
)
from tests.unit.test_template_org import load_org_template

from origin_auditor.org import handlers as org_handlers
from origin_auditor_lab import LOOPBACK_CIDRS
from origin_auditor_lab.issuers import IssuerServer
from origin_auditor_lab.servers import TlsServer, unbindable

from .conftest import DEFINITION, REGION, definition, install_lambda, substitutions, wait_for

FUNCTIONS = ("ListAccountsFunction", "AccountAuditFunction", "AggregateFunction")
ORIGIN = "localhost"  # the functions resolve origins themselves (system resolver), as in Lambda


@dataclass
class LambdaContext:
    """The parts of Lambda's context object the handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


@dataclass
class Function:
    logical_id: str
    name: str
    arn: str
    handler: Callable[[Any, Any], Any]
    env: dict[str, str]
    memory: int
    timeout: int


class Dispatcher:
    """Runs each Invoke in-process through the function's real handler, in its environment.
    One invocation at a time: the environment is the process's (``os.environ``), and Lambda runs
    each invocation in its own; the Map's concurrency is moto's threads, serialized here."""

    def __init__(self, functions: list[Function]) -> None:
        self.functions = {f.name: f for f in functions}
        self.keys = {k for f in functions for k in f.env}
        self.lock = threading.Lock()
        self.calls: list[tuple[str, dict[str, Any], str]] = []  # (function, payload, outcome)

    def __call__(self, name: str, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        fn = self.functions[name]
        with self.lock:
            saved = {k: os.environ.get(k) for k in self.keys}
            for k in self.keys:
                os.environ.pop(k, None)
            os.environ.update(fn.env)
            try:
                context = LambdaContext(fn.name, fn.arn, fn.memory, fn.timeout)
                answer = json.loads(json.dumps(fn.handler(payload, context)))
                self.calls.append((fn.logical_id, payload, "ok"))
                return answer, False
            except Exception as exc:  # Lambda's Python runtime: an unhandled exception is a function error
                self.calls.append((fn.logical_id, payload, type(exc).__name__))
                return {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}, True
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v

    def payloads(self, logical_id: str, action: str | None = None) -> list[tuple[dict[str, Any], str]]:
        return [
            (p, o)
            for f, p, o in self.calls
            if f == logical_id and (action is None or p.get("action") == action)
        ]


def function_env(logical_id: str, refs: dict[str, str]) -> dict[str, str]:
    """The function's environment as template-org.yaml sets it: Globals, then its own variables;
    ``!Ref`` to a resource is ``refs``'s value, to a parameter its default."""
    template = load_org_template()
    glob = template["Globals"]["Function"]["Environment"]["Variables"]
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    env = {}
    for key, value in {**glob, **own}.items():
        if isinstance(value, dict):
            ref = value["Ref"]
            env[key] = refs[ref] if ref in refs else str(template["Parameters"][ref]["Default"])
        else:
            env[key] = str(value)
    return env


def real_handler(logical_id: str) -> Callable[[Any, Any], Any]:
    """The callable the template's ``Handler`` names (``module.attribute``), as Lambda loads it."""
    path = load_org_template()["Resources"][logical_id]["Properties"]["Handler"]
    module, attr = path.rsplit(".", 1)
    handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module), attr)
    return handler


def _fill_result_files(monkeypatch: pytest.MonkeyPatch, s3: Any) -> None:
    """FILLS MOTO'S GAP: moto 5.2's ResultWriter (``ResourceEvalS3._handle_put_object``) pops the
    Map's item results unused ("TODO: results") and writes a manifest with empty ResultFiles. Here
    the items the Map read (kept as ``_map_run`` starts) and their outputs (in item order, moto's
    ``None`` for an item whose child execution failed) are written as Step Functions writes them,
    at the manifest's own prefix and for its map run; then moto's manifest is replaced by one
    listing them. Nothing else of moto's behaviour changes."""
    items: dict[str, list[Any]] = {}
    original_map_run = DistributedIterationComponent._map_run
    original_put = ResourceEvalS3._handle_put_object

    def map_run(self: DistributedIterationComponent, env: Any, eval_input: Any) -> None:
        items[eval_input.map_run_record.map_run_arn] = list(env.stack[-1])  # what ItemReader read
        original_map_run(self, env, eval_input)

    def put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        outputs = list(env.stack[-2])  # under the ResultWriter's parameters: the item outputs
        original_put(env, resource_runtime_part, state_credentials)
        details = env.stack[-1]  # what moto's put_object pushed: the Map state's output
        arn, key = details["MapRunArn"], details["ResultWriterDetails"]["Key"]
        inputs = items.pop(arn)
        assert len(inputs) == len(outputs), (inputs, outputs)
        run = MapRun(run_id=key.split("/")[1])
        for item, output in zip(inputs, outputs, strict=True):
            if output is None:  # moto keeps no error of a failed child execution
                run.failed(item, "States.Runtime", "the child execution failed (moto keeps no cause)")
            else:
                run.succeeded(item, output)
        run.write(
            s3,
            details["ResultWriterDetails"]["Bucket"],
            prefix=key.removesuffix("manifest.json"),
            map_run_arn=arn,
        )

    monkeypatch.setattr(DistributedIterationComponent, "_map_run", map_run)
    monkeypatch.setattr(ResourceEvalS3, "_handle_put_object", staticmethod(put_object))


class Sts:
    """STS answers moto does not give, in every botocore session made from now on (the functions
    build their own): ``denied`` accounts answer AccessDenied (no member role); ``throttled``
    ones Throttling, each for its first ``n`` AssumeRole calls (None: every call)."""

    def __init__(self, denied: list[str], throttled: dict[str, int | None]) -> None:
        self.deny = assume_role_error(denied)
        self.throttled = throttled
        self.throttle = assume_role_error(
            list(throttled), code="Throttling", message="Rate exceeded", status=400
        )
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, params: dict[str, Any], **kw: Any) -> Any:
        denied = self.deny(params, **kw)
        if denied is not None:
            return denied
        text = (
            json.dumps(params.get("body"))
            if isinstance(params.get("body"), dict)
            else str(params.get("body"))
        )
        for account, times in self.throttled.items():
            if account in text:
                with self.lock:
                    self.seen[account] = self.seen.get(account, 0) + 1
                    if times is None or self.seen[account] <= times:
                        return self.throttle(params, **kw)
        return None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(
            botocore.handlers,
            "BUILTIN_HANDLERS",
            [*botocore.handlers.BUILTIN_HANDLERS, ("before-call.sts.AssumeRole", self)],
        )


class Published:
    """Every sns:Publish's arguments (the e-mail text is not what the SQS subscriber receives)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(dict(params["body"]))

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(
            botocore.handlers,
            "BUILTIN_HANDLERS",
            [*botocore.handlers.BUILTIN_HANDLERS, ("before-call.sns.Publish", self)],
        )


@pytest.fixture
def _powertools_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The entry points configure the ``origin_auditor`` logger (Powertools): undone afterwards."""
    logger = logging.getLogger("origin_auditor")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    monkeypatch.setattr(org_handlers, "_logger", None)
    yield
    logger.handlers[:] = saved[0]
    logger.propagate, logger.level = saved[1], saved[2]


@pytest.fixture
def loopback() -> tuple[str, ...]:
    """Every address ``localhost`` resolves to here (the servers listen on all of them)."""
    addresses = tuple(
        dict.fromkeys(str(i[4][0]) for i in socket.getaddrinfo(ORIGIN, 443, type=socket.SOCK_STREAM))
    )
    if unbindable(addresses):
        pytest.skip(f"cannot bind every address {ORIGIN} resolves to: {addresses}")
    return addresses


@pytest.fixture
def lab(loopback: tuple[str, ...], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A PKI for ``localhost`` whose caIssuers URLs a loopback server answers; an origin missing
    its intermediate and a healthy one."""
    with IssuerServer() as issuers:
        pki = issuers.publish(hostnames=(ORIGIN,))
        bundle = tmp_path / "root.pem"
        bundle.write_bytes(pki.root_pem)
        broken, good = TlsServer([pki.leaf], host=loopback), TlsServer(pki.chain(), host=loopback)
        broken.start()
        good.start()
        try:
            yield {"broken": broken, "good": good, "bundle": str(bundle)}
        finally:
            broken.close()
            good.close()


@pytest.fixture
def world(
    lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch, _powertools_logging: None
) -> Iterator[dict[str, Any]]:
    """The management account (bucket, table, topic, organization, the three functions, the state
    machine) and five member accounts in one OU on moto, the Lambda backend dispatching to the
    real handlers."""
    with mock_aws(config={"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}):
        org = build_org()
        orgs = org.organizations
        root = orgs.list_roots()["Roots"][0]["Id"]
        teams = orgs.create_organizational_unit(ParentId=root, Name="teams")["OrganizationalUnit"]["Id"]
        ids = {
            name: create_account(orgs, name, teams)
            for name in ("norole", "latent", "healthy", "flaky", "stuck")
        }
        create_account(orgs, "outside")  # under the root: not in the run's OU
        dists = {
            "latent": distribution(member_session(ids["latent"]), lab["broken"].port, "l", domain=ORIGIN),
            "healthy": distribution(member_session(ids["healthy"]), lab["good"].port, "h", domain=ORIGIN),
            "flaky": distribution(member_session(ids["flaky"]), lab["good"].port, "f", domain=ORIGIN),
        }
        sts = Sts(denied=[ids["norole"]], throttled={ids["flaky"]: 1, ids["stuck"]: None})
        sts.install(monkeypatch)
        published = Published()
        published.install(monkeypatch)

        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        refs = {"ReportsBucket": org.bucket, "StateTable": org.table, "FindingsTopic": org.topic_arn}
        resources = load_org_template()["Resources"]
        functions = []
        for logical in FUNCTIONS:
            props = resources[logical]["Properties"]
            name = f"origin-auditor-org-{logical.removesuffix('Function').lower()}"
            env = {**function_env(logical, refs), "AWS_REGION": REGION, "AWS_LAMBDA_FUNCTION_NAME": name}
            if logical == "AccountAuditFunction":  # test-only: the lab's origins and root
                env |= {
                    "ORIGIN_AUDITOR_ALLOW_ADDRESSES": LOOPBACK_CIDRS,
                    "ORIGIN_AUDITOR_CA_BUNDLE": lab["bundle"],
                }
            arn = lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler=props["Handler"],
                Timeout=props["Timeout"],
                MemorySize=props["MemorySize"],
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            )["FunctionArn"]
            functions.append(
                Function(
                    logical, name, arn, real_handler(logical), env, props["MemorySize"], props["Timeout"]
                )
            )
        dispatcher = Dispatcher(functions)
        install_lambda(monkeypatch, dispatcher)
        _fill_result_files(monkeypatch, org.s3)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arns = {f.logical_id: f.arn for f in functions}
        machine = sfn.create_state_machine(
            name="origin-auditor-org",
            roleArn=role,
            definition=definition(substitutions(arns, bucket=org.bucket)),
        )["stateMachineArn"]
        yield {
            "org": org,
            "ids": ids,
            "teams": teams,
            "dists": dists,
            "sfn": sfn,
            "machine": machine,
            "dispatcher": dispatcher,
            "sts": sts,
            "published": published,
        }


def execute(world: dict[str, Any], name: str) -> dict[str, Any]:
    sfn = world["sfn"]
    started = sfn.start_execution(
        stateMachineArn=world["machine"], name=name, input=json.dumps({"include_ous": [world["teams"]]})
    )
    return wait_for(lambda: sfn.describe_execution(executionArn=started["executionArn"]), seconds=120)


def test_an_organization_run_executes_the_real_functions_in_the_real_definition(
    world: dict[str, Any], sleeps: list[float]
) -> None:
    org: Org = world["org"]
    ids, dispatcher = world["ids"], world["dispatcher"]
    out = execute(world, "run-1")
    assert out["status"] == "SUCCEEDED", out
    summary = json.loads(out["output"])
    calls = [(f, o) for f, _, o in dispatcher.calls]

    # Every function ran for real, through the template's handler paths.
    assert {f for f, _ in calls} == set(FUNCTIONS)
    assert dispatcher.payloads("ListAccountsFunction") == [
        ({"include_ous": [world["teams"]], "run_id": "run-1"}, "ok")
    ]
    # AccountThrottled raised by the real function is retried by the definition's Retry: the
    # flaky account's plan once (then audited), the stuck one's until the Catch (1 + MaxAttempts).
    plans = dispatcher.payloads("AccountAuditFunction", "plan")
    outcomes: dict[str, list[str]] = {}
    for payload, outcome in plans:
        outcomes.setdefault(payload["account_id"], []).append(outcome)
    retry = json.loads(DEFINITION.read_text())["States"]["Accounts"]["ItemProcessor"]["States"]["Plan"][
        "Retry"
    ][0]
    assert outcomes[ids["flaky"]] == ["AccountThrottled", "ok"]
    assert outcomes[ids["stuck"]] == ["AccountThrottled"] * (retry["MaxAttempts"] + 1)
    assert outcomes[ids["norole"]] == outcomes[ids["latent"]] == outcomes[ids["healthy"]] == ["ok"]
    assert len(sleeps) == 1 + retry["MaxAttempts"]
    audits = dispatcher.payloads("AccountAuditFunction", "audit")
    assert sorted(p["account_id"] for p, o in audits if o == "ok") == sorted(
        ids[n] for n in ("latent", "healthy", "flaky")
    )
    assert [o for _, o in audits] == ["ok"] * 3

    # The aggregate read what the real Map wrote: the result files beside the manifest.
    [(agg_input, _)] = dispatcher.payloads("AggregateFunction")
    manifest_key = agg_input["map"]["ResultWriterDetails"]["Key"]
    manifest = org.get_json(manifest_key)
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    assert manifest["ResultFiles"]["FAILED"] == []  # the definition catches every failure itself
    entries = org.get_json(succeeded["Key"])
    assert sorted(json.loads(e["Input"])["account_id"] for e in entries) == sorted(ids.values())
    stuck = [json.loads(e["Output"]) for e in entries if json.loads(e["Input"])["account_id"] == ids["stuck"]]
    assert stuck[0]["plan"]["reason"] == "AccountThrottled (after retries)"

    assert summary["run_id"] == "run-1"
    assert (summary["accounts"], summary["audited"], summary["not_audited"]) == (5, 3, 2)
    assert summary["published"] is True and summary["partial"] is True

    # One message, naming every account; the one without the role NOT AUDITED with its reason.
    [note] = org.published()
    assert note["Subject"].startswith("[LATENT] 1 LATENT")
    [call] = world["published"].calls
    assert call["TopicArn"] == org.topic_arn
    text = json.loads(call["Message"])["email"]
    assert f"{ids['norole']} (norole): AccessDenied" in text
    assert f"{ids['stuck']} (stuck): AccountThrottled (after retries)" in text
    assert "NOT AUDITED (2 accounts)" in text
    assert f"Account:  {ids['latent']} (latent)" in text
    assert "CHAIN_INCOMPLETE" in text
    for name in ("latent", "healthy", "flaky"):
        assert f"{ids[name]} ({name})" in text
    machine = json.loads(note["Message"])
    accounts = {a["account_id"]: a for a in machine["organization"]["accounts"]}
    assert {a: v["status"] for a, v in accounts.items()} == {
        ids["norole"]: "not_audited",
        ids["stuck"]: "not_audited",
        ids["latent"]: "audited",
        ids["healthy"]: "audited",
        ids["flaky"]: "audited",
    }
    assert accounts[ids["norole"]]["reason"].startswith("AccessDenied")
    [change] = [c for c in machine["notification"]["changes"] if c["kind"] == "new"]
    assert change["account"] == f"{ids['latent']} (latent)" and change["classification"] == "LATENT"

    # State: keyed per account; the accounts not audited have their blind spot remembered.
    state = org.state()
    assert any(k.startswith(f"t#{ids['latent']}#") and v["label"]["S"] == "LATENT" for k, v in state.items())
    for name in ("healthy", "flaky"):
        assert any(k.startswith(f"t#{ids[name]}#") and v["verdict"]["S"] == "pass" for k, v in state.items())
    assert {k for k in state if k.startswith("meta#coverage#")} == {
        f"meta#coverage#{ids['norole']}",
        f"meta#coverage#{ids['stuck']}",
    }

    # The organization report, and the chunk reports the real audit wrote.
    key = summary["report"]["key"]
    assert key.startswith("reports/") and key.endswith("-run-1-org.json")
    doc = org.get_json(key)
    assert {a["account_id"] for a in doc["accounts"]} == set(ids.values())
    [latent] = [a for a in doc["accounts"] if a["account_id"] == ids["latent"]]
    [chunk_key] = latent["reports"]
    assert chunk_key == f"org-runs/run-1/accounts/{ids['latent']}/0.json"
    chunk = org.get_json(chunk_key)
    assert chunk["account"] == ids["latent"]
    assert "CHAIN_INCOMPLETE" in {f["code"] for r in chunk["results"] for f in r["findings"]}

    # A second execution, same world: nothing new to tell.
    out2 = execute(world, "run-2")
    assert out2["status"] == "SUCCEEDED", out2
    summary2 = json.loads(out2["output"])
    assert summary2["published"] is False and (summary2["audited"], summary2["not_audited"]) == (3, 2)
    assert org.published() == [] and len(world["published"].calls) == 1
    assert org.get_json(summary2["report"]["key"])["accounts"]
