"""Organization mode's state keys: the account is in the key, and single-account keys keep their
meaning (issue 12: extend notify.changes compatibly)."""

from __future__ import annotations

import hashlib

from origin_auditor.model import AuditReport, Target, TargetResult, Verdict
from origin_auditor.notify import COVERAGE_KEY, coverage_key, plan_changes
from origin_auditor.state import TargetState, is_target_key, target_id

NOW = 1_750_000_000.0
A, B = "111111111111", "222222222222"


def test_single_account_key_is_unchanged_and_the_account_key_includes_the_account() -> None:
    t = Target("origin.example", 443)
    digest = hashlib.sha256(
        "\x1f".join(["origin.example", "443", "origin.example", "TLSv1.2"]).encode()
    ).hexdigest()
    assert target_id(t) == "t#" + digest[:32]  # as every table written before issue 12 holds it
    assert target_id(t, A) == f"t#{A}#{digest[:32]}" != target_id(t, B)
    assert is_target_key(target_id(t)) and not is_target_key(target_id(t, A))
    assert is_target_key(target_id(t, A), A) and not is_target_key(target_id(t, A), B)
    assert coverage_key() == COVERAGE_KEY and coverage_key(A) == f"{COVERAGE_KEY}#{A}"


def _state(key: str) -> TargetState:
    return TargetState(
        key, "fail", "LATENT", ("CHAIN_INCOMPLETE",), "gone.example:443", NOW - 10, NOW - 10, version=1
    )


def test_a_whole_account_single_run_never_removes_an_organization_item() -> None:
    gone = Target("gone.example")
    previous = {target_id(gone): _state(target_id(gone)), target_id(gone, A): _state(target_id(gone, A))}
    plan = plan_changes(AuditReport("t", ()), previous, now=NOW, whole_account=True)
    assert plan.delete == (target_id(gone),)


def test_an_account_plan_keys_by_the_account_and_removes_only_its_own_items() -> None:
    live, gone = Target("live.example"), Target("gone.example")
    report = AuditReport("t", (TargetResult(live, Verdict.PASS, ()),), account=A)
    previous = {
        target_id(gone, A): _state(target_id(gone, A)),
        target_id(gone, B): _state(target_id(gone, B)),
        target_id(gone): _state(target_id(gone)),
    }
    plan = plan_changes(report, previous, now=NOW, whole_account=True, account=A)
    assert [s.key for s in plan.states] == [target_id(live, A)]
    assert plan.delete == (target_id(gone, A),)
    assert [c.key for c in plan.changes] == [target_id(gone, A)]  # REMOVED, its account's key
