"""Probe stage: connect to every address of an origin the way CloudFront does and record what it sent.

One kind of I/O lives here: DNS (through an injectable resolver) and TCP/TLS to the origin. The
probe returns facts and no prose: what resolved, what each address answered to a CloudFront-like
handshake and, when that failed, to the broader diagnostic handshakes that tell why. The judge
(``judge.handshake``) says what those facts mean for CloudFront.

One handshake attempt is ``tls.handshake.attempt`` (deadline-bounded, chain exactly as sent); this
module decides which attempts to make per address, runs addresses on a bounded pool and stops
starting new work when the run's time budget is spent.

An address CloudFront cannot reach (loopback, private, link-local, ...: ``rules.
NON_PUBLIC_NETWORKS``), whether a DNS answer or an IP-literal host, is recorded
(``ProbeResult.not_public``) and never connected to, unless the caller opened its range
(``allow``; ``options.ALLOW_ADDRESSES``). Addresses a person names (``check``'s IP-literal origins
and ``--resolve``) are opened by the CLI, not here: the probe treats every address alike.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from .addresses import address_class
from .addresses import allowed as _allowed
from .model import AddressProbe, NonPublicAddress, NotProbed, ProbeResult, Target
from .model import HandshakeOutcome as Outcome
from .options import DEFAULT_CONCURRENCY, Network
from .rules import DEFAULT_TIMEOUT_SECONDS, MAX_ADDRESSES
from .tls.handshake import Attempt, attempt, client_context, context_exact, offerable
from .tls.openssl import Kind
from .x509.names import ip_literal

logger = logging.getLogger(__name__)

# How long past its deadline probe_targets waits for work still running before it returns
# without it. Every handshake attempt ends by the deadline; only a DNS lookup in flight can run
# on (getaddrinfo has no timeout of its own).
DEADLINE_GRACE_SECONDS = 1.0

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> IP address strings in resolver order; may raise OSError (socket.gaierror)."""


# --------------------------------------------------------------------------------------------
# Resolvers


