"""The SNS message for a plan (pure): e-mail text, the Amazon Q custom notification, the JSON
report, within SNS's size limits.

Outside text (alarm names and reasons, CloudTrail actors, origin names, certificate names in
findings, notes) is escaped per channel by ``present.text``: every e-mail body line passes
through ``email_line`` (one line, non-printables escaped, bounded), the subject through
``email_subject``; in the chat notification outside values are inline code (``chat_code``) in
the description and next steps, and ``chat`` in plain fields (title, keywords, metadata). The
``sqs``/``lambda`` JSON keeps values as they are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..archive import Archive
from ..assess import unaudited_summary
from ..events import AlarmContext, ChangeContext
from ..model import AuditReport, Classification, Severity
from ..present.partial import partial_line
from ..present.text import chat, chat_code, clip, email_line, email_subject
from ..rules import CODES, Code
from .changes import ACTIVE, DIGEST_KEY, FAIL_LABEL, LABEL_RANK, Change, ChangeKind, Plan

MAX_MESSAGE_BYTES = 262_144  # SNS: message + attributes
_BUDGET_BYTES = 250_000  # margin for SNS's own accounting of attribute names/types
SUBJECT_MAX = 99  # SNS: "less than 100 characters", ASCII, no line breaks
_CHAT_DESCRIPTION_MAX = 3500  # chat clients truncate long cards; the email has the details
_CHAT_CHANGES_MAX = 10
_FINDINGS_PER_TARGET = 8
_MIN_DETAIL = 20  # changes kept detailed, while the rest can at least be named
_NOTES_SHOWN = 20  # run notes quoted; all of them are in the full report
_NOT_ARCHIVED = "no reports bucket configured"

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
    ``MessageAttributes``.

    How much of the plan it says, in plan order (most urgent first): ``included`` changes are
    detailed (findings, why, fix, verify), the next ``named`` get one line each, the last
    ``counted`` only an exact total per kind. ``omitted`` = named + counted (not detailed).
    announced_keys: the state keys of the detailed and named changes: these were told.
    withheld_keys: the keys of the counted ones: told only as a number, so they must not be
    marked notified (the handler does not save their state, and the next run reports them).
    """

    subject: str
    structure: dict[str, str]
    attributes: dict[str, dict[str, str]]
    included: int
    omitted: int = 0
    severity: str = "info"
    label: str = "RESOLVED"
    extra: dict[str, object] = field(default_factory=dict)
    named: int = 0
    counted: int = 0
    announced_keys: frozenset[str] = frozenset()
    withheld_keys: frozenset[str] = frozenset()

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
                  change: ChangeContext | None = None, archive: Archive | None = None,
                  max_bytes: int = _BUDGET_BYTES) -> Message | None:
    """The message for ``plan``, or None when there is nothing to say. Never raises for size:
    always <= ``max_bytes``.

    ``archive``: where the full report went (None: no bucket configured); the message links it.
    Trimming, in order, while the message is too large: the machine payload keeps only the
    results of detailed changes and the first notes; then the least urgent changes lose their
    detail but keep a line naming them (at least ``_MIN_DETAIL`` stay detailed while names
    fit); then the least urgent lose their name and are counted per kind with exact totals.
    """
    if not plan.changes:
        return None
    parts = _Parts(report, plan, alarm, change, archive)
    total = len(plan.changes)

    def fitting(detail: int, named: int, slim: bool = True) -> Message | None:
        msg = _render(parts, detail, named, slim)
        return msg if msg.size_bytes <= max_bytes else None

    whole = fitting(total, 0, slim=False)
    if whole is not None:
        return whole
    floor = min(_MIN_DETAIL, total)
    return (_largest(lambda d: fitting(d, total - d), floor, total)  # most detail, all others named
            or _largest(lambda n: fitting(floor, n), 0, total - floor)  # the floor, names that fit
            or _largest(lambda d: fitting(d, total - d), 0, floor)  # less detail, all named
            or _largest(lambda n: fitting(0, n), 0, total)  # names that fit
            or _bare(parts))


def _largest(attempt: Callable[[int], Message | None], lo: int, hi: int) -> Message | None:
    """The message of the largest x in [lo, hi] for which ``attempt`` fits, if x = lo fits.

    Size grows with x (more detail, more names), so a binary search: O(log n) renders.
    """
    top = attempt(hi)
    if top is not None:
        return top
    best = attempt(lo) if lo < hi else None
    if best is None:
        return None
    while hi - lo > 1:  # attempt(lo) fits, attempt(hi) does not
        mid = (lo + hi) // 2
        msg = attempt(mid)
        if msg is None:
            hi = mid
        else:
            lo, best = mid, msg
    return best


