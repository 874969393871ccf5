"""The data that flows between stages: targets in, probe results, findings and verdicts out.

Every stage reads and writes these frozen dataclasses only, so a stage can be tested by
building its input by hand. ``None`` means "could not be determined", never a guessed value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from .rules import AddressClass, Code


class Severity(StrEnum):
    """How bad a finding is. ``fail``: CloudFront's next connection fails (502).
    ``warn``: works today, will break or is outside documented support. ``info``: context."""

    INFO = "info"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.FAIL: 2}


class Verdict(StrEnum):
    """The worst severity of a result's findings (``info`` counts as ``pass``)."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]

    @classmethod
    def of(cls, findings: tuple[Finding, ...] | list[Finding]) -> Verdict:
        worst = max((f.severity.rank for f in findings), default=0)
        return {0: cls.PASS, 1: cls.WARN, 2: cls.FAIL}[worst]


_VERDICT_RANK = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.FAIL: 2}


class Classification(StrEnum):
    """A distribution's state: its origins' TLS verdicts read against its CloudWatch metrics.

    Declared worst first; ``assess`` decides, ``report`` and ``notify`` read ``rank``,
    ``headline`` and ``alerts`` from here, so a new classification is added in one place.
    The values are the JSON contract's strings.
    """

    OUTAGE = "OUTAGE"
    LATENT = "LATENT"
    UNKNOWN = "UNKNOWN"
    # NOT_AUDITED: below UNKNOWN (there, no origin of the distribution is known; here, some
    # are) and above ERRORS_NOT_TLS, which claims every origin passes the TLS checks (not
    # claimable while one was not looked at; elevated errors with an unaudited origin are
    # NOT_AUDITED, the rate in the reason), and above AT_RISK / HEALTHY / IDLE, whose origins
    # are all known to work today. Below what is seen failing: a failure seen wins.
    NOT_AUDITED = "NOT_AUDITED"
    ERRORS_NOT_TLS = "ERRORS_NOT_TLS"
    AT_RISK = "AT_RISK"
    HEALTHY = "HEALTHY"
    IDLE = "IDLE"

    @property
    def rank(self) -> int:
        """Higher is worse (as ``Severity.rank``): OUTAGE is the highest, IDLE 0."""
        return _CLASSIFICATION_RANK[self]

    @property
    def headline(self) -> str:
        """What the classification means for the person reading, in one line."""
        return _CLASSIFICATION_HEADLINE[self]

    @property
    def alerts(self) -> bool:
        """CloudFront fails viewers now (OUTAGE) or at the next cache miss (LATENT): a failing
        origin is notified under this name rather than as a plain FAIL."""
        return self in (Classification.OUTAGE, Classification.LATENT)

    @classmethod
    def worst_first(cls) -> tuple[Classification, ...]:
        """Every classification, worst first (the order summaries list them in)."""
        return tuple(sorted(cls, key=lambda c: -c.rank))


_CLASSIFICATION_RANK = {c: len(Classification) - 1 - i for i, c in enumerate(Classification)}
_CLASSIFICATION_HEADLINE = {
    Classification.OUTAGE: "origin TLS fails CloudFront's checks and viewers are getting 5xx now",
    Classification.LATENT: "origin TLS fails CloudFront's checks; the cache is hiding it — the next "
                           "cache miss (deploy, invalidation, TTL expiry) becomes an outage",
    Classification.UNKNOWN: "the distribution's configuration could not be read: its origins were not "
                            "audited",
    Classification.NOT_AUDITED: "an origin was not audited (time budget, probe error, VPC origin): "
                                "nothing is known about its TLS, so the distribution is not called "
                                "healthy",
    Classification.ERRORS_NOT_TLS: "5xx elevated but every origin passes the TLS checks: look at the "
                                   "other 502 causes",
    Classification.AT_RISK: "works today, will break (expiry, legacy protocol, ...)",
    Classification.HEALTHY: "every origin passes",
    Classification.IDLE: "no requests in the window",
}

