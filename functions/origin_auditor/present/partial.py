"""The one sentence that says a run was partial: what it did not see, how much, and why; and
the words for its *blind spot* (below), which a notifying run tells once.

Plain text; each channel escapes it with ``present.text`` like any other outside text (the
reasons quote AWS error messages).
"""

from __future__ import annotations

from collections.abc import Sequence

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


# ---------------------------------------------------------------- the blind spot, told once
# A partial run's *blind spot* is what it did not see, reduced to what stays the same from one run
# to the next while the cause persists: which part (the listing, or which distribution) and the
# class of reason (the AWS error code), never how many were listed first nor the error's message
# text. ``notify.changes`` remembers the blind spots it told (state item ``meta#coverage``) and
# tells a partial run's blind spot only when some of it is new.

_BLIND_SPOT_IDS = 100  # distributions named in a blind spot; above, one entry per reason class
ANY = "distributions"  # "distributions: <class>": whichever distributions, for that reason
# Reasons that come and go (throttling, timeouts, server errors): which distribution they hit is
# chance, so a blind spot names only the reason, not the distributions.
_TRANSIENT = ("Throttl", "TooManyRequests", "RequestLimit", "SlowDown", "ServiceUnavailable",
              "InternalError", "InternalFailure", "Timeout", "EndpointConnectionError",
              "ConnectionClosedError")
_CLASS_MAX = 64


def reason_class(reason: str) -> str:
    """The stable part of an ``Unseen.reason``: the error code(s) it names ("Throttling",
    "AccessDenied", "policy AccessDenied"), not the message after them."""
    if reason.startswith(("policy ", "a policy could not be read")):
        # discover's "policy <id>: <Code: message>; ...; the targets ... are unknown"
        codes = sorted({_code(p.partition(": ")[2]) for p in reason.split("; ") if p.startswith("policy ")})
        return ("policy " + ",".join(codes)).strip()[:_CLASS_MAX] if codes else "policy"
    return _code(reason)


def _code(text: str) -> str:
    return " ".join(text.split(":", 1)[0].split())[:_CLASS_MAX] or "unknown"


def transient(cls: str) -> bool:
    """A reason class that comes and goes (``_TRANSIENT``)."""
    return any(t in cls for t in _TRANSIENT)


def blind_spot(unseen: Sequence[Unseen]) -> frozenset[str]:
    """What ``unseen`` could not see, as entries people can read: "listing: Throttling",
    "distribution E123: AccessDenied", "distributions: Throttling" (a transient reason, whichever
    distributions it hit); above ``_BLIND_SPOT_IDS`` named distributions, one
    "distributions: <class>" per class (bounded whatever the account's size)."""
    entries: set[str] = set()
    for u in unseen:
        cls = reason_class(u.reason)
        entries.add(f"listing: {cls}" if u.kind is UnseenKind.LISTING
                    else f"{ANY}: {cls}" if transient(cls) else f"distribution {u.id}: {cls}")
    return bounded(entries)


def bounded(entries: set[str] | frozenset[str]) -> frozenset[str]:
    """``entries`` with the named distributions folded into per-class entries when too many."""
    named = {e for e in entries if e.startswith("distribution ")}
    if len(named) <= _BLIND_SPOT_IDS:
        return frozenset(entries)
    return frozenset((set(entries) - named) | {f"{ANY}: {e.partition(': ')[2]}" for e in named})


def told(entry: str, entries: frozenset[str]) -> bool:
    """``entry`` is in ``entries``, itself or folded into a "distributions: <class>" entry."""
    return entry in entries or (entry.startswith("distribution ")
                                and f"{ANY}: {entry.partition(': ')[2]}" in entries)


def partial_summary(report: AuditReport) -> str:
    """How much a partial run did not see, in a few words (a subject, a chat bullet)."""
    parts = [f"listing stopped after {u.seen or 0} distributions"
             for u in report.unseen if u.kind is UnseenKind.LISTING]
    dists = sum(1 for u in report.unseen if u.kind is UnseenKind.DISTRIBUTION)
    if dists:
        parts.append(f"{dists:,} distribution{'' if dists == 1 else 's'} unread")
    return ", ".join(parts)


def partial_reasons(report: AuditReport) -> list[str]:
    """The reason classes of what a partial run did not see, most frequent first."""
    counts: dict[str, int] = {}
    for u in report.unseen:
        c = reason_class(u.reason)
        counts[c] = counts.get(c, 0) + 1
    return sorted(counts, key=lambda c: -counts[c])


_FIX_ACCESS = ("Grant the function's role (or AUDIT_ROLE_ARN's) cloudfront:ListDistributions, "
               "cloudfront:GetDistribution, cloudfront:GetCachePolicy and "
               "cloudfront:GetOriginRequestPolicy; the next run sees the rest.")
_FIX_TRANSIENT = ("CloudFront's API throttled or failed this run after retries: the next run "
                  "retries; if it persists, run less often or raise the CloudFront API request quota.")
_FIX_OTHER = "See the reason above; the next run tries again."


def partial_fixes(report: AuditReport) -> list[str]:
    """What to do about a partial run's blind spot, one line per kind of cause."""
    out: list[str] = []
    for c in partial_reasons(report):
        fix = _FIX_ACCESS if "AccessDenied" in c or "Unauthorized" in c else \
            _FIX_TRANSIENT if transient(c) else _FIX_OTHER
        if fix not in out:
            out.append(fix)
    return out
