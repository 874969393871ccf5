"""The blind spot (issue 9 §1) in words: the subject that leads a message about it, and its
e-mail item.

A partial run's blind spot is told once, when new (``ChangeKind.PARTIAL``), and its end once
(``COVERAGE_RESTORED``). The run's "PARTIAL RUN: ..." line (what, how much, why) is in the
message head of any partial run (``email``); these say the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model import AuditReport
from ..present.partial import partial_fixes, partial_reasons
from ..present.text import email_subject
from .changes import PARTIAL_LABEL, Change, ChangeKind
from .words import _KIND_HEADING, SUBJECT_MAX

_SPOT_SHOWN = 10  # blind-spot entries named in the e-mail (all are in the JSON payload)


def _coverage_subject(report: AuditReport, changes: Sequence[Change],
                      active: Sequence[Change]) -> tuple[str, str, str] | None:
    """(lead word, severity, subject) when a blind-spot change leads the message: a new blind
    spot when no origin calls for attention (it is a warning: an origin behind it may be failing
    unseen), coverage restored when it is all the message says. Else None."""
    if active:
        return None
    partial = next((c for c in changes if c.kind is ChangeKind.PARTIAL), None)
    more = len(changes) - 1
    rest = f" (+{more} more)" if more else ""
    if partial is not None:
        head = f"[{PARTIAL_LABEL}] Not seen: {partial.display}"
        reasons = partial_reasons(report)
        for n in range(len(reasons), 0, -1):  # as many reason classes as fit
            why = f" ({', '.join(reasons[:n])}{', ...' if n < len(reasons) else ''})"
            if len(head + why + rest) <= SUBJECT_MAX:
                return PARTIAL_LABEL, "warn", email_subject(head + why + rest, SUBJECT_MAX)
        return PARTIAL_LABEL, "warn", email_subject(head + rest, SUBJECT_MAX)
    if changes and all(c.kind is ChangeKind.COVERAGE_RESTORED for c in changes):
        return "RESOLVED", "info", email_subject(
            "[RESOLVED] CloudFront audit complete again: every distribution listed and read", SUBJECT_MAX)
    return None


def _coverage_text(report: AuditReport, c: Change) -> list[str]:
    spot = "; ".join(c.blind_spot[:_SPOT_SHOWN])
    if len(c.blind_spot) > _SPOT_SHOWN:
        spot += f"; and {len(c.blind_spot) - _SPOT_SHOWN:,} more"
    if c.kind is ChangeKind.COVERAGE_RESTORED:
        return [f"{_KIND_HEADING[c.kind]} [COMPLETE] {c.display}",
                "  This run listed every distribution and read every configuration. The blind spot "
                f"told before is gone: {spot}.",
                "  Origins there are audited again from now on; what changed there is reported as "
                "usual.", ""]
    return [f"{_KIND_HEADING[c.kind]} [{PARTIAL_LABEL}] {c.display}",
            "  Impact: origins behind what was not seen were not audited and may be failing unseen; "
            "their last known state is kept: nothing unseen was resolved or removed.",
            "  This is told once: later runs with the same blind spot stay silent, a new one is "
            "told, and a complete run says when coverage is restored.",
            f"  Not seen: {spot} (every distribution and reason: PARTIAL RUN above and the full report).",
            *(f"  Fix: {fix}" for fix in partial_fixes(report)), ""]
