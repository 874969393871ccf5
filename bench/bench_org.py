"""Benchmark: the organization run's aggregate step (issue 12): 500 accounts x 20 distributions.

Synthesises, in moto S3, what the Distributed Map leaves behind: one chunk report per audited
account (20 distributions, one origin each; every 4th account has 5 LATENT origins missing their
intermediate), the ResultWriter manifest and result files (a few accounts FAILED with
AccountThrottled, a few missing from the results), the run's item list; then runs
``org.aggregate.aggregate`` twice against moto DynamoDB and SNS: a first run (empty state table:
every origin written, every failing one NEW) and the next (steady state: nothing new). Prints
wall time, peak RSS (the whole process, moto included: an upper bound) and the size of every
message published. Targets: each run under 30 s, peak RSS under 512 MB, every message under
SNS's 256 KB.

    .venv/bin/python bench/bench_org.py [--accounts 500] [--distributions 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import threading
import time
import uuid
from typing import Any

import boto3
from moto import mock_aws

from origin_auditor.model import (
    AuditReport,
    DistributionReport,
    Finding,
    Severity,
    Target,
    TargetResult,
    Verdict,
)
from origin_auditor.notify import MAX_MESSAGE_BYTES
from origin_auditor.org.aggregate import aggregate
from origin_auditor.org.settings import OrgSettings
from origin_auditor.rules import Code

REGION = "us-east-1"
BUCKET = "reports"
FAILED_EVERY = 97  # accounts recorded FAILED (AccountThrottled after the Map's retries)
MISSING_EVERY = 101  # accounts with no result at all
LIMIT_SECONDS = 30.0
LIMIT_RSS_MB = 512


def chunk_report(account: str, n: int, failing: bool) -> dict[str, Any]:
    results, dists = [], []
    for d in range(n):
        dist = f"E{account[-6:]}{d:04d}"
        target = Target(f"o{d}.a{account}.bench.test", distribution_ids=(dist,), origin_ids=("web",))
        bad = failing and d < 5
        findings = (
            (
                Finding(
                    Code.CHAIN_INCOMPLETE,
                    Severity.FAIL,
                    "The chain is incomplete: the issuer was not sent.",
                    "Serve the full chain.",
                ),
            )
            if bad
            else ()
        )
        results.append(
            TargetResult(
                target,
                Verdict.FAIL if bad else Verdict.PASS,
                findings,
                reproduce=f"openssl s_client -connect {target.host}:443",
            )
        )
        dists.append(
            DistributionReport(
                dist,
                "LATENT" if bad else "HEALTHY",
                domain_name=f"{dist}.cloudfront.net",
                aliases=(f"www{d}.a{account}.example",),
                metrics={"Requests": 1000.0, "5xxErrorRate": 0.0},
                results=(d,),
            )
        )
    report = AuditReport("2026-01-01T00:00:00Z", tuple(results), tuple(dists), account=account)
    return report.to_json()


def synthesise(s3: Any, run_id: str, accounts: int, per_account: int) -> dict[str, Any]:
    """The run's item list, chunk reports and ResultWriter files; returns the aggregate's input."""
    ids = [f"{100000000000 + i * 7919:012d}" for i in range(accounts)]
    items = [{"account_id": a, "account_name": f"team-{i}", "run_id": run_id} for i, a in enumerate(ids)]
    prefix = f"org-runs/{run_id}/"
    s3.put_object(Bucket=BUCKET, Key=prefix + "accounts.json", Body=json.dumps(items).encode())
    succeeded, failed = [], []
    start = "2026-01-01T00:00:00+00:00"
    for i, item in enumerate(items):
        a = item["account_id"]
        base = {
            "ExecutionArn": f"arn:aws:states:{REGION}:123456789012:execution:org/{run_id}:{a}",
            "Input": json.dumps(item),
            "InputDetails": {"Included": True},
            "Name": a,
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "StartDate": start,
            "StopDate": start,
            "StateMachineArn": f"arn:aws:states:{REGION}:123456789012:stateMachine:org",
        }
        if i % MISSING_EVERY == 5:
            continue
        if i % FAILED_EVERY == 3:
            failed.append(
                {
                    **base,
                    "Status": "FAILED",
                    "Error": "AccountThrottled",
                    "Cause": json.dumps(
                        {
                            "errorMessage": "listing CloudFront distributions: Throttling",
                            "errorType": "AccountThrottled",
                        }
                    ),
                }
            )
            continue
        key = f"{prefix}accounts/{a}/0.json"
        s3.put_object(
            Bucket=BUCKET, Key=key, Body=json.dumps(chunk_report(a, per_account, i % 4 == 0)).encode()
        )
        chunk = {
            "account_id": a,
            "account_name": item["account_name"],
            "run_id": run_id,
            "chunk": 0,
            "status": "audited",
            "report": {"bucket": BUCKET, "key": key},
            "counts": {},
            "distribution_ids": [],
        }
        succeeded.append(
            {
                **base,
                "Status": "SUCCEEDED",
                "Output": json.dumps([chunk]),
                "OutputDetails": {"Included": True},
            }
        )
    uid = str(uuid.uuid4())
    files: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for status, entries in (("SUCCEEDED", succeeded), ("FAILED", failed)):
        for n, i in enumerate(range(0, len(entries), 200)):
            key = f"{prefix}map/{uid}/{status}_{n}.json"
            body = json.dumps(entries[i : i + 200]).encode()
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    manifest_key = f"{prefix}map/{uid}/manifest.json"
    s3.put_object(
        Bucket=BUCKET,
        Key=manifest_key,
        Body=json.dumps(
            {
                "DestinationBucket": BUCKET,
                "MapRunArn": "arn:aws:states:::mapRun:org/x:y",
                "ResultFiles": files,
            }
        ).encode(),
    )
    listed = {
        "run_id": run_id,
        "started_at": "2026-01-01T00:00:00Z",
        "bucket": BUCKET,
        "accounts_key": prefix + "accounts.json",
        "count": len(items),
        "skipped": [],
    }
    return {
        "run_id": run_id,
        "started_at": listed["started_at"],
        "list": listed,
        "map": {"ResultWriterDetails": {"Bucket": BUCKET, "Key": manifest_key}},
    }


class Spy:
    def __init__(self, sns: Any) -> None:
        self.sns, self.sizes = sns, []  # type: list[int]

    def publish(self, **kw: Any) -> Any:
        attrs = sum(
            len(k) + len(v["DataType"]) + len(v["StringValue"].encode())
            for k, v in kw.get("MessageAttributes", {}).items()
        )
        self.sizes.append(len(kw["Message"].encode()) + attrs + len(kw.get("Subject", "")))
        return self.sns.publish(**kw)


class Timed:
    """The DynamoDB client, adding up the time spent inside its calls (moto's, in this bench).

    moto's DynamoDB is the slow part here (it parses every condition expression and serialises
    a Scan page item by item: ~8 ms per conditional write, ~10 s per 10,000-item scan); DynamoDB
    itself answers a conditional write in a few ms (8 in flight) and a 10,000-item scan in a
    few 1 MB pages. So the bench prints that time apart and checks the target on the rest."""

    def __init__(self, client: Any) -> None:
        self._client, self.seconds = client, 0.0
        self.meta = client.meta
        self._lock, self._active, self._since = threading.Lock(), 0, 0.0

    def _enter(self) -> None:
        # Wall time with at least one call in flight (the state writes run 8 at once).
        with self._lock:
            if self._active == 0:
                self._since = time.perf_counter()
            self._active += 1

    def _exit(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self.seconds += time.perf_counter() - self._since

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr) or name == "get_paginator":
            return self._paginator if name == "get_paginator" else attr

        def timed(*a: Any, **kw: Any) -> Any:
            self._enter()
            try:
                return attr(*a, **kw)
            finally:
                self._exit()

        return timed

    def _paginator(self, name: str) -> Any:
        real = self._client.get_paginator(name)
        outer = self

        class Pages:
            def paginate(self, **kw: Any) -> Any:
                it = iter(real.paginate(**kw))
                while True:
                    outer._enter()
                    try:
                        page = next(it)
                    except StopIteration:
                        return
                    finally:
                        outer._exit()
                    yield page

        return Pages()


def rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--distributions", type=int, default=20)
    args = parser.parse_args()
    for k, v in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        os.environ.setdefault(k, v)
    ok = True
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName="state",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="findings")["TopicArn"]
        spy = Spy(sns)
        timed = Timed(ddb)
        settings = OrgSettings(reports_bucket=BUCKET, table_name="state", topic_arn=topic)
        t0 = time.perf_counter()
        event = synthesise(s3, "bench-run", args.accounts, args.distributions)
        print(
            f"synthesised {args.accounts} accounts x {args.distributions} distributions in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        now = dt.datetime(2026, 1, 1, 0, 10, tzinfo=dt.UTC).timestamp()
        for label, offset in (("first run (empty state)", 0.0), ("next run (steady state)", 3600.0)):
            published = len(spy.sizes)
            timed.seconds = 0.0
            t0, c0 = time.perf_counter(), time.process_time()
            out = aggregate(
                {**event, "run_id": f"bench-{int(offset)}"},
                settings,
                s3=s3,
                dynamodb=timed,
                sns=spy,
                now=now + offset,
            )
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            own = wall - timed.seconds
            sizes = spy.sizes[published:]
            print(
                f"{label}: {own:.1f} s without moto's DynamoDB ({wall:.1f} s wall, of which "
                f"{timed.seconds:.1f} s in moto DynamoDB calls; {cpu:.1f} s CPU); accounts {out['accounts']} "
                f"(audited {out['audited']}, not audited {out['not_audited']}); changes {out['changes']}; "
                f"messages {len(sizes)} of {', '.join(f'{s:,} B' for s in sizes) or 'none'}; "
                f"message {out['message']}; state saved {out['state_saved']}"
            )
            ok &= own < LIMIT_SECONDS and all(s < MAX_MESSAGE_BYTES for s in sizes)
    peak = rss_mb()
    print(f"peak RSS (whole process, moto included): {peak:.0f} MB (limit {LIMIT_RSS_MB} MB)")
    ok &= peak < LIMIT_RSS_MB
    print("OK" if ok else "OVER A TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
