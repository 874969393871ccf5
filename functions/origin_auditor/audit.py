"""The ``audit`` of an AWS account: discover -> probe + judge -> correlate -> assess.

The CLI's ``audit`` command and the Lambda handler are thin shells over ``run_audit``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import aws
from .assess import Thresholds, assess
from .correlate import fetch_metrics
from .discover import discover
from .fetch import IssuerFetcher
from .model import AuditReport, Target
from .options import CONCURRENCY, FETCH_ISSUERS, LOOKBACK, TIMEOUT, WARN_DAYS, Networks
from .pipeline import check_targets, offer_notes, utcnow
from .probe import Resolver, system_resolver
from .trust import TrustStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditOptions:
    """What to audit and how. Defaults and limits are ``options``' (the CLI and the event check
    them with their own wording first; a value outside them here is a programming error).

    distribution_ids: only these distributions (empty: every distribution in the account).
    lookback: the CloudWatch window the classification looks at.
    timeout: seconds per TLS handshake (connect uses the origin's ConnectionTimeout when set).
    concurrency: probes in flight at once.
    at: the moment certificate validity is judged at (None: now). Metrics always end now.
    warn_days: expiry horizon for CERT_EXPIRING_SOON.
    thresholds: what counts as elevated errors / idle.
    deadline: a ``time.monotonic()`` value by which probing is over (Lambda time budget): every
        handshake attempt ends by it; what it cut is not audited (``probe.probe_targets``).
    metrics_deadline: a ``time.monotonic()`` value by which the CloudWatch reads are over
        (``correlate.fetch_metrics``); None: no bound.
    role_arn: assume this role for the CloudFront and CloudWatch clients (another account).
    probe_order: called once after discovery, before any probe starts, with the discovered
        targets; returns the same targets in the order to probe them (with a deadline the tail
        may go unprobed). The handler reads the state table here, so everything it later writes
        is newer than what it read. None: discovery order. The report keeps discovery order.
    allow_addresses: address ranges probed although CloudFront cannot reach them (a lab's
        loopback: ``options.ALLOW_ADDRESSES``); empty, the default, probes what CloudFront can.
    fetch_issuers: fetch the issuer above an incomplete chain through its caIssuers URL to tell
        a missing intermediate from a private CA (``fetch``; ``options.FETCH_ISSUERS``): words
        only, never a verdict. Same address rule (``allow_addresses``) and deadline as probing.
    """

    distribution_ids: tuple[str, ...] = ()
    lookback: dt.timedelta = LOOKBACK.default
    timeout: float = TIMEOUT.default
    concurrency: int = CONCURRENCY.default
    at: dt.datetime | None = None
    warn_days: int = WARN_DAYS.default
    thresholds: Thresholds = field(default_factory=Thresholds)
    deadline: float | None = None
    metrics_deadline: float | None = None
    role_arn: str | None = None
    probe_order: Callable[[Sequence[Target]], Sequence[Target]] | None = None
    allow_addresses: Networks = ()
    fetch_issuers: bool = FETCH_ISSUERS.default

    def __post_init__(self) -> None:
        # Raises options.OptionError (a ValueError) naming the option.
        LOOKBACK.check(self.lookback)
        TIMEOUT.check(self.timeout)
        CONCURRENCY.check(self.concurrency)
        WARN_DAYS.check(self.warn_days)


def run_audit(options: AuditOptions = AuditOptions(), *, cloudfront: Any = None, cloudwatch: Any = None,
              resolver: Resolver | None = None, trust: TrustStore | None = None,
              progress: Callable[[str], object] | None = None) -> AuditReport:
    """Audit the account's distributions and return the whole report.

    Clients default lazily to ``aws.cloudfront_client`` / ``aws.cloudwatch_client`` (with
    ``options.role_arn``). Raises ``discover.DiscoveryError`` only when no distribution could
    be listed; every later failure is a note in the report.
    """
    # The account the report is about (the messages name it): the audited role's, else the
    # caller's when this function made the session; with injected clients the caller says it.
    account = aws.arn_account(options.role_arn)
    session = None
    if cloudfront is None or cloudwatch is None:
        session = aws.session(options.role_arn)
        cloudfront = cloudfront if cloudfront is not None else aws.cloudfront_client(session)
        cloudwatch = cloudwatch if cloudwatch is not None else aws.cloudwatch_client(session)

    def say(message: str) -> None:
        log.debug(message)
        if progress is not None:
            progress(message)

    discovery = discover(cloudfront, distribution_ids=options.distribution_ids, on_progress=say)
    if account is None and session is not None:  # after discovery: an unreachable AWS fails there
        account = aws.caller_account(session)
    targets = discovery.targets
    last_shown = [-1]

    def probed(done: int, total: int) -> None:
        # At most ~20 progress lines however many targets there are.
        step = max(1, total // 20)
        if done == total or done // step != last_shown[0]:
            last_shown[0] = done // step
            say(f"probed {done}/{total} origins")

    ordered = _ordered(targets, options.probe_order)
    fetcher = IssuerFetcher(resolver=resolver or system_resolver, allow=options.allow_addresses,
                            deadline=options.deadline) if options.fetch_issuers else None
    in_order = check_targets(
        ordered, resolver=resolver or system_resolver, trust=trust, timeout=options.timeout,
        at=options.at, warn_days=options.warn_days, concurrency=options.concurrency,
        deadline=options.deadline, on_progress=probed, allow=options.allow_addresses, fetcher=fetcher)
    by_key = {r.target.key: r for r in in_order}
    results = [by_key[t.key] for t in targets]
    say("fetching CloudWatch metrics")
    readable = [d.id for d in discovery.distributions if d.error is None]
    metrics = fetch_metrics(cloudwatch, cloudfront, readable, end=utcnow(), lookback=options.lookback,
                            deadline=options.metrics_deadline)
    distributions = assess(discovery, results, metrics, options.thresholds)
    notes = tuple(dict.fromkeys((*discovery.notes, *metrics.notes, *offer_notes(results))))
    api_calls = {**discovery.api_calls}
    for op, n in metrics.api_calls.items():
        api_calls[op] = api_calls.get(op, 0) + n
    log.info("audit done: %d distributions, %d targets, AWS calls %s", len(distributions), len(results),
             api_calls)
    return AuditReport(generated_at=utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
                       results=tuple(results), distributions=distributions, notes=notes,
                       unseen=discovery.unseen, account=account)


def _ordered(targets: Sequence[Target],
             order: Callable[[Sequence[Target]], Sequence[Target]] | None) -> list[Target]:
    """``order(targets)``, checked to be a permutation of them (else discovery order)."""
    if order is None:
        return list(targets)
    ordered = list(order(targets))
    if sorted(t.key for t in ordered) != sorted(t.key for t in targets):
        log.error("probe_order returned other targets than it was given; using discovery order")
        return list(targets)
    return ordered
