"""The SNS message for a plan (pure): e-mail text, the Amazon Q custom notification, the JSON
report, within SNS's size limits.

What an on-call engineer reads (issue 11): the subject counts every classification worst first
and never hides LATENT; each item (an origin) says its site, distribution, account, metrics,
origin and port, its classification in plain words, the cause, the fix and the verify command;
what a classification or code means is said once per message, below the items. The e-mail is
plain text wrapped at ``WIDTH`` columns on spaces only: verify commands and URLs stay whole on
lines of their own. The published JSON body carries ``FILTER_KEYS`` beside the protocols for
body-scoped subscription filter policies (see ``Message.filters``).

Outside text (alarm names and reasons, CloudTrail actors, origin names, aliases, certificate
names in findings, notes) is escaped per channel by ``present.text``: every e-mail line is made
by ``_wrap``/``_verbatim``, which escape with ``email_line`` before wrapping (a newline in
outside text never starts a line, an escape is never split), the subject by
``email_subject``; in the chat notification outside values are inline code (``chat_code``) in
the description and next steps, and ``chat`` in plain fields (title, keywords, metadata). The
``sqs``/``lambda`` JSON keeps values as they are.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..archive import Archive
from ..assess import unaudited_summary
from ..events import AlarmContext, ChangeContext
from ..model import AuditReport, Classification, DistributionReport, Severity, Verdict
from ..present.partial import partial_fixes, partial_line, partial_reasons
from ..present.text import chat, chat_code, clip, email_line, email_subject
from ..rules import CODES, Code, CodeInfo
from .changes import (
    ACTIVE,
    COVERAGE,
    DIGEST_KEY,
    FAIL_LABEL,
    LABEL_RANK,
    PARTIAL_LABEL,
    Change,
    ChangeKind,
    Plan,
)

MAX_MESSAGE_BYTES = 262_144  # SNS: message + attributes
_BUDGET_BYTES = 250_000  # margin for SNS's own accounting of attribute names/types
# SNS: "less than 100 characters"; AWS's SNS receiver rules replace a subject holding control or
# non-ASCII characters with an error text, so printable ASCII only (``email_subject``), and
# " | " between the counts, not a middle dot.
SUBJECT_MAX = 99
_SUBJECT_SEP = " | "
WIDTH = 80  # e-mail body columns; only verify commands and URLs (never wrapped) may exceed it
_LINE_MAX = 600  # any one e-mail line, however long the unbreakable token in it
_CHAT_DESCRIPTION_MAX = 3500  # chat clients truncate long cards; the email has the details
_CHAT_CHANGES_MAX = 10
_CHAT_STEPS_MAX = 5
_FINDINGS_PER_TARGET = 8
_DISTRIBUTIONS_PER_ITEM = 3  # each with its own classification and metrics; the rest counted
_CAUSE_CHARS = 200  # the cause: the finding's first sentences up to this many characters
_MIN_DETAIL = 20  # changes kept detailed, while the rest can at least be named
_NOTES_SHOWN = 20  # run notes quoted; all of them are in the full report
_NOT_ARCHIVED = "no reports bucket configured"

# What each label means, said once per message below the items that carry it.
_LABEL_WHY = {
    Classification.OUTAGE: "CloudFront cannot connect to the origin and viewers are getting 502s now.",
    Classification.LATENT: "CloudFront already rejects the origin, but cached objects are masking it: "
                           "error rates look normal, and the next deploy, invalidation or TTL expiry "
                           "turns the cache misses into 502s.",
    FAIL_LABEL: "CloudFront will reject the origin's TLS setup on its next connection (502); no "
                "traffic figures say whether viewers see it yet.",
    Classification.AT_RISK: "Works today, but will break or is outside what CloudFront documents.",
}
# The chat card's one sentence on LATENT (the card has no room for the e-mail's section).
_CHAT_LATENT = ("*LATENT* means CloudFront already rejects the origin but the cache is still serving "
                "viewers: the next deploy, invalidation or TTL expiry turns it into 502s.")
# Each item's classification in plain words (the label's explanation is said once, below).
_PLAIN = {
    Classification.OUTAGE: "This origin is failing now: viewers are getting 502s.",
    Classification.LATENT: "This origin is failing, but the cache is hiding it (LATENT, see below).",
    FAIL_LABEL: "This origin fails CloudFront's TLS checks (no traffic figures: see below).",
    Classification.AT_RISK: "This origin works today but is at risk of breaking (see below).",
}
_PLAIN_KIND = {
    ChangeKind.RESOLVED: "Fixed: seen passing CloudFront's TLS checks in this run.",
    ChangeKind.IMPROVED: "No longer failing; warnings remain.",
}
# What a count of origins not audited means for the reader (the count and reasons come first).
_UNAUDITED_MEANS = ("nothing is known about their TLS, their last known state is kept and nothing "
                    "is announced resolved for them.")
# The subject's count per label, worst first; {it} is "it" or "them".
_SUBJECT_COUNT = {
    Classification.OUTAGE: "{n} origin{s} failing now",
    Classification.LATENT: "{n} LATENT (cache is hiding {it})",
    FAIL_LABEL: "{n} failing CloudFront's TLS checks",
    Classification.AT_RISK: "{n} at risk",
}
_SUBJECT_GOOD = {ChangeKind.RESOLVED: "{n} fixed", ChangeKind.IMPROVED: "{n} improved",
                 ChangeKind.REMOVED: "{n} removed"}
# Keys beside the protocols in the published JSON, for subscription filter policies with
# FilterPolicyScope MessageBody (SNS ignores keys that are not protocols when delivering).
FILTER_KEYS = ("severity", "classification", "classifications", "event", "codes")


@dataclass(frozen=True)
class Message:
    """One SNS publish: ``Subject``, the per-protocol ``Message`` (MessageStructure=json) and
    ``MessageAttributes``.

    filters: keys published beside the protocols in the JSON body (``FILTER_KEYS``): what a
    subscription filter policy with ``FilterPolicyScope: MessageBody`` selects on; SNS delivers
    only the protocols' strings.

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
    filters: dict[str, object] = field(default_factory=dict)

    @property
    def body(self) -> str:
        return json.dumps({**self.structure, **self.filters}, ensure_ascii=False)

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
        self.dists = {d.id: d for d in report.distributions}
        changes = plan.changes
        active = [c for c in changes if c.kind in ACTIVE]
        lead = max((c.label or FAIL_LABEL for c in active), key=lambda lab: LABEL_RANK.get(lab, 0),
                   default="RESOLVED")
        self.lead_word = "DIGEST" if active and all(c.kind is ChangeKind.DIGEST for c in active) else lead
        self.severity = "info"
        if active:
            self.severity = "fail" if any(c.verdict == "fail" for c in active) else \
                "warn" if any(c.verdict == "warn" for c in active) else "info"
        self.subject_site = ""  # the site the subject ends with (outside text: code in chat)
        coverage = _coverage_subject(report, changes, active)
        if coverage is not None:  # a blind spot (or its end) leads the message: issue 9 §1
            self.lead_word, self.severity, self.subject = coverage
        else:
            self.subject = _subject(self, active)
        # The chat title is the subject with the site, an alias someone else chose, as code.
        self.title = chat(self.subject.removesuffix(_SUBJECT_SEP + self.subject_site)) + (
            _SUBJECT_SEP + chat_code(self.subject_site) if self.subject_site else "")
        self.chat = json.dumps(_chat(self), ensure_ascii=False)
        codes = sorted({code for c in active for code in c.codes})
        labels = sorted({c.label or FAIL_LABEL for c in active if c.key != DIGEST_KEY},
                        key=lambda lab: -LABEL_RANK.get(lab, 0))
        event = "change" if any(c.kind in (ChangeKind.NEW, ChangeKind.ESCALATED) for c in changes) \
            else "digest" if self.lead_word == "DIGEST" else "coverage" if coverage is not None \
            else "reminder" if active else "resolution"
        self.filters: dict[str, object] = {"severity": self.severity, "classification": self.lead_word,
                                           "classifications": labels, "event": event, "codes": codes}
        self.attributes = {
            "severity": {"DataType": "String", "StringValue": self.severity},
            "classification": {"DataType": "String", "StringValue": self.lead_word},
            "event": {"DataType": "String", "StringValue": event},
        }
        if labels:
            self.attributes["classifications"] = {"DataType": "String.Array",
                                                  "StringValue": json.dumps(labels)}
        if codes:
            self.attributes["codes"] = {"DataType": "String.Array", "StringValue": json.dumps(codes)}
        self.report_json = report.to_json()
        self.head = _text_head(report, plan, alarm=alarm, change=change, archive=archive)
        self._detail: dict[int, str] = {}
        self._named: dict[int, str] = {}

    def detail_text(self, i: int) -> str:
        if i not in self._detail:
            self._detail[i] = "\n".join(_change_text(self, self.plan.changes[i]))
        return self._detail[i]

    def named_text(self, i: int) -> str:
        if i not in self._named:
            self._named[i] = "\n".join(_wrap(_named_line(self.plan.changes[i]), hang="    "))
        return self._named[i]

    def aliases(self, c: Change) -> list[str]:
        """The sites (alternate domain names) of the change's distributions, first-seen order."""
        return list(dict.fromkeys(a for d in c.distribution_ids if d in self.dists
                                  for a in self.dists[d].aliases))


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
                   withheld_keys=frozenset(c.key for c in counted), filters=dict(parts.filters))


