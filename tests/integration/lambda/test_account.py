"""Issue 11: every message names the account. The handler knows it from the audited role's ARN,
else from its own function ARN (the Lambda context), at no API call."""

from __future__ import annotations

import json

from origin_auditor.model import Verdict
from origin_auditor.rules import Code

from .conftest import Aws, Context, load_event
from .test_handler import World, run


def test_the_message_names_the_functions_account(aws: Aws) -> None:
    out = run(aws, World(www=(Verdict.FAIL, [Code.CHAIN_INCOMPLETE])),
              context=Context(invoked_function_arn="arn:aws:lambda:us-east-1:444455556666:function:f"))
    assert out["account"] == "444455556666"
    [note] = aws.published()
    assert json.loads(note["Message"])["account"] == "444455556666"  # the sqs protocol's report


def test_an_audited_roles_account_wins_over_the_functions(aws: Aws) -> None:
    event = {**load_event("manual.json"), "role_arn": "arn:aws:iam::777788889999:role/origin-auditor-read"}
    out = run(aws, World(www=(Verdict.PASS, [])), event=event)
    assert out["account"] == "777788889999"


def test_without_a_context_arn_the_account_is_unknown_and_said_so(aws: Aws) -> None:
    out = run(aws, World(www=(Verdict.FAIL, [Code.CHAIN_INCOMPLETE])),
              context=Context(invoked_function_arn="not-an-arn"))
    assert out["account"] is None