# Protocol names as CloudFront's API spells them (OriginSslProtocols.Items) plus TLSv1.3,
# which the probe may observe but the API cannot configure.
PROTOCOLS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
DEFAULT_PROTOCOLS: tuple[str, ...] = ("TLSv1.2",)


@dataclass(frozen=True)
class Finding:
    """One thing the auditor found.

    code: stable identifier (alerting keys on it; see ``rules.Code``).
    severity: fail / warn / info.
    message: what is wrong, in words a person can act on.
    hint: how to fix it or how to verify.
    address: the resolved IP address this applies to; ``None`` when it applies to the target.
    """

    code: Code
    severity: Severity
    message: str
    hint: str = ""
    address: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "code": str(self.code),
            "severity": str(self.severity),
            "address": self.address,
            "message": self.message,
            "hint": self.hint,
        }


class OriginKind(StrEnum):
    """What kind of origin a CloudFront origin configuration describes (``discover`` decides).

    CUSTOM: a custom origin CloudFront reaches over TLS (https-only or match-viewer).
    HTTP_ONLY: a custom origin with protocol policy http-only: no TLS at all.
    S3: an S3 REST endpoint: AWS's own TLS, not audited (no target is made).
    S3_WEBSITE: an S3 website endpoint, which only speaks HTTP.
    VPC: a VPC origin: private, not reachable from the auditor.
    UNKNOWN: no origin configuration the auditor recognises.
    """

    CUSTOM = "custom"
    HTTP_ONLY = "http-only"
    S3 = "s3"
    S3_WEBSITE = "s3-website"
    VPC = "vpc"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class OriginFacts:
    """How one distribution configures one origin, as discovery read it: facts, no verdicts.

    distribution_id / origin_id: which origin of which distribution.
    kind: see ``OriginKind``.
    protocol_policy: the origin's ``OriginProtocolPolicy`` (https-only, match-viewer, http-only),
        "" when the origin has no custom origin configuration.
    ssl_protocols: ``OriginSslProtocols`` as configured, in the configured order (the default
        when the list is empty); () where CloudFront does not use TLS to the origin.
    vpc_origin_id: the ``VpcOriginId`` of a VPC origin ("?" when absent), else None.
    request_functions: request-side edge code (viewer-request / origin-request Lambda@Edge
        functions, viewer-request CloudFront Functions) on the behaviors of this route, each as
        ``"Lambda@Edge ARN (event)"`` / ``"CloudFront Function ARN (event)"``, first-seen order;
        such code can change the Host header, and a CloudFront Function (since 2025-11) the SNI,
        Host and accepted certificate names CloudFront uses.
    selecting_functions: code of the same kinds on the distribution's *other* routes that can
        send requests to any origin with names of its choosing (CloudFront Functions'
        ``selectRequestOriginById`` / ``updateRequestOrigin``, Lambda@Edge origin-request
        ``request.origin``), same format, minus those already in ``request_functions``.
    host_forwarding_unknown: a policy on a route to this origin could not be read and no route
        is known to forward the viewer's Host header, so whether the aliases are sent is unknown.
    aliases: the distribution's alternate domain names (what would be sent if Host were forwarded).
    """

    distribution_id: str
    origin_id: str
    kind: OriginKind
    protocol_policy: str = ""
    ssl_protocols: tuple[str, ...] = ()
    vpc_origin_id: str | None = None
    request_functions: tuple[str, ...] = ()
    selecting_functions: tuple[str, ...] = ()
    host_forwarding_unknown: bool = False
    aliases: tuple[str, ...] = ()


class SniSource(StrEnum):
    """Where the name CloudFront sends as SNI and Host on a target's route comes from
    (``shared/cloudfront-rules.md`` §3; ``discover`` decides from the cache behaviors).

    ORIGIN_DOMAIN: a route that does not forward the viewer's Host: the origin's domain name.
    ALIAS: a route forwarding Host, a viewer on one of the distribution's alternate domain names.
    DEFAULT_DOMAIN: a route forwarding Host, a viewer on the distribution's own d….cloudfront.net.
    """

    ORIGIN_DOMAIN = "origin_domain"
    ALIAS = "alias"
    DEFAULT_DOMAIN = "default_domain"


