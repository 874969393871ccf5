"""DISCOVER: CloudFront distributions -> the Targets CloudFront connects to.

Reads each distribution's origins and cache behaviors (``shared/cloudfront-rules.md`` §3) and
works out, per origin, where CloudFront connects (domain, HTTPSPort), what it offers
(OriginSslProtocols) and which names it sends as SNI / Host on each route: the origin's domain
where a behavior routing to the origin does not forward the viewer's Host header; every alias
and the distribution's own d….cloudfront.net where one does.

Everything comes from ``ListDistributions`` (its summaries carry the full origin and behavior
configuration) plus one ``GetCachePolicy`` / ``GetOriginRequestPolicy`` per policy id per run.
A failure on one distribution or one policy becomes a note and a conservative assumption,
never an abort; only failing to list anything at all raises ``DiscoveryError``.

Facts only: each target carries ``OriginFacts`` (kind, protocol policy, protocols, request-side
edge code, unreadable policies); ``judge.discovery`` words what they mean for CloudFront.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .aws import describe_error
from .model import DEFAULT_PROTOCOLS, OriginFacts, OriginKind, SniSource, Target, Unseen, UnseenKind
from .rules import WILDCARD_ALIAS_LABEL

log = logging.getLogger(__name__)

# S3 website endpoints: bucket.s3-website-us-east-1.amazonaws.com, bucket.s3-website.eu-central-1...
S3_WEBSITE_RE = re.compile(r"\.s3-website[-.][a-z0-9-]+\.amazonaws\.com(\.cn)?\.?$", re.IGNORECASE)
# S3 REST endpoints (bucket.s3.amazonaws.com, bucket.s3.eu-west-1.amazonaws.com, dualstack, ...).
# Only used when the API response carries no origin config block at all (moto drops
# S3OriginConfig; real AWS always sends it), so an S3 bucket is not mistaken for a custom origin.
S3_REST_RE = re.compile(r"\.s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?\.?$", re.IGNORECASE)

# Managed origin request policies whose header behavior is documented (rules doc §3): answered
# without an API call. Everything else, managed cache policies included, is fetched.
MANAGED_ORIGIN_REQUEST_POLICIES_FORWARDING_HOST: Mapping[str, bool] = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": True,   # Managed-AllViewer
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": True,   # Managed-AllViewerAndCloudFrontHeaders-2022-06
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": False,  # Managed-AllViewerExceptHostHeader
}

# Which associations can change the names CloudFront uses towards the origin (request side
# only: response-side code runs after the origin answered):
# - CloudFront Functions run on viewer events only; on viewer-request the origin-modification
#   helpers (since 2025-11-20) set an origin's sni, hostHeader and allowedCertificateNames per
#   request (updateRequestOrigin) or pick another origin (selectRequestOriginById).
# - Lambda@Edge on origin-request may rewrite the Host header and request.origin; on
#   viewer-request it changes the request before routing (kept: conservative).
# A distribution's ConnectionFunctionAssociation (viewer mTLS) only allows or denies the
# viewer's connection: it cannot touch the origin, so it is not read.
REQUEST_EVENT_TYPES = frozenset({"viewer-request", "origin-request"})
# Of those, the code that can send a request to *any* origin of the distribution, whatever
# behavior it sits on (CloudFront Functions' selectRequestOriginById / updateRequestOrigin,
# Lambda@Edge origin-request's request.origin).
SELECTING = frozenset({("CloudFront Function", "viewer-request"), ("Lambda@Edge", "origin-request")})


class DiscoveryError(Exception):
    """Listing distributions failed outright: there is nothing to audit (CLI exit 2).

    ``str()`` is the one-line message; the AWS exception is its ``__cause__``.
    """


@dataclass(frozen=True)
class DistributionInfo:
    """One CloudFront distribution as discovered.

    id / arn / domain_name (``d123.cloudfront.net``) / aliases (alternate domain names).
    enabled: False for disabled distributions (audited, reported as such; they serve nothing).
    staging: True for a continuous-deployment staging distribution; None if the API did not say.
    status: ``Deployed`` / ``InProgress`` ("" when unknown).
    origins: (origin id, kind) per origin; kind is an ``OriginKind`` (``custom``, ``http-only``,
        ``s3``, ``s3-website``, ``vpc``, ``unknown``).
    error: why this distribution could not be read (its origins are then not audited); None if fine.
    """

    id: str
    arn: str = ""
    domain_name: str = ""
    aliases: tuple[str, ...] = ()
    enabled: bool = True
    staging: bool | None = False
    status: str = ""
    origins: tuple[tuple[str, str], ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Discovery:
    """What discover found.

    distributions: every distribution, in listing order (failed ones with ``error`` set).
    targets: distinct targets, merged across distributions by ``Target.key``, in first-seen order.
    notes: run-level remarks that degrade the report (throttled and gave up on X, ...).
    api_calls: operation name -> number of calls made (pages count as calls).
    unseen: what was not read: the rest of a listing that stopped early, and each distribution
        whose configuration (or a policy deciding which names its origins are reached by)
        could not be read. Empty when the listing and every per-distribution read succeeded.
    """

    distributions: tuple[DistributionInfo, ...]
    targets: tuple[Target, ...]
    notes: tuple[str, ...] = ()
    api_calls: dict[str, int] = field(default_factory=dict)
    unseen: tuple[Unseen, ...] = ()

    @property
    def complete(self) -> bool:
        """True when every distribution asked for was listed and read in full."""
        return not self.unseen


def _items(container: Any) -> list[Any]:
    """``{"Quantity": n, "Items": [...]}`` -> list, tolerating absent or null parts."""
    if not isinstance(container, dict):
        return []
    items = container.get("Items")
    return list(items) if isinstance(items, list) else []


class _Calls:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, op: str) -> None:
        self.counts[op] = self.counts.get(op, 0) + 1


class _Policies:
    """Host-forwarding answers per policy id, each fetched at most once per run.

    Values: True (forwards Host), False (does not), None (could not be read: noted once).
    """

    def __init__(self, cloudfront: Any, calls: _Calls, notes: list[str]) -> None:
        self._cf = cloudfront
        self._calls = calls
        self._notes = notes
        self._cache: dict[tuple[str, str], bool | None] = {}
        self.failed: dict[str, str] = {}  # policy id -> why it could not be read

    def cache_policy(self, policy_id: str) -> bool | None:
        key = ("cache", policy_id)
        if key not in self._cache:
            self._cache[key] = self._fetch_cache_policy(policy_id)
        return self._cache[key]

    def origin_request_policy(self, policy_id: str) -> bool | None:
        if policy_id in MANAGED_ORIGIN_REQUEST_POLICIES_FORWARDING_HOST:
            return MANAGED_ORIGIN_REQUEST_POLICIES_FORWARDING_HOST[policy_id]
        key = ("origin-request", policy_id)
        if key not in self._cache:
            self._cache[key] = self._fetch_origin_request_policy(policy_id)
        return self._cache[key]

    def _fetch_cache_policy(self, policy_id: str) -> bool | None:
        self._calls.add("GetCachePolicy")
        try:
            resp = self._cf.get_cache_policy(Id=policy_id)
            headers = (resp["CachePolicy"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
                       .get("HeadersConfig", {}))
        except Exception as exc:  # any failure: unknown, noted, run goes on
            self.failed[policy_id] = describe_error(exc)
            self._notes.append(f"Could not read cache policy {policy_id} ({describe_error(exc)}); "
                               "whether it forwards the Host header is unknown.")
            log.warning("get_cache_policy %s failed: %s", policy_id, describe_error(exc))
            return None
        # Headers in the cache key are always forwarded to the origin.
        return (headers.get("HeaderBehavior") == "whitelist"
                and _lists_host(_items(headers.get("Headers"))))

    def _fetch_origin_request_policy(self, policy_id: str) -> bool | None:
        self._calls.add("GetOriginRequestPolicy")
        try:
            resp = self._cf.get_origin_request_policy(Id=policy_id)
            headers = resp["OriginRequestPolicy"]["OriginRequestPolicyConfig"].get("HeadersConfig", {})
        except Exception as exc:
            self.failed[policy_id] = describe_error(exc)
            self._notes.append(f"Could not read origin request policy {policy_id} "
                               f"({describe_error(exc)}); whether it forwards the Host header is unknown.")
            log.warning("get_origin_request_policy %s failed: %s", policy_id, describe_error(exc))
            return None
        return origin_request_headers_forward_host(headers.get("HeaderBehavior", "none"),
                                                   _items(headers.get("Headers")))


def _lists_host(names: Iterable[Any]) -> bool:
    return any(isinstance(n, str) and n.strip().lower() == "host" for n in names)


def origin_request_headers_forward_host(behavior: str, headers: Sequence[Any]) -> bool:
    """Does an origin request policy with this HeaderBehavior / header list forward Host?"""
    if behavior in ("allViewer", "allViewerAndWhitelistCloudFront"):
        return True
    if behavior == "whitelist":
        return _lists_host(headers)
    if behavior == "allExcept":
        return not _lists_host(headers)
    return False


def legacy_forwards_host(behavior: Mapping[str, Any]) -> bool:
    """Legacy ForwardedValues: Host is forwarded when the header list has Host or ``*``."""
    names = _items((behavior.get("ForwardedValues") or {}).get("Headers"))
    return any(isinstance(n, str) and n.strip() in ("*",) for n in names) or _lists_host(names)


def _behavior_forwards_host(behavior: Mapping[str, Any], policies: _Policies) -> bool | None:
    """True / False, or None when a policy it depends on could not be read."""
    answers: list[bool | None] = []
    cache_policy_id = behavior.get("CachePolicyId") or ""
    if cache_policy_id:
        answers.append(policies.cache_policy(cache_policy_id))
    else:
        # ForwardedValues only applies to behaviors without a cache policy.
        answers.append(legacy_forwards_host(behavior))
    orp_id = behavior.get("OriginRequestPolicyId") or ""
    if orp_id:
        answers.append(policies.origin_request_policy(orp_id))
    if any(a is True for a in answers):
        return True
    if any(a is None for a in answers):
        return None
    return False


def _behavior_has_request_code(behavior: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """(name, can pick any origin) of the request-side Lambda@Edge functions / CloudFront
    Functions on the behavior."""
    found = []
    for kind, key, arn_key, default in (("Lambda@Edge", "LambdaFunctionAssociations", "LambdaFunctionARN",
                                         "origin-request"),
                                        ("CloudFront Function", "FunctionAssociations", "FunctionARN",
                                         "viewer-request")):
        for assoc in _items(behavior.get(key)):
            event = str(assoc.get("EventType", default))
            if event in REQUEST_EVENT_TYPES:
                found.append((f"{kind} {assoc.get(arn_key, '?')} ({event})", (kind, event) in SELECTING))
    return found


def _add(names: list[str], more: Iterable[str]) -> None:
    names.extend(n for n in more if n not in names)


@dataclass
class _Route:
    """How the behaviors routing to one origin treat it (accumulated over behaviors).

    A behavior forwarding the viewer's Host sends the aliases / the default domain as SNI; one
    that does not (or whose policy could not be read: it may not) sends the origin domain.
    Each kind of route keeps the edge code on its own behaviors.
    """

    forwarding: bool = False  # some behavior forwards Host
    plain: bool = False  # some behavior does not, or may not
    host_unknown: bool = False
    paths: list[str] = field(default_factory=list)
    forwarding_code: list[str] = field(default_factory=list)
    plain_code: list[str] = field(default_factory=list)


def _origin_kind(origin: Mapping[str, Any]) -> OriginKind:
    if origin.get("VpcOriginConfig"):
        return OriginKind.VPC
    if origin.get("S3OriginConfig") is not None:
        return OriginKind.S3
    custom = origin.get("CustomOriginConfig")
    domain = str(origin.get("DomainName", ""))
    if custom:
        if S3_WEBSITE_RE.search(domain):
            return OriginKind.S3_WEBSITE
        if custom.get("OriginProtocolPolicy") == "http-only":
            return OriginKind.HTTP_ONLY
        return OriginKind.CUSTOM
    if S3_REST_RE.search(domain):
        return OriginKind.S3
    return OriginKind.UNKNOWN


def distribution_targets(dist_id: str, config: Mapping[str, Any], aliases: Sequence[str],
                         policies: _Policies, domain_name: str = "",
                         ) -> tuple[list[Target], list[tuple[str, str]]]:
    """Targets of one distribution (unmerged) and (origin id, kind) for each origin.

    Per origin, the names CloudFront sends on its routes: the origin domain where a behavior
    does not forward the viewer's Host (or may not), each alias and the default domain
    ``domain_name`` where one does.
    """
    origins = _items(config.get("Origins"))
    groups: dict[str, list[str]] = {}
    for g in _items(config.get("OriginGroups")):
        groups[str(g.get("Id", ""))] = [str(m.get("OriginId", "")) for m in _items(g.get("Members"))]
    member_of: dict[str, list[str]] = {}
    for gid, members in groups.items():
        for m in members:
            member_of.setdefault(m, []).append(gid)

    routes: dict[str, _Route] = {}
    behaviors: list[tuple[str, Mapping[str, Any]]] = []
    default = config.get("DefaultCacheBehavior")
    if isinstance(default, dict):
        behaviors.append(("*", default))
    for b in _items(config.get("CacheBehaviors")):
        behaviors.append((str(b.get("PathPattern", "?")), b))
    selecting: list[tuple[str, frozenset[str]]] = []  # (code, origins its own behavior routes to)
    for path, b in behaviors:
        target_id = str(b.get("TargetOriginId", ""))
        routed = groups.get(target_id, [target_id])
        forwarded = _behavior_forwards_host(b, policies)
        code = _behavior_has_request_code(b)
        selecting.extend((name, frozenset(routed)) for name, picks in code if picks)
        code_names = [name for name, _ in code]
        for origin_id in routed:
            r = routes.setdefault(origin_id, _Route())
            r.paths.append(path)
            r.host_unknown |= forwarded is None
            if forwarded is True:
                r.forwarding = True
                _add(r.forwarding_code, code_names)
            else:
                r.plain = True
                _add(r.plain_code, code_names)

    targets: list[Target] = []
    kinds: list[tuple[str, str]] = []
    for origin in origins:
        origin_id = str(origin.get("Id", ""))
        domain = str(origin.get("DomainName", "")).strip()
        kind = _origin_kind(origin)
        kinds.append((origin_id, kind))
        if kind is OriginKind.S3:
            continue  # S3 REST endpoints are AWS's own TLS: nothing the owner can break.
        common: dict[str, Any] = {
            "distribution_ids": (dist_id,), "origin_ids": (origin_id,),
            "origin_group_ids": tuple(member_of.get(origin_id, ())),
        }
        timeout = origin.get("ConnectionTimeout")
        if isinstance(timeout, int | float) and timeout > 0:
            common["connect_timeout"] = float(timeout)
        custom = origin.get("CustomOriginConfig") or {}
        policy = str(custom.get("OriginProtocolPolicy", ""))
        facts = OriginFacts(distribution_id=dist_id, origin_id=origin_id, kind=kind,
                            protocol_policy=policy, aliases=tuple(aliases))
        if kind is OriginKind.VPC:
            vpc_id = str((origin.get("VpcOriginConfig") or {}).get("VpcOriginId", "?"))
            targets.append(Target(host=domain, port=443, protocols=(), skip_probe=True,
                                  origins=(replace(facts, vpc_origin_id=vpc_id),), **common))
            continue
        if kind is OriginKind.UNKNOWN:
            targets.append(Target(host=domain, port=443, protocols=(), skip_probe=True,
                                  origins=(facts,), **common))
            continue
        if kind is OriginKind.HTTP_ONLY or (kind is OriginKind.S3_WEBSITE and policy == "http-only"):
            port = int(custom.get("HTTPPort") or 80)
            targets.append(Target(host=domain, port=port, protocols=(), skip_probe=True,
                                  origins=(facts,), **common))
            continue
        port = int(custom.get("HTTPSPort") or 443)
        protocols = tuple(str(p) for p in _items(custom.get("OriginSslProtocols"))) or DEFAULT_PROTOCOLS
        facts = replace(facts, ssl_protocols=protocols)
        if kind is OriginKind.S3_WEBSITE:
            # S3 website endpoints speak no HTTPS: every request over TLS fails, nothing to probe.
            targets.append(Target(host=domain, port=port, protocols=protocols, skip_probe=True,
                                  origins=(facts,), **common))
            continue
        route = routes.get(origin_id, _Route())
        # Code elsewhere in the distribution that can send requests here with its own names.
        elsewhere: list[str] = []
        _add(elsewhere, (name for name, own in selecting if origin_id not in own))
        names = [(viewer_name(a), SniSource.ALIAS) for a in aliases]
        if domain_name:
            names.append((domain_name, SniSource.DEFAULT_DOMAIN))
        names = [(n, source) for n, source in names if n.lower().rstrip(".") != domain.lower().rstrip(".")]
        if route.plain or not route.forwarding or not names:
            # A route that does not forward Host (or no behavior at all: reached only through
            # code that picks origins; or no name known to forward): CloudFront sends the origin
            # domain.
            plain = replace(facts, request_functions=tuple(route.plain_code),
                            selecting_functions=tuple(n for n in elsewhere if n not in route.plain_code),
                            host_forwarding_unknown=route.host_unknown and not route.forwarding)
            targets.append(_routed(Target(host=domain, port=port, protocols=protocols, origins=(plain,),
                                          sni_source=SniSource.ORIGIN_DOMAIN, **common), dist_id))
        if route.forwarding:
            # CloudFront sends the Host the viewer used as SNI and accepts a certificate for it
            # or the origin domain ("one or both"): each alias, and the distribution's own
            # d….cloudfront.net for viewers using that.
            fwd = replace(facts, request_functions=tuple(route.forwarding_code),
                          selecting_functions=tuple(n for n in elsewhere if n not in route.forwarding_code))
            for name, source in names:
                targets.append(_routed(Target(host=domain, port=port, protocols=protocols,
                                              server_name=name, origins=(fwd,), sni_source=source,
                                              **common), dist_id))
    return targets, kinds


def viewer_name(alias: str) -> str:
    """A name a viewer on ``alias`` sends as Host: the alias itself, or for a wildcard alias
    (``*.example.com``) one name under it (``rules.WILDCARD_ALIAS_LABEL``)."""
    return WILDCARD_ALIAS_LABEL + alias[1:] if alias.startswith("*.") else alias


def _routed(target: Target, dist_id: str) -> Target:
    """``target`` kept apart from other distributions' when it carries its route's own facts
    (edge code, unreadable Host forwarding), so they are reported with this distribution only."""
    own = any(o.request_functions or o.selecting_functions or o.host_forwarding_unknown
              for o in target.origins)
    return replace(target, route=dist_id) if own else target


def _unread_policies(config: Mapping[str, Any], policies: _Policies) -> str:
    """Why a distribution's alias targets are unknown: its policies that could not be read."""
    behaviors = [config.get("DefaultCacheBehavior") or {}, *_items(config.get("CacheBehaviors"))]
    ids = _unique(str(b.get(k) or "") for b in behaviors if isinstance(b, dict)
                  for k in ("CachePolicyId", "OriginRequestPolicyId"))
    why = [f"policy {i}: {policies.failed[i]}" for i in ids if i in policies.failed]
    return ("; ".join(why) or "a policy could not be read") + \
        "; the targets its alternate domain names reach are unknown"


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def merge_targets(targets: Iterable[Target]) -> tuple[Target, ...]:
    """Merge targets with equal ``key``: one result, reported under every distribution.

    A target carrying one distribution's route facts has that distribution as its ``route``,
    so it is merged with no other distribution's (it still shares their probe).

    Connect timeout: the smallest configured one (the strictest CloudFront will apply).
    skip_probe: only if every merged target skipped. Origin facts and notes: union,
    de-duplicated, in order.
    """
    merged: dict[tuple[str, int, str, tuple[str, ...], str], Target] = {}
    for t in targets:
        prev = merged.get(t.key)
        if prev is None:
            merged[t.key] = t
            continue
        timeouts = [x for x in (prev.connect_timeout, t.connect_timeout) if x is not None]
        merged[t.key] = replace(
            prev,
            distribution_ids=_unique((*prev.distribution_ids, *t.distribution_ids)),
            origin_ids=_unique((*prev.origin_ids, *t.origin_ids)),
            origin_group_ids=_unique((*prev.origin_group_ids, *t.origin_group_ids)),
            origins=tuple(dict.fromkeys((*prev.origins, *t.origins))),
            notes=tuple(dict.fromkeys((*prev.notes, *t.notes))),
            connect_timeout=min(timeouts) if timeouts else None,
            skip_probe=prev.skip_probe and t.skip_probe,
        )
    return tuple(merged.values())


