"""A loopback HTTP server for caIssuers URLs: the certificates a CA's repository serves.

Tests make a PKI whose caIssuers URLs point here (``server.publish(prefix, ...)``), put its
certificates on a ``TlsServer`` that omits intermediates, and serve its issuers here (as DER, PEM
or PKCS#7), or hostile answers:
slow, oversized, not a certificate, a redirect, an error status. Bounded: every handler thread is
a daemon and a delay ends early when the server closes.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from .pki import Pki


@dataclass(frozen=True)
class Answer:
    """One URL's answer. ``delay``: seconds before answering (ends early when the server closes)."""

    body: bytes
    status: int = 200
    content_type: str = "application/pkix-cert"
    delay: float = 0.0
    location: str | None = None


def pem_of(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)


def pkcs7_of(*ders: bytes, pem: bool = False) -> bytes:
    """A certs-only PKCS#7 bundle (``.p7c``) of these certificates."""
    certs = [x509.load_der_x509_certificate(d) for d in ders]
    return pkcs7.serialize_certificates(certs, Encoding.PEM if pem else Encoding.DER)


class IssuerServer:
    """Serves ``files`` (path -> bytes or ``Answer``) on 127.0.0.1, an ephemeral port; over https
    with ``tls`` (a server context).

    requests: the paths asked for, in order (to see what was fetched, and how often).
    """

    def __init__(self, files: Mapping[str, bytes | Answer] | None = None, host: str = "127.0.0.1",
                 tls: ssl.SSLContext | None = None) -> None:
        self.files: dict[str, bytes | Answer] = dict(files or {})
        self.requests: list[str] = []
        self._closing = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                entry = owner.files.get(self.path)
                if entry is None:
                    answer = Answer(b"not found", status=404, content_type="text/plain")
                elif isinstance(entry, Answer):
                    answer = entry
                else:
                    answer = Answer(entry)
                if answer.delay and owner._closing.wait(answer.delay):
                    return
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    if answer.location:
                        self.send_header("Location", answer.location)
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:  # the client gave up (a timeout test): nothing to tell
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._tls = tls
        if tls is not None:  # https: each accepted connection is wrapped (handshake in its thread)
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="issuer-server",
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def publish(self, prefix: str = "", *, host: str | None = None, **pki: Any) -> Pki:
        """A test PKI (``Pki(**pki)``) whose caIssuers URLs point under ``prefix`` here, its issuers
        served there as DER. ``host``: the name in those URLs instead of this server's address
        (the test's or demo's resolver maps it to 127.0.0.1)."""
        base = self.base_url
        if host is not None:
            base = f"{base.split('://', 1)[0]}://{host}:{base.rsplit(':', 1)[1]}"
        made = Pki(aia_base=base + prefix, **pki)
        self.files.update({prefix + path: der for path, der in made.issuer_files().items()})
        return made

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
