"""Loopback servers for tests, the benchmark and the demo: real TLS origins and hostile ones.

Nothing here is used by an audit of real origins. Every server binds loopback addresses only
(127.0.0.0/8 or ::1), runs its accept loop in one daemon thread and each connection in its own
daemon thread (cheap: connections mostly sleep or wait), and is a context manager::

    with TlsServer(Pki().chain()) as srv:
        probe_target(Target("127.0.0.1", srv.port, server_name="origin.test"), allow=LOOPBACK)

- ``TlsServer``: serves a chain exactly in the order given (OpenSSL sends the extra chain
  certificates in file order and, with an empty verify store, never completes the chain itself),
  per-SNI and per-address chains, a protocol range, a cipher string, client-certificate requests,
  an injected pre-handshake delay, then a minimal HTTP response (or a close / RST).
- ``RawServer`` and the factories below it: servers that misbehave on purpose (never answer, stall
  mid-handshake, drip, garbage, RST, hand-built TLS 1.2 flights with arbitrary certificate bytes).
- ``closed_port``, ``BlackholeServer``: a port that refuses, and one whose SYNs go unanswered.
- ``OpensslServer``: ``openssl s_server`` on an ephemeral loopback port, for what Python's ``ssl``
  cannot configure on a server either (``-groups``, ``-sigalgs``) and keys it cannot load (Ed25519).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import selectors
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Self

from cryptography.hazmat.primitives import serialization

from origin_auditor.tls.wire import TLS1_2_WIRE_VERSION, ContentType, HandshakeType

from .pki import Issued, PrivateKey

logger = logging.getLogger(__name__)

ChainPart = Issued | bytes
"""A certificate (``Issued``) or PEM bytes (one certificate or a bundle), in serving order."""

HTTP_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                 b"Connection: close\r\n\r\nok\n")

# RFC 7919 ffdhe2048, so DHE-only servers work without generating parameters (which takes seconds).
FFDHE2048_PEM = b"""-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def _check_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"lab servers bind loopback addresses only, not {host!r}")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def openssl_supports(protocol: str) -> bool:
    """Can this OpenSSL speak ``protocol`` ("TLSv1", "TLSv1.1", ...)? Some OpenSSL 3 builds have
    TLS 1.0/1.1 compiled out entirely; tests that need them skip with this."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = _VERSIONS[protocol]
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return False
    return True


def unbindable(addresses: Iterable[str]) -> str | None:
    """The first of ``addresses`` this machine cannot bind (loopback aliases beyond 127.0.0.1
    exist on Linux, not everywhere), or None when all can be bound."""
    for address in addresses:
        with socket.socket(_family(address)) as s:
            try:
                s.bind((address, 0))
            except OSError:
                return address
    return None


def rst_close(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN (SO_LINGER on, timeout 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# --------------------------------------------------------------------------------------------
# Listener machinery shared by every server


class _Listener:
    """Binds one port on one or more loopback addresses; one thread accepts, one thread per
    connection runs ``_handle(conn, local_address)``."""

    def __init__(self, host: str | Sequence[str] = "127.0.0.1", port: int = 0) -> None:
        self.hosts: tuple[str, ...] = (host,) if isinstance(host, str) else tuple(host)
        if not self.hosts:
            raise ValueError("at least one host to bind")
        for h in self.hosts:
            _check_loopback(h)
        self._requested_port = port
        self._listeners: list[socket.socket] = []
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.port = 0
        self.connections = 0

    @property
    def address(self) -> str:
        """The first bound address."""
        return self.hosts[0]

    @property
    def addresses(self) -> tuple[str, ...]:
        return self.hosts

    def start(self) -> Self:
        for _attempt in range(20):
            try:
                self._bind_all()
                break
            except OSError:
                # Port 0 on the first address, the same number on the others: another process
                # may hold it on one of them; pick a new number.
                self._close_listeners()
                if self._requested_port:
                    raise
        else:
            raise OSError(f"could not bind one port on all of {len(self.hosts)} addresses")
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name=f"{type(self).__name__}:{self.port}")
        self._thread.start()
        return self

    def _bind_all(self) -> None:
        port = self._requested_port
        for h in self.hosts:
            s = socket.socket(_family(h), socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listeners.append(s)
            s.bind((h, port))
            s.listen(512)
            s.setblocking(False)
            port = s.getsockname()[1]
        self.port = port

    def _close_listeners(self) -> None:
        for s in self._listeners:
            s.close()
        self._listeners = []

    def _accept_loop(self) -> None:
        sel = selectors.DefaultSelector()
        for s in self._listeners:
            sel.register(s, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.1):
                    listener: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        conn, _peer = listener.accept()
                    except OSError:
                        continue
                    conn.setblocking(True)
                    with self._lock:
                        self._conns.add(conn)
                        self.connections += 1
                    local = listener.getsockname()[0]
                    threading.Thread(target=self._run, args=(conn, local), daemon=True).start()
        finally:
            sel.close()

    def _run(self, conn: socket.socket, local: str) -> None:
        try:
            self._handle(conn, local)
        except Exception as exc:  # a hostile client of the lab server is not our problem
            logger.debug("lab server connection ended: %s", exc)
        finally:
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _handle(self, conn: socket.socket, local: str) -> None:
        raise NotImplementedError

    def _hold(self, conn: socket.socket) -> None:
        """Keep the connection open, reading and discarding, until the peer or ``close`` ends it."""
        conn.settimeout(0.1)
        while not self._stop.is_set():
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._close_listeners()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# A real TLS server


def _pem_of(chain: Sequence[ChainPart]) -> bytes:
    return b"".join(p.pem if isinstance(p, Issued) else p for p in chain)


def _key_pem(chain: Sequence[ChainPart], key: PrivateKey | bytes | None) -> bytes:
    if isinstance(key, bytes):
        return key
    if key is not None:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    if chain and isinstance(chain[0], Issued):
        return chain[0].key_pem
    raise ValueError("pass key= when the chain's first element is PEM bytes")


class TlsServer(_Listener):
    """A loopback TLS origin serving ``chain`` in the order given.

    chain: the certificates sent, first is the leaf (its key is used unless ``key`` is given).
    host: one address or several (one port on all of them); 127.0.0.x or ::1.
    sni_chains: server name -> chain served when the client sends that SNI.
    address_chains: bound address -> chain served on that address (before SNI is applied).
    protocols: protocol names enabled, e.g. ("TLSv1",) or ("TLSv1.3",); the range min..max.
        TLSv1/TLSv1.1 lower the server's security level to 0 so OpenSSL 3 really speaks them.
    ciphers: OpenSSL cipher string for TLS <= 1.2 (e.g. "CHACHA20", "DHE"); TLS 1.3 suites are
        OpenSSL's defaults.
    client_cert: None, "optional" or "required" (sends a CertificateRequest).
    handshake_delay: seconds slept after accept, before the handshake (simulated latency).
    after_handshake: "http" (read a request, answer HTTP 200), "close", or "reset" (RST).
    io_timeout: per-connection socket timeout, so dead clients do not pin threads.
    """

    def __init__(
        self,
        chain: Sequence[ChainPart],
        *,
        key: PrivateKey | bytes | None = None,
        host: str | Sequence[str] = "127.0.0.1",
        port: int = 0,
        sni_chains: Mapping[str, Sequence[ChainPart]] | None = None,
        address_chains: Mapping[str, Sequence[ChainPart]] | None = None,
        protocols: Sequence[str] | None = None,
        ciphers: str | None = None,
        client_cert: str | None = None,
        handshake_delay: float = 0.0,
        after_handshake: str = "http",
        io_timeout: float = 10.0,
    ) -> None:
        super().__init__(host, port)
        if after_handshake not in ("http", "close", "reset"):
            raise ValueError(f"after_handshake: http, close or reset, not {after_handshake!r}")
        if client_cert not in (None, "optional", "required"):
            raise ValueError(f"client_cert: None, 'optional' or 'required', not {client_cert!r}")
        self.protocols = tuple(protocols) if protocols else None
        self.ciphers = ciphers
        self.client_cert = client_cert
        self.handshake_delay = handshake_delay
        self.after_handshake = after_handshake
        self.io_timeout = io_timeout
        self.handshakes = 0
        self.handshake_errors = 0
        self.served_names: list[str | None] = []
        self.context = self._context(chain, key)
        self._sni = {name.lower(): self._context(c, None) for name, c in (sni_chains or {}).items()}
        self._by_address = {a: self._context(c, None) for a, c in (address_chains or {}).items()}
        if self._sni:
            for ctx in (self.context, *self._by_address.values()):
                ctx.sni_callback = self._on_sni

    def _context(self, chain: Sequence[ChainPart], key: PrivateKey | bytes | None) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1 on purpose
            legacy = False
            if self.protocols:
                versions = sorted(_VERSIONS[p] for p in self.protocols)
                ctx.minimum_version = versions[0]
                ctx.maximum_version = versions[-1]
                legacy = versions[0] < ssl.TLSVersion.TLSv1_2
            cipher_string = self.ciphers or "DEFAULT"
            if legacy and "@SECLEVEL" not in cipher_string:
                cipher_string += ":@SECLEVEL=0"
            ctx.set_ciphers(cipher_string)
        if self.ciphers and "DHE" in self.ciphers.replace("ECDHE", ""):
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "dh.pem")
                with open(path, "wb") as f:
                    f.write(FFDHE2048_PEM)
                ctx.load_dh_params(path)
        with tempfile.TemporaryDirectory() as d:
            cert_path, key_path = os.path.join(d, "chain.pem"), os.path.join(d, "key.pem")
            with open(cert_path, "wb") as f:
                f.write(_pem_of(chain))
            with open(key_path, "wb") as f:
                f.write(_key_pem(chain, key))
            # The file order is the order sent; the context's verify store stays empty so
            # OpenSSL cannot "helpfully" build a different chain.
            ctx.load_cert_chain(cert_path, key_path)
        if self.client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED if self.client_cert == "required" else ssl.CERT_OPTIONAL
        return ctx

    def _on_sni(self, sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.served_names.append(name)
        if name and name.lower() in self._sni:
            sslobj.context = self._sni[name.lower()]

    def _handle(self, conn: socket.socket, local: str) -> None:
        if self.handshake_delay:
            time.sleep(self.handshake_delay)
        conn.settimeout(self.io_timeout)
        ctx = self._by_address.get(local, self.context)
        try:
            tls = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            with self._lock:
                self.handshake_errors += 1
            raise
        with self._lock:
            self.handshakes += 1
        if self.after_handshake == "reset":
            rst_close(tls)
            return
        if self.after_handshake == "http":
            request = b""
            with contextlib.suppress(OSError, ssl.SSLError):
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    data = tls.recv(4096)
                    if not data:
                        break
                    request += data
                if request:
                    tls.sendall(HTTP_RESPONSE)
        tls.close()


# --------------------------------------------------------------------------------------------
# Hand-built TLS


def tls_record(content_type: int, payload: bytes, version: int = TLS1_2_WIRE_VERSION) -> bytes:
    return struct.pack("!BHH", content_type, version, len(payload)) + payload


def handshake_message(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def server_hello(cipher_suite: int = 0xC02F, version: int = TLS1_2_WIRE_VERSION) -> bytes:
    """A TLS 1.2 ServerHello (handshake message) choosing ``cipher_suite`` (default
    ECDHE-RSA-AES128-GCM-SHA256, which CloudFront offers), with an empty renegotiation_info
    extension because OpenSSL 3 clients refuse servers without it."""
    extensions = b"\xff\x01\x00\x01\x00"
    body = (struct.pack("!H", version) + bytes(range(32)) + b"\x00" + struct.pack("!H", cipher_suite)
            + b"\x00" + struct.pack("!H", len(extensions)) + extensions)
    return handshake_message(HandshakeType.SERVER_HELLO, body)


def certificate_message(certs: Iterable[bytes]) -> bytes:
    """A TLS 1.2 Certificate handshake message carrying ``certs`` verbatim (any bytes)."""
    entries = b"".join(len(c).to_bytes(3, "big") + c for c in certs)
    return handshake_message(HandshakeType.CERTIFICATE, len(entries).to_bytes(3, "big") + entries)


def records(handshake: bytes, content_type: int = ContentType.HANDSHAKE, size: int = 16384) -> bytes:
    """Fragment a handshake byte stream into records of at most ``size`` bytes."""
    return b"".join(tls_record(content_type, handshake[i:i + size])
                    for i in range(0, len(handshake), size))


def server_flight(certs: Iterable[bytes], *, cipher_suite: int = 0xC02F, done: bool = True) -> bytes:
    """ServerHello + Certificate (+ ServerHelloDone) as TLS 1.2 records."""
    hs = server_hello(cipher_suite) + certificate_message(certs)
    if done:
        hs += handshake_message(HandshakeType.SERVER_HELLO_DONE, b"")
    return records(hs)


def _read_client_hello(conn: socket.socket, timeout: float = 5.0) -> bytes:
    """Read the first record (the ClientHello) so replies go to a client that is listening."""
    conn.settimeout(timeout)
    data = b""
    while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


# --------------------------------------------------------------------------------------------
# Hostile servers


class RawServer(_Listener):
    """A loopback server whose per-connection behaviour is ``behaviour(server, conn)``."""

    def __init__(self, behaviour: Callable[[RawServer, socket.socket], None], *,
                 host: str | Sequence[str] = "127.0.0.1", port: int = 0, name: str = "raw") -> None:
        super().__init__(host, port)
        self.behaviour = behaviour
        self.name = name

    def _handle(self, conn: socket.socket, local: str) -> None:
        self.behaviour(self, conn)

    def hold(self, conn: socket.socket) -> None:
        self._hold(conn)

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server is closing; False when it is."""
        return not self._stop.wait(seconds)


