"""Verdicts on what resolution and the handshakes showed: DNS (and answers CloudFront cannot
reach), connect, protocol, cipher, the client-certificate request, certificate data too large,
what a port that does not speak TLS answered with, and targets that were not probed.

Reads the probe's facts (``ProbeResult``, ``AddressProbe``) and says what they mean for
CloudFront's next connection. No I/O. The certificates themselves are judged in ``core``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..model import (
    AddressProbe,
    Finding,
    NonPublicAddress,
    NotAudited,
    NotProbed,
    ProbeResult,
    Severity,
    Target,
)
from ..model import HandshakeOutcome as Outcome
from ..present.reproduce import openssl_command
from ..rules import (
    CLOUDFRONT_ORIGIN_CIPHERS,
    CODES,
    DOCUMENTED,
    LEGACY_PROTOCOLS,
    MAX_CERTIFICATE_BYTES,
    MAX_CERTIFICATES,
    METADATA_ADDRESSES,
    OFFERS,
    S2N_2025,
    AddressClass,
    Code,
)
from ..tls.wire import ALERTS, OPENSSL_MAX_CERT_LIST
from ..x509.chain import is_ca, parse_chain
from ..x509.names import ip_literal
from .findings import finding

_NOT_PROBED_WHY = {
    NotProbed.TIME_BUDGET: "the run's time budget ran out before its handshake could complete",
    NotProbed.INTERNAL_ERROR: "the probe lost it to an internal error",
}

# What the probe's facts say about why a target was not audited (``not_audited``).
_NOT_AUDITED_BY_PROBE = {
    NotProbed.TIME_BUDGET: NotAudited.TIME_BUDGET,
    NotProbed.INTERNAL_ERROR: NotAudited.INTERNAL_ERROR,
}


def not_audited(result: ProbeResult) -> NotAudited | None:
    """Why the probe left the target as a whole (or some of its addresses) unaudited, from its
    facts: an internal error, no address probed (``not_probed``), addresses cut by the time
    budget; None when it did not. The same order as ``target_findings`` words them; an
    address's own internal error is ``address_not_audited``."""
    if result.internal_error is not None:
        return NotAudited.INTERNAL_ERROR
    if result.not_probed is not None:
        return _NOT_AUDITED_BY_PROBE[result.not_probed]
    if result.time_budget_skipped:
        return NotAudited.TIME_BUDGET
    return None


def address_not_audited(result: ProbeResult) -> NotAudited | None:
    """INTERNAL_ERROR when the probe failed on one of the target's addresses (its result is
    unknown: ``address_findings`` says so), else None."""
    return NotAudited.INTERNAL_ERROR if any(a.internal_error is not None for a in result.addresses) else None


_SKIPPED_WHY = {
    NotProbed.TIME_BUDGET: "the run's time budget ran out",
    NotProbed.INTERNAL_ERROR: "internal error",
}
_BUG_HINT = "Re-run the check; report the error if it persists."


_ADDRESS_CLASS_WORDS = {
    AddressClass.UNSPECIFIED: "the unspecified address",
    AddressClass.LOOPBACK: "a loopback address",
    AddressClass.PRIVATE: "a private address (RFC 1918 / unique local)",
    AddressClass.SHARED: "a carrier-grade NAT address (100.64.0.0/10)",
    AddressClass.LINK_LOCAL: "a link-local address",
    AddressClass.MULTICAST: "a multicast address",
    AddressClass.DOCUMENTATION: "an address reserved for documentation",
    AddressClass.RESERVED: "a reserved address that is not routed on the internet",
}


