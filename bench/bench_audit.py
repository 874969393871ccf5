"""Benchmark: `audit` of 200 distributions x 3 origins on a moto server, origins on loopback.

600 origin references collapse to 300 distinct origins (each origin is shared by two
distributions); a route whose cache policy keys on Host sends the distribution's own domain
instead (one target per distribution and origin), as CloudFront does. Every origin name
resolves to one loopback TLS server that waits 100 ms before each handshake. Prints wall time
of run_audit, AWS calls per operation and peak RSS (of this process, moto server included),
and checks the API-call targets: GetMetricData calls = ceil(queries / 500), one policy lookup
per policy id.

moto implements neither GetCachePolicy / GetOriginRequestPolicy nor GetMonitoringSubscription,
so ``LocalPolicies`` answers those three from a table (counting calls); everything else goes
over HTTP to the moto server.

    .venv/bin/python bench/bench_audit.py
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from origin_auditor import aws
from origin_auditor.audit import AuditOptions, run_audit
from origin_auditor.model import SniSource
from origin_auditor.probe import static_resolver
from origin_auditor.trust import load_trust_store
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer

DISTRIBUTIONS = 200
ORIGINS_PER_DISTRIBUTION = 3
DISTINCT_ORIGINS = 300
HANDSHAKE_DELAY = 0.1
CACHE_POLICIES = [f"cp-{i}" for i in range(5)]  # cp-0 whitelists Host
ORIGIN_REQUEST_POLICIES = ["orp-0", "orp-1", "b689b0a8-53d0-40ab-baf2-68738e2966ac"]  # last: managed
SUBSCRIBED = set(range(0, DISTRIBUTIONS, 2))  # half have additional metrics


class LocalPolicies:
    """Delegates to the moto-server client; answers the three APIs moto lacks from a table."""

    def __init__(self, real: Any, subscribed_ids: set[str]) -> None:
        self._real = real
        self._subscribed = subscribed_ids
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def get_paginator(self, name: str) -> Any:
        return self._real.get_paginator(name)

    def get_cache_policy(self, Id: str) -> dict[str, Any]:
        self.calls["GetCachePolicy"] += 1
        headers = ["Host"] if Id == "cp-0" else ["Accept"]
        return {"CachePolicy": {"CachePolicyConfig": {"ParametersInCacheKeyAndForwardedToOrigin": {
            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": headers}}}}}}

    def get_origin_request_policy(self, Id: str) -> dict[str, Any]:
        self.calls["GetOriginRequestPolicy"] += 1
        return {"OriginRequestPolicy": {"OriginRequestPolicyConfig": {"HeadersConfig": {
            "HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["Origin"]}}}}}

    def get_monitoring_subscription(self, DistributionId: str) -> dict[str, Any]:
        self.calls["GetMonitoringSubscription"] += 1
        if DistributionId not in self._subscribed:
            raise ClientError({"Error": {"Code": "NoSuchMonitoringSubscription", "Message": "none"}},
                              "GetMonitoringSubscription")
        return {"MonitoringSubscription": {"RealtimeMetricsSubscriptionConfig": {
            "RealtimeMetricsSubscriptionStatus": "Enabled"}}}


def count_calls(client: Any, counter: Counter[str]) -> None:
    def before_call(model: Any, **_: Any) -> None:
        counter[model.name] += 1
    client.meta.events.register("before-call.*.*", before_call)


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log
    pki = Pki(hostnames=["*.bench.test"])
    tmp = Path(tempfile.mkdtemp())
    (tmp / "root.pem").write_bytes(pki.root_pem)
    trust = load_trust_store(str(tmp / "root.pem"))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    sess = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    cf_real = aws.cloudfront_client(sess, endpoint_url=endpoint)
    cw = aws.cloudwatch_client(sess, endpoint_url=endpoint)
    try:
        with TlsServer(pki.chain(), host="127.0.0.1", handshake_delay=HANDSHAKE_DELAY) as origin:
            names = [f"o{k}.bench.test" for k in range(DISTINCT_ORIGINS)]
            resolver = static_resolver({n: ["127.0.0.1"] for n in names})
            t0 = time.monotonic()
            ids = []
            for i in range(DISTRIBUTIONS):
                refs = [(ORIGINS_PER_DISTRIBUTION * i + j) % DISTINCT_ORIGINS for j in range(3)]
                origins = [{"Id": f"o{j}", "DomainName": names[k], "CustomOriginConfig": {
                    "HTTPPort": 80, "HTTPSPort": origin.port, "OriginProtocolPolicy": "https-only",
                    "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}} for j, k in enumerate(refs)]
                behaviors = [{"PathPattern": f"/p{j}/*", "TargetOriginId": f"o{j}",
                              "ViewerProtocolPolicy": "https-only",
                              "CachePolicyId": CACHE_POLICIES[(i + j) % len(CACHE_POLICIES)],
                              "OriginRequestPolicyId": ORIGIN_REQUEST_POLICIES[(i + j) % 3]}
                             for j in (1, 2)]
                cfg = {"CallerReference": f"b{i}", "Comment": "", "Enabled": True,
                       "Origins": {"Quantity": 3, "Items": origins},
                       "DefaultCacheBehavior": {"TargetOriginId": "o0", "ViewerProtocolPolicy": "https-only",
                                                "CachePolicyId": CACHE_POLICIES[1]},
                       "CacheBehaviors": {"Quantity": 2, "Items": behaviors}}
                ids.append(cf_real.create_distribution(DistributionConfig=cfg)["Distribution"]["Id"])
            now = dt.datetime.now(dt.UTC)
            for chunk in range(0, len(ids), 20):
                cw.put_metric_data(Namespace="AWS/CloudFront", MetricData=[
                    {"MetricName": "Requests", "Value": 100.0, "Timestamp": now - dt.timedelta(minutes=5),
                     "Dimensions": [{"Name": "DistributionId", "Value": d},
                                    {"Name": "Region", "Value": "Global"}]}
                    for d in ids[chunk:chunk + 20]])
            print(f"setup: {len(ids)} distributions on moto server in {time.monotonic() - t0:.1f} s")

            cf = LocalPolicies(cf_real, {ids[i] for i in SUBSCRIBED})
            http_calls: Counter[str] = Counter()
            count_calls(cf_real, http_calls)
            count_calls(cw, http_calls)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.monotonic()
            options = AuditOptions(timeout=10.0, concurrency=64, allow_addresses=LOOPBACK)  # lab origins
            report = run_audit(options, cloudfront=cf, cloudwatch=cw,
                               resolver=resolver, trust=trust)
            wall = time.monotonic() - start
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        server.stop()

    calls = http_calls + cf.calls
    targets = len(report.results)
    # Names CloudFront sends (issue 10 §2): the origin domain on routes that do not forward Host;
    # on a route whose cache policy keys on Host (cp-0), the name the viewer used: these
    # distributions have no alias, so their own d….cloudfront.net, one target per distribution.
    plain: set[int] = set()
    forwarded = 0
    for i in range(DISTRIBUTIONS):
        refs = [(ORIGINS_PER_DISTRIBUTION * i + j) % DISTINCT_ORIGINS for j in range(3)]
        plain.add(refs[0])  # the default behavior (cp-1)
        for j in (1, 2):
            if CACHE_POLICIES[(i + j) % len(CACHE_POLICIES)] == "cp-0":
                forwarded += 1
            else:
                plain.add(refs[j])
    expected = len(plain) + forwarded
    names_sent = all(r.target.sni == r.target.host or r.target.sni_source is SniSource.DEFAULT_DOMAIN
                     for r in report.results)
    queries = len(SUBSCRIBED) * 5 + (DISTRIBUTIONS - len(SUBSCRIBED)) * 2
    want_gmd = math.ceil(queries / 500)
    print(f"audit: {DISTRIBUTIONS} distributions x {ORIGINS_PER_DISTRIBUTION} origins -> {targets} targets, "
          f"handshake delay {HANDSHAKE_DELAY * 1000:.0f} ms")
    print(f"wall time: {wall:.2f} s (target < 10 s)")
    print(f"peak RSS: {peak_kib / 1024:.0f} MiB "
          f"(before audit {rss_before / 1024:.0f} MiB; moto server in-process)")
    print("AWS calls per operation:")
    for op, n in sorted(calls.items()):
        print(f"  {op:28} {n}")
    print(f"classifications: {report.summary()['classifications']}")
    checks = {
        f"{expected} distinct targets ({len(plain)} origin domains, {forwarded} default domains)":
            targets == expected and names_sent,
        f"GetMetricData = ceil({queries}/500) = {want_gmd}": calls["GetMetricData"] == want_gmd,
        "GetCachePolicy once per id": calls["GetCachePolicy"] == len(CACHE_POLICIES),
        "GetOriginRequestPolicy once per non-managed id": calls["GetOriginRequestPolicy"] == 2,
        "wall time < 10 s": wall < 10.0,
        "no notes": not report.notes,
    }
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    if report.notes:
        print("notes:", *report.notes, sep="\n  ")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
