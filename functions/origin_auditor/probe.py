"""Probe stage: connect to every address of an origin the way CloudFront does and record what it sent.

One kind of I/O lives here: DNS (through an injectable resolver) and TCP/TLS to the origin. Nothing
is judged here except what only the handshake itself can tell (refused, timed out, no common
protocol or cipher, TLS 1.3 only, client certificate requested, too much certificate data).

How a handshake is driven, and why:

- The TLS engine is the stdlib ``ssl`` module over ``MemoryBIO`` pairs, fed from a non-blocking
  socket by this module. That gives a hard monotonic deadline for connect and handshake each (a
  server that stalls or drips a byte a second costs at most ``timeout``), a cap on bytes read, and
  a copy of every byte the server sent.
- For TLS <= 1.2 the server's Certificate message is plaintext, so the chain is parsed from those
  raw bytes: exactly as sent, order kept, even when OpenSSL later rejects the handshake or a
  certificate does not parse. For TLS 1.3 (encrypted Certificate) the chain comes from OpenSSL's
  unverified peer chain, which is also the order sent.
- Verification is off in the handshake; the judge decides on the chain with its own trust store.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import select
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .model import AddressProbe, Finding, ProbeResult, Severity, Target
from .options import DEFAULT_CONCURRENCY
from .rules import (
    CLOUDFRONT_ORIGIN_CIPHERS,
    CODES,
    DEFAULT_TIMEOUT_SECONDS,
    LEGACY_PROTOCOLS,
    MAX_ADDRESSES,
    MAX_CERTIFICATE_BYTES,
    MAX_CERTIFICATES,
    Code,
)

logger = logging.getLogger(__name__)

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> IP address strings in resolver order; may raise OSError (socket.gaierror)."""

# Everything the server may send before the handshake completes, all records together. A real
# server flight is a few KiB; this bounds garbage floods and giant certificate messages.
MAX_HANDSHAKE_BYTES = 1024 * 1024
_RECV_SIZE = 64 * 1024

# TLS wire constants (RFC 5246 / RFC 8446).
_CT_CHANGE_CIPHER_SPEC = 20
_CT_ALERT = 21
_CT_HANDSHAKE = 22
_CT_APPLICATION_DATA = 23
_HS_SERVER_HELLO = 2
_HS_CERTIFICATE = 11
_HS_CERTIFICATE_REQUEST = 13
_HS_SERVER_HELLO_DONE = 14
# OpenSSL's default max_cert_list: a client rejects a longer Certificate message outright.
_OPENSSL_MAX_CERT_LIST = 100 * 1024
_MAX_RECORD_PAYLOAD = 16384 + 2048  # RFC 5246 §6.2.3: ciphertext may exceed 2^14 by 2048

_ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
    40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
    47: "illegal_parameter", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
    90: "user_canceled", 109: "missing_extension", 110: "unsupported_extension",
    112: "unrecognized_name", 116: "certificate_required", 120: "no_application_protocol",
}

_TLS_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
}
_OP_NO = {"TLSv1": "OP_NO_TLSv1", "TLSv1.1": "OP_NO_TLSv1_1", "TLSv1.2": "OP_NO_TLSv1_2"}
_ORDERED = ("TLSv1", "TLSv1.1", "TLSv1.2")
_WIRE_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2"}
_ENCODING_DER: int = getattr(ssl, "_ssl").ENCODING_DER  # noqa: B009 - private module, no stubs


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


def _ip_literal(host: str) -> str | None:
    """The address if ``host`` is an IP literal (``[::1]`` accepted), else None."""
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    bare, zone = candidate.split("%", 1) if "%" in candidate else (candidate, "")
    try:
        address = str(ipaddress.ip_address(bare))
    except ValueError:
        return None
    return f"{address}%{zone}" if zone else address


# --------------------------------------------------------------------------------------------
# SSL contexts