def target_findings(result: ProbeResult) -> list[Finding]:
    """Findings about the target as a whole: DNS, the address cap, answers CloudFront cannot
    reach, what was not probed, and an internal error of the probe. In that order;
    address-level findings come from ``address_findings``."""
    target = result.target
    out: list[Finding] = []
    if result.dns_error is not None:
        out.append(finding(
            Code.DNS_RESOLUTION_FAILED,
            f"{target.host} does not resolve ({result.dns_error}). CloudFront returns 502 "
            "(NonS3OriginDnsError)."))
    elif result.resolved == 0:
        out.append(finding(Code.DNS_RESOLUTION_FAILED,
                           f"{target.host} resolved to no addresses. CloudFront returns 502."))
    if result.capped_at is not None and result.resolved is not None:
        out.append(finding(
            Code.ADDRESSES_CAPPED,
            f"{target.host} resolved to {result.resolved} addresses; the first {result.capped_at} "
            f"were probed and {result.resolved - result.capped_at} skipped."))
    out += [_not_public(target, a) for a in result.not_public]
    if result.internal_error is not None:
        # A bug in the auditor says nothing about the origin: not audited, never "failing".
        out.append(finding(
            Code.ORIGIN_NOT_PROBED, f"{target.display} was not audited: the probe failed with an "
            f"internal error ({result.internal_error}).", hint=_BUG_HINT))
    if result.not_probed is not None:
        out.append(finding(Code.ORIGIN_NOT_PROBED,
                           f"{target.display} was not probed: {_NOT_PROBED_WHY[result.not_probed]}."))
    elif result.time_budget_skipped:
        total = len(result.addresses) + result.time_budget_skipped
        out.append(finding(
            Code.ORIGIN_NOT_PROBED,
            f"{result.time_budget_skipped} of {total} addresses of {target.display} were not "
            "probed: the run's time budget ran out before their handshakes could complete."))
    return out


def _not_public(target: Target, answer: NonPublicAddress) -> Finding:
    shown = answer.address
    if answer.address.split("%", 1)[0] in METADATA_ADDRESSES:
        shown += " (the instance-metadata service)"
    what = _ADDRESS_CLASS_WORDS[answer.kind]
    said = (f"The origin {shown} is {what}." if ip_literal(target.host) is not None
            else f"{target.host} resolves to {shown}, {what}.")
    return finding(
        Code.ADDRESS_NOT_PUBLIC,
        f"{said} CloudFront resolves origins in public DNS and connects from the internet: it "
        "cannot reach this address and returns 502. The auditor did not connect to it.", answer.address)


def address_findings(target: Target, probe: AddressProbe) -> list[Finding]:
    """What one address's handshakes mean for CloudFront: at most one finding about the
    handshake itself, then CLIENT_CERT_REQUESTED when the server asked for a certificate."""
    address = probe.address
    if probe.internal_error is not None:
        return [finding(
            Code.ORIGIN_NOT_PROBED,
            f"The probe of {address}:{target.port} failed with an internal error: "
            f"{probe.internal_error}. This address was not audited; its result is unknown.",
            address, hint=_BUG_HINT)]
    if probe.offered == ():
        return [finding(
            Code.NO_COMMON_PROTOCOL,
            f"The origin allows only {', '.join(target.protocols) or 'no protocol'} "
            "(OriginSslProtocols); SSLv3 cannot be negotiated by CloudFront's current edge nor "
            "tested by this auditor.", address, hint="Allow TLSv1.2 in the origin's OriginSslProtocols.")]
    where = f"{address}:{target.port}" if ":" not in address else f"[{address}]:{target.port}"
    outcome = probe.outcome
    if outcome is None:  # not attempted (a hand-built probe): nothing to say about the handshake
        return []
    if outcome is Outcome.REFUSED:
        return [finding(
            Code.CONNECT_FAILED,
            f"TCP connect to {where} failed ({probe.detail or 'connection refused'}). CloudFront "
            "returns 502 when it cannot connect to the origin.", address)]
    if outcome is Outcome.CONNECT_TIMEOUT:
        return [finding(
            Code.CONNECT_TIMEOUT,
            f"No answer to the TCP connect to {where} within {_seconds(probe.connect_timeout)} s "
            "(dropped by a firewall or the host is down). CloudFront returns 504 when the origin "
            "does not answer.", address)]
    out: list[Finding] = []
    own = _handshake_finding(target, probe, where)
    if own is not None:
        out.append(own)
    if not probe.offer_exact:
        out.append(finding(
            Code.OFFER_APPROXIMATE,
            f"{where} was probed with OpenSSL's default curves and signature schemes: this "
            "Python's OpenSSL could not be set to CloudFront's exact offers, so an origin that "
            "fails only on those would pass here.", address))
    if probe.client_cert_requested:
        out.append(finding(
            Code.CLIENT_CERT_REQUESTED,
            f"{where} asks for a client certificate (TLS CertificateRequest). CloudFront sends "
            "none and the origin request fails unless origin mTLS is configured.", address))
    return out


