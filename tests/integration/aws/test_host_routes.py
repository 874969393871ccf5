"""Issue 10 §2: the names CloudFront really sends on each route, end to end.

moto CloudFront (Stubber where moto lacks an API: the policy reads, and listings carrying edge
code, which moto drops) + real TLS origins on loopback (the lab's PKI and servers; loopback
opened with ``allow_addresses=LOOPBACK``).

The rule (``shared/cloudfront-rules.md`` §3, AWS's 502 guide): with the viewer's Host forwarded,
CloudFront sends the Host the viewer used as SNI and accepts a certificate for "one or both" of
that name and the origin domain. Viewers on an alias send the alias; viewers on the
distribution's own d….cloudfront.net send that. The origin domain goes out as SNI only on
routes that do not forward Host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from origin_auditor.audit import AuditOptions, run_audit
from origin_auditor.discover import discover
from origin_auditor.judge.discovery import notes
from origin_auditor.model import AuditReport, DistributionReport, SniSource, TargetResult
from origin_auditor.probe import static_resolver
from origin_auditor.rules import WILDCARD_ALIAS_LABEL
from origin_auditor.trust import TrustStore, load_trust_store
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Pki
from origin_auditor_lab.servers import TlsServer

from .conftest import MonitoringSubscriptions, Split, behavior, create, custom_origin
from .test_correlate import put
from .test_discover import cache_policy, listing, origin_request_policy, summary

ALIAS = "www.shop.test"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CF_FUNCTION = "arn:aws:cloudfront::123456789012:function/pick-origin"
EDGE_LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:rewrite:3"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki(hostnames=[ALIAS])  # the leaf covers the alias only


@pytest.fixture(scope="module")
def trust(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> TrustStore:
    path: Path = tmp_path_factory.mktemp("trust") / "root.pem"
    path.write_bytes(pki.root_pem)
    return load_trust_store(str(path))


@pytest.fixture(scope="module")
def ports(pki: Pki) -> Iterator[dict[str, int]]:
    # alias: a certificate for www.shop.test only (not the origin domain alias.origin.test).
    # origin: a certificate for its origin domain covered.origin.test only.
    covered = pki.issue_leaf("covered.origin.test", dns_names=["covered.origin.test"])
    with TlsServer(pki.chain()) as alias, TlsServer([covered, *pki.intermediates]) as origin:
        yield {"alias": alias.port, "origin": origin.port}


RESOLVER = static_resolver({"alias.origin.test": ["127.0.0.1"], "backup.origin.test": ["127.0.0.1"],
                            "covered.origin.test": ["127.0.0.1"]})


def audit(cloudfront: Any, cw: Any, trust: TrustStore, ids: list[str],
          resolver: Callable[[str, int], list[str]] = RESOLVER) -> AuditReport:
    for did in ids:
        put(cw, did, "Requests", [1000.0])
        put(cw, did, "5xxErrorRate", [0.0], "Percent")
    MonitoringSubscriptions(dict.fromkeys(ids)).install(cloudfront)
    return run_audit(AuditOptions(timeout=5.0, allow_addresses=LOOPBACK), cloudfront=cloudfront,
                     cloudwatch=cw, resolver=resolver, trust=trust)


def mine(report: AuditReport, did: str) -> tuple[DistributionReport, dict[str, TargetResult]]:
    (dist,) = [d for d in report.distributions if d.id == did]
    return dist, {report.results[i].target.sni: report.results[i] for i in dist.results}


def codes(result: TargetResult) -> list[str]:
    return [str(f.code) for f in result.findings]


def default_domain(cf: Any, did: str) -> str:
    return str(cf.get_distribution(Id=did)["Distribution"]["DomainName"])


# ------------------------------------------------------------ every route forwards the Host

def test_every_route_forwarding_host_probes_the_alias_and_the_default_domain_not_the_origin_domain(
        cf: Any, cw: Any, trust: TrustStore, ports: dict[str, int]) -> None:
    # The certificate covers the alias, not the origin domain: viewers (on the alias) never make
    # CloudFront send the origin domain, so this is not the distribution's failure.
    did = create(cf, [custom_origin("web", "alias.origin.test", port=ports["alias"])], aliases=[ALIAS],
                 default=behavior("web", headers=["Host"]))
    own = default_domain(cf, did)
    dist, results = mine(audit(cf, cw, trust, [did]), did)
    assert set(results) == {ALIAS, own}  # no target with SNI = the origin domain
    assert results[ALIAS].target.sni_source is SniSource.ALIAS and codes(results[ALIAS]) == []
    # Requests on d….cloudfront.net send that name: the certificate covers neither it nor the
    # origin domain, so those requests fail, and only those: a warning naming the default domain.
    default = results[own]
    assert default.target.sni_source is SniSource.DEFAULT_DOMAIN
    assert codes(default) == ["DEFAULT_DOMAIN_FAILS"] and str(default.verdict) == "warn"
    assert own in default.findings[0].message and "HOSTNAME_MISMATCH" in default.findings[0].message
    assert dist.classification == "AT_RISK" and "LATENT" not in dist.reason


def test_any_failure_seen_only_on_the_default_domain_fails_only_that_domains_requests(
        cf: Any, cw: Any, trust: TrustStore, pki: Pki) -> None:
    # An origin choosing its chain by SNI: the alias gets the full chain, any other name a
    # leaf without its intermediate. Only viewers on d….cloudfront.net meet the broken one.
    with TlsServer([pki.leaf], sni_chains={ALIAS: pki.chain()}) as server:
        did = create(cf, [custom_origin("web", "alias.origin.test", port=server.port)], aliases=[ALIAS],
                     default=behavior("web", headers=["Host"]))
        dist, results = mine(audit(cf, cw, trust, [did]), did)
    default = results[default_domain(cf, did)]
    assert codes(results[ALIAS]) == []
    assert set(codes(default)) == {"DEFAULT_DOMAIN_FAILS"} and len(default.findings) >= 2
    assert any("CHAIN_INCOMPLETE" in f.message for f in default.findings)
    assert dist.classification == "AT_RISK"


def test_a_certificate_for_the_origin_domain_serves_every_forwarded_name(
        cf: Any, cw: Any, trust: TrustStore, ports: dict[str, int]) -> None:
    did = create(cf, [custom_origin("web", "covered.origin.test", port=ports["origin"])], aliases=[ALIAS],
                 default=behavior("web", headers=["host"]))
    dist, results = mine(audit(cf, cw, trust, [did]), did)
    assert set(results) == {ALIAS, default_domain(cf, did)}
    assert all(r.findings == () for r in results.values())
    assert dist.classification == "HEALTHY"


def test_without_aliases_the_default_domain_is_the_only_name_so_its_failure_is_the_distributions(
        cf: Any, cw: Any, trust: TrustStore, ports: dict[str, int]) -> None:
    did = create(cf, [custom_origin("web", "alias.origin.test", port=ports["alias"])],
                 default=behavior("web", headers=["Host"]))
    dist, results = mine(audit(cf, cw, trust, [did]), did)
    (only,) = results.values()
    assert only.target.sni == default_domain(cf, did) and "HOSTNAME_MISMATCH" in codes(only)
    assert dist.classification == "LATENT"


# ------------------------------------------------------------ mixed routes, origin groups

def test_mixed_routes_probe_the_origin_domain_for_the_route_that_sends_it(
        cf: Any, cw: Any, trust: TrustStore, ports: dict[str, int]) -> None:
    # "*" does not forward Host (CloudFront sends the origin domain there); /api/* does.
    did = create(cf, [custom_origin("web", "alias.origin.test", port=ports["alias"])], aliases=[ALIAS],
                 default=behavior("web", headers=["Accept"]),
                 behaviors=[behavior("web", path="/api/*", headers=["Host"])])
    dist, results = mine(audit(cf, cw, trust, [did]), did)
    assert set(results) == {"alias.origin.test", ALIAS, default_domain(cf, did)}
    assert results["alias.origin.test"].target.sni_source is SniSource.ORIGIN_DOMAIN
    assert "HOSTNAME_MISMATCH" in codes(results["alias.origin.test"])  # a real failure on "*"
    assert codes(results[ALIAS]) == []
    assert dist.classification == "LATENT"


def test_origin_group_members_are_probed_with_the_names_the_group_route_sends(
        cf: Any, cw: Any, trust: TrustStore, ports: dict[str, int]) -> None:
    did = create(cf, [custom_origin("primary", "alias.origin.test", port=ports["alias"]),
                      custom_origin("secondary", "backup.origin.test", port=ports["alias"])],
                 aliases=[ALIAS], groups=[("failover", ["primary", "secondary"])],
                 # moto refuses a group on the default behavior: the group is on /app/*.
                 default=behavior("primary", headers=["Host"]),
                 behaviors=[behavior("failover", path="/app/*", headers=["Host"])])
    own = default_domain(cf, did)
    report = audit(cf, cw, trust, [did])
    dist = report.distributions[0]
    seen = sorted((report.results[i].target.host, report.results[i].target.sni,
                   str(report.results[i].verdict)) for i in dist.results)
    assert seen == sorted([("alias.origin.test", ALIAS, "pass"), ("alias.origin.test", own, "warn"),
                           ("backup.origin.test", ALIAS, "pass"), ("backup.origin.test", own, "warn")])
    assert all(report.results[i].target.origin_group_ids == ("failover",) for i in dist.results)
    assert dist.classification == "AT_RISK"


# ------------------------------------------------------------ every way a behavior forwards Host

POLICY_CASES = {
    # name: (behavior kwargs, policy answers, forwards Host?)
    "legacy Host": ({"headers": ["Host"]}, {}, True),
    "legacy *": ({"headers": ["*"]}, {}, True),
    "legacy other headers": ({"headers": ["Accept"]}, {}, False),
    "cache policy keys on Host": ({"cache_policy": "cp-host"}, {"cp-host": cache_policy(["HOST"])}, True),
    "cache policy without Host": ({"cache_policy": "cp-none"}, {"cp-none": cache_policy(["Accept"])}, False),
    "managed AllViewer": ({"cache_policy": "cp-none", "origin_request_policy": ALL_VIEWER},
                          {"cp-none": cache_policy(None)}, True),
    "managed AllViewerExceptHostHeader": (
        {"cache_policy": "cp-none", "origin_request_policy": ALL_VIEWER_EXCEPT_HOST},
        {"cp-none": cache_policy(None)}, False),
    "origin request policy allViewerAndWhitelistCloudFront": (
        {"cache_policy": "cp-none", "origin_request_policy": "orp"},
        {"cp-none": cache_policy(None), "orp": origin_request_policy("allViewerAndWhitelistCloudFront",
                                                                     ["CloudFront-Viewer-Country"])}, True),
    "origin request policy allExcept Host": (
        {"cache_policy": "cp-none", "origin_request_policy": "orp"},
        {"cp-none": cache_policy(None), "orp": origin_request_policy("allExcept", ["host"])}, False),
}


@pytest.mark.parametrize("case", list(POLICY_CASES))
def test_each_way_of_forwarding_host_decides_the_names_probed_end_to_end(
        case: str, cf: Any, cw: Any, stub_cf: tuple[Any, Stubber], trust: TrustStore,
        ports: dict[str, int]) -> None:
    kwargs, answers, forwards = POLICY_CASES[case]
    client, stubber = stub_cf
    did = create(cf, [custom_origin("web", "alias.origin.test", port=ports["alias"])], aliases=[ALIAS],
                 default=behavior("web", **kwargs))
    for policy_id, answer in answers.items():
        op = "get_cache_policy" if "CachePolicy" in answer else "get_origin_request_policy"
        stubber.add_response(op, answer, {"Id": policy_id})
    report = audit(Split(cf, client, ["get_cache_policy", "get_origin_request_policy",
                                      "get_monitoring_subscription"]), cw, trust, [did])
    stubber.assert_no_pending_responses()
    dist, results = mine(report, did)
    if forwards:
        assert set(results) == {ALIAS, default_domain(cf, did)}
        assert dist.classification == "AT_RISK"  # only requests on d….cloudfront.net fail
    else:
        assert set(results) == {"alias.origin.test"}
        assert "HOSTNAME_MISMATCH" in codes(results["alias.origin.test"])
        assert dist.classification == "LATENT"


# ------------------------------------------------------------ route facts stay with their route

def with_code(b: dict[str, Any], *, function: str | None = None, lambda_edge: str | None = None
              ) -> dict[str, Any]:
    b = dict(b)
    if function:
        b["FunctionAssociations"] = {"Quantity": 1, "Items": [
            {"FunctionARN": CF_FUNCTION, "EventType": function}]}
    if lambda_edge:
        b["LambdaFunctionAssociations"] = {"Quantity": 1, "Items": [
            {"LambdaFunctionARN": EDGE_LAMBDA, "EventType": lambda_edge, "IncludeBody": False}]}
    return b


def test_an_edge_function_note_stays_with_its_distribution_when_the_origin_is_shared(
        stub_cf: tuple[Any, Stubber], cw: Any, trust: TrustStore, ports: dict[str, int]) -> None:
    client, stubber = stub_cf
    origin = custom_origin("web", "covered.origin.test", port=ports["origin"])
    with_fn = summary("EWITHFN", [origin], with_code(behavior("web"), function="viewer-request"))
    plain = summary("EPLAIN", [origin], behavior("web"))
    stubber.add_response("list_distributions", listing(with_fn, plain))
    resolved: list[str] = []

    def recording(host: str, port: int) -> list[str]:
        resolved.append(host)
        return RESOLVER(host, port)

    report = audit(client, cw, trust, ["EWITHFN", "EPLAIN"], resolver=recording)
    assert resolved == ["covered.origin.test"]  # the shared origin is still probed once
    fn_dist, fn_results = mine(report, "EWITHFN")
    plain_dist, plain_results = mine(report, "EPLAIN")
    assert codes(fn_results["covered.origin.test"]) == ["HOST_REWRITE_UNVERIFIABLE"]
    assert "EWITHFN" in fn_results["covered.origin.test"].findings[0].message
    # The other distribution's result carries nothing of EWITHFN's route.
    assert codes(plain_results["covered.origin.test"]) == []
    assert plain_results["covered.origin.test"].target.distribution_ids == ("EPLAIN",)
    assert plain_dist.classification == fn_dist.classification == "HEALTHY"  # the note is info


# Which association kinds can change the names CloudFront uses towards the origin:
# CloudFront Functions on viewer-request (the origin-modification helpers since 2025-11:
# updateRequestOrigin sets sni / hostHeader / allowedCertificateNames, selectRequestOriginById),
# Lambda@Edge on origin-request (request.origin and the Host header) and viewer-request (the
# request before routing). Response-side code runs after the origin answered.
ASSOCIATIONS = [
    ({"function": "viewer-request"}, True),
    ({"function": "viewer-response"}, False),
    ({"lambda_edge": "viewer-request"}, True),
    ({"lambda_edge": "origin-request"}, True),
    ({"lambda_edge": "origin-response"}, False),
    ({"lambda_edge": "viewer-response"}, False),
]


@pytest.mark.parametrize(("association", "noted"), ASSOCIATIONS)
def test_every_association_that_can_set_the_origins_names_is_noted(
        stub_cf: tuple[Any, Stubber], association: dict[str, str], noted: bool) -> None:
    client, stubber = stub_cf
    stubber.add_response("list_distributions", listing(summary(
        "EONE", [custom_origin("web", "web.origin.test")], with_code(behavior("web"), **association),
        aliases=[ALIAS])))
    (t,) = [t for t in discover(client).targets if t.sni == "web.origin.test"]
    found = [n for n in notes(t) if n.code == "HOST_REWRITE_UNVERIFIABLE"]
    assert bool(found) is noted
    if found and "function" in association:
        # The 2025 helpers: the function may choose the SNI, the Host and the accepted names.
        assert all(w in found[0].message for w in ("SNI", "Host", "certificate names"))
        assert "may not be the ones" in found[0].message


def test_code_on_another_route_that_can_pick_any_origin_is_noted_on_every_origin(
        stub_cf: tuple[Any, Stubber]) -> None:
    # selectRequestOriginById / updateRequestOrigin on /pick/* can send requests to "api" too,
    # with names the function chooses.
    client, stubber = stub_cf
    s = summary("EONE", [custom_origin("web", "web.origin.test"), custom_origin("api", "api.origin.test")],
                behavior("api"))
    s["CacheBehaviors"] = {"Quantity": 1, "Items": [
        with_code(behavior("web", path="/pick/*"), function="viewer-request")]}
    stubber.add_response("list_distributions", listing(s))
    targets = {t.origin_ids[0]: t for t in discover(client).targets}
    (api_note,) = notes(targets["api"])
    assert api_note.code == "HOST_REWRITE_UNVERIFIABLE" and "another route" in api_note.message
    assert CF_FUNCTION in api_note.message


def test_state_ids_are_unchanged_for_plain_targets_and_distinct_per_route() -> None:
    from origin_auditor.model import Target
    from origin_auditor.state import target_id
    plain = Target("o.test", protocols=("TLSv1.2",))
    assert target_id(plain) == "t#" + __import__("hashlib").sha256(
        b"o.test\x1f443\x1fo.test\x1fTLSv1.2").hexdigest()[:32]
    routed = Target("o.test", protocols=("TLSv1.2",), route="EWITHFN")
    assert target_id(routed) != target_id(plain) and routed.probe_key == plain.probe_key



# ------------------------------------------------------------ a wildcard alternate domain name

def test_a_wildcard_alias_is_probed_with_a_name_under_it_never_the_asterisk(
        cf: Any, cw: Any, trust: TrustStore, pki: Pki) -> None:
    # CloudFront forwards the Host the viewer used: some label under *.shop.test, never "*".
    wildcard = pki.issue_leaf("*.shop.test", dns_names=["*.shop.test"])
    one_name = pki.issue_leaf("www.shop.test", dns_names=["www.shop.test"])
    with TlsServer([wildcard, *pki.intermediates]) as good, TlsServer([one_name, *pki.intermediates]) as bad:
        ids = [create(cf, [custom_origin("web", "alias.origin.test", port=port)], aliases=["*.shop.test"],
                      default=behavior("web", headers=["Host"])) for port in (good.port, bad.port)]
        report = audit(cf, cw, trust, ids)
    probed = f"{WILDCARD_ALIAS_LABEL}.shop.test"
    _, good_results = mine(report, ids[0])
    assert good_results[probed].target.sni_source is SniSource.ALIAS
    assert codes(good_results[probed]) == []
    # Covering www.shop.test alone (and not the origin domain) fails every other name a viewer
    # can use under the wildcard.
    _, bad_results = mine(report, ids[1])
    assert "HOSTNAME_MISMATCH" in codes(bad_results[probed])
    assert not any("*" in name for name in (*good_results, *bad_results))
