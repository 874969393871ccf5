"""The TLS wire as the probe reads it: record and handshake constants, and the server-flight parser.

For TLS <= 1.2 everything a server sends before ChangeCipherSpec is plaintext: ServerHello,
Certificate, CertificateRequest, ServerHelloDone and alerts. ``ServerFlight`` reads those bytes
itself, next to OpenSSL, so the chain is known exactly as sent (order kept, certificates that do
not parse kept) even when OpenSSL rejects the handshake, and so hostile input is bounded by the
auditor's own caps rather than by whatever OpenSSL happens to do first.

The constants are RFC 5246 / RFC 8446 numbers; the lab's hand-built servers use the same ones.
"""

from __future__ import annotations

from enum import IntEnum

from ..rules import MAX_CERTIFICATE_BYTES, MAX_CERTIFICATES


class ContentType(IntEnum):
    """TLS record content types (RFC 8446 §5.1)."""

    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23


class HandshakeType(IntEnum):
    """The handshake message types a server sends in its first flight (RFC 5246 §7.4)."""

    SERVER_HELLO = 2
    CERTIFICATE = 11
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14


_CONTENT_TYPES = frozenset(int(t) for t in ContentType)

TLS1_2_WIRE_VERSION = 0x0303
"""The record/ServerHello version field of TLS 1.2 (also the legacy_version of TLS 1.3)."""

WIRE_VERSIONS: dict[int, str] = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1",
                                 TLS1_2_WIRE_VERSION: "TLSv1.2"}
"""Wire version -> protocol name as CloudFront's API spells it."""

ALERTS: dict[int, str] = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
    40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
    47: "illegal_parameter", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
    90: "user_canceled", 109: "missing_extension", 110: "unsupported_extension",
    112: "unrecognized_name", 116: "certificate_required", 120: "no_application_protocol",
}
"""Alert description code -> RFC name, for the alerts a server plausibly sends in a handshake."""

OPENSSL_MAX_CERT_LIST = 100 * 1024
"""OpenSSL's default max_cert_list: an OpenSSL-based client (CloudFront's behaves like one)
rejects a longer Certificate message on its header alone."""

MAX_RECORD_PAYLOAD = 16384 + 2048
"""The largest record payload a peer may send (RFC 5246 §6.2.3: ciphertext may exceed 2^14 by
2048); a longer length field is not TLS."""

MAX_HANDSHAKE_BYTES = 1024 * 1024
"""Everything the server may send before the handshake completes, all records together. A real
server flight is a few KiB; this bounds garbage floods and giant certificate messages."""

FIRST_BYTES_KEPT = 64
"""How many of the first bytes the server sent are kept verbatim (to quote a non-TLS answer)."""