def _handshake_finding(target: Target, probe: AddressProbe, where: str) -> Finding | None:
    """The one finding about how the handshakes went, once the TCP connect succeeded."""
    address = probe.address
    offered = probe.offered or ()
    outcome = probe.outcome
    if outcome is Outcome.OK:
        if probe.protocol in LEGACY_PROTOCOLS:
            return finding(
                Code.LEGACY_PROTOCOL,
                f"{where} negotiated {probe.protocol} with CloudFront's offer; it does not accept "
                "TLS 1.2 with CloudFront's ciphers. TLS 1.0/1.1 are deprecated.", address,
                hint="Enable TLS 1.2 with an ECDHE AES-GCM suite on the origin, then allow only TLSv1.2.")
        return None
    if outcome is Outcome.TIMEOUT:
        got = f" after it sent {probe.bytes_received} bytes" if probe.bytes_received else " (it sent nothing)"
        return finding(
            Code.HANDSHAKE_TIMEOUT,
            f"The TLS handshake with {where} did not complete within {_seconds(probe.timeout)} s{got}. "
            "CloudFront gives up and returns 502/504.", address,
            hint=f"{CODES[Code.HANDSHAKE_TIMEOUT].fix} Reproduce: {openssl_command(target, address)}")
    if outcome is Outcome.TOO_LARGE:
        return _too_large(probe, where)
    if outcome is Outcome.NOT_TLS:
        return finding(
            Code.HANDSHAKE_FAILED,
            f"{where} does not speak TLS: it answered with "
            f"{describe_not_tls(probe.first_bytes, probe.bytes_received)}. "
            "CloudFront cannot connect over HTTPS and returns 502.", address,
            hint="Point the origin's HTTPSPort at the TLS listener (or use http-only for a plain-HTTP "
                 f"origin). Reproduce: {openssl_command(target, address)}")
    if outcome is Outcome.FLOOD:
        return finding(Code.HANDSHAKE_FAILED, f"{where}: {probe.detail}.", address)
    if probe.offer in _S2N_OFFERS:
        return _undocumented_only(target, probe, where)
    if probe.diagnostic_outcome is Outcome.OK:
        # CloudFront's offers failed where a broad one succeeds: the protocol, the group, the
        # signature scheme or the ciphers.
        if probe.diagnostic_protocol not in offered:
            return finding(
                Code.NO_COMMON_PROTOCOL,
                f"{where} accepts none of the protocols allowed for this origin "
                f"({', '.join(offered)}); it negotiates {probe.diagnostic_protocol}. CloudFront "
                "cannot connect (502).", address,
                hint=f"Enable {offered[-1]} on the origin, or allow {probe.diagnostic_protocol} in "
                     "the origin's OriginSslProtocols (legacy protocols are deprecated).")
        gap = _offer_gap(target, probe, where, group=probe.diagnostic_group,
                         scheme=probe.diagnostic_signature_scheme, protocol=probe.diagnostic_protocol)
        if gap is not None:
            return gap
        kind = leaf_key_kind(probe.chain)
        fix = CODES[Code.NO_COMMON_CIPHER].fix if kind is None else (
            f"Enable an ECDHE-{kind} AES-GCM suite such as ECDHE-{kind}-AES128-GCM-SHA256 (the "
            f"origin's certificate has an {kind} key).")
        return finding(
            Code.NO_COMMON_CIPHER,
            f"{where} accepts none of the cipher suites CloudFront offers over "
            f"{', '.join(offered)}; with every cipher offered it chose {probe.diagnostic_cipher} "
            f"({probe.diagnostic_protocol}). CloudFront cannot connect (502).", address,
            hint=f"{fix} Reproduce: {openssl_command(target, address, cipher=reproduce_cipher(probe))}")
    if probe.tls13_outcome is Outcome.OK:
        gap = _offer_gap(target, probe, where, group=probe.tls13_group,
                         scheme=probe.tls13_signature_scheme, protocol="TLSv1.3")
        if gap is not None:
            return gap
        if probe.tls13_cipher is not None and probe.tls13_cipher not in S2N_2025.tls13_ciphers:
            return finding(
                Code.NO_COMMON_CIPHER,
                f"{where} speaks only TLS 1.3 and only the suite {probe.tls13_cipher}, which no "
                f"CloudFront policy offers ({', '.join(S2N_2025.tls13_ciphers)}). CloudFront "
                "cannot connect (502).", address,
                hint="Enable TLS_AES_128_GCM_SHA256 (and TLS 1.2 with an ECDHE AES-GCM suite).")
        return finding(
            Code.TLS13_ONLY,
            f"{where} speaks only TLS 1.3 (it refused TLS 1.0-1.2 with every cipher). CloudFront's "
            "API cannot select TLS 1.3, and 502s have been reported for TLS-1.3-only origins at "
            "some edge locations.", address)
    return _handshake_failed(target, probe, where)


