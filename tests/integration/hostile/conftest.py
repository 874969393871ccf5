"""One mixed run of hostile and ordinary origins, shared by every test in this package.

The point of issue 5 is that a hostile origin costs one finding, not the run: so all origins
below are probed and judged together, by ONE ``pipeline.check_targets`` call, with real TLS
servers on loopback (or hand-built TLS flights for bytes OpenSSL refuses to load). Each test
module then looks up the origin it is about and pins its result; ``test_mixed_run`` pins that
the ordinary origins interleaved with the hostile ones still get their correct result.

Certificates that ``cryptography`` refuses to build (notBefore after notAfter, a
GeneralizedTime for a year UTCTime must encode) are made by editing the DER of a generated
certificate and signing it again (``resign_with_validity``).
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from origin_auditor.model import AuditReport, Finding, Severity, Target, TargetResult
from origin_auditor.pipeline import check_report, check_targets
from origin_auditor.probe import static_resolver
from origin_auditor.rules import Code
from origin_auditor.trust import TrustStore
from origin_auditor_lab import LOOPBACK
from origin_auditor_lab.pki import Issued, Pki, issue
from origin_auditor_lab.servers import TlsServer, handbuilt_server

# Every hostile server here answers at once (none stalls), so a short timeout is plenty; the
# run's elapsed time is asserted against a generous multiple of it, never a tight figure.
TIMEOUT = 1.0
BOUND = 10 * TIMEOUT

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)

# 300 loopback addresses for the "name resolving to hundreds of addresses" origin.
MANY_ADDRESSES = tuple([f"127.0.1.{i}" for i in range(1, 151)] + [f"127.0.2.{i}" for i in range(1, 151)])

# A leaf with 20,000 SAN entries that still fits OpenSSL's 100 KiB Certificate-message limit:
# 19,999 three-letter names (5 bytes each on the wire) and the real name last.
SAN_BULK_NAME = "bulk.test"
SAN_COUNT = 20_000
GARBAGE_DER = b"\x30\x03\x02\x01\x00"  # a SEQUENCE holding an INTEGER: DER, but not a certificate
NOTE = Finding(Code.HOST_REWRITE_UNVERIFIABLE, Severity.INFO,
               "A CloudFront Function on the default behavior may rewrite Host.", "Check its code.")
MIB_BLOB = b"\x30\x84" + (4 * 1024 * 1024).to_bytes(4, "big") + b"\x00" * (4 * 1024 * 1024)


# --------------------------------------------------------------------------- DER surgery


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _read_tlv(data: bytes, offset: int) -> tuple[int, int]:
    """(start of the content, end of the element) of the DER element at ``offset``."""
    first = data[offset + 1]
    if first < 0x80:
        return offset + 2, offset + 2 + first
    k = first & 0x7F
    n = int.from_bytes(data[offset + 2:offset + 2 + k], "big")
    return offset + 2 + k, offset + 2 + k + n


def _elements(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    offset = 0
    while offset < len(data):
        _start, end = _read_tlv(data, offset)
        out.append(data[offset:end])
        offset = end
    return out


def utc_time(text: str) -> bytes:
    """A DER UTCTime (two-digit year: 50-99 are 19xx, 00-49 are 20xx), e.g. ``500101000000Z``."""
    return _tlv(0x17, text.encode("ascii"))


def generalized_time(text: str) -> bytes:
    """A DER GeneralizedTime (four-digit year), e.g. ``19500101000000Z``."""
    return _tlv(0x18, text.encode("ascii"))


def resign_with_validity(cert: Issued, issuer: Issued, not_before: bytes, not_after: bytes) -> bytes:
    """``cert`` with its Validity replaced by the two given DER times, signed again by ``issuer``.

    cryptography's builder refuses notBefore > notAfter and always picks the RFC 5280 time type;
    an origin's certificate is made by whatever tool its owner used, so the test edits the DER.
    """
    assert isinstance(issuer.key, ec.EllipticCurvePrivateKey), "the test PKI signs with ECDSA"
    der = cert.der
    start, end = _read_tlv(der, 0)
    tbs, signature_algorithm, _signature = _elements(der[start:end])
    tbs_start, tbs_end = _read_tlv(tbs, 0)
    fields = _elements(tbs[tbs_start:tbs_end])
    validity = 4 if fields[0][0] == 0xA0 else 3  # after [0] version, serial, signature, issuer
    fields[validity] = _tlv(0x30, not_before + not_after)
    new_tbs = _tlv(0x30, b"".join(fields))
    signature = issuer.key.sign(new_tbs, ec.ECDSA(hashes.SHA256()))
    return _tlv(0x30, new_tbs + signature_algorithm + _tlv(0x03, b"\x00" + signature))


def pem_of_der(der: bytes) -> bytes:
    """PEM armour around any DER (also bytes cryptography would not load), for TlsServer."""
    b64 = base64.encodebytes(der).replace(b"\n", b"")
    lines = b"\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----\n"


# --------------------------------------------------------------------------- the origins


@dataclass
class Origin:
    """One origin of the mixed run.

    name: key of its result in ``MixedRun.results``.
    server: the loopback server (started by the fixture; shared by origins that reuse a port).
    host: the origin domain name (resolved by the run's static resolver; also the SNI).
    addresses: what ``host`` resolves to.
    certs: certificates the test wants to refer to (leaf, DER sent, ...), by role.
    notes: target-level findings from "discovery" that the result must carry (once).
    """

    name: str
    server: Any
    host: str
    addresses: Sequence[str] = ("127.0.0.1",)
    certs: dict[str, Any] = field(default_factory=dict)
    notes: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class MixedRun:
    """The result of the one run.

    results: origin name -> its TargetResult.
    origins: origin name -> the Origin (server, certificates).
    targets: the targets in the order they were passed to ``check_targets``.
    ordered: the TargetResults in the order ``check_targets`` returned them.
    report: the same results as an AuditReport, for the renderers.
    elapsed: seconds the whole ``check_targets`` call took.
    pki: the PKI every ordinary certificate comes from (its root is the only trusted root).
    """

    results: dict[str, TargetResult]
    origins: dict[str, Origin]
    targets: tuple[Target, ...]
    ordered: tuple[TargetResult, ...]
    report: AuditReport
    elapsed: float
    pki: Pki


def _loopback_bindable(address: str) -> bool:
    s = socket.socket()
    try:
        s.bind((address, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _three_letter_names(count: int) -> list[str]:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return ["".join(t) for t in itertools.islice(itertools.product(alphabet, repeat=3), count)]


def _origins(pki: Pki) -> tuple[list[Origin], list[Issued]]:
    """Every origin of the run, ordinary ones interleaved with hostile ones, and the roots to
    trust (one per PKI used)."""
    inter = pki.intermediates[0]
    chain_tail = [inter]

    def leaf(cn: str, **kw: Any) -> Issued:
        return issue(cn, inter, **kw)

    def served(name: str, host: str, cert: Issued, **kw: Any) -> Origin:
        return Origin(name, TlsServer([cert, *chain_tail], **kw), host, certs={"leaf": cert})

    def served_der(name: str, host: str, leaf_der: bytes, key: Issued) -> Origin:
        # Bytes cryptography may refuse to load: TlsServer takes PEM plus the key.
        srv = TlsServer([pem_of_der(leaf_der), inter.pem], key=key.key)
        return Origin(name, srv, host, certs={"leaf_der": leaf_der})

    good = Pki(hostnames=tuple(f"good-{i}.test" for i in range(1, 5)), root_name="Good Origins Root")
    good_chain = good.chain()
    order_pki = Pki(hostnames=("order.test",), depth=2, root_name="Order Test Root")

    origins: list[Origin] = [Origin("good-1", TlsServer(good_chain), "good-1.test",
                           certs={"chain": good_chain})]

    # ---- absurd dates
    origins.append(served("date-9999", "date-9999.test", leaf(
        "date-9999.test", not_after=dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))))
    inverted = leaf("date-inverted.test")
    origins.append(served_der("date-inverted", "date-inverted.test", resign_with_validity(
        inverted, inter,
        utc_time((NOW + dt.timedelta(days=365)).strftime("%y%m%d%H%M%SZ")),
        utc_time((NOW - dt.timedelta(days=365)).strftime("%y%m%d%H%M%SZ"))), inverted))
    origins.append(served("date-1950-2049", "date-1950-2049.test", leaf(
        "date-1950-2049.test", not_before=dt.datetime(1950, 1, 1, tzinfo=UTC),
        not_after=dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC))))
    # cryptography will not build a notBefore before 1950 (UTCTime's range): edit the DER.
    before_1950 = leaf("date-1949-2050.test")
    origins.append(served_der("date-1949-2050", "date-1949-2050.test", resign_with_validity(
        before_1950, inter, generalized_time("19491231235959Z"), generalized_time("20500101000000Z")),
        before_1950))
    origins.append(served("date-expired-1950", "date-expired-1950.test", leaf(
        "date-expired-1950.test", not_before=dt.datetime(1950, 1, 1, tzinfo=UTC),
        not_after=dt.datetime(1950, 12, 31, 23, 59, 59, tzinfo=UTC))))
    origins.append(served("date-future-2049", "date-future-2049.test", leaf(
        "date-future-2049.test", not_before=dt.datetime(2049, 1, 1, tzinfo=UTC),
        not_after=dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC))))
    gen = leaf("date-generalized-1950.test")
    origins.append(served_der("date-generalized-1950", "date-generalized-1950.test", resign_with_validity(
        gen, inter, generalized_time("19500101000000Z"), generalized_time("20491231235959Z")), gen))

    origins.append(Origin("control-incomplete", TlsServer([good.leaf]), "good-2.test"))

    # ---- enormous SAN lists
    bulk = leaf(SAN_BULK_NAME, dns_names=[*_three_letter_names(SAN_COUNT - 1), SAN_BULK_NAME])
    bulk_server = TlsServer([bulk, *chain_tail])
    origins.append(Origin("san-20000", bulk_server, SAN_BULK_NAME, certs={"leaf": bulk}))
    origins.append(Origin("san-20000-miss", bulk_server, "not-listed.test", certs={"leaf": bulk}))
    huge = leaf("huge-san.test", dns_names=[f"host-{i:05d}.huge-san.example.test" for i in range(SAN_COUNT)]
                + ["huge-san.test"])
    origins.append(served("san-20000-long", "huge-san.test", huge))

    origins.append(Origin("good-3", TlsServer(good_chain), "good-3.test",
                          certs={"chain": good_chain}))

    # ---- NUL bytes, IDNA, control characters in names
    origins.append(served("nul-san", "good.test", leaf("good.test", dns_names=["good.test\x00.evil.test"])))
    origins.append(served("nul-cn", "good.test", leaf("good.test\x00.evil.test", include_san=False)))
    idna_server = TlsServer([leaf("xn--bcher-kva.test"), *chain_tail])
    origins.append(Origin("idna-match", idna_server, "bücher.test"))
    origins.append(Origin("idna-mismatch", idna_server, "bûcher.test"))
    # Self-signed, names full of terminal control sequences: a report must show them escaped.
    forged = issue("evil\x1b[2J\r\nPASS  forged.test\u202e\x07",
                   dns_names=["a\nFAIL b.test", "c\x1b[31m.test\x00"])
    origins.append(Origin("control-chars", TlsServer([forged]), "ctrl.test", certs={"leaf": forged}))

    # ---- hand-built flights: DER that does not parse, MiB, hundreds of certificates
    ok_leaf = leaf("handbuilt.test")
    origins.append(Origin("der-garbage-middle", handbuilt_server([ok_leaf.der, GARBAGE_DER, inter.der]),
                          "handbuilt.test"))
    origins.append(Origin("der-truncated-leaf", handbuilt_server([ok_leaf.der[:-20], inter.der]),
                          "handbuilt.test"))
    origins.append(Origin("several-mib", handbuilt_server([ok_leaf.der, inter.der, MIB_BLOB]),
                          "handbuilt.test"))
    origins.append(Origin("several-mib-before-intermediate",
                          handbuilt_server([ok_leaf.der, MIB_BLOB, inter.der]), "handbuilt.test"))
    unrelated = issue("unrelated.test")
    # 150 small certificates (~75 KB): under OpenSSL's 100 KiB limit, over the probe's 32-certificate cap.
    origins.append(Origin("hundreds-under-100k",
                          handbuilt_server([ok_leaf.der, inter.der, *[unrelated.der] * 150]),
                          "handbuilt.test", certs={"unrelated": unrelated}))
    origins.append(Origin("hundreds-of-certs",
                          handbuilt_server([ok_leaf.der, inter.der, *[unrelated.der] * 300]),
                          "handbuilt.test", certs={"unrelated": unrelated}))

    wrong = [order_pki.leaf, order_pki.intermediates[0], order_pki.intermediates[1]]
    origins.append(Origin("control-wrong-order", TlsServer(wrong), "order.test"))

    # ---- a name resolving to 300 addresses
    if _loopback_bindable(MANY_ADDRESSES[-1]):
        many_leaf = leaf("many.test")
        origins.append(Origin("many-addresses", TlsServer([many_leaf, *chain_tail], host=MANY_ADDRESSES),
                              "many.test", addresses=MANY_ADDRESSES))

    # ---- client certificates
    origins.append(served("client-cert-optional", "mtls-optional.test", leaf("mtls-optional.test"),
                          client_cert="optional"))
    origins.append(served("client-cert-required", "mtls-required.test", leaf("mtls-required.test"),
                          client_cert="required"))

    # Markdown goes to chat and pull-request comments: a certificate name must not become a link.
    phish = issue("[Fix now](https://evil.example/fix)", dns_names=["[click](https://evil.example/x)"])
    origins.append(Origin("markdown-link", TlsServer([phish]), "md.test"))
    # An ordinary origin that discovery annotated (an edge function may rewrite Host).
    origins.append(Origin("good-with-note", TlsServer(good_chain), "good-1.test", notes=(NOTE,)))

    origins.append(Origin("good-4", TlsServer(good_chain), "good-4.test",
                          certs={"chain": good_chain}))
    return origins, [pki.root, good.root, order_pki.root]


@pytest.fixture(scope="session")
def pki() -> Pki:
    """The run's PKI: root -> intermediate; its root is the only trusted root."""
    return Pki(hostnames=("origin.test",))


@pytest.fixture(scope="session")
def mixed_run(pki: Pki) -> Iterator[MixedRun]:
    origins, roots = _origins(pki)
    servers = list({id(o.server): o.server for o in origins}.values())
    started: list[Any] = []
    try:
        for s in servers:
            started.append(s.start())
        mapping: dict[str, list[str]] = {}
        for o in origins:
            mapping.setdefault(o.host, [])
            for a in o.addresses:
                if a not in mapping[o.host]:
                    mapping[o.host].append(a)
        targets = tuple(Target(o.host, o.server.port, notes=o.notes) for o in origins)
        trust = TrustStore.from_certificates([r.cert for r in roots], "hostile test roots")
        t0 = time.monotonic()
        # The names answer loopback, which CloudFront cannot reach: opened explicitly for the lab.
        ordered = check_targets(targets, resolver=static_resolver(mapping), trust=trust, timeout=TIMEOUT,
                                allow=LOOPBACK)
        elapsed = time.monotonic() - t0
        yield MixedRun(
            results={o.name: r for o, r in zip(origins, ordered, strict=True)},
            origins={o.name: o for o in origins},
            targets=targets,
            ordered=tuple(ordered),
            report=check_report(ordered),
            elapsed=elapsed,
            pki=pki,
        )
    finally:
        for s in started:
            s.close()


def codes(findings: Sequence[Finding] | TargetResult) -> list[str]:
    """The finding codes in order (of a result or a list of findings)."""
    fs = findings.findings if isinstance(findings, TargetResult) else findings
    return [str(f.code) for f in fs]


def only(result: TargetResult, code: str) -> Finding:
    """The single finding with ``code`` (fails the test when there is none or several)."""
    found = [f for f in result.findings if str(f.code) == code]
    assert len(found) == 1, (code, codes(result), result.findings)
    return found[0]
