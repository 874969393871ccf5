"""CloudFront's exact ClientHellos on the stdlib ``ssl`` engine: the client contexts, configured
through ctypes on the OpenSSL that ``_ssl`` links, and what a handshake negotiated.

Why this way: Python's ``ssl`` sets protocols and TLS <= 1.2 ciphers but not the supported groups,
the signature algorithms or the TLS 1.3 suites, and CloudFront's policies restrict all three
(``rules.OFFERS``). Keeping the stdlib engine keeps everything ``handshake`` relies on (MemoryBIO
driving, the chain captured exactly as sent, the same OpenSSL that sends the alerts); three
OpenSSL calls on the context's own ``SSL_CTX*`` complete the offer (SSL_CTX_set1_groups_list,
SSL_CTX_set1_sigalgs_list, SSL_CTX_set_ciphersuites). Measured: each offer's ClientHello carries
exactly the rule data's sets (``tests/integration/tls/test_offers.py``), at the speed of the
approximate context (``bench/README.md``).

The pointer is read from CPython's object layout (``PySSLContext``: ``PyObject_HEAD`` then
``SSL_CTX *ctx``; ``PySSLSocket``: ``PyObject_HEAD``, one ``PyObject*``, then ``SSL *ssl``), so
it is checked before any use: the context's options as OpenSSL reports them must equal
``ctx.options``, and an SSL's context must be that pointer. When the symbols are missing (a
statically linked ``_ssl``) or a check fails, nothing is configured: ``exact_offers()`` says why,
contexts fall back to the approximate offer (OpenSSL's default groups and signature schemes)
and the probe records it (``AddressProbe.offer_exact``); the judge says so (OFFER_APPROXIMATE).
"""

from __future__ import annotations

import ctypes
import ssl
import threading
import warnings
from collections.abc import Sequence
from typing import Any, Literal

from cryptography import x509
from cryptography.x509.oid import PublicKeyAlgorithmOID

from ..rules import DOCUMENTED, LEGACY_PROTOCOLS, OPENSSL_SIGALG_NAMES, S2N_2025, S2N_LEGACY, Offer

Kind = Literal["cloudfront", "s2n-legacy", "s2n-2025", "diagnostic", "tls13"]
"""Which client: an offer of ``rules.OFFERS`` ("cloudfront" is the documented one), a broad
TLS 1.0-1.2 one (every cipher, group and signature scheme), or a broad TLS 1.3 only one."""

OFFER_OF_KIND: dict[str, Offer] = {"cloudfront": DOCUMENTED, "s2n-legacy": S2N_LEGACY, "s2n-2025": S2N_2025}
KIND_OF_OFFER: dict[str, Kind] = {"documented": "cloudfront", "s2n-legacy": "s2n-legacy",
                                  "s2n-2025": "s2n-2025"}

_SSL_CTRL_SET_GROUPS_LIST = 92
_SSL_CTRL_SET_SIGALGS_LIST = 98
_SSL_CTRL_GET_PEER_SIGNATURE_NID = 108
_SSL_CTRL_GET_NEGOTIATED_GROUP = 134
_NID_UNKNOWN_GROUP = 0x01000000  # TLSEXT_nid_unknown: a group OpenSSL has no NID for

# The broad diagnostic offers: every group and signature scheme OpenSSL 3.0 has, CloudFront's
# first (so a server that takes both negotiates CloudFront's, and the diagnosis names the rest).
ALL_GROUPS: tuple[str, ...] = (
    "secp256r1", "x25519", "secp384r1", "x448", "secp521r1", "brainpoolP256r1", "brainpoolP384r1",
    "brainpoolP512r1", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192")
ALL_SIGNATURE_SCHEMES: tuple[str, ...] = (
    *S2N_2025.signature_schemes, "ed25519", "ed448")
ALL_TLS13_CIPHERS: tuple[str, ...] = (
    *S2N_2025.tls13_ciphers, "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256")

_TLS_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}

_HEAD = 2 * ctypes.sizeof(ctypes.c_ssize_t)  # PyObject_HEAD: ob_refcnt, ob_type
_PTR = ctypes.sizeof(ctypes.c_void_p)


class _Lib:
    """The OpenSSL functions used, bound once from the library ``_ssl`` links."""

    def __init__(self) -> None:
        # The extension module itself: dlsym on its handle sees the libssl it links.
        lib: Any = ctypes.CDLL(getattr(ssl, "_ssl").__file__)  # noqa: B009 - private, no stubs
        vp, i, lg = ctypes.c_void_p, ctypes.c_int, ctypes.c_long
        self.ctx_ctrl = _bind(lib.SSL_CTX_ctrl, lg, vp, i, lg, vp)
        self.ctx_get_options = _bind(lib.SSL_CTX_get_options, ctypes.c_uint64, vp)
        self.ctx_set_ciphersuites = _bind(lib.SSL_CTX_set_ciphersuites, i, vp, ctypes.c_char_p)
        self.ssl_ctrl = _bind(lib.SSL_ctrl, lg, vp, i, lg, vp)
        self.ssl_get_ctx = _bind(lib.SSL_get_SSL_CTX, vp, vp)
        self.peer_sig_type = _bind(lib.SSL_get_peer_signature_type_nid, i, vp, ctypes.POINTER(i))
        self.group_to_name = _bind(lib.SSL_group_to_name, ctypes.c_char_p, vp, i)
        self.nid2sn = _bind(lib.OBJ_nid2sn, ctypes.c_char_p, i)


