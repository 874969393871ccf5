"""Fetch a certificate's issuer through its AIA caIssuers URL, to diagnose an incomplete chain.

CloudFront never fetches a missing intermediate, so nothing fetched here changes a verdict: it
tells a missing intermediate (the path completes to a trusted root: which certificate, from
where) from a private CA (it ends at a root the trust store lacks), and lets ``bundle.fix_chain``
write the chain the origin should send. ``x509.issuers`` follows the trail; this module only
downloads, under the probe's rule for addresses and tight bounds:

* http and https only; the name is resolved once (bounded in time, getaddrinfo has no timeout of
  its own) and the connection goes to the address that was checked, so DNS rebinding cannot
  reach an address the check refused. An address CloudFront cannot reach
  (``rules.NON_PUBLIC_NETWORKS``) is never connected to unless the caller opened its range
  (``options.ALLOW_ADDRESSES``), exactly as ``probe``.
* ``options.FETCH_TIMEOUT_SECONDS`` for the whole fetch (resolution, connect, answer), bounded
  by the run's deadline too; at most ``options.FETCH_MAX_BYTES`` of body; redirects are not
  followed (a CA's repository answers directly; a redirect is stated).
* DER, PEM or PKCS#7 (DER or PEM) answers.
* Each URL is fetched once per ``IssuerFetcher`` (one per run), however many origins name it.
* Never raises: every failure is a ``Download.error`` in our own words (nothing the server sent
  is quoted), which the judge states.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import certifi
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from .addresses import address_class, allowed
from .options import FETCH_MAX_BYTES, FETCH_TIMEOUT_SECONDS, Network, number_text
from .trust import TrustStore
from .x509.chain import analyze_chain, parse_chain
from .x509.issuers import Download, IssuerTrail, follow_issuers
from .x509.names import ip_literal

logger = logging.getLogger(__name__)

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> IP address strings (``probe.Resolver``'s contract); may raise OSError."""

# Response headers a repository sends are a few hundred bytes; more is not a repository.
MAX_HEADER_BYTES = 16 * 1024
# Certificates taken from one answer (a PKCS#7 bundle holds a handful).
MAX_CERTIFICATES = 16
USER_AGENT = "origin-auditor (AIA caIssuers diagnosis)"


