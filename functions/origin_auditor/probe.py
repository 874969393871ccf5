"""Probe stage: connect to every address of an origin the way CloudFront does and record what it sent.

One kind of I/O lives here: DNS (through an injectable resolver) and TCP/TLS to the origin. The
probe returns facts and no prose: what resolved, what each address answered to a CloudFront-like
handshake and, when that failed, to the broader diagnostic handshakes that tell why. The judge
(``judge.handshake``) says what those facts mean for CloudFront.

One handshake attempt is ``tls.handshake.attempt`` (deadline-bounded, chain exactly as sent); this
module decides which attempts to make per address (the ladder, a generator of the attempts'
waits), drives the ladders of many addresses from one selector loop with a bounded number of
sockets in flight, and stops starting new work when the run's time budget is spent.

An address CloudFront cannot reach (loopback, private, link-local, ...: ``rules.
NON_PUBLIC_NETWORKS``), whether a DNS answer or an IP-literal host, is recorded
(``ProbeResult.not_public``) and never connected to, unless the caller opened its range
(``allow``; ``options.ALLOW_ADDRESSES``). Addresses a person names (``check``'s IP-literal origins
and ``--resolve``) are opened by the CLI, not here: the probe treats every address alike.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import logging
import queue
import selectors
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from .addresses import address_class
from .addresses import allowed as _allowed
from .model import AddressProbe, NonPublicAddress, NotProbed, ProbeResult, Target
from .model import HandshakeOutcome as Outcome
from .options import CONCURRENCY, DEFAULT_CONCURRENCY, Network
from .options import connection_cap as options_connection_cap
from .rules import DEFAULT_TIMEOUT_SECONDS, MAX_ADDRESSES
from .tls.handshake import Attempt, Steps, Wait, attempt_steps, client_context, context_exact, offerable, run
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
    Blocks the calling thread; ``probe_targets`` drives the same ladder (``_ladder``) for many
    addresses at once.
    """
    return run(_ladder(target, address, timeout, deadline))


def _ladder(target: Target, address: str, timeout: float,
            deadline: float | None) -> Steps[AddressProbe | None]:
    """``probe_address`` as resumable steps (see ``tls.handshake.Steps``)."""
    started = time.monotonic()
    try:
        probe = yield from _probe_address(target, address, timeout, deadline)
    except Exception as exc:  # a bug must cost one address, not the run
        logger.exception("probe of %s (%s) failed unexpectedly", target.display, address)
        probe = AddressProbe(address=address, internal_error=f"{type(exc).__name__}: {exc}")
    return None if probe is None else replace(probe, elapsed=time.monotonic() - started)


def _probe_address(target: Target, address: str, timeout: float,
                   deadline: float | None = None) -> Steps[AddressProbe | None]:
    """The diagnostic ladder for one address: CloudFront's documented offer first; only when it
    fails before the server committed to anything, the s2n-tls policies' offers (the older, then
    the 2025 one: ``rules.OFFERS``), then a broad TLS 1.0-1.2 offer, then a broad TLS 1.3 one.
    The run's ``deadline`` bounds every attempt (see ``probe_address``)."""
    sni = None if ip_literal(target.sni) is not None else target.sni.rstrip(".")
    connect_timeout = min(timeout, target.connect_timeout) if target.connect_timeout else timeout
    offered = offerable(target.protocols)
    if not offered:
        return AddressProbe(address=address, offered=(), connect_timeout=connect_timeout, timeout=timeout)

    def hs(kind: Kind) -> Steps[Attempt | None]:
        """The attempt, or None when the deadline cut it (or left no time to start it): what
        it would have shown is unknown, and a timeout it hit is the run's, not the server's."""
        made = yield from attempt_steps(address, target.port, sni, client_context(kind, offered),
                                        connect_timeout=connect_timeout, timeout=timeout, deadline=deadline)
        return None if made.cut else made

    first = yield from hs("cloudfront")
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
        other = yield from hs(kind)
        if other is None:  # out of time: report the documented attempt alone, and say so
            return seen(first.chain, "cloudfront", skipped=True)
        if other.outcome is Outcome.OK:
            return seen(other.chain, kind, via=(kind, other))
        if other.outcome in (Outcome.REFUSED, Outcome.CONNECT_TIMEOUT, Outcome.TIMEOUT):
            return seen(first.chain, "cloudfront")
    diag = yield from hs("diagnostic")
    if diag is None:  # out of time: report CloudFront's attempts alone, and say so
        return seen(first.chain, "cloudfront", skipped=True)
    if diag.outcome is Outcome.OK:
        return seen(diag.chain, "diagnostic", diag=diag)
    if diag.outcome in (Outcome.REFUSED, Outcome.CONNECT_TIMEOUT, Outcome.TIMEOUT):
        return seen(first.chain, "cloudfront", diag=diag)
    tls13 = yield from hs("tls13")
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