class _Parts:
    """What every trial render of one message shares, computed once: the subject, the
    classification and severity, the chat card, the report as JSON and each change's lines."""

    def __init__(self, report: AuditReport, plan: Plan, alarm: AlarmContext | None,
                 change: ChangeContext | None, archive: Archive | None) -> None:
        self.report, self.plan, self.alarm, self.change, self.archive = report, plan, alarm, change, archive
        changes = plan.changes
        active = [c for c in changes if c.kind in ACTIVE]
        lead = max((c.label or FAIL_LABEL for c in active), key=lambda lab: LABEL_RANK.get(lab, 0),
                   default="RESOLVED")
        self.lead_word = "DIGEST" if active and all(c.kind is ChangeKind.DIGEST for c in active) else lead
        self.severity = "info"
        if active:
            self.severity = "fail" if any(c.verdict == "fail" for c in active) else \
                "warn" if any(c.verdict == "warn" for c in active) else "info"
        self.subject = _subject(changes, lead, self.lead_word)
        self.chat = json.dumps(_chat(report, plan, self.subject, lead_word=self.lead_word,
                                     severity=self.severity, alarm=alarm, change=change, archive=archive),
                               ensure_ascii=False)
        codes = sorted({code for c in active for code in c.codes})
        self.attributes = {
            "severity": {"DataType": "String", "StringValue": self.severity},
            "classification": {"DataType": "String", "StringValue": self.lead_word},
            "event": {"DataType": "String",
                      "StringValue": "change" if any(c.kind in (ChangeKind.NEW, ChangeKind.ESCALATED)
                                                     for c in changes)
                      else "digest" if self.lead_word == "DIGEST"
                      else "reminder" if active else "resolution"},
        }
        if codes:
            self.attributes["codes"] = {"DataType": "String.Array", "StringValue": json.dumps(codes)}
        self.report_json = report.to_json()
        self.head = _text_head(report, plan, alarm=alarm, change=change, archive=archive)
        self._detail: dict[int, str] = {}
        self._named: dict[int, str] = {}

    def detail_text(self, i: int) -> str:
        if i not in self._detail:
            self._detail[i] = "\n".join(_change_text(self.report, self.plan.changes[i]))
        return self._detail[i]

    def named_text(self, i: int) -> str:
        if i not in self._named:
            self._named[i] = _named_line(self.plan.changes[i])
        return self._named[i]


def _render(parts: _Parts, detail: int, named: int, slim: bool) -> Message:
    changes = parts.plan.changes
    shown, listed, counted = changes[:detail], changes[detail:detail + named], changes[detail + named:]
    text = _text(parts, detail, named)
    machine = _machine(parts, shown, listed, counted, slim=slim)
    structure = {"default": text, "email": text, "https": parts.chat, "sqs": machine, "lambda": machine}
    return Message(parts.subject, structure, dict(parts.attributes), included=len(shown),
                   omitted=len(changes) - len(shown), severity=parts.severity, label=parts.lead_word,
                   named=len(listed), counted=len(counted),
                   announced_keys=frozenset(c.key for c in (*shown, *listed)),
                   withheld_keys=frozenset(c.key for c in counted))


def _bare(parts: _Parts) -> Message:
    """The last resort when not even the counts fit (inputs no audit produces): the subject, the
    totals and the archive, nothing marked notified."""
    changes = parts.plan.changes
    text = "\n".join([*parts.head[:1], *(line for line in parts.head if line.startswith("Full report")),
                      "This run's changes could not be told within SNS's size limit; none is marked "
                      "notified, so the next run reports them again."])
    machine = json.dumps({"schema": parts.report_json["schema"], "generated_at": parts.report.generated_at,
                          "notification": {"subject": parts.subject, "changes": [],
                                           "changes_counted": _tally(changes, machine=True),
                                           "changes_omitted": len(changes), "changes_total": len(changes),
                                           "report": _archive_json(parts.archive)}},
                         ensure_ascii=False, separators=(",", ":"))
    return Message(parts.subject, {"default": text, "email": text, "https": json.dumps(
        {"version": "1.0", "source": "custom", "content": {"description": clip(text, 3000)}}),
        "sqs": machine, "lambda": machine}, dict(parts.attributes), included=0, omitted=len(changes),
        severity=parts.severity, label=parts.lead_word, counted=len(changes),
        withheld_keys=frozenset(c.key for c in changes))