def silent_server(**kw: Any) -> RawServer:
    """Accepts TCP and never answers."""
    return RawServer(lambda srv, conn: srv.hold(conn), name="silent", **kw)


def stall_server(**kw: Any) -> RawServer:
    """Answers part of a handshake (half a ServerHello record), then stalls."""
    def behave(srv: RawServer, conn: socket.socket) -> None:
        _read_client_hello(conn)
        flight = server_flight([b"\x30\x03\x02\x01\x00"])
        conn.sendall(flight[:20])
        srv.hold(conn)
    return RawServer(behave, name="stall", **kw)


def drip_server(interval: float = 1.0, **kw: Any) -> RawServer:
    """Sends a plausible TLS 1.2 flight one byte every ``interval`` seconds."""
    def behave(srv: RawServer, conn: socket.socket) -> None:
        _read_client_hello(conn)
        for b in server_flight([b"\x30\x03\x02\x01\x00"] * 4):
            if not srv.sleep(interval):
                return
            conn.sendall(bytes([b]))
    return RawServer(behave, name="drip", **kw)


GARBAGE = bytes(range(0x80, 0x100)) * 4


def garbage_server(data: bytes = GARBAGE, *, read_first: bool = True, **kw: Any) -> RawServer:
    """Answers ``data`` (not TLS) and closes. ``read_first``: wait for the ClientHello first."""
    return RawServer(_answer(data, read_first=read_first), name="garbage", **kw)