def _bare(parts: _Parts) -> Message:
    """The last resort when not even the counts fit (inputs no audit produces): the subject, the
    totals and the archive, nothing marked notified."""
    changes = parts.plan.changes
    text = "\n".join([*parts.head[:1], *(line for line in parts.head if line.startswith("Full report")),
                      *_wrap("This run's changes could not be told within SNS's size limit; none is "
                             "marked notified, so the next run reports them again.")])
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
        withheld_keys=frozenset(c.key for c in changes), filters=dict(parts.filters))


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
    return {"n": f"{n:,}", "s": "" if n == 1 else "s", "v": "s" if n == 1 else "",
            "it": "it" if n == 1 else "them"}


# ---------------------------------------------------------------- subject

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


# ---------------------------------------------------------------- e-mail

_KIND_HEADING = {
    ChangeKind.NEW: "NEW", ChangeKind.ESCALATED: "WORSE", ChangeKind.REMINDER: "STILL FAILING",
    ChangeKind.DIGEST: "NOT PASSING", ChangeKind.IMPROVED: "IMPROVED", ChangeKind.RESOLVED: "RESOLVED",
    ChangeKind.REMOVED: "REMOVED", ChangeKind.PARTIAL: "PARTIAL RUN",
    ChangeKind.COVERAGE_RESTORED: "COVERAGE RESTORED",
}


