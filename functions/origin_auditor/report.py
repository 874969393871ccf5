"""Render an AuditReport for people (text, markdown) and machines (JSON).

Pure functions from report to string. Text goes to terminals and email; markdown to
pull-request comments; JSON is the contract in ``shared/architecture.md``; HTML (one
self-contained page: ``report_html``) to the archive and a browser.

Outside text (certificate names in findings, origin and distribution names, notes quoting AWS
errors) is escaped for the channel by ``present.text``: the text report passes every line
through ``terminal``; the markdown report escapes each outside value as prose (``markdown``)
or puts it in a code span (``markdown_code``). JSON keeps the values as they are (its encoder
escapes control characters; machines read it).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .assess import unaudited_summary
from .model import (
    AuditReport,
    Classification,
    DistributionReport,
    Finding,
    NotAudited,
    Severity,
    TargetResult,
    Verdict,
    count_unaudited,
)
from .present.figures import metric_text
from .present.partial import partial_line
from .present.text import markdown, markdown_code, terminal
from .report_html import render_html
from .rules import CODES, Code

FORMATS = ("text", "json", "markdown", "html")

@dataclass(frozen=True)
class GroupedFinding:
    """A finding with the addresses it was seen on (identical findings on several addresses of
    one target are shown once)."""

    finding: Finding
    addresses: tuple[str, ...]


def group_findings(findings: Iterable[Finding]) -> list[GroupedFinding]:
    order: list[tuple[str, str, str, str]] = []
    addrs: dict[tuple[str, str, str, str], list[str]] = {}
    first: dict[tuple[str, str, str, str], Finding] = {}
    for f in findings:
        key = (str(f.code), str(f.severity), f.message, f.hint)
        if key not in addrs:
            order.append(key)
            addrs[key] = []
            first[key] = f
        if f.address and f.address not in addrs[key]:
            addrs[key].append(f.address)
    grouped = [GroupedFinding(first[k], tuple(addrs[k])) for k in order]
    # Worst first, stable within a severity so the judge's order (cause before effect) survives.
    return sorted(grouped, key=lambda g: -g.finding.severity.rank)


def render(report: AuditReport, fmt: str) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    return render_text(report)


def render_json(report: AuditReport) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False)


def _verdict_label(v: Verdict) -> str:
    return {Verdict.PASS: "PASS", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL"}[v]




def _target_line(r: TargetResult) -> str:
    codes = []
    for g in group_findings(r.findings):
        if g.finding.severity != Severity.INFO and str(g.finding.code) not in codes:
            codes.append(str(g.finding.code))
    tail = f"  {', '.join(codes)}" if codes else ""
    return f"{_verdict_label(r.verdict):4}  {r.target.display}{tail}"


class _Labelled(str):
    """A text report line that starts (after its indent) with one of our labels: a verdict, a
    severity or a classification. Only these are painted; outside text never is."""

    __slots__ = ()


# A hint's command, put on a line of its own in the text report (to copy, and to wrap as one).
_REPRODUCE = " Reproduce: "


def _fix_lines(hint: str, indent: str) -> list[str]:
    fix, sep, command = hint.partition(_REPRODUCE)
    lines = [f"{indent}fix: {fix}"] if fix else []
    return lines + ([f"{indent}reproduce: {command}"] if sep else [])


def _target_text(r: TargetResult, indent: str = "") -> list[str]:
    lines: list[str] = [_Labelled(indent + _target_line(r))]
    for g in group_findings(r.findings):
        f = g.finding
        where = f" [{', '.join(g.addresses)}]" if g.addresses else ""
        lines.append(_Labelled(f"{indent}  {f.severity.value:4} {f.code}{where}: {f.message}"))
        if f.hint:
            lines += _fix_lines(f.hint, f"{indent}       ")
    if r.verdict != Verdict.PASS and r.reproduce:
        lines.append(f"{indent}  verify: {r.reproduce}")
    return lines


def _distribution_header(d: DistributionReport) -> str:
    names = ", ".join(d.aliases) or d.domain_name
    flags = []
    if not d.enabled:
        flags.append("disabled")
    if d.staging:
        flags.append("staging")
    flag = f" ({', '.join(flags)})" if flags else ""
    return f"{d.classification:<14} {d.id}{flag}  {names}"


# Distribution-level codes that say the same thing for many distributions at once: the text and
# markdown reports list them once at the end instead of under every distribution (JSON keeps all).
COLLAPSED_CODES = frozenset({Code.ADDITIONAL_METRICS_DISABLED})


def _collapsed(report: AuditReport) -> list[tuple[Finding, list[str]]]:
    """(first finding, distribution ids) for each collapsed code, in code order."""
    seen: dict[Code, tuple[Finding, list[str]]] = {}
    for d in report.distributions:
        for f in d.findings:
            if f.code in COLLAPSED_CODES:
                seen.setdefault(f.code, (f, []))[1].append(d.id)
    return [seen[c] for c in sorted(seen)]


def _collapsed_line(finding: Finding, ids: Sequence[str]) -> str:
    """Everything after the code: "on N distribution(s) (ids): meaning Enable: command"."""
    shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    hint = finding.hint.replace(ids[0], "ID") if len(ids) > 1 else finding.hint
    return f"on {len(ids)} distribution(s) ({shown}): {CODES[finding.code].meaning} Enable: {hint}"


def render_text(report: AuditReport, *, width: int | None = None, colour: bool = False) -> str:
    """The report for a person: one item a line (``width`` None: pipes, files, e-mail), or
    wrapped to ``width`` columns for a terminal (a command continues with `` \\`` so it still
    pastes as one); ``colour`` marks the verdicts, severities and classifications (ours, never
    outside text) with ANSI colours."""
    out: list[str] = []
    if report.distributions:
        for d in report.distributions:
            out.append(_Labelled(_distribution_header(d)))
            out.append(f"  {d.reason or d.classification.headline}")
            if d.metrics:
                out.append("  metrics: " + ", ".join(metric_text(k, v) for k, v in d.metrics.items()))
            for g in group_findings(f for f in d.findings if f.code not in COLLAPSED_CODES):
                out.append(_Labelled(f"  {g.finding.severity.value:4} {g.finding.code}: {g.finding.message}"))
                if g.finding.hint:
                    out += _fix_lines(g.finding.hint, "       ")
            for i in d.results:
                out.extend(_target_text(report.results[i], indent="  "))
            out.append("")
    else:
        for r in report.results:
            out.extend(_target_text(r))
            out.append("")
    for finding, ids in _collapsed(report):
        out.append(f"note: {finding.code} {_collapsed_line(finding, ids)}")
    for note in report.notes:
        out.append(f"note: {note}")
    if report.partial:
        out.append(partial_line(report))
    if unaudited := unaudited_note(report):
        out.append(f"note: {unaudited}")
    out.append(summary_line(report))
    # One pass over every line: outside text is in most of them, and a newline, ESC or bidi
    # override in it must not forge a line or move the cursor (our own words are printable).
    # Wrapping and colour come after the escaping, so what they measure and mark is what shows.
    shown: list[str] = []
    for line in out:
        safe = terminal(line)
        rows = list(_fit(safe, width)) if width else [safe]
        if colour and isinstance(line, _Labelled):
            rows[0] = _paint(rows[0])
        shown += rows
    return "\n".join(shown)


# ---------------------------------------------------------------- terminal width and colour

_MIN_WIDTH = 40  # narrower, and the hanging indents leave too little room to read
_COMMAND_LINE = re.compile(r"^(\s*(?:verify|reproduce): )(openssl .*)$")
# Shell words: runs of quoted strings and unquoted non-space characters (shlex.quote's output).
_SHELL_WORD = re.compile(r"""(?:'[^']*'|"[^"]*"|[^\s'"])+""")


