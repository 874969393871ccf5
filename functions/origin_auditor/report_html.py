"""Render an AuditReport as one self-contained HTML page (``--format html``, the archived page).

Per origin: the chain as sent beside the chain in issuing order, with what is wrong marked
(out of order, duplicate or unrelated, malformed, expired or expiring, the issuer that was not
sent); every certificate's expiry on a timeline; the findings with their fixes and the openssl
line that verifies them. Distributions come first, worst first, linking to their origins.

Self-contained: inline CSS only, no script, no image, no font or anything else fetched; a
Content-Security-Policy of ``default-src 'none'`` makes a browser refuse to load anything
even if something slipped in. Outside text (certificate names, origin and distribution names,
findings quoting them, notes quoting AWS errors) goes through ``present.text.html_text``
(``terminal`` + ``html.escape``); the page's own words and numbers are written as they are.

The issuing order comes from the judge (``AddressReport.issuing_order`` / ``path_end``); the
marks are read from it and from the certificates' dates against the report's time. Pure: no
I/O, the same report gives the same page.

``data-*`` attributes name what each element shows (``data-sent``, ``data-issuing``,
``data-path-end``, ``data-expiry``, ``data-code``, ...): the tests and the browser test read the
page through them, never through its styling.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from .assess import parse_instant, unaudited_reasons
from .model import (
    AddressReport,
    AuditReport,
    CertSummary,
    Classification,
    Finding,
    TargetResult,
    Verdict,
    count_unaudited,
)
from .present.certs import UNPARSEABLE
from .present.figures import metric_text
from .present.partial import partial_line
from .present.text import html_text
from .rules import EXPIRY_WARN_DAYS

# The marks' colours (exact: the browser test finds them in the screenshot).
MARK_COLORS = {
    "out-of-order": "#ad1457",
    "extra": "#5d4037",  # duplicate, not on the path, malformed
    "expired": "#b71c1c",
    "expiring": "#e65100",
    "missing": "#4a148c",
}
# Timeline bars: from now to the expiry (valid, expiring) or from the expiry to now (expired).
BAR_COLORS = {"valid": "#43a047", "expiring": "#fb8c00", "expired": "#e53935", "unknown": "#9e9e9e"}
NOW_COLOR = "#1a237e"  # the timeline's "now" line
BADGE_COLORS = {
    "fail": "#c62828", "warn": "#ef6c00", "pass": "#2e7d32", "not-audited": "#6a1b9a",
    Classification.OUTAGE.value: "#c62828", Classification.LATENT.value: "#d84315",
    Classification.UNKNOWN.value: "#616161", Classification.NOT_AUDITED.value: "#6a1b9a",
    Classification.ERRORS_NOT_TLS.value: "#795548", Classification.AT_RISK.value: "#ef6c00",
    Classification.HEALTHY.value: "#2e7d32", Classification.IDLE.value: "#9e9e9e",
}

# The timeline's scale: days from the report's time, square-root spaced so that a 90-day leaf
# and a 20-year root both read (linear, the leaf would sit on "now"); clamped at both ends.
_TL_PAST, _TL_FUTURE = 365.0, 3650.0
_TICKS = ((-365, "1 y ago"), (0, "now"), (30, "30 d"), (365, "1 y"), (1825, "5 y"), (3650, "10 y"))

CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _css() -> str:
    marks = "".join(f".mark.{k}{{background:{v}}}" for k, v in MARK_COLORS.items())
    bars = "".join(f".bar.{k}{{background:{v}}}" for k, v in BAR_COLORS.items())
    badges = "".join(f".badge.b-{k}{{background:{v}}}" for k, v in BADGE_COLORS.items())
    return (
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#212121;"
        "background:#fafafa;font-size:14px;line-height:1.4}"
        "header,main,footer{max-width:1160px;margin:0 auto;padding:12px 20px}"
        "h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:20px 0 8px}"
        "h3{font-size:16px;margin:0 0 8px}h4{font-size:14px;margin:12px 0 6px;color:#424242}"
        ".partial{background:#fff3e0;border-left:6px solid #e65100;padding:8px 12px;font-weight:600}"
        ".note{color:#555;margin:4px 0}.small{font-size:12px}"
        "table{border-collapse:collapse;width:100%;background:#fff}"
        "th,td{border-bottom:1px solid #e0e0e0;padding:6px 8px;text-align:left;vertical-align:top}"
        "th{background:#f5f5f5;font-weight:600}"
        ".badge{display:inline-block;color:#fff;font-weight:700;padding:2px 8px;border-radius:3px;"
        "font-size:12px;letter-spacing:.3px;white-space:nowrap}"
        ".origin{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:14px 16px;"
        "margin:14px 0}"
        ".chains{display:grid;grid-template-columns:1fr 1fr;gap:16px}"
        ".chain ol{list-style:none;margin:0;padding:0}"
        ".chain li{border:1px solid #e0e0e0;border-radius:4px;padding:6px 8px;margin:0 0 6px;"
        "background:#fcfcfc}"
        ".chain li.bad{border-left:6px solid #ad1457}.chain li.end-bad{border-left:6px solid #4a148c}"
        ".chain li.end-ok{border-left:6px solid #2e7d32}"
        ".pos{font-weight:700;margin-right:6px}.subject{font-weight:600;word-break:break-all}"
        ".meta{color:#555;font-size:12px;word-break:break-all}"
        ".mark{display:inline-block;color:#fff;font-weight:700;font-size:12px;padding:2px 8px;"
        "border-radius:3px;margin:4px 4px 0 0}"
        ".ok{color:#2e7d32;font-weight:700}"
        ".timeline{margin:10px 0 4px}"
        ".tl-row{display:grid;grid-template-columns:230px 1fr 210px;gap:8px;align-items:center;"
        "margin:3px 0;font-size:12px}"
        ".tl-label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}"
        ".track{position:relative;height:16px;background:#eeeeee;border-radius:2px}"
        ".bar{position:absolute;top:2px;height:12px;border-radius:2px}"
        f".now{{position:absolute;top:-3px;width:2px;height:22px;background:{NOW_COLOR}}}"
        ".axis{position:relative;height:16px;font-size:11px;color:#555}"
        ".tick{position:absolute;transform:translateX(-50%);white-space:nowrap}"
        "pre{background:#263238;color:#eceff1;padding:8px 10px;border-radius:4px;overflow-x:auto;"
        "white-space:pre-wrap;word-break:break-all;font-size:12px}"
        ".sev{font-weight:700;text-transform:uppercase;font-size:12px}"
        ".sev-fail{color:#c62828}.sev-warn{color:#e65100}.sev-info{color:#555}"
        "code{font-size:12px}.nowrap{white-space:nowrap;word-break:normal}"
        "a{color:#1565c0}"
        "@media (max-width:800px){.chains{grid-template-columns:1fr}"
        ".tl-row{grid-template-columns:1fr}}"
        f"{marks}{bars}{badges}"
    )


def render_html(report: AuditReport) -> str:
    """The whole page for ``report`` (UTF-8 text; every line printable)."""
    now = parse_instant(report.generated_at)
    order = _origins_worst_first(report)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>origin-auditor report {html_text(report.generated_at)}</title>",
        f"<style>{_css()}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>origin-auditor report</h1>",
        f'<p data-summary="">{html_text(_summary(report))}</p>',
        f'<p class="note">Generated {html_text(report.generated_at)}. Each origin below shows the chain '
        "as the server sent it beside the chain in issuing order (what CloudFront requires), every "
        "certificate's expiry, and the findings with their fixes.</p>",
    ]
    if report.partial:
        out.append(f'<p class="partial" data-partial="">{html_text(partial_line(report))}</p>')
    for note in report.notes:
        out.append(f'<p class="note" data-note="">note: {html_text(note)}</p>')
    unaudited = _unaudited_note(report)
    if unaudited:
        out.append(f'<p class="note" data-note="">note: {html_text(unaudited)}</p>')
    out.append("</header>")
    out.append("<main>")
    if report.distributions:
        out.extend(_distributions(report))
    out.append("<h2>Origins</h2>")
    for i in order:
        out.extend(_origin(report, i, now))
    out.append("</main>")
    out.append(f'<footer class="note">{html_text(_summary(report))}</footer>')
    out.append("</body>")
    out.append("</html>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- summary and distributions

def _verdict_word(r: TargetResult) -> str:
    """fail / warn / pass, or not-audited for an origin nothing was seen failing on that was not
    audited in full (never shown as a pass)."""
    if r.unaudited is not None:
        return "not-audited"
    return r.verdict.value


_VERDICT_RANK = {"fail": 3, "warn": 2, "not-audited": 1, "pass": 0}


def _origins_worst_first(report: AuditReport) -> list[int]:
    """Result indexes: by the worst classification of a distribution the origin serves (an
    OUTAGE origin before a LATENT one), then by verdict; the report's order otherwise."""
    worst = [-1] * len(report.results)
    for d in report.distributions:
        for i in d.results:
            if 0 <= i < len(worst):
                worst[i] = max(worst[i], d.classification.rank)
    return sorted(range(len(report.results)),
                  key=lambda i: (-worst[i], -_VERDICT_RANK[_verdict_word(report.results[i])]))


