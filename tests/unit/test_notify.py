"""Change detection and the SNS message: what changed, said once, within SNS's limits, in a
shape Amazon Q Developer in chat applications accepts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from origin_auditor.events import AlarmContext
from origin_auditor.model import (
    AuditReport,
    Classification,
    DistributionReport,
    Finding,
    NotAudited,
    Severity,
    Target,
    TargetResult,
    Unseen,
    UnseenKind,
    Verdict,
)
from origin_auditor.notify import (
    LABEL_ORDER,
    MAX_MESSAGE_BYTES,
    ChangeKind,
    build_message,
    plan_changes,
    target_label,
)
from origin_auditor.rules import Code
from origin_auditor.state import TargetState, probe_order, target_id

NOW = 1_750_000_000.0


def result(host: str, verdict: Verdict, codes: Sequence[Code] = (), dists: Sequence[str] = ("E1",),
           not_probed: bool = False) -> TargetResult:
    sev = {Verdict.FAIL: Severity.FAIL, Verdict.WARN: Severity.WARN, Verdict.PASS: Severity.INFO}[verdict]
    findings = tuple(Finding(c, sev, f"{c} on {host}", hint=f"fix {c}") for c in codes)
    if not_probed:
        findings = (Finding(Code.ORIGIN_NOT_PROBED, Severity.INFO, "out of time"),)
    return TargetResult(Target(host, distribution_ids=tuple(dists)), verdict, findings,
                        reproduce=f"openssl s_client -connect {host}:443 -servername {host} -showcerts",
                        not_audited=NotAudited.TIME_BUDGET if not_probed else None)


def report(results: Sequence[TargetResult], classes: dict[str, str] | None = None) -> AuditReport:
    dists: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        for d in r.target.distribution_ids:
            dists.setdefault(d, []).append(i)
    return AuditReport("2025-06-01T12:00:00Z", tuple(results),
                       tuple(DistributionReport(d, (classes or {}).get(d, "HEALTHY"), results=tuple(idx))
                             for d, idx in dists.items()))


def state_of(rep: AuditReport, now: float = NOW, **kw: Any) -> dict[str, TargetState]:
    return {s.key: s for s in plan_changes(rep, {}, now=now, **kw).states}


def kinds(plan: Any) -> list[tuple[str, str]]:
    return [(str(c.kind), c.display) for c in plan.changes]


BROKEN = result("a.test", Verdict.FAIL, [Code.CHAIN_INCOMPLETE])
FINE = result("b.test", Verdict.PASS)


def test_first_failure_is_new_and_unchanged_second_run_says_nothing() -> None:
    rep = report([BROKEN, FINE], {"E1": "LATENT"})
    first = plan_changes(rep, {}, now=NOW)
    assert kinds(first) == [("new", "a.test:443")]
    second = plan_changes(rep, {s.key: s for s in first.states}, now=NOW + 3600)
    assert second.changes == ()
    assert build_message(rep, second) is None


def test_fixed_origin_is_a_resolution() -> None:
    before = state_of(report([BROKEN]))
    plan = plan_changes(report([result("a.test", Verdict.PASS)]), before, now=NOW + 60)
    assert kinds(plan) == [("resolved", "a.test:443")]
    msg = build_message(report([result("a.test", Verdict.PASS)]), plan)
    assert msg is not None and msg.subject == "[RESOLVED] 1 fixed | E1"
    assert msg.severity == "info"


def test_escalations_warn_to_fail_latent_to_outage_and_new_codes() -> None:
    warn = report([result("a.test", Verdict.WARN, [Code.CERT_EXPIRING_SOON])])
    assert kinds(plan_changes(report([BROKEN]), state_of(warn), now=NOW)) == [("escalated", "a.test:443")]
    latent = report([BROKEN], {"E1": "LATENT"})
    outage = report([BROKEN], {"E1": "OUTAGE"})
    assert kinds(plan_changes(outage, state_of(latent), now=NOW)) == [("escalated", "a.test:443")]
    more = report([result("a.test", Verdict.FAIL, [Code.CHAIN_INCOMPLETE, Code.CERT_EXPIRED])])
    assert kinds(plan_changes(more, state_of(report([BROKEN])), now=NOW)) == [("escalated", "a.test:443")]


def test_labels_rank_alerting_classifications_over_a_plain_fail() -> None:
    # The alerting classifications (read from Classification) lead, then the target's own verdict.
    assert LABEL_ORDER == ("OUTAGE", "LATENT", "FAIL", "AT_RISK", "HEALTHY")
    assert [c for c in Classification if c.alerts] == [Classification.OUTAGE, Classification.LATENT]
    # A failing origin shared by an OUTAGE and a LATENT distribution is notified as the worse;
    # in a distribution that does not alert (IDLE, UNKNOWN, ...) it is a plain FAIL.
    shared = result("a.test", Verdict.FAIL, [Code.CHAIN_INCOMPLETE], dists=("E1", "E2"))
    assert target_label(report([shared], {"E1": "LATENT", "E2": "OUTAGE"}), 0) == "OUTAGE"
    for quiet in ("IDLE", "UNKNOWN", "NOT_AUDITED", "ERRORS_NOT_TLS", "HEALTHY"):
        assert target_label(report([shared], {"E1": quiet, "E2": quiet}), 0) == "FAIL"
    assert target_label(report([result("b.test", Verdict.WARN, [Code.CERT_EXPIRING_SOON])]), 0) == "AT_RISK"
    assert target_label(report([FINE]), 0) == "HEALTHY"


def test_still_failing_is_reminded_every_reminder_hours_only() -> None:
    rep = report([BROKEN])
    before = state_of(rep)
    assert plan_changes(rep, before, now=NOW + 23 * 3600, reminder_hours=24).changes == ()
    plan = plan_changes(rep, before, now=NOW + 24 * 3600, reminder_hours=24)
    assert kinds(plan) == [("reminder", "a.test:443")]
    msg = build_message(rep, plan)
    assert msg is not None and "still failing" in msg.subject


def test_out_of_time_target_keeps_its_failing_state_instead_of_resolving() -> None:
    before = state_of(report([BROKEN]))
    plan = plan_changes(report([result("a.test", Verdict.PASS, not_probed=True)]), before, now=NOW,
                        whole_account=True)
    assert plan.changes == () and plan.states == () and plan.delete == ()


def test_origin_removed_from_every_distribution_is_reported_on_whole_account_runs_only() -> None:
    before = state_of(report([BROKEN, FINE]))
    rep = report([FINE])
    assert plan_changes(rep, before, now=NOW).changes == ()
    plan = plan_changes(rep, before, now=NOW, whole_account=True)
    assert kinds(plan) == [("removed", "a.test:443")]
    assert plan.delete == (target_id(BROKEN.target),)


def test_a_target_gone_is_said_as_a_changed_route_never_as_resolved() -> None:
    # e.g. after every route started forwarding Host: the origin-domain target is no longer sent
    before = state_of(report([BROKEN, FINE]))
    rep = report([FINE])
    plan = plan_changes(rep, before, now=NOW, whole_account=True)
    msg = build_message(rep, plan)
    assert msg is not None
    body = msg.structure["email"]
    assert "REMOVED" in body and "RESOLVED" not in body
    words = " ".join(body.split())
    assert "No distribution reaches this origin with this name and these protocols any more" in words


def test_the_same_origin_seen_twice_in_a_run_stands_at_its_worst_never_resolved() -> None:
    # An organization account's chunks can each probe an origin their distributions share.
    before = state_of(report([BROKEN]))
    seen_passing = result("a.test", Verdict.PASS, dists=["E2"])
    for results in ([seen_passing, BROKEN], [BROKEN, seen_passing]):
        plan = plan_changes(report(results), before, now=NOW + 60)
        assert [c.kind for c in plan.changes] == []  # not RESOLVED: another probe saw it failing
        [state] = [s for s in plan.states if s.key == target_id(BROKEN.target)]
        assert state.verdict == "fail"


def test_dedup_unavailable_reports_every_problem_and_says_so() -> None:
    rep = report([BROKEN, FINE])
    plan = plan_changes(rep, None, now=NOW)
    assert not plan.dedup_available and kinds(plan) == [("new", "a.test:443")]
    msg = build_message(rep, plan)
    assert msg is not None and "dedup unavailable" in msg.structure["default"]


def test_daily_digest_when_nothing_changed_once_a_day() -> None:
    rep = report([BROKEN])
    before = state_of(rep)
    plan = plan_changes(rep, before, now=NOW + 3600, digest=True)
    assert [c.kind for c in plan.changes] == [ChangeKind.DIGEST]
    after = {**before, **{s.key: s for s in plan.states}}
    assert plan_changes(rep, after, now=NOW + 7200, digest=True).changes == ()
    msg = build_message(rep, plan)
    assert msg is not None and msg.subject.startswith("[DIGEST]")


def test_subject_leads_with_the_worst_classification_and_is_sns_safe() -> None:
    rep = report([result("a.test", Verdict.WARN, [Code.CERT_EXPIRING_SOON], dists=["E2"]),
                  result("b.test", Verdict.FAIL, [Code.CHAIN_INCOMPLETE], dists=["EEXAMPLE"]),
                  result("c.test", Verdict.FAIL, [Code.CHAIN_WRONG_ORDER], dists=["E3"])],
                 {"EEXAMPLE": "LATENT", "E3": "OUTAGE", "E2": "HEALTHY"})
    msg = build_message(rep, plan_changes(rep, {}, now=NOW))
    assert msg is not None
    # Issue 11: every classification counted, worst first; LATENT never hides in "(+2 more)".
    assert msg.subject == "[OUTAGE] 1 origin failing now | 1 LATENT (cache is hiding it) | 1 at risk | E3"
    latent_only = report([rep.results[1]], {"EEXAMPLE": "LATENT"})
    msg2 = build_message(latent_only, plan_changes(latent_only, {}, now=NOW))
    assert msg2 is not None
    assert msg2.subject == "[LATENT] 1 LATENT (cache is hiding it) | EEXAMPLE"


def test_subject_stays_under_100_ascii_chars_without_line_breaks() -> None:
    results = [result(f"h{i}.test", Verdict.FAIL, [Code.CHAIN_INCOMPLETE], dists=[f"EVERYLONGDISTID{i:04d}"])
               for i in range(40)]
    rep = report(results, {f"EVERYLONGDISTID{i:04d}": "LATENT" for i in range(40)})
    msg = build_message(rep, plan_changes(rep, {}, now=NOW))
    assert msg is not None
    assert len(msg.subject) < 100 and msg.subject.isascii() and "\n" not in msg.subject
    assert msg.subject == "[LATENT] 40 LATENT (cache is hiding them) | EVERYLONGDISTID0000 +39 more"


def test_email_text_says_what_why_fix_and_how_to_verify() -> None:
    rep = report([BROKEN], {"E1": "LATENT"})
    alarm = AlarmContext("www-5xx", "ALARM", "OK", "Threshold Crossed", "5xxErrorRate", None, None)
    msg = build_message(rep, plan_changes(rep, {}, now=NOW), alarm=alarm)
    assert msg is not None
    text = msg.structure["email"]
    assert msg.structure["default"] == text
    flat = " ".join(text.split())
    assert "CHAIN_INCOMPLETE (fail)" in flat
    assert "Browsers fetch it (AIA); CloudFront does not" in flat  # why (rules.CODES meaning)
    assert "Fix: fix CHAIN_INCOMPLETE" in flat
    assert "Verify: openssl s_client -connect a.test:443" in flat
    assert "cached objects are masking it" in flat
    assert "CloudWatch alarm 'www-5xx' (OK -> ALARM" in flat


def test_attributes_and_machine_payload_carry_severity_and_classification() -> None:
    rep = report([BROKEN], {"E1": "LATENT"})
    msg = build_message(rep, plan_changes(rep, {}, now=NOW))
    assert msg is not None
    assert msg.attributes["severity"] == {"DataType": "String", "StringValue": "fail"}
    assert msg.attributes["classification"]["StringValue"] == "LATENT"
    assert json.loads(msg.attributes["codes"]["StringValue"]) == ["CHAIN_INCOMPLETE"]
    body = json.loads(msg.publish_kwargs("arn:aws:sns:us-east-1:1:t")["Message"])
    # The protocols' strings, and beside them the keys body-scoped filter policies select on.
    assert set(body) == {"default", "email", "https", "sqs", "lambda", "severity", "classification",
                         "classifications", "event", "codes"}
    machine = json.loads(body["sqs"])
    assert machine["schema"] == "origin-auditor/1" and machine["results"][0]["verdict"] == "fail"
    assert machine["notification"]["classification"] == "LATENT"
    assert body["lambda"] == body["sqs"]


# The documented custom notification shape (rules doc §5); payloads that do not conform are
# dropped silently by the chat service, hence a strict hand-written check.
def check_chat_payload(payload: Any) -> list[str]:
    errors: list[str] = []

    def need(obj: Any, key: str, typ: type, where: str) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            errors.append(f"{where}.{key} missing")
            return None
        if not isinstance(obj[key], typ):
            errors.append(f"{where}.{key} is {type(obj[key]).__name__}, not {typ.__name__}")
            return None
        return obj[key]

    def strings(obj: Any, key: str, where: str) -> None:
        items = need(obj, key, list, where)
        if items is not None and not all(isinstance(i, str) and i for i in items):
            errors.append(f"{where}.{key} must hold non-empty strings")

    if not isinstance(payload, dict):
        return ["payload is not an object"]
    extra = set(payload) - {"version", "source", "id", "content", "metadata"}
    if extra:
        errors.append(f"unexpected top-level keys {sorted(extra)}")
    if need(payload, "version", str, "$") not in (None, "1.0"):
        errors.append("version must be '1.0'")
    if need(payload, "source", str, "$") not in (None, "custom"):
        errors.append("source must be 'custom'")
    need(payload, "id", str, "$")
    content = need(payload, "content", dict, "$")
    if content is not None:
        if need(content, "textType", str, "content") not in (None, "client-markdown"):
            errors.append("content.textType must be 'client-markdown'")
        for key in ("title", "description"):
            if not need(content, key, str, "content"):
                errors.append(f"content.{key} must be non-empty")
        strings(content, "nextSteps", "content")
        strings(content, "keywords", "content")
    metadata = need(payload, "metadata", dict, "$")
    if metadata is not None:
        for key in ("threadId", "summary", "eventType"):
            need(metadata, key, str, "metadata")
        strings(metadata, "relatedResources", "metadata")
        # Optional: "additionalContext": {"customerProvidedKey1": String, ...} (AWS's schema).
        context = metadata.get("additionalContext", {})
        if not isinstance(context, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in context.items()):
            errors.append("metadata.additionalContext must map strings to strings")
        extra_meta = set(metadata) - {"threadId", "summary", "eventType", "relatedResources",
                                      "additionalContext"}
        if extra_meta:
            errors.append(f"unexpected metadata keys {sorted(extra_meta)}")
    return errors


def test_chat_payload_checker_rejects_what_the_service_would_drop() -> None:
    assert check_chat_payload({"version": "1.0", "source": "aws.cloudwatch", "content": {}})
    good = {"version": "1.0", "source": "custom", "id": "x",
            "content": {"textType": "client-markdown", "title": "t", "description": "d",
                        "nextSteps": ["s"], "keywords": ["k"]},
            "metadata": {"threadId": "a", "summary": "s", "eventType": "e", "relatedResources": ["r"]}}
    assert check_chat_payload(good) == []
    bad = json.loads(json.dumps(good))
    bad["content"]["textType"] = "markdown"
    assert check_chat_payload(bad) == ["content.textType must be 'client-markdown'"]
    bad = json.loads(json.dumps(good))
    bad["metadata"]["additionalContext"] = {"account": 111122223333}
    assert check_chat_payload(bad) == ["metadata.additionalContext must map strings to strings"]


def test_https_payload_is_a_valid_chat_custom_notification() -> None:
    for rep in (report([BROKEN], {"E1": "LATENT"}), report([BROKEN, FINE])):
        msg = build_message(rep, plan_changes(rep, {}, now=NOW))
        assert msg is not None
        payload = json.loads(msg.structure["https"])
        assert check_chat_payload(payload) == []
        assert payload["content"]["title"].replace("`", "") == msg.subject  # the site as code
        assert "`CHAIN_INCOMPLETE`" in payload["content"]["description"]
        assert any("openssl s_client" in s for s in payload["content"]["nextSteps"])
    resolved_rep = report([result("a.test", Verdict.PASS)])
    plan = plan_changes(resolved_rep, state_of(report([BROKEN])), now=NOW)
    msg = build_message(resolved_rep, plan)
    assert msg is not None and check_chat_payload(json.loads(msg.structure["https"])) == []


def test_thousands_of_findings_stay_under_256_kb_with_a_count_of_the_rest() -> None:
    codes = [Code.CHAIN_INCOMPLETE, Code.CHAIN_WRONG_ORDER, Code.CERT_EXPIRED, Code.HOSTNAME_MISMATCH]
    results = [result(f"origin-{i:05d}.example.com", Verdict.FAIL, codes, dists=[f"E{i:06d}"])
               for i in range(3000)]
    rep = report(results, {f"E{i:06d}": "LATENT" for i in range(3000)})
    plan = plan_changes(rep, {}, now=NOW)
    msg = build_message(rep, plan)
    assert msg is not None
    kwargs = msg.publish_kwargs("arn:aws:sns:us-east-1:123456789012:t")
    attr_bytes = sum(len(k) + len(v["DataType"]) + len(v["StringValue"].encode())
                     for k, v in kwargs["MessageAttributes"].items())
    assert len(kwargs["Message"].encode()) + attr_bytes < MAX_MESSAGE_BYTES
    assert msg.omitted > 0 and msg.included + msg.omitted == 3000
    assert msg.included + msg.named + msg.counted == 3000
    assert f"… and {msg.counted:,} more not named here ({msg.counted:,} new)" in msg.structure["default"]
    machine = json.loads(msg.structure["sqs"])
    assert machine["results_omitted"] == 3000 - len(machine["results"])
    assert machine["notification"]["changes_omitted"] == msg.omitted
    assert check_chat_payload(json.loads(msg.structure["https"])) == []


# ---------------------------------------------------------------- issue 9: partial runs, owners

LISTING_STOPPED = Unseen(UnseenKind.LISTING, "", "Throttling: Rate exceeded", seen=3)


def test_a_partial_whole_account_run_removes_and_resolves_nothing_it_did_not_see() -> None:
    before = state_of(report([BROKEN, FINE]))
    partial = replace(report([FINE]), unseen=(LISTING_STOPPED,))
    plan = plan_changes(partial, before, now=NOW, whole_account=True)
    # Only the blind spot itself is news (test_coverage.py): no origin resolved or removed.
    assert [str(c.kind) for c in plan.changes] == ["partial"] and plan.delete == ()
    assert [s.key for s in plan.states] == [target_id(FINE.target), "meta#coverage"]  # only what it saw


def test_items_another_run_claimed_or_audited_later_are_left_to_it() -> None:
    base = state_of(report([BROKEN]))
    key = target_id(BROKEN.target)
    fixed = report([result("a.test", Verdict.PASS)])
    claimed = {key: replace(base[key], claimed_by="other", claimed_until=NOW + 60)}
    plan = plan_changes(fixed, claimed, now=NOW, run_id="me")
    assert plan.changes == () and plan.states == () and plan.owned == (key,)
    expired = {key: replace(base[key], claimed_by="other", claimed_until=NOW - 1)}
    assert kinds(plan_changes(fixed, expired, now=NOW, run_id="me")) == [("resolved", "a.test:443")]
    newer = {key: replace(base[key], audited_at=NOW + 5)}
    assert plan_changes(fixed, newer, now=NOW + 10, audited_at=NOW, run_id="me").owned == (key,)
    # An item that only holds an expired claim was never notified: a failure there is new.
    placeholder = {key: TargetState(key, "", "", (), "", version=1)}
    plan = plan_changes(report([BROKEN]), placeholder, now=NOW)
    assert kinds(plan) == [("new", "a.test:443")] and plan.states[0].version == 1


def test_probe_order_is_failing_then_warning_then_least_recently_audited() -> None:
    targets = [Target(h) for h in ("new.test", "old.test", "recent.test", "warn.test", "bad.test")]
    prev = {target_id(Target("old.test")): TargetState("", "pass", "", (), "", audited_at=100.0),
            target_id(Target("recent.test")): TargetState("", "pass", "", (), "", audited_at=200.0),
            target_id(Target("warn.test")): TargetState("", "warn", "", (), "", audited_at=300.0),
            target_id(Target("bad.test")): TargetState("", "fail", "", (), "", audited_at=400.0)}
    assert [t.host for t in probe_order(targets, prev)] == \
        ["bad.test", "warn.test", "new.test", "old.test", "recent.test"]


def test_a_partial_run_says_so_with_how_much_and_why_in_every_channel() -> None:
    unseen = (LISTING_STOPPED,
              *(Unseen(UnseenKind.DISTRIBUTION, f"E{i}", "AccessDenied: no") for i in range(7)))
    rep = replace(report([BROKEN], {"E1": "LATENT"}), unseen=unseen)
    msg = build_message(rep, plan_changes(rep, {}, now=NOW))
    assert msg is not None
    line = ("PARTIAL RUN: the distribution listing stopped after 3 distribution(s) (Throttling: Rate "
            "exceeded); distributions after those were not seen; 7 distribution(s) not fully read: "
            "E0 (AccessDenied: no); E1 (AccessDenied: no); E2 (AccessDenied: no); E3 (AccessDenied: no); "
            "E4 (AccessDenied: no); and 2 more.")
    assert line in " ".join(msg.structure["email"].split())  # wrapped at 80 columns
    chat = json.loads(msg.structure["https"])["content"]["description"]
    assert "PARTIAL RUN" in chat and "stopped after 3" in chat
    machine = json.loads(msg.structure["sqs"])
    assert machine["summary"]["partial"] is True and len(machine["summary"]["unseen"]) == 8
    whole = build_message(report([BROKEN]), plan_changes(report([BROKEN]), {}, now=NOW))
    assert whole is not None and "PARTIAL" not in whole.structure["email"]


def test_the_text_and_markdown_reports_say_a_run_was_partial() -> None:
    from origin_auditor.report import render_json, render_markdown, render_text
    rep = replace(report([BROKEN]), unseen=(LISTING_STOPPED,))
    assert "PARTIAL RUN: the distribution listing stopped after 3 distribution(s)" in render_text(rep)
    assert "PARTIAL RUN" in render_markdown(rep)
    assert json.loads(render_json(rep))["summary"]["unseen"] == [
        {"kind": "listing", "id": "", "reason": "Throttling: Rate exceeded", "seen": 3}]
    assert "PARTIAL" not in render_text(report([BROKEN])) + render_markdown(report([BROKEN]))

# ---------------------------------------------------------------- size: never raise, never lie

def many_failures(n: int, notes: Sequence[str] = ()) -> AuditReport:
    codes = [Code.CHAIN_INCOMPLETE, Code.CHAIN_WRONG_ORDER, Code.CERT_EXPIRED, Code.HOSTNAME_MISMATCH]
    rep = report([result(f"origin-{i:05d}.example.com", Verdict.FAIL, codes, dists=[f"E{i:06d}"])
                  for i in range(n)], {f"E{i:06d}": "LATENT" for i in range(n)})
    return AuditReport(rep.generated_at, rep.results, rep.distributions, tuple(notes))


def fits_sns(msg: Any) -> bool:
    kwargs = msg.publish_kwargs("arn:aws:sns:us-east-1:123456789012:t")
    attr_bytes = sum(len(k) + len(v["DataType"]) + len(v["StringValue"].encode())
                     for k, v in kwargs["MessageAttributes"].items())
    return bool(len(kwargs["Message"].encode()) + attr_bytes < MAX_MESSAGE_BYTES)


def test_a_thousand_run_notes_make_a_trimmed_message_instead_of_an_error() -> None:
    # Before: 1,200 throttling notes (one per distribution) made build_message raise ValueError
    # after the audit, so nothing was published, logged or remembered.
    notes = [f"GetMonitoringSubscription for E{i:06d} failed: Throttling: Rate exceeded " + "x" * 200
             for i in range(1200)]
    rep = many_failures(1, notes)
    msg = build_message(rep, plan_changes(rep, {}, now=NOW))
    assert msg is not None and fits_sns(msg)
    assert msg.included == 1 and msg.counted == 0  # the one change is still detailed
    text = msg.structure["email"]
    assert "… and 1,180 more notes, all in the full report" in text
    machine = json.loads(msg.structure["sqs"])
    assert len(machine["summary"]["notes"]) == 20 and machine["summary"]["notes_total"] == 1200


def test_changes_beyond_the_detail_are_named_then_counted_by_kind_with_exact_totals() -> None:
    rep = many_failures(3000)
    # 100 origins that were failing and now pass.
    fixed = [result(f"fixed-{i:03d}.example.com", Verdict.PASS, dists=[f"F{i:03d}"]) for i in range(100)]
    was_failing = report([result(f"fixed-{i:03d}.example.com", Verdict.FAIL, [Code.CERT_EXPIRED],
                                 dists=[f"F{i:03d}"]) for i in range(100)])
    rep = AuditReport(rep.generated_at, rep.results + tuple(fixed),
                      rep.distributions + report(fixed).distributions)
    plan = plan_changes(rep, state_of(was_failing), now=NOW)
    assert len(plan.changes) == 3100
    msg = build_message(rep, plan)
    assert msg is not None and fits_sns(msg)
    assert msg.included >= 20 and msg.named > 0 and msg.counted > 0
    assert msg.included + msg.named + msg.counted == 3100
    detailed, named = plan.changes[:msg.included], plan.changes[msg.included:msg.included + msg.named]
    counted = plan.changes[msg.included + msg.named:]
    assert msg.announced_keys == {c.key for c in (*detailed, *named)}
    assert msg.withheld_keys == {c.key for c in counted}
    text = msg.structure["email"]
    flat = " ".join(text.split())
    assert text.startswith("CloudFront origin auditor, run 2025-06-01T12:00:00Z: 3,000 new, 100 resolved.")
    for c in named:  # each named change has its own line, by name
        assert f"\n{'NEW' if c.kind is ChangeKind.NEW else 'RESOLVED'} [" in text and c.display in text
    kinds_counted = {"new": sum(c.kind is ChangeKind.NEW for c in counted),
                     "resolved": sum(c.kind is ChangeKind.RESOLVED for c in counted)}
    tally = ", ".join(f"{n:,} {k}" for k, n in kinds_counted.items() if n)
    assert f"… and {msg.counted:,} more not named here ({tally})" in flat
    assert "not marked notified, so the next run reports them again" in flat
    for c in counted:
        assert c.display not in text
    note = json.loads(msg.structure["sqs"])["notification"]
    assert [c["key"] for c in note["changes"]] == [c.key for c in detailed]
    assert [c["key"] for c in note["changes_named"]] == [c.key for c in named]
    assert note["changes_counted"] == {k: n for k, n in kinds_counted.items() if n}
    assert note["changes_total"] == 3100


def test_withheld_changes_are_announced_by_the_next_run_until_none_is_left() -> None:
    # What the handler does: save the plan's states except the withheld keys. Every change is
    # then announced exactly once, over as many runs as SNS's size limit needs.
    # (A 40 KB budget stands in for SNS's 256 KB so that a few hundred origins need several runs.)
    rep = many_failures(400)
    state: dict[str, TargetState] = {}
    announced: list[str] = []
    for run in range(20):
        plan = plan_changes(rep, state, now=NOW + run * 3600)
        msg = build_message(rep, plan, max_bytes=40_000)
        if msg is None:
            break
        assert msg.size_bytes <= 40_000 and msg.included + msg.named > 0
        announced += sorted(msg.announced_keys)
        state.update({s.key: s for s in plan.states if s.key not in msg.withheld_keys})
    else:
        raise AssertionError("the backlog never drained")
    assert run >= 3  # it did take several messages
    assert sorted(announced) == sorted({target_id(r.target) for r in rep.results})
    assert len(announced) == 400  # none twice


def test_the_message_names_the_archived_report_or_says_why_there_is_none() -> None:
    from origin_auditor.archive import Archive

    rep = many_failures(2)
    plan = plan_changes(rep, {}, now=NOW)
    ok = Archive("audit-reports", "reports/2025/06/01/120000Z-req-1.json", "eu-west-1")
    msg = build_message(rep, plan, archive=ok)
    assert msg is not None
    link = ("https://s3.console.aws.amazon.com/s3/object/audit-reports?region=eu-west-1"
            "&prefix=reports/2025/06/01/120000Z-req-1.json")
    assert ok.console_url == link
    assert f"Full report:\n  {link}\n" in msg.structure["email"]  # the URL whole, on its own line
    assert "s3://audit-reports/reports/2025/06/01/120000Z-req-1.json" in msg.structure["email"]
    assert link in json.loads(msg.structure["https"])["content"]["description"]
    assert json.loads(msg.structure["sqs"])["notification"]["report"] == ok.to_json()

    failed = Archive("audit-reports", "reports/x.json", "eu-west-1", error="AccessDenied: no")
    msg = build_message(rep, plan, archive=failed)
    assert msg is not None
    assert ("NOTE: the full report could not be archived to s3://audit-reports/reports/x.json "
            "(AccessDenied: no)") in " ".join(msg.structure["email"].split())
    assert json.loads(msg.structure["sqs"])["notification"]["report"]["written"] is False

    msg = build_message(rep, plan)
    assert msg is not None and "NOTE: the full report was not archived (no reports bucket configured)" \
        in msg.structure["email"]


def test_pathological_sizes_never_raise_and_still_fit() -> None:
    # Everything at once: long notes, thousands of changes, an alarm reason the size of a message.
    notes = ["n" * 5000] * 1000
    rep = many_failures(2000, notes)
    alarm = AlarmContext("a" * 300_000, "ALARM", "OK", "r" * 300_000, "5xxErrorRate", None, None)
    msg = build_message(rep, plan_changes(rep, {}, now=NOW), alarm=alarm)
    assert msg is not None and fits_sns(msg)
    assert msg.included + msg.named + msg.counted == 2000
    assert msg.announced_keys.isdisjoint(msg.withheld_keys)


def test_a_budget_too_small_for_anything_still_gives_a_message_that_withholds_everything() -> None:
    rep = many_failures(30)
    msg = build_message(rep, plan_changes(rep, {}, now=NOW), max_bytes=1000)
    assert msg is not None and msg.included == msg.named == 0 and msg.counted == 30
    assert msg.announced_keys == frozenset() and len(msg.withheld_keys) == 30
    assert "none is marked notified, so the next run reports them again" in " ".join(
        msg.structure["email"].split())
    assert json.loads(msg.structure["sqs"])["notification"]["changes_counted"] == {"new": 30}


def test_few_changes_with_long_details_are_named_rather_than_only_counted() -> None:
    rep = many_failures(20)
    msg = build_message(rep, plan_changes(rep, {}, now=NOW), max_bytes=20_000)
    assert msg is not None and msg.size_bytes <= 20_000
    assert msg.included < 20 and msg.included + msg.named == 20 and msg.counted == 0


def test_a_detailed_change_reads_as_lines_in_the_email_each_escaped_on_its_own() -> None:
    # A merge once escaped a whole detailed change as one line: "\x0a" instead of line breaks.
    rep = report([result("a.test", Verdict.FAIL, [Code.CHAIN_INCOMPLETE], dists=["E1"])], {"E1": "LATENT"})
    msg = build_message(rep, plan_changes(rep, {}, now=NOW))
    assert msg is not None
    email = msg.structure["email"]
    assert "\\x0a" not in email
    lines = email.split("\n")
    head = next(i for i, line in enumerate(lines) if line.startswith("NEW [LATENT] a.test:443"))
    assert lines[head + 1].startswith("  ") and any(line.startswith("  Fix:") for line in lines[head:])