_S2N_OFFERS = {o.name: o for o in OFFERS if o is not DOCUMENTED}
_OFFERED_GROUPS = frozenset(g for o in OFFERS for g in o.groups)
_OFFERED_SCHEMES = frozenset(s for o in OFFERS for s in o.signature_schemes)


def offer_gap(group: str | None, scheme: str | None) -> str | None:
    """"group" or "scheme" when a handshake that connected with a broad offer used a group or a
    signature scheme no CloudFront offer carries (``rules.OFFERS``); None otherwise."""
    if group is not None and group not in _OFFERED_GROUPS:
        return "group"
    if scheme is not None and scheme not in _OFFERED_SCHEMES:
        return "scheme"
    return None


def _offer_gap(target: Target, probe: AddressProbe, where: str, *, group: str | None,
               scheme: str | None, protocol: str | None) -> Finding | None:
    """NO_COMMON_GROUP / NO_COMMON_SIGNATURE_SCHEME when the broad offer that connected shows the
    reason CloudFront's offers failed; None when it does not."""
    gap = offer_gap(group, scheme)
    reproduce = f" Reproduce: {openssl_command(target, probe.address, offer=DOCUMENTED)}"
    if gap == "group":
        return finding(
            Code.NO_COMMON_GROUP,
            f"{where} accepts none of the key exchange groups CloudFront offers "
            f"({', '.join(DOCUMENTED.groups)}); with every group offered it chose {group} "
            f"({protocol}). CloudFront cannot connect (502).", probe.address,
            hint=CODES[Code.NO_COMMON_GROUP].fix + reproduce)
    if gap == "scheme":
        leaf = " (the certificate's key needs it)" if scheme in ("ed25519", "ed448") else ""
        return finding(
            Code.NO_COMMON_SIGNATURE_SCHEME,
            f"{where} signs its handshake only with {scheme}{leaf}, a signature scheme no "
            "CloudFront policy offers (RSA PKCS#1 and ECDSA; RSA-PSS in the 2025 policy). "
            "CloudFront cannot connect (502).", probe.address,
            hint=CODES[Code.NO_COMMON_SIGNATURE_SCHEME].fix + reproduce)
    return None


def _undocumented_only(target: Target, probe: AddressProbe, where: str) -> Finding:
    """The documented offer failed and an s2n-tls policy's offer connected: a warning naming
    what the origin depends on (TLS 1.3, an undocumented suite, RSA-PSS)."""
    offer = _S2N_OFFERS[probe.offer or ""]
    got = f"{probe.protocol}, {probe.cipher}" + (f", {probe.group}" if probe.group else "")
    reproduce = f" Reproduce: {openssl_command(target, probe.address)}"
    if probe.protocol == "TLSv1.3":
        return finding(
            Code.TLS13_ONLY,
            f"{where} refuses CloudFront's documented offer (TLS <= 1.2) and connects only with "
            f"TLS 1.3 ({got}), which {offer.title} offers and the older policy does not. "
            "CloudFront's API cannot select TLS 1.3; edges run different policies and 502s have "
            "been reported for TLS-1.3-only origins at some edge locations.", probe.address,
            hint=CODES[Code.TLS13_ONLY].fix + reproduce)
    needs: list[str] = []
    if probe.cipher is not None and probe.cipher not in DOCUMENTED.ciphers:
        kx = "" if probe.cipher.startswith("ECDHE") else ", RSA key exchange"
        needs.append(f"the undocumented suite {probe.cipher} ({offer.title} only{kx})")
    if probe.signature_scheme is not None and probe.signature_scheme not in DOCUMENTED.signature_schemes:
        needs.append(f"the {probe.signature_scheme} signature scheme (RSA-PSS: the 2025 policy only)"
                     if probe.signature_scheme.startswith("rsa_pss") else
                     f"the {probe.signature_scheme} signature scheme ({offer.title} only)")
    if not needs:
        needs.append(f"what {offer.title} adds")
    if probe.protocol in LEGACY_PROTOCOLS:
        # One finding per handshake: the deprecated protocol is named here, not as a second code.
        needs.append(f"{probe.protocol}, a deprecated protocol")
    return finding(
        Code.UNDOCUMENTED_OFFER_ONLY,
        f"{where} refuses CloudFront's documented offer and connects only with {offer.title} "
        f"({got}): it depends on {' and '.join(needs)}. Which policy an edge runs is not "
        "documented: edges without it fail (502).", probe.address,
        hint=CODES[Code.UNDOCUMENTED_OFFER_ONLY].fix + reproduce)