class ServerFlight:
    """Parses the plaintext part of what a server sends: records, alerts, handshake messages.

    Feed it the server's bytes as they arrive (any fragmentation); the result is the same however
    they are split. Parsing stops at the first ChangeCipherSpec / application-data record
    (everything after is encrypted) and at the first thing that is not TLS or breaks a cap. At
    most ``MAX_CERTIFICATES`` certificates and ``MAX_CERTIFICATE_BYTES`` of DER are kept.

    Attributes (all describe what was seen so far):

    first_bytes: the first ``FIRST_BYTES_KEPT`` bytes received, verbatim.
    total: bytes received in all.
    not_tls: the first record header is not TLS (e.g. an HTTP or SSH answer).
    server_hello / server_version: a ServerHello arrived; its legacy_version as a protocol name
        (``"TLSv1.2"``; ``None`` if unknown or not seen).
    certificate_seen: a Certificate message began; ``certificate_length`` is its declared length.
    oversized: that length exceeds ``OPENSSL_MAX_CERT_LIST`` (the parser reads on by itself).
    too_large: an oversized Certificate message was read to its end (all of it kept).
    certificate_done: the Certificate message was read to its end.
    certs: the certificates kept, DER, in the order sent.
    cert_bytes: the DER bytes kept in ``certs``.
    truncated: a cap was hit; the rest of the Certificate message was not read.
    cert_request: the server sent a CertificateRequest.
    hello_done: the server sent ServerHelloDone.
    alert: the last plaintext alert as (level, description).
    malformed: why the bytes are TLS but broken (``None`` if they are not).
    encrypted: a ChangeCipherSpec or application-data record arrived; parsing stopped there.
    """

    def __init__(self) -> None:
        self.first_bytes = b""
        self.not_tls = False
        self.total = 0
        self.server_hello = False
        self.server_version: str | None = None
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
        """Parsing has given up: not TLS, a cap hit, too large, or malformed."""
        return self.not_tls or self.truncated or self.too_large or self.malformed is not None

    def feed(self, data: bytes) -> None:
        """Take the next bytes the server sent."""
        if len(self.first_bytes) < FIRST_BYTES_KEPT:
            self.first_bytes += data[: FIRST_BYTES_KEPT - len(self.first_bytes)]
        self.total += len(data)
        if self.encrypted or self.stopped:
            return
        self._records += data
        while len(self._records) >= 5 and not self.encrypted and not self.stopped:
            ctype, major, length = self._records[0], self._records[1], \
                int.from_bytes(self._records[3:5], "big")
            if ctype not in _CONTENT_TYPES or major != 3:
                if not (self.server_hello or self.alert):
                    self.not_tls = True
                else:
                    self.malformed = f"invalid TLS record header {bytes(self._records[:5]).hex()}"
                return
            if length > MAX_RECORD_PAYLOAD:
                self.malformed = f"TLS record of {length} bytes exceeds the protocol maximum"
                return
            if len(self._records) < 5 + length:
                return
            payload = bytes(self._records[5:5 + length])
            del self._records[:5 + length]
            if ctype == ContentType.HANDSHAKE:
                self._hs += payload
                self._parse_handshake()
            elif ctype == ContentType.ALERT and len(payload) >= 2:
                self.alert = (payload[0], payload[1])
            elif ctype in (ContentType.CHANGE_CIPHER_SPEC, ContentType.APPLICATION_DATA):
                self.encrypted = True

    def _parse_handshake(self) -> None:
        hs = self._hs
        while len(hs) >= 4 and not self.stopped:
            mtype = hs[0]
            length = int.from_bytes(hs[1:4], "big")
            if mtype == HandshakeType.CERTIFICATE and not self.certificate_done:
                if not self._parse_certificate(length):
                    return
            elif len(hs) < 4 + length:
                if length > MAX_HANDSHAKE_BYTES:
                    self.malformed = f"handshake message of {length} bytes"
                return
            if mtype == HandshakeType.SERVER_HELLO:
                self.server_hello = True
                if length >= 2:
                    self.server_version = WIRE_VERSIONS.get(int.from_bytes(hs[4:6], "big"))
            elif mtype == HandshakeType.CERTIFICATE_REQUEST:
                self.cert_request = True
            elif mtype == HandshakeType.SERVER_HELLO_DONE:
                self.hello_done = True
            del hs[:4 + length]

    def _parse_certificate(self, length: int) -> bool:
        """Take certificates out of a (possibly partial) Certificate message. True when complete."""
        self.certificate_seen = True
        self.certificate_length = length
        if length > OPENSSL_MAX_CERT_LIST:
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
# The ClientHello (what an offer really carries: the fidelity test and the benchmark read it)

GROUP_NAMES: dict[int, str] = {
    0x0015: "secp224r1", 0x0016: "secp256k1", 0x0017: "secp256r1", 0x0018: "secp384r1",
    0x0019: "secp521r1", 0x001A: "brainpoolP256r1", 0x001B: "brainpoolP384r1",
    0x001C: "brainpoolP512r1", 0x001D: "x25519", 0x001E: "x448", 0x0100: "ffdhe2048",
    0x0101: "ffdhe3072", 0x0102: "ffdhe4096", 0x0103: "ffdhe6144", 0x0104: "ffdhe8192",
    0x11EB: "SecP256r1MLKEM768", 0x11EC: "X25519MLKEM768", 0x11ED: "SecP384r1MLKEM1024",
}
"""IANA TLS Supported Groups, the ones an offer or a diagnosis names."""