def _tally(changes: Sequence[Change], *, machine: bool = False) -> dict[str, int]:
    """Changes per kind, in ChangeKind order: the kind's value (machine) or its heading (text)."""
    out: dict[str, int] = {}
    for kind in ChangeKind:
        n = sum(1 for c in changes if c.kind is kind)
        if n:
            out[str(kind) if machine else _KIND_HEADING[kind].lower()] = n
    return out


def _archive_json(archive: Archive | None) -> dict[str, object]:
    return archive.to_json() if archive is not None else {"written": False, "error": _NOT_ARCHIVED}


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


def _text_head(report: AuditReport, plan: Plan, *, alarm: AlarmContext | None,
               change: ChangeContext | None, archive: Archive | None) -> list[str]:
    counts = _tally(plan.changes)
    lines = [f"CloudFront origin auditor, run {report.generated_at}: "
             + ", ".join(f"{n:,} {k}" for k, n in counts.items()) + "."]
    if alarm is not None and alarm.recovered:
        # A recovery is not a fix: the alarm's metric can drop because the cache masks a broken
        # origin (LATENT). The re-audit confirms only what it saw passing.
        lines.append(clip(f"Re-audit after CloudWatch alarm {alarm.name!r} returned to OK "
                          f"({alarm.previous_state or '?'} -> {alarm.state}, {alarm.metric}). It confirms "
                          "only what it saw: origins listed as RESOLVED were seen passing; an origin still "
                          "failing stays failing whatever the alarm says.", 1000))
    elif alarm is not None:
        lines.append(clip(f"Triggered by CloudWatch alarm {alarm.name!r} ({alarm.previous_state or '?'} -> "
                          f"{alarm.state}, {alarm.metric}): {alarm.reason}"))
    if change is not None:
        lines.append(clip(f"Triggered by {change.event_name} by {change.actor or 'unknown caller'}"
                          f" at {change.time or '?'}."))
    if report.partial:
        lines.append(clip(partial_line(report), 2000))
    if archive is None:
        lines.append(f"NOTE: the full report was not archived ({_NOT_ARCHIVED}).")
    elif archive.written:
        lines.append(f"Full report: {archive.console_url} ({archive.uri})")
        if archive.html_written:
            lines.append(f"Full report (HTML): {archive.html_console_url}")
    else:
        lines.append(f"NOTE: the full report could not be archived to {archive.uri} ({archive.error}); "
                     "what this message leaves out of it is not kept anywhere for this run.")
    if not plan.dedup_available:
        lines.append("NOTE: dedup unavailable (the state table could not be read): this lists every "
                     "origin that is not passing, not only what changed.")
    if unaudited := unaudited_summary(report.results):
        lines.append(f"NOTE: {unaudited}: {_UNAUDITED_MEANS}")
    lines += [f"NOTE: {clip(n)}" for n in report.notes[:_NOTES_SHOWN]]
    if len(report.notes) > _NOTES_SHOWN:
        lines.append(f"NOTE: … and {len(report.notes) - _NOTES_SHOWN:,} more notes, all in the full report.")
    return lines


def _text(parts: _Parts, detail: int, named: int) -> str:
    changes = parts.plan.changes
    lines = [*parts.head, ""]
    lines += [parts.detail_text(i) for i in range(detail)]
    if named:
        lines.append(f"Also changed ({named:,}, named here without detail to stay within SNS's size limit):")
        lines += [parts.named_text(i) for i in range(detail, detail + named)]
        lines.append("")
    counted = changes[detail + named:]
    if counted:
        tally = ", ".join(f"{n:,} {k}" for k, n in _tally(counted).items())
        lines.append(f"… and {len(counted):,} more not named here ({tally}) to stay within SNS's size "
                     "limit: all are in the full report, and they are not marked notified, so the next "
                     "run reports them again.")
        lines.append("")
    lines.append("Browsers fetch missing intermediates and build chains in any order; CloudFront does "
                 "neither, so a site can work in a browser and still fail behind CloudFront.")
    # Outside text is in many of these lines: a newline in an alarm name or a certificate CN
    # must not start a line of its own ("RESOLVED ..."), nor a control character reach the reader.
    return "\n".join(email_line(line) for line in lines)


