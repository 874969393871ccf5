"""The one sentence that says a run was partial: what it did not see, how much, and why.

Plain text; each channel escapes it with ``present.text`` like any other outside text (the
reasons quote AWS error messages).
"""

from __future__ import annotations

from ..model import AuditReport, Unseen, UnseenKind

_DETAILED = 5  # distributions named one by one; the rest are counted (all of them are in the JSON)


def describe_unseen(u: Unseen) -> str:
    if u.kind is UnseenKind.LISTING:
        return (f"the distribution listing stopped after {u.seen or 0} distribution(s) ({u.reason}); "
                "distributions after those were not seen")
    return f"{u.id} ({u.reason})"


def partial_line(report: AuditReport) -> str:
    """"" for a complete run; else "PARTIAL RUN: <what was not seen, how much, why>. <what it means>"."""
    if not report.unseen:
        return ""
    parts = [describe_unseen(u) for u in report.unseen if u.kind is UnseenKind.LISTING]
    dists = [u for u in report.unseen if u.kind is UnseenKind.DISTRIBUTION]
    if dists:
        named = "; ".join(describe_unseen(u) for u in dists[:_DETAILED])
        more = f"; and {len(dists) - _DETAILED} more" if len(dists) > _DETAILED else ""
        parts.append(f"{len(dists)} distribution(s) not fully read: {named}{more}")
    return ("PARTIAL RUN: " + "; ".join(parts) + ". What was not seen keeps its previous state: "
            "nothing there is reported resolved or removed.")