@dataclass(frozen=True)
class Target:
    """One connection CloudFront makes: where it connects and what it offers.

    host: the origin domain name (or an IP literal) that is resolved and connected to.
    port: TCP port (the origin's HTTPSPort).
    server_name: the name sent as SNI and checked against the certificate; ``None`` = ``host``.
    protocols: the protocols offered, CloudFront spelling (``OriginSslProtocols``).
    connect_timeout: seconds allowed for TCP connect (the origin's ConnectionTimeout), or None
        for the auditor's default.
    distribution_ids / origin_ids: where this target came from (empty for ``check``).
    origin_group_ids: origin groups the origin is a member of (failover context).
    origins: how each (distribution, origin) leading here is configured, in discovery order
        (facts only; ``judge.discovery`` words them into findings). Empty for ``check``.
    notes: findings a caller attaches before probing (tests, a future source of targets).
        Discovery attaches none: what it saw is in ``origins``; ``judge.discovery.notes(target)``
        returns these notes followed by the findings worded from ``origins``.
    skip_probe: do not connect at all (http-only, VPC origin, S3 website, unrecognised
        configuration); ``origins`` say why. ``probe`` is skipped when set.
    sni_source: where ``sni`` comes from on the route (``SniSource``); None when a person gave
        it (``check``).
    route: "" when the target is the same for every distribution reaching it; else the id of the
        one distribution whose route facts it carries (edge code on the route, a Host-forwarding
        policy that could not be read): such a target is not merged with other distributions'
        (``discover.merge_targets``), so what belongs to one route is reported with it alone.
        Targets differing only in ``route`` share one probe (``probe_key``).
    """

    host: str
    port: int = 443
    server_name: str | None = None
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    connect_timeout: float | None = None
    distribution_ids: tuple[str, ...] = ()
    origin_ids: tuple[str, ...] = ()
    origin_group_ids: tuple[str, ...] = ()
    origins: tuple[OriginFacts, ...] = ()
    notes: tuple[Finding, ...] = ()
    skip_probe: bool = False
    sni_source: SniSource | None = None
    route: str = ""

    @property
    def sni(self) -> str:
        return self.server_name or self.host

    @property
    def probe_key(self) -> tuple[str, int, str, tuple[str, ...]]:
        """Targets with equal probe keys make the same connection: probed once."""
        return (self.host.lower().rstrip("."), self.port, self.sni.lower().rstrip("."),
                tuple(sorted(self.protocols)))

    @property
    def key(self) -> tuple[str, int, str, tuple[str, ...], str]:
        """Targets with equal keys are one result, reported under each of their distributions."""
        return (*self.probe_key, self.route)

    @property
    def display(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literal, as `check` takes it
        hp = f"{host}:{self.port}"
        return hp if self.sni == self.host else f"{hp} (SNI {self.sni})"

    def to_json(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "server_name": self.sni,
            "sni_source": None if self.sni_source is None else str(self.sni_source),
            "protocols": list(self.protocols),
            "distribution_ids": list(self.distribution_ids),
            "origin_ids": list(self.origin_ids),
        }


class HandshakeOutcome(StrEnum):
    """How one TCP connect + TLS handshake attempt ended (what was observed, not what it means).

    ``ok``: the handshake completed. ``refused``: the TCP connect failed (RST, unreachable, ...).
    ``connect_timeout``: no answer to the TCP connect in time. ``timeout``: the handshake did not
    complete in time. ``tls_error``: OpenSSL rejected the handshake. ``reset``: the connection
    was reset during the handshake. ``eof``: the server closed it during the handshake.
    ``not_tls``: the server answered with something that is not TLS. ``too_large``: certificate
    data beyond a cap (the auditor's or OpenSSL's). ``flood``: more bytes than any handshake
    needs without completing. ``malformed``: TLS records that break the protocol.
    """

    OK = "ok"
    REFUSED = "refused"
    CONNECT_TIMEOUT = "connect_timeout"
    TIMEOUT = "timeout"
    TLS_ERROR = "tls_error"
    RESET = "reset"
    EOF = "eof"
    NOT_TLS = "not_tls"
    TOO_LARGE = "too_large"
    FLOOD = "flood"
    MALFORMED = "malformed"


class NotProbed(StrEnum):
    """Why a target (or some of its addresses) was not probed at all."""

    TIME_BUDGET = "time_budget"  # the run's deadline passed before its handshake completed
    INTERNAL_ERROR = "internal_error"  # the probe lost the target (a bug)


class NotAudited(StrEnum):
    """Why an origin (or some of its addresses) was not audited in full: the judge sets it on
    ``TargetResult.not_audited`` from the probe's and discovery's facts, and reports count by it.
    The values are the JSON contract's strings; ``words`` is how reports and messages say it."""

    TIME_BUDGET = "time_budget"  # the run's deadline passed before a handshake could complete
    INTERNAL_ERROR = "internal_error"  # the probe lost the target or an address to a bug
    VPC_ORIGIN = "vpc_origin"  # private, not reachable from the auditor
    UNRECOGNISED_CONFIGURATION = "unrecognised_configuration"  # no origin configuration it knows

    @property
    def words(self) -> str:
        """'time budget', 'VPC origin', ...: the reason as the reports give it."""
        return _NOT_AUDITED_WORDS[self]


_NOT_AUDITED_WORDS = {
    NotAudited.TIME_BUDGET: "time budget",
    NotAudited.INTERNAL_ERROR: "internal error",
    NotAudited.VPC_ORIGIN: "VPC origin",
    NotAudited.UNRECOGNISED_CONFIGURATION: "unrecognised origin configuration",
}


@dataclass(frozen=True)
class AddressProbe:
    """What one resolved address presented to a CloudFront-like handshake, and nothing more.

    The attempts, in order (each only when the one before failed before the server committed to
    anything): CloudFront's documented offer (``rules.OFFERS``: its protocols, ciphers, groups,
    signature schemes), then the two s2n-tls policies' offers, then a ``diagnostic`` one (TLS
    1.0-1.2, every cipher, group and signature scheme) to learn why, then a broad TLS-1.3-only
    one. ``None`` everywhere means "not determined" (the attempt was not made, or could not tell).

    address: the IP address connected to.
    protocol / cipher: negotiated by the CloudFront offer that connected (``offer``); ``None``
        if none did.
    offer: which of CloudFront's offers connected: ``documented``, ``s2n-legacy``, ``s2n-2025``
        (``rules.Offer.name``); ``None`` when none did.
    group / signature_scheme: the key exchange group and the server's signature scheme (IANA
        names) of that connection; ``None`` when none was used (RSA key exchange) or not read.
    offer_exact: the offers carried exactly their groups and signature schemes; False when this
        OpenSSL could not be configured so (``tls.openssl``): OpenSSL's defaults were offered.
    chain: the certificates exactly as the server sent them, DER, in the order sent. May come
        from the diagnostic handshake when the CloudFront-like one failed (``chain_source``).
    chain_source: ``"cloudfront"`` (the CloudFront-like handshake), ``"diagnostic"`` (a broader
        handshake made only to see the certificates), or ``None`` when no certificate was seen.
    chain_truncated: the server sent more certificate data than the probe keeps (it stopped
        reading the CloudFront-like handshake's Certificate message at its cap).
    client_cert_requested: the server sent a CertificateRequest; ``False`` when a TLS <= 1.2
        handshake completed without one; ``None`` if not observable (TLS 1.3 encrypts it).
    offered: the protocols the CloudFront-like handshake offered, oldest first; ``()`` when none
        of the target's protocols can be offered (SSLv3 only), so nothing was attempted.
    outcome: how the documented offer's attempt ended; ``None`` when it was not made. The
        fields below up to ``certificate_length`` are that attempt's too.
    detail: that attempt's own words for a failure (OS error text, OpenSSL's reason, what
        broke the protocol); ``""`` when there are none.
    alert: the description code of the last plaintext TLS alert the server sent in it.
    first_bytes: the first bytes the server sent in it (at most 64), verbatim: the judge names
        what they look like (an HTTP response, an SSH banner); they are never quoted in a report.
    bytes_received: how many bytes the server sent in it before it ended.
    certificate_length: the declared length of its Certificate message; ``None`` if none began.
    diagnostic_outcome / diagnostic_protocol / diagnostic_cipher / diagnostic_group /
        diagnostic_signature_scheme: the diagnostic attempt.
    tls13_outcome / tls13_cipher / tls13_group / tls13_signature_scheme: the broad TLS-1.3-only
        attempt.
    diagnostics_skipped: the diagnostic / TLS-1.3 attempts the ladder called for were not made,
        or the run's deadline stopped one before its own timeout, for this reason (the time
        budget); what is reported rests on the attempts that finished. ``None``: none skipped.
    connect_timeout / timeout: the bounds applied to each TCP connect and each handshake (s).
    internal_error: ``"ExceptionType: text"`` when the probe itself failed on this address.
    elapsed: seconds spent on this address.
    """

    address: str
    protocol: str | None = None
    cipher: str | None = None
    chain: tuple[bytes, ...] = ()
    chain_source: str | None = None
    chain_truncated: bool = False
    client_cert_requested: bool | None = None
    offered: tuple[str, ...] | None = None
    outcome: HandshakeOutcome | None = None
    detail: str = ""
    alert: int | None = None
    first_bytes: bytes = b""
    bytes_received: int = 0
    certificate_length: int | None = None
    diagnostic_outcome: HandshakeOutcome | None = None
    diagnostic_protocol: str | None = None
    diagnostic_cipher: str | None = None
    diagnostic_group: str | None = None
    diagnostic_signature_scheme: str | None = None
    tls13_outcome: HandshakeOutcome | None = None
    tls13_cipher: str | None = None
    tls13_group: str | None = None
    tls13_signature_scheme: str | None = None
    offer: str | None = None
    group: str | None = None
    signature_scheme: str | None = None
    offer_exact: bool = True
    diagnostics_skipped: NotProbed | None = None
    connect_timeout: float | None = None
    timeout: float | None = None
    internal_error: str | None = None
    elapsed: float = 0.0

    @property
    def connected(self) -> bool:
        """One of CloudFront's offers completed a handshake."""
        return self.protocol is not None


@dataclass(frozen=True)
class NonPublicAddress:
    """An address CloudFront cannot reach (a DNS answer or an IP-literal host), not connected to.

    address: the address as the resolver gave it. kind: which special range it is in
    (``rules.NON_PUBLIC_NETWORKS``).
    """

    address: str
    kind: AddressClass


@dataclass(frozen=True)
class ProbeResult:
    """Everything the probe saw for one target: addresses, and what happened before them.

    addresses: one entry per probed address, in resolver order.
    dns_error: why the name did not resolve (the resolver's reason); ``None`` if it did or
        resolution was not attempted.
    resolved: how many distinct addresses the name resolved to (1 for an IP literal, 0 for an
        empty answer); ``None`` when resolution was not attempted or failed.
    capped_at: only the first ``capped_at`` of the ``resolved`` addresses were selected for
        probing (``rules.MAX_ADDRESSES``); ``None`` when all were.
    not_public: selected addresses CloudFront cannot reach (loopback, private, link-local, ...;
        an IP-literal host too), in resolver order, outside every range the caller opened: never
        connected to, so they are not in ``addresses``.
    not_probed: why no address was probed at all; ``None`` when some were (or none to probe).
    time_budget_skipped: selected addresses not probed because the run's time ran out.
    internal_error: ``"ExceptionType: text"`` when the probe lost this target to a bug.
    """

    target: Target
    addresses: tuple[AddressProbe, ...] = ()
    dns_error: str | None = None
    resolved: int | None = None
    capped_at: int | None = None
    not_probed: NotProbed | None = None
    time_budget_skipped: int = 0
    internal_error: str | None = None
    not_public: tuple[NonPublicAddress, ...] = ()


@dataclass(frozen=True)
class CertSummary:
    """A certificate as reports show it."""

    subject: str
    issuer: str
    not_after: str | None
    sha256: str

    def to_json(self) -> dict[str, object]:
        return {"subject": self.subject, "issuer": self.issuer, "not_after": self.not_after,
                "sha256": self.sha256}


@dataclass(frozen=True)
class AddressReport:
    """One address as reports show it.

    chain: every certificate as sent, in the order sent.
    issuing_order: indexes into ``chain`` of the issuing path the judge built from the sent
        certificates: the leaf, then each certificate's issuer. ``chain`` is in order when it
        begins with these indexes in this order; an index absent is a certificate not on the
        path (duplicate, unrelated, malformed). ``()`` when no chain was judged.
    path_end: how that path ends (``x509.chain.ChainAnalysis.end``): ``trusted``,
        ``self_signed``, ``incomplete``, ``untrusted_issuer`` or ``empty``; None when no chain
        was judged.
    group / signature_scheme / offer: the key exchange group and signature scheme (IANA names)
        of the CloudFront offer that connected, and which one (``documented``, ``s2n-legacy``,
        ``s2n-2025``); None when none connected (or nothing was used, e.g. RSA key exchange).
    """

    address: str
    protocol: str | None
    cipher: str | None
    chain: tuple[CertSummary, ...]
    issuing_order: tuple[int, ...] = ()
    path_end: str | None = None
    group: str | None = None
    signature_scheme: str | None = None
    offer: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"address": self.address, "protocol": self.protocol, "cipher": self.cipher,
                "group": self.group, "signature_scheme": self.signature_scheme, "offer": self.offer,
                "chain": [c.to_json() for c in self.chain],
                "issuing_order": list(self.issuing_order), "path_end": self.path_end}