def leaf_key_kind(chain: Sequence[bytes]) -> str | None:
    """``"RSA"`` or ``"ECDSA"``: the key type of the leaf in ``chain`` (the first certificate
    that is not a CA, as sent), which decides the suites it can use; None when no certificate
    was seen or its key is of another kind."""
    sent, _ = parse_chain(chain)
    leaf = next((s for s in sent if not is_ca(s.cert)), sent[0] if sent else None)
    if leaf is None:
        return None
    try:
        key = leaf.cert.public_key()
    except Exception:  # an unsupported or malformed key: the kind is not determined
        return None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECDSA"
    return None


def cloudfront_suites_for(kind: str | None) -> tuple[str, ...]:
    """CloudFront's origin suites a server with a ``kind`` key ("RSA", "ECDSA") can choose: an
    RSA key cannot sign an ECDHE-ECDSA handshake, an ECDSA key can only do ECDHE-ECDSA. All of
    them when the kind is unknown."""
    if kind == "ECDSA":
        return tuple(c for c in CLOUDFRONT_ORIGIN_CIPHERS if c.startswith("ECDHE-ECDSA-"))
    if kind == "RSA":
        return tuple(c for c in CLOUDFRONT_ORIGIN_CIPHERS if not c.startswith("ECDHE-ECDSA-"))
    return CLOUDFRONT_ORIGIN_CIPHERS


def reproduce_cipher(probe: AddressProbe) -> str | None:
    """The ``-cipher`` of this address's reproduce line: CloudFront's suites for the leaf's key
    type when the finding is NO_COMMON_CIPHER (so the line fails until the advised suite is
    enabled, then passes), else None (the protocol flags say enough)."""
    if not no_common_cipher(probe):
        return None
    return ":".join(cloudfront_suites_for(leaf_key_kind(probe.chain)))


# Outcomes of CloudFront's handshake that have a finding of their own before the ladder's
# protocol/cipher question is asked (``address_findings`` / ``_handshake_finding``, in order).
_ANSWERED_BEFORE_THE_LADDER = frozenset({Outcome.OK, Outcome.REFUSED, Outcome.CONNECT_TIMEOUT,
                                         Outcome.TIMEOUT, Outcome.TOO_LARGE, Outcome.NOT_TLS,
                                         Outcome.FLOOD})


def no_common_cipher(probe: AddressProbe) -> bool:
    """The address's finding is NO_COMMON_CIPHER: CloudFront's offer failed where the broad one
    succeeded with a protocol CloudFront offered (what ``_handshake_finding`` decides)."""
    return (probe.internal_error is None and bool(probe.offered) and probe.outcome is not None
            and probe.outcome not in _ANSWERED_BEFORE_THE_LADDER and probe.offer is None
            and probe.diagnostic_outcome is Outcome.OK
            and probe.diagnostic_protocol in (probe.offered or ())
            and offer_gap(probe.diagnostic_group, probe.diagnostic_signature_scheme) is None)