def _bind(fn: Any, restype: Any, *argtypes: Any) -> Any:
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


class _State:
    """The library, bound on first use (``loaded``), or why it could not be (``why_not``)."""

    lib: _Lib | None = None
    why_not: str | None = None
    loaded = False


_STATE = _State()
_LIB_LOCK = threading.Lock()


def _lib() -> _Lib | None:
    with _LIB_LOCK:
        if not _STATE.loaded:
            _STATE.loaded = True
            try:
                lib = _Lib()
                if _ctx_pointer(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), lib) is None:
                    raise OSError("the SSLContext layout self-check failed")
                _STATE.lib = lib
            except (OSError, AttributeError, ImportError) as exc:
                _STATE.why_not = f"{type(exc).__name__}: {exc}"
        return _STATE.lib


def exact_offers() -> str | None:
    """None when exact offers can be made here, else why not (a run states it)."""
    _lib()
    return _STATE.why_not


def _ctx_pointer(ctx: ssl.SSLContext, lib: _Lib) -> int | None:
    """The SSL_CTX* of ``ctx``, or None when the layout check fails. Two checks: the options
    OpenSSL reports equal ``ctx.options``, and still do after a change made through Python."""
    if type(ctx).__basicsize__ < _HEAD + _PTR:  # not the C layout assumed
        return None
    ptr = ctypes.c_void_p.from_address(id(ctx) + _HEAD).value
    if not ptr:
        return None
    before = ctx.options
    if int(lib.ctx_get_options(ptr)) != int(before):
        return None
    ctx.options = before ^ ssl.OP_NO_TICKET
    same = int(lib.ctx_get_options(ptr)) == int(ctx.options)
    ctx.options = before
    return ptr if same and int(lib.ctx_get_options(ptr)) == int(before) else None


def _ssl_pointer(sslobj: ssl.SSLObject, lib: _Lib) -> int | None:
    inner = getattr(sslobj, "_sslobj", None)
    if inner is None or type(inner).__basicsize__ < _HEAD + 2 * _PTR:
        return None
    ptr = ctypes.c_void_p.from_address(id(inner) + _HEAD + _PTR).value
    ctx = _ctx_pointer(sslobj.context, lib)
    if not ptr or ctx is None or lib.ssl_get_ctx(ptr) != ctx:
        return None
    return int(ptr)


def _configure(ctx: ssl.SSLContext, groups: Sequence[str], schemes: Sequence[str],
               tls13: Sequence[str]) -> bool:
    lib = _lib()
    if lib is None:
        return False
    ptr = _ctx_pointer(ctx, lib)
    if ptr is None:
        return False
    sigalgs = ":".join(OPENSSL_SIGALG_NAMES.get(s, s) for s in schemes).encode()
    ok = (lib.ctx_ctrl(ptr, _SSL_CTRL_SET_GROUPS_LIST, 0, ctypes.c_char_p(":".join(groups).encode())) == 1
          and lib.ctx_ctrl(ptr, _SSL_CTRL_SET_SIGALGS_LIST, 0, ctypes.c_char_p(sigalgs)) == 1
          and (not tls13 or lib.ctx_set_ciphersuites(ptr, ":".join(tls13).encode()) == 1))
    return bool(ok)


def build_context(kind: Kind, offered: tuple[str, ...]) -> tuple[ssl.SSLContext, bool]:
    """A client context of ``kind`` whose lowest protocol is ``offered[0]`` (the offers' floor;
    ``handshake.offerable``), and whether it is exact (False: OpenSSL's default groups and
    signature schemes, see the module's docstring). Verification is off: the judge verifies."""
    if kind == "tls13":
        ctx = _client("TLSv1.3", "TLSv1.3", "ALL:@SECLEVEL=0")
        return ctx, _configure(ctx, ALL_GROUPS, ALL_SIGNATURE_SCHEMES, ALL_TLS13_CIPHERS)
    if kind == "diagnostic":
        ctx = _client("TLSv1", "TLSv1.2", "ALL:@SECLEVEL=0")
        return ctx, _configure(ctx, ALL_GROUPS, ALL_SIGNATURE_SCHEMES, ())
    offer = OFFER_OF_KIND[kind]
    if not offered:
        raise ValueError("no protocol this probe can offer")
    ciphers = ":".join(offer.ciphers)
    # Security level 0 always: the offers carry SHA-1 signature schemes (and TLS 1.0/1.1 when
    # the floor allows them), which OpenSSL 3 leaves out of a ClientHello above level 0.
    # DES-CBC3-SHA and RC4-MD5 are not in this OpenSSL's default provider: silently absent.
    ctx = _client(offered[0], offer.max_protocol, ciphers + ":@SECLEVEL=0")
    if _configure(ctx, offer.groups, offer.signature_schemes, offer.tls13_ciphers):
        return ctx, True
    # Never half-configured: the approximate offer is OpenSSL's whole default, with the security
    # level lowered only where TLS 1.0/1.1 need it.
    legacy = ":@SECLEVEL=0" if LEGACY_PROTOCOLS.intersection(offered) else ""
    return _client(offered[0], offer.max_protocol, ciphers + legacy), False


