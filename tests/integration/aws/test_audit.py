"""run_audit end to end: moto CloudFront + CloudWatch, real TLS origins on loopback."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from origin_auditor import aws, cli
from origin_auditor.audit import AuditOptions, run_audit
from origin_auditor.discover import DiscoveryError
from origin_auditor.model import AuditReport
from origin_auditor.probe import static_resolver
from origin_auditor.trust import TrustStore, load_trust_store
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer

from .conftest import Split, behavior, create, custom_origin, s3_origin
from .test_correlate import put, subscriptions


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki(hostnames=["good.origin.test", "www.shop.test"])


@pytest.fixture(scope="module")
def trust(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> TrustStore:
    path: Path = tmp_path_factory.mktemp("trust") / "root.pem"
    path.write_bytes(pki.root_pem)
    return load_trust_store(str(path))


@pytest.fixture(scope="module")
def origins(pki: Pki) -> Iterator[dict[str, int]]:
    # good: full chain; broken: leaf only (the missing-intermediate incident CloudFront rejects).
    with TlsServer(pki.chain(), host="127.0.0.1") as good, TlsServer([pki.leaf], host="127.0.0.2") as broken:
        yield {"good": good.port, "broken": broken.port}


RESOLVER = static_resolver({"good.origin.test": ["127.0.0.1"], "broken.origin.test": ["127.0.0.2"],
                            "shop.origin.test": ["127.0.0.1"]})


def account(cf: Any, cw: Any, ports: dict[str, int]) -> dict[str, str]:
    """Five distributions covering every classification the origins allow."""
    ids = {
        "healthy": create(cf, [custom_origin("web", "good.origin.test", port=ports["good"]),
                               s3_origin("s3")]),
        "latent": create(cf, [custom_origin("api", "broken.origin.test", port=ports["broken"])]),
        # The same broken origin behind a second distribution: probed once, reported under both.
        "outage": create(cf, [custom_origin("api2", "broken.origin.test", port=ports["broken"])]),
        # Host forwarded: each alias is sent as SNI and the certificate must cover it or the origin
        # domain (AWS: "one or both"). The certificate covers www.shop.test but neither
        # other.shop.test nor the origin domain shop.origin.test.
        "aliases": create(cf, [custom_origin("web", "shop.origin.test", port=ports["good"])],
                          aliases=["www.shop.test", "other.shop.test"],
                          default=behavior("web", headers=["Host"])),
        "idle": create(cf, [custom_origin("web", "good.origin.test", port=ports["good"])], enabled=False),
    }
    for name, rate in (("healthy", 0.0), ("latent", 0.1), ("outage", 35.0), ("aliases", 0.0)):
        put(cw, ids[name], "Requests", [1000.0])
        put(cw, ids[name], "5xxErrorRate", [rate], "Percent")
    return ids


def audit(cf: Any, cw: Any, trust: TrustStore, ids: dict[str, str], **kw: Any) -> AuditReport:
    stub_client = boto3.client("cloudfront", region_name="us-east-1")
    with Stubber(stub_client) as stubber:
        subscriptions(stubber, dict.fromkeys(ids.values()))
        # The origins' names answer loopback, which CloudFront cannot reach: opened for the lab.
        options = AuditOptions(timeout=5.0, allow_addresses=LOOPBACK, **kw)
        return run_audit(options, cloudfront=Split(cf, stub_client, ["get_monitoring_subscription"]),
                         cloudwatch=cw, resolver=RESOLVER, trust=trust)


def test_audit_classifies_every_distribution_against_real_tls_origins(
        cf: Any, cw: Any, trust: TrustStore, origins: dict[str, int]) -> None:
    ids = account(cf, cw, origins)
    report = audit(cf, cw, trust, ids)
    by_id = {d.id: d for d in report.distributions}
    assert {name: by_id[i].classification for name, i in ids.items()} == {
        "outage": "OUTAGE", "latent": "LATENT", "aliases": "LATENT", "healthy": "HEALTHY", "idle": "IDLE"}
    assert [d.classification for d in report.distributions][:3] == ["OUTAGE", "LATENT", "LATENT"]

    # The broken origin: one result, under both distributions, failing on the missing intermediate.
    broken = [i for i, r in enumerate(report.results) if r.target.host == "broken.origin.test"]
    assert len(broken) == 1
    assert by_id[ids["latent"]].results == by_id[ids["outage"]].results == tuple(broken)
    assert "CHAIN_INCOMPLETE" in {str(f.code) for f in report.results[broken[0]].findings}
    assert "masking" in by_id[ids["latent"]].reason

    # Host forwarded: the alias on the certificate passes, the other one fails on the name.
    alias_results = {report.results[i].target.sni: report.results[i] for i in by_id[ids["aliases"]].results}
    # Every route forwards Host: the origin domain is never sent, the default domain is.
    own = by_id[ids["aliases"]].domain_name
    assert set(alias_results) == {"www.shop.test", "other.shop.test", own}
    assert str(alias_results["www.shop.test"].verdict) == "pass"
    assert [str(f.code) for f in alias_results[own].findings] == ["DEFAULT_DOMAIN_FAILS"]
    mismatch = [f for f in alias_results["other.shop.test"].findings if f.code == "HOSTNAME_MISMATCH"]
    assert mismatch and "shop.origin.test" in mismatch[0].message  # both names are named

    assert by_id[ids["idle"]].enabled is False and by_id[ids["idle"]].metrics["Requests"] == 0.0
    assert {str(f.code) for d in report.distributions for f in d.findings} == {"ADDITIONAL_METRICS_DISABLED"}
    assert report.notes == ()


def test_audit_without_cloudwatch_still_reports_and_says_so(
        cf: Any, trust: TrustStore, origins: dict[str, int]) -> None:
    ids = {"latent": create(cf, [custom_origin("api", "broken.origin.test", port=origins["broken"])]),
           "healthy": create(cf, [custom_origin("web", "good.origin.test", port=origins["good"])])}
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    with Stubber(cw) as cw_stub:
        cw_stub.add_client_error("get_metric_data", "InternalFailure", "boom", 500)
        report = audit(cf, cw, trust, ids)
    by_id = {d.id: d for d in report.distributions}
    assert by_id[ids["latent"]].classification == "LATENT"
    assert "unavailable" in by_id[ids["latent"]].reason
    assert by_id[ids["healthy"]].classification == "HEALTHY"
    assert any("no metrics" in n for n in report.notes)


def test_audit_of_selected_distributions_only(cf: Any, cw: Any, trust: TrustStore,
                                              origins: dict[str, int]) -> None:
    ids = account(cf, cw, origins)
    report = audit(cf, cw, trust, {"healthy": ids["healthy"]}, distribution_ids=(ids["healthy"],))
    assert [d.id for d in report.distributions] == [ids["healthy"]]
    assert [r.target.host for r in report.results] == ["good.origin.test"]


def test_audit_that_cannot_list_raises_a_clear_error(stub_cf: tuple[Any, Stubber]) -> None:
    client, stubber = stub_cf
    stubber.add_client_error("list_distributions", "AccessDenied", "not authorized", 403)
    with pytest.raises(DiscoveryError, match="AccessDenied"):
        run_audit(AuditOptions(), cloudfront=client, cloudwatch=object(), resolver=RESOLVER)


def test_audit_validity_moment_is_an_option(cf: Any, cw: Any, trust: TrustStore,
                                            origins: dict[str, int]) -> None:
    ids = {"healthy": create(cf, [custom_origin("web", "good.origin.test", port=origins["good"])])}
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=80)  # leaf (90 days) expires inside 30 days
    report = audit(cf, cw, trust, ids, at=later)
    assert "CERT_EXPIRING_SOON" in {str(f.code) for f in report.results[0].findings}
    assert report.distributions[0].classification == "AT_RISK"


def test_cli_audit_that_cannot_list_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                          stub_cf: tuple[Any, Stubber]) -> None:
    client, stubber = stub_cf
    stubber.add_client_error("list_distributions", "AccessDenied", "not authorized", 403)
    monkeypatch.setattr(aws, "client", lambda service, *_, **__: client if service == "cloudfront" else None)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["audit"], out=out, err=err) == cli.EXIT_USAGE
    assert out.getvalue() == ""
    assert err.getvalue() == ("origin-auditor: error: cannot audit: Could not list CloudFront distributions: "
                              "AccessDenied: not authorized\n")


def test_cli_audit_whose_role_cannot_be_assumed_exits_2_with_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")

    monkeypatch.setattr(aws, "session", refuse)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["audit", "--role-arn", "arn:aws:iam::123456789012:role/x"], out=out, err=err) == 2
    assert err.getvalue() == ("origin-auditor: error: cannot audit: An error occurred (AccessDenied) when "
                              "calling the AssumeRole operation: no\n")


def test_what_discovery_saw_is_among_each_results_findings(cf: Any, cw: Any, trust: TrustStore,
                                                           origins: dict[str, int]) -> None:
    did = create(cf, [custom_origin("plain", "plain.origin.test", policy="http-only"),
                      custom_origin("old", "good.origin.test", port=origins["good"],
                                    protocols=["TLSv1.1", "TLSv1.2"])])
    report = audit(cf, cw, trust, {"d": did})
    found = {r.target.origin_ids[0]: [(str(f.code), f.message) for f in r.findings] for r in report.results}
    assert found == {
        "plain": [("ORIGIN_HTTP_ONLY", f"origin plain of distribution {did} is http-only: no TLS between "
                                       "CloudFront and it.")],
        "old": [("LEGACY_PROTOCOL",
                 f"OriginSslProtocols of origin old of distribution {did} allows TLSv1.1.")],
    }
    assert report.results[0].reproduce == ""  # not probed: nothing to reproduce


def test_targets_are_probed_in_the_probe_order_and_reported_in_discovery_order(
        cf: Any, cw: Any, trust: TrustStore, origins: dict[str, int]) -> None:
    ids = account(cf, cw, origins)
    resolved: list[str] = []

    def recording(host: str, port: int) -> list[str]:
        resolved.append(host)
        return RESOLVER(host, port)

    given: list[list[str]] = []

    def backwards(targets: Any) -> list[Any]:
        given.append([t.sni for t in targets])
        return list(reversed(targets))

    stub_client = boto3.client("cloudfront", region_name="us-east-1")
    with Stubber(stub_client) as stubber:
        subscriptions(stubber, dict.fromkeys(ids.values()))
        rep = run_audit(AuditOptions(timeout=5.0, concurrency=1, probe_order=backwards),
                        cloudfront=Split(cf, stub_client, ["get_monitoring_subscription"]),
                        cloudwatch=cw, resolver=recording, trust=trust)
    [discovered] = given  # called once, before any probe
    assert [r.target.sni for r in rep.results] == discovered  # the report keeps discovery order
    # concurrency 1: each target is resolved as it starts, so resolution order is probe order.
    host_of = {r.target.sni: r.target.host for r in rep.results}
    assert list(dict.fromkeys(resolved)) == list(dict.fromkeys(host_of[s] for s in reversed(discovered)))