def _wrap(text: str, indent: str = "", hang: str | None = None) -> list[str]:
    """``text`` as e-mail lines: escaped first (``terminal``: a newline or ESC in outside text
    becomes ``\\x0a``/``\\x1b`` and never starts a line of its own), then wrapped at ``WIDTH``
    on spaces only, so a URL, an escape or a long name stays whole (and may exceed ``WIDTH``)."""
    lines = textwrap.wrap(email_line(text, 20_000), width=WIDTH, initial_indent=indent,
                          subsequent_indent=indent if hang is None else hang,
                          break_long_words=False, break_on_hyphens=False)
    return [clip(line, _LINE_MAX) for line in lines] or [""]


def _field(name: str, value: str) -> list[str]:
    """``  Name:     value`` with the value's continuation lines aligned under it."""
    return _wrap(value, f"  {name + ':':<9} " if name else " " * 12, " " * 12)


def _verbatim(text: str, indent: str = "    ") -> list[str]:
    """A command or URL on a line of its own, never wrapped (copied whole); escaped, bounded."""
    return [email_line(indent + text, _LINE_MAX)]


def _text_head(report: AuditReport, plan: Plan, *, alarm: AlarmContext | None,
               change: ChangeContext | None, archive: Archive | None) -> list[str]:
    counts = _tally(plan.changes)
    lines = _wrap(f"CloudFront origin auditor, run {report.generated_at}: "
                  + ", ".join(f"{n:,} {k}" for k, n in counts.items()) + ".")
    lines += _wrap(f"Account {report.account or 'unknown'}.")
    if alarm is not None and alarm.recovered:
        # A recovery is not a fix: the alarm's metric can drop because the cache masks a broken
        # origin (LATENT). The re-audit confirms only what it saw passing.
        lines += _wrap(clip(f"Re-audit after CloudWatch alarm {alarm.name!r} returned to OK "
                            f"({alarm.previous_state or '?'} -> {alarm.state}, {alarm.metric}). It confirms "
                            "only what it saw: origins listed as RESOLVED were seen passing; an origin still "
                            "failing stays failing whatever the alarm says.", 1000))
    elif alarm is not None:
        lines += _wrap(clip(f"Triggered by CloudWatch alarm {alarm.name!r} ({alarm.previous_state or '?'} -> "
                            f"{alarm.state}, {alarm.metric}): {alarm.reason}"))
    if change is not None:
        lines += _wrap(clip(f"Triggered by {change.event_name} by {change.actor or 'unknown caller'}"
                            f" at {change.time or '?'}."))
    if report.partial:
        lines += _wrap(clip(partial_line(report), 2000))
    if archive is None:
        lines += _wrap(f"NOTE: the full report was not archived ({_NOT_ARCHIVED}).")
    elif archive.written:
        lines += ["Full report:", *_verbatim(archive.console_url, "  "), *_verbatim(archive.uri, "  ")]
        if archive.html_written:
            lines += ["Full report (HTML):", *_verbatim(archive.html_console_url, "  ")]
    else:
        lines += _wrap(f"NOTE: the full report could not be archived to {archive.uri} ({archive.error}); "
                       "what this message leaves out of it is not kept anywhere for this run.")
    if not plan.dedup_available:
        lines += _wrap("NOTE: dedup unavailable (the state table could not be read): this lists every "
                       "origin that is not passing, not only what changed.")
    if unaudited := unaudited_summary(report.results):
        lines += _wrap(f"NOTE: {unaudited}: {_UNAUDITED_MEANS}")
    for n in report.notes[:_NOTES_SHOWN]:
        lines += _wrap(f"NOTE: {clip(n)}", hang="  ")
    if len(report.notes) > _NOTES_SHOWN:
        lines += _wrap(f"NOTE: … and {len(report.notes) - _NOTES_SHOWN:,} more notes, all in the full "
                       "report.")
    return lines


