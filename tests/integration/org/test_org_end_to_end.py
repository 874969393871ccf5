"""Organization mode end to end on moto: ListAccounts over an OU tree, the per-account plan and
audit assuming the member role in each account (real loopback TLS origins), the Map's results as
ResultWriter writes them, and the aggregate: one message, per-account state, the org report.

Five member accounts: ``norole`` (AssumeRole AccessDenied), ``latent`` (an origin missing its
intermediate, CloudWatch showing traffic and no 5xx: LATENT), ``healthy``, ``throttled`` (the Map
recorded it FAILED with AccountThrottled after its retries) and ``missing`` (no result at all).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from origin_auditor.model import Target
from origin_auditor.org.handlers import handle_aggregate, handle_audit_account, handle_list_accounts
from origin_auditor.probe import static_resolver
from origin_auditor.state import StateStore, TargetState, target_id
from origin_auditor.trust import TrustStore
from origin_auditor_lab import LOOPBACK_CIDRS
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer

from .conftest import NOW, REGION, MapRun, Org, create_account, deny_assume_role, distribution, member_session


class Spy:
    """The SNS client, keeping each Publish's arguments (the e-mail protocol's text is not
    delivered to the SQS subscriber, which gets the ``sqs`` protocol's JSON)."""

    def __init__(self, sns: Any) -> None:
        self.sns, self.calls = sns, []  # type: list[dict[str, Any]]

    def publish(self, **kw: Any) -> Any:
        self.calls.append(kw)
        return self.sns.publish(**kw)


class Ctx:
    aws_request_id = "req"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:org-account"

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki(hostnames=("origin.test",))


@pytest.fixture
def servers(pki: Pki) -> Iterator[tuple[TlsServer, TlsServer]]:
    broken, good = TlsServer([pki.leaf]), TlsServer(pki.chain())
    broken.start()
    good.start()
    try:
        yield broken, good
    finally:
        broken.close()
        good.close()


@pytest.fixture
def world(org: Org, servers: tuple[TlsServer, TlsServer]) -> dict[str, Any]:
    orgs = org.organizations
    root = orgs.list_roots()["Roots"][0]["Id"]
    teams = orgs.create_organizational_unit(ParentId=root, Name="teams")["OrganizationalUnit"]["Id"]
    web = orgs.create_organizational_unit(ParentId=teams, Name="web")["OrganizationalUnit"]["Id"]
    ids = {
        "norole": create_account(orgs, "norole", teams),
        "latent": create_account(orgs, "latent", web),
        "healthy": create_account(orgs, "healthy", web),
        "throttled": create_account(orgs, "throttled", teams),
        "missing": create_account(orgs, "missing", teams),
        "outside": create_account(orgs, "outside"),
    }  # under the root, not in the OU: not selected
    broken, good = servers
    dists = {
        "latent": distribution(member_session(ids["latent"]), broken.port, "b"),
        "healthy": distribution(member_session(ids["healthy"]), good.port, "c"),
    }
    return {"ids": ids, "teams": teams, "dists": dists, "broken": broken, "good": good}


def run_accounts(
    org: Org, world: dict[str, Any], pki: Pki, items: list[dict[str, Any]], base: boto3.Session
) -> dict[str, object]:
    """The item processor for each account, driven in-process: plan, then audit each chunk."""
    env = {**org.env, "ORIGIN_AUDITOR_ALLOW_ADDRESSES": LOOPBACK_CIDRS}
    trust = TrustStore.from_certificates([pki.root.cert], "test root")
    resolver = static_resolver({"origin.test": ["127.0.0.1"]})
    outputs: dict[str, object] = {}
    for item in items:
        plan = handle_audit_account({"action": "plan", **item}, Ctx(), env=env, base=base)
        if plan["status"] != "planned":
            outputs[item["account_id"]] = plan
            continue
        outputs[item["account_id"]] = [
            handle_audit_account(
                {"action": "audit", **item, "chunk": chunk},
                Ctx(),
                s3=org.s3,
                env=env,
                base=base,
                resolver=resolver,
                trust=trust,
            )
            for chunk in plan["chunks"]
        ]  # type: ignore[attr-defined]
    return outputs