def _summary(report: AuditReport) -> str:
    words = [_verdict_word(r) for r in report.results]
    unaudited = words.count("not-audited")
    text = (f"{len(words)} origin(s): {words.count('fail')} fail, {words.count('warn')} warn, "
            f"{words.count('pass')} pass" + (f", {unaudited} not audited" if unaudited else ""))
    if report.distributions:
        counts = {c: sum(1 for d in report.distributions if d.classification is c)
                  for c in Classification.worst_first()}
        text += f"; {len(report.distributions)} distribution(s): " + ", ".join(
            f"{n} {c}" for c, n in counts.items() if n)
    return text


def _unaudited_note(report: AuditReport) -> str:
    counts = count_unaudited(report.results)
    if not counts:
        return ""
    return (f"{sum(counts.values())} origin(s) not audited ({unaudited_reasons(counts)}): "
            "nothing is known about their TLS; "
            "their distributions are NOT_AUDITED, never HEALTHY.")




def _badge(word: str, label: str | None = None) -> str:
    return f'<span class="badge b-{word}">{label or word.upper()}</span>'


def _distributions(report: AuditReport) -> list[str]:
    out = ["<h2>Distributions</h2>", "<table>",
           "<thead><tr><th>classification</th><th>distribution</th><th>what it means</th>"
           "<th>metrics</th><th>origins</th></tr></thead>", "<tbody>"]
    for d in sorted(report.distributions, key=lambda d: -d.classification.rank):
        names = ", ".join(d.aliases) or d.domain_name
        flags = [w for w, on in (("disabled", not d.enabled), ("staging", d.staging)) if on]
        flagged = f" ({', '.join(flags)})" if flags else ""
        origins = ", ".join(
            f'<a href="#origin-{i}">{html_text(report.results[i].target.display)}</a>'
            for i in d.results if 0 <= i < len(report.results)) or "none"
        findings = "".join(f'<div class="note small"><code>{f.code}</code> {html_text(f.message)}</div>'
                           for f in d.findings)
        metrics = ", ".join(metric_text(k, v) for k, v in d.metrics.items()) or "-"
        out.append(
            f'<tr data-classification="{d.classification.value}">'
            f"<td>{_badge(d.classification.value, d.classification.value)}</td>"
            f'<td class="nowrap"><code>{html_text(d.id)}</code>{flagged}'
            f'<div class="meta nowrap">{html_text(names)}</div></td>'
            f"<td>{html_text(d.reason or d.classification.headline)}{findings}</td>"
            f"<td>{html_text(metrics)}</td><td>{origins}</td></tr>")
    out += ["</tbody>", "</table>"]
    return out