@dataclass(frozen=True)
class TargetResult:
    """The judged result for one target.

    verdict: worst severity of ``findings``.
    findings: every finding, target-level first, then per address.
    addresses: what each address presented.
    reproduce: an ``openssl s_client`` command line that shows what CloudFront sees.
    not_audited: why the origin, or some of its addresses, was not audited (the judge decides
        from the facts, never from a message); None when every selected address was probed
        (an http-only origin counts as audited: there is no TLS to audit).
    """

    target: Target
    verdict: Verdict
    findings: tuple[Finding, ...]
    addresses: tuple[AddressReport, ...] = ()
    reproduce: str = ""
    not_audited: NotAudited | None = None

    @property
    def unaudited(self) -> NotAudited | None:
        """``not_audited`` when nothing was seen failing or warning: such an origin is counted
        "not audited" rather than "pass" (a failure seen is reported as the failure it is)."""
        return self.not_audited if self.verdict is Verdict.PASS else None

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target.to_json(),
            "verdict": str(self.verdict),
            "not_audited": None if self.not_audited is None else str(self.not_audited),
            "findings": [f.to_json() for f in self.findings],
            "addresses": [a.to_json() for a in self.addresses],
            "reproduce": self.reproduce,
        }


def count_unaudited(results: Iterable[TargetResult]) -> dict[NotAudited, int]:
    """Reason -> how many of ``results`` nothing was seen failing or warning on and were not
    audited in full (``TargetResult.unaudited``): what reports count apart from "pass"."""
    counts: dict[NotAudited, int] = {}
    for r in results:
        if (why := r.unaudited) is not None:
            counts[why] = counts.get(why, 0) + 1
    return counts