def system_resolver(host: str, port: int) -> list[str]:
    """Every A/AAAA address of ``host`` from the system resolver, de-duplicated, order kept.

    getaddrinfo has no timeout of its own; the system resolver's (resolv.conf) applies.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


def static_resolver(mapping: Mapping[str, Sequence[str]]) -> Resolver:
    """A resolver answering from ``mapping`` (name -> addresses); unknown names raise gaierror.

    Names compare case-insensitively and ignore a trailing dot, as DNS does.
    """
    table = {k.lower().rstrip("."): list(v) for k, v in mapping.items()}

    def resolve(host: str, port: int) -> list[str]:
        try:
            return list(table[host.lower().rstrip(".")])
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known: {host}") from None

    return resolve


# --------------------------------------------------------------------------------------------
# Addresses CloudFront cannot reach

# ``address_class`` and ``_allowed`` live in ``addresses`` (shared with ``fetch``); imported above.


# --------------------------------------------------------------------------------------------
# Resolution


@dataclass(frozen=True)
class _Resolution:
    """The addresses to probe and the ProbeResult facts resolution contributes."""

    addresses: tuple[str, ...] = ()
    dns_error: str | None = None
    resolved: int | None = None
    capped_at: int | None = None
    not_public: tuple[NonPublicAddress, ...] = ()

    def result(self, target: Target, addresses: tuple[AddressProbe, ...] = (), *,
               not_probed: NotProbed | None = None, time_budget_skipped: int = 0) -> ProbeResult:
        return ProbeResult(target=target, addresses=addresses, dns_error=self.dns_error,
                           resolved=self.resolved, capped_at=self.capped_at, not_probed=not_probed,
                           time_budget_skipped=time_budget_skipped, not_public=self.not_public)


def _resolve(target: Target, resolver: Resolver, allow: Sequence[Network] = ()) -> _Resolution:
    literal = ip_literal(target.host)
    if literal is not None:
        addresses: tuple[str, ...] = (str(literal),)
    else:
        try:
            addresses = tuple(dict.fromkeys(resolver(target.host, target.port)))
        except Exception as exc:  # OSError is the contract; anything else is a resolver bug
            if not isinstance(exc, OSError):
                logger.exception("resolver failed for %s", target.host)
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            return _Resolution(dns_error=reason)
    resolved = len(addresses)
    capped_at = MAX_ADDRESSES if resolved > MAX_ADDRESSES else None
    # The cap comes first, so however many unreachable answers DNS gives, the findings stay bounded.
    probe: list[str] = []
    not_public: list[NonPublicAddress] = []
    for address in addresses[:MAX_ADDRESSES]:
        kind = address_class(address)
        if kind is None or _allowed(address, allow):
            probe.append(address)
        else:
            not_public.append(NonPublicAddress(address, kind))
    return _Resolution(tuple(probe), resolved=resolved, capped_at=capped_at, not_public=tuple(not_public))


# --------------------------------------------------------------------------------------------
# One address


def probe_address(target: Target, address: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                  deadline: float | None = None) -> AddressProbe | None:
    """Probe one resolved address of ``target``. Never raises for anything a server does.

    ``deadline`` (``time.monotonic()``): the whole ladder ends by then. Each attempt gets
    min(its timeout, what is left) and none starts after it. ``None`` when the deadline left no
    time to finish the CloudFront-like attempt: nothing is known about the address (the caller
    reports it as not probed). Diagnostics it cut are in ``AddressProbe.diagnostics_skipped``.
    """
    started = time.monotonic()
    try:
        probe = _probe_address(target, address, timeout, deadline)
    except Exception as exc:  # a bug must cost one address, not the run
        logger.exception("probe of %s (%s) failed unexpectedly", target.display, address)
        probe = AddressProbe(address=address, internal_error=f"{type(exc).__name__}: {exc}")
    return None if probe is None else replace(probe, elapsed=time.monotonic() - started)


def _probe_address(target: Target, address: str, timeout: float,
                   deadline: float | None = None) -> AddressProbe | None:
    """The diagnostic ladder for one address: CloudFront's documented offer first; only when it
    fails before the server committed to anything, the s2n-tls policies' offers (the older, then
    the 2025 one: ``rules.OFFERS``), then a broad TLS 1.0-1.2 offer, then a broad TLS 1.3 one.
    The run's ``deadline`` bounds every attempt (see ``probe_address``)."""
    sni = None if ip_literal(target.sni) is not None else target.sni.rstrip(".")
    connect_timeout = min(timeout, target.connect_timeout) if target.connect_timeout else timeout
    offered = offerable(target.protocols)
    if not offered:
        return AddressProbe(address=address, offered=(), connect_timeout=connect_timeout, timeout=timeout)

    def hs(kind: Kind) -> Attempt | None:
        """The attempt, or None when the deadline cut it (or left no time to start it): what
        it would have shown is unknown, and a timeout it hit is the run's, not the server's."""
        made = attempt(address, target.port, sni, client_context(kind, offered),
                       connect_timeout=connect_timeout, timeout=timeout, deadline=deadline)
        return None if made.cut else made

    first = hs("cloudfront")
    if first is None:
        return None
    kinds: tuple[Kind, ...] = ("cloudfront", "s2n-legacy", "s2n-2025", "diagnostic", "tls13")
    exact = all(context_exact(k, offered) for k in kinds)
    cert_req: bool | None = None
    if first.certificate_request:
        cert_req = True
    elif first.outcome is Outcome.OK and first.protocol != "TLSv1.3" and first.hello_done:
        cert_req = False

    def seen(chain: Sequence[bytes] = (), source: str | None = None, *, diag: Attempt | None = None,
             tls13: Attempt | None = None, skipped: bool = False,
             via: tuple[str, Attempt] | None = None) -> AddressProbe:
        won = first if first.outcome is Outcome.OK else (via[1] if via else None)
        return AddressProbe(
            address=address, protocol=won.protocol if won else None,
            cipher=won.cipher if won else None, chain=tuple(chain),
            chain_source=source if chain else None, chain_truncated=first.truncated,
            client_cert_requested=cert_req, offered=offered, outcome=first.outcome,
            detail=first.detail, alert=first.alert[1] if first.alert else None,
            first_bytes=first.first_bytes, bytes_received=first.bytes_received,
            certificate_length=first.certificate_length,
            diagnostic_outcome=diag.outcome if diag else None,
            diagnostic_protocol=diag.protocol if diag else None,
            diagnostic_cipher=diag.cipher if diag else None,
            diagnostic_group=diag.group if diag else None,
            diagnostic_signature_scheme=diag.signature_scheme if diag else None,
            tls13_outcome=tls13.outcome if tls13 else None,
            tls13_cipher=tls13.cipher if tls13 else None,
            tls13_group=tls13.group if tls13 else None,
            tls13_signature_scheme=tls13.signature_scheme if tls13 else None,
            offer=("documented" if first.outcome is Outcome.OK else via[0] if via else None),
            group=won.group if won else None,
            signature_scheme=won.signature_scheme if won else None, offer_exact=exact,
            diagnostics_skipped=NotProbed.TIME_BUDGET if skipped else None,
            connect_timeout=connect_timeout, timeout=timeout)

    if first.outcome in (Outcome.REFUSED, Outcome.CONNECT_TIMEOUT, Outcome.NOT_TLS):
        return seen()
    if first.outcome in (Outcome.OK, Outcome.TIMEOUT, Outcome.TOO_LARGE, Outcome.MALFORMED, Outcome.FLOOD):
        return seen(first.chain, "cloudfront")
    if cert_req or (first.certificate_length is not None and first.server_version in offered):
        # Protocol and cipher were agreed (the server chose an offered protocol and sent its
        # certificate, or asked for ours): a broader handshake would not explain anything more.
        # A server that answers with a protocol we did not offer goes on to the diagnostics.
        return seen(first.chain, "cloudfront")

    # The documented offer failed before the server committed to anything: do the s2n-tls
    # policies' offers connect (what edges may send, undocumented)? Then find out why.
    for kind in ("s2n-legacy", "s2n-2025"):
        other = hs(kind)
        if other is None:  # out of time: report the documented attempt alone, and say so
            return seen(first.chain, "cloudfront", skipped=True)
        if other.outcome is Outcome.OK:
            return seen(other.chain, kind, via=(kind, other))
        if other.outcome in (Outcome.REFUSED, Outcome.CONNECT_TIMEOUT, Outcome.TIMEOUT):
            return seen(first.chain, "cloudfront")
    diag = hs("diagnostic")
    if diag is None:  # out of time: report CloudFront's attempts alone, and say so
        return seen(first.chain, "cloudfront", skipped=True)
    if diag.outcome is Outcome.OK:
        return seen(diag.chain, "diagnostic", diag=diag)
    if diag.outcome in (Outcome.REFUSED, Outcome.CONNECT_TIMEOUT, Outcome.TIMEOUT):
        return seen(first.chain, "cloudfront", diag=diag)
    tls13 = hs("tls13")
    if tls13 is None:
        chain, source = (first.chain, "cloudfront") if first.chain else (diag.chain, "diagnostic")
        return seen(chain, source, diag=diag, skipped=True)
    if tls13.outcome is Outcome.OK:
        return seen(tls13.chain, "diagnostic", diag=diag, tls13=tls13)
    chain, source = (first.chain, "cloudfront") if first.chain else (diag.chain, "diagnostic")
    return seen(chain, source, diag=diag, tls13=tls13)