# ---------------------------------------------------------------- one origin

@dataclass(frozen=True)
class _Group:
    """Addresses that sent the same chain (judged the same way): drawn once."""

    first: AddressReport
    addresses: tuple[AddressReport, ...]


def _groups(addresses: Iterable[AddressReport]) -> list[_Group]:
    keyed: dict[tuple[object, ...], list[AddressReport]] = {}
    for a in addresses:
        key = (tuple(c.sha256 for c in a.chain), a.issuing_order, a.path_end)
        keyed.setdefault(key, []).append(a)
    return [_Group(v[0], tuple(v)) for v in keyed.values()]


def _origin(report: AuditReport, index: int, now: dt.datetime | None) -> list[str]:
    r = report.results[index]
    word = _verdict_word(r)
    origin = html_text(r.target.display)
    dists = ", ".join(r.target.distribution_ids)
    out = [f'<section class="origin" id="origin-{index}" data-verdict="{word}">',
           f"<h3>{_badge(word, 'NOT AUDITED' if word == 'not-audited' else None)} {origin}</h3>"]
    if dists:
        out.append(f'<div class="meta">distribution(s): {html_text(dists)}</div>')
    if not r.addresses:
        out.append('<p class="note">No certificate was seen: no address completed a handshake '
                   "(the findings say why).</p>")
    for g in _groups(r.addresses):
        out.extend(_address_group(r, g, now))
    out.extend(_findings(r))
    out.append("</section>")
    return out