@dataclass(frozen=True)
class DistributionReport:
    """One distribution's classification and the metrics behind it.

    classification: see ``Classification`` (a plain string of one of its values is accepted).
    metrics: metric name -> value over the lookback window (``None``: no datapoints / unknown).
    results: indexes into ``AuditReport.results`` of this distribution's targets.
    findings: distribution-level findings (e.g. ADDITIONAL_METRICS_DISABLED).
    """

    id: str
    classification: Classification
    domain_name: str = ""
    aliases: tuple[str, ...] = ()
    enabled: bool = True
    staging: bool = False
    metrics: dict[str, float | None] = field(default_factory=dict)
    results: tuple[int, ...] = ()
    findings: tuple[Finding, ...] = ()
    reason: str = ""

    def __post_init__(self) -> None:
        # Built by hand in tests and tools with the contract's strings: store the enum either way,
        # and refuse a word that is not a classification instead of rendering it.
        object.__setattr__(self, "classification", Classification(self.classification))

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "classification": str(self.classification),
            "domain_name": self.domain_name,
            "aliases": list(self.aliases),
            "enabled": self.enabled,
            "staging": self.staging,
            "metrics": dict(self.metrics),
            "results": list(self.results),
            "findings": [f.to_json() for f in self.findings],
            "reason": self.reason,
        }


