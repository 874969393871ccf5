"""What the renderers of one message say alike: the heading of each kind of change, the subject's
limit, the counts per kind, what a finding code means, a distribution's figures."""

from __future__ import annotations

from collections.abc import Sequence

from ..model import DistributionReport
from ..rules import CODES, Code, CodeInfo
from .changes import Change, ChangeKind

# SNS: "less than 100 characters"; AWS's SNS receiver rules replace a subject holding control or
# non-ASCII characters with an error text, so printable ASCII only (``email_subject``).
SUBJECT_MAX = 99
_NOTES_SHOWN = 20  # run notes quoted; all of them are in the full report
_NOT_ARCHIVED = "no reports bucket configured"
# What a count of origins not audited means for the reader (the count and reasons come first).
_UNAUDITED_MEANS = ("nothing is known about their TLS, their last known state is kept and nothing "
                    "is announced resolved for them.")

_KIND_HEADING = {
    ChangeKind.NEW: "NEW", ChangeKind.ESCALATED: "WORSE", ChangeKind.REMINDER: "STILL FAILING",
    ChangeKind.DIGEST: "NOT PASSING", ChangeKind.IMPROVED: "IMPROVED", ChangeKind.RESOLVED: "RESOLVED",
    ChangeKind.REMOVED: "REMOVED", ChangeKind.PARTIAL: "PARTIAL RUN",
    ChangeKind.COVERAGE_RESTORED: "COVERAGE RESTORED",
}


def _tally(changes: Sequence[Change], *, machine: bool = False) -> dict[str, int]:
    """Changes per kind, in ChangeKind order: the kind's value (machine) or its heading (text)."""
    out: dict[str, int] = {}
    for kind in ChangeKind:
        n = sum(1 for c in changes if c.kind is kind)
        if n:
            out[str(kind) if machine else _KIND_HEADING[kind].lower()] = n
    return out


def _code_info(code: str) -> CodeInfo | None:
    try:
        return CODES[Code(code)]
    except (ValueError, KeyError):
        return None


def _metrics(d: DistributionReport) -> str:
    """The figures the classification rests on: requests, the 502 rate (else the 5xx rate), the
    cache hit rate, over the run's lookback window."""
    m = d.metrics
    out = []
    if m.get("Requests") is not None:
        out.append(f"{m['Requests']:,.0f} requests")
    if m.get("502ErrorRate") is not None:
        out.append(f"502 rate {m['502ErrorRate']:.2f}%")
    elif m.get("5xxErrorRate") is not None:
        out.append(f"5xx rate {m['5xxErrorRate']:.2f}%")
    if m.get("CacheHitRate") is not None:
        out.append(f"cache hit rate {m['CacheHitRate']:.2f}%")
    return ", ".join(out) or "no CloudWatch figures"
