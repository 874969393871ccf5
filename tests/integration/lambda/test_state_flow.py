"""The state flow of issue 9: a partial run resolves nothing it did not see (§1), concurrent runs
announce once and never overwrite newer state (§3), a failed state read overwrites nothing, manual
runs never touch state, and probes go to previously failing, then least recently audited origins
first (§2). moto for CloudFront, SNS, SQS and DynamoDB; the handler end to end."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import boto3

from origin_auditor.audit import AuditOptions, run_audit
from origin_auditor.aws import client_config
from origin_auditor.handler import handle
from origin_auditor.model import (
    AuditReport,
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
from origin_auditor.probe import static_resolver
from origin_auditor.rules import Code
from origin_auditor.state import StateStore, target_id
from origin_auditor.trust import load_trust_store

from .conftest import Aws, Context, load_event

NOW = 1_750_000_000.0
SCHEDULE = load_event("schedule.json")


def changes(note: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["kind"], c["target"]) for c in json.loads(note["Message"])["notification"]["changes"]]


# ---------------------------------------------------------------- §1 a partial listing

class FailingPages:
    """ListDistributions pages after the first (requests with a Marker) answer 503 Throttling
    while ``on``; botocore retries them, then gives up."""

    def __init__(self, client: Any) -> None:
        self.on = False
        self.attempts = 0
        self.status, self.code = 503, b"Throttling"
        client.meta.events.register("before-send.cloudfront.ListDistributions", self)

    def __call__(self, request: Any, **_: Any) -> Any:
        if not self.on or "Marker=" not in (request.url or ""):
            return None
        self.attempts += 1
        from botocore.awsrequest import AWSResponse
        body = (b'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>' + self.code +
                b"</Code><Message>Rate exceeded</Message></Error></ErrorResponse>")

        class Raw:
            def stream(self, **_: Any) -> Any:
                yield body

        return AWSResponse(request.url, self.status, {}, Raw())


def create_distribution(cf: Any, i: int) -> str:
    config = {
        "CallerReference": f"partial-{i}", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "web", "DomainName": f"o{i:03d}.origin.test",
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only",
                                   "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "redirect-to-https",
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "MinTTL": 0},
    }
    return str(cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"])


def test_a_listing_page_failing_after_retries_resolves_and_removes_nothing_it_did_not_see(
        aws: Aws, no_backoff: None) -> None:
    # 7 distributions listed 3 a page (DynamoDB-style small pages keep moto fast): the second and
    # third pages fail. Every origin fails DNS (nothing resolves), so each is failing and
    # announced once.
    cf = boto3.client("cloudfront", region_name="us-east-1",
                      config=client_config("cloudfront", max_attempts=2, mode="standard"))
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    for i in range(7):
        create_distribution(cf, i)
    cf.meta.events.register("before-parameter-build.cloudfront.ListDistributions",
                            lambda params, **_: params.setdefault("MaxItems", "3"))
    pages = FailingPages(cf)
    trust = load_trust_store()  # nothing resolves, so nothing is verified against it

    def audit(options: AuditOptions) -> AuditReport:
        return run_audit(options, cloudfront=cf, cloudwatch=cw, trust=trust, resolver=static_resolver({}))

    def invoke(now: float) -> dict[str, Any]:
        return handle(SCHEDULE, Context(), audit=audit, sns=aws.sns, dynamodb=aws.dynamodb, env=aws.env,
                      clock=lambda: now)

    first = invoke(NOW)
    assert first["summary"]["partial"] is False and first["summary"]["unseen"] == []
    [note] = aws.published()
    assert first["notification"]["changes"] == 7 and {k for k, _ in changes(note)} == {"new"}
    before = aws.state()

    pages.on = True
    second = invoke(NOW + 60)
    assert pages.attempts == 2  # the page was retried, then given up
    assert second["summary"]["partial"] is True
    [unseen] = second["summary"]["unseen"]
    assert unseen["kind"] == "listing" and unseen["seen"] == 3 and "Throttling" in unseen["reason"]
    # Nothing changed among what it saw, and what it did not see is neither "fixed" nor "removed";
    # the blind spot itself is new, so it is told (once).
    [note] = aws.published()
    assert changes(note) == [("partial", "listing stopped after 3 distributions")]
    assert note["Subject"] == "[PARTIAL] Not seen: listing stopped after 3 distributions (Throttling)"
    after = aws.state()
    for i in range(3, 7):  # untouched: not even their audited-at moved
        unlisted = target_id(Target(f"o{i:03d}.origin.test", protocols=("TLSv1.2",)))
        assert after[unlisted] == before[unlisted]
    listed = target_id(Target("o000.origin.test", protocols=("TLSv1.2",)))
    assert after[listed]["audited_at"] != before[listed]["audited_at"]  # what it saw, it recorded
    assert len(after) == 8 and after["meta#coverage"]["verdict"]["S"] == "partial"  # the blind spot told

    pages.on = False
    third = invoke(NOW + 120)
    assert third["summary"]["partial"] is False
    [note] = aws.published()  # no origin re-announced as new; only the end of the blind spot
    assert [k for k, _ in changes(note)] == ["coverage_restored"]


def test_a_blind_spot_is_told_when_new_and_its_end_once(aws: Aws, no_backoff: None) -> None:
    # An account whose listing keeps failing is told once, not every hour; a listing failing for
    # another reason is a new blind spot; a complete listing again is told once.
    cf = boto3.client("cloudfront", region_name="us-east-1",
                      config=client_config("cloudfront", max_attempts=2, mode="standard"))
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    for i in range(4):
        create_distribution(cf, i)
    cf.meta.events.register("before-parameter-build.cloudfront.ListDistributions",
                            lambda params, **_: params.setdefault("MaxItems", "2"))
    pages = FailingPages(cf)
    trust = load_trust_store()

    def audit(options: AuditOptions) -> AuditReport:
        return run_audit(options, cloudfront=cf, cloudwatch=cw, trust=trust, resolver=static_resolver({}))

    def kinds(hour: int) -> list[str]:
        out = handle(SCHEDULE, Context(), audit=audit, sns=aws.sns, dynamodb=aws.dynamodb, env=aws.env,
                     clock=lambda: NOW + 3600 * hour)
        assert out["notification"].get("state_saved") is True
        return [k for note in aws.published() for k, _ in changes(note)]

    assert kinds(0) == ["new"] * 4
    pages.on = True
    first = kinds(1)
    assert first == ["partial"]
    assert kinds(2) == [] and kinds(3) == []  # the same blind spot: said once, not every hour
    pages.status, pages.code = 403, b"AccessDenied"
    assert kinds(4) == ["partial"]  # the listing stops for another reason: told
    assert kinds(5) == []
    pages.on = False
    assert kinds(6) == ["coverage_restored"]
    assert kinds(7) == []
    coverage = aws.state()["meta#coverage"]
    assert coverage["verdict"]["S"] == "pass" and "claim_run" not in coverage


# ---------------------------------------------------------------- a fake account for the flow

BROKEN = (Verdict.FAIL, (Code.CHAIN_INCOMPLETE,))
FIXED = (Verdict.PASS, ())


class Account:
    """``handle(audit=...)`` over named origins, behaving as ``run_audit`` does with the state:
    it calls ``options.probe_order`` once before probing, probes at most ``budget`` targets in
    that order (the rest are ORIGIN_NOT_PROBED, as a deadline leaves them), and runs ``during``
    between the state read and returning (another run, interleaved)."""

    def __init__(self, **origins: tuple[Verdict, Sequence[Code]]) -> None:
        self.origins = dict(origins)
        self.budget: int | None = None
        self.during: Callable[[], object] | None = None
        self.probed: list[list[str]] = []
        self.unseen: tuple[Unseen, ...] = ()

    def targets(self) -> list[Target]:
        return [Target(f"{name}.example.com", distribution_ids=("EDIST1",)) for name in self.origins]

    def __call__(self, options: AuditOptions) -> AuditReport:
        targets = self.targets()
        order = list(options.probe_order(targets)) if options.probe_order else targets
        probed = [t.host for t in order[:self.budget]]
        self.probed.append([h.split(".")[0] for h in probed])
        if self.during is not None:
            during, self.during = self.during, None
            during()
        results = []
        for t in targets:
            name = t.host.split(".")[0]
            if t.host not in probed:
                results.append(TargetResult(t, Verdict.PASS, (Finding(
                    Code.ORIGIN_NOT_PROBED, Severity.INFO, "not probed: the time budget ran out"),),
                    not_audited=NotAudited.TIME_BUDGET))
                continue
            verdict, codes = self.origins[name]
            results.append(TargetResult(t, verdict, tuple(
                Finding(c, Severity.FAIL, f"{c} at {name}", hint="serve fullchain.pem") for c in codes)))
        failing = any(r.verdict is Verdict.FAIL for r in results)
        dist = DistributionReport("EDIST1", "LATENT" if failing else "HEALTHY",
                                  results=tuple(range(len(results))))
        return AuditReport("2025-06-01T12:00:00Z", tuple(results), (dist,), unseen=self.unseen)


def run(aws: Aws, account: Account, *, now: float = NOW, dynamodb: Any = None, event: Any = None,
        request_id: str = "req-1") -> dict[str, Any]:
    return handle(SCHEDULE if event is None else event, Context(aws_request_id=request_id), audit=account,
                  sns=aws.sns, dynamodb=dynamodb or aws.dynamodb, env=aws.env, clock=lambda: now)


# ---------------------------------------------------------------- §3 concurrent runs

def test_two_interleaved_runs_announce_a_resolution_once_and_the_newer_state_stays(aws: Aws) -> None:
    slow = Account(www=BROKEN, api=FIXED)
    run(aws, slow)
    aws.published()
    slow.origins["www"] = FIXED
    fast = Account(www=FIXED, api=FIXED)
    # The slow run reads the state, then a second run starts, audits, announces and saves
    # before the slow one gets to its own publish.
    outcomes: list[dict[str, Any]] = []
    slow.during = lambda: outcomes.append(run(aws, fast, now=NOW + 120, request_id="fast"))
    out = run(aws, slow, now=NOW + 60, request_id="slow")
    notes = aws.published()
    assert [changes(n) for n in notes] == [[("resolved", "www.example.com:443")]]
    assert outcomes[0]["notification"]["published"] is True
    assert out["notification"]["published"] is False
    assert out["notification"]["owned_by_other_runs"] == 1  # www: the fast run announced it
    www = aws.state()[target_id(Target("www.example.com"))]
    assert www["verdict"]["S"] == "pass" and float(www["audited_at"]["N"]) == NOW + 120  # the newer run's

    run(aws, fast, now=NOW + 180)
    assert aws.published() == []


def test_two_interleaved_runs_announce_a_new_failure_once(aws: Aws) -> None:
    first, second = Account(www=BROKEN), Account(www=BROKEN)
    first.during = lambda: run(aws, second, now=NOW + 1, request_id="second")
    run(aws, first, request_id="first")
    [note] = aws.published()
    assert changes(note) == [("new", "www.example.com:443")]
    assert {i["verdict"]["S"] for i in aws.state().values()} == {"fail"}
    run(aws, Account(www=BROKEN), now=NOW + 60)
    assert aws.published() == []


def test_two_interleaved_partial_runs_tell_the_blind_spot_once(aws: Aws) -> None:
    run(aws, Account(www=FIXED))
    blind = (Unseen(UnseenKind.LISTING, "", "Throttling: Rate exceeded", seen=1),)
    first, second = Account(www=FIXED), Account(www=FIXED)
    first.unseen = second.unseen = blind
    outcomes: list[dict[str, Any]] = []
    first.during = lambda: outcomes.append(run(aws, second, now=NOW + 61, request_id="second"))
    out = run(aws, first, now=NOW + 60, request_id="first")
    [note] = aws.published()
    assert [k for k, _ in changes(note)] == ["partial"]
    assert outcomes[0]["notification"]["published"] is True
    assert out["notification"]["published"] is False and out["notification"]["owned_by_other_runs"] == 1
    assert aws.state()["meta#coverage"]["verdict"]["S"] == "partial"
    third = Account(www=FIXED)
    third.unseen = blind
    run(aws, third, now=NOW + 3600)
    assert aws.published() == []


def test_a_failed_state_read_writes_no_blind_spot(aws: Aws) -> None:
    world = Account(www=FIXED)
    run(aws, world)
    before = aws.state()
    world.unseen = (Unseen(UnseenKind.LISTING, "", "Throttling: Rate exceeded", seen=1),)
    out = run(aws, world, now=NOW + 60, dynamodb=ThrottledReads(aws.dynamodb))
    assert [k for n in aws.published() for k, _ in changes(n)] == ["partial"]  # said, not remembered
    assert out["notification"]["state_saved"] is False and aws.state() == before
    run(aws, world, now=NOW + 120)
    assert [k for n in aws.published() for k, _ in changes(n)] == ["partial"]  # so told once more
    run(aws, world, now=NOW + 180)
    assert aws.published() == []


def test_a_run_for_some_distributions_reads_the_blind_spot_told_and_never_restores_it(aws: Aws) -> None:
    # A CloudTrail change on one distribution runs for that distribution only: it reads the
    # blind spot told, so the same one is not told again, and its completeness says nothing
    # about the account's listing.
    some = {"notify": True, "distribution_ids": ["EDIST1"]}
    world = Account(www=FIXED)
    world.unseen = (Unseen(UnseenKind.LISTING, "", "Throttling: Rate exceeded", seen=1),)
    run(aws, world)
    [note] = aws.published()
    assert [k for k, _ in changes(note)] == ["partial"]
    world.unseen = (Unseen(UnseenKind.DISTRIBUTION, "EDIST1", "AccessDenied: no"),)
    run(aws, world, now=NOW + 60, event=some)
    assert [k for n in aws.published() for k, _ in changes(n)] == ["partial"]  # a new blind spot
    out = run(aws, world, now=NOW + 120, event=some)
    assert aws.published() == [] and out["notification"]["owned_by_other_runs"] == 0  # read, not raced
    world.unseen = ()
    run(aws, world, now=NOW + 180, event=some)
    assert aws.published() == []  # complete for EDIST1 only: not "restored"
    run(aws, world, now=NOW + 240)
    assert [k for n in aws.published() for k, _ in changes(n)] == ["coverage_restored"]


def test_a_slower_run_never_overwrites_newer_state(aws: Aws) -> None:
    # The slow run started first and saw www failing; a later run saw it fixed and said so.
    # The slow run's older observation must not bring "fail" back (it would announce the same
    # failure as new again, or swallow the next resolution).
    run(aws, Account(www=BROKEN))
    aws.published()
    slow = Account(www=BROKEN)
    slow.during = lambda: run(aws, Account(www=FIXED), now=NOW + 120, request_id="fast")
    run(aws, slow, now=NOW + 60, request_id="slow")
    assert [changes(n) for n in aws.published()] == [[("resolved", "www.example.com:443")]]
    assert aws.state()[target_id(Target("www.example.com"))]["verdict"]["S"] == "pass"


class ThrottledReads:
    """The moto client, except that reads fail as a throttled table's do (after retries)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        if name in ("scan", "get_paginator", "batch_get_item", "get_item", "query"):
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                         "Message": "throttled"}}, "Scan")
        return getattr(self._real, name)