class IssuerFetcher:
    """Downloads caIssuers URLs for one run, each URL once (thread-safe).

    resolver: name -> addresses (the run's resolver). allow: ranges CloudFront cannot reach that
    may be connected to anyway (a lab's loopback). timeout / max_bytes: per fetch. deadline: a
    ``time.monotonic()`` value after which nothing is fetched (the run's probe deadline).
    cafile: the CAs an https caIssuers URL's server is verified against (default: certifi's).
    fetches: how many downloads were really made (the rest came from the cache).
    """

    def __init__(self, *, resolver: Resolver, allow: Sequence[Network] = (),
                 timeout: float = FETCH_TIMEOUT_SECONDS, max_bytes: int = FETCH_MAX_BYTES,
                 deadline: float | None = None, cafile: str | None = None) -> None:
        self.resolver = resolver
        self.cafile = cafile or certifi.where()
        self.allow = tuple(allow)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.fetches = 0
        self._lock = threading.Lock()
        self._done: dict[str, Download] = {}
        self._pending: dict[str, threading.Event] = {}

    def get(self, url: str) -> Download:
        """What ``url`` serves (cached). Never raises."""
        while True:
            with self._lock:
                if url in self._done:
                    return self._done[url]
                waiting = self._pending.get(url)
                if waiting is None:
                    self._pending[url] = threading.Event()
                    self.fetches += 1
                    break
            waiting.wait()
        result = Download(url, error="could not be fetched (interrupted)")
        try:
            result = self._download(url)
        except Exception as exc:  # a bug must cost one fetch, never the run
            logger.exception("fetching %r failed", url[:200])
            result = Download(url, error=f"could not be fetched ({type(exc).__name__})")
        finally:  # whatever happened, nobody waiting for this URL waits forever
            with self._lock:
                self._done[url] = result
                self._pending.pop(url).set()
        return result

    # ------------------------------------------------------------------------------------

    def _download(self, url: str) -> Download:
        start = time.monotonic()
        end = start + self.timeout
        if self.deadline is not None:
            end = min(end, self.deadline)
        if end <= start:
            return Download(url, error="not fetched: the run's time budget was spent")
        budget = f"{number_text(self.timeout)} s"

        def fail(words: str) -> Download:
            return Download(url, error=words)

        if any(not 0x21 <= ord(ch) <= 0x7E for ch in url):
            return fail("not fetched: the URL holds spaces, control or non-ASCII characters")
        try:
            parts = urlsplit(url)
            port = parts.port
            host = parts.hostname
        except ValueError:
            return fail("not fetched: not a valid URL")
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            return fail(f"not fetched: only http and https URLs are fetched, not {scheme or 'this'}")
        if not host:
            return fail("not fetched: the URL names no host")
        port = port or (443 if scheme == "https" else 80)
        literal = ip_literal(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            answer = _resolve(self.resolver, host, port, end - time.monotonic())
            if isinstance(answer, str):
                return fail(answer.replace("{budget}", budget))
            addresses = answer
        usable = [a for a in addresses if address_class(a) is None or allowed(a, self.allow)]
        if not usable:
            kinds = sorted({str(address_class(a)) for a in addresses})
            return fail(f"not fetched: {host} resolves only to addresses CloudFront cannot reach "
                        f"({', '.join(kinds)}; {len(addresses)} address"
                        f"{'es' if len(addresses) != 1 else ''})")
        # Connect to the address just checked: resolving again could answer otherwise.
        address = usable[0]
        try:
            body = self._http_get(url, address, port, end)
        except TimeoutError:
            return fail(f"no complete answer within {budget}")
        except _Refused as exc:
            return fail(str(exc))
        except ssl.SSLError as exc:
            return fail(f"the https connection failed ({exc.reason or type(exc).__name__})")
        except OSError as exc:
            return fail(f"the connection failed ({exc.strerror or type(exc).__name__})")
        certs = certificates_in(body)
        if not certs:
            return fail(f"answered {len(body)} bytes that are not a certificate (DER, PEM or PKCS#7)")
        return Download(url, tuple(certs[:MAX_CERTIFICATES]))

    def _http_get(self, url: str, address: str, port: int, end: float) -> bytes:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = f"[{host}]" if ":" in host else host
        if port != (443 if scheme == "https" else 80):
            host_header += f":{port}"
        remaining = _remaining(end)
        sock: socket.socket = socket.create_connection((address, port), timeout=remaining)
        try:
            if scheme == "https":
                ctx = ssl.create_default_context(cafile=self.cafile)
                sock.settimeout(_remaining(end))
                sock = ctx.wrap_socket(sock, server_hostname=host)
            # HTTP/1.0: the answer ends when the connection closes, never chunked.
            request = (f"GET {target} HTTP/1.0\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
                       "Accept: */*\r\nConnection: close\r\n\r\n")
            sock.settimeout(_remaining(end))
            sock.sendall(request.encode("ascii"))
            return self._read_answer(sock, end)
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _read_answer(self, sock: socket.socket, end: float) -> bytes:
        data = bytearray()
        limit = self.max_bytes + MAX_HEADER_BYTES
        header_end = -1
        while True:
            sock.settimeout(_remaining(end))
            chunk = sock.recv(16384)
            if not chunk:
                break
            data += chunk
            if header_end < 0:
                header_end = data.find(b"\r\n\r\n")
                if header_end < 0 and len(data) > MAX_HEADER_BYTES:
                    raise _Refused(f"answered more than {MAX_HEADER_BYTES // 1024} KiB without "
                                   "ending its HTTP headers")
                if header_end >= 0:
                    _check_head(bytes(data[:header_end]), self.max_bytes)
            if header_end >= 0 and len(data) - header_end - 4 > self.max_bytes:
                raise _Refused(f"answered more than {self.max_bytes // 1024} KiB (the most read)")
            if len(data) > limit:
                raise _Refused(f"answered more than {self.max_bytes // 1024} KiB (the most read)")
        if header_end < 0:
            raise _Refused("closed the connection before a complete HTTP answer"
                           if data else "closed the connection without answering")
        return bytes(data[header_end + 4:])


class _Refused(Exception):
    """An answer the fetch does not take; the message is ours, never the server's bytes."""


def _remaining(end: float) -> float:
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _check_head(head: bytes, max_bytes: int) -> None:
    lines = head.split(b"\r\n")
    status = lines[0].split(b" ", 2)
    if len(status) < 2 or not status[0].startswith(b"HTTP/") or not status[1].isdigit():
        raise _Refused("answered something that is not HTTP")
    code = int(status[1][:3])
    if 300 <= code < 400:
        raise _Refused(f"answered HTTP {code}, a redirect (not followed: CAs serve issuers directly)")
    if code != 200:
        raise _Refused(f"answered HTTP {code}")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = value.strip()
            if length.isdigit() and int(length) > max_bytes:
                raise _Refused(f"announced {int(length)} bytes, more than {max_bytes // 1024} KiB "
                               "(not read)")


def _resolve(resolver: Resolver, host: str, port: int, seconds: float) -> list[str] | str:
    """The addresses of ``host``, or why not (``{budget}`` stands for the fetch's time limit).
    Bounded by ``seconds``: the lookup runs on a daemon thread left behind if it hangs."""
    if seconds <= 0:
        return "no complete answer within {budget}"
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["answer"] = list(dict.fromkeys(resolver(host, port)))
        except Exception as exc:  # OSError is the contract; anything else is a resolver bug
            box["error"] = exc

    worker = threading.Thread(target=run, name="aia-resolve", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        return "its name did not resolve within {budget}"
    if "error" in box:
        exc = box["error"]
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return f"its name did not resolve ({reason})"
    answer = box.get("answer")
    if not isinstance(answer, list) or not answer:
        return "its name resolved to no address"
    return [str(a) for a in answer]


def certificates_in(body: bytes) -> list[bytes]:
    """The DER certificates in an answer: one DER certificate, PEM certificates, or a PKCS#7
    bundle (DER or PEM). Empty when it is none of these. Never raises."""
    loaders: list[Callable[[bytes], list[x509.Certificate]]]
    if b"-----BEGIN" in body:
        loaders = [x509.load_pem_x509_certificates, pkcs7.load_pem_pkcs7_certificates]
    else:
        loaders = [lambda b: [x509.load_der_x509_certificate(b)], pkcs7.load_der_pkcs7_certificates]
    for load in loaders:
        with contextlib.suppress(Exception):  # not this format (or malformed): try the next
            return [c.public_bytes(Encoding.DER) for c in load(body)]
    return []


def issuer_trails(chains: Iterable[Sequence[bytes]], trust: TrustStore, fetcher: IssuerFetcher, *,
                  workers: int = 8) -> dict[str, IssuerTrail]:
    """For every chain whose sent path is incomplete, the trail its top's caIssuers URLs lead to,
    keyed by the SHA-256 of that top certificate (the judge looks it up there). Chains that share
    a top are followed once; trails run ``workers`` at a time. Never raises."""
    tops: dict[str, x509.Certificate] = {}
    for chain in chains:
        try:
            sent, malformed = parse_chain(chain)
            a = analyze_chain(sent, trust, malformed)
        except Exception:  # the judge reports a chain it cannot analyse
            logger.debug("issuer_trails: a chain could not be analysed", exc_info=True)
            continue
        if a.end == "incomplete" and a.path:
            tops.setdefault(a.path[-1].sha256, a.path[-1].cert)
    if not tops:
        return {}

    def follow(cert: x509.Certificate) -> IssuerTrail:
        return follow_issuers(cert, trust, fetcher.get)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tops))),
                            thread_name_prefix="aia") as pool:
        return dict(zip(tops, pool.map(follow, tops.values()), strict=True))
