"""What to tell people, and telling them: change detection against the state table (pure), the
SNS message (pure), and the publish (the one I/O here).

One message per run, about what changed since the last *successful* publish:

* ``new``: a target that passed (or was never seen) now warns or fails;
* ``escalated``: warn -> fail, LATENT -> OUTAGE, or a new warn/fail finding code appeared;
* ``reminder``: still failing, and the last message naming it is ``reminder_hours`` old;
* ``improved`` (fail -> warn), ``resolved`` (now passes), ``removed`` (no distribution uses it
  any more; whole-account runs only);
* ``digest``: optional daily list of everything not passing, sent only when nothing else was.

Targets the run did not get to probe (``ORIGIN_NOT_PROBED``) keep their previous state: running
out of time is not a resolution.

Message attributes. SNS documents that attributes are *delivered* only with String message
structure, but the per-protocol payloads below need ``MessageStructure=json``. Subscription filter
policies are evaluated on the published attributes at the topic, so ``severity``,
``classification``, ``event`` and ``codes`` are still set for filtering; subscribers that need
them in hand read the same values from the ``sqs``/``lambda`` JSON (``notification`` key).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from . import aws
from .events import AlarmContext, ChangeContext
from .model import AuditReport, Classification, Severity, TargetResult, Verdict
from .present.text import clip, email_subject
from .rules import CODES, Code
from .state import TargetState, target_id

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 262_144  # SNS: message + attributes
_BUDGET_BYTES = 250_000  # margin for SNS's own accounting of attribute names/types
SUBJECT_MAX = 99  # SNS: "less than 100 characters", ASCII, no line breaks
DIGEST_KEY = "meta#digest"
_CHAT_DESCRIPTION_MAX = 3500  # chat clients truncate long cards; the email has the details
_CHAT_CHANGES_MAX = 10
_FINDINGS_PER_TARGET = 8


class ChangeKind(StrEnum):
    NEW = "new"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    DIGEST = "digest"
    IMPROVED = "improved"
    RESOLVED = "resolved"
    REMOVED = "removed"


_ACTIVE = frozenset({ChangeKind.NEW, ChangeKind.ESCALATED, ChangeKind.REMINDER, ChangeKind.DIGEST})
_KIND_ORDER = {k: i for i, k in enumerate(ChangeKind)}

# The label a target is notified under: a failing target takes the worst alerting classification
# (OUTAGE, LATENT) of its distributions, else FAIL (no traffic context: IDLE, UNKNOWN, `check`);
# a warning target is AT_RISK, a passing one HEALTHY. Worst first; the rank is read from
# ``Classification`` so a new alerting classification needs no edit here.
FAIL_LABEL = "FAIL"
LABEL_ORDER: tuple[str, ...] = (
    *(c for c in Classification.worst_first() if c.alerts), FAIL_LABEL,
    Classification.AT_RISK, Classification.HEALTHY)
LABEL_RANK = {label: len(LABEL_ORDER) - i for i, label in enumerate(LABEL_ORDER)}  # others: 0
_LABEL_WHY = {
    Classification.OUTAGE: "CloudFront cannot connect to this origin and viewers are getting 502s now.",
    Classification.LATENT: "CloudFront cannot connect to this origin, but cached objects are masking it: "
                           "error rates look normal until the next cache miss (a deploy with new asset "
                           "names, an invalidation, an expiring TTL), which will return 502.",
    FAIL_LABEL: "CloudFront will reject this origin's TLS setup on its next connection (502).",
    Classification.AT_RISK: "Works today, but will break or is outside what CloudFront documents.",
}
_SUBJECT_TEXT = {
    Classification.OUTAGE: "{n} CloudFront origin{s} failing TLS now, viewers get 502",
    Classification.LATENT: "{n} CloudFront origin{s} will fail on next cache miss",
    FAIL_LABEL: "{n} CloudFront origin{s} fail{v} CloudFront's TLS checks",
    Classification.AT_RISK: "{n} CloudFront origin{s} at risk",
    "RESOLVED": "{n} CloudFront origin{s} fixed",
    "DIGEST": "daily digest: {n} CloudFront origin{s} not passing",
}


@dataclass(frozen=True)
class Change:
    """One target's change since the last notification.

    kind: see ``ChangeKind``. key: ``state.target_id``. display: the target for people.
    verdict / label: now (``None`` for ``removed``). previous_verdict / previous_label: as last
    notified (``None``: never seen, or dedup unavailable). codes: warn/fail codes now.
    result_index: index into ``AuditReport.results`` (``None`` for ``removed``).
    distribution_ids: where the target is used.
    """

    kind: ChangeKind
    key: str
    display: str
    verdict: str | None
    label: str | None
    previous_verdict: str | None
    previous_label: str | None
    codes: tuple[str, ...]
    result_index: int | None
    distribution_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"kind": str(self.kind), "target": self.display, "key": self.key,
                "verdict": self.verdict, "classification": self.label,
                "previous_verdict": self.previous_verdict, "previous_classification": self.previous_label,
                "codes": list(self.codes), "result": self.result_index,
                "distribution_ids": list(self.distribution_ids)}


@dataclass(frozen=True)
class Plan:
    """What this run should say and, once said, remember.

    changes: what to notify, most urgent first; empty = publish nothing.
    states: the items to write after a successful publish (or at once when nothing is published).
    delete: state keys to delete (targets gone from a whole-account run).
    dedup_available: False when the previous state could not be read (every problem is "new").
    """

    changes: tuple[Change, ...]
    states: tuple[TargetState, ...]
    delete: tuple[str, ...] = ()
    dedup_available: bool = True

    @property
    def should_publish(self) -> bool:
        return bool(self.changes)


def target_label(report: AuditReport, index: int) -> str:
    """The label a target is notified under (see ``LABEL_RANK``)."""
    result = report.results[index]
    if result.verdict is Verdict.PASS:
        return str(Classification.HEALTHY)
    if result.verdict is Verdict.WARN:
        return str(Classification.AT_RISK)
    classes = [d.classification for d in report.distributions if index in d.results]
    worst = max((c for c in classes if c.alerts), key=lambda c: c.rank, default=None)
    return str(worst) if worst is not None else FAIL_LABEL


def _problem_codes(result: TargetResult) -> tuple[str, ...]:
    return tuple(sorted({str(f.code) for f in result.findings if f.severity is not Severity.INFO}))


def _not_probed(result: TargetResult) -> bool:
    # Out of time (or unreachable VPC origin): nothing was learned, so nothing changed.
    return not result.addresses and any(f.code is Code.ORIGIN_NOT_PROBED for f in result.findings) \
        and result.verdict is Verdict.PASS


def plan_changes(report: AuditReport, previous: Mapping[str, TargetState] | None, *, now: float,
                 reminder_hours: float = 24.0, whole_account: bool = False,
                 digest: bool = False) -> Plan:
    """Compare ``report`` with ``previous`` (None: state unavailable) and decide what to say."""
    prev = dict(previous or {})
    changes: list[Change] = []
    states: list[TargetState] = []
    seen: set[str] = set()
    for i, result in enumerate(report.results):
        key = target_id(result.target)
        if key in seen:  # the audit merges equal targets; be safe if it did not
            continue
        seen.add(key)
        if _not_probed(result):
            continue
        before = prev.get(key)
        verdict, label, codes = str(result.verdict), target_label(report, i), _problem_codes(result)
        kind = _classify(before, verdict, label, codes, now=now, reminder_hours=reminder_hours)
        notified = before.last_notified if before else None
        if kind is not None:
            changes.append(Change(kind, key, result.target.display, verdict, label,
                                  before.verdict if before else None, before.label if before else None,
                                  codes, i, result.target.distribution_ids))
            notified = now
        states.append(TargetState(key, verdict, label, codes, result.target.display, notified))

    delete: list[str] = []
    if whole_account and previous is not None:
        for key, before in prev.items():
            if key.startswith("t#") and key not in seen and not _unprobed_key(report, key):
                delete.append(key)
                if before.verdict != "pass":
                    changes.append(Change(ChangeKind.REMOVED, key, before.display, None, None,
                                          before.verdict, before.label, (), None))

    if digest and not changes and previous is not None:
        last = prev.get(DIGEST_KEY)
        if last is None or last.last_notified is None or now - last.last_notified >= 86400 - 300:
            changes = [Change(ChangeKind.DIGEST, s.key, s.display, s.verdict, s.label, s.verdict,
                              s.label, s.codes, _index_of(report, s.key))
                       for s in states if s.verdict != "pass"]
            if not changes:  # still say "all clear" once a day: silence is not proof it ran
                changes = [Change(ChangeKind.DIGEST, DIGEST_KEY, "all origins", "pass",
                                  str(Classification.HEALTHY), None,
                                  None, (), None)]
            states.append(TargetState(DIGEST_KEY, "", "", (), "daily digest", now))

    changes.sort(key=lambda c: (c.kind not in _ACTIVE, -LABEL_RANK.get(c.label or "", 0),
                                _KIND_ORDER[c.kind], c.display))
    return Plan(tuple(changes), tuple(states), tuple(delete), dedup_available=previous is not None)


def _index_of(report: AuditReport, key: str) -> int | None:
    return next((i for i, r in enumerate(report.results) if target_id(r.target) == key), None)


def _unprobed_key(report: AuditReport, key: str) -> bool:
    return any(target_id(r.target) == key and _not_probed(r) for r in report.results)


def _classify(before: TargetState | None, verdict: str, label: str, codes: tuple[str, ...], *,
              now: float, reminder_hours: float) -> ChangeKind | None:
    rank = {"pass": 0, "warn": 1, "fail": 2}
    if before is None or before.verdict == "pass":
        return None if verdict == "pass" else ChangeKind.NEW
    if verdict == "pass":
        return ChangeKind.RESOLVED
    if rank[verdict] > rank.get(before.verdict, 0) or \
            LABEL_RANK.get(label, 0) > LABEL_RANK.get(before.label, 0) or \
            set(codes) - set(before.codes):
        return ChangeKind.ESCALATED
    if rank[verdict] < rank.get(before.verdict, 0):
        return ChangeKind.IMPROVED
    if verdict == "fail" and (before.last_notified is None
                              or now - before.last_notified >= reminder_hours * 3600):
        return ChangeKind.REMINDER
    return None


# ---------------------------------------------------------------- the message


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
    active = [c for c in changes if c.kind in _ACTIVE]
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
        group = [c for c in changes if c.kind in _ACTIVE and (c.label or FAIL_LABEL) == lead]
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
    if c.label in _LABEL_WHY and c.kind in _ACTIVE:
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


class PublishFailed(RuntimeError):
    """SNS did not accept the message; the state was not advanced."""


def publish(message: Message, topic_arn: str, client: Any = None) -> str:
    """Publish ``message``; return the MessageId or raise ``PublishFailed``."""
    if client is None:
        client = aws.client("sns")
    try:
        out = client.publish(**message.publish_kwargs(topic_arn))
    except Exception as exc:
        raise PublishFailed(f"SNS publish to {topic_arn} failed: {type(exc).__name__}: {exc}") from exc
    return str(out.get("MessageId", ""))


def publish_report(report: AuditReport, *, topic_arn: str, client: Any = None,
                   now: float | None = None) -> str | None:
    """Publish every problem in ``report`` (no state, no dedup: the CLI's ``audit --publish``).
    Returns the MessageId, or None when nothing warns or fails."""
    plan = plan_changes(report, None, now=time.time() if now is None else now)
    # No state table by design here, so "dedup unavailable" would be misleading.
    message = build_message(report, replace(plan, dedup_available=True))
    return None if message is None else publish(message, topic_arn, client)