# --------------------------------------------------------------------------------------------
# Targets


def probe_target(target: Target, *, resolver: Resolver = system_resolver,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS, allow: Sequence[Network] = ()) -> ProbeResult:
    """Resolve ``target`` and probe each address (one after another) as CloudFront would.
    ``allow``: ranges to probe although CloudFront cannot reach them (see ``probe_targets``)."""
    if target.skip_probe:
        return ProbeResult(target=target)
    resolution = _resolve(target, resolver, allow)
    probes = (probe_address(target, a, timeout=timeout) for a in resolution.addresses)
    return resolution.result(target, tuple(p for p in probes if p is not None))  # no deadline: never None


def probe_targets(
    targets: Sequence[Target],
    *,
    resolver: Resolver = system_resolver,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline: float | None = None,
    on_done: Callable[[int, ProbeResult], None] | None = None,
    allow: Sequence[Network] = (),
) -> list[ProbeResult]:
    """Probe many targets with a bounded pool; results in input order.

    Work items are (target, address) pairs, so one name with many slow addresses does not hold
    up one worker for addresses x timeout. ``deadline`` (a ``time.monotonic()`` value): probing
    is over by then. Every attempt is bounded by it (``probe_address``); targets and addresses
    not started, or whose CloudFront-like attempt it cut, are not probed
    (``ProbeResult.not_probed`` / ``time_budget_skipped`` say so). Only a DNS lookup can outlive
    it (``getaddrinfo`` has no timeout): this returns ``DEADLINE_GRACE_SECONDS`` after the
    deadline at the latest, and a target still resolving is not probed (time budget).
    ``on_done(index, result)`` is called once per target as it finishes, from a worker thread.
    ``allow``: ranges probed although CloudFront cannot reach them (a lab's loopback); any other
    such answer is recorded in ``ProbeResult.not_public`` and never connected to.
    """
    n = len(targets)
    results: list[ProbeResult | None] = [None] * n
    if n == 0:
        return []
    lock = threading.Lock()
    pending: dict[int, list[AddressProbe | bool | None]] = {}
    resolutions: dict[int, _Resolution] = {}
    all_done = threading.Event()
    finished = 0

    def finish(index: int, result: ProbeResult) -> None:
        nonlocal finished
        with lock:
            results[index] = result
            finished += 1
            last = finished == n
        if on_done is not None:
            try:
                on_done(index, result)
            except Exception:
                logger.exception("on_done callback failed for target %d", index)
        if last:
            all_done.set()

    def address_task(index: int, slot: int, address: str) -> None:
        target = targets[index]
        # Resolution of every target is queued before their addresses, so the deadline is
        # checked again here: no connection starts after it.
        late = deadline is not None and time.monotonic() >= deadline
        probe = None if late else probe_address(target, address, timeout=timeout, deadline=deadline)
        with lock:
            slots = pending[index]
            slots[slot] = probe if probe is not None else False
            complete = all(p is not None for p in slots)
        if complete:
            done = tuple(p for p in slots if isinstance(p, AddressProbe))
            skipped = len(slots) - len(done)
            finish(index, resolutions[index].result(
                target, done, not_probed=NotProbed.TIME_BUDGET if skipped == len(slots) else None,
                time_budget_skipped=skipped))

    def target_task(index: int, pool: ThreadPoolExecutor) -> None:
        target = targets[index]
        try:
            if target.skip_probe:
                finish(index, ProbeResult(target=target))
                return
            if deadline is not None and time.monotonic() >= deadline:
                finish(index, ProbeResult(target=target, not_probed=NotProbed.TIME_BUDGET))
                return
            resolution = _resolve(target, resolver, allow)
            if not resolution.addresses:
                finish(index, resolution.result(target))
                return
            with lock:
                pending[index] = [None] * len(resolution.addresses)
                resolutions[index] = resolution
            for slot, address in enumerate(resolution.addresses):
                pool.submit(address_task, index, slot, address)
        except Exception as exc:  # e.g. pool shutting down; never lose the target
            logger.exception("probe of target %d failed unexpectedly", index)
            finish(index, ProbeResult(target=target, internal_error=f"{type(exc).__name__}: {exc}"))

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="probe")
    try:
        for i in range(n):
            pool.submit(target_task, i, pool)
        if deadline is None:
            all_done.wait()
            finished_in_time = True
        else:
            finished_in_time = all_done.wait(max(0.0, deadline - time.monotonic()) + DEADLINE_GRACE_SECONDS)
    finally:
        # Out of time: leave the stragglers (DNS lookups) to finish on their own; their results
        # are no longer read. Otherwise every worker is idle and joins at once.
        pool.shutdown(wait=deadline is None or finished_in_time, cancel_futures=True)
    with lock:
        got = list(results)
    if not finished_in_time:
        logger.warning("probing passed its deadline; %d of %d targets unfinished (DNS)",
                       sum(r is None for r in got), n)
    lost = NotProbed.INTERNAL_ERROR if finished_in_time else NotProbed.TIME_BUDGET
    return [r if r is not None else ProbeResult(target=targets[i], not_probed=lost)
            for i, r in enumerate(got)]
