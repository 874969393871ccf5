"""``origin-auditor audit`` as users and CI run it: the real console script in a subprocess,
talking to a moto server on loopback through ``AWS_ENDPOINT_URL``, probing real TLS origins on
127.0.0.5-7. ``audit`` has no --resolve, so the origins' DomainName are IP literals and the
leaf certificates carry those IPs as subjectAltName. Loopback is opened with
ORIGIN_AUDITOR_ALLOW_ADDRESSES (CloudFront cannot reach it; the auditor would not connect)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from origin_auditor_lab import LOOPBACK_CIDRS
from origin_auditor_lab.pki import Pki, pem_bundle
from origin_auditor_lab.servers import TlsServer, closed_port

from .conftest import CONSOLE_SCRIPT

pytestmark = pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="console script not installed")

REGION = "us-east-1"
# IP -> (what its origin gets wrong, metrics CloudFront would have published, classification)
HEALTHY_IP, OUTAGE_IP, LATENT_IP = "127.0.0.5", "127.0.0.6", "127.0.0.7"
METRICS = {
    HEALTHY_IP: {"Requests": 10_000.0, "5xxErrorRate": 0.1},
    OUTAGE_IP: {"Requests": 9_000.0, "5xxErrorRate": 40.0},
    LATENT_IP: {"Requests": 50_000.0, "5xxErrorRate": 0.2},
}


@dataclass(frozen=True)
class Account:
    """The moto-served account: endpoint, environment for the CLI, what was created."""

    endpoint: str
    env: dict[str, str]
    tls_port: int
    distribution_of: dict[str, str]  # origin IP -> distribution id
    clients: dict[str, Any]


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ORIGIN_AUDITOR_", "FINDINGS_", "POWERTOOLS_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",  # moto accepts any
               AWS_DEFAULT_REGION=REGION,
               # Never read the developer's profiles or credentials files.
               AWS_CONFIG_FILE=str(tmp / "no-config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-creds"))
    return env


def _distribution_config(ref: str, ip: str, port: int) -> dict[str, Any]:
    return {
        "CallerReference": ref, "Comment": ref, "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": f"{ref}-origin", "DomainName": ip,
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": port, "OriginProtocolPolicy": "https-only",
                                   "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]}}}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": f"{ref}-origin", "ViewerProtocolPolicy": "redirect-to-https", "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}},
    }


def _put_metrics(cw: Any, dist_id: str, values: dict[str, float]) -> None:
    """Datapoints every 5 minutes over the last 2 hours (inside the default 3 h lookback)."""
    now = dt.datetime.now(dt.UTC)
    dims = [{"Name": "DistributionId", "Value": dist_id}, {"Name": "Region", "Value": "Global"}]
    data = [{"MetricName": name, "Dimensions": dims, "Timestamp": now - dt.timedelta(minutes=m),
             "Value": value, "Unit": "None" if name == "Requests" else "Percent"}
            for m in range(5, 120, 5) for name, value in values.items()]
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/CloudFront", MetricData=data[i:i + 500])


@pytest.fixture(scope="module")
def account(loopback_aliases: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    tmp = tmp_path_factory.mktemp("audit")
    pki = Pki(hostnames=("unused.test",))
    intermediate = pki.intermediates[0]
    leaves = {ip: pki.issue_leaf(ip, dns_names=[], ip_addresses=[ip]) for ip in METRICS}
    chains = {
        HEALTHY_IP: [leaves[HEALTHY_IP], intermediate],
        OUTAGE_IP: [leaves[OUTAGE_IP]],                           # intermediate missing
        LATENT_IP: [leaves[LATENT_IP], pki.root, intermediate],   # root before the intermediate
    }
    ca = tmp / "root.pem"
    ca.write_bytes(pem_bundle([pki.root]))

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        _, port = server.get_host_and_port()
        endpoint = f"http://127.0.0.1:{port}"
        kw = {"endpoint_url": endpoint, "region_name": REGION, "aws_access_key_id": "testing",
              "aws_secret_access_key": "testing"}
        clients = {name: boto3.client(name, **kw)
                   for name in ("cloudfront", "cloudwatch", "sns", "sqs", "s3")}
        with TlsServer(chains[HEALTHY_IP], host=list(chains), address_chains=chains) as tls:
            distribution_of = {}
            for ip in chains:
                created = clients["cloudfront"].create_distribution(
                    DistributionConfig=_distribution_config(f"ref-{ip}", ip, tls.port))
                distribution_of[ip] = created["Distribution"]["Id"]
                _put_metrics(clients["cloudwatch"], distribution_of[ip], METRICS[ip])
            env = _clean_env(tmp)
            # The origins are on loopback, which CloudFront cannot reach: opened explicitly.
            env.update(AWS_ENDPOINT_URL=endpoint, ORIGIN_AUDITOR_CA_BUNDLE=str(ca),
                       ORIGIN_AUDITOR_ALLOW_ADDRESSES=LOOPBACK_CIDRS)
            yield Account(endpoint, env, tls.port, distribution_of, clients)
    finally:
        server.stop()


def origin_auditor(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONSOLE_SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def blocks_by_distribution(text: str) -> dict[str, str]:
    """Text report blocks keyed by distribution id (header: CLASSIFICATION ID names)."""
    out = {}
    for block in text.split("\n\n"):
        m = re.match(r"^([A-Z_]+)\s+([A-Z0-9]{8,})\b", block)
        if m:
            out[m.group(2)] = block
    return out


def test_audit_text_groups_origins_under_their_classified_distributions(account: Account) -> None:
    proc = origin_auditor("audit", env=account.env)
    assert proc.returncode == 1, proc.stderr
    blocks = blocks_by_distribution(proc.stdout)
    assert set(blocks) == set(account.distribution_of.values()), proc.stdout
    expected = {HEALTHY_IP: ("HEALTHY", "PASS", None), OUTAGE_IP: ("OUTAGE", "FAIL", "CHAIN_INCOMPLETE"),
                LATENT_IP: ("LATENT", "FAIL", "CHAIN_WRONG_ORDER")}
    for ip, (classification, verdict, code) in expected.items():
        block = blocks[account.distribution_of[ip]]
        assert block.startswith(classification), block
        target_line = rf"^\s+{verdict}\s+{re.escape(ip)}:{account.tls_port}\b.*$"
        line = re.search(target_line, block, re.M)
        assert line is not None, block
        if code:
            assert code in line.group(0)
        # Only this distribution's origin is listed under it.
        others = [o for o in expected if o != ip]
        assert not any(f"{o}:{account.tls_port}" in block for o in others), block
    # Worst first, and the run's one-line summary.
    headers = [m.group(1) for m in re.finditer(r"^([A-Z_]+)\s+[A-Z0-9]{8,}\b", proc.stdout, re.M)]
    assert headers == ["OUTAGE", "LATENT", "HEALTHY"]
    assert "3 origin(s): 2 fail, 0 warn, 1 pass; 3 distribution(s): 1 OUTAGE, 1 LATENT, 1 HEALTHY" \
        in proc.stdout


def test_audit_json_carries_each_distributions_classification(account: Account) -> None:
    proc = origin_auditor("audit", "--format", "json", env=account.env)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "origin-auditor/1"
    by_id = {d["id"]: d for d in doc["distributions"]}
    assert {ip: by_id[d]["classification"] for ip, d in account.distribution_of.items()} == {
        HEALTHY_IP: "HEALTHY", OUTAGE_IP: "OUTAGE", LATENT_IP: "LATENT"}
    for ip, dist_id in account.distribution_of.items():
        d = by_id[dist_id]
        (index,) = d["results"]
        result = doc["results"][index]
        assert result["target"]["host"] == ip
        assert result["target"]["port"] == account.tls_port
        assert result["target"]["distribution_ids"] == [dist_id]
        assert d["metrics"]["Requests"] > 0
    assert doc["summary"]["classifications"] == {"OUTAGE": 1, "LATENT": 1, "HEALTHY": 1}


def test_audit_of_one_healthy_distribution_exits_0(account: Account) -> None:
    proc = origin_auditor("audit", "--distribution-id", account.distribution_of[HEALTHY_IP],
                          "--format", "json", env=account.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert [d["id"] for d in doc["distributions"]] == [account.distribution_of[HEALTHY_IP]]
    assert [r["target"]["host"] for r in doc["results"]] == [HEALTHY_IP]


def test_audit_publish_sends_the_report_to_the_topic(account: Account) -> None:
    sns, sqs = account.clients["sns"], account.clients["sqs"]
    topic = sns.create_topic(Name="cli-findings")["TopicArn"]
    queue = sqs.create_queue(QueueName="cli-capture")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    env = {**account.env, "FINDINGS_TOPIC_ARN": topic}

    proc = origin_auditor("audit", "--publish", env=env)

    assert proc.returncode == 1, proc.stderr  # findings decide the status; publishing worked
    assert f"published to {topic}" in proc.stderr
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["TopicArn"] == topic
    assert "CHAIN_INCOMPLETE" in body["Message"]


def test_audit_publish_archives_the_report_in_the_stacks_bucket_and_links_it(account: Account) -> None:
    sns, sqs, s3 = account.clients["sns"], account.clients["sqs"], account.clients["s3"]
    topic = sns.create_topic(Name="cli-archive")["TopicArn"]
    queue = sqs.create_queue(QueueName="cli-archive")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=attributes["QueueArn"])
    s3.create_bucket(Bucket="cli-reports")
    env = {**account.env, "FINDINGS_TOPIC_ARN": topic, "REPORTS_BUCKET_NAME": "cli-reports"}

    proc = origin_auditor("audit", "--publish", "--format", "json", env=env)

    assert proc.returncode == 1, proc.stderr
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket="cli-reports")["Contents"]
             if o["Key"].endswith(".json")]  # the HTML page next to it: test_audit_archives_the_html_page_too
    assert re.fullmatch(r"reports/\d{4}/\d{2}/\d{2}/\d{6}Z-cli-[0-9a-f]{12}\.json", key)
    assert f"report archived to s3://cli-reports/{key}" in proc.stderr
    archived = json.loads(s3.get_object(Bucket="cli-reports", Key=key)["Body"].read())
    assert archived["results"] == json.loads(proc.stdout)["results"]
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    machine = json.loads(json.loads(message["Body"])["Message"])
    assert machine["notification"]["report"]["uri"] == f"s3://cli-reports/{key}"

    # --archive-bucket wins over the environment; a bucket that is not there is said, exit 2,
    # and the message still goes, saying so.
    proc = origin_auditor("audit", "--publish", "--archive-bucket", "no-such-bucket", env=env)
    assert proc.returncode == 2
    assert "report not archived to s3://no-such-bucket/reports/" in proc.stderr
    assert "NoSuchBucket" in proc.stderr and f"published to {topic}" in proc.stderr
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    machine = json.loads(json.loads(message["Body"])["Message"])
    assert machine["notification"]["report"]["written"] is False


def test_audit_archives_the_html_page_too(account: Account) -> None:
    s3 = account.clients["s3"]
    s3.create_bucket(Bucket="cli-pages")
    proc = origin_auditor("audit", "--archive-bucket", "cli-pages", env=account.env)
    assert proc.returncode == 1, proc.stderr  # findings decide the status; archiving worked
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="cli-pages")["Contents"])
    assert [k.rsplit(".", 1)[1] for k in keys] == ["html", "json"]
    page, report = keys
    assert page == report.removesuffix(".json") + ".html"  # as the Lambda names it
    assert f"report archived to s3://cli-pages/{report}" in proc.stderr
    assert f"HTML report archived to s3://cli-pages/{page}" in proc.stderr
    got = s3.get_object(Bucket="cli-pages", Key=page)
    assert got["ContentType"] == "text/html; charset=utf-8"
    assert got["Body"].read().decode().lower().startswith("<!doctype html>")


def test_audit_publish_without_a_topic_is_a_usage_error(account: Account) -> None:
    proc = origin_auditor("audit", "--publish", "--distribution-id", account.distribution_of[HEALTHY_IP],
                          env=account.env)
    assert proc.returncode == 2
    assert "FINDINGS_TOPIC_ARN" in proc.stderr.splitlines()[-1]


@pytest.mark.timeout(90)
def test_audit_with_an_unreachable_endpoint_exits_2_with_one_line(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    proc = origin_auditor("audit", env=env, timeout=80)
    # Printed, not asserted: botocore's retry loop decides how long this takes.
    print(f"audit against a closed endpoint took {time.monotonic() - started:.1f} s")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("origin-auditor: error: cannot audit:")
    assert "Traceback" not in proc.stderr


@pytest.mark.timeout(90)
def test_audit_without_cloudwatch_still_reports_every_origin_and_says_why(account: Account) -> None:
    # CloudWatch unreachable (its own endpoint: a closed port) while CloudFront answers: the TLS
    # verdicts are not lost; a failing origin without numbers is LATENT, never better.
    env = {**account.env, "AWS_ENDPOINT_URL_CLOUDWATCH": f"http://127.0.0.1:{closed_port()}"}
    started = time.monotonic()
    proc = origin_auditor("audit", "--format", "json", env=env, timeout=80)
    print(f"audit with CloudWatch unreachable took {time.monotonic() - started:.1f} s")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    by_id = {d["id"]: d for d in doc["distributions"]}
    classes = {ip: by_id[d]["classification"] for ip, d in account.distribution_of.items()}
    assert classes[OUTAGE_IP] == classes[LATENT_IP] == "LATENT"
    assert classes[HEALTHY_IP] == "HEALTHY"
    assert any("CloudWatch" in n or "GetMetricData" in n for n in doc["summary"]["notes"]), doc["summary"]
    verdicts = {r["target"]["host"]: r["verdict"] for r in doc["results"]}
    assert verdicts == {HEALTHY_IP: "pass", OUTAGE_IP: "fail", LATENT_IP: "fail"}


def test_audit_without_the_switch_reports_loopback_origins_and_does_not_connect(account: Account) -> None:
    # Issue 9 §4: CloudFront cannot reach loopback, so an account whose origins are there fails
    # with ADDRESS_NOT_PUBLIC, nothing is probed; the flag opens exactly the range it names.
    env = {k: v for k, v in account.env.items() if k != "ORIGIN_AUDITOR_ALLOW_ADDRESSES"}
    doc = json.loads(origin_auditor("audit", "--format", "json", env=env).stdout)
    for result in doc["results"]:
        assert result["addresses"] == []
        assert [f["code"] for f in result["findings"]] == ["ADDRESS_NOT_PUBLIC"]
        assert result["findings"][0]["message"].startswith(
            f"The origin {result['target']['host']} is a loopback address. ")
    doc = json.loads(origin_auditor("audit", "--format", "json", "--allow-addresses", f"{HEALTHY_IP}/32",
                                    env=env).stdout)
    verdicts = {r["target"]["host"]: (r["verdict"], [a["address"] for a in r["addresses"]])
                for r in doc["results"]}
    assert verdicts == {HEALTHY_IP: ("pass", [HEALTHY_IP]), OUTAGE_IP: ("fail", []), LATENT_IP: ("fail", [])}