SIGNATURE_SCHEME_NAMES: dict[int, str] = {
    0x0201: "rsa_pkcs1_sha1", 0x0203: "ecdsa_sha1", 0x0301: "rsa_pkcs1_sha224",
    0x0303: "ecdsa_sha224", 0x0401: "rsa_pkcs1_sha256", 0x0403: "ecdsa_secp256r1_sha256",
    0x0501: "rsa_pkcs1_sha384", 0x0503: "ecdsa_secp384r1_sha384", 0x0601: "rsa_pkcs1_sha512",
    0x0603: "ecdsa_secp521r1_sha512", 0x0804: "rsa_pss_rsae_sha256", 0x0805: "rsa_pss_rsae_sha384",
    0x0806: "rsa_pss_rsae_sha512", 0x0807: "ed25519", 0x0808: "ed448", 0x0809: "rsa_pss_pss_sha256",
    0x080A: "rsa_pss_pss_sha384", 0x080B: "rsa_pss_pss_sha512",
}
"""IANA TLS SignatureScheme values (s2n's names for the SHA-224 pair, which IANA leaves unnamed)."""

_VERSION_NAMES = {**WIRE_VERSIONS, 0x0304: "TLSv1.3"}


class ClientHello:
    """The sets a ClientHello offers, parsed from its first record(s): cipher suite values,
    supported groups, signature schemes, supported versions (or the legacy version) and SNI.
    Raises ValueError on anything that is not a well-formed ClientHello."""

    def __init__(self, data: bytes) -> None:
        body = b""
        pos = 0
        while pos + 5 <= len(data) and (len(body) < 4 or len(body) < 4 + int.from_bytes(body[1:4], "big")):
            if data[pos] != ContentType.HANDSHAKE:
                raise ValueError("not a handshake record")
            n = int.from_bytes(data[pos + 3:pos + 5], "big")
            body += data[pos + 5:pos + 5 + n]
            pos += 5 + n
        if len(body) < 4 or body[0] != 1:
            raise ValueError("not a ClientHello")
        hello = body[4:4 + int.from_bytes(body[1:4], "big")]
        legacy = int.from_bytes(hello[0:2], "big")
        i = 2 + 32
        i += 1 + hello[i]  # session id
        n = int.from_bytes(hello[i:i + 2], "big")
        self.cipher_suites: tuple[int, ...] = tuple(
            int.from_bytes(hello[j:j + 2], "big") for j in range(i + 2, i + 2 + n, 2))
        i += 2 + n
        i += 1 + hello[i]  # compression methods
        self.groups: tuple[int, ...] = ()
        self.signature_schemes: tuple[int, ...] = ()
        self.versions: tuple[str, ...] = (_VERSION_NAMES.get(legacy, hex(legacy)),)
        self.sni: str | None = None
        self.key_shares: tuple[int, ...] = ()
        end = i + 2 + int.from_bytes(hello[i:i + 2], "big") if i + 2 <= len(hello) else i
        i += 2
        while i + 4 <= end:
            ext, n = int.from_bytes(hello[i:i + 2], "big"), int.from_bytes(hello[i + 2:i + 4], "big")
            value = hello[i + 4:i + 4 + n]
            i += 4 + n
            if ext == 10:
                self.groups = _u16s(value[2:])
            elif ext == 13:
                self.signature_schemes = _u16s(value[2:])
            elif ext == 43:
                self.versions = tuple(_VERSION_NAMES.get(v, hex(v)) for v in _u16s(value[1:]))
            elif ext == 0 and len(value) > 5:
                self.sni = value[5:5 + int.from_bytes(value[3:5], "big")].decode("ascii", "replace")
            elif ext == 51:
                shares, j = [], 2
                while j + 4 <= len(value):
                    shares.append(int.from_bytes(value[j:j + 2], "big"))
                    j += 4 + int.from_bytes(value[j + 2:j + 4], "big")
                self.key_shares = tuple(shares)

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(GROUP_NAMES.get(g, f"0x{g:04x}") for g in self.groups)

    @property
    def signature_scheme_names(self) -> tuple[str, ...]:
        return tuple(SIGNATURE_SCHEME_NAMES.get(s, f"0x{s:04x}") for s in self.signature_schemes)


def _u16s(data: bytes) -> tuple[int, ...]:
    return tuple(int.from_bytes(data[j:j + 2], "big") for j in range(0, len(data) - 1, 2))
