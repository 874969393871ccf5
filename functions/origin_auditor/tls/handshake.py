"""One deadline-bounded TCP connect + TLS handshake attempt -> an ``Attempt`` record (facts only).

How a handshake is driven, and why:

- The TLS engine is the stdlib ``ssl`` module over ``MemoryBIO`` pairs, fed from a non-blocking
  socket by this module. That gives a hard monotonic deadline for connect and handshake each (a
  server that stalls or drips a byte a second costs at most ``timeout``), bounded again by the
  run's own deadline when the caller passes one, a cap on bytes read, and a copy of every byte
  the server sent.
- For TLS <= 1.2 the server's Certificate message is plaintext, so the chain is parsed from those
  raw bytes (``wire.ServerFlight``): exactly as sent, order kept, even when OpenSSL later rejects
  the handshake or a certificate does not parse. For TLS 1.3 (encrypted Certificate) the chain
  comes from OpenSSL's unverified peer chain, which is also the order sent.
- Verification is off in the handshake; the judge decides on the chain with its own trust store.
- An attempt is a generator of ``Wait``s (``attempt_steps``): ``attempt`` runs one on the calling
  thread, and ``probe.probe_targets`` runs hundreds from one selector loop, so a server that
  stalls holds a socket and a timer until its timeout, never a thread.
"""

from __future__ import annotations

import errno
import os
import select
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ..model import HandshakeOutcome as Outcome
from ..rules import MAX_CERTIFICATES
from .openssl import OFFER_OF_KIND, Kind, build_context, negotiated
from .wire import MAX_HANDSHAKE_BYTES, ServerFlight

_RECV_SIZE = 64 * 1024

_ORDERED = ("TLSv1", "TLSv1.1", "TLSv1.2")
_ENCODING_DER: int = getattr(ssl, "_ssl").ENCODING_DER  # noqa: B009 - private module, no stubs


def offerable(protocols: Sequence[str]) -> tuple[str, ...]:
    """The protocols CloudFront offers for an origin allowing ``protocols``, oldest first: every
    version from the lowest allowed to the highest (SSLv3 never: this client cannot offer it).

    A range, not the list: CloudFront's origin-facing TLS policies (s2n-tls's
    ``CloudFront-Upstream-TLS-1-x``) are chosen by their floor, the lowest protocol in
    OriginSslProtocols, and offer every version above it. It is also all OpenSSL can do: a hole
    in a client's version range (TLSv1 + TLSv1.2 without TLSv1.1) ends the offer at the hole, so
    honouring it offered TLSv1 alone and failed every TLS 1.2 origin configured that way.
    """
    allowed = [i for i, p in enumerate(_ORDERED) if p in protocols]
    return _ORDERED[allowed[0]:allowed[-1] + 1] if allowed else ()


# --------------------------------------------------------------------------------------------
# SSL contexts


_CONTEXTS: dict[tuple[str, tuple[str, ...]], tuple[ssl.SSLContext, bool]] = {}
_CONTEXTS_LOCK = threading.Lock()


def client_context(kind: Kind, protocols: tuple[str, ...]) -> ssl.SSLContext:
    """A cached client context of ``kind`` (``tls.openssl.Kind``: one of CloudFront's offers, or a
    broad diagnostic one); ``protocols`` (the offerable ones, oldest first) set the offers' floor.

    Contexts are built once per protocol set (building one costs ~1 ms and loads nothing) and
    shared: OpenSSL contexts are safe to create connections from concurrently. Raises
    ValueError for an offer with nothing ``offerable``. How each is built: ``tls.openssl``.
    """
    return _context(kind, protocols)[0]


def context_exact(kind: Kind, protocols: tuple[str, ...]) -> bool:
    """Whether ``client_context(kind, protocols)`` offers exactly its groups and signature
    schemes (False: OpenSSL's defaults, ``tls.openssl.exact_offers`` says why)."""
    return _context(kind, protocols)[1]