def test_an_organization_run_audits_each_account_and_tells_one_message(
    org: Org, world: dict[str, Any], pki: Pki
) -> None:
    ids = world["ids"]
    # An origin the norole account had failing before: the account is not audited now, so this
    # state must be kept (not resolved, not removed), and the throttled account's too.
    kept = {name: target_id(Target(f"{name}.example", 443), ids[name]) for name in ("norole", "throttled")}
    StateStore(org.table, org.dynamodb).save(
        [
            TargetState(k, "fail", "LATENT", ("CHAIN_INCOMPLETE",), f"{n}.example:443", 1.0, audited_at=1.0)
            for n, k in kept.items()
        ],
        now=1.0,
    )

    listed = handle_list_accounts(
        {"run_id": "run-1", "include_ous": [world["teams"]]},
        Ctx(),
        organizations=org.organizations,
        s3=org.s3,
        env=org.env,
        now=NOW.timestamp(),
    )
    assert listed["count"] == 5 and listed["accounts_key"] == "org-runs/run-1/accounts.json"
    items = org.get_json(listed["accounts_key"])
    assert {i["account_id"] for i in items} == {
        ids[n] for n in ("norole", "latent", "healthy", "throttled", "missing")
    }

    base = boto3.Session(region_name=REGION)
    deny_assume_role(base, [ids["norole"]])
    audited = [i for i in items if i["account_id"] in (ids["norole"], ids["latent"], ids["healthy"])]
    outputs = run_accounts(org, world, pki, audited, base)
    assert outputs[ids["norole"]]["status"] == "not_audited"  # type: ignore[index]
    assert "AccessDenied" in outputs[ids["norole"]]["reason"]  # type: ignore[index]
    [latent_chunk] = outputs[ids["latent"]]  # type: ignore[misc]
    assert latent_chunk["status"] == "audited" and latent_chunk["counts"] == {"LATENT": 1}
    report = org.get_json(latent_chunk["report"]["key"])
    assert report["account"] == ids["latent"]
    assert "CHAIN_INCOMPLETE" in {f["code"] for r in report["results"] for f in r["findings"]}

    run = MapRun("run-1")
    by_id = {i["account_id"]: i for i in items}
    for account, output in outputs.items():
        run.succeeded(by_id[account], output)
    run.failed(
        by_id[ids["throttled"]],
        "AccountThrottled",
        "listing CloudFront distributions: Throttling: Rate exceeded",
    )
    map_output = run.write(org.s3, org.bucket)  # the "missing" account has no entry at all

    sns = Spy(org.sns)
    out = handle_aggregate(
        {"run_id": "run-1", "started_at": listed["started_at"], "list": listed, "map": map_output},
        Ctx(),
        s3=org.s3,
        dynamodb=org.dynamodb,
        sns=sns,
        env=org.env,
        now=NOW.timestamp(),
    )
    assert out["accounts"] == 5 and out["audited"] == 2 and out["not_audited"] == 3
    assert out["published"] is True and out["partial"] is True
    [note] = org.published()
    assert note["Subject"].startswith("[LATENT] 1 LATENT")
    machine = json.loads(note["Message"])
    [call] = sns.calls
    text = json.loads(call["Message"])["email"]
    # Every account not audited is named with its reason.
    assert f"{ids['norole']} (norole): AccessDenied" in text
    assert f"{ids['throttled']} (throttled): AccountThrottled: listing CloudFront distributions" in text
    assert f"{ids['missing']} (missing): NoResult: the map recorded no result for this account" in text
    assert "NOT AUDITED (3 accounts)" in text
    assert f"Account:  {ids['latent']} (latent)" in text  # the LATENT item names its account
    assert "Distributions across the audited accounts: 1 LATENT, 1 HEALTHY." in text
    organization = machine["organization"]
    assert organization["not_audited"] == 3 and organization["audited"] == 2
    assert {a["account_id"]: a["status"] for a in organization["accounts"]} == {
        ids["norole"]: "not_audited",
        ids["throttled"]: "not_audited",
        ids["missing"]: "not_audited",
        ids["latent"]: "audited",
        ids["healthy"]: "audited",
    }
    [latent_change] = [c for c in machine["notification"]["changes"] if c["kind"] == "new"]
    assert latent_change["account"] == f"{ids['latent']} (latent)"
    assert latent_change["classification"] == "LATENT"

    state = org.state()
    # Keys include the account; the accounts not audited keep their state as it was.
    assert any(k.startswith(f"t#{ids['latent']}#") and v["label"]["S"] == "LATENT" for k, v in state.items())
    assert any(k.startswith(f"t#{ids['healthy']}#") and v["verdict"]["S"] == "pass" for k, v in state.items())
    for k in kept.values():
        assert state[k]["verdict"]["S"] == "fail" and state[k]["updated"]["N"] == "1"
    assert {k for k in state if k.startswith("meta#coverage#")} == {
        f"meta#coverage#{ids[n]}" for n in ("norole", "throttled", "missing")
    }
    # The organization report names every account with its outcome and chunk reports.
    key = out["report"]["key"]  # type: ignore[index]
    assert key.endswith("-run-1-org.json") and key.startswith("reports/")
    doc = org.get_json(key)
    assert {a["account_id"]: a["reason"] is not None for a in doc["accounts"]}[ids["norole"]] is True
    assert [a["reports"] for a in doc["accounts"] if a["account_id"] == ids["latent"]] == [
        [latent_chunk["report"]["key"]]
    ]

    # The next run, the same outcome: nothing new to tell (blind spots are told once).
    out2 = handle_aggregate(
        {"run_id": "run-2", "started_at": listed["started_at"], "list": listed, "map": map_output},
        Ctx(),
        s3=org.s3,
        dynamodb=org.dynamodb,
        sns=org.sns,
        env=org.env,
        now=NOW.timestamp() + 60,
    )
    assert out2["published"] is False and out2["changes"] == 0
    assert org.published() == []
