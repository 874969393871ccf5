"""discover against moto CloudFront (Stubber only for the policy/VPC/association APIs moto lacks)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.stub import Stubber

from origin_auditor.discover import Discovery, DiscoveryError, discover
from origin_auditor.judge.discovery import notes, origin_findings
from origin_auditor.judge.findings import finding
from origin_auditor.model import OriginFacts, OriginKind, Target
from origin_auditor.rules import Code
from origin_auditor_lab.pki import Pki

from .conftest import Split, behavior, create, custom_origin, distribution_config, s3_origin

ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def codes(t: Target) -> list[str]:
    return [str(n.code) for n in notes(t)]


def by_sni(d: Discovery) -> dict[str, Target]:
    return {t.sni: t for t in d.targets}


def test_custom_origins_carry_port_protocols_timeout_and_legacy_protocols_warn(cf: Any) -> None:
    did = create(cf, [custom_origin("a", "a.origin.test", port=8443, protocols=["TLSv1.1", "TLSv1.2"],
                                    timeout=4),
                      custom_origin("b", "b.origin.test")])
    d = discover(cf)
    a, b = by_sni(d)["a.origin.test"], by_sni(d)["b.origin.test"]
    assert (a.host, a.port, a.protocols, a.connect_timeout) == (
        "a.origin.test", 8443, ("TLSv1.1", "TLSv1.2"), 4.0)
    assert a.distribution_ids == (did,) and a.origin_ids == ("a",)
    assert codes(a) == ["LEGACY_PROTOCOL"] and "TLSv1.1" in notes(a)[0].message
    assert (b.port, b.protocols, codes(b), b.skip_probe) == (443, ("TLSv1.2",), [], False)
    (info,) = d.distributions
    assert info.id == did and info.enabled is True and info.domain_name.endswith(".cloudfront.net")
    assert info.origins == (("a", "custom"), ("b", "custom"))
    assert d.api_calls == {"ListDistributions": 1}


def test_s3_rest_origins_are_skipped_and_s3_website_and_http_only_are_reported(cf: Any) -> None:
    create(cf, [
        s3_origin("rest"),
        custom_origin("site-http", "b1.s3-website-us-east-1.amazonaws.com", policy="http-only"),
        custom_origin("site-https", "b2.s3-website.eu-central-1.amazonaws.com", policy="match-viewer"),
        custom_origin("plain", "plain.origin.test", policy="http-only"),
    ])
    d = discover(cf)
    assert list(d.distributions[0].origins) == [
        ("rest", "s3"), ("site-http", "s3-website"), ("site-https", "s3-website"), ("plain", "http-only")]
    t = {t.origin_ids[0]: t for t in d.targets}
    assert "rest" not in t  # AWS's own TLS: nothing to probe, nothing to report
    assert t["site-http"].skip_probe and codes(t["site-http"]) == ["ORIGIN_HTTP_ONLY"]
    assert t["site-https"].skip_probe and codes(t["site-https"]) == ["S3_WEBSITE_HTTPS"]
    assert notes(t["site-https"])[0].severity == "fail"
    assert t["plain"].skip_probe and codes(t["plain"]) == ["ORIGIN_HTTP_ONLY"] and t["plain"].port == 80


def test_match_viewer_counts_as_tls(cf: Any) -> None:
    create(cf, [custom_origin("m", "m.origin.test", policy="match-viewer")])
    (t,) = discover(cf).targets
    assert not t.skip_probe and notes(t) == ()


def test_legacy_host_forwarding_adds_one_target_per_alias_case_insensitively(cf: Any) -> None:
    create(cf, [custom_origin("o", "o.origin.test")], aliases=["www.example.test", "example.test"],
           default=behavior("o", headers=["hOsT"]))
    d = discover(cf)
    # Every route forwards Host: the origin domain is never sent; the default domain is.
    own = d.distributions[0].domain_name
    assert [(t.host, t.sni, t.sni_source) for t in d.targets] == [
        ("o.origin.test", "www.example.test", "alias"), ("o.origin.test", "example.test", "alias"),
        ("o.origin.test", own, "default_domain")]


def test_wildcard_header_forwarding_forwards_host_on_an_ordered_behavior(cf: Any) -> None:
    create(cf, [custom_origin("web", "web.origin.test"), custom_origin("api", "api.origin.test")],
           aliases=["shop.example.test"],
           behaviors=[behavior("api", path="/api/*", headers=["*"])])
    d = discover(cf)
    # sorted on both sides: the default domain is random (moto), so its place in the order is too
    assert sorted((t.host, t.sni) for t in d.targets) == sorted([
        ("api.origin.test", d.distributions[0].domain_name), ("api.origin.test", "shop.example.test"),
        ("web.origin.test", "web.origin.test")])


def test_without_host_forwarding_aliases_are_not_checked(cf: Any) -> None:
    create(cf, [custom_origin("o", "o.origin.test")], aliases=["www.example.test"],
           default=behavior("o", headers=["Accept", "Origin"]))
    assert [t.sni for t in discover(cf).targets] == ["o.origin.test"]


def test_origin_group_members_carry_the_group_and_inherit_host_forwarding(cf: Any) -> None:
    create(cf, [custom_origin("primary", "p.origin.test"), custom_origin("secondary", "s.origin.test"),
                custom_origin("other", "x.origin.test")],
           groups=[("failover", ["primary", "secondary"])], aliases=["app.example.test"],
           behaviors=[behavior("failover", path="/app/*", headers=["Host"])])
    d = discover(cf)
    own = d.distributions[0].domain_name
    groups = {(t.origin_ids[0], t.sni): t.origin_group_ids for t in d.targets}
    # primary is also on "*" (the default behavior: no Host forwarded): its origin domain is sent
    # there; secondary is reached only through /app/*, which forwards Host.
    assert groups == {
        ("primary", "p.origin.test"): ("failover",), ("primary", "app.example.test"): ("failover",),
        ("primary", own): ("failover",),
        ("secondary", "app.example.test"): ("failover",), ("secondary", own): ("failover",),
        ("other", "x.origin.test"): (),
    }


def test_disabled_distributions_are_audited_and_say_so(cf: Any) -> None:
    did = create(cf, [custom_origin("o", "o.origin.test")], enabled=False)
    d = discover(cf)
    assert d.distributions[0].id == did and d.distributions[0].enabled is False
    assert len(d.targets) == 1


def test_identical_targets_across_distributions_are_merged_with_all_ids_and_notes(cf: Any) -> None:
    d1 = create(cf, [custom_origin("o1", "shared.origin.test", protocols=["TLSv1", "TLSv1.2"], timeout=8)])
    d2 = create(cf, [custom_origin("o2", "SHARED.origin.test.", protocols=["TLSv1.2", "TLSv1"], timeout=3),
                     custom_origin("own", "own.origin.test")])
    d = discover(cf)
    assert len(d.targets) == 2
    shared = d.targets[0]
    assert shared.distribution_ids == (d1, d2) and shared.origin_ids == ("o1", "o2")
    assert shared.connect_timeout == 3.0  # the strictest CloudFront applies
    assert [str(n.code) for n in notes(shared)] == ["LEGACY_PROTOCOL", "LEGACY_PROTOCOL"]  # per origin
    assert d.targets[1].distribution_ids == (d2,)


def test_listing_is_paginated_and_every_distribution_is_found(cf: Any) -> None:
    ids = [create(cf, [custom_origin("o", f"o{i}.origin.test")]) for i in range(101)]
    d = discover(cf)
    assert [x.id for x in d.distributions] == ids
    assert len(d.targets) == 101
    assert d.api_calls["ListDistributions"] == 2


def test_selected_distribution_ids_are_read_individually_and_an_unknown_one_is_a_note(cf: Any) -> None:
    did = create(cf, [custom_origin("o", "o.origin.test")], aliases=["a.example.test"],
                 default=behavior("o", headers=["host"]))
    create(cf, [custom_origin("o", "not-selected.origin.test")])
    d = discover(cf, distribution_ids=[did, "EDOESNOTEXIST"])
    assert [(x.id, x.error is None) for x in d.distributions] == [(did, True), ("EDOESNOTEXIST", False)]
    assert "NoSuchDistribution" in (d.distributions[1].error or "")
    assert [t.sni for t in d.targets] == ["a.example.test", d.distributions[0].domain_name]
    assert any("EDOESNOTEXIST" in n for n in d.notes)
    assert d.api_calls == {"GetDistribution": 2}


def cache_policy(headers: list[str] | None) -> dict[str, Any]:
    hc: dict[str, Any] = {"HeaderBehavior": "none"}
    if headers:
        hc = {"HeaderBehavior": "whitelist", "Headers": {"Quantity": len(headers), "Items": headers}}
    return {"CachePolicy": {"Id": "x", "LastModifiedTime": dt.datetime(2024, 1, 1), "CachePolicyConfig": {
        "Name": "p", "MinTTL": 0, "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True, "HeadersConfig": hc,
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"}}}}}


def origin_request_policy(behavior_: str, headers: list[str] = []) -> dict[str, Any]:  # noqa: B006
    hc: dict[str, Any] = {"HeaderBehavior": behavior_}
    if headers:
        hc["Headers"] = {"Quantity": len(headers), "Items": headers}
    return {"OriginRequestPolicy": {"Id": "x", "LastModifiedTime": dt.datetime(2024, 1, 1),
                                    "OriginRequestPolicyConfig": {
                                        "Name": "p", "HeadersConfig": hc,
                                        "CookiesConfig": {"CookieBehavior": "none"},
                                        "QueryStringsConfig": {"QueryStringBehavior": "none"}}}}


def test_host_forwarding_from_policies_fetches_each_policy_once(cf: Any,
                                                                stub_cf: tuple[Any, Stubber]) -> None:
    client, stubber = stub_cf
    cp_host, cp_none, orp_except = "cp-host", "cp-none", "orp-allexcept"
    aliases = ["www.example.test"]
    # 1: cache policy whitelists Host -> forwarded.
    d1 = create(cf, [custom_origin("o", "one.origin.test")], aliases=aliases,
                default=behavior("o", cache_policy=cp_host))
    # 2: no Host in the cache key, origin request policy allExcept [Authorization] -> forwarded.
    d2 = create(cf, [custom_origin("o", "two.origin.test")], aliases=aliases,
                default=behavior("o", cache_policy=cp_none, origin_request_policy=orp_except))
    # 3: managed AllViewerExceptHostHeader -> not forwarded (answered without an API call).
    d3 = create(cf, [custom_origin("o", "three.origin.test")], aliases=aliases,
                default=behavior("o", cache_policy=cp_none, origin_request_policy=ALL_VIEWER_EXCEPT_HOST))
    # 4: managed AllViewer -> forwarded; reuses both cache policies (no second fetch).
    d4 = create(cf, [custom_origin("o", "four.origin.test"), custom_origin("p", "five.origin.test")],
                aliases=aliases, default=behavior("o", cache_policy=cp_host),
                behaviors=[behavior("p", path="/p/*", cache_policy=cp_none,
                                    origin_request_policy=ALL_VIEWER)])
    stubber.add_response("get_cache_policy", cache_policy(["Accept", "host"]), {"Id": cp_host})
    stubber.add_response("get_cache_policy", cache_policy(None), {"Id": cp_none})
    stubber.add_response("get_origin_request_policy", origin_request_policy("allExcept", ["Authorization"]),
                         {"Id": orp_except})
    d = discover(Split(cf, client, ["get_cache_policy", "get_origin_request_policy"]))
    stubber.assert_no_pending_responses()
    snis = {(t.distribution_ids[0], t.host): [] for t in d.targets}  # type: dict[tuple[str, str], list[str]]
    for t in d.targets:
        snis[(t.distribution_ids[0], t.host)].append(t.sni)
    own = {x.id: x.domain_name for x in d.distributions}
    assert snis == {  # every route to these origins forwards Host, except d3's
        (d1, "one.origin.test"): ["www.example.test", own[d1]],
        (d2, "two.origin.test"): ["www.example.test", own[d2]],
        (d3, "three.origin.test"): ["three.origin.test"],
        (d4, "four.origin.test"): ["www.example.test", own[d4]],
        (d4, "five.origin.test"): ["www.example.test", own[d4]],
    }
    assert d.api_calls["GetCachePolicy"] == 2 and d.api_calls["GetOriginRequestPolicy"] == 1


def test_unreadable_policy_is_a_note_and_the_origin_is_still_checked(cf: Any,
                                                                     stub_cf: tuple[Any, Stubber]) -> None:
    client, stubber = stub_cf
    create(cf, [custom_origin("o", "o.origin.test")], aliases=["www.example.test"],
           default=behavior("o", cache_policy="cp-secret"))
    stubber.add_client_error("get_cache_policy", "AccessDenied", "not allowed", 403)
    d = discover(Split(cf, client, ["get_cache_policy"]))
    (t,) = d.targets
    assert t.sni == "o.origin.test"
    assert codes(t) == ["HOST_REWRITE_UNVERIFIABLE"] and "www.example.test" in notes(t)[0].message
    assert any("cp-secret" in n and "AccessDenied" in n for n in d.notes)


def summary(dist_id: str, origins: list[dict[str, Any]], default: dict[str, Any],
            aliases: list[str] = [], staging: bool = False) -> dict[str, Any]:  # noqa: B006
    """A DistributionSummary as the real API returns it (full shape, validated by Stubber)."""
    cfg = distribution_config(origins, default=default, aliases=aliases)
    d = {
        "Id": dist_id, "ARN": f"arn:aws:cloudfront::123456789012:distribution/{dist_id}", "ETag": "E1",
        "Status": "Deployed", "LastModifiedTime": dt.datetime(2024, 1, 1), "DomainName": "d1.cloudfront.net",
        "Aliases": cfg.get("Aliases", {"Quantity": 0}), "Origins": cfg["Origins"],
        "OriginGroups": {"Quantity": 0}, "DefaultCacheBehavior": default,
        "CacheBehaviors": {"Quantity": 0}, "CustomErrorResponses": {"Quantity": 0}, "Comment": "",
        "PriceClass": "PriceClass_All", "Enabled": True,
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": "", "HttpVersion": "http2", "IsIPV6Enabled": True, "Staging": staging,
    }
    return d


def listing(*items: dict[str, Any]) -> dict[str, Any]:
    return {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False,
                                 "Quantity": len(items), "Items": list(items)}}


def test_vpc_origins_edge_functions_and_staging_from_the_full_api_shape(stub_cf: tuple[Any, Stubber]) -> None:
    # moto drops VpcOriginConfig, associations and Staging, so this listing is stubbed.
    client, stubber = stub_cf
    default = behavior("web")
    default["LambdaFunctionAssociations"] = {"Quantity": 2, "Items": [
        {"LambdaFunctionARN": "arn:aws:lambda:us-east-1:123456789012:function:rewrite:3",
         "EventType": "origin-request"},
        {"LambdaFunctionARN": "arn:aws:lambda:us-east-1:123456789012:function:headers:1",
         "EventType": "origin-response"}]}
    default["FunctionAssociations"] = {"Quantity": 1, "Items": [
        {"FunctionARN": "arn:aws:cloudfront::123456789012:function/route", "EventType": "viewer-request"}]}
    origins = [custom_origin("web", "web.origin.test"),
               {"Id": "private", "DomainName": "internal.example.test",
                "VpcOriginConfig": {"VpcOriginId": "vo_0123456789", "OriginReadTimeout": 30,
                                    "OriginKeepaliveTimeout": 5}},
               s3_origin("bucket")]
    stubber.add_response("list_distributions", listing(summary("ESTAGE", origins, default, staging=True)))
    d = discover(client)
    info = d.distributions[0]
    assert info.staging is True
    assert info.origins == (("web", "custom"), ("private", "vpc"), ("bucket", "s3"))
    web, vpc = d.targets
    assert codes(web) == ["HOST_REWRITE_UNVERIFIABLE"]
    assert "function:rewrite:3" in notes(web)[0].message and "function/route" in notes(web)[0].message
    assert "headers:1" not in notes(web)[0].message  # response-side code cannot change the Host sent
    assert vpc.skip_probe and codes(vpc) == ["ORIGIN_NOT_PROBED"] and "vo_0123456789" in notes(vpc)[0].message


def test_failing_to_list_anything_raises_a_clear_error(stub_cf: tuple[Any, Stubber]) -> None:
    client, stubber = stub_cf
    stubber.add_client_error("list_distributions", "AccessDenied",
                             "User is not authorized to perform: cloudfront:ListDistributions", 403)
    with pytest.raises(DiscoveryError, match=r"Could not list CloudFront distributions: AccessDenied"):
        discover(client)


def test_a_listing_that_breaks_midway_keeps_what_it_has_and_says_so(stub_cf: tuple[Any, Stubber]) -> None:
    client, stubber = stub_cf
    page1 = listing(summary("EONE", [custom_origin("o", "o.origin.test")], behavior("o")))
    page1["DistributionList"].update(IsTruncated=True, NextMarker="EONE")
    stubber.add_response("list_distributions", page1)
    stubber.add_client_error("list_distributions", "Throttling", "Rate exceeded", 400)
    d = discover(client)
    assert [x.id for x in d.distributions] == ["EONE"] and len(d.targets) == 1
    assert any("stopped after 1" in n and "Throttling" in n for n in d.notes)


def test_a_malformed_distribution_loses_only_itself(stub_cf: tuple[Any, Stubber], monkeypatch: Any) -> None:
    client, stubber = stub_cf
    good = summary("EGOOD", [custom_origin("o", "good.origin.test")], behavior("o"))
    bad = summary("EBAD", [custom_origin("o", "bad.origin.test")], behavior("o"))
    bad["Origins"]["Items"][0]["CustomOriginConfig"]["HTTPSPort"] = 0  # valid shape, then corrupted below
    stubber.add_response("list_distributions", listing(bad, good))
    import origin_auditor.discover as mod
    real = mod.distribution_targets

    def explode(dist_id: str, *a: Any, **kw: Any) -> Any:
        if dist_id == "EBAD":
            raise KeyError("Origins")
        return real(dist_id, *a, **kw)

    monkeypatch.setattr(mod, "distribution_targets", explode)
    d = discover(client)
    assert [(x.id, x.error is not None) for x in d.distributions] == [("EBAD", True), ("EGOOD", False)]
    assert [t.host for t in d.targets] == ["good.origin.test"]
    assert any("EBAD" in n for n in d.notes)


def test_discovery_records_facts_and_creates_no_finding(cf: Any) -> None:
    did = create(cf, [custom_origin("a", "a.origin.test", protocols=["TLSv1.1", "SSLv3", "TLSv1.2"]),
                      custom_origin("h", "h.origin.test", policy="http-only")],
                 aliases=["www.example.test"])
    a, h = discover(cf).targets
    assert a.notes == () and h.notes == ()
    assert a.origins == (OriginFacts(did, "a", OriginKind.CUSTOM, "https-only",
                                     ("TLSv1.1", "SSLv3", "TLSv1.2"), aliases=("www.example.test",)),)
    assert h.origins == (OriginFacts(did, "h", OriginKind.HTTP_ONLY, "http-only",
                                     aliases=("www.example.test",)),)
    assert h.skip_probe and not a.skip_probe


def facts(kind: OriginKind, **kw: Any) -> OriginFacts:
    return OriginFacts("EDIST", "web", kind, **kw)


W = "origin web of distribution EDIST"
NOT_PROBED_FIX = "Run the auditor where it can reach the origin, or with a longer timeout."
REWRITE_FIX = "Check the function's code; run `origin-auditor check` with the rewritten name."
POLICY_FIX = "Grant cloudfront:GetCachePolicy / GetOriginRequestPolicy to the auditor."
UNKNOWN_HOST = (f"A policy on the route to {W} could not be read, so whether the viewer's Host header is "
                "forwarded is unknown; only the origin domain was checked")
CODE = ("Lambda@Edge arn:l1 (origin-request)", "CloudFront Function arn:f1 (viewer-request)")


@pytest.mark.parametrize(("origin", "expected"), [
    (facts(OriginKind.CUSTOM, protocol_policy="https-only", ssl_protocols=("TLSv1.2",)), []),
    (facts(OriginKind.S3), []),
    (facts(OriginKind.VPC, vpc_origin_id="vo_1"), [
        ("ORIGIN_NOT_PROBED", "info",
         f"{W} is a VPC origin (vo_1): private, not reachable from the auditor.", NOT_PROBED_FIX)]),
    (facts(OriginKind.UNKNOWN), [
        ("ORIGIN_NOT_PROBED", "info", f"{W} has no origin configuration the auditor recognises.",
         NOT_PROBED_FIX)]),
    (facts(OriginKind.HTTP_ONLY, protocol_policy="http-only"), [
        ("ORIGIN_HTTP_ONLY", "info", f"{W} is http-only: no TLS between CloudFront and it.",
         "Consider https-only to encrypt CloudFront-to-origin traffic.")]),
    (facts(OriginKind.S3_WEBSITE, protocol_policy="http-only"), [
        ("ORIGIN_HTTP_ONLY", "info",
         f"{W} is http-only: no TLS between CloudFront and it. (S3 website endpoints only speak HTTP.)",
         "")]),
    (facts(OriginKind.S3_WEBSITE, protocol_policy="match-viewer", ssl_protocols=("TLSv1",)), [
        ("S3_WEBSITE_HTTPS", "fail",
         f"{W} is an S3 website endpoint with origin protocol policy match-viewer: S3 website endpoints "
         "do not speak HTTPS, so every HTTPS request to it fails.",
         "Set the origin protocol policy to http-only, or use the S3 REST endpoint with OAC.")]),
    (facts(OriginKind.CUSTOM, protocol_policy="https-only", ssl_protocols=("TLSv1", "SSLv3", "TLSv1.2"),
           request_functions=CODE, host_forwarding_unknown=True, aliases=("www.one.test", "one.test")), [
        ("LEGACY_PROTOCOL", "warn", f"OriginSslProtocols of {W} allows TLSv1, SSLv3.",
         "Allow only TLSv1.2 in OriginSslProtocols once the origin supports it."),
        ("HOST_REWRITE_UNVERIFIABLE", "info",
         f"{'; '.join(CODE)} on the route to {W}: a CloudFront Function can set the origin's SNI, Host "
         "header and accepted certificate names per request (updateRequestOrigin, since 2025-11) or "
         "pick another origin; Lambda@Edge can rewrite the Host header and the origin. The names "
         "checked may not be the ones used.", REWRITE_FIX),
        ("HOST_REWRITE_UNVERIFIABLE", "info", f"{UNKNOWN_HOST}, not the aliases www.one.test, one.test.",
         POLICY_FIX)]),
    (facts(OriginKind.CUSTOM, ssl_protocols=("TLSv1.2",), host_forwarding_unknown=True), [
        ("HOST_REWRITE_UNVERIFIABLE", "info", f"{UNKNOWN_HOST}.", POLICY_FIX)]),
], ids=["tls", "s3", "vpc", "unknown", "http-only", "s3-website-http", "s3-website-https", "custom-all",
        "no-aliases"])
def test_each_origin_configuration_is_worded_exactly(origin: OriginFacts,
                                                      expected: list[tuple[str, str, str, str]]) -> None:
    got = [(str(f.code), str(f.severity), f.message, f.hint) for f in origin_findings(origin)]
    assert got == expected
    assert all(f.address is None for f in origin_findings(origin))


def test_notes_are_the_attached_ones_then_each_origins_in_order_each_once() -> None:
    attached = finding(Code.ORIGIN_NOT_PROBED, "attached by the caller")
    one = OriginFacts("E1", "o", OriginKind.CUSTOM, ssl_protocols=("TLSv1.1",))
    two = OriginFacts("E2", "o", OriginKind.CUSTOM, ssl_protocols=("TLSv1.1",))
    target = Target("o.test", protocols=("TLSv1.1",), origins=(one, two, one), notes=(attached,))
    assert [f.message for f in notes(target)] == [
        "attached by the caller",
        "OriginSslProtocols of origin o of distribution E1 allows TLSv1.1.",
        "OriginSslProtocols of origin o of distribution E2 allows TLSv1.1."]


def test_merged_targets_keep_each_origins_facts_in_discovery_order(cf: Any) -> None:
    d1 = create(cf, [custom_origin("o1", "shared.origin.test", protocols=["TLSv1", "SSLv3", "TLSv1.2"])])
    d2 = create(cf, [custom_origin("o2", "shared.origin.test", protocols=["SSLv3", "TLSv1.2", "TLSv1"])])
    (shared,) = discover(cf).targets
    assert [(o.distribution_id, o.ssl_protocols) for o in shared.origins] == [
        (d1, ("TLSv1", "SSLv3", "TLSv1.2")), (d2, ("SSLv3", "TLSv1.2", "TLSv1"))]
    assert [f.message for f in notes(shared)] == [  # each origin's own order, as configured
        f"OriginSslProtocols of origin o1 of distribution {d1} allows TLSv1, SSLv3.",
        f"OriginSslProtocols of origin o2 of distribution {d2} allows SSLv3, TLSv1."]


# ---------------------------------------------------------------- completeness (issue 9 §1)

class FailingPages:
    """Makes every ListDistributions request after the first page (one with a Marker) answer
    503 Throttling from moto's side of the wire, so botocore retries it and then gives up."""

    def __init__(self, client: Any) -> None:
        self.attempts = 0
        client.meta.events.register("before-send.cloudfront.ListDistributions", self)

    def __call__(self, request: Any, **_: Any) -> Any:
        if "Marker=" not in (request.url or ""):
            return None
        self.attempts += 1
        from botocore.awsrequest import AWSResponse
        body = (b'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>'
                b"<Message>Rate exceeded</Message></Error></ErrorResponse>")
        return AWSResponse(request.url, 503, {}, _Raw(body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def test_a_complete_listing_is_complete(cf: Any) -> None:
    create(cf, [custom_origin("o", "o.origin.test")])
    d = discover(cf)
    assert d.complete and d.unseen == ()


def test_a_listing_page_failing_after_retries_makes_discovery_incomplete(mocked_aws: None,
                                                                         no_backoff: None) -> None:
    import boto3

    from origin_auditor.aws import client_config
    from origin_auditor.model import Unseen, UnseenKind
    cf = boto3.client("cloudfront", region_name="us-east-1",
                      config=client_config("cloudfront", max_attempts=2, mode="standard"))
    for i in range(4):
        create(cf, [custom_origin("o", f"o{i}.origin.test")])
    cf.meta.events.register("before-parameter-build.cloudfront.ListDistributions",
                            lambda params, **_: params.setdefault("MaxItems", "3"))  # pages of 3
    pages = FailingPages(cf)
    d = discover(cf)
    assert pages.attempts == 2  # retried, then given up
    assert len(d.distributions) == 3
    assert not d.complete
    (unseen,) = d.unseen
    assert unseen.kind is UnseenKind.LISTING and unseen.seen == 3 and "Throttling" in unseen.reason
    assert isinstance(unseen, Unseen)


def test_an_unreadable_distribution_or_policy_leaves_that_distribution_unseen(
        cf: Any, stub_cf: tuple[Any, Stubber]) -> None:
    from origin_auditor.model import UnseenKind
    client, stubber = stub_cf
    secret = create(cf, [custom_origin("o", "o.origin.test")], aliases=["www.example.test"],
                    default=behavior("o", cache_policy="cp-secret"))
    plain = create(cf, [custom_origin("o", "plain.origin.test")])
    stubber.add_client_error("get_cache_policy", "AccessDenied", "not allowed", 403)
    d = discover(Split(cf, client, ["get_cache_policy"]))
    # The listing was whole, but whether ``secret`` routes its aliases to the origin is unknown:
    # alias targets may exist that this run did not see.
    assert not d.complete
    assert [(u.kind, u.id) for u in d.unseen] == [(UnseenKind.DISTRIBUTION, secret)]
    assert "policy cp-secret: AccessDenied" in d.unseen[0].reason
    assert plain not in {u.id for u in d.unseen}

    scoped = discover(cf, distribution_ids=[plain, "EDOESNOTEXIST"])
    assert [(u.kind, u.id) for u in scoped.unseen] == [(UnseenKind.DISTRIBUTION, "EDOESNOTEXIST")]
    assert "NoSuchDistribution" in scoped.unseen[0].reason


def test_origins_out_of_reach_are_not_audited_from_their_facts_not_their_words(
        stub_cf: tuple[Any, Stubber]) -> None:
    # The origin ids are the account's own words: one says "time budget", which is not why it
    # was not audited (it is a VPC origin). The reason comes from OriginFacts.kind.
    from origin_auditor.assess import unaudited_summary
    from origin_auditor.judge import judge_probe
    from origin_auditor.model import NotAudited, ProbeResult
    from origin_auditor.report import worst_at_or_above
    from origin_auditor.trust import TrustStore

    client, stubber = stub_cf
    origins = [{"Id": "out of time budget", "DomainName": "internal.example.test",
                "VpcOriginConfig": {"VpcOriginId": "vo_0123456789", "OriginReadTimeout": 30,
                                    "OriginKeepaliveTimeout": 5}},
               {"Id": "odd", "DomainName": "odd.example.test"},
               custom_origin("plain", "plain.origin.test", policy="http-only")]
    stubber.add_response("list_distributions", listing(summary("EVPC", origins, behavior("odd"))))
    d = discover(client)
    store = TrustStore.from_certificates([Pki(hostnames=["unused.test"]).root.cert], "test roots")
    # skip_probe targets: judged as the pipeline judges them, without a connection.
    at = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    judged = {t.origin_ids[0]: judge_probe(ProbeResult(t), trust=store, at=at) for t in d.targets}
    assert {k: r.not_audited for k, r in judged.items()} == {
        "out of time budget": NotAudited.VPC_ORIGIN, "odd": NotAudited.UNRECOGNISED_CONFIGURATION,
        "plain": None}  # http-only: no TLS to audit
    vpc = judged["out of time budget"]
    assert unaudited_summary([vpc]) == "1 origin(s) not audited (VPC origin: 1)"
    assert not worst_at_or_above([vpc], "fail")  # unreachable by design: reported, not a gate failure