def _fit(line: str, width: int) -> Iterator[str]:
    """One line of the report as rows of at most ``width`` columns (wider only for a single word
    that is: a command's word is never split). Continuations are indented under the line."""
    width = max(width, _MIN_WIDTH)
    if len(line) <= width:
        yield line
        return
    indent = line[: len(line) - len(line.lstrip())]
    hang = " " * min(len(indent) + 4, width // 3)
    m = _COMMAND_LINE.match(line)
    if m:
        yield from _fit_command(m.group(1), m.group(2), hang, width)
        return
    yield from textwrap.wrap(line, width, subsequent_indent=hang, break_on_hyphens=False,
                             replace_whitespace=False, drop_whitespace=True) or [line]


def _fit_command(prefix: str, command: str, hang: str, width: int) -> Iterator[str]:
    """A shell command over several rows, each but the last ending in `` \\``: pasted, the shell
    reads one command. Broken between words only, so no quoted argument is split."""
    row = prefix.rstrip()
    for word in _SHELL_WORD.findall(command):
        if row.strip() and len(row) + 1 + len(word) + 2 > width:
            yield row + " \\"
            row = hang + word
        else:
            row = f"{row} {word}" if row.strip() or row else word
    yield row


_SGR_RESET = "\x1b[0m"
_STYLES = {
    "FAIL": "\x1b[1;31m", "WARN": "\x1b[33m", "PASS": "\x1b[32m",
    "fail": "\x1b[31m", "warn": "\x1b[33m", "info": "\x1b[2m",
    **{str(c): ("\x1b[1;31m" if c.rank >= Classification.LATENT.rank else
                "\x1b[32m" if c in (Classification.HEALTHY, Classification.IDLE) else "\x1b[33m")
       for c in Classification},
}
# Our own labels where our lines put them (``_Labelled``): a target's verdict, a finding's
# severity, a distribution's classification, each first on its line after the indent.
_LABEL = re.compile(r"^(\s*)(" + "|".join(sorted(map(re.escape, _STYLES), key=len, reverse=True)) + r")(?= )")


def _paint(row: str) -> str:
    m = _LABEL.match(row)
    if not m:
        return row
    label = m.group(2)
    return f"{m.group(1)}{_STYLES[label]}{label}{_SGR_RESET}{row[m.end():]}"


def unaudited_note(report: AuditReport) -> str:
    """The count and reasons of origins not audited, and what that means; "" when none."""
    counts = unaudited_summary(report.results)
    if not counts:
        return ""
    where = "; their distributions are NOT_AUDITED, never HEALTHY" if report.distributions else ""
    return f"{counts}: nothing is known about their TLS (each says why in ORIGIN_NOT_PROBED){where}."


def summary_line(report: AuditReport) -> str:
    s = report.summary()
    verdicts = s["verdicts"]
    assert isinstance(verdicts, dict)
    # An origin nothing was seen failing on but that was not audited is not a "pass": counted
    # apart, so the four numbers add up to the total.
    unaudited = sum(count_unaudited(report.results).values())
    parts = [f"{len(report.results)} origin(s): {verdicts['fail']} fail, {verdicts['warn']} warn, "
             f"{verdicts['pass'] - unaudited} pass" + (f", {unaudited} not audited" if unaudited else "")]
    if report.distributions:
        classes = s["classifications"]
        assert isinstance(classes, dict)
        parts.append(f"{len(report.distributions)} distribution(s): " + ", ".join(
            f"{classes[c]} {c}" for c in Classification.worst_first() if c in classes))
    return "; ".join(parts)


def _target_markdown(r: TargetResult) -> list[str]:
    icon = {Verdict.PASS: "✅", Verdict.WARN: "⚠️", Verdict.FAIL: "❌"}[r.verdict]
    lines = [f"#### {icon} {markdown_code(r.target.display)} — {r.verdict.value}"]
    grouped = group_findings(r.findings)
    if grouped:
        lines += ["", "| severity | code | where | what | fix |", "|---|---|---|---|---|"]
        for g in grouped:
            f = g.finding
            lines.append(f"| {f.severity.value} | `{f.code}` | {markdown(', '.join(g.addresses)) or 'all'} | "
                         f"{markdown(f.message)} | {markdown(f.hint)} |")
    if r.verdict != Verdict.PASS and r.reproduce:
        lines += ["", f"Verify: {markdown_code(r.reproduce)}"]
    lines.append("")
    return lines


def render_markdown(report: AuditReport) -> str:
    out = ["# origin-auditor report", "", f"_{summary_line(report)}_ — generated {report.generated_at}", ""]
    if report.partial:
        out += [f"**{markdown(partial_line(report))}**", ""]
    if report.distributions:
        for d in report.distributions:
            out.append(f"## {d.classification}: {markdown_code(d.id)} "
                       f"{markdown(', '.join(d.aliases) or d.domain_name)}")
            out += ["", f"**{markdown(d.reason or d.classification.headline)}**"]
            if d.metrics:
                out += ["", "Metrics: " + ", ".join(metric_text(k, v) for k, v in d.metrics.items())]
            for g in group_findings(f for f in d.findings if f.code not in COLLAPSED_CODES):
                out += ["", f"- `{g.finding.code}`: {markdown(g.finding.message)}"]
            out.append("")
            for i in d.results:
                out.extend(_target_markdown(report.results[i]))
    else:
        for r in report.results:
            out.extend(_target_markdown(r))
    for finding, ids in _collapsed(report):
        out.append(f"> note: `{finding.code}` {markdown(_collapsed_line(finding, ids))}")
    for note in report.notes:
        out.append(f"> note: {markdown(note)}")
    if unaudited := unaudited_note(report):
        out.append(f"> note: {markdown(unaudited)}")
    return "\n".join(out).rstrip() + "\n"


def worst_at_or_above(results: Sequence[TargetResult], fail_on: str) -> bool:
    """True when some result's verdict reaches ``fail_on`` (``warn`` or ``fail``), or when some
    origin was not audited in full (``TargetResult.not_audited``; a VPC origin, which no run can reach,
    excepted): exit status 1. A gate never passes what it did not see: an internal error or a
    time budget is not a pass."""
    threshold = Verdict(fail_on).rank
    return any(r.verdict.rank >= threshold or r.not_audited not in _NOT_A_GATE_FAILURE for r in results)


# Origins left unaudited by design, every run (the auditor cannot reach a VPC origin from outside
# the VPC): reported, but failing every gate for them would only teach people to ignore the gate.
_NOT_A_GATE_FAILURE = frozenset({None, NotAudited.VPC_ORIGIN})
