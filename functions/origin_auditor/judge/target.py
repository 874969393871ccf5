"""Judge one target: what the probe saw at every address, plus what holds across addresses."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping

from ..model import AddressReport, Finding, ProbeResult, Target, TargetResult, Verdict
from ..present.certs import summarize_cert
from ..present.reproduce import openssl_command
from ..rules import EXPIRY_WARN_DAYS, Code
from ..trust import TrustStore
from ..x509.issuers import IssuerTrail
from ..x509.names import ip_literal, normalize_dns
from . import discovery
from .chain import judge_chain_path
from .findings import finding as _finding
from .handshake import address_findings, address_not_audited, reproduce_cipher, target_findings
from .handshake import not_audited as probe_not_audited


def _consistency(probe: ProbeResult) -> list[Finding]:
    addrs = probe.addresses
    if len(addrs) < 2:
        return []
    connected = [a for a in addrs if a.connected]
    failed = [a for a in addrs if not a.connected]
    out: list[Finding] = []
    if connected and failed:
        out.append(_finding(
            Code.ADDRESSES_INCONSISTENT,
            f"{len(connected)} of {len(addrs)} addresses complete a CloudFront-like handshake, but "
            f"{', '.join(a.address for a in failed[:10])} do not: CloudFront fails only on the "
            "connections that land there, which shows as a partial 502 rate.", None))
    chains: dict[tuple[str, ...], list[str]] = {}
    for a in connected:
        chains.setdefault(tuple(hashlib.sha256(d).hexdigest() for d in a.chain), []).append(a.address)
    if len(chains) > 1:
        by_address = {a.address: a for a in connected}
        parts = []
        for key, ads in chains.items():
            chain = by_address[ads[0]].chain
            leaf = summarize_cert(chain[0]).subject if chain else "no certificate"
            parts.append(f"{', '.join(ads[:5])}{' ...' if len(ads) > 5 else ''}: {leaf} "
                         f"({len(key)} certificate{'s' if len(key) != 1 else ''}"
                         f"{', leaf sha256 ' + key[0][:12] if key else ''})")
        groups = "; ".join(parts)
        out.append(_finding(
            Code.ADDRESSES_INCONSISTENT,
            f"The addresses of this origin present different certificate chains ({groups}). "
            "CloudFront connects to any of them, so a problem on one shows as a partial 502 rate.",
            None))
    return out


def accepted_origin_domain(target: Target) -> str | None:
    """The second name a certificate may cover for ``target``, or None.

    When the SNI (``server_name``, the viewer's Host when CloudFront forwards it) differs from
    the origin domain name, AWS documents that the certificate must match one or both of the
    origin domain name and the Host header: a certificate for ``target.host`` is accepted too.
    The same holds for ``check HOST --server-name NAME``: NAME is what CloudFront sends, HOST
    the origin domain it connects to. An IP-literal host is no domain name: only the SNI counts.
    """
    if target.server_name is None or ip_literal(target.host) is not None:
        return None
    host = normalize_dns(target.host)
    if host is None or host == normalize_dns(target.server_name):
        return None
    return target.host


def judge_probe(probe: ProbeResult, *, trust: TrustStore, at: dt.datetime,
                warn_days: int = EXPIRY_WARN_DAYS,
                issuers: Mapping[str, IssuerTrail] | None = None) -> TargetResult:
    """Judge everything the probe saw for one target: target-level findings first, then each
    address's own findings and its chain's, with the verdict the worst of them.

    issuers: what the caIssuers URLs above incomplete paths led to (``fetch.issuer_trails``),
    for exact wording of CHAIN_INCOMPLETE / CHAIN_UNTRUSTED_ROOT; never changes a verdict."""
    target = probe.target
    origin_domain = accepted_origin_domain(target)
    findings: list[Finding] = [*target_findings(probe), *discovery.notes(target), *_consistency(probe)]
    reports: list[AddressReport] = []
    # The reproduction line connects to the first address with the worst findings (or the
    # first probed): that is where the problem shows, and with --resolve / split DNS the host
    # name alone may not even lead there.
    shown: str | None = None
    shown_cipher: str | None = None
    shown_rank = -1
    for addr in probe.addresses:
        own = address_findings(target, addr)
        order: tuple[int, ...] = ()
        end: str | None = None
        if addr.chain:
            chain_findings, analysis = judge_chain_path(
                addr.chain, target.sni, trust=trust, at=at, warn_days=warn_days, address=addr.address,
                origin_domain=origin_domain, truncated=addr.chain_truncated, issuers=issuers)
            own += chain_findings
            if analysis is not None:
                order, end = tuple(s.position for s in analysis.path), analysis.end
        rank = max((f.severity.rank for f in own), default=0)
        if rank > shown_rank:
            # NO_COMMON_CIPHER there: the line offers CloudFront's suites for the key, as its hint.
            shown, shown_rank, shown_cipher = addr.address, rank, reproduce_cipher(addr)
        findings += own
        reports.append(AddressReport(addr.address, addr.protocol, addr.cipher,
                                     tuple(summarize_cert(d) for d in addr.chain), order, end,
                                     addr.group, addr.signature_scheme, addr.offer))
    findings = discovery.default_domain_only(target, findings)
    reproduce = "" if target.skip_probe else openssl_command(target, shown, cipher=shown_cipher)
    # Why it was not audited, from the facts (never from the findings' words), in the order its
    # ORIGIN_NOT_PROBED findings come: the probe's for the target, the routes', an address's.
    unaudited = probe_not_audited(probe) or discovery.not_audited(target) or address_not_audited(probe)
    return TargetResult(target=target, verdict=Verdict.of(findings), findings=tuple(findings),
                        addresses=tuple(reports), reproduce=reproduce, not_audited=unaudited)
