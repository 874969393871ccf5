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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .assess import unaudited_counts, unaudited_summary
from .model import AuditReport, Classification, DistributionReport, Finding, Severity, TargetResult, Verdict
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


def _fmt_metric(name: str, value: float | None) -> str:
    if value is None:
        return f"{name} n/a"
    if name == "Requests":
        return f"{name} {value:,.0f}"
    if name == "OriginLatency":
        return f"{name} {value:.0f} ms"
    return f"{name} {value:.2f}%"


def _target_line(r: TargetResult) -> str:
    codes = []
    for g in group_findings(r.findings):
        if g.finding.severity != Severity.INFO and str(g.finding.code) not in codes:
            codes.append(str(g.finding.code))
    tail = f"  {', '.join(codes)}" if codes else ""
    return f"{_verdict_label(r.verdict):4}  {r.target.display}{tail}"


def _target_text(r: TargetResult, indent: str = "") -> list[str]:
    lines = [indent + _target_line(r)]
    for g in group_findings(r.findings):
        f = g.finding
        where = f" [{', '.join(g.addresses)}]" if g.addresses else ""
        lines.append(f"{indent}  {f.severity.value:4} {f.code}{where}: {f.message}")
        if f.hint:
            lines.append(f"{indent}       fix: {f.hint}")
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


def render_text(report: AuditReport) -> str:
    out: list[str] = []
    if report.distributions:
        for d in report.distributions:
            out.append(_distribution_header(d))
            out.append(f"  {d.reason or d.classification.headline}")
            if d.metrics:
                out.append("  metrics: " + ", ".join(_fmt_metric(k, v) for k, v in d.metrics.items()))
            for g in group_findings(f for f in d.findings if f.code not in COLLAPSED_CODES):
                out.append(f"  {g.finding.severity.value:4} {g.finding.code}: {g.finding.message}")
                if g.finding.hint:
                    out.append(f"       fix: {g.finding.hint}")
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
    return "\n".join(terminal(line) for line in out)


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
    unaudited = sum(unaudited_counts(report.results).values())
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
                out += ["", "Metrics: " + ", ".join(_fmt_metric(k, v) for k, v in d.metrics.items())]
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
    """True when some result's verdict reaches ``fail_on`` (``warn`` or ``fail``): exit status 1."""
    threshold = Verdict(fail_on).rank
    return any(r.verdict.rank >= threshold for r in results)
