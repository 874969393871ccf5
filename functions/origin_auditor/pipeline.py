"""probe -> judge for a list of targets: what ``check`` runs, and the heart of ``audit``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace

from .fetch import IssuerFetcher, issuer_trails
from .judge import judge_probe
from .model import AuditReport, ProbeResult, Target, TargetResult
from .options import DEFAULT_CONCURRENCY, Network
from .probe import Resolver, probe_targets, system_resolver
from .rules import DEFAULT_TIMEOUT_SECONDS, EXPIRY_WARN_DAYS, Code
from .tls.openssl import exact_offers
from .trust import TrustStore, load_trust_store


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_targets(
    targets: Sequence[Target],
    *,
    resolver: Resolver = system_resolver,
    trust: TrustStore | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    at: dt.datetime | None = None,
    warn_days: int = EXPIRY_WARN_DAYS,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    allow: Sequence[Network] = (),
    fetcher: IssuerFetcher | None = None,
) -> list[TargetResult]:
    """Probe every target as CloudFront would and judge what it presented.

    Results come back in input order. ``deadline`` is a ``time.monotonic()`` value by which
    probing is over (what it cut gets ORIGIN_NOT_PROBED: not audited). ``at`` is the moment validity
    is judged at (default: now). ``on_progress(done, total)`` is called as probes finish.
    ``allow``: address ranges probed although CloudFront cannot reach them (a lab's loopback);
    other such DNS answers are ADDRESS_NOT_PUBLIC findings and are never connected to.
    ``fetcher``: fetch the issuers above incomplete chains through their caIssuers URLs to word
    CHAIN_INCOMPLETE / CHAIN_UNTRUSTED_ROOT exactly (``fetch``; one per run, so each URL is
    fetched once); None fetches nothing. What it finds never changes a verdict.
    """
    return [r for _p, r in probe_and_judge(
        targets, resolver=resolver, trust=trust, timeout=timeout, at=at, warn_days=warn_days,
        concurrency=concurrency, deadline=deadline, on_progress=on_progress, allow=allow,
        fetcher=fetcher)]


def probe_and_judge(
    targets: Sequence[Target],
    *,
    resolver: Resolver = system_resolver,
    trust: TrustStore | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    at: dt.datetime | None = None,
    warn_days: int = EXPIRY_WARN_DAYS,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    allow: Sequence[Network] = (),
    fetcher: IssuerFetcher | None = None,
) -> list[tuple[ProbeResult, TargetResult]]:
    """``check_targets`` with each result's probe facts beside it (``check --write-chain``
    needs the chain as sent, which results only summarise)."""
    trust = trust or load_trust_store()
    when = at or utcnow()
    done = 0

    def progress(_index: int, _result: object) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, len(unique))

    # Targets that differ only in their route (``Target.route``: one distribution's edge code...)
    # make the same connection: probe it once, judge it for each of them.
    # The strictest connect timeout among them applies, as when targets are merged.
    grouped: dict[tuple[str, int, str, tuple[str, ...]], list[Target]] = {}
    for t in targets:
        grouped.setdefault(t.probe_key, []).append(t)
    unique = [same[0] if len(same) == 1 else replace(
        same[0], connect_timeout=min((x.connect_timeout for x in same if x.connect_timeout is not None),
                                     default=None),
        skip_probe=all(x.skip_probe for x in same)) for same in grouped.values()]
    probes = probe_targets(unique, resolver=resolver, timeout=timeout, concurrency=concurrency,
                           deadline=deadline, on_done=progress, allow=allow)
    trails = {}
    if fetcher is not None:
        # After probing, within the same deadline (the fetcher's), so a Lambda's reserve for
        # judging and publishing is untouched. A cut-off chain is not "incomplete": not followed.
        trails = issuer_trails((a.chain for p in probes for a in p.addresses
                                if a.chain and not a.chain_truncated), trust, fetcher)
    by_key = {p.target.probe_key: p for p in probes}
    out: list[tuple[ProbeResult, TargetResult]] = []
    for t in targets:
        probe = replace(by_key[t.probe_key], target=t)
        out.append((probe, judge_probe(probe, trust=trust, at=when, warn_days=warn_days, issuers=trails)))
    return out


def check_report(results: Sequence[TargetResult], *, notes: Sequence[str] = ()) -> AuditReport:
    return AuditReport(generated_at=utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
                       results=tuple(results), notes=(*notes, *offer_notes(results)))


def offer_notes(results: Sequence[TargetResult]) -> tuple[str, ...]:
    """The run's note when some address was probed without CloudFront's exact groups and
    signature schemes (OFFER_APPROXIMATE): said once for the run, with why, beside the
    per-address info findings, so a pass is never read as checked with CloudFront's offer."""
    if not any(f.code == Code.OFFER_APPROXIMATE for r in results for f in r.findings):
        return ()
    why = exact_offers() or "the OpenSSL layout check failed for a context"
    return (f"CloudFront's exact curves and signature schemes could not be offered ({why}); OpenSSL's "
            "defaults were: an origin that fails only on those passes here (OFFER_APPROXIMATE).",)