def _text(parts: _Parts, detail: int, named: int) -> str:
    changes = parts.plan.changes
    # Outside text is in many of these lines: a newline in an alarm name or a certificate CN
    # must not start a line of its own ("RESOLVED ..."), nor a control character reach the reader.
    # Every line is escaped on its own; a detailed change comes escaped line by line.
    lines = [email_line(line) for line in parts.head] + [""]
    lines += [parts.detail_text(i) for i in range(detail)]
    if named:
        lines += _wrap(f"Also changed ({named:,}, named here without detail to stay within SNS's size "
                       "limit):")
        lines += [parts.named_text(i) for i in range(detail, detail + named)]
        lines.append("")
    counted = changes[detail + named:]
    if counted:
        tally = ", ".join(f"{n:,} {k}" for k, n in _tally(counted).items())
        lines += _wrap(f"… and {len(counted):,} more not named here ({tally}) to stay within SNS's size "
                       "limit: all are in the full report, and they are not marked notified, so the next "
                       "run reports them again.")
        lines.append("")
    lines += _explained(changes[:detail])
    lines += _wrap("Browsers fetch missing intermediates and build chains in any order; CloudFront does "
                   "neither, so a site can work in a browser and still fail behind CloudFront.")
    return "\n".join(lines)


def _explained(detailed: Sequence[Change]) -> list[str]:
    """What the detailed items' classifications and codes mean, each said once per message."""
    labels = sorted({c.label for c in detailed if c.kind in ACTIVE and c.label in _LABEL_WHY},
                    key=lambda lab: -LABEL_RANK.get(lab or "", 0))
    codes = list(dict.fromkeys(code for c in detailed if c.kind in ACTIVE for code in c.codes))
    lines = [f"{label}: {_LABEL_WHY[label]}" for label in labels if label]
    for code in codes:
        info = _code_info(code)
        if info is not None:
            lines.append(f"{code}: {info.meaning}")
    if not lines:
        return []
    out = _wrap("What the words above mean (said once for every item):")
    for line in lines:
        out += _wrap(line, "  ", "    ")
    return [*out, ""]