class UnseenKind(StrEnum):
    """What part of an account a run did not see."""

    LISTING = "listing"  # the distribution list stopped early: everything after it is unknown
    DISTRIBUTION = "distribution"  # one distribution's configuration (or a policy its routes need)


@dataclass(frozen=True)
class Unseen:
    """A part of the account the run did not see, and why.

    kind: ``UnseenKind``. id: the distribution id ("" for the listing).
    seen: for the listing, how many distributions were listed before it stopped; else None.
    reason: the error, in one line.
    """

    kind: UnseenKind
    id: str
    reason: str
    seen: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"kind": str(self.kind), "id": self.id, "reason": self.reason, "seen": self.seen}


@dataclass(frozen=True)
class AuditReport:
    """The whole answer: results per target, distributions (empty for ``check``), notes.

    notes: run-level remarks that degrade the report (metrics unavailable, throttled, ...).
    unseen: parts of the account discovery could not read; non-empty makes the run *partial*:
        what it did not see keeps its state, and nothing is called resolved or removed for it.
    account: the AWS account id audited (the audited role's account, else the caller's as STS or
        the Lambda's own ARN said); ``None`` when not known (``check``, injected clients).
    """

    generated_at: str
    results: tuple[TargetResult, ...]
    distributions: tuple[DistributionReport, ...] = ()
    notes: tuple[str, ...] = ()
    unseen: tuple[Unseen, ...] = ()
    account: str | None = None

    @property
    def partial(self) -> bool:
        """True when some of the account was not seen (``unseen``)."""
        return bool(self.unseen)

    @property
    def verdict(self) -> Verdict:
        return max((r.verdict for r in self.results), key=lambda v: v.rank, default=Verdict.PASS)

    def summary(self) -> dict[str, object]:
        counts = {v.value: 0 for v in Verdict}
        for r in self.results:
            counts[r.verdict.value] += 1
        classes: dict[str, int] = {}
        for d in self.distributions:
            key = str(d.classification)
            classes[key] = classes.get(key, 0) + 1
        # not_audited: of the "pass" verdicts, how many were not audited in full, per reason.
        unaudited = {str(why): n for why, n in count_unaudited(self.results).items()}
        return {"targets": len(self.results), "verdicts": counts, "classifications": classes,
                "verdict": str(self.verdict), "not_audited": unaudited, "notes": list(self.notes),
                "partial": self.partial, "unseen": [u.to_json() for u in self.unseen]}

    def to_json(self) -> dict[str, object]:
        """The report as JSON (``origin-auditor/1``). Built once per report, which is immutable:
        a Lambda run needs it for the archive, the message and its return value. Each call
        returns a new top-level dict, for the caller's own keys; the values inside are shared and
        are never mutated."""
        return dict(self._document)

    @cached_property
    def _document(self) -> dict[str, object]:
        return {
            "schema": "origin-auditor/1",
            "generated_at": self.generated_at,
            "account": self.account,
            "results": [r.to_json() for r in self.results],
            "distributions": [d.to_json() for d in self.distributions],
            "summary": self.summary(),
        }