def _client(lowest: str, highest: str, ciphers: str) -> ssl.SSLContext:
    """A client context from ``lowest`` to ``highest`` offering ``ciphers`` (an OpenSSL string),
    verification off: the judge verifies."""
    with warnings.catch_warnings():
        # TLSVersion.TLSv1 raises DeprecationWarning; offering it on purpose is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = _TLS_VERSIONS[lowest]
        ctx.maximum_version = _TLS_VERSIONS[highest]
    ctx.set_ciphers(ciphers)
    return ctx


# --------------------------------------------------------------------------------------------
# What a completed handshake negotiated


_SCHEME_OF = {
    ("rsaEncryption", "SHA1"): "rsa_pkcs1_sha1", ("rsaEncryption", "SHA224"): "rsa_pkcs1_sha224",
    ("rsaEncryption", "SHA256"): "rsa_pkcs1_sha256", ("rsaEncryption", "SHA384"): "rsa_pkcs1_sha384",
    ("rsaEncryption", "SHA512"): "rsa_pkcs1_sha512",
    ("id-ecPublicKey", "SHA1"): "ecdsa_sha1", ("id-ecPublicKey", "SHA224"): "ecdsa_sha224",
    ("id-ecPublicKey", "SHA256"): "ecdsa_secp256r1_sha256",
    ("id-ecPublicKey", "SHA384"): "ecdsa_secp384r1_sha384",
    ("id-ecPublicKey", "SHA512"): "ecdsa_secp521r1_sha512",
    ("ED25519", None): "ed25519", ("ED448", None): "ed448",
}


def negotiated(sslobj: ssl.SSLObject, leaf: bytes | None) -> tuple[str | None, str | None]:
    """(group, signature scheme) of a completed handshake, IANA names; None for what did not
    happen (RSA key exchange signs nothing and uses no group) or cannot be read here.

    RSA-PSS: OpenSSL reports the algorithm, not rsae vs pss; the leaf's key says which (an
    RSASSA-PSS key, ``leaf``'s SubjectPublicKeyInfo, signs with rsa_pss_pss_*)."""
    lib = _lib()
    if lib is None:
        return None, None
    ptr = _ssl_pointer(sslobj, lib)
    if ptr is None:
        return None, None
    group: str | None = None
    nid = int(lib.ssl_ctrl(ptr, _SSL_CTRL_GET_NEGOTIATED_GROUP, 0, None))
    if nid > 0:
        if nid & _NID_UNKNOWN_GROUP:
            group = f"0x{nid & 0xFFFF:04x}"
        else:
            name = lib.group_to_name(ptr, nid)
            group = name.decode() if name else None
    scheme: str | None = None
    sig_type, sig_hash = ctypes.c_int(0), ctypes.c_int(0)
    if lib.peer_sig_type(ptr, ctypes.byref(sig_type)) == 1 and sig_type.value:
        lib.ssl_ctrl(ptr, _SSL_CTRL_GET_PEER_SIGNATURE_NID, 0,
                     ctypes.cast(ctypes.byref(sig_hash), ctypes.c_void_p))
        kind = _sn(lib, sig_type.value)
        digest = _sn(lib, sig_hash.value) if sig_hash.value else None
        if kind == "RSASSA-PSS" and digest:
            pss = leaf is not None and _pss_key(leaf)
            scheme = f"rsa_pss_{'pss' if pss else 'rsae'}_{digest.lower()}"
        elif kind is not None:
            scheme = _SCHEME_OF.get((kind, digest if kind not in ("ED25519", "ED448") else None))
    return group, scheme


def _sn(lib: _Lib, nid: int) -> str | None:
    name = lib.nid2sn(nid)
    return name.decode() if name else None


def _pss_key(leaf: bytes) -> bool:
    try:
        oid = x509.load_der_x509_certificate(leaf).public_key_algorithm_oid
    except Exception:  # a leaf that does not parse: rsae, the usual case
        return False
    return bool(oid == PublicKeyAlgorithmOID.RSASSA_PSS)