def _negotiated(a: AddressReport) -> str:
    """What CloudFront's offer agreed on: protocol, suite, group, signature scheme, and the offer
    when it was not the documented one."""
    if not a.protocol:
        return "no handshake"
    parts = [f"{a.protocol} {a.cipher}" if a.cipher else a.protocol]
    parts += [p for p in (a.group, a.signature_scheme) if p]
    if a.offer and a.offer != "documented":
        parts.append(f"only with the {a.offer} offer")
    return ", ".join(parts)


def _address_group(r: TargetResult, g: _Group, now: dt.datetime | None) -> list[str]:
    origin = html_text(r.target.display)
    shown = ", ".join(f"{a.address} ({_negotiated(a)})" for a in g.addresses)
    out = [f"<h4>{html_text(shown)}</h4>"]
    a = g.first
    if not a.chain:
        out.append('<p class="note">No certificate was seen on this address.</p>')
        return out
    out.append('<div class="chains">')
    out.append('<div class="chain"><h4>As sent</h4><ol>')
    for i, cert in enumerate(a.chain):
        marks, words = _sent_marks(a, i, now)
        cls = ' class="bad"' if marks else ""
        chips = "".join(f'<span class="mark {_mark_class(m)}">{w}</span>' for m, w in zip(marks, words,
                                                                                          strict=True))
        placed = "" if marks and marks[0] in _POSITION_MARKS else (
            ' <span class="ok">in place</span>' if i in a.issuing_order else "")
        out.append(f'<li{cls} data-origin="{origin}" data-sent="{i + 1}" data-marks="{" ".join(marks)}">'
                   f'<span class="pos">#{i + 1}</span>{_cert_text(cert, now)}{placed}'
                   f"<div>{chips}</div></li>")
    out.append("</ol></div>")
    out.append('<div class="chain"><h4>In issuing order (what CloudFront requires)</h4><ol>')
    for rank, pos in enumerate(a.issuing_order):
        cert = a.chain[pos]
        where = ('<span class="ok">sent here</span>' if pos == rank else
                 f'<span class="mark out-of-order">sent as #{pos + 1}</span>')
        out.append(f'<li data-origin="{origin}" data-issuing="{pos + 1}">'
                   f'<span class="pos">{rank + 1}.</span>{_cert_text(cert, now)} {where}</li>')
    out.append(_path_end(a, origin))
    out.append("</ol></div>")
    out.append("</div>")
    out.extend(_timeline(a, origin, now))
    return out


_POSITION_MARKS = ("out-of-order", "duplicate", "not-on-path", "malformed")


