"""One real run: moto CloudFront + a loopback TLS origin missing its intermediate (the seed
incident) -> run_audit -> handler -> SNS -> the SQS subscriber; and the Powertools entry point."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from origin_auditor import handler as handler_module
from origin_auditor.audit import AuditOptions, run_audit
from origin_auditor.handler import handle
from origin_auditor.model import AuditReport
from origin_auditor.probe import static_resolver
from origin_auditor.trust import TrustStore
from origin_auditor_lab import LOOPBACK_CIDRS
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer, stall_server

from .conftest import Aws, Context, load_event


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki(hostnames=("origin.test",))


@pytest.fixture
def leaf_only(pki: Pki) -> Iterator[TlsServer]:
    server = TlsServer([pki.leaf])  # no intermediate: browsers cope (AIA), CloudFront does not
    server.start()
    try:
        yield server
    finally:
        server.close()


def distribution(cf: Any, port: int, domain: str = "origin.test", ref: str = "e2e") -> str:
    config = {
        "CallerReference": ref, "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "web", "DomainName": domain,
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": port, "OriginProtocolPolicy": "https-only",
                                   "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "redirect-to-https",
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "MinTTL": 0},
    }
    return str(cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"])


def test_missing_intermediate_is_found_published_and_remembered(aws: Aws, pki: Pki,
                                                                leaf_only: TlsServer) -> None:
    cf = boto3.client("cloudfront", region_name="us-east-1")
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    dist_id = distribution(cf, leaf_only.port)
    trust = TrustStore.from_certificates([pki.root.cert], "test root")

    def audit(options: AuditOptions) -> AuditReport:
        return run_audit(options, cloudfront=cf, cloudwatch=cw, trust=trust,
                         resolver=static_resolver({"origin.test": ["127.0.0.1"]}))

    env = {**aws.env, "ORIGIN_AUDITOR_ALLOW_ADDRESSES": LOOPBACK_CIDRS}  # the lab's origin is on loopback
    out = handle(load_event("schedule.json"), Context(), audit=audit, sns=aws.sns, dynamodb=aws.dynamodb,
                 env=env)
    [result] = out["results"]
    assert result["verdict"] == "fail"
    assert "CHAIN_INCOMPLETE" in {f["code"] for f in result["findings"]}
    assert out["notification"]["published"] is True
    [note] = aws.published()
    assert dist_id in note["Subject"] and note["Subject"].startswith("[")
    body = json.loads(note["Message"])
    assert body["results"][0]["target"]["port"] == leaf_only.port
    assert len(aws.state()) == 1

    again = handle(load_event("schedule.json"), Context(), audit=audit, sns=aws.sns, dynamodb=aws.dynamodb,
                   env=env)
    assert again["notification"]["published"] is False and aws.published() == []


def test_powertools_entry_point_logs_and_emits_emf_metrics(aws: Aws, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cf = boto3.client("cloudfront", region_name="us-east-1")
    # An origin on a loopback port nothing listens on: CONNECT_FAILED, no DNS lookup (IP literal).
    dist_id = distribution(cf, 9)
    cfg = cf.get_distribution_config(Id=dist_id)
    config = cfg["DistributionConfig"]
    config["Origins"]["Items"][0]["DomainName"] = "127.0.0.1"
    cf.update_distribution(Id=dist_id, IfMatch=cfg["ETag"], DistributionConfig=config)
    monkeypatch.setattr(handler_module, "_powertools_handler", None)
    # The function's environment opens loopback (CloudFront cannot reach it: without this the
    # origin is ADDRESS_NOT_PUBLIC and never connected to).
    monkeypatch.setenv("ORIGIN_AUDITOR_ALLOW_ADDRESSES", LOOPBACK_CIDRS)
    out = handler_module.lambda_handler({"distribution_ids": [dist_id], "timeout": 1}, Context())
    assert out["results"][0]["verdict"] == "fail"
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines()
           if line.startswith("{") and '"_aws"' in line]
    assert emf, "no EMF metrics printed"
    metrics = emf[-1]
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "OriginAuditor"
    counts = (metrics["OriginsAudited"], metrics["OriginsFailing"], metrics["ProbeErrors"])
    assert counts == ([1.0], [1.0], [1.0])


def test_short_remaining_time_returns_in_time_with_the_unprobed_origin_not_audited(
        aws: Aws, pki: Pki, leaf_only: TlsServer) -> None:
    # Given a Lambda with only the reserve and 1.5 s left, a broken origin that answers at once
    # and one that stalls every handshake (the per-attempt timeout is the event's default, 10 s),
    cf = boto3.client("cloudfront", region_name="us-east-1")
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    with stall_server() as stalled:
        broken = distribution(cf, leaf_only.port)
        slow = distribution(cf, stalled.port, domain="slow.test", ref="slow")
        trust = TrustStore.from_certificates([pki.root.cert], "test root")
        resolver = static_resolver({"origin.test": ["127.0.0.1"], "slow.test": ["127.0.0.1"]})

        def audit(options: AuditOptions) -> AuditReport:
            return run_audit(options, cloudfront=cf, cloudwatch=cw, trust=trust, resolver=resolver)

        context = Context(remaining_ms=int((handler_module.RESERVE_SECONDS + 1.5) * 1000))
        started = time.monotonic()
        # when the scheduled audit runs,
        env = {**aws.env, "ORIGIN_AUDITOR_ALLOW_ADDRESSES": LOOPBACK_CIDRS}  # the lab's origins
        out = handle(load_event("schedule.json"), context, audit=audit, sns=aws.sns,
                     dynamodb=aws.dynamodb, env=env)
        elapsed = time.monotonic() - started
    # then it returns before one handshake's own timeout (generous: the deadline is 1.5 s away),
    assert elapsed < 9.0
    # the origin it saw is judged, the one it could not finish is NOT_AUDITED, never HEALTHY,
    classes = {d["id"]: d["classification"] for d in out["distributions"]}
    assert classes == {broken: "LATENT", slow: "NOT_AUDITED"}
    [slow_result] = [r for r in out["results"] if r["target"]["host"] == "slow.test"]
    assert [f["code"] for f in slow_result["findings"]] == ["ORIGIN_NOT_PROBED"]
    assert "time budget" in slow_result["findings"][0]["message"]
    # and the message published says so; only what was seen is remembered.
    [note] = aws.published()
    body = json.loads(note["Message"])
    assert {d["id"]: d["classification"] for d in body["distributions"]}[slow] == "NOT_AUDITED"
    assert {i["display"]["S"] for i in aws.state().values()} == {f"origin.test:{leaf_only.port}"}