def _context(kind: Kind, protocols: tuple[str, ...]) -> tuple[ssl.SSLContext, bool]:
    key = (kind, protocols if kind in OFFER_OF_KIND else ())
    with _CONTEXTS_LOCK:
        made = _CONTEXTS.get(key)
        if made is None:
            made = build_context(kind, offerable(protocols) if kind in OFFER_OF_KIND else ())
            _CONTEXTS[key] = made
        return made


# --------------------------------------------------------------------------------------------
# One attempt


@dataclass(frozen=True)
class Attempt:
    """How one TCP connect + TLS handshake went: its outcome and what the server sent.

    outcome: how it ended (see ``HandshakeOutcome``).
    detail: the failure in the words of the OS or OpenSSL, or what broke the protocol ("" if none).
    protocol / cipher: negotiated, when ``outcome`` is ok.
    chain: certificates as sent, DER, in order (from the plaintext flight, else OpenSSL's
        unverified peer chain after a TLS 1.3 handshake).
    first_bytes: the first bytes the server sent (at most ``wire.FIRST_BYTES_KEPT``).
    bytes_received: every byte the server sent before the attempt ended.
    alert: the last plaintext alert as (level, description).
    server_version: the ServerHello's legacy_version as a protocol name (TLS <= 1.2 only).
    certificate_length: the declared length of the Certificate message; ``None`` if none began.
    truncated: the probe stopped reading the Certificate message at its cap.
    certificate_request / hello_done: CertificateRequest / ServerHelloDone were seen.
    group / signature_scheme: the key exchange group and the server's handshake signature
        scheme (IANA names) when ``outcome`` is ok; None when there was none (RSA key exchange)
        or it could not be read (``tls.openssl``).
    cut: the caller's ``deadline``, not this attempt's own timeout, ended it (or it was not
        started because the deadline had passed): a timeout outcome then says nothing about
        the server, only that the run's time ran out.
    """

    outcome: Outcome
    detail: str = ""
    protocol: str | None = None
    cipher: str | None = None
    chain: tuple[bytes, ...] = ()
    first_bytes: bytes = b""
    bytes_received: int = 0
    alert: tuple[int, int] | None = None
    server_version: str | None = None
    certificate_length: int | None = None
    truncated: bool = False
    certificate_request: bool = False
    hello_done: bool = False
    cut: bool = False
    group: str | None = None
    signature_scheme: str | None = None

    @staticmethod
    def of(outcome: Outcome, flight: ServerFlight, detail: str = "", *,
           protocol: str | None = None, cipher: str | None = None,
           chain: Sequence[bytes] | None = None) -> Attempt:
        """The record of an attempt that ended with ``outcome`` after ``flight`` was seen."""
        return Attempt(
            outcome, detail, protocol, cipher,
            tuple(flight.certs if chain is None else chain), flight.first_bytes, flight.total,
            flight.alert, flight.server_version,
            flight.certificate_length if flight.certificate_seen else None, flight.truncated,
            flight.cert_request, flight.hello_done)


class _Timeout(Exception):
    pass


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Wait:
    """What a suspended attempt waits for: ``sock`` ready for ``events`` (``selectors.EVENT_READ``
    or ``EVENT_WRITE``) before ``until`` (``time.monotonic()``). The driver resumes it with True
    when the socket is ready, False once ``until`` has passed (the attempt then ends as a timeout)."""

    sock: socket.socket
    events: int
    until: float


Steps = Generator[Wait, bool, T]
"""A resumable piece of I/O: yields ``Wait``s, returns its result. ``run`` drives one on the
calling thread; ``probe.probe_targets`` drives many from one selector loop, so a server that
stalls costs a socket and a timer, not a thread."""


def attempt(address: str, port: int, sni: str | None, ctx: ssl.SSLContext, *,
            connect_timeout: float, timeout: float, deadline: float | None = None) -> Attempt:
    """Connect to ``address``:``port`` within ``connect_timeout`` s, then handshake with ``ctx``
    (sending ``sni`` unless None) within ``timeout`` s more. Never raises for anything a server
    does; every byte read is bounded by ``wire.MAX_HANDSHAKE_BYTES``. Blocks the calling thread
    (``attempt_steps`` is the same attempt, resumable).

    ``deadline`` (a ``time.monotonic()`` value, the run's): neither phase waits past it. An
    attempt the deadline ended before its own timeout is ``cut`` (so is one not started because
    the deadline had passed: no connection is made then)."""
    return run(attempt_steps(address, port, sni, ctx, connect_timeout=connect_timeout,
                             timeout=timeout, deadline=deadline))


