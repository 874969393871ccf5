"""The subject (pure): ``[WORST] <count per classification, worst first> | <site>`` within
SNS's limit, in printable ASCII (``email_subject``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..model import Classification
from ..present.text import clip, email_subject
from .changes import DIGEST_KEY, FAIL_LABEL, LABEL_RANK, Change, ChangeKind
from .words import SUBJECT_MAX

if TYPE_CHECKING:  # the shared parts of one message; message imports this module
    from .message import _Parts

# " | " between the counts, not a middle dot: printable ASCII only (see ``SUBJECT_MAX``).
_SUBJECT_SEP = " | "
# The subject's count per label, worst first; {it} is "it" or "them".
_SUBJECT_COUNT = {
    Classification.OUTAGE: "{n} origin{s} failing now",
    Classification.LATENT: "{n} LATENT (cache is hiding {it})",
    FAIL_LABEL: "{n} failing CloudFront's TLS checks",
    Classification.AT_RISK: "{n} at risk",
}
_SUBJECT_GOOD = {ChangeKind.RESOLVED: "{n} fixed", ChangeKind.IMPROVED: "{n} improved",
                 ChangeKind.REMOVED: "{n} removed"}


def _plural(n: int) -> dict[str, str]:
    return {"n": f"{n:,}", "s": "" if n == 1 else "s", "v": "s" if n == 1 else "",
            "it": "it" if n == 1 else "them"}


def _subject(parts: _Parts, active: Sequence[Change]) -> str:
    """``[WORST] <count per classification, worst first> | <site>`` in printable ASCII, < 100.

    The first count and the LATENT count are always kept (LATENT is the outage nobody sees
    yet); later counts, then the site, give way when the subject would be too long."""
    changes = parts.plan.changes
    counts: list[str] = []
    if parts.lead_word == "DIGEST":
        failing = sum(1 for c in active if c.key != DIGEST_KEY)
        counts.append(f"daily digest: {failing:,} not passing" if failing else "daily digest: all passing")
    by_label: dict[str, list[Change]] = {}
    for c in active:
        if c.key != DIGEST_KEY:
            by_label.setdefault(c.label or FAIL_LABEL, []).append(c)
    for label in sorted(by_label, key=lambda lab: -LABEL_RANK.get(lab, 0)):
        group = by_label[label]
        counts.append(_SUBJECT_COUNT.get(label, _SUBJECT_COUNT[FAIL_LABEL]).format(**_plural(len(group))))
    if counts and parts.lead_word != "DIGEST" and all(c.kind is ChangeKind.REMINDER for c in active):
        counts[0] = "still failing: " + counts[0]
    for kind, phrase in _SUBJECT_GOOD.items():
        n = sum(1 for c in changes if c.kind is kind)
        if n:
            counts.append(phrase.format(**_plural(n)))
    keep = {0} | {i for i, text in enumerate(counts) if "LATENT" in text}
    lead = [c for c in (active or changes) if c.key != DIGEST_KEY][:1]
    group = [c for c in (active or changes)
             if lead and (c.label or FAIL_LABEL) == (lead[0].label or FAIL_LABEL)] or list(changes)
    head = f"[{parts.lead_word}] "
    subject = head + _SUBJECT_SEP.join(counts)
    while len(email_subject(subject, 10_000)) > SUBJECT_MAX and len(counts) > len(keep):
        drop = max(i for i in range(len(counts)) if i not in keep)
        counts.pop(drop)
        keep = {i if i < drop else i - 1 for i in keep}
        subject = head + _SUBJECT_SEP.join(counts)
    counted = email_subject(subject, SUBJECT_MAX)
    site = email_subject(_site(parts, group), 10_000)
    room = SUBJECT_MAX - len(counted) - len(_SUBJECT_SEP)
    if site and room >= min(len(site), 12):  # a site cut shorter than that names nothing
        parts.subject_site = clip(site, room)
        return counted + _SUBJECT_SEP + parts.subject_site
    return counted


def _site(parts: _Parts, group: Sequence[Change]) -> str:
    """The worst group's first site (alias, else distribution id, else origin), "+N more"."""
    names: list[str] = []
    for c in group:
        names += parts.aliases(c) or list(c.distribution_ids) or [c.display]
    names = list(dict.fromkeys(names))
    if not names:
        return ""
    return names[0] + (f" +{len(names) - 1:,} more" if len(names) > 1 else "")
