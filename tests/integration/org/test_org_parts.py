"""Organization mode's parts on moto: the account selection (filters, nothing dropped silently),
the per-account function's throttling (raised for the Map's Retry) and the Map results' edge
cases (PENDING, TIMED_OUT, an output not understood, unreadable results)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from origin_auditor.org import account as account_mod
from origin_auditor.org import results
from origin_auditor.org.account import AccountThrottled
from origin_auditor.org.accounts import InputError, Request, select
from origin_auditor.org.handlers import handle_audit_account
from origin_auditor.org.settings import OrgSettings
from origin_auditor.settings import ConfigError

from .conftest import REGION, MapRun, Org, create_account


def test_selection_filters_by_ou_and_names_every_account_left_out(org: Org) -> None:
    orgs = org.organizations
    root = orgs.list_roots()["Roots"][0]["Id"]
    teams = orgs.create_organizational_unit(ParentId=root, Name="teams")["OrganizationalUnit"]["Id"]
    sandbox = orgs.create_organizational_unit(ParentId=teams, Name="sandbox")["OrganizationalUnit"]["Id"]
    a, b, c = (
        create_account(orgs, "a", teams),
        create_account(orgs, "b", sandbox),
        create_account(orgs, "c", teams),
    )
    out = select(orgs, Request("r", include_ous=(teams,), exclude_accounts=(c,)))
    assert [x for x, _ in out.accounts] == sorted([a, b])  # b is two levels down
    assert dict(out.skipped) == {c: "excluded (exclude_accounts)"}
    out = select(orgs, Request("r", include_ous=(teams,), exclude_ous=(sandbox,)))
    assert [x for x, _ in out.accounts] == sorted([a, c])
    assert dict(out.skipped) == {b: "excluded (under an OU in exclude_ous)"}
    out = select(orgs, Request("r", accounts=(a, "999999999999")))
    assert [x for x, _ in out.accounts] == [a]
    assert dict(out.skipped) == {"999999999999": "not an account of this organization"}


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"run_id": "r", "accounts": ["12"]},
        {"run_id": "r", "include_ous": ["nope"]},
        {"run_id": "r", "accounts": ["111111111111"], "include_ous": ["ou-abcd-12345678"]},
        {"run_id": "r", "bogus": 1},
    ],
)
def test_a_wrong_input_is_refused_before_anything_is_listed(event: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        Request.parse(event)


def test_throttling_raises_for_the_maps_retry_and_access_denied_returns_not_audited(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = boto3.Session(region_name=REGION)
    # The member account's session answers ListDistributions as CloudFront does when it throttles
    # (after the client's retries) or refuses.
    monkeypatch.setattr(account_mod, "_session", lambda *a: base)
    code = {"value": "Throttling"}

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        status = 400 if code["value"] == "Throttling" else 403
        return SimpleNamespace(status_code=status, headers={}), {
            "Error": {"Code": code["value"], "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    base.events.register("before-call.cloudfront.ListDistributions", answer)
    event = {"action": "plan", "account_id": "111111111111", "account_name": "x", "run_id": "r"}
    with pytest.raises(AccountThrottled, match="Throttling"):
        handle_audit_account(event, None, env=org.env, base=base)
    code["value"] = "AccessDenied"
    out = handle_audit_account(event, None, env=org.env, base=base)
    assert out["status"] == "not_audited" and str(out["reason"]).startswith("AccessDenied")


def test_every_account_ends_with_one_outcome_whatever_the_map_recorded(org: Org) -> None:
    items = {f"{i:012d}": f"n{i}" for i in range(1, 6)}
    run = MapRun("r")
    item = {a: {"account_id": a, "account_name": n, "run_id": "r"} for a, n in items.items()}
    run.succeeded(item["000000000001"], [])  # no distributions: audited, nothing to read
    run.succeeded(item["000000000002"], {"unexpected": True})
    pending = run._entry(item["000000000003"], "PENDING")
    run.entries["PENDING"].append(pending)
    timed_out = {**run._entry(item["000000000004"], "TIMED_OUT"), "Error": "States.Timeout", "Cause": ""}
    run.entries["FAILED"].append(timed_out)
    out, notes = results.read(org.s3, run.write(org.s3, org.bucket), items)
    assert {a: (r.status, r.reason.split(":")[0].split(" (")[0]) for a, r in out.items()} == {
        "000000000001": ("audited", ""),
        "000000000002": ("not_audited", "the map's output for this account was not understood"),
        "000000000003": ("not_audited", "the map did not finish this account"),
        "000000000004": ("not_audited", "States.Timeout"),
        "000000000005": ("not_audited", "NoResult"),
    }
    assert notes == []
    broken = {"ResultWriterDetails": {"Bucket": org.bucket, "Key": "org-runs/r/map/none/manifest.json"}}
    out, notes = results.read(org.s3, broken, items)
    assert {r.status for r in out.values()} == {"not_audited"}
    assert all("could not be read" in r.reason for r in out.values()) and len(notes) == 1
    out, notes = results.read(org.s3, {"Error": "States.ItemReaderFailed"}, items)
    assert all("States.ItemReaderFailed" in r.reason for r in out.values())
    json.dumps(notes)


def test_organization_functions_read_the_probing_switches_like_the_single_account_function() -> None:
    base = {"REPORTS_BUCKET_NAME": "b"}
    assert OrgSettings.from_env(base).fetch_issuers is True
    assert OrgSettings.from_env({**base, "ORIGIN_AUDITOR_FETCH": "off"}).fetch_issuers is False
    with pytest.raises(ConfigError) as bad:
        OrgSettings.from_env({**base, "ORIGIN_AUDITOR_FETCH": "sometimes", "REMINDER_HOURS": "0"})
    assert "ORIGIN_AUDITOR_FETCH" in str(bad.value) and "REMINDER_HOURS" in str(bad.value)