def attempt_steps(address: str, port: int, sni: str | None, ctx: ssl.SSLContext, *,
                  connect_timeout: float, timeout: float, deadline: float | None = None) -> Steps[Attempt]:
    """``attempt`` as resumable steps: the same bounds and the same ``Attempt``. The clock of each
    phase starts when the phase starts (the connect when the steps are first advanced); closing
    the generator early closes its socket."""
    if deadline is not None and time.monotonic() >= deadline:
        return Attempt(Outcome.CONNECT_TIMEOUT, "not started: the deadline had passed", cut=True)
    connect_until = _until(connect_timeout, deadline)
    sock, failed = yield from _connect(address, port, connect_until[0])
    if failed is not None or sock is None:
        failed = failed or Attempt(Outcome.REFUSED)
        if failed.outcome is Outcome.CONNECT_TIMEOUT and connect_until[1]:
            return replace(failed, cut=True)
        return failed
    try:
        until, by_deadline = _until(timeout, deadline)
        result = yield from _drive(sock, ctx, sni, until)
        if result.outcome is Outcome.TIMEOUT and by_deadline:
            return replace(result, cut=True)
        return result
    finally:
        sock.close()


_POLL_EVENTS = {selectors.EVENT_READ: select.POLLIN, selectors.EVENT_WRITE: select.POLLOUT}


def run(steps: Steps[T]) -> T:
    """Drive ``steps`` to its end on the calling thread, blocking in poll() for each ``Wait``.

    poll(), not select(): a process probing hundreds of origins has file descriptors > 1024.
    """
    try:
        wait = next(steps)
        while True:
            wait = steps.send(_block(wait))
    except StopIteration as stop:
        result: T = stop.value
        return result


def _block(wait: Wait) -> bool:
    poller = select.poll()
    poller.register(wait.sock.fileno(), _POLL_EVENTS[wait.events])
    while True:
        remaining = wait.until - time.monotonic()
        if remaining <= 0:
            return False
        if poller.poll(max(1, int(remaining * 1000))):
            return True


def _until(timeout: float, deadline: float | None) -> tuple[float, bool]:
    """(the monotonic instant a phase with ``timeout`` ends, whether ``deadline`` set it)."""
    own = time.monotonic() + timeout
    if deadline is not None and deadline < own:
        return deadline, True
    return own, False


def _wait(sock: socket.socket, events: int, until: float) -> Steps[None]:
    """Suspend until ``sock`` is ready for ``events``; raise _Timeout once ``until`` has passed
    (at once when it already has: no wait is asked for past it)."""
    if until <= time.monotonic() or not (yield Wait(sock, events, until)):
        raise _Timeout


def _send_all(sock: socket.socket, data: bytes, until: float) -> Steps[None]:
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            yield from _wait(sock, selectors.EVENT_WRITE, until)
            continue
        view = view[sent:]


def _connect(address: str, port: int,
             until: float) -> Steps[tuple[socket.socket | None, Attempt | None]]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    connected = False
    try:  # the socket is closed on every way out but success (a closed generator included)
        sock.setblocking(False)
        err = sock.connect_ex((address, port))
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            return None, Attempt(Outcome.REFUSED, _strerror(err))
        if err != 0:
            try:
                yield from _wait(sock, selectors.EVENT_WRITE, until)
            except _Timeout:
                return None, Attempt(Outcome.CONNECT_TIMEOUT)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return None, Attempt(Outcome.REFUSED, _strerror(err))
        connected = True
        return sock, None
    except OSError as exc:
        return None, Attempt(Outcome.REFUSED, exc.strerror or str(exc))
    finally:
        if not connected:
            sock.close()


