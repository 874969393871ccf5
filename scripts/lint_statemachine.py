"""`make validate`: the organization state machine's definition through cfn-lint's Amazon States
Language schema (rule E3601), as CloudFormation will see it after DefinitionSubstitutions.

`sam validate --lint` checks template-org.yaml but not the file its DefinitionUri names (SAM
uploads that file as is), so this substitutes every ${Name} the template maps (stand-in ARNs,
the parameters' defaults) and lints the result as an inline definition. Runs with the SAM CLI's
venv (.venv-sam), which has cfn-lint; exits non-zero on any finding or unmapped placeholder.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from cfnlint.api import ManualArgs, lint  # type: ignore[import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template-org.yaml"


class _Loader(yaml.SafeLoader):
    """CloudFormation's short tags read as plain values (only the substitution map's keys matter)."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: loader.construct_scalar(node)}
                              if isinstance(node, yaml.ScalarNode) else None)


def substituted(template: dict[str, Any]) -> dict[str, Any]:
    machine = template["Resources"]["OrganizationStateMachine"]["Properties"]
    text = (ROOT / machine["DefinitionUri"]).read_text()
    params = template["Parameters"]
    values = {}
    for key, ref in machine["DefinitionSubstitutions"].items():
        target = ref.get("Ref") if isinstance(ref, dict) else None
        if target in params:
            values[key] = str(params[target]["Default"])
        elif key.endswith("FunctionArn"):
            values[key] = f"arn:aws:lambda:us-east-1:123456789012:function:{key}"
        else:
            values[key] = key.lower()
    missing = set(re.findall(r"\$\{(\w+)\}", text)) - set(values)
    if missing:
        sys.exit(f"{machine['DefinitionUri']}: no DefinitionSubstitutions for {sorted(missing)}")
    out: dict[str, Any] = json.loads(re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text))
    return out


def main() -> int:
    template = yaml.load(TEMPLATE.read_text(), Loader=_Loader)  # noqa: S506 -- a SafeLoader subclass
    probe = {"Resources": {"Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
        "RoleArn": "arn:aws:iam::123456789012:role/r", "Definition": substituted(template)}}}}
    matches = lint(json.dumps(probe), config=ManualArgs(regions=["us-east-1"]))
    for m in matches:
        print(f"statemachine definition: {m}", file=sys.stderr)
    if not matches:
        print("statemachine/organization.asl.json (substituted) passes cfn-lint's States Language schema")
    return 1 if matches else 0


if __name__ == "__main__":
    sys.exit(main())