def test_a_failed_state_read_overwrites_nothing_and_the_next_run_resolves_once(aws: Aws) -> None:
    world = Account(www=BROKEN, api=FIXED)
    run(aws, world)
    aws.published()
    before = aws.state()
    world.origins["www"] = FIXED
    out = run(aws, world, now=NOW + 60, dynamodb=ThrottledReads(aws.dynamodb))
    assert out["notification"]["dedup_available"] is False
    assert out["notification"]["state_saved"] is False
    assert aws.state() == before  # not overwritten with "pass"
    run(aws, world, now=NOW + 120)
    assert [changes(n) for n in aws.published()] == [[("resolved", "www.example.com:443")]]
    run(aws, world, now=NOW + 180)
    assert aws.published() == []


class Recording:
    def __init__(self, real: Any) -> None:
        self._real = real
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self._real, name)


def test_manual_runs_without_notify_never_touch_state_and_are_never_blocked(aws: Aws) -> None:
    world = Account(www=BROKEN)
    run(aws, world)
    aws.published()
    # Another run holds a live claim on www (it is between its claim and its publish).
    store = StateStore(aws.table_name, aws.dynamodb)
    [www] = store.load([target_id(Target("www.example.com"))]).values()
    assert store.claim([www], run_id="other", until=NOW + 900)[www.key] == "claimed"
    before = aws.state()
    recording = Recording(aws.dynamodb)
    out = run(aws, world, event={"notify": False}, dynamodb=recording, now=NOW + 60)
    assert out["results"][0]["verdict"] == "fail"
    assert out["notification"] == {"requested": False, "published": False}
    assert recording.calls == [] and aws.state() == before and aws.published() == []


# ---------------------------------------------------------------- §2 probe order

def test_failing_first_then_least_recently_audited_so_no_origin_is_skipped_twice_in_a_row(aws: Aws) -> None:
    world = Account(bad=BROKEN, p1=FIXED, p2=FIXED, p3=FIXED, p4=FIXED)
    run(aws, world)  # everything audited once (no budget): bad is failing
    aws.published()
    world.budget = 3
    for i in range(1, 5):
        run(aws, world, now=NOW + 3600 * i)
    assert world.probed[1:] == [["bad", "p1", "p2"], ["bad", "p3", "p4"], ["bad", "p1", "p2"],
                                ["bad", "p3", "p4"]]
    # The unprobed keep their state (and their older audited-at, which puts them first next time).
    state = aws.state()
    assert float(state[target_id(Target("p1.example.com"))]["audited_at"]["N"]) == NOW + 3 * 3600
    assert aws.published() == []
