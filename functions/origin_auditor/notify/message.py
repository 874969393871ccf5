"""The SNS message for a plan (pure): e-mail text, the Amazon Q custom notification, the JSON
report, within SNS's size limits.

What an on-call engineer reads (issue 11): the subject counts every classification worst first
and never hides LATENT (``subject``); the e-mail's items and what their words mean (``email``);
the chat card (``chat``); a blind spot or its end (``coverage``). This module assembles them,
with the machine JSON for ``sqs``/``lambda`` (values as they are), and trims the whole to fit.
The published JSON body carries ``FILTER_KEYS`` beside the protocols for body-scoped
subscription filter policies (see ``Message.filters``).

Outside text is escaped per channel by ``present.text``: the e-mail in ``email``, the subject
by ``email_subject``, the chat card in ``chat``; the ``sqs``/``lambda`` JSON keeps values as
they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..archive import Archive
from ..events import AlarmContext, ChangeContext
from ..model import AuditReport
from ..present.text import chat, chat_code, clip
from .changes import ACTIVE, DIGEST_KEY, FAIL_LABEL, LABEL_RANK, Change, ChangeKind, Plan
from .chat import _chat
from .coverage import _coverage_subject
from .email import _change_text, _named_line, _text, _text_head, _wrap
from .org import OrgSummary
from .subject import _SUBJECT_SEP, _subject
from .words import _NOT_ARCHIVED, _NOTES_SHOWN, _tally

MAX_MESSAGE_BYTES = 262_144  # SNS: message + attributes
_BUDGET_BYTES = 250_000  # margin for SNS's own accounting of attribute names/types
_MIN_DETAIL = 20  # changes kept detailed, while the rest can at least be named
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
                  max_bytes: int = _BUDGET_BYTES, organization: OrgSummary | None = None) -> Message | None:
    """The message for ``plan``, or None when there is nothing to say. Never raises for size:
    always <= ``max_bytes``.

    ``archive``: where the full report went (None: no bucket configured); the message links it.
    ``organization``: an organization run (``org.aggregate``): ``report`` holds every audited
    account's results, each change names its account, and the head counts and names the
    accounts (``notify.org``); the machine JSON carries them under ``organization``.
    Trimming, in order, while the message is too large: the machine payload keeps only the
    results of detailed changes and the first notes; then the least urgent changes lose their
    detail but keep a line naming them (at least ``_MIN_DETAIL`` stay detailed while names
    fit); then the least urgent lose their name and are counted per kind with exact totals.
    """
    if not plan.changes:
        return None
    parts = _Parts(report, plan, alarm, change, archive, organization=organization)
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
                 change: ChangeContext | None, archive: Archive | None, *,
                 organization: OrgSummary | None = None) -> None:
        self.report, self.plan, self.alarm, self.change, self.archive = report, plan, alarm, change, archive
        self.organization = organization
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
        self.head = _text_head(report, plan, alarm=alarm, change=change, archive=archive, org=organization)
        if organization is not None:
            self.report_json["organization"] = organization.to_json()
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


def _archive_json(archive: Archive | None) -> dict[str, object]:
    return archive.to_json() if archive is not None else {"written": False, "error": _NOT_ARCHIVED}


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
                           "classification": c.label, **({"account": c.account} if c.account else {})}
                          for c in listed],
        "changes_counted": _tally(counted, machine=True),
        "changes_omitted": len(listed) + len(counted), "changes_total": len(parts.plan.changes),
        "report": _archive_json(parts.archive),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
