"""What both state-machine tests share: the definition file with template-org.yaml's
DefinitionSubstitutions applied, moto's Docker-less Lambda backend answering through a Python
callable, the Retry backoff recorded instead of slept, and a bounded wait for an execution."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from tests.unit.test_template_org import load_org_template

ROOT = Path(__file__).resolve().parents[3]
DEFINITION = ROOT / "statemachine" / "organization.asl.json"
REGION = "us-east-1"
BUCKET = "reports-bucket"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")

# One invocation: (function name, payload) -> (the answer, whether it is a function error).
Invoker = Callable[[str, dict[str, Any]], tuple[dict[str, Any], bool]]


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The Retry's backoff waits, recorded instead of slept (the interpreter sleeps for real)."""
    waited: list[float] = []

    class _Time:
        @staticmethod
        def sleep(seconds: float) -> None:
            waited.append(seconds)

    monkeypatch.setattr(retrier_decl, "time", _Time)
    return waited


def install_lambda(monkeypatch: pytest.MonkeyPatch, invoker: Invoker) -> None:
    """Moto's Docker-less Lambda backend answers each Invoke through ``invoker``."""

    def invoke(
        self: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        name = function_name.rsplit(":", 1)[-1]
        payload = json.loads(body or "{}")
        answer, failed = invoker(name, payload)
        if failed:  # what Lambda says of a function that raised: Step Functions names the error errorType
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(answer).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)


def substitutions(arns: dict[str, str], bucket: str = BUCKET) -> dict[str, str]:
    """template-org.yaml's DefinitionSubstitutions with the values CloudFormation would put in."""
    props = load_org_template()["Resources"]["OrganizationStateMachine"]["Properties"]
    params = load_org_template()["Parameters"]
    values = {}
    for key, ref in props["DefinitionSubstitutions"].items():
        if "Fn::GetAtt" in ref:
            values[key] = arns[ref["Fn::GetAtt"][0]]
        elif ref == {"Ref": "ReportsBucket"}:
            values[key] = bucket
        else:
            values[key] = str(params[ref["Ref"]]["Default"])
    return values


def definition(values: dict[str, str], *, result_writer: bool = True) -> str:
    text = DEFINITION.read_text()
    assert set(PLACEHOLDER.findall(text)) == set(values), "placeholders vs DefinitionSubstitutions"
    text = PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    asl = json.loads(text)
    if not result_writer:
        asl = copy.deepcopy(asl)
        del asl["States"]["Accounts"]["ResultWriter"]
    return json.dumps(asl)


def wait_for(describe: Callable[[], dict[str, Any]], seconds: float = 30) -> dict[str, Any]:
    """The execution's description once it is no longer RUNNING (bounded: ``seconds``)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        out = describe()
        if out["status"] != "RUNNING":
            return out
        time.sleep(0.05)
    raise AssertionError("the execution did not finish")