def _code_info(code: str) -> CodeInfo | None:
    try:
        return CODES[Code(code)]
    except (ValueError, KeyError):
        return None


def _named_line(c: Change) -> str:
    head = f"{_KIND_HEADING[c.kind]} [{c.label or c.previous_label or '-'}] {c.display}"
    if c.distribution_ids:
        more = f", +{len(c.distribution_ids) - 3:,}" if len(c.distribution_ids) > 3 else ""
        head += f" ({', '.join(c.distribution_ids[:3])}{more})"
    return clip(head, 300)


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


def _cause(message: str) -> str:
    """The finding's first sentence, and the next ones while they stay short: the facts of this
    origin, not the explanation every origin with that code shares (said once, below)."""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", message.strip())
    out = sentences[0]
    for s in sentences[1:]:
        if len(out) + 1 + len(s) > _CAUSE_CHARS:
            break
        out += " " + s
    return out


def _change_text(parts: _Parts, c: Change) -> list[str]:
    report = parts.report
    if c.kind in COVERAGE:  # a blind spot or its end: its own words, wrapped like every line
        return [line for raw in _coverage_text(report, c)
                for line in (_wrap(raw, hang="    ") if raw else [""])]
    label = c.label or c.previous_label or "-"
    head = f"{_KIND_HEADING[c.kind]} [{label}] {c.display}"
    if c.previous_verdict and c.kind is not ChangeKind.DIGEST:
        head += f" (was {c.previous_verdict}/{c.previous_label or '-'})"
    out = _wrap(head, hang="    ")
    if c.kind is ChangeKind.REMOVED:
        return [*out, *_wrap("No distribution uses this origin any more.", "  "), ""]
    plain = _PLAIN.get(label) if c.kind in ACTIVE else _PLAIN_KIND.get(c.kind)
    if plain:
        out += _wrap(plain, "  ")
    account = report.account or "unknown"
    aliases = parts.aliases(c)
    if c.distribution_ids:
        out += _field("Site", ", ".join(aliases) or "no alternate domain name")
    for d in c.distribution_ids[:_DISTRIBUTIONS_PER_ITEM]:  # each with its class and figures
        dist = parts.dists.get(d)
        where = f"distribution {d}" + (f" ({dist.classification})" if dist is not None else "") + \
            f", account {account}"
        out += _field("Where", where)
        if dist is not None:
            out += _field("Metrics", _metrics(dist))
    if len(c.distribution_ids) > _DISTRIBUTIONS_PER_ITEM:
        out += _field("", f"and {len(c.distribution_ids) - _DISTRIBUTIONS_PER_ITEM:,} more "
                          "distributions, all in the full report")
    if c.result_index is None:
        return [*out, ""]
    result = report.results[c.result_index]
    t = result.target
    sni = f", SNI {t.sni}" if t.sni != t.host else ""
    out += _field("Origin", f"{t.host}, port {t.port}{sni}")
    problems = [f for f in result.findings if f.severity is not Severity.INFO]
    for f in problems[:_FINDINGS_PER_TARGET]:
        where = f" on {f.address}" if f.address else ""
        info = _code_info(str(f.code))
        out += _field("Cause", f"{f.code} ({f.severity}){where}: {_cause(clip(f.message, 2000))}")
        out += _field("Fix", clip(f.hint or (info.fix if info else "")))
    if len(problems) > _FINDINGS_PER_TARGET:
        out += _field("", f"... {len(problems) - _FINDINGS_PER_TARGET} more finding(s), all in the full "
                          "report")
    if result.reproduce and result.verdict is not Verdict.PASS:
        out += ["  Verify:", *_verbatim(result.reproduce)]
    out.append("")
    return out


# ---------------------------------------------------------------- chat

