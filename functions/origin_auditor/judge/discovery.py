"""What an origin's configuration means for CloudFront, before any connection: discovery's facts
(``model.OriginFacts``) worded as findings.

``discover`` reads the configuration and records facts on each ``Target``; this module decides
what they mean (an http-only origin is unencrypted, an S3 website endpoint with an HTTPS policy
fails every request, a VPC origin cannot be reached from here, request-side edge code may change
the Host header, legacy protocols are allowed) and words it. ``judge_probe`` puts ``notes(target)``
among the target-level findings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..model import Finding, NotAudited, OriginFacts, OriginKind, Severity, SniSource, Target
from ..rules import LEGACY_PROTOCOLS, Code
from .findings import finding


def notes(target: Target) -> tuple[Finding, ...]:
    """The target's findings known before probing: its attached ``notes``, then the findings of
    each origin configuration leading to it, in discovery order, each distinct finding once."""
    return tuple(dict.fromkeys((*target.notes, *(f for o in target.origins for f in origin_findings(o)))))


# Origin configurations the auditor does not connect to for want of a way in: not audited.
_NOT_AUDITED_KINDS = {
    OriginKind.VPC: NotAudited.VPC_ORIGIN,
    OriginKind.UNKNOWN: NotAudited.UNRECOGNISED_CONFIGURATION,
}


def not_audited(target: Target) -> NotAudited | None:
    """Why a route to ``target`` keeps it from being audited (a VPC origin, a configuration the
    auditor does not recognise): the first such origin's, in discovery order, from its
    ``OriginFacts.kind``; None when there is none (an http-only origin has no TLS to audit)."""
    return next((_NOT_AUDITED_KINDS[o.kind] for o in target.origins if o.kind in _NOT_AUDITED_KINDS), None)


def origin_findings(origin: OriginFacts) -> Iterator[Finding]:
    """What one origin configuration means, before probing (nothing for a plain TLS origin)."""
    where = f"origin {origin.origin_id} of distribution {origin.distribution_id}"
    s3_website = origin.kind is OriginKind.S3_WEBSITE
    if origin.kind is OriginKind.VPC:
        yield finding(Code.ORIGIN_NOT_PROBED, f"{where} is a VPC origin ({origin.vpc_origin_id}): private, "
                      "not reachable from the auditor.")
    elif origin.kind is OriginKind.UNKNOWN:
        yield finding(Code.ORIGIN_NOT_PROBED, f"{where} has no origin configuration the auditor recognises.")
    elif origin.kind is OriginKind.HTTP_ONLY or (s3_website and origin.protocol_policy == "http-only"):
        # For an S3 website endpoint http-only is the only setting that works: no advice to give.
        yield finding(Code.ORIGIN_HTTP_ONLY, f"{where} is http-only: no TLS between CloudFront and it."
                      + (" (S3 website endpoints only speak HTTP.)" if s3_website else ""),
                      hint="" if s3_website else None)
    elif s3_website:
        yield finding(Code.S3_WEBSITE_HTTPS,
                      f"{where} is an S3 website endpoint with origin protocol policy "
                      f"{origin.protocol_policy}: S3 website endpoints do not speak HTTPS, so every "
                      "HTTPS request to it fails.")
    elif origin.kind is OriginKind.CUSTOM:
        yield from _custom_origin_findings(origin, where)


def protocol_findings(protocols: Sequence[str], where: str) -> Iterator[Finding]:
    """What an origin's OriginSslProtocols setting means before any connection: LEGACY_PROTOCOL
    when it allows SSLv3, TLSv1 or TLSv1.1. ``where`` names the origin: a discovered origin
    (``origin O of distribution D``) or ``check``'s ``HOST:PORT`` with its ``--protocols``."""
    legacy = [p for p in protocols if p in LEGACY_PROTOCOLS]
    if legacy:
        yield finding(Code.LEGACY_PROTOCOL, f"OriginSslProtocols of {where} allows {', '.join(legacy)}.")


def _custom_origin_findings(origin: OriginFacts, where: str) -> Iterator[Finding]:
    yield from protocol_findings(origin.ssl_protocols, where)
    if origin.request_functions:
        yield finding(Code.HOST_REWRITE_UNVERIFIABLE,
                      f"{'; '.join(origin.request_functions)} on the route to {where}: "
                      f"{_what_code_can_do(origin.request_functions)}. The names checked may not be "
                      "the ones used.")
    if origin.selecting_functions:
        yield finding(Code.HOST_REWRITE_UNVERIFIABLE,
                      f"{'; '.join(origin.selecting_functions)} on another route of distribution "
                      f"{origin.distribution_id} can send requests to {where} with names of its "
                      "choosing (CloudFront Functions: selectRequestOriginById / updateRequestOrigin; "
                      "Lambda@Edge: request.origin). The names checked may not be the ones used.")
    if origin.host_forwarding_unknown:
        aliases = origin.aliases
        yield finding(
            Code.HOST_REWRITE_UNVERIFIABLE,
            f"A policy on the route to {where} could not be read, so whether the viewer's Host "
            "header is forwarded is unknown; only the origin domain was checked"
            + (f", not the aliases {', '.join(aliases)}." if aliases else "."),
            hint="Grant cloudfront:GetCachePolicy / GetOriginRequestPolicy to the auditor.")


def _what_code_can_do(functions: Sequence[str]) -> str:
    """What the kinds of edge code named can change (``OriginFacts.request_functions`` format)."""
    can = []
    if any(f.startswith("CloudFront Function") for f in functions):
        can.append("a CloudFront Function can set the origin's SNI, Host header and accepted "
                   "certificate names per request (updateRequestOrigin, since 2025-11) or pick "
                   "another origin")
    if any(f.startswith("Lambda@Edge") for f in functions):
        can.append("Lambda@Edge can rewrite the Host header and the origin")
    return "; ".join(can) or "it may rewrite the Host header"


def default_domain_only(target: Target, findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` as they affect the distribution: on a target whose SNI is the
    distribution's own d….cloudfront.net (``SniSource.DEFAULT_DOMAIN``: Host forwarded, a viewer
    on that domain), a failure fails only the requests sent to that domain, so each is a
    DEFAULT_DOMAIN_FAILS warning naming it and the failure (the aliases are their own targets).
    Without aliases, that domain is the only name viewers use: its failures stay failures."""
    if target.sni_source is not SniSource.DEFAULT_DOMAIN or not any(o.aliases for o in target.origins):
        return list(findings)
    name = target.sni
    return [f if f.severity is not Severity.FAIL else finding(
        Code.DEFAULT_DOMAIN_FAILS,
        f"Requests to the distribution's own domain {name} would fail ({f.code}): {f.message} "
        f"The viewer's Host is forwarded, so only viewers using {name} make CloudFront send it; "
        "viewers on the alternate domain names are judged on their own.", f.address,
        hint=f.hint or None) for f in findings]