def _strerror(err: int) -> str:
    return f"{os.strerror(err)} [{errno.errorcode.get(err, err)}]"


def _drive(sock: socket.socket, ctx: ssl.SSLContext, sni: str | None, deadline: float) -> Steps[Attempt]:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    sslobj = ctx.wrap_bio(incoming, outgoing, server_side=False, server_hostname=sni)
    flight = ServerFlight()

    try:
        while True:
            try:
                sslobj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            except ssl.SSLError as exc:
                yield from _flush_quietly(sock, outgoing, deadline)  # let the server see our alert
                if flight.total == 0 or isinstance(exc, ssl.SSLEOFError):
                    return Attempt.of(Outcome.EOF, flight,
                                      "the server closed the connection during the handshake")
                return Attempt.of(Outcome.TLS_ERROR, flight, _ssl_reason(exc))
            if outgoing.pending:
                yield from _send_all(sock, outgoing.read(), deadline)
            if done:
                break
            yield from _wait(sock, selectors.EVENT_READ, deadline)
            try:
                data = sock.recv(_RECV_SIZE)
            except BlockingIOError:
                continue
            if not data:
                if flight.oversized:
                    return Attempt.of(Outcome.TOO_LARGE, flight)
                incoming.write_eof()
                continue
            flight.feed(data)
            if flight.not_tls:
                return Attempt.of(Outcome.NOT_TLS, flight)
            if flight.truncated or flight.too_large:
                return Attempt.of(Outcome.TOO_LARGE, flight)
            if flight.malformed is not None:
                return Attempt.of(Outcome.MALFORMED, flight, flight.malformed)
            if flight.total > MAX_HANDSHAKE_BYTES:
                return Attempt.of(Outcome.FLOOD, flight, "the server sent more than "
                                  f"{MAX_HANDSHAKE_BYTES // 1024} KiB without completing the handshake")
            if not flight.oversized:
                incoming.write(data)
    except _Timeout:
        return Attempt.of(Outcome.TOO_LARGE if flight.oversized else Outcome.TIMEOUT, flight)
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as exc:
        return Attempt.of(Outcome.RESET, flight, exc.strerror or type(exc).__name__)
    except OSError as exc:
        return Attempt.of(Outcome.RESET, flight, exc.strerror or str(exc))
    cipher_info = sslobj.cipher()
    chain = flight.certs if flight.certificate_seen else _unverified_chain(sslobj)
    group, scheme = negotiated(sslobj, chain[0] if chain else None)
    return replace(Attempt.of(Outcome.OK, flight, protocol=sslobj.version(),
                              cipher=cipher_info[0] if cipher_info else None, chain=chain),
                   group=group, signature_scheme=scheme)


def _flush_quietly(sock: socket.socket, outgoing: ssl.MemoryBIO, deadline: float) -> Steps[None]:
    try:
        if outgoing.pending:
            yield from _send_all(sock, outgoing.read(), min(deadline, time.monotonic() + 0.2))
    except (OSError, _Timeout):
        pass


def _unverified_chain(sslobj: ssl.SSLObject) -> list[bytes]:
    """The peer chain as sent (TLS 1.3: the Certificate message is encrypted, so ask OpenSSL).

    Public ``get_unverified_chain`` on Python 3.13+, private on the ``_sslobj`` before that.
    """
    getter: Any = getattr(sslobj, "get_unverified_chain", None)
    if getter is None:
        inner = getattr(sslobj, "_sslobj", None)
        getter = getattr(inner, "get_unverified_chain", None)
    if getter is None:
        der = sslobj.getpeercert(binary_form=True)
        return [der] if der else []
    certs = getter() or []
    out: list[bytes] = []
    for c in certs[:MAX_CERTIFICATES]:
        der = c if isinstance(c, bytes) else c.public_bytes(_ENCODING_DER)
        out.append(bytes(der))
    return out


def _ssl_reason(exc: ssl.SSLError) -> str:
    reason = getattr(exc, "reason", None)
    text = str(getattr(exc, "strerror", None) or exc)
    return f"{reason}: {text}" if reason and reason not in text else text