def _chat(parts: _Parts) -> dict[str, object]:
    """Amazon Q Developer in chat applications custom notification (rules doc §5): the title is
    the subject (the worst classification first), one bullet per origin with its own
    classification, ``nextSteps`` the fixes with the command that verifies each."""
    report, plan, alarm, change, archive = parts.report, parts.plan, parts.alarm, parts.change, parts.archive
    bullets: list[str] = []
    for c in plan.changes[:_CHAT_CHANGES_MAX]:
        if c.kind in ACTIVE:
            bits = [f"• *{c.label or FAIL_LABEL}* ({_KIND_HEADING[c.kind].lower()}) {chat_code(c.display)}"]
        else:
            was = f" (was {c.previous_label or c.previous_verdict or '-'})"
            bits = [f"• *{_KIND_HEADING[c.kind]}* {chat_code(c.display)}{was}"]
        aliases = parts.aliases(c)
        if aliases:
            bits.append(", ".join(chat_code(a) for a in aliases[:2]) + (" …" if len(aliases) > 2 else ""))
        if c.distribution_ids:
            bits.append(", ".join(chat_code(d) for d in c.distribution_ids[:2])
                        + (" …" if len(c.distribution_ids) > 2 else ""))
            dist = parts.dists.get(c.distribution_ids[0])
            if dist is not None and c.kind in ACTIVE:
                bits.append(_metrics(dist))
        if c.codes:
            bits.append(", ".join(f"`{code}`" for code in c.codes[:4]))
        bullets.append(" · ".join(bits))
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
    if any(c.label == Classification.LATENT and c.kind in ACTIVE for c in plan.changes):
        intro.append(_CHAT_LATENT)
    if unaudited := unaudited_summary(report.results):
        intro.append(f"_{unaudited}: {_UNAUDITED_MEANS}_")
    description = "\n".join([*intro, *bullets])
    if len(description) > _CHAT_DESCRIPTION_MAX:
        description = description[: _CHAT_DESCRIPTION_MAX - 1] + "…"
    steps: list[str] = []
    fixing = [c for c in plan.changes if c.kind in ACTIVE and c.codes and c.result_index is not None]
    for c in fixing[:_CHAT_STEPS_MAX - 1 if len(fixing) > _CHAT_STEPS_MAX else _CHAT_STEPS_MAX]:
        fixes = list(dict.fromkeys(info.fix for code in c.codes if (info := _code_info(code))))
        step = f"{chat_code(c.display)}: {' '.join(fixes) or 'see the full report.'}"
        reproduce = report.results[c.result_index or 0].reproduce
        if reproduce:
            step += f" Verify: {chat_code(reproduce)}"
        steps.append(step)
    if any(c.kind is ChangeKind.PARTIAL for c in plan.changes):
        steps[:0] = [chat(fix) for fix in partial_fixes(report)]
    if len(fixing) > len(steps):
        steps.append(f"… and {len(fixing) - len(steps):,} more origins to fix: the e-mail and the full "
                     "report give each fix and its verify command.")
    dist_ids = list(dict.fromkeys(d for c in plan.changes for d in c.distribution_ids))
    keywords = list(dict.fromkeys([parts.lead_word, parts.severity,
                                   *(code for c in plan.changes for code in c.codes)]))[:10]
    ident = hashlib.sha256(f"{report.generated_at}|{parts.subject}".encode()).hexdigest()[:32]
    context = {"classification": parts.lead_word}
    if report.account:
        context["account"] = chat(report.account)
    return {
        "version": "1.0",
        "source": "custom",
        "id": ident,
        "content": {
            "textType": "client-markdown",
            "title": parts.title,
            "description": description,
            "nextSteps": steps or ["No action needed."],
            "keywords": [chat(k) for k in keywords],
        },
        "metadata": {
            "threadId": chat("origin-auditor-" + ("-".join(dist_ids[:3]) or "account")),
            "summary": parts.title,
            "eventType": f"OriginAuditor{parts.lead_word.title().replace('_', '')}",
            "relatedResources": [chat(r) for r in dist_ids[:10] or [c.display for c in plan.changes[:10]]],
            "additionalContext": context,
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


# ---------------------------------------------------------------- the blind spot (issue 9 §1)
# A partial run's blind spot is told once, when new (``ChangeKind.PARTIAL``), and its end once
# (``COVERAGE_RESTORED``). The run's "PARTIAL RUN: ..." line (what, how much, why) is in the
# message head of any partial run; these say the rest.

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