# What a service that does not speak TLS sent first, by its opening bytes. The bytes themselves
# are chosen by whoever runs the service and never reach a report or a message (they could
# forge lines, mention a chat channel, carry a link): only the name of what they look like does.
_NOT_TLS_KINDS: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"HTTP/(1\.[01]) "), "an HTTP/{} response"),
    (re.compile(rb"HTTP/"), "an HTTP response"),
    (re.compile(rb"SSH-"), "an SSH banner"),
    (re.compile(rb"220[ -]"), "an SMTP or FTP greeting"),
    (re.compile(rb"\+OK"), "a POP3 greeting"),
    (re.compile(rb"\* OK"), "an IMAP greeting"),
    (re.compile(rb"-(ERR|NOAUTH|DENIED|WRONGPASS)\b"), "a Redis error reply"),
    # A cleartext HTTP/2 server's first frame: 24-bit length, SETTINGS (4) or GOAWAY (7), stream 0.
    (re.compile(rb"[\x00-\xff]{3}[\x04\x07][\x00-\xff]\x00\x00\x00\x00", re.DOTALL),
     "an HTTP/2 frame (cleartext HTTP/2)"),
    (re.compile(rb"\s*<(!doctype html|html)", re.IGNORECASE), "an HTML page"),
)


def describe_not_tls(first: bytes, total: int) -> str:
    """What a non-TLS answer looked like, without a byte of it: ``an HTTP/1.1 response``,
    ``an SSH banner``, ``12 bytes of text that are not TLS``, ``4 bytes that are not TLS``.
    ``first``: the opening bytes the probe kept; ``total``: how many the service sent."""
    for pattern, words in _NOT_TLS_KINDS:
        m = pattern.match(first)
        if m:
            return words.format(*(g.decode("ascii") for g in m.groups()))
    count = max(total, len(first))
    if count == 0:
        return "something that is not TLS"
    text = " of text" if all(32 <= b < 127 or b in b"\r\n\t" for b in first) else ""
    return f"1 byte{text} that is not TLS" if count == 1 else f"{count:,} bytes{text} that are not TLS"


def _too_large(probe: AddressProbe, where: str) -> Finding:
    length = probe.certificate_length or 0
    kept = (f"the probe keeps at most {MAX_CERTIFICATES} certificates / "
            f"{MAX_CERTIFICATE_BYTES // 1024} KiB; it kept {len(probe.chain)}"
            f"{' and stopped reading' if probe.chain_truncated else ''}")
    if length > OPENSSL_MAX_CERT_LIST:
        return finding(
            Code.CHAIN_TOO_LARGE,
            f"{where} sent a Certificate message of {length:,} bytes, more than any valid chain "
            f"needs and more than OpenSSL-based TLS clients accept ({OPENSSL_MAX_CERT_LIST // 1024} "
            f"KiB); expect CloudFront to drop the connection ({kept}).", probe.address)
    # Within what TLS clients accept: only the auditor's own cap was hit, so this is not known
    # to fail at CloudFront; say what was and was not judged.
    return finding(
        Code.CHAIN_TOO_LARGE,
        f"{where} sent {length:,} bytes of certificates, more than any valid chain needs "
        f"({kept}); only the certificates kept were judged.", probe.address, severity=Severity.WARN)


def _handshake_failed(target: Target, probe: AddressProbe, where: str) -> Finding:
    if probe.alert is not None:
        reason = f"the server sent a TLS alert {ALERTS.get(probe.alert, 'alert')} ({probe.alert})"
        if probe.detail and probe.outcome is Outcome.TLS_ERROR:
            reason += f"; OpenSSL: {probe.detail}"
    elif probe.outcome is Outcome.RESET:
        reason = f"the connection was reset during the handshake ({probe.detail})"
    elif probe.outcome is Outcome.EOF:
        reason = probe.detail
    elif probe.outcome is Outcome.MALFORMED:
        reason = f"the server sent malformed TLS ({probe.detail})"
    else:
        reason = probe.detail or str(probe.outcome)
    if "ASN1" in probe.detail or "ASN1" in reason:
        reason += " - a certificate the server sent does not parse as X.509 DER"
    skipped = ""
    if probe.diagnostics_skipped is not None:
        # CloudFront's own offer failed: that is known. Why (no common protocol or cipher, TLS
        # 1.3 only) is what the skipped attempts would have told.
        skipped = (f" Diagnostics skipped: {_SKIPPED_WHY[probe.diagnostics_skipped]}, so whether "
                   "the origin lacks CloudFront's protocols or ciphers or speaks only TLS 1.3 was "
                   "not determined.")
    return finding(
        Code.HANDSHAKE_FAILED,
        f"The TLS handshake with {where} failed: {reason}. CloudFront drops the connection (502)."
        + skipped,
        probe.address,
        hint=f"{CODES[Code.HANDSHAKE_FAILED].fix} Reproduce: {openssl_command(target, probe.address)}")


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"