_CONTEXTS: dict[tuple[str, tuple[str, ...]], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def _client_context(kind: str, protocols: tuple[str, ...]) -> ssl.SSLContext:
    """A cached client context. ``kind``: "cloudfront", "diagnostic" or "tls13".

    Contexts are built once per protocol set (building one costs ~1 ms and loads nothing) and
    shared: OpenSSL contexts are safe to create connections from concurrently.
    """
    key = (kind, protocols if kind == "cloudfront" else ())
    with _CONTEXTS_LOCK:
        ctx = _CONTEXTS.get(key)
        if ctx is None:
            # TLSVersion.TLSv1/ OP_NO_* raise DeprecationWarning; offering them on purpose is the
            # whole point of the CloudFront-like handshake, so silence only that here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx = _build_context(kind, protocols)
            _CONTEXTS[key] = ctx
        return ctx


def _build_context(kind: str, protocols: tuple[str, ...]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # The judge verifies with its own trust store; the handshake must not reject or reorder.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if kind == "tls13":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        return ctx
    if kind == "diagnostic":
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        return ctx
    allowed = [p for p in _ORDERED if p in protocols]
    # SSLv3 cannot be offered by OpenSSL 3 at all; discovery/judge warn about it as legacy config.
    if not allowed:
        raise ValueError(f"no protocol this probe can offer in {protocols!r}")
    ctx.minimum_version = _TLS_VERSIONS[allowed[0]]
    ctx.maximum_version = _TLS_VERSIONS[allowed[-1]]
    for p in _ORDERED[_ORDERED.index(allowed[0]):_ORDERED.index(allowed[-1]) + 1]:
        if p not in allowed:  # a gap such as TLSv1 + TLSv1.2 without TLSv1.1
            ctx.options |= getattr(ssl, _OP_NO[p])
    ciphers = ":".join(CLOUDFRONT_ORIGIN_CIPHERS)
    if LEGACY_PROTOCOLS.intersection(allowed):
        # OpenSSL 3 refuses TLS 1.0/1.1 below security level 0; CloudFront really offers them.
        ciphers += ":@SECLEVEL=0"
    ctx.set_ciphers(ciphers)
    # Curves: Python's ssl cannot set the supported-groups list, so OpenSSL's defaults are offered
    # (X25519, P-256, X448, P-521, P-384) instead of CloudFront's P-256/P-384/X25519. The
    # difference only matters for an origin that accepts X448 or P-521 and nothing else.
    # Signature schemes: likewise OpenSSL's defaults (which include RSA-PSS, CloudFront's do not).
    return ctx


# --------------------------------------------------------------------------------------------
# Raw server-flight parser


class _ServerFlight:
    """Parses the plaintext part of what a server sends: records, alerts, handshake messages.

    Stops at the first ChangeCipherSpec / application-data record (everything after is
    encrypted). Keeps at most MAX_CERTIFICATES certificates and MAX_CERTIFICATE_BYTES of DER.
    """

    def __init__(self) -> None:
        self.first_bytes = b""
        self.not_tls = False
        self.total = 0
        self.server_hello = False
        self.server_version: str | None = None  # ServerHello's legacy_version, e.g. "TLSv1"
        self.certificate_seen = False
        self.oversized = False
        self.too_large = False
        self.certificate_length = 0
        self.certificate_done = False
        self.certs: list[bytes] = []
        self.cert_bytes = 0
        self.truncated = False
        self.cert_request = False
        self.hello_done = False
        self.alert: tuple[int, int] | None = None
        self.malformed: str | None = None
        self.encrypted = False
        self._records = bytearray()
        self._hs = bytearray()
        self._cert_cursor: int | None = None

    @property
    def stopped(self) -> bool:
        return self.not_tls or self.truncated or self.too_large or self.malformed is not None

    def feed(self, data: bytes) -> None:
        if len(self.first_bytes) < 64:
            self.first_bytes += data[: 64 - len(self.first_bytes)]
        self.total += len(data)
        if self.encrypted or self.stopped:
            return
        self._records += data
        while len(self._records) >= 5 and not self.encrypted and not self.stopped:
            ctype, major, length = self._records[0], self._records[1], \
                int.from_bytes(self._records[3:5], "big")
            if ctype not in (_CT_CHANGE_CIPHER_SPEC, _CT_ALERT, _CT_HANDSHAKE, _CT_APPLICATION_DATA) \
                    or major != 3:
                if not (self.server_hello or self.alert):
                    self.not_tls = True
                else:
                    self.malformed = f"invalid TLS record header {bytes(self._records[:5]).hex()}"
                return
            if length > _MAX_RECORD_PAYLOAD:
                self.malformed = f"TLS record of {length} bytes exceeds the protocol maximum"
                return
            if len(self._records) < 5 + length:
                return
            payload = bytes(self._records[5:5 + length])
            del self._records[:5 + length]
            if ctype == _CT_HANDSHAKE:
                self._hs += payload
                self._parse_handshake()
            elif ctype == _CT_ALERT and len(payload) >= 2:
                self.alert = (payload[0], payload[1])
            elif ctype in (_CT_CHANGE_CIPHER_SPEC, _CT_APPLICATION_DATA):
                self.encrypted = True

    def _parse_handshake(self) -> None:
        hs = self._hs
        while len(hs) >= 4 and not self.stopped:
            mtype = hs[0]
            length = int.from_bytes(hs[1:4], "big")
            if mtype == _HS_CERTIFICATE and not self.certificate_done:
                if not self._parse_certificate(length):
                    return
            elif len(hs) < 4 + length:
                if length > MAX_HANDSHAKE_BYTES:
                    self.malformed = f"handshake message of {length} bytes"
                return
            if mtype == _HS_SERVER_HELLO:
                self.server_hello = True
                if length >= 2:
                    self.server_version = _WIRE_VERSIONS.get(int.from_bytes(hs[4:6], "big"))
            elif mtype == _HS_CERTIFICATE_REQUEST:
                self.cert_request = True
            elif mtype == _HS_SERVER_HELLO_DONE:
                self.hello_done = True
            del hs[:4 + length]

    def _parse_certificate(self, length: int) -> bool:
        """Take certificates out of a (possibly partial) Certificate message. True when complete."""
        self.certificate_seen = True
        self.certificate_length = length
        if length > _OPENSSL_MAX_CERT_LIST:
            # OpenSSL aborts on this header alone, at a moment that depends on how the bytes
            # arrived. So the probe stops feeding OpenSSL and reads on itself until a cap is hit
            # or the message ends: what is kept is then the same however the bytes arrive.
            self.oversized = True
        hs = self._hs
        end = 4 + length
        avail = min(len(hs), end)
        if self._cert_cursor is None:
            if avail < 7:
                return False
            self._cert_cursor = 7
        while self._cert_cursor + 3 <= avail:
            c = self._cert_cursor
            n = int.from_bytes(hs[c:c + 3], "big")
            if c + 3 + n > end:
                self.malformed = "a certificate entry runs past the end of the Certificate message"
                return False
            if len(self.certs) >= MAX_CERTIFICATES or self.cert_bytes + n > MAX_CERTIFICATE_BYTES:
                # Stop here: the rest is not read at all, so a multi-MiB message costs nothing.
                self.truncated = True
                return False
            if c + 3 + n > avail:
                break
            self.certs.append(bytes(hs[c + 3:c + 3 + n]))
            self.cert_bytes += n
            self._cert_cursor = c + 3 + n
        if avail < end:
            return False
        self.certificate_done = True
        self._cert_cursor = None
        if self.oversized:
            self.too_large = True  # all of it kept, but more than a TLS client accepts
            return False
        return True


# --------------------------------------------------------------------------------------------
# One handshake


@dataclass
class _Attempt:
    """The outcome of one TCP connect + TLS handshake."""

    outcome: str  # ok | refused | connect_timeout | timeout | tls_error | reset | eof | not_tls
    #               | too_large | flood | malformed
    detail: str = ""
    protocol: str | None = None
    cipher: str | None = None
    chain: list[bytes] = field(default_factory=list)
    flight: _ServerFlight = field(default_factory=_ServerFlight)


class _Timeout(Exception):
    pass


def _wait(sock: socket.socket, events: int, deadline: float) -> None:
    """Block until ``sock`` is ready for ``events`` or raise _Timeout at ``deadline``.

    poll(), not select(): a process probing hundreds of origins has file descriptors > 1024.
    """
    poller = select.poll()
    poller.register(sock.fileno(), events)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Timeout
        if poller.poll(max(1, int(remaining * 1000))):
            return


def _send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            _wait(sock, select.POLLOUT, deadline)
            continue
        view = view[sent:]


def _connect(address: str, port: int, connect_timeout: float) -> tuple[socket.socket | None, _Attempt | None]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        err = sock.connect_ex((address, port))
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            sock.close()
            return None, _Attempt("refused", _strerror(err))
        if err != 0:
            try:
                _wait(sock, select.POLLOUT, time.monotonic() + connect_timeout)
            except _Timeout:
                sock.close()
                return None, _Attempt("connect_timeout")
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                sock.close()
                return None, _Attempt("refused", _strerror(err))
        return sock, None
    except OSError as exc:
        sock.close()
        return None, _Attempt("refused", exc.strerror or str(exc))


def _strerror(err: int) -> str:
    return f"{os.strerror(err)} [{errno.errorcode.get(err, err)}]"


def _handshake(address: str, port: int, sni: str | None, ctx: ssl.SSLContext, *,
               connect_timeout: float, timeout: float) -> _Attempt:
    sock, failed = _connect(address, port, connect_timeout)
    if failed is not None or sock is None:
        return failed or _Attempt("refused")
    try:
        return _drive(sock, ctx, sni, timeout)
    finally:
        sock.close()


def _drive(sock: socket.socket, ctx: ssl.SSLContext, sni: str | None, timeout: float) -> _Attempt:
    deadline = time.monotonic() + timeout
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    sslobj = ctx.wrap_bio(incoming, outgoing, server_side=False, server_hostname=sni)
    flight = _ServerFlight()

    def result(outcome: str, detail: str = "") -> _Attempt:
        return _Attempt(outcome, detail, chain=list(flight.certs), flight=flight)

    try:
        while True:
            try:
                sslobj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            except ssl.SSLError as exc:
                _flush_quietly(sock, outgoing, deadline)  # let the server see our alert
                if flight.total == 0 or isinstance(exc, ssl.SSLEOFError):
                    return result("eof", "the server closed the connection during the handshake")
                return result("tls_error", _ssl_reason(exc))
            if outgoing.pending:
                _send_all(sock, outgoing.read(), deadline)
            if done:
                break
            _wait(sock, select.POLLIN, deadline)
            try:
                data = sock.recv(_RECV_SIZE)
            except BlockingIOError:
                continue
            if not data:
                if flight.oversized:
                    return result("too_large")
                incoming.write_eof()
                continue
            flight.feed(data)
            if flight.not_tls:
                return result("not_tls")
            if flight.truncated or flight.too_large:
                return result("too_large")
            if flight.malformed is not None:
                return result("malformed", flight.malformed)
            if flight.total > MAX_HANDSHAKE_BYTES:
                return result("flood", f"the server sent more than {MAX_HANDSHAKE_BYTES // 1024} KiB "
                                       "without completing the handshake")
            if not flight.oversized:
                incoming.write(data)
    except _Timeout:
        return result("too_large" if flight.oversized else "timeout")
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as exc:
        return result("reset", exc.strerror or type(exc).__name__)
    except OSError as exc:
        return result("reset", exc.strerror or str(exc))
    protocol = sslobj.version()
    cipher_info = sslobj.cipher()
    chain = list(flight.certs) if flight.certificate_seen else _unverified_chain(sslobj)
    return _Attempt("ok", protocol=protocol, cipher=cipher_info[0] if cipher_info else None,
                    chain=chain, flight=flight)


def _flush_quietly(sock: socket.socket, outgoing: ssl.MemoryBIO, deadline: float) -> None:
    try:
        if outgoing.pending:
            _send_all(sock, outgoing.read(), min(deadline, time.monotonic() + 0.2))
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


def _printable(raw: bytes, limit: int = 40) -> str:
    """At most ``limit`` characters of ``raw``, non-printables escaped, for quoting in a message."""
    text = raw[:limit].decode("latin-1")
    escapes = {"\r": "\\r", "\n": "\\n", "\t": "\\t", "'": "\\'", "\\": "\\\\"}
    out = "".join(escapes.get(ch) or (ch if 32 <= ord(ch) < 127 else f"\\x{ord(ch):02x}")
                  for ch in text)
    return out + ("…" if len(raw) > limit else "")


# --------------------------------------------------------------------------------------------
# One address


def _finding(code: Code, message: str, address: str | None, hint: str | None = None) -> Finding:
    return Finding(code=code, severity=Severity(CODES[code].severity), message=message,
                   hint=hint if hint is not None else CODES[code].fix, address=address)


def _repro(target: Target, address: str, extra: str = "") -> str:
    host = f"[{address}]" if ":" in address else address
    sni = "" if _ip_literal(target.sni) else f" -servername {target.sni}"
    return f"openssl s_client -connect {host}:{target.port}{sni}{extra} -showcerts </dev/null"


def _offerable(protocols: Sequence[str]) -> tuple[str, ...]:
    return tuple(p for p in _ORDERED if p in protocols)


def probe_address(target: Target, address: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> AddressProbe:
    """Probe one resolved address of ``target``. Never raises for anything a server does."""
    started = time.monotonic()
    try:
        probe = _probe_address(target, address, timeout)
    except Exception as exc:  # a bug must cost one address, not the run
        logger.exception("probe of %s (%s) failed unexpectedly", target.display, address)
        probe = AddressProbe(address=address, findings=(_finding(
            Code.HANDSHAKE_FAILED,
            f"The probe of {address}:{target.port} failed with an internal error: "
            f"{type(exc).__name__}: {exc}. The result for this address is unknown.",
            address, "Re-run the check; report the error if it persists."),))
    return AddressProbe(
        address=probe.address, protocol=probe.protocol, cipher=probe.cipher, chain=probe.chain,
        chain_source=probe.chain_source, chain_truncated=probe.chain_truncated,
        client_cert_requested=probe.client_cert_requested, findings=probe.findings,
        elapsed=time.monotonic() - started)


def _probe_address(target: Target, address: str, timeout: float) -> AddressProbe:
    port = target.port
    sni = None if _ip_literal(target.sni) else target.sni.rstrip(".")
    connect_timeout = min(timeout, target.connect_timeout) if target.connect_timeout else timeout
    where = f"{address}:{port}" if ":" not in address else f"[{address}]:{port}"
    offered = _offerable(target.protocols)
    if not offered:
        return AddressProbe(address=address, findings=(_finding(
            Code.NO_COMMON_PROTOCOL,
            f"The origin allows only {', '.join(target.protocols) or 'no protocol'} "
            "(OriginSslProtocols); SSLv3 cannot be negotiated by CloudFront's current edge nor "
            "tested by this auditor.", address,
            "Allow TLSv1.2 in the origin's OriginSslProtocols."),))

    def hs(kind: str) -> _Attempt:
        return _handshake(address, port, sni, _client_context(kind, offered),
                          connect_timeout=connect_timeout, timeout=timeout)

    first = hs("cloudfront")
    findings: list[Finding] = []
    flight = first.flight
    cert_req: bool | None = None
    if flight.cert_request:
        cert_req = True
    elif first.outcome == "ok" and first.protocol != "TLSv1.3" and flight.hello_done:
        cert_req = False

    if first.outcome == "refused":
        return AddressProbe(address=address, findings=(_finding(
            Code.CONNECT_FAILED,
            f"TCP connect to {where} failed ({first.detail or 'connection refused'}). CloudFront "
            "returns 502 when it cannot connect to the origin.", address),))
    if first.outcome == "connect_timeout":
        return AddressProbe(address=address, findings=(_finding(
            Code.CONNECT_TIMEOUT,
            f"No answer to the TCP connect to {where} within {connect_timeout:g} s (dropped by a "
            "firewall or the host is down). CloudFront returns 504 when the origin does not answer.",
            address),))

    def probe_with(protocol: str | None = None, cipher: str | None = None, chain: Sequence[bytes] = (),
                   source: str | None = None) -> AddressProbe:
        if cert_req:
            findings.append(_finding(
                Code.CLIENT_CERT_REQUESTED,
                f"{where} asks for a client certificate (TLS CertificateRequest). CloudFront sends "
                "none and the origin request fails unless origin mTLS is configured.", address))
        return AddressProbe(address=address, protocol=protocol, cipher=cipher, chain=tuple(chain),
                            chain_source=source if chain else None,
                            chain_truncated=flight.truncated, client_cert_requested=cert_req,
                            findings=tuple(findings))

    if first.outcome == "ok":
        if first.protocol in LEGACY_PROTOCOLS:
            findings.append(_finding(
                Code.LEGACY_PROTOCOL,
                f"{where} negotiated {first.protocol} with CloudFront's offer; it does not accept "
                "TLS 1.2 with CloudFront's ciphers. TLS 1.0/1.1 are deprecated.", address,
                "Enable TLS 1.2 with an ECDHE AES-GCM suite on the origin, then allow only TLSv1.2."))
        return probe_with(first.protocol, first.cipher, first.chain, "cloudfront")
    if first.outcome == "timeout":
        got = f" after it sent {flight.total} bytes" if flight.total else " (it sent nothing)"
        findings.append(_finding(
            Code.HANDSHAKE_TIMEOUT,
            f"The TLS handshake with {where} did not complete within {timeout:g} s{got}. "
            "CloudFront gives up and returns 502/504.", address,
            f"{CODES[Code.HANDSHAKE_TIMEOUT].fix} Reproduce: {_repro(target, address)}"))
        return probe_with(chain=first.chain, source="cloudfront")
    if first.outcome == "too_large":
        kept = (f"the probe keeps at most {MAX_CERTIFICATES} certificates / "
                f"{MAX_CERTIFICATE_BYTES // 1024} KiB; it kept {len(first.chain)}"
                f"{' and stopped reading' if flight.truncated else ''}")
        if flight.certificate_length > _OPENSSL_MAX_CERT_LIST:
            findings.append(_finding(
                Code.CHAIN_TOO_LARGE,
                f"{where} sent a Certificate message of {flight.certificate_length:,} bytes, more "
                f"than any valid chain needs and more than OpenSSL-based TLS clients accept "
                f"({_OPENSSL_MAX_CERT_LIST // 1024} KiB); expect CloudFront to drop the connection "
                f"({kept}).", address))
        else:
            # Within what TLS clients accept: only the auditor's own cap was hit, so this is not
            # known to fail at CloudFront; say what was and was not judged.
            findings.append(Finding(
                Code.CHAIN_TOO_LARGE, Severity.WARN,
                f"{where} sent {flight.certificate_length:,} bytes of certificates, more than any "
                f"valid chain needs ({kept}); only the certificates kept were judged.",
                CODES[Code.CHAIN_TOO_LARGE].fix, address))
        return probe_with(chain=first.chain, source="cloudfront")
    if first.outcome == "not_tls":
        findings.append(_finding(
            Code.HANDSHAKE_FAILED,
            f"{where} does not speak TLS (it answered '{_printable(flight.first_bytes)}'). "
            "CloudFront cannot connect over HTTPS and returns 502.", address,
            "Point the origin's HTTPSPort at the TLS listener (or use http-only for a plain-HTTP "
            f"origin). Reproduce: {_repro(target, address)}"))
        return probe_with()
    if first.outcome == "malformed":
        findings.append(_handshake_failed(target, address, where, first))
        return probe_with(chain=first.chain, source="cloudfront")
    if first.outcome == "flood":
        findings.append(_finding(Code.HANDSHAKE_FAILED, f"{where}: {first.detail}.", address))
        return probe_with(chain=first.chain, source="cloudfront")
    if cert_req or (flight.certificate_seen and flight.server_version in offered):
        # Protocol and cipher were agreed (the server chose an offered protocol and sent its
        # certificate, or asked for ours): a broader handshake would not explain anything more.
        # A server that answers with a protocol we did not offer goes on to the diagnostics.
        findings.append(_handshake_failed(target, address, where, first))
        return probe_with(chain=first.chain, source="cloudfront")

    # The CloudFront-like handshake failed before the server committed to anything: find out why.
    diag = hs("diagnostic")
    if diag.outcome == "ok":
        if diag.protocol not in offered:
            findings.append(_finding(
                Code.NO_COMMON_PROTOCOL,
                f"{where} accepts none of the protocols allowed for this origin "
                f"({', '.join(offered)}); it negotiates {diag.protocol}. CloudFront cannot connect "
                "(502).", address,
                f"Enable {offered[-1]} on the origin, or allow {diag.protocol} in the origin's "
                "OriginSslProtocols (legacy protocols are deprecated)."))
        else:
            findings.append(_finding(
                Code.NO_COMMON_CIPHER,
                f"{where} accepts none of the cipher suites CloudFront offers over "
                f"{', '.join(offered)}; with every cipher offered it chose {diag.cipher} "
                f"({diag.protocol}). CloudFront cannot connect (502).", address,
                f"{CODES[Code.NO_COMMON_CIPHER].fix} Reproduce: "
                f"{_repro(target, address, ' -cipher ' + ':'.join(CLOUDFRONT_ORIGIN_CIPHERS[:4]))}"))
        return probe_with(chain=diag.chain, source="diagnostic")
    if diag.outcome in ("refused", "connect_timeout", "timeout"):
        findings.append(_handshake_failed(target, address, where, first))
        return probe_with(chain=first.chain, source="cloudfront")
    tls13 = hs("tls13")
    if tls13.outcome == "ok":
        findings.append(_finding(
            Code.TLS13_ONLY,
            f"{where} speaks only TLS 1.3 (it refused TLS 1.0-1.2 with every cipher). CloudFront's "
            "API cannot select TLS 1.3, and 502s have been reported for TLS-1.3-only origins at "
            "some edge locations.", address))
        return probe_with(chain=tls13.chain, source="diagnostic")
    findings.append(_handshake_failed(target, address, where, first))
    chain, source = (first.chain, "cloudfront") if first.chain else (diag.chain, "diagnostic")
    return probe_with(chain=chain, source=source)


def _handshake_failed(target: Target, address: str, where: str, attempt: _Attempt) -> Finding:
    flight = attempt.flight
    if flight.alert is not None:
        name = _ALERTS.get(flight.alert[1], "alert")
        reason = f"the server sent a TLS alert {name} ({flight.alert[1]})"
        if attempt.detail and attempt.outcome == "tls_error":
            reason += f"; OpenSSL: {attempt.detail}"
    elif attempt.outcome == "reset":
        reason = f"the connection was reset during the handshake ({attempt.detail})"
    elif attempt.outcome == "eof":
        reason = attempt.detail
    elif flight.malformed:
        reason = f"the server sent malformed TLS ({flight.malformed})"
    else:
        reason = attempt.detail or attempt.outcome
    if "ASN1" in attempt.detail or "ASN1" in reason:
        reason += " - a certificate the server sent does not parse as X.509 DER"
    return _finding(
        Code.HANDSHAKE_FAILED,
        f"The TLS handshake with {where} failed: {reason}. CloudFront drops the connection (502).",
        address, f"{CODES[Code.HANDSHAKE_FAILED].fix} Reproduce: {_repro(target, address)}")


# --------------------------------------------------------------------------------------------
# Targets


def _resolve(target: Target, resolver: Resolver) -> tuple[list[str], list[Finding]]:
    literal = _ip_literal(target.host)
    if literal is not None:
        return [literal], []
    try:
        addresses = list(dict.fromkeys(resolver(target.host, target.port)))
    except Exception as exc:  # OSError is the contract; anything else is a resolver bug
        if not isinstance(exc, OSError):
            logger.exception("resolver failed for %s", target.host)
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return [], [_finding(
            Code.DNS_RESOLUTION_FAILED,
            f"{target.host} does not resolve ({reason}). CloudFront returns 502 "
            "(NonS3OriginDnsError).", None)]
    if not addresses:
        return [], [_finding(Code.DNS_RESOLUTION_FAILED,
                             f"{target.host} resolved to no addresses. CloudFront returns 502.", None)]
    findings: list[Finding] = []
    if len(addresses) > MAX_ADDRESSES:
        findings.append(_finding(
            Code.ADDRESSES_CAPPED,
            f"{target.host} resolved to {len(addresses)} addresses; the first {MAX_ADDRESSES} "
            f"were probed and {len(addresses) - MAX_ADDRESSES} skipped.", None))
        addresses = addresses[:MAX_ADDRESSES]
    return addresses, findings


def _not_probed(target: Target, why: str, findings: Sequence[Finding] = ()) -> ProbeResult:
    return ProbeResult(target=target, findings=(*findings, _finding(
        Code.ORIGIN_NOT_PROBED, f"{target.display} was not probed: {why}.", None)))


def probe_target(target: Target, *, resolver: Resolver = system_resolver,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> ProbeResult:
    """Resolve ``target`` and probe each address (one after another) as CloudFront would."""
    if target.skip_probe:
        return ProbeResult(target=target)
    addresses, findings = _resolve(target, resolver)
    probes = tuple(probe_address(target, a, timeout=timeout) for a in addresses)
    return ProbeResult(target=target, addresses=probes, findings=tuple(findings))


def probe_targets(
    targets: Sequence[Target],
    *,
    resolver: Resolver = system_resolver,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline: float | None = None,
    on_done: Callable[[int, ProbeResult], None] | None = None,
) -> list[ProbeResult]:
    """Probe many targets with a bounded pool; results in input order.

    Work items are (target, address) pairs, so one name with many slow addresses does not hold
    up one worker for addresses x timeout. ``deadline`` (a ``time.monotonic()`` value): targets
    not started by then get ORIGIN_NOT_PROBED. ``on_done(index, result)`` is called once per
    target as it finishes, from a worker thread.
    """
    n = len(targets)
    results: list[ProbeResult | None] = [None] * n
    if n == 0:
        return []
    lock = threading.Lock()
    pending: dict[int, list[AddressProbe | bool | None]] = {}
    pre: dict[int, list[Finding]] = {}
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
        probe = None if late else probe_address(target, address, timeout=timeout)
        with lock:
            slots = pending[index]
            slots[slot] = probe if probe is not None else False
            complete = all(p is not None for p in slots)
        if complete:
            done = tuple(p for p in slots if isinstance(p, AddressProbe))
            skipped = len(slots) - len(done)
            findings = list(pre[index])
            if skipped == len(slots):
                finish(index, _not_probed(target, "the run's time budget ran out before its turn",
                                          findings=pre[index]))
                return
            if skipped:
                findings.append(_finding(
                    Code.ORIGIN_NOT_PROBED,
                    f"{skipped} of {len(slots)} addresses of {target.display} were not probed: the "
                    "run's time budget ran out before their turn.", None))
            finish(index, ProbeResult(target=target, addresses=done, findings=tuple(findings)))

    def target_task(index: int, pool: ThreadPoolExecutor) -> None:
        target = targets[index]
        try:
            if target.skip_probe:
                finish(index, ProbeResult(target=target))
                return
            if deadline is not None and time.monotonic() >= deadline:
                finish(index, _not_probed(target, "the run's time budget ran out before its turn"))
                return
            addresses, findings = _resolve(target, resolver)
            if not addresses:
                finish(index, ProbeResult(target=target, findings=tuple(findings)))
                return
            with lock:
                pending[index] = [None] * len(addresses)
                pre[index] = findings
            for slot, address in enumerate(addresses):
                pool.submit(address_task, index, slot, address)
        except Exception as exc:  # e.g. pool shutting down; never lose the target
            logger.exception("probe of target %d failed unexpectedly", index)
            finish(index, ProbeResult(target=target, findings=(_finding(
                Code.HANDSHAKE_FAILED, f"The probe of {target.display} failed with an internal "
                f"error: {type(exc).__name__}: {exc}.", None, "Re-run the check."),)))

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="probe") as pool:
        for i in range(n):
            pool.submit(target_task, i, pool)
        all_done.wait()
    return [r if r is not None else _not_probed(targets[i], "internal error") for i, r in enumerate(results)]