def _info_from_summary(summary: Mapping[str, Any], origins: Sequence[tuple[str, str]] = (),
                       error: str | None = None) -> DistributionInfo:
    staging = summary.get("Staging")
    return DistributionInfo(
        id=str(summary.get("Id", "")), arn=str(summary.get("ARN", "")),
        domain_name=str(summary.get("DomainName", "")),
        aliases=tuple(str(a) for a in _items(summary.get("Aliases"))),
        enabled=bool(summary.get("Enabled", True)),
        staging=bool(staging) if staging is not None else None,
        status=str(summary.get("Status", "")), origins=tuple(origins), error=error)


def _list_all(cloudfront: Any, calls: _Calls, notes: list[str], unseen: list[Unseen],
              on_progress: Callable[[str], None] | None) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = []
    try:
        for page in cloudfront.get_paginator("list_distributions").paginate():
            calls.add("ListDistributions")
            summaries.extend(_items(page.get("DistributionList")))
            if on_progress:
                on_progress(f"listed {len(summaries)} distributions")
    except Exception as exc:  # listing failures are judged below
        if not summaries:
            raise DiscoveryError(f"Could not list CloudFront distributions: {describe_error(exc)}") from exc
        # Some pages arrived: audit those rather than nothing, and say the rest is missing.
        notes.append(f"Listing distributions stopped after {len(summaries)} ({describe_error(exc)}); "
                     "distributions after those were not audited.")
        log.warning("list_distributions failed after %d: %s", len(summaries), describe_error(exc))
        unseen.append(Unseen(UnseenKind.LISTING, "", describe_error(exc), seen=len(summaries)))
    return summaries


