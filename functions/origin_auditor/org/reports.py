"""A chunk's JSON report (``AuditReport.to_json()``, as ``org.account`` wrote it) read back into
an ``AuditReport``, and the chunks of one account merged into one report.

What the message and the state need comes back exactly: targets (host, port, SNI, protocols,
distributions: the state key is ``target_id`` of these), verdicts, findings, why an origin was not
audited, addresses with their chains, the verify line, distributions with their classification,
metrics and results, notes and what the run did not see. Discovery's per-origin facts
(``Target.origins``) are not in the JSON; nothing after judging reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model import (
    AddressReport,
    AuditReport,
    CertSummary,
    DistributionReport,
    Finding,
    NotAudited,
    Severity,
    Target,
    TargetResult,
    Unseen,
    UnseenKind,
    Verdict,
)
from ..rules import Code


class ReportError(ValueError):
    """A report document is not the JSON report this version writes."""


def _finding(f: Mapping[str, Any]) -> Finding:
    return Finding(
        Code(f["code"]),
        Severity(f["severity"]),
        str(f["message"]),
        str(f.get("hint") or ""),
        f.get("address"),
    )


def _address(a: Mapping[str, Any]) -> AddressReport:
    chain = tuple(
        CertSummary(str(c["subject"]), str(c["issuer"]), c.get("not_after"), str(c["sha256"]))
        for c in a.get("chain", [])
    )
    return AddressReport(
        str(a["address"]),
        a.get("protocol"),
        a.get("cipher"),
        chain,
        tuple(int(i) for i in a.get("issuing_order", [])),
        a.get("path_end"),
    )


def _result(r: Mapping[str, Any]) -> TargetResult:
    t = r["target"]
    host, sni = str(t["host"]), str(t.get("server_name") or t["host"])
    target = Target(
        host=host,
        port=int(t["port"]),
        server_name=None if sni == host else sni,
        protocols=tuple(t.get("protocols") or ()),
        distribution_ids=tuple(t.get("distribution_ids") or ()),
        origin_ids=tuple(t.get("origin_ids") or ()),
    )
    why = r.get("not_audited")
    return TargetResult(
        target,
        Verdict(r["verdict"]),
        tuple(_finding(f) for f in r.get("findings", [])),
        tuple(_address(a) for a in r.get("addresses", [])),
        str(r.get("reproduce") or ""),
        NotAudited(why) if why else None,
    )


def _distribution(d: Mapping[str, Any], offset: int) -> DistributionReport:
    return DistributionReport(
        id=str(d["id"]),
        classification=d["classification"],
        domain_name=str(d.get("domain_name") or ""),
        aliases=tuple(d.get("aliases") or ()),
        enabled=bool(d.get("enabled", True)),
        staging=bool(d.get("staging", False)),
        metrics=dict(d.get("metrics") or {}),
        results=tuple(int(i) + offset for i in d.get("results", [])),
        findings=tuple(_finding(f) for f in d.get("findings", [])),
        reason=str(d.get("reason") or ""),
    )


def _unseen(u: Mapping[str, Any]) -> Unseen:
    return Unseen(UnseenKind(u["kind"]), str(u.get("id") or ""), str(u.get("reason") or ""), u.get("seen"))


def merge(
    account: str, documents: Sequence[Mapping[str, Any]], *, generated_at: str, unseen: Sequence[Unseen] = ()
) -> AuditReport:
    """One account's report from its chunks' documents (in chunk order), plus what the run did
    not see of the account beyond them (``unseen``: chunks not audited or unreadable). Raises
    ``ReportError`` when a document is not a report."""
    results: list[TargetResult] = []
    dists: list[DistributionReport] = []
    notes: list[str] = []
    missed: list[Unseen] = []
    try:
        for doc in documents:
            if doc.get("schema") != "origin-auditor/1":
                raise ReportError(f"not an origin-auditor/1 report (schema {doc.get('schema')!r})")
            offset = len(results)
            results += [_result(r) for r in doc.get("results", [])]
            dists += [_distribution(d, offset) for d in doc.get("distributions", [])]
            summary = doc.get("summary") or {}
            notes += [str(n) for n in summary.get("notes", [])]
            missed += [_unseen(u) for u in summary.get("unseen", [])]
    except ReportError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # a field missing, a code unknown to this version
        raise ReportError(f"report not readable: {type(exc).__name__}: {exc}") from exc
    return AuditReport(
        generated_at=generated_at,
        results=tuple(results),
        distributions=tuple(dists),
        notes=tuple(dict.fromkeys(notes)),
        unseen=(*missed, *unseen),
        account=account,
    )
