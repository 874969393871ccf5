"""The SNS message for a plan (pure): e-mail text, the Amazon Q custom notification, the JSON
report, within SNS's size limits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..assess import unaudited_summary
from ..events import AlarmContext, ChangeContext
from ..model import AuditReport, Classification, Severity
from ..present.text import clip, email_subject
from ..rules import CODES, Code
from .changes import ACTIVE, DIGEST_KEY, FAIL_LABEL, LABEL_RANK, Change, ChangeKind, Plan

MAX_MESSAGE_BYTES = 262_144  # SNS: message + attributes
_BUDGET_BYTES = 250_000  # margin for SNS's own accounting of attribute names/types
SUBJECT_MAX = 99  # SNS: "less than 100 characters", ASCII, no line breaks
_CHAT_DESCRIPTION_MAX = 3500  # chat clients truncate long cards; the email has the details
_CHAT_CHANGES_MAX = 10
_FINDINGS_PER_TARGET = 8

_LABEL_WHY = {
    Classification.OUTAGE: "CloudFront cannot connect to this origin and viewers are getting 502s now.",
    Classification.LATENT: "CloudFront cannot connect to this origin, but cached objects are masking it: "
                           "error rates look normal until the next cache miss (a deploy with new asset "
                           "names, an invalidation, an expiring TTL), which will return 502.",
    FAIL_LABEL: "CloudFront will reject this origin's TLS setup on its next connection (502).",
    Classification.AT_RISK: "Works today, but will break or is outside what CloudFront documents.",
}
# What a count of origins not audited means for the reader (the count and reasons come first).
_UNAUDITED_MEANS = ("nothing is known about their TLS, their last known state is kept and nothing "
                    "is announced resolved for them.")
_SUBJECT_TEXT = {
    Classification.OUTAGE: "{n} CloudFront origin{s} failing TLS now, viewers get 502",
    Classification.LATENT: "{n} CloudFront origin{s} will fail on next cache miss",
    FAIL_LABEL: "{n} CloudFront origin{s} fail{v} CloudFront's TLS checks",
    Classification.AT_RISK: "{n} CloudFront origin{s} at risk",
    "RESOLVED": "{n} CloudFront origin{s} fixed",
    "DIGEST": "daily digest: {n} CloudFront origin{s} not passing",
}


@dataclass(frozen=True)
class Message:
    """One SNS publish: ``Subject``, the per-protocol ``Message`` (MessageStructure=json) and
    ``MessageAttributes``. ``included``/``omitted``: changes detailed vs. only counted."""

    subject: str
    structure: dict[str, str]
    attributes: dict[str, dict[str, str]]
    included: int
    omitted: int = 0
    severity: str = "info"
    label: str = "RESOLVED"
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def body(self) -> str:
        return json.dumps(self.structure, ensure_ascii=False)

    @property
    def size_bytes(self) -> int:
        attrs = sum(len(k.encode()) + len(v["DataType"]) + len(v["StringValue"].encode())
                    for k, v in self.attributes.items())
        return len(self.body.encode()) + attrs + len(self.subject)

    def publish_kwargs(self, topic_arn: str) -> dict[str, Any]:
        return {"TopicArn": topic_arn, "Subject": self.subject, "Message": self.body,
                "MessageStructure": "json", "MessageAttributes": self.attributes}


def build_message(report: AuditReport, plan: Plan, *, alarm: AlarmContext | None = None,
                  change: ChangeContext | None = None, max_bytes: int = _BUDGET_BYTES) -> Message | None:
    """The message for ``plan``, or None when there is nothing to say. Always < ``max_bytes``:
    detail is dropped from the end (least urgent first) and summarised with a count."""
    if not plan.changes:
        return None
    total = len(plan.changes)
    detail = total
    slim_report = False
    while True:
        msg = _render(report, plan, detail, slim_report, alarm=alarm, change=change)
        if msg.size_bytes <= max_bytes:
            return msg
        if not slim_report:
            slim_report = True  # first drop unchanged results from the machine payload
            continue
        if detail == 0:
            # Cannot happen with sane inputs (counts only); fail loudly rather than publish junk.
            raise ValueError(f"notification does not fit in {max_bytes} bytes even without detail")
        detail = detail // 2 if detail > 1 else 0


def _render(report: AuditReport, plan: Plan, detail: int, slim_report: bool, *,
            alarm: AlarmContext | None, change: ChangeContext | None) -> Message:
    changes = plan.changes
    shown, omitted = changes[:detail], len(changes) - detail
    active = [c for c in changes if c.kind in ACTIVE]
    lead = max((c.label or FAIL_LABEL for c in active), key=lambda lab: LABEL_RANK.get(lab, 0),
               default="RESOLVED")
    lead_word = "DIGEST" if active and all(c.kind is ChangeKind.DIGEST for c in active) else lead
    severity = "info"
    if active:
        severity = "fail" if any(c.verdict == "fail" for c in active) else \
            "warn" if any(c.verdict == "warn" for c in active) else "info"
    subject = _subject(changes, lead, lead_word)
    text = _text(report, plan, shown, omitted, alarm=alarm, change=change)
    chat = _chat(report, plan, subject, lead_word=lead_word, severity=severity, alarm=alarm, change=change)
    machine = _machine(report, plan, shown, omitted, slim=slim_report, subject=subject, severity=severity,
                       lead_word=lead_word)
    codes = sorted({code for c in active for code in c.codes})
    attributes = {
        "severity": {"DataType": "String", "StringValue": severity},
        "classification": {"DataType": "String", "StringValue": lead_word},
        "event": {"DataType": "String",
                  "StringValue": "change" if any(c.kind in (ChangeKind.NEW, ChangeKind.ESCALATED)
                                                 for c in changes)
                  else "digest" if lead_word == "DIGEST"
                  else "reminder" if active else "resolution"},
    }
    if codes:
        attributes["codes"] = {"DataType": "String.Array", "StringValue": json.dumps(codes)}
    structure = {"default": text, "email": text, "https": json.dumps(chat, ensure_ascii=False),
                 "sqs": machine, "lambda": machine}
    return Message(subject, structure, attributes, included=len(shown), omitted=omitted,
                   severity=severity, label=lead_word)


def _plural(n: int) -> dict[str, str]:
    return {"n": str(n), "s": "" if n == 1 else "s", "v": "s" if n == 1 else ""}


def _subject(changes: Sequence[Change], lead: str, lead_word: str) -> str:
    if lead_word == "DIGEST":
        group = [c for c in changes if c.kind is ChangeKind.DIGEST and c.key != DIGEST_KEY]
        phrase = _SUBJECT_TEXT["DIGEST"].format(**_plural(len(group)))
    elif lead == "RESOLVED":
        group = [c for c in changes if c.kind in (ChangeKind.RESOLVED, ChangeKind.REMOVED,
                                                  ChangeKind.IMPROVED)]
        phrase = _SUBJECT_TEXT["RESOLVED"].format(**_plural(len(group)))
    else:
        group = [c for c in changes if c.kind in ACTIVE and (c.label or FAIL_LABEL) == lead]
        phrase = _SUBJECT_TEXT.get(lead, _SUBJECT_TEXT[FAIL_LABEL]).format(**_plural(len(group)))
        if all(c.kind is ChangeKind.REMINDER for c in group):
            phrase = "still failing: " + phrase
    rest = len(changes) - len(group)
    ids = list(dict.fromkeys(d for c in group for d in c.distribution_ids))
    subject = f"[{lead_word}] {phrase}"
    if rest:
        subject += f" (+{rest} more)"
    if ids:
        tail = ""
        for i in range(len(ids), 0, -1):
            more = f",+{len(ids) - i}" if i < len(ids) else ""
            tail = f" ({','.join(ids[:i])}{more})"
            if len(subject) + len(tail) <= SUBJECT_MAX:
                break
        else:
            tail = ""
        subject += tail if len(subject) + len(tail) <= SUBJECT_MAX else ""
    return email_subject(subject, SUBJECT_MAX)


_KIND_HEADING = {
    ChangeKind.NEW: "NEW", ChangeKind.ESCALATED: "WORSE", ChangeKind.REMINDER: "STILL FAILING",
    ChangeKind.DIGEST: "NOT PASSING", ChangeKind.IMPROVED: "IMPROVED", ChangeKind.RESOLVED: "RESOLVED",
    ChangeKind.REMOVED: "REMOVED",
}


def _text(report: AuditReport, plan: Plan, shown: Sequence[Change], omitted: int, *,
          alarm: AlarmContext | None, change: ChangeContext | None) -> str:
    counts: dict[str, int] = {}
    for c in plan.changes:
        counts[_KIND_HEADING[c.kind].lower()] = counts.get(_KIND_HEADING[c.kind].lower(), 0) + 1
    lines = [f"CloudFront origin auditor, run {report.generated_at}: "
             + ", ".join(f"{n} {k}" for k, n in counts.items()) + "."]
    if alarm is not None:
        lines.append(f"Triggered by CloudWatch alarm {alarm.name!r} ({alarm.previous_state or '?'} -> "
                     f"{alarm.state}, {alarm.metric}): {alarm.reason}")
    if change is not None:
        lines.append(f"Triggered by {change.event_name} by {change.actor or 'unknown caller'}"
                     f" at {change.time or '?'}.")
    if not plan.dedup_available:
        lines.append("NOTE: dedup unavailable (the state table could not be read): this lists every "
                     "origin that is not passing, not only what changed.")
    if unaudited := unaudited_summary(report.results):
        lines.append(f"NOTE: {unaudited}: {_UNAUDITED_MEANS}")
    lines += [f"NOTE: {clip(n)}" for n in report.notes[:20]]
    if len(report.notes) > 20:
        lines.append(f"NOTE: ... {len(report.notes) - 20} more note(s) in the JSON report")
    lines.append("")
    for c in shown:
        lines += _change_text(report, c)
    if omitted:
        lines.append(f"... and {omitted} more change(s) not detailed here to stay within SNS's size "
                     "limit; run the auditor manually or read the JSON report for all of them.")
    lines.append("")
    lines.append("Browsers fetch missing intermediates and build chains in any order; CloudFront does "
                 "neither, so a site can work in a browser and still fail behind CloudFront.")
    return "\n".join(lines)


def _change_text(report: AuditReport, c: Change) -> list[str]:
    head = f"{_KIND_HEADING[c.kind]} [{c.label or c.previous_label or '-'}] {c.display}"
    if c.previous_verdict and c.kind is not ChangeKind.DIGEST:
        head += f" (was {c.previous_verdict}/{c.previous_label or '-'})"
    out = [head]
    if c.kind is ChangeKind.REMOVED:
        return [*out, "  No distribution uses this origin any more.", ""]
    if c.distribution_ids:
        out.append(f"  Distributions: {', '.join(c.distribution_ids)}")
    if c.label in _LABEL_WHY and c.kind in ACTIVE:
        out.append(f"  Impact: {_LABEL_WHY[c.label]}")
    if c.result_index is None:
        return [*out, ""]
    result = report.results[c.result_index]
    problems = [f for f in result.findings if f.severity is not Severity.INFO]
    for f in problems[:_FINDINGS_PER_TARGET]:
        where = f" on {f.address}" if f.address else ""
        out.append(f"  - {f.code} ({f.severity}){where}: {clip(f.message)}")
        info = CODES.get(f.code)
        if info is not None:
            out.append(f"    Why: {info.meaning}")
        out.append(f"    Fix: {clip(f.hint or (info.fix if info else ''))}")
    if len(problems) > _FINDINGS_PER_TARGET:
        out.append(f"  - ... {len(problems) - _FINDINGS_PER_TARGET} more finding(s)")
    if result.reproduce:
        out.append(f"  Verify: {result.reproduce}")
    out.append("")
    return out


def _chat(report: AuditReport, plan: Plan, subject: str, *, lead_word: str, severity: str,
          alarm: AlarmContext | None, change: ChangeContext | None) -> dict[str, object]:
    """Amazon Q Developer in chat applications custom notification (rules doc §5)."""
    bullets: list[str] = []
    for c in plan.changes[:_CHAT_CHANGES_MAX]:
        codes = ", ".join(f"`{code}`" for code in c.codes[:4]) or "-"
        dists = f" ({', '.join(c.distribution_ids[:3])})" if c.distribution_ids else ""
        bullets.append(f"• *{_KIND_HEADING[c.kind]}* `{c.display}`{dists}: {codes}")
    if len(plan.changes) > _CHAT_CHANGES_MAX:
        bullets.append(f"… and {len(plan.changes) - _CHAT_CHANGES_MAX} more (see the email/JSON report)")
    intro = []
    if alarm is not None:
        intro.append(f"Alarm *{alarm.name}* is {alarm.state}.")
    if change is not None:
        intro.append(f"After `{change.event_name}` by {change.actor or 'unknown caller'}.")
    if not plan.dedup_available:
        intro.append("_Dedup unavailable: listing every origin that is not passing._")
    if lead_word in _LABEL_WHY:
        intro.append(_LABEL_WHY[lead_word])
    if unaudited := unaudited_summary(report.results):
        intro.append(f"_{unaudited}: {_UNAUDITED_MEANS}_")
    description = "\n".join([*intro, *bullets])
    if len(description) > _CHAT_DESCRIPTION_MAX:
        description = description[: _CHAT_DESCRIPTION_MAX - 1] + "…"
    fixes: list[str] = []
    for c in plan.changes:
        for code in c.codes:
            try:
                fix = CODES[Code(code)].fix
            except (ValueError, KeyError):
                continue
            if fix not in fixes:
                fixes.append(fix)
    first = next((c for c in plan.changes if c.result_index is not None), None)
    if first is not None and report.results[first.result_index or 0].reproduce:
        fixes.append(f"Verify: `{report.results[first.result_index or 0].reproduce}`")
    dist_ids = list(dict.fromkeys(d for c in plan.changes for d in c.distribution_ids))
    keywords = list(dict.fromkeys([lead_word, severity,
                                   *(code for c in plan.changes for code in c.codes)]))[:10]
    ident = hashlib.sha256(f"{report.generated_at}|{subject}".encode()).hexdigest()[:32]
    return {
        "version": "1.0",
        "source": "custom",
        "id": ident,
        "content": {
            "textType": "client-markdown",
            "title": subject,
            "description": description,
            "nextSteps": fixes[:5] or ["No action needed."],
            "keywords": keywords,
        },
        "metadata": {
            "threadId": "origin-auditor-" + ("-".join(dist_ids[:3]) or "account"),
            "summary": subject,
            "eventType": f"OriginAuditor{lead_word.title().replace('_', '')}",
            "relatedResources": dist_ids[:10] or [c.display for c in plan.changes[:10]],
        },
    }


def _machine(report: AuditReport, plan: Plan, shown: Sequence[Change], omitted: int, *, slim: bool,
             subject: str, severity: str, lead_word: str) -> str:
    data = report.to_json()
    if slim:
        keep = sorted({c.result_index for c in shown if c.result_index is not None})
        new_index = {old: new for new, old in enumerate(keep)}
        results = data["results"]
        assert isinstance(results, list)
        data["results"] = [results[i] for i in keep]
        # Only the distributions of the kept results: thousands of healthy distributions would
        # otherwise fill the message on their own.
        dists = [{**d, "results": [new_index[i] for i in d["results"] if i in new_index]}
                 for d in data["distributions"]]  # type: ignore[attr-defined]
        kept = [d for d in dists if d["results"]]
        data["distributions"] = kept
        data["results_omitted"] = len(report.results) - len(keep)
        data["distributions_omitted"] = len(dists) - len(kept)
    data["notification"] = {
        "subject": subject, "severity": severity, "classification": lead_word,
        "dedup_available": plan.dedup_available,
        "changes": [c.to_json() for c in shown], "changes_omitted": omitted,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- publishing
