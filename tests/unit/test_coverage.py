"""Issue 9 §1, finished: a partial run's blind spot is told once, when it is new, and its end
("coverage restored") once; the state table remembers it as the meta item ``meta#coverage``.
Pure: ``plan_changes`` over an in-memory state, and ``build_message``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

from origin_auditor.model import AuditReport, Unseen, UnseenKind, Verdict
from origin_auditor.notify import Plan, build_message, plan_changes
from origin_auditor.state import TargetState

from .test_notify import BROKEN, FINE, NOW, check_chat_payload, report, result

COVERAGE = "meta#coverage"
LISTING = Unseen(UnseenKind.LISTING, "", "Throttling: Rate exceeded", seen=3)
WHOLE = report([FINE])


def partial(*unseen: Unseen, base: AuditReport = WHOLE) -> AuditReport:
    return replace(base, unseen=unseen)


def step(rep: AuditReport, state: Mapping[str, TargetState] | None, now: float,
         whole_account: bool = True, **kw: object) -> tuple[Plan, dict[str, TargetState]]:
    """One run: its plan, and the state table after it saved everything it planned."""
    plan = plan_changes(rep, state, now=now, whole_account=whole_account, **kw)  # type: ignore[arg-type]
    after = dict(state or {})
    after.update({s.key: s for s in plan.states})
    for k in plan.delete:
        after.pop(k)
    return plan, after


def kinds(plan: Plan) -> list[str]:
    return [str(c.kind) for c in plan.changes]


def test_a_partial_run_where_nothing_else_changed_says_so_once() -> None:
    plan, state = step(WHOLE, {}, NOW)
    assert plan.changes == () and COVERAGE not in state  # complete from the start: nothing to remember
    plan, state = step(partial(LISTING), state, NOW + 3600)
    assert kinds(plan) == ["partial"]
    assert state[COVERAGE].verdict == "partial" and state[COVERAGE].last_notified == NOW + 3600
    assert build_message(partial(LISTING), plan) is not None
    # The same blind spot an hour later, with other volatile details (how many were listed,
    # the error's message text): nothing new to tell.
    again = Unseen(UnseenKind.LISTING, "", "Throttling: Rate exceeded (slow down)", seen=6)
    plan, state = step(partial(again), state, NOW + 7200)
    assert plan.changes == () and build_message(partial(again), plan) is None


def test_a_different_blind_spot_is_told() -> None:
    _, state = step(partial(LISTING), {}, NOW)
    denied = Unseen(UnseenKind.LISTING, "", "AccessDenied: not authorized", seen=3)
    plan, state = step(partial(denied), state, NOW + 3600)
    assert kinds(plan) == ["partial"]  # the listing stops for another reason
    policy = Unseen(UnseenKind.DISTRIBUTION, "E7", "policy p1: AccessDenied: no; the targets its "
                                                   "alternate domain names reach are unknown")
    plan, state = step(partial(denied, policy), state, NOW + 7200)
    assert kinds(plan) == ["partial"]  # a distribution no run had said it could not read
    assert plan.changes[0].blind_spot == ("distribution E7: policy AccessDenied", "listing: AccessDenied")
    # Less than was told (only the throttled listing again): told already, not repeated.
    plan, state = step(partial(LISTING), state, NOW + 10800)
    assert plan.changes == ()


def test_coverage_restored_is_told_once_by_a_complete_whole_account_run() -> None:
    _, state = step(partial(LISTING), {}, NOW)
    # A run for some distributions only (a CloudTrail change) saw all it was asked about, which
    # says nothing about the account's listing.
    plan, state = step(WHOLE, state, NOW + 60, whole_account=False)
    assert plan.changes == ()
    plan, state = step(WHOLE, state, NOW + 3600)
    assert kinds(plan) == ["coverage_restored"]
    [restored] = plan.changes
    assert restored.previous_verdict == "partial" and state[COVERAGE].verdict == "pass"
    plan, state = step(WHOLE, state, NOW + 7200)
    assert plan.changes == ()
    plan, state = step(partial(LISTING), state, NOW + 10800)
    assert kinds(plan) == ["partial"]  # blind again after coverage was restored: new again


def test_the_blind_spot_is_told_first_and_with_other_changes() -> None:
    before = step(report([BROKEN]), {}, NOW)[1]
    fixed = partial(LISTING, base=report([result("a.test", Verdict.PASS)]))
    plan, _ = step(fixed, before, NOW + 60)
    assert kinds(plan) == ["partial", "resolved"]


def test_a_blind_spot_another_run_is_telling_is_left_to_it() -> None:
    _, state = step(partial(LISTING), {}, NOW)
    other = Unseen(UnseenKind.DISTRIBUTION, "E9", "AccessDenied: no")
    claimed = {COVERAGE: replace(state[COVERAGE], claimed_by="other", claimed_until=NOW + 600)}
    plan, _ = step(partial(other), claimed, NOW + 60, run_id="me")
    assert plan.changes == () and COVERAGE in plan.owned and COVERAGE not in {s.key for s in plan.states}
    newer = {COVERAGE: replace(state[COVERAGE], audited_at=NOW + 120)}
    plan, _ = step(WHOLE, newer, NOW + 130, run_id="me", audited_at=NOW + 60)
    assert plan.changes == () and COVERAGE in plan.owned


def test_without_the_state_table_a_partial_run_says_so() -> None:
    plan = plan_changes(partial(LISTING), None, now=NOW, whole_account=True)
    assert kinds(plan) == ["partial"] and not plan.dedup_available
    assert plan_changes(WHOLE, None, now=NOW, whole_account=True).changes == ()


def test_throttling_that_hits_other_distributions_each_run_is_one_blind_spot() -> None:
    def throttled(*ids: str) -> AuditReport:
        return partial(*(Unseen(UnseenKind.DISTRIBUTION, i, "Throttling: Rate exceeded") for i in ids))

    plan, state = step(throttled("E1", "E2"), {}, NOW)
    assert [c.blind_spot for c in plan.changes] == [("distributions: Throttling",)]
    plan, state = step(throttled("E3"), state, NOW + 3600)
    assert plan.changes == ()  # which distribution a throttle hits is chance: nothing new


def test_thousands_of_unreadable_distributions_make_a_bounded_blind_spot() -> None:
    many = [Unseen(UnseenKind.DISTRIBUTION, f"E{i:05d}", "AccessDenied: no") for i in range(5000)]
    plan, state = step(partial(*many), {}, NOW)
    assert kinds(plan) == ["partial"] and state[COVERAGE].codes == ("distributions: AccessDenied",)
    others = [Unseen(UnseenKind.DISTRIBUTION, f"F{i:05d}", "AccessDenied: no") for i in range(5000)]
    plan, _ = step(partial(*others), state, NOW + 3600)
    assert plan.changes == ()  # denied again, other distributions: folded into the same entry
    plan, _ = step(partial(Unseen(UnseenKind.DISTRIBUTION, "G1", "AccessDenied: no")), state, NOW + 7200)
    assert plan.changes == ()


def test_the_partial_message_says_what_how_much_why_and_what_it_means_in_every_channel() -> None:
    rep = partial(LISTING, Unseen(UnseenKind.DISTRIBUTION, "E7", "AccessDenied: no"))
    msg = build_message(rep, step(rep, {}, NOW)[0])
    assert msg is not None
    assert msg.subject.startswith("[PARTIAL] ") and "3" in msg.subject and "Throttling" in msg.subject
    assert len(msg.subject) < 100 and msg.severity == "warn" and msg.label == "PARTIAL"
    assert msg.attributes["classification"]["StringValue"] == "PARTIAL"
    assert msg.attributes["event"]["StringValue"] == "coverage"
    email = " ".join(msg.structure["email"].split())  # the e-mail is wrapped at 80 columns
    assert "PARTIAL RUN" in email and "stopped after 3" in email and "E7 (AccessDenied: no)" in email
    assert "nothing there is reported resolved or removed" in email
    assert "nothing unseen was resolved or removed" in email and "told once" in email
    chat = json.loads(msg.structure["https"])
    assert check_chat_payload(chat) == []
    assert "stopped after 3" in chat["content"]["description"]
    # What to do about each cause (the throttled listing, the denied read), first.
    assert chat["content"]["nextSteps"][0].startswith("CloudFront's API throttled or failed")
    assert "cloudfront:GetDistribution" in chat["content"]["nextSteps"][1]
    [change] = json.loads(msg.structure["sqs"])["notification"]["changes"]
    assert change["kind"] == "partial" and change["key"] == COVERAGE
    assert change["blind_spot"] == ["distribution E7: AccessDenied", "listing: Throttling"]


def test_the_restored_message_says_the_run_is_complete_again_and_what_was_unseen() -> None:
    _, state = step(partial(LISTING), {}, NOW)
    plan, _ = step(WHOLE, state, NOW + 3600)
    msg = build_message(WHOLE, plan)
    assert msg is not None
    assert msg.subject.startswith("[RESOLVED] ") and "complete again" in msg.subject
    assert msg.severity == "info" and msg.attributes["event"]["StringValue"] == "coverage"
    email = " ".join(msg.structure["email"].split())  # the e-mail is wrapped at 80 columns
    assert "COVERAGE RESTORED" in email and "listing: Throttling" in email
    assert "PARTIAL RUN" not in email
    assert check_chat_payload(json.loads(msg.structure["https"])) == []
    [change] = json.loads(msg.structure["sqs"])["notification"]["changes"]
    assert change["kind"] == "coverage_restored" and change["blind_spot"] == ["listing: Throttling"]