def _mark_class(mark: str) -> str:
    return mark if mark in MARK_COLORS else "extra"


def _sent_marks(a: AddressReport, i: int, now: dt.datetime | None) -> tuple[list[str], list[str]]:
    """(mark ids, words) for the certificate sent at ``i``: its place, then its dates."""
    marks: list[str] = []
    words: list[str] = []
    cert = a.chain[i]
    if i in a.issuing_order:
        rank = a.issuing_order.index(i)
        if rank != i:
            marks.append("out-of-order")
            words.append(f"out of order: belongs at #{rank + 1}")
    elif any(c.sha256 == cert.sha256 for c in a.chain[:i]):
        first = next(j for j, c in enumerate(a.chain) if c.sha256 == cert.sha256)
        marks.append("duplicate")
        words.append(f"duplicate of #{first + 1}")
    elif cert.subject == UNPARSEABLE:
        marks.append("malformed")
        words.append("not a certificate CloudFront can read")
    elif a.issuing_order:
        marks.append("not-on-path")
        words.append("not on the issuing path: remove it")
    state, days = _expiry_state(cert, now)
    if state == "expired":
        marks.append("expired")
        words.append(f"expired {_days_words(days)}")
    elif state == "expiring":
        marks.append("expiring")
        words.append(f"expires {_days_words(days)}")
    return marks, words


def _path_end(a: AddressReport, origin: str) -> str:
    """The last line of the issuing column: how the path ends, the missing issuer marked."""
    last = a.chain[a.issuing_order[-1]] if a.issuing_order else None
    end = a.path_end or "unknown"
    issuer = html_text(last.issuer) if last is not None else "?"
    bad = True
    if end == "trusted":
        bad = False
        if last is not None and last.subject == last.issuer:
            text = ("Ends at a trusted root, which was sent (CloudFront does not need it; it may be "
                    "left out).")
        else:
            text = (f"Completed by a trusted root from the trust store: <strong>{issuer}</strong> "
                    "(not sent, as it should be).")
    elif end == "incomplete":
        text = (f'<span class="mark missing">missing</span> The issuer <strong>{issuer}</strong> was not '
                "sent and is not a trusted root: CloudFront cannot complete the chain. Send it after "
                "the last certificate above.")
    elif end == "self_signed":
        text = "Ends in a self-signed certificate that is not a trusted root."
    elif end == "untrusted_issuer":
        text = (f'<span class="mark missing">untrusted</span> The issuer <strong>{issuer}</strong> is '
                "named like a trusted root, but its key differs.")
    elif end == "empty":
        text = "No certificate in the chain could be read."
    else:
        text = "The issuing path could not be determined."
    marks = "missing" if end in ("incomplete", "untrusted_issuer") else ""
    cls = "end-bad" if bad else "end-ok"
    return (f'<li class="{cls}" data-origin="{origin}" data-path-end="{html_text(end)}" '
            f'data-marks="{marks}">{text}</li>')


def _cert_text(cert: CertSummary, now: dt.datetime | None) -> str:
    expiry = (cert.not_after or "unknown")[:10]
    return (f'<span class="subject">{html_text(cert.subject)}</span>'
            f'<div class="meta">issued by {html_text(cert.issuer)}</div>'
            f'<div class="meta">expires {html_text(expiry)}; sha256 {html_text(cert.sha256[:16])}…</div>')


# ---------------------------------------------------------------- expiry timeline

def _expiry_state(cert: CertSummary, now: dt.datetime | None) -> tuple[str, float | None]:
    """("expired" | "expiring" | "valid" | "unknown", days from now to notAfter)."""
    expiry = parse_instant(cert.not_after)
    if expiry is None or now is None:
        return "unknown", None
    days = (expiry - now).total_seconds() / 86400
    if days < 0:
        return "expired", days
    return ("expiring" if days <= EXPIRY_WARN_DAYS else "valid"), days


def _days_words(days: float | None) -> str:
    if days is None:
        return "at an unknown time"
    n = round(abs(days))
    unit = "day" if n == 1 else "days"
    return f"{n} {unit} ago" if days < 0 else f"in {n} {unit}"