# Lookups in flight at once (getaddrinfo blocks a thread; it has no timeout of its own). A few
# threads keep resolution ahead of the connections on a warm resolver; each also holds a UDP
# socket, counted in ``options.connection_cap``'s headroom.
DNS_WORKERS = 16


def connection_cap() -> int:
    """How many sockets this process may hold for probing: ``options.connection_cap`` of the soft
    RLIMIT_NOFILE (the Lambda's 1,024 -> 896; unlimited or unknown -> ``CONCURRENCY.high``)."""
    try:
        import resource  # noqa: PLC0415 - POSIX only
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return CONCURRENCY.high
    return options_connection_cap(None if soft == resource.RLIM_INFINITY else soft)


@dataclass(eq=False)
class _Flight:
    """One address's ladder in flight: where its result goes and what it waits for."""

    index: int
    slot: int
    address: str
    steps: Steps[AddressProbe | None]
    wait: Wait | None = None
    timer: int = 0  # the live timer's sequence number; 0: none


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
    """Probe many targets; results in input order.

    Work items are (target, address) pairs. At most ``concurrency`` of them are in flight, further
    bounded by the file descriptors this process may open (``connection_cap``); each holds one
    socket at a time and no thread: every ladder is a generator (``_ladder``) driven from one
    selector loop on the calling thread, so a stalled server costs a socket and a timer until
    its timeout, and handshakes' CPU runs in this one thread. Names are resolved on a few
    threads (``DNS_WORKERS``, at most ``concurrency``), started in input order.

    ``deadline`` (a ``time.monotonic()`` value): probing is over by then. Every attempt is bounded
    by it (``probe_address``); targets and addresses not started, or whose CloudFront-like
    attempt it cut, are not probed (``ProbeResult.not_probed`` / ``time_budget_skipped`` say so).
    Only a DNS lookup can outlive it (``getaddrinfo`` has no timeout): this returns
    ``DEADLINE_GRACE_SECONDS`` after the deadline at the latest, and a target still resolving is
    not probed (time budget). ``on_done(index, result)`` is called once per target as it
    finishes, on the calling thread. ``allow``: ranges probed although CloudFront cannot reach
    them (a lab's loopback); any other such answer is recorded in ``ProbeResult.not_public``
    and never connected to.
    """
    n = len(targets)
    if n == 0:
        return []
    results: list[ProbeResult | None] = [None] * n
    in_flight_cap = max(1, min(concurrency, connection_cap()))
    pending: dict[int, list[AddressProbe | bool | None]] = {}
    resolutions: dict[int, _Resolution] = {}
    ready: collections.deque[tuple[int, int, str]] = collections.deque()
    flights: set[_Flight] = set()
    timers: list[tuple[float, int, _Flight]] = []
    sequence = itertools.count(1)
    resolved: queue.SimpleQueue[tuple[int, _Resolution | ProbeResult]] = queue.SimpleQueue()
    finished = 0

    def finish(index: int, result: ProbeResult) -> None:
        nonlocal finished
        results[index] = result
        finished += 1
        if on_done is not None:
            try:
                on_done(index, result)
            except Exception:
                logger.exception("on_done callback failed for target %d", index)

    def landed(flight: _Flight, probe: AddressProbe | bool) -> None:
        """An address's ladder ended (False: not probed, the time budget)."""
        slots = pending[flight.index]
        slots[flight.slot] = probe
        if all(p is not None for p in slots):
            done = tuple(p for p in slots if isinstance(p, AddressProbe))
            skipped = len(slots) - len(done)
            finish(flight.index, resolutions[flight.index].result(
                targets[flight.index], done,
                not_probed=NotProbed.TIME_BUDGET if skipped == len(slots) else None,
                time_budget_skipped=skipped))

    def advance(flight: _Flight, ready_now: bool | None, error: Exception | None = None) -> None:
        """Resume ``flight`` until it waits again (registered with a timer) or ends."""
        while True:
            try:
                if error is not None:
                    wait = flight.steps.throw(error)
                elif ready_now is None:
                    wait = next(flight.steps)
                else:
                    wait = flight.steps.send(ready_now)
            except StopIteration as stop:
                flights.discard(flight)
                probe: AddressProbe | None = stop.value
                landed(flight, probe if probe is not None else False)
                return
            except Exception as exc:  # _ladder catches its own; this is the driver's bug
                logger.exception("probe of target %d failed unexpectedly", flight.index)
                flights.discard(flight)
                landed(flight, AddressProbe(address=flight.address,
                                            internal_error=f"{type(exc).__name__}: {exc}"))
                return
            try:
                selector.register(wait.sock, wait.events, flight)
            except (OSError, ValueError, KeyError) as exc:  # a bad socket: the attempt says why
                error = exc
                continue
            flight.wait = wait
            flight.timer = next(sequence)
            heapq.heappush(timers, (wait.until, flight.timer, flight))
            return

    def resume(flight: _Flight, ready_now: bool) -> None:
        assert flight.wait is not None
        selector.unregister(flight.wait.sock)
        flight.wait, flight.timer = None, 0
        advance(flight, ready_now)

    def admit() -> None:
        while ready and len(flights) < in_flight_cap:
            index, slot, address = ready.popleft()
            flight = _Flight(index, slot, address, _ladder(targets[index], address, timeout, deadline))
            if deadline is not None and time.monotonic() >= deadline:
                # Resolution runs ahead of the connections, so the deadline is checked again
                # here: no connection starts after it.
                landed(flight, False)
                continue
            flights.add(flight)
            advance(flight, None)

    def arrived(index: int, got: _Resolution | ProbeResult) -> None:
        if isinstance(got, ProbeResult):
            finish(index, got)
        elif not got.addresses:
            finish(index, got.result(targets[index]))
        else:
            pending[index] = [None] * len(got.addresses)
            resolutions[index] = got
            ready.extend((index, slot, address) for slot, address in enumerate(got.addresses))

    selector = selectors.DefaultSelector()
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    selector.register(wake_r, selectors.EVENT_READ, None)

    def resolve(index: int) -> None:
        target = targets[index]
        got: _Resolution | ProbeResult
        try:
            if target.skip_probe:
                got = ProbeResult(target=target)
            elif deadline is not None and time.monotonic() >= deadline:
                got = ProbeResult(target=target, not_probed=NotProbed.TIME_BUDGET)
            else:
                got = _resolve(target, resolver, allow)
        except Exception as exc:  # never lose the target
            logger.exception("probe of target %d failed unexpectedly", index)
            got = ProbeResult(target=target, internal_error=f"{type(exc).__name__}: {exc}")
        resolved.put((index, got))
        with contextlib.suppress(OSError):  # full: the loop is awake anyway; closed: it is over
            wake_w.send(b"\0")

    dns = ThreadPoolExecutor(max_workers=max(1, min(DNS_WORKERS, concurrency, n)),
                             thread_name_prefix="probe-dns")
    lookups = n
    finished_in_time = True
    try:
        for i in range(n):
            dns.submit(resolve, i)
        while finished < n:
            now = time.monotonic()
            if deadline is not None and now >= deadline + DEADLINE_GRACE_SECONDS:
                finished_in_time = False
                break
            while timers and timers[0][2].timer != timers[0][1]:
                heapq.heappop(timers)  # its flight was resumed by readiness first
            wait_for: float | None = max(0.0, timers[0][0] - now) if timers else None
            if deadline is not None and lookups:
                grace_left = max(0.0, deadline + DEADLINE_GRACE_SECONDS - now)
                wait_for = grace_left if wait_for is None else min(wait_for, grace_left)
            if wait_for is None and not lookups and not flights and not ready:
                break  # nothing can finish the rest: a bug (reported as internal errors)
            # Readiness first, then timers: a server whose answer is waiting is not timed out
            # because the loop was busy with others.
            for key, _mask in selector.select(wait_for):
                if key.data is None:
                    with contextlib.suppress(OSError):
                        while wake_r.recv(4096):
                            pass
                    continue
                flight: _Flight = key.data
                # The same flight may wait on a new socket by now (an earlier event in this
                # batch ended its attempt); an event of the old one says nothing about it.
                if flight.wait is not None and flight.wait.sock is key.fileobj:
                    resume(flight, True)
            now = time.monotonic()
            while timers and timers[0][0] <= now:
                _until, timer, flight = heapq.heappop(timers)
                if flight.timer == timer:
                    resume(flight, False)
            while True:
                try:
                    index, got = resolved.get_nowait()
                except queue.Empty:
                    break
                lookups -= 1
                arrived(index, got)
            admit()
    finally:
        for flight in list(flights):  # only when the loop broke early: close their sockets
            if flight.wait is not None:
                with contextlib.suppress(KeyError, ValueError):
                    selector.unregister(flight.wait.sock)
            flight.steps.close()
        selector.close()
        wake_r.close()
        wake_w.close()
        # Out of time: leave the stragglers (DNS lookups) to finish on their own; their results
        # are no longer read. Otherwise every lookup thread is idle and joins at once.
        dns.shutdown(wait=finished_in_time, cancel_futures=True)
    if not finished_in_time:
        logger.warning("probing passed its deadline; %d of %d targets unfinished (DNS)",
                       sum(r is None for r in results), n)
    lost = NotProbed.INTERNAL_ERROR if finished_in_time else NotProbed.TIME_BUDGET
    return [r if r is not None else ProbeResult(target=targets[i], not_probed=lost)
            for i, r in enumerate(results)]