def plain_http_server(**kw: Any) -> RawServer:
    """A plain-HTTP service (what a TLS client meets when HTTPSPort points at port 80)."""
    return RawServer(_answer(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n", read_first=True), name="http", **kw)


def banner_server(banner: bytes = b"SSH-2.0-OpenSSH_9.6\r\n", **kw: Any) -> RawServer:
    """A service that speaks first (SSH, SMTP) and holds the connection."""
    def behave(srv: RawServer, conn: socket.socket) -> None:
        conn.sendall(banner)
        srv.hold(conn)
    return RawServer(behave, name="banner", **kw)


def _answer(data: bytes, *, read_first: bool) -> Callable[[RawServer, socket.socket], None]:
    def behave(srv: RawServer, conn: socket.socket) -> None:
        if read_first:
            _read_client_hello(conn)
        conn.sendall(data)
        srv.sleep(0.05)
    return behave


def reset_server(**kw: Any) -> RawServer:
    """Reads the ClientHello, then resets the connection (RST) mid-handshake."""
    def behave(srv: RawServer, conn: socket.socket) -> None:
        _read_client_hello(conn)
        rst_close(conn)
    return RawServer(behave, name="reset", **kw)


def handbuilt_server(certs: Sequence[bytes], *, cipher_suite: int = 0xC02F, done: bool = True,
                     **kw: Any) -> RawServer:
    """Sends a hand-built TLS 1.2 ServerHello + Certificate carrying ``certs`` verbatim (any bytes:
    several MiB, hundreds of certificates, DER that does not parse), then holds the connection."""
    flight = server_flight(certs, cipher_suite=cipher_suite, done=done)

    def behave(srv: RawServer, conn: socket.socket) -> None:
        _read_client_hello(conn)
        conn.settimeout(10)
        with contextlib.suppress(OSError):  # the client may stop reading and close early
            conn.sendall(flight)
        srv.hold(conn)
    return RawServer(behave, name="handbuilt", **kw)


# --------------------------------------------------------------------------------------------
# Ports that refuse or never answer


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` where nothing listens right now (connects are refused)."""
    _check_loopback(host)
    with socket.socket(_family(host), socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    return port


class BlackholeServer:
    """A port whose SYNs go unanswered: a listener with a full accept queue that never accepts.

    Linux drops SYNs to a listener whose backlog is full, which on loopback is the closest thing
    to a firewall that drops packets (the client's connect times out).
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        _check_loopback(host)
        self.host = host
        self.port = 0
        self._sockets: list[socket.socket] = []

    @property
    def address(self) -> str:
        return self.host

    def start(self) -> BlackholeServer:
        listener = socket.socket(_family(self.host), socket.SOCK_STREAM)
        listener.bind((self.host, 0))
        listener.listen(0)
        self._sockets.append(listener)
        self.port = listener.getsockname()[1]
        for _ in range(4):  # fill the queue (backlog 0 still admits one) and the SYN slack
            c = socket.socket(_family(self.host), socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex((self.host, self.port))
            self._sockets.append(c)
        time.sleep(0.05)
        return self

    def close(self) -> None:
        for s in self._sockets:
            s.close()
        self._sockets = []

    def __enter__(self) -> BlackholeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# openssl s_server


OPENSSL = shutil.which("openssl")
"""The openssl command (Debian's package ``openssl``; ``.ci/run`` installs it), or None."""


class OpensslServer:
    """``openssl s_server`` serving ``chain`` (leaf first; its key, or ``key`` PEM) on an
    ephemeral loopback port, with ``args`` added (``-groups X448``, ``-sigalgs ...``,
    ``-tls1_3``, ``-cipher ...``). It answers with its ``-www`` status page.

    Bounded: it binds port 0 and reports the port it got (its ``ACCEPT`` line, read for at
    most ``ready_timeout`` s), readiness is a successful TCP connect within the same bound, and
    leaving the context terminates it (then kills it after 2 s) and removes its files.
    """

    def __init__(self, chain: Sequence[ChainPart], *args: str, key: PrivateKey | bytes | None = None,
                 host: str = "127.0.0.1", ready_timeout: float = 10.0) -> None:
        _check_loopback(host)
        if OPENSSL is None:
            raise RuntimeError("openssl is not installed (apt-get install openssl)")
        self.host = host
        self.port = 0
        self._chain = chain
        self._key = key
        self._args = args
        self._ready_timeout = ready_timeout
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self._dir = tempfile.TemporaryDirectory(prefix="oa-s_server-")
        cert, key = os.path.join(self._dir.name, "chain.pem"), os.path.join(self._dir.name, "key.pem")
        with open(cert, "wb") as f:
            f.write(_pem_of(self._chain))
        with open(key, "wb") as f:
            f.write(_key_pem(self._chain, self._key))
        accept = f"[{self.host}]:0" if ":" in self.host else f"{self.host}:0"
        assert OPENSSL is not None
        self._proc = subprocess.Popen(  # noqa: S603 - the lab's own arguments, no shell
            [OPENSSL, "s_server", "-accept", accept, "-cert", cert, "-key", key, "-www",
             "-no_dhe", *self._args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            self.port = self._accept_port()
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _accept_port(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        until = time.monotonic() + self._ready_timeout
        out = self._proc.stdout
        os.set_blocking(out.fileno(), False)
        seen = b""
        with selectors.DefaultSelector() as sel:
            sel.register(out, selectors.EVENT_READ)
            while time.monotonic() < until:
                sel.select(max(0.0, until - time.monotonic()))
                chunk = out.read(4096) or b""
                if not chunk and self._proc.poll() is not None:
                    break
                seen += chunk
                for line in seen.splitlines():
                    if line.startswith(b"ACCEPT "):
                        return int(line.rsplit(b":", 1)[1])
        raise RuntimeError(f"openssl s_server did not start: {seen[-500:]!r}")

    def _wait_ready(self) -> None:
        until = time.monotonic() + self._ready_timeout
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=1.0).close()
                return
            except OSError:
                if time.monotonic() >= until:
                    raise
                time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(2.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(2.0)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