def _pos(days: float) -> float:
    """Percent across the track for ``days`` from now (square-root scale, clamped)."""
    d = max(-_TL_PAST, min(_TL_FUTURE, days))
    lo, hi = -math.sqrt(_TL_PAST), math.sqrt(_TL_FUTURE)
    return round(100 * (math.copysign(math.sqrt(abs(d)), d) - lo) / (hi - lo), 2)


def _timeline(a: AddressReport, origin: str, now: dt.datetime | None) -> list[str]:
    zero = _pos(0)
    ticks = "".join(f'<span class="tick" style="left:{_pos(d)}%">{label}</span>' for d, label in _TICKS)
    out = ['<div class="timeline">', "<h4>Expiry timeline (square-root scale)</h4>",
           f'<div class="tl-row"><span></span><div class="axis">{ticks}</div><span></span></div>']
    for i, cert in enumerate(a.chain):
        state, days = _expiry_state(cert, now)
        if days is None:
            bar = ""
        else:
            at = _pos(days)
            left, right = (at, zero) if days < 0 else (zero, at)
            bar = (f'<div class="bar {state}" style="left:{left}%;width:{max(right - left, 0.6):.2f}%">'
                   "</div>")
        label = html_text(_short_name(cert.subject))
        expiry = (cert.not_after or "")[:10]
        when = {"expired": f"expired {_days_words(days)}", "expiring": f"expires {_days_words(days)}",
                "valid": f"expires {_days_words(days)}"}.get(state, "expiry unknown")
        out.append(f'<div class="tl-row" data-origin="{origin}" data-expiry="{html_text(expiry)}" '
                   f'data-state="{state}"><span class="tl-label" title="{html_text(cert.subject)}">'
                   f"#{i + 1} {label}</span>"
                   f'<div class="track">{bar}<span class="now" style="left:{zero}%"></span></div>'
                   f"<span>{html_text(expiry or '?')} ({when})</span></div>")
    out.append("</div>")
    return out


def _short_name(subject: str) -> str:
    """The first RDN of an RFC 4514 subject (``CN=www.example.com``), for a timeline label."""
    first = subject.split(",", 1)[0]
    return first or subject


# ---------------------------------------------------------------- findings

def _grouped(findings: Iterable[Finding]) -> list[tuple[Finding, list[str]]]:
    """Identical findings on several addresses once, with the addresses; worst first, stable."""
    seen: dict[tuple[str, str, str, str], tuple[Finding, list[str]]] = {}
    for f in findings:
        key = (str(f.code), str(f.severity), f.message, f.hint)
        entry = seen.setdefault(key, (f, []))
        if f.address and f.address not in entry[1]:
            entry[1].append(f.address)
    return sorted(seen.values(), key=lambda e: -e[0].severity.rank)


def _findings(r: TargetResult) -> list[str]:
    origin = html_text(r.target.display)
    grouped = _grouped(r.findings)
    out: list[str] = []
    if grouped:
        out += ["<h4>Findings</h4>", "<table>",
                "<thead><tr><th>severity</th><th>code</th><th>where</th><th>what</th><th>fix</th></tr>"
                "</thead>", "<tbody>"]
        for f, addresses in grouped:
            where = html_text(", ".join(addresses)) or "all"
            out.append(f'<tr data-origin="{origin}" data-code="{f.code}">'
                       f'<td class="sev sev-{f.severity.value}">{f.severity.value}</td>'
                       f"<td><code>{f.code}</code></td><td>{where}</td>"
                       f"<td>{html_text(f.message)}</td><td>{html_text(f.hint) or '-'}</td></tr>")
        out += ["</tbody>", "</table>"]
    if r.verdict is not Verdict.PASS and r.reproduce:
        out += ["<h4>Verify</h4>",
                f'<pre data-origin="{origin}" data-verify=""><code>{html_text(r.reproduce)}</code></pre>']
    return out
