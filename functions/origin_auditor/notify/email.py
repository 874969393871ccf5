"""The e-mail text (pure): plain text wrapped at ``WIDTH`` columns on spaces only; verify
commands and URLs stay whole on lines of their own.

What an on-call engineer reads (issue 11): each item (an origin) says its site, distribution,
account, metrics, origin and port, its classification in plain words, the cause, the fix and
the verify command; what a classification or code means is said once per message, below the
items.

Outside text (alarm names and reasons, CloudTrail actors, origin names, aliases, certificate
names in findings, notes) is escaped by ``present.text``: every e-mail line is made by
``_wrap``/``_verbatim``, which escape with ``email_line`` before wrapping (a newline in
outside text never starts a line, an escape is never split).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..archive import Archive
from ..assess import unaudited_summary
from ..events import AlarmContext, ChangeContext
from ..model import AuditReport, Classification, Severity, Verdict
from ..present.partial import partial_line
from ..present.text import clip, email_line
from .changes import ACTIVE, COVERAGE, FAIL_LABEL, LABEL_RANK, Change, ChangeKind, Plan
from .coverage import _coverage_text
from .org import OrgSummary, org_head
from .words import (
    _KIND_HEADING,
    _NOT_ARCHIVED,
    _NOTES_SHOWN,
    _UNAUDITED_MEANS,
    _code_info,
    _metrics,
    _tally,
)

if TYPE_CHECKING:  # the shared parts of one message; message imports this module
    from .message import _Parts

WIDTH = 80  # e-mail body columns; only verify commands and URLs (never wrapped) may exceed it
_LINE_MAX = 600  # any one e-mail line, however long the unbreakable token in it
_FINDINGS_PER_TARGET = 8
_DISTRIBUTIONS_PER_ITEM = 3  # each with its own classification and metrics; the rest counted
_CAUSE_CHARS = 200  # the cause: the finding's first sentences up to this many characters

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
               change: ChangeContext | None, archive: Archive | None,
               org: OrgSummary | None = None) -> list[str]:
    counts = _tally(plan.changes)
    lines = _wrap(f"CloudFront origin auditor, run {report.generated_at}: "
                  + ", ".join(f"{n:,} {k}" for k, n in counts.items()) + ".")
    if org is None:
        lines += _wrap(f"Account {report.account or 'unknown'}.")
    else:  # the accounts, each partial one with its reason: the PARTIAL RUN line below is theirs
        for line in org_head(org):
            lines += _wrap(line, hang="    ")
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
    if report.partial and org is None:
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


def _named_line(c: Change) -> str:
    head = f"{_KIND_HEADING[c.kind]} [{c.label or c.previous_label or '-'}] {c.display}"
    if c.account:
        head += f", account {c.account}"
    if c.distribution_ids:
        more = f", +{len(c.distribution_ids) - 3:,}" if len(c.distribution_ids) > 3 else ""
        head += f" ({', '.join(c.distribution_ids[:3])}{more})"
    return clip(head, 300)


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
        raws = _coverage_text(report, c)
        if c.account:  # organization mode: whose blind spot
            raws[1:1] = [f"  Account: {c.account}"]
        return [line for raw in raws for line in (_wrap(raw, hang="    ") if raw else [""])]
    label = c.label or c.previous_label or "-"
    head = f"{_KIND_HEADING[c.kind]} [{label}] {c.display}"
    if c.previous_verdict and c.kind is not ChangeKind.DIGEST:
        head += f" (was {c.previous_verdict}/{c.previous_label or '-'})"
    out = _wrap(head, hang="    ")
    if c.account:
        out += _field("Account", c.account)
    if c.kind is ChangeKind.REMOVED:
        # A target is its origin *and* the name and protocols CloudFront uses for it: any of them
        # changing (an origin removed, a route now forwarding Host, OriginSslProtocols edited)
        # ends it. Say that, not "removed", which would be a claim this run cannot make.
        return [*out, *_wrap("No distribution reaches this origin with this name and these protocols "
                             "any more (the origin or its route changed); what it reaches now, if "
                             "anything, is reported on its own.", "  "), ""]
    plain = _PLAIN.get(label) if c.kind in ACTIVE else _PLAIN_KIND.get(c.kind)
    if plain:
        out += _wrap(plain, "  ")
    account = c.account or report.account or "unknown"
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