def _named_line(c: Change) -> str:
    head = f"{_KIND_HEADING[c.kind]} [{c.label or c.previous_label or '-'}] {c.display}"
    if c.distribution_ids:
        more = f", +{len(c.distribution_ids) - 3:,}" if len(c.distribution_ids) > 3 else ""
        head += f" ({', '.join(c.distribution_ids[:3])}{more})"
    return clip(head, 300)


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
          alarm: AlarmContext | None, change: ChangeContext | None,
          archive: Archive | None = None) -> dict[str, object]:
    """Amazon Q Developer in chat applications custom notification (rules doc §5)."""
    bullets: list[str] = []
    for c in plan.changes[:_CHAT_CHANGES_MAX]:
        codes = ", ".join(f"`{code}`" for code in c.codes[:4]) or "-"
        dists = f" ({chat(', '.join(c.distribution_ids[:3]))})" if c.distribution_ids else ""
        bullets.append(f"• *{_KIND_HEADING[c.kind]}* {chat_code(c.display)}{dists}: {codes}")
    if len(plan.changes) > _CHAT_CHANGES_MAX:
        bullets.append(f"… and {len(plan.changes) - _CHAT_CHANGES_MAX:,} more, all in the full report")
    intro = []
    if archive is not None and archive.written:
        intro.append(f"Full report: {archive.console_url}")
    elif archive is not None:
        intro.append(f"_The full report could not be archived:_ {chat_code(clip(archive.error or '?', 300))}")
    if alarm is not None and alarm.recovered:
        intro.append(f"Alarm {chat_code(alarm.name)} returned to OK: re-audited to confirm. Only origins "
                     "seen passing are resolved.")
    elif alarm is not None:
        intro.append(f"Alarm {chat_code(alarm.name)} is {chat_code(alarm.state)}.")
    if change is not None:
        actor = chat_code(change.actor or "unknown caller")
        intro.append(f"After {chat_code(change.event_name)} by {actor}.")
    if report.partial:
        intro.append(chat_code(clip(partial_line(report), 600)))
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
        fixes.append(f"Verify: {chat_code(report.results[first.result_index or 0].reproduce)}")
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
            "title": chat(subject),
            "description": description,
            "nextSteps": fixes[:5] or ["No action needed."],
            "keywords": [chat(k) for k in keywords],
        },
        "metadata": {
            "threadId": chat("origin-auditor-" + ("-".join(dist_ids[:3]) or "account")),
            "summary": chat(subject),
            "eventType": f"OriginAuditor{lead_word.title().replace('_', '')}",
            "relatedResources": [chat(r) for r in dist_ids[:10] or [c.display for c in plan.changes[:10]]],
        },
    }


def _machine(parts: _Parts, shown: Sequence[Change], listed: Sequence[Change],
             counted: Sequence[Change], *, slim: bool) -> str:
    report, data = parts.report, dict(parts.report_json)
    index = {i: i for i in range(len(report.results))}
    if slim:
        keep = sorted({c.result_index for c in shown if c.result_index is not None})
        index = {old: new for new, old in enumerate(keep)}
        results = data["results"]
        assert isinstance(results, list)
        data["results"] = [results[i] for i in keep]
        # Only the distributions of the kept results: thousands of healthy distributions would
        # otherwise fill the message on their own.
        dists = [{**d, "results": [index[i] for i in d["results"] if i in index]}
                 for d in data["distributions"]]  # type: ignore[attr-defined]
        kept = [d for d in dists if d["results"]]
        data["distributions"] = kept
        data["results_omitted"] = len(report.results) - len(keep)
        data["distributions_omitted"] = len(dists) - len(kept)
        summary = dict(data["summary"])  # type: ignore[call-overload]
        summary["notes"] = [clip(n) for n in report.notes[:_NOTES_SHOWN]]
        summary["notes_total"] = len(report.notes)
        data["summary"] = summary

    def detailed(c: Change) -> dict[str, object]:
        entry = c.to_json()
        entry["result"] = None if c.result_index is None else index.get(c.result_index)
        return entry

    data["notification"] = {
        "subject": parts.subject, "severity": parts.severity, "classification": parts.lead_word,
        "dedup_available": parts.plan.dedup_available,
        "changes": [detailed(c) for c in shown],
        "changes_named": [{"kind": str(c.kind), "target": c.display, "key": c.key, "verdict": c.verdict,
                           "classification": c.label} for c in listed],
        "changes_counted": _tally(counted, machine=True),
        "changes_omitted": len(listed) + len(counted), "changes_total": len(parts.plan.changes),
        "report": _archive_json(parts.archive),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