def _get_some(cloudfront: Any, ids: Sequence[str], calls: _Calls, notes: list[str],
              failed: dict[str, str]) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = []
    for dist_id in _unique(ids):
        calls.add("GetDistribution")
        try:
            d = cloudfront.get_distribution(Id=dist_id)["Distribution"]
        except Exception as exc:
            failed[dist_id] = describe_error(exc)
            notes.append(f"Could not read distribution {dist_id} ({describe_error(exc)}); "
                         "its origins were not audited.")
            summaries.append({"Id": dist_id})
            continue
        # A GetDistribution answer has the config nested; flatten it to the summary's shape.
        summary = dict(d.get("DistributionConfig") or {})
        summary.update({k: v for k, v in d.items() if k != "DistributionConfig"})
        summaries.append(summary)
    return summaries


def discover(cloudfront: Any, *, distribution_ids: Sequence[str] = (),
             on_progress: Callable[[str], None] | None = None) -> Discovery:
    """Every distribution (or only ``distribution_ids``) -> distributions and merged targets.

    Raises ``DiscoveryError`` only when listing fails before any distribution was seen.
    """
    calls = _Calls()
    notes: list[str] = []
    failed: dict[str, str] = {}
    unseen: list[Unseen] = []
    if distribution_ids:
        summaries = _get_some(cloudfront, distribution_ids, calls, notes, failed)
    else:
        summaries = _list_all(cloudfront, calls, notes, unseen, on_progress)
    policies = _Policies(cloudfront, calls, notes)
    infos: list[DistributionInfo] = []
    targets: list[Target] = []
    for summary in summaries:
        dist_id = str(summary.get("Id", ""))
        if dist_id in failed:
            infos.append(DistributionInfo(id=dist_id, error=failed[dist_id]))
            unseen.append(Unseen(UnseenKind.DISTRIBUTION, dist_id, failed[dist_id]))
            continue
        aliases = tuple(str(a) for a in _items(summary.get("Aliases")))
        try:
            found, kinds = distribution_targets(dist_id, summary, aliases, policies,
                                                str(summary.get("DomainName") or ""))
        except Exception as exc:  # a malformed config loses one distribution only
            log.exception("could not read distribution %s", dist_id)
            notes.append(f"Could not interpret distribution {dist_id} ({describe_error(exc)}); "
                         "its origins were not audited.")
            infos.append(_info_from_summary(summary, error=describe_error(exc)))
            unseen.append(Unseen(UnseenKind.DISTRIBUTION, dist_id, describe_error(exc)))
            continue
        if any(f.host_forwarding_unknown for t in found for f in t.origins):
            # An unreadable policy hides whether the aliases reach an origin: targets named
            # after them may exist that this run did not see.
            unseen.append(Unseen(UnseenKind.DISTRIBUTION, dist_id, _unread_policies(summary, policies)))
        infos.append(_info_from_summary(summary, kinds))
        targets.extend(found)
    merged = merge_targets(targets)
    if on_progress:
        on_progress(f"{len(infos)} distributions, {len(merged)} distinct targets")
    log.info("discovered %d distributions, %d targets (%d before merging)", len(infos), len(merged),
             len(targets))
    return Discovery(distributions=tuple(infos), targets=merged, notes=tuple(dict.fromkeys(notes)),
                     api_calls=dict(calls.counts), unseen=tuple(unseen))
